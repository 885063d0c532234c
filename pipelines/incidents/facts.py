"""One signal row -> `SignalFacts`: its time, rule, ATT&CK tags, entities, kind and linking keys.

In: a signal row as a dict (schemas/signals.yml names; correlation results carry
vigie.correlation.* too), the inventory (or None) and the policy. Out: SignalFacts. Reading is
tolerant: a missing key is an absent value, never an error, except a signal without
signal.id or @timestamp (ValueError: it cannot be placed in event time or deduplicated).

Which entities link signals (the keys a signal registers; it links to the groups holding
any key it probes), and why:
- account:<name>   an account in use: user.name (who logged in, or tried), and the account of
                   the hospital's sender mailbox when the mail was sent from inside.
- target:<name>    an account targeted: the account of a recipient mailbox (through the
                   inventory: email, aliases, mail_domains), or of an own-domain sender forged
                   from outside. A target links to the use of that account (probes account:)
                   and a use links to earlier targeting (probes target:), but two mails to the
                   same person do not link through that person: a mailbox receives unrelated
                   mail all the time (newsletters, other phishing waves).
- sender:<address> an outside envelope sender (the attacker's mailbox).
- ip:<address>     a public source or destination address. Internal addresses (private or
                   reserved ranges, the inventory's internal networks and asset addresses) are
                   shared infrastructure (relays, proxies, NAT, DHCP pools) and never link.
- host:<name>      host.hostname when it is not an inventory asset (a workstation).
- asset:<name>     the web site a medium-or-higher web signal attacks (not a forward proxy):
                   exploitation attempts on one site within the window are one incident,
                   whichever addresses they come from. Low web signals (the Internet's
                   background probing) and every observer (mail relay, VPN gateway: they carry
                   everyone's traffic) never link through an asset.
- event:<id>, signal:<id>  the same event, a correlation result's member signals and the events
                   a multi-event signal rests on (vigie.evidence.event_ids).
The assembly additionally stops linking through popular keys (policy `hub_*`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from pipelines.enrichment.inventory import Inventory
from pipelines.enrichment.networks import is_reserved, parse_address
from pipelines.incidents.attack import AttackTags, parse_tags
from pipelines.incidents.policy import AssemblyPolicy, level_rank
from pipelines.incidents.times import to_ms

# What a correlation result (a signal row) carries beyond a signal (pipelines/correlation).
CORRELATION_TYPE = "vigie.correlation.type"
CORRELATION_MEMBERS = "vigie.correlation.signal_ids"
EVIDENCE_EVENT_IDS = "vigie.evidence.event_ids"
EVIDENCE_LOG_PATHS = "vigie.evidence.log_paths"      # parallel to EVIDENCE_EVENT_IDS
EVIDENCE_LOG_OFFSETS = "vigie.evidence.log_offsets"
KINDS = ("phishing", "vpn-intrusion", "account-takeover", "mass-mailing", "web-attack")
SERVICE_OF_FAMILY = {"mail": "mail", "web": "web", "vpn": "remote-access"}
# Techniques that mean an account was used (ATT&CK Valid Accounts, External Remote Services).
_ACCOUNT_USE = ("T1078", "T1133")


@dataclass(frozen=True)
class SignalFacts:
    """What assembly needs from one signal row (see the module docstring)."""

    signal_id: str
    timestamp: int
    rule_id: str
    rule_name: str
    level: str
    rank: int
    attack: AttackTags
    dataset: str | None
    family: str | None
    event_id: str | None
    log_path: str | None
    log_offset: int | None
    event_original: str | None
    correlation_type: str | None
    evidence_event_ids: tuple[str, ...]
    evidence_origins: tuple[tuple[str | None, int | None], ...]  # (log.file.path, log.offset) of each
    accounts: tuple[str, ...]            # display names, every account involved
    user_account: str | None             # the account of user.name (who logged in or tried)
    mailboxes: tuple[str, ...]           # the hospital's mailboxes, and outside senders
    senders: tuple[str, ...]             # outside senders
    external_recipients: tuple[str, ...]
    source_ips: tuple[str, ...]          # every address, as written
    public_ips: tuple[str, ...]
    hosts: tuple[str, ...]
    domains: tuple[str, ...]
    assets: tuple[tuple[str, str], ...]  # (name, criticality)
    target_asset: str | None
    kind: str | None
    keys: tuple[str, ...]                # registered
    probes: tuple[str, ...]              # looked up

    @property
    def service(self) -> str | None:
        return SERVICE_OF_FAMILY.get(self.family or "")


# Row keys assembly reads (plus every vigie.* key): `slim_row` keeps only these.
USED_KEYS = frozenset({
    "signal.id", "@timestamp", "rule.id", "rule.name", "rule.level", "rule.tags", "event.id",
    "event.dataset", "event.outcome", "event.original", "log.file.path", "log.offset",
    "source.ip", "destination.ip", "server.ip", "user.name", "url.domain", "email.from.address",
    "email.to.address", "host.hostname", "observer.hostname"})


def row_problem(row: object) -> str | None:
    """Why a signal row cannot be assembled (None when it can): it must be a mapping with a
    signal.id and a readable @timestamp."""
    if not isinstance(row, dict):
        return f"not a signal row: {type(row).__name__}"
    if not _text(row.get("signal.id")):
        return "signal without signal.id"
    try:
        to_ms(row.get("@timestamp"))
    except (TypeError, ValueError):
        return f"signal {row.get('signal.id')} without a readable @timestamp ({row.get('@timestamp')!r})"
    return None


def slim_row(row: dict) -> dict:
    """A signal row without what assembly never reads (rule descriptions, references, empty
    values): what is buffered while waiting for the watermark."""
    return {k: v for k, v in row.items()
            if v is not None and v != [] and (k in USED_KEYS or k.startswith("vigie."))}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    return [t for t in (_text(v) for v in value) if t]


def _unique(values: Iterable[Any]) -> tuple:
    return tuple(dict.fromkeys(v for v in values if v is not None))


def account_key(name: str) -> str:
    """The linking key of an account in use."""
    return f"account:{name.lower()}"


def target_key(name: str) -> str:
    """The linking key of a targeted account."""
    return f"target:{name.lower()}"


def _account_name(user: str, inventory: Inventory | None) -> str:
    """An account as logs write it -> the inventory's name for it, else the name in lower case
    (DOMAIN\\ prefixes dropped)."""
    found = inventory.account(user) if inventory is not None else None
    if found is not None:
        return found.name
    return user.lower().rsplit("\\", 1)[-1]


def _is_internal(address: str, inventory: Inventory | None) -> bool:
    parsed = parse_address(address)
    if parsed is None:
        return True  # not an address: nothing to link on
    if is_reserved(parsed):
        return True
    if inventory is not None and (inventory.internal.labels(parsed) or inventory.asset_by_address(parsed)):
        return True
    return False


def _assets(row: dict, inventory: Inventory | None) -> list[tuple[str, str]]:
    """Every inventory asset the signal involves (and vigie.asset.* when the row carries it)."""
    found: list[tuple[str, str]] = []
    if _text(row.get("vigie.asset.name")):
        found.append((row["vigie.asset.name"], _text(row.get("vigie.asset.criticality")) or "low"))
    if inventory is None:
        return found
    candidates = [inventory.asset_by_host(_text(row.get(c)))
                  for c in ("observer.hostname", "host.hostname", "url.domain")]
    for column in ("destination.ip", "server.ip"):
        parsed = parse_address(_text(row.get(column)))
        candidates.append(inventory.asset_by_address(parsed) if parsed else None)
    candidates.append(inventory.asset_by_log_path(_text(row.get("log.file.path"))))
    found.extend((a.name, a.criticality) for a in candidates if a is not None)
    return list(dict.fromkeys(found))


def _target_asset(row: dict, dataset: str | None, rank: int, inventory: Inventory | None,
                  policy: AssemblyPolicy) -> str | None:
    """The web site a medium-or-higher server-side web signal attacks (see the module doc)."""
    if not dataset or not dataset.startswith("web.") or dataset in policy.proxy_datasets:
        return None
    if rank < level_rank("medium"):
        return None
    if inventory is not None:
        for asset in (inventory.asset_by_host(_text(row.get("url.domain"))),
                      inventory.asset_by_log_path(_text(row.get("log.file.path"))),
                      inventory.asset_by_host(_text(row.get("host.hostname"))),
                      inventory.asset_by_host(_text(row.get("observer.hostname")))):
            if asset is not None:
                return asset.name
    site = _text(row.get("url.domain")) or _text(row.get("host.hostname")) or _text(row.get("log.file.path"))
    return site.lower() if site else None


def _kind(family: str | None, attack: AttackTags, rank: int,
          outcome: str | None, user: str | None, public_source: bool, own_sender: bool) -> str | None:
    """What kind of incident this signal speaks of (see KINDS)."""
    if family == "web":
        return "web-attack"
    if family == "vpn":
        used = outcome == "success" if outcome in ("success", "failure") else (
            rank >= level_rank("high") and any(t.split(".")[0] in _ACCOUNT_USE for t in attack.techniques))
        return "account-takeover" if used else "vpn-intrusion"
    if family == "mail":
        if "credential-access" in attack.tactics and "initial-access" not in attack.tactics:
            return None  # a mail password being guessed: no kind of its own
        if user or (own_sender and not public_source):
            return "mass-mailing"
        return "phishing"
    return None


def evidence_pointers(row: dict) -> tuple[tuple[str, str | None, int | None], ...]:
    """The events a multi-event signal rests on, as (event id, log.file.path, log.offset), in
    the order of vigie.evidence.event_ids, once each. Where the line is read from comes from
    vigie.evidence.log_paths / log_offsets (parallel lists; ignored unless their lengths match
    the ids), else, for the signal's own event.id, from its log.file.path / log.offset;
    (id, None, None) when the row does not say."""
    ids = row.get(EVIDENCE_EVENT_IDS)
    if ids is None or isinstance(ids, str):
        ids = [] if ids is None else [ids]
    paths, offsets = row.get(EVIDENCE_LOG_PATHS), row.get(EVIDENCE_LOG_OFFSETS)
    parallel = (paths is not None and offsets is not None and not isinstance(paths, str)
                and len(paths) == len(offsets) == len(ids))
    own = _text(row.get("event.id"))
    out: dict[str, tuple[str | None, int | None]] = {}
    for n, value in enumerate(ids):
        event_id = _text(value)
        if event_id is None:
            continue
        path, offset = (paths[n], offsets[n]) if parallel else (None, None)
        if (path is None or offset is None) and event_id == own:
            path, offset = row.get("log.file.path"), row.get("log.offset")
        path = _text(path)
        origin = (path, int(offset)) if path is not None and offset is not None else (None, None)
        if out.get(event_id, (None, None))[0] is None:
            out[event_id] = origin
    return tuple((event_id, path, offset) for event_id, (path, offset) in out.items())


def signal_facts(row: dict, inventory: Inventory | None = None,
                 policy: AssemblyPolicy = AssemblyPolicy()) -> SignalFacts:
    """One signal row -> SignalFacts (see the module docstring)."""
    signal_id = _text(row.get("signal.id"))
    if signal_id is None or row.get("@timestamp") is None:
        raise ValueError("a signal needs signal.id and @timestamp")
    timestamp = to_ms(row["@timestamp"])
    level = (_text(row.get("rule.level")) or "informational").lower()
    rank = level_rank(level)
    attack = parse_tags(row.get("rule.tags"))
    dataset = _text(row.get("event.dataset"))
    family = dataset.split(".", 1)[0] if dataset else None
    user = _text(row.get("user.name"))
    user_account = _account_name(user, inventory) if user else None
    addresses = _unique(_texts(row.get("source.ip")) + _texts(row.get("destination.ip")))
    source_internal = row.get("vigie.source.internal")
    public = []
    for address in addresses:
        internal = (source_internal if isinstance(source_internal, bool) and address == _text(row.get("source.ip"))
                    else _is_internal(address, inventory))
        if not internal:
            public.append(address)
    public_source = _text(row.get("source.ip")) in public
    sender_accounts = _texts(row.get("vigie.mail.sender_account"))
    targeted = _texts(row.get("vigie.mail.recipient_accounts"))
    mailboxes: list[str] = []
    senders: list[str] = []
    outside: list[str] = []
    own_sender = False
    for role, column in (("from", "email.from.address"), ("to", "email.to.address")):
        for address in (a.lower() for a in _texts(row.get(column))):
            own = inventory is not None and inventory.is_own_mailbox(address)
            if own:
                mailboxes.append(address)
                owner = inventory.account_by_mailbox(address)
                if owner is not None:
                    (sender_accounts if role == "from" else targeted).append(owner.name)
                own_sender = own_sender or role == "from"
            elif role == "from":
                senders.append(address)
                mailboxes.append(address)
            else:
                outside.append(address)
    # An own-domain sender on mail from outside without authentication is forged: a target.
    forged = public_source and not user
    used = _unique(([user_account] if user_account else []) + ([] if forged else sender_accounts))
    targeted = list(_unique(targeted + (sender_accounts if forged else [])))
    accounts = list(used) + targeted
    assets = _assets(row, inventory)
    asset_names = {name for name, _ in assets}
    hosts = [h for h in _texts(row.get("host.hostname"))]
    linkable_hosts = [h for h in hosts if h not in asset_names
                      and not (inventory is not None and inventory.asset_by_host(h))]
    domains = _texts(row.get("url.domain")) + [s.rpartition("@")[2] for s in senders]
    target = _target_asset(row, dataset, rank, inventory, policy)
    outcome = (_text(row.get("event.outcome")) or "").lower() or None
    kind = _kind(family, attack, rank, outcome, user, public_source, own_sender)
    event_id = _text(row.get("event.id"))
    pointers = evidence_pointers(row)
    evidence_ids = tuple(event_id for event_id, _, _ in pointers)
    members = _unique(_texts(row.get(CORRELATION_MEMBERS)))
    accounts_u = _unique(accounts)
    shared = ([f"sender:{s}" for s in _unique(senders)] + [f"ip:{a}" for a in public]
              + [f"host:{h.lower()}" for h in _unique(linkable_hosts)]
              + ([f"asset:{target}"] if target else [])
              + [f"event:{e}" for e in _unique(([event_id] if event_id else []) + list(evidence_ids))]
              + [f"signal:{s}" for s in _unique([signal_id, *members])])
    keys = [account_key(a) for a in used] + [target_key(a) for a in targeted] + shared
    probes = ([account_key(a) for a in used] + [target_key(a) for a in used]
              + [account_key(a) for a in targeted] + shared)
    offset = row.get("log.offset")
    return SignalFacts(
        signal_id=signal_id, timestamp=timestamp, rule_id=_text(row.get("rule.id")) or "",
        rule_name=_text(row.get("rule.name")) or _text(row.get("rule.id")) or "", level=level,
        rank=rank, attack=attack, dataset=dataset, family=family, event_id=event_id,
        log_path=_text(row.get("log.file.path")), log_offset=int(offset) if offset is not None else None,
        event_original=row.get("event.original") if isinstance(row.get("event.original"), str) else None,
        correlation_type=_text(row.get(CORRELATION_TYPE)), evidence_event_ids=evidence_ids,
        evidence_origins=tuple((path, offset) for _, path, offset in pointers),
        accounts=accounts_u, user_account=user_account, mailboxes=_unique(mailboxes),
        senders=_unique(senders), external_recipients=_unique(outside), source_ips=addresses,
        public_ips=tuple(public), hosts=_unique(hosts), domains=_unique(d.lower() for d in domains),
        assets=tuple(assets), target_asset=target, kind=kind, keys=tuple(dict.fromkeys(keys)),
        probes=tuple(dict.fromkeys(probes)))
