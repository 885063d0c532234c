"""The hospital's inventory: accounts, assets, usual countries (YAML, or CSV tables).

In: files given with `--inventory` (repeatable). A YAML file may hold any of:

    usual_countries: [FR]            # where staff normally connect from (ISO alpha-2)
    internal_networks: [193.51.24.0/24]   # the hospital's own public blocks, marked internal
    mail_domains: [chu-exemple.fr]   # the hospital's own mail domains
    accounts:
      - {name: jdupont, roles: [physician], department: CARDIO, admin: false,
         service_account: false, disabled: false, vip: false, usual_countries: [FR, BE],
         email: jean.dupont@chu-exemple.fr, aliases: [cardio-astreinte@chu-exemple.fr]}
    assets:
      - {name: www, criticality: high, hostnames: [www.chu-exemple.fr], networks: [10.10.1.10/32],
         log_files: ["*www-access.log"], personal_data: false}

`email` and `aliases` are the account's mailboxes: they link mail (sender, recipients) to the
account; a mailbox belongs to one account only. `vip` marks people whose compromise matters
more (direction, board, public figures). `mail_domains` tells the hospital's own addresses
from outside ones; an address of one of those domains whose local part is an account name
also belongs to that account. `personal_data` marks assets that hold personal (health) data.

`log_files` (glob patterns on log.file.path) name an asset for logs that do not say which
device wrote them (an Apache access log carries no host name).

A CSV file is a table of accounts (header with `name` and any of roles, department, admin,
service_account, disabled, vip, usual_countries, email, aliases) or of assets (header with `name` and
`criticality`, plus hostnames, networks, log_files, personal_data); list cells are separated
by `;`. Out: an `Inventory` (picklable) with `account(user)`, `account_by_mailbox(address)` and
`asset_by_*` lookups. Any error names
the file and the entry and says what to fix (VigieError); nothing is guessed.
"""
from __future__ import annotations

import csv
import fnmatch
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipelines.enrichment.networks import NetworkSet, parse_network
from pipelines.errors import VigieError

CRITICALITIES = ("low", "medium", "high", "critical")
ACCOUNT_KEYS = {"name", "roles", "department", "admin", "service_account", "disabled", "vip",
                "usual_countries", "email", "aliases"}
ASSET_KEYS = {"name", "criticality", "hostnames", "networks", "log_files", "description",
              "personal_data"}
TOP_KEYS = {"usual_countries", "internal_networks", "mail_domains", "accounts", "assets"}


@dataclass(frozen=True)
class Account:
    """One account of the inventory."""

    name: str
    roles: tuple[str, ...] = ()
    department: str | None = None
    admin: bool = False
    service_account: bool = False
    disabled: bool = False
    usual_countries: tuple[str, ...] = ()
    vip: bool = False
    email: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def mailboxes(self) -> tuple[str, ...]:
        """The account's mail addresses (lower case): its email, then its aliases."""
        return tuple(dict.fromkeys(([self.email] if self.email else []) + list(self.aliases)))


@dataclass(frozen=True)
class Asset:
    """One asset: names and address blocks it answers to, and how much it matters."""

    name: str
    criticality: str
    hostnames: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    log_files: tuple[str, ...] = ()
    personal_data: bool = False

    @property
    def rank(self) -> int:
        return CRITICALITIES.index(self.criticality) + 1


