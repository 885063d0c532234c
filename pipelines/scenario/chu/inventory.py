"""inventory.yml: the hospital's accounts (remote access, phished staff, applications, the
built-in administrator), its assets with their criticality, and the usual country."""
from __future__ import annotations

import json

from pipelines.scenario.chu.attack import Attack
from pipelines.scenario.chu.mail import APPLICATIONS
from pipelines.scenario.chu.world import (ASA_NAME, FORTIGATE_NAME, MX_HOST, OPENVPN_NAME,
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


def inventory_yaml(world: World, attack: Attack) -> str:
    """inventory.yml: the accounts Vigie may meet (remote access, phished staff, applications,
    the built-in administrator, which is disabled), the assets, and the usual country."""
    q = json.dumps
    lines = ["# The CHU's inventory for Vigie (--inventory): accounts, assets, usual countries.",
             "usual_countries: [FR]", "accounts:"]
    seen: set[str] = set()

    def account(name: str, roles: list[str], department: str | None, admin: bool = False,
                service: bool = False, disabled: bool = False) -> None:
        if name in seen:
            return
        seen.add(name)
        extra = f", department: {q(department)}" if department else ""
        lines.append(f"  - {{name: {q(name)}, roles: {q(roles)}{extra}, admin: {q(admin)}, "
                     f"service_account: {q(service)}, disabled: {q(disabled)}}}")

    for vpn in world.fortigate + world.asa + world.openvpn:
        role, admin = _ROLE_OF_GROUP[vpn.group]
        account(vpn.login, [role], vpn.person.department if vpn.person else None, admin)
    staff = {p.login: p for p in world.staff}
    for login in sorted(attack.reserved_logins):
        if login in staff:
            person = staff[login]
            account(login, ["clinician" if person.clinical else "staff"], person.department)
    for name, *_ in APPLICATIONS[0]:
        account(name, ["application"], "DSI", service=True)
    account("administrateur", ["built-in"], "DSI", admin=True, disabled=True)
    lines.append("assets:")
    for name, level, hosts, nets, files in _ASSETS:
        lines.append(f"  - {{name: {q(name)}, criticality: {level}, hostnames: {q(hosts)}, "
                     f"networks: {q(nets)}, log_files: {q(files)}}}")
    return "\n".join(lines) + "\n"

