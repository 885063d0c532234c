"""inventory.yml: the hospital's accounts (remote access, phished staff, the direction,
applications, the built-in administrator) with their mailboxes and who is a VIP, its assets with
their criticality and whether they hold personal data, its mail domain, and the usual country.

The accounts are data first (`accounts`, one Account each), then YAML (`inventory_yaml`): a new
account attribute is a field of Account and a key of its line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from pipelines.scenario.chu.attack import Attack
from pipelines.scenario.chu.mail import APPLICATIONS
from pipelines.scenario.chu.world import (ASA_NAME, DOMAIN, FORTIGATE_NAME, MX_HOST, OPENVPN_NAME,
                                          PORTAL_HOST, WWW_HOST, World)

_ROLE_OF_GROUP = {"SSLVPN-Medecins": ("physician", False), "GP-Astreinte": ("physician", False),
                  "SSLVPN-DSI": ("it-admin", True), "it-admins": ("it-admin", True),
                  "GP-Teletravail": ("administrative", False), "SSLVPN-Prestataires": ("vendor", False)}
# Assets: (name, criticality, host names, networks, log files), the most critical first.
_ASSETS = (
    ("dpi-dxcare", "critical", ["dxcare-app01.chu.local"], ["10.10.5.21/32"], []),
    ("pharmacie", "critical", ["pharma-app.chu.local"], ["10.10.5.50/32"], []),
    ("annuaire-ldap", "critical", [], ["10.10.0.5/32"], []),
    ("site-public-www", "high", [WWW_HOST], [], ["*www-access.log"]),
    ("portail-patients", "high", [PORTAL_HOST], ["10.10.2.15/32"], ["*portail-patients-iis.log"]),
    ("passerelle-mail-mx1", "high", [MX_HOST], [], []),
    ("vpn-fortigate", "high", [FORTIGATE_NAME], [], []),
    ("vpn-asa", "high", [ASA_NAME], [], []),
    ("vpn-openvpn-dsi", "high", [OPENVPN_NAME], [], []),
    ("messagerie-mailstore", "high", ["mailstore.chu.local"], ["10.10.0.25/32"], []),
    ("dns", "high", [], ["10.10.0.2/32"], []),
    ("serveur-fichiers", "high", [], ["10.10.0.60/32"], []),
    ("proxy", "medium", [], [], ["*proxy-access.log"]),
    ("webmail", "medium", ["webmail.chu.local"], ["10.10.0.30/32"], []),
    ("postes-de-travail", "low", [], ["10.20.0.0/16"], []),
)
# Assets that hold personal (health) data: GDPR's 72-hour clock starts when they are touched.
_PERSONAL_DATA = frozenset({"dpi-dxcare", "pharmacie", "annuaire-ldap", "portail-patients",
                            "messagerie-mailstore"})
# Staff of this department are VIPs (the hospital's direction).
_VIP_DEPARTMENT = "DIR"


@dataclass(frozen=True)
class Account:
    """An account as inventory.yml describes it."""

    name: str
    roles: tuple[str, ...]
    department: str | None
    admin: bool = False
    service_account: bool = False
    disabled: bool = False
    vip: bool = False
    email: str | None = None


def accounts(world: World, attack: Attack) -> list[Account]:
    """The accounts Vigie may meet, each once: remote-access accounts (role from the VPN group),
    the staff the attack touches, the direction (VIPs), the applications that send mail, and
    the built-in administrator (disabled), in that order; a person's account carries their
    mailbox, an application's its sender address."""
    found: dict[str, Account] = {}

    def add(account: Account) -> None:
        found.setdefault(account.name, account)

    for vpn in world.fortigate + world.asa + world.openvpn:
        role, admin = _ROLE_OF_GROUP[vpn.group]
        person = vpn.person
        add(Account(vpn.login, (role,), person.department if person else None, admin,
                    vip=bool(person and person.department == _VIP_DEPARTMENT),
                    email=person.email if person else None))
    staff = {p.login: p for p in world.staff}
    for login in sorted(attack.reserved_logins):
        if login in staff:
            person = staff[login]
            add(Account(login, ("clinician" if person.clinical else "staff",), person.department,
                        vip=person.department == _VIP_DEPARTMENT, email=person.email))
    for person in world.staff:
        if person.department == _VIP_DEPARTMENT:
            add(Account(person.login, ("direction",), person.department, vip=True, email=person.email))
    for name, *_ in APPLICATIONS[0]:
        add(Account(name, ("application",), "DSI", service_account=True, email=f"{name}@{DOMAIN}"))
    add(Account("administrateur", ("built-in",), "DSI", admin=True, disabled=True))
    return list(found.values())


def _account_line(account: Account) -> str:
    """One account as a YAML flow mapping (no department or email key when it has none)."""
    q = json.dumps
    department = f", department: {q(account.department)}" if account.department else ""
    email = f", email: {q(account.email)}" if account.email else ""
    return (f"  - {{name: {q(account.name)}, roles: {q(list(account.roles))}{department}, "
            f"admin: {q(account.admin)}, service_account: {q(account.service_account)}, "
            f"disabled: {q(account.disabled)}, vip: {q(account.vip)}{email}}}")


def inventory_yaml(world: World, attack: Attack) -> str:
    """inventory.yml: the usual country, the mail domain, the accounts (see `accounts`), the
    assets."""
    q = json.dumps
    lines = ["# The CHU's inventory for Vigie (--inventory): accounts, assets, usual countries.",
             "usual_countries: [FR]", f"mail_domains: [{DOMAIN}]", "accounts:"]
    lines += [_account_line(account) for account in accounts(world, attack)]
    lines.append("assets:")
    for name, level, hosts, nets, files in _ASSETS:
        lines.append(f"  - {{name: {q(name)}, criticality: {level}, hostnames: {q(hosts)}, "
                     f"networks: {q(nets)}, log_files: {q(files)}, "
                     f"personal_data: {q(name in _PERSONAL_DATA)}}}")
    return "\n".join(lines) + "\n"