@dataclass
class Inventory:
    """Accounts by lower-case name, their mailboxes, assets, the usual countries, the internal
    networks and the hospital's own mail domains."""

    accounts: dict[str, Account] = field(default_factory=dict)
    assets: list[Asset] = field(default_factory=list)
    usual_countries: tuple[str, ...] = ()
    internal: NetworkSet = field(default_factory=NetworkSet)
    mail_domains: tuple[str, ...] = ()
    mailboxes: dict[str, str] = field(default_factory=dict)  # address -> account key
    sources: list[str] = field(default_factory=list)
    _hosts: dict[str, int] = field(default_factory=dict)
    _asset_networks: NetworkSet = field(default_factory=NetworkSet)

    def account(self, user: str | None) -> Account | None:
        """The account for a user name as logs write it (case-insensitive; a login that is one
        of the account's mailboxes, DOMAIN\\user and user@domain also match `user`)."""
        if not user:
            return None
        key = user.strip().lower()
        found = self.accounts.get(key)
        if found is None and "@" in key:
            found = self.account_by_mailbox(key)
        if found is None and "\\" in key:
            found = self.accounts.get(key.rsplit("\\", 1)[1])
        if found is None and "@" in key:
            found = self.accounts.get(key.split("@", 1)[0])
        return found

    def account_by_mailbox(self, address: str | None) -> Account | None:
        """The account a mail address belongs to: one of its `email`/`aliases`, or (for the
        hospital's own mail domains only) an address whose local part is the account's name.
        Case-insensitive; None for outside addresses and unknown mailboxes."""
        if not address:
            return None
        key = address.strip().lower()
        owner = self.mailboxes.get(key)
        if owner is not None:
            return self.accounts[owner]
        local, at, domain = key.rpartition("@")
        if at and domain in self.mail_domains:
            return self.accounts.get(local)
        return None

    def is_own_mailbox(self, address: str | None) -> bool:
        """True when `address` is the hospital's: a known mailbox or one of its mail domains."""
        if not address:
            return False
        key = address.strip().lower()
        return key in self.mailboxes or key.rpartition("@")[2] in self.mail_domains

    def asset_by_host(self, name: str | None) -> Asset | None:
        """The asset a host name belongs to (case-insensitive, exact name)."""
        index = self._hosts.get(name.strip().lower()) if name else None
        return self.assets[index] if index is not None else None

    def asset_by_log_path(self, path: str | None) -> Asset | None:
        """The most critical asset one of whose log_files patterns matches `path`."""
        if not path:
            return None
        hits = [a for a in self.assets if any(fnmatch.fnmatchcase(path, p) for p in a.log_files)]
        return max(hits, key=lambda a: a.rank) if hits else None

    def asset_by_address(self, address) -> Asset | None:
        """The most critical asset whose networks hold `address` (an ipaddress object)."""
        labels = self._asset_networks.labels(address) if self._asset_networks else ()
        hits = [self.assets[int(i)] for i in labels]
        return max(hits, key=lambda a: a.rank) if hits else None

    def countries_for(self, account: Account | None) -> tuple[str, ...]:
        """Where this account usually connects from: its own list, else the hospital's."""
        if account is not None and account.usual_countries:
            return account.usual_countries
        return self.usual_countries

    def summary(self) -> dict:
        return {"files": self.sources, "accounts": len(self.accounts), "assets": len(self.assets),
                "mailboxes": len(self.mailboxes), "mail_domains": list(self.mail_domains),
                "usual_countries": list(self.usual_countries), "internal_networks": self.internal.size}

    # --- building -------------------------------------------------------------------------

    def _add_account(self, account: Account, where: str) -> None:
        key = account.name.lower()
        if key in self.accounts:
            raise VigieError(f"{where}: account {account.name!r} is listed twice; keep one entry")
        for mailbox in account.mailboxes:
            owner = self.mailboxes.get(mailbox)
            if owner is not None:
                raise VigieError(f"{where}: mailbox {mailbox!r} of account {account.name!r} already "
                                 f"belongs to account {self.accounts[owner].name!r}; a mailbox "
                                 "belongs to one account")
        self.accounts[key] = account
        for mailbox in account.mailboxes:
            self.mailboxes[mailbox] = key

    def _add_asset(self, asset: Asset, where: str) -> None:
        index = len(self.assets)
        self.assets.append(asset)
        for host in asset.hostnames:
            self._hosts.setdefault(host.lower(), index)
        for net in asset.networks:
            self._asset_networks.add(parse_network(net), str(index))


def _fail(where: str, message: str) -> VigieError:
    return VigieError(f"inventory {where}: {message}")


def _bool(value: Any, where: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0", ""):
        return value.strip().lower() in ("true", "yes", "1")
    raise _fail(where, f"{key} must be true or false, not {value!r}")


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = [v for v in value.replace("|", ";").split(";")]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise _fail(where, f"{key} must be a list of strings, not {value!r}")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _countries(value: Any, where: str, key: str) -> tuple[str, ...]:
    codes = tuple(c.upper() for c in _strings(value, where, key))
    bad = [c for c in codes if len(c) != 2 or not c.isalpha()]
    if bad:
        raise _fail(where, f"{key}: {bad[0]!r} is not an ISO 3166-1 alpha-2 country code (e.g. FR)")
    return codes


def _addresses(value: Any, where: str, key: str) -> tuple[str, ...]:
    """Mail addresses (lower case); each needs one '@' with text on both sides."""
    addresses = tuple(a.lower() for a in _strings(value, where, key))
    for address in addresses:
        local, at, domain = address.rpartition("@")
        if not (local and at and domain) or " " in address:
            raise _fail(where, f"{key}: {address!r} is not a mail address (e.g. jean.dupont@chu-exemple.fr)")
    return addresses


def _domains(value: Any, where: str, key: str) -> tuple[str, ...]:
    domains = tuple(d.lower().lstrip("@") for d in _strings(value, where, key))
    bad = [d for d in domains if "." not in d or "@" in d or " " in d]
    if bad:
        raise _fail(where, f"{key}: {bad[0]!r} is not a mail domain (e.g. chu-exemple.fr)")
    return domains


def _networks(value: Any, where: str, key: str) -> tuple[str, ...]:
    nets = _strings(value, where, key)
    for net in nets:
        try:
            parse_network(net)
        except ValueError:
            raise _fail(where, f"{key}: {net!r} is not an address or CIDR block") from None
    return nets


def _check_keys(entry: Any, allowed: set[str], where: str) -> dict:
    if not isinstance(entry, dict):
        raise _fail(where, f"expected a mapping, got {entry!r}")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    if not entry.get("name") or not isinstance(entry["name"], (str, int)):
        raise _fail(where, "every entry needs a name")
    return entry


def parse_account(entry: Any, where: str) -> Account:
    """One accounts entry (YAML mapping or CSV row) -> Account."""
    e = _check_keys(entry, ACCOUNT_KEYS, where)
    email = _addresses(e.get("email"), where, "email")
    if len(email) > 1:
        raise _fail(where, "email is one address; list the others under aliases")
    return Account(str(e["name"]).strip(), _strings(e.get("roles"), where, "roles"),
                   (str(e["department"]).strip() or None) if e.get("department") is not None else None,
                   _bool(e.get("admin", False), where, "admin"),
                   _bool(e.get("service_account", False), where, "service_account"),
                   _bool(e.get("disabled", False), where, "disabled"),
                   _countries(e.get("usual_countries"), where, "usual_countries"),
                   _bool(e.get("vip", False), where, "vip"),
                   email[0] if email else None,
                   _addresses(e.get("aliases"), where, "aliases"))


def parse_asset(entry: Any, where: str) -> Asset:
    """One assets entry (YAML mapping or CSV row) -> Asset."""
    e = _check_keys(entry, ASSET_KEYS, where)
    criticality = str(e.get("criticality") or "").strip().lower()
    if criticality not in CRITICALITIES:
        raise _fail(where, f"criticality must be one of {', '.join(CRITICALITIES)}, "
                           f"not {e.get('criticality')!r}")
    return Asset(str(e["name"]).strip(), criticality,
                 _strings(e.get("hostnames"), where, "hostnames"),
                 _networks(e.get("networks"), where, "networks"),
                 _strings(e.get("log_files"), where, "log_files"),
                 _bool(e.get("personal_data", False), where, "personal_data"))


def _load_yaml(inventory: Inventory, text: str, path: str) -> None:
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise _fail(path, f"not valid YAML{at} ({getattr(exc, 'problem', exc)}); fix the file") from None
    if data is None:
        return
    if not isinstance(data, dict):
        raise _fail(path, "expected a mapping with accounts, assets, usual_countries, "
                          "internal_networks, mail_domains")
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise _fail(path, f"unknown section {unknown[0]!r} (known: {', '.join(sorted(TOP_KEYS))})")
    inventory.usual_countries += _countries(data.get("usual_countries"), path, "usual_countries")
    for net in _networks(data.get("internal_networks"), path, "internal_networks"):
        inventory.internal.add(parse_network(net), "internal")
    inventory.mail_domains += _domains(data.get("mail_domains"), path, "mail_domains")
    for section, parse, add in (("accounts", parse_account, inventory._add_account),
                                ("assets", parse_asset, inventory._add_asset)):
        entries = data.get(section) or []
        if not isinstance(entries, list):
            raise _fail(path, f"{section} must be a list of entries")
        for number, entry in enumerate(entries, 1):
            where = f"{path}: {section} entry {number}"
            add(parse(entry, where), where)


def _load_csv(inventory: Inventory, text: str, path: str) -> None:
    rows = list(csv.DictReader(io.StringIO(text)))
    header = set(rows[0]) if rows else set()
    if "name" in header and "criticality" in header:
        parse, add = parse_asset, inventory._add_asset
    elif "name" in header:
        parse, add = parse_account, inventory._add_account
    else:
        raise _fail(path, "a CSV inventory needs a header with 'name' (accounts) or 'name' and "
                          "'criticality' (assets)")
    for number, row in enumerate(rows, 2):
        where = f"{path}: line {number}"
        if None in row:
            raise _fail(where, "more cells than the header has columns")
        add(parse({k: v for k, v in row.items() if v not in (None, "")}, where), where)


def load_inventory(paths: list[str] | None) -> Inventory | None:
    """The inventory from YAML/CSV files (None when no file is given)."""
    if not paths:
        return None
    inventory = Inventory()
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VigieError(f"--inventory {path}: cannot read it ({exc}); give a YAML or CSV file") from None
        if path.lower().endswith(".csv"):
            _load_csv(inventory, text, path)
        else:
            _load_yaml(inventory, text, path)
        inventory.sources.append(path)
    inventory.usual_countries = tuple(dict.fromkeys(inventory.usual_countries))
    inventory.mail_domains = tuple(dict.fromkeys(inventory.mail_domains))
    return inventory
