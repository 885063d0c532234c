"""An assembled incident -> its record (the contract in INCIDENT_CONTRACT.md; schemas/incidents.yml).

In: a Group of assembly (its rules, listed signals, entities, chain), the inventory (or None),
the policy, the status and, for a merged incident, the survivor's id. Out: one dict with flat
dotted keys; lists are sorted so that the same signals always give the same record; times are
ISO 8601 UTC strings. Keys beyond the contract: incident.kinds, incident.rules (per-rule counts:
what suppression folded), incident.signal_count, incident.signals_omitted,
incident.late_signals, incident.merged_into, incident.merged_from, incident.open_until,
incident.entities.external_recipients and .external_recipients_omitted.

Every value but incident.revision and incident.status is a function of the signals alone, so
replay and streaming give equal records (revision and status count deliveries).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.enrichment.inventory import Inventory
from pipelines.incidents.attack import tactic_rank
from pipelines.incidents.facts import KINDS, SERVICE_OF_FAMILY, SignalFacts
from pipelines.incidents.policy import AssemblyPolicy, level_rank
from pipelines.incidents.response import Targets, containment_actions, notification_deadlines
from pipelines.incidents.scoring import Person, score_incident
from pipelines.incidents.times import iso

if TYPE_CHECKING:
    from pipelines.incidents.assembly import Group

SERVICES = ("mail", "web", "remote-access")
KIND_LABELS = {"phishing": "Phishing", "vpn-intrusion": "Remote-access intrusion attempts",
               "account-takeover": "Account takeover", "mass-mailing": "Mass mailing",
               "web-attack": "Web attack", "campaign": "Campaign"}
_FAMILY_KIND = {"mail": "phishing", "web": "web-attack", "vpn": "vpn-intrusion"}
_PERSONAL_DATA_TACTICS = {"collection", "exfiltration"}


def _kinds(group: "Group") -> list[str]:
    found = group.entities.get("kinds") or group.entities.get("kinds_any") or {
        _FAMILY_KIND[d.split(".", 1)[0]] for d in group.entities.get("datasets", ())
        if d.split(".", 1)[0] in _FAMILY_KIND}
    return [k for k in KINDS if k in found]


def _people(group: "Group", inventory: Inventory | None) -> list[Person]:
    if inventory is None:
        return []
    people = []
    for name in sorted(group.entities.get("accounts_involved", ())):
        account = inventory.account(name)
        if account is not None:
            people.append(Person(account.name, account.admin, account.vip, account.disabled,
                                 account.service_account))
    return people


def _personal_data(kinds: list[str], tactics: list[str], assets: list[tuple[str, str]],
                   inventory: Inventory | None) -> bool:
    """May personal data be involved? A compromised account or mailbox, data collection or
    exfiltration, or an asset the inventory marks as holding personal data."""
    if {"account-takeover", "mass-mailing"} & set(kinds) or _PERSONAL_DATA_TACTICS & set(tactics):
        return True
    if inventory is None:
        return False
    names = {name for name, _ in assets}
    return any(a.personal_data and a.name in names for a in inventory.assets)


def _more(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit})" if len(names) > limit else "")


def _title(kind: str, kinds: list[str], group: "Group") -> str:
    """A short English title; reports build their own localised one from kind and entities."""
    label = KIND_LABELS[kind]
    if kind == "campaign":
        label += " (" + ", ".join(KIND_LABELS[k].lower() for k in kinds) + ")"
    targets = sorted(group.entities.get("used_accounts") or group.entities.get("accounts_involved")
                     or group.entities.get("accounts") or ())
    targets += sorted(group.entities.get("web_sites", ()))
    sources = sorted(group.entities.get("public_ips", ()))
    title = label
    if targets:
        title += f": {_more(targets)}"
    if sources:
        title += f" from {_more(sources, 2)}"
    return title


def _signal_entry(facts: SignalFacts) -> dict:
    return {"signal.id": facts.signal_id, "rule.id": facts.rule_id, "rule.name": facts.rule_name,
            "rule.level": facts.level, "@timestamp": iso(facts.timestamp),
            "event.dataset": facts.dataset, "vigie.correlation.type": facts.correlation_type}


def _evidence(listed: list[SignalFacts], limit: int) -> list[dict]:
    """The evidence pointers of the listed signals: one per event, first signal wins.

    In: the listed signals (time order), the cut of event.original. Out: entries with
    event.id, event.dataset, log.file.path, log.offset (where the raw line is), @timestamp,
    rule.name and event.original, ordered by the citing signal's time. A signal's own event
    comes with its time and line; the events a multi-event signal rests on
    (vigie.evidence.event_ids: impossible travel, correlation results) are placed at the
    citing signal's time, their line from vigie.evidence.log_paths / log_offsets. An event
    whose line one signal does not give takes it from another that does; a line stays null
    only when no listed signal knows it."""
    entries: dict[str, tuple[tuple[int, str, int], dict]] = {}
    for facts in listed:
        if facts.event_id and facts.event_id not in entries:
            original = facts.event_original[:limit] if facts.event_original else None
            entries[facts.event_id] = ((facts.timestamp, facts.signal_id, 0), {
                "event.id": facts.event_id, "event.dataset": facts.dataset,
                "log.file.path": facts.log_path, "log.offset": facts.log_offset,
                "@timestamp": iso(facts.timestamp), "rule.name": facts.rule_name,
                "event.original": original})
    for facts in listed:
        for n, (event_id, (path, offset)) in enumerate(
                zip(facts.evidence_event_ids, facts.evidence_origins), 1):
            if event_id not in entries:
                entries[event_id] = ((facts.timestamp, facts.signal_id, n), {
                    "event.id": event_id, "event.dataset": facts.dataset, "log.file.path": path,
                    "log.offset": offset, "@timestamp": None, "rule.name": facts.rule_name,
                    "event.original": None})
            elif entries[event_id][1]["log.file.path"] is None and path is not None:
                entries[event_id][1].update({"log.file.path": path, "log.offset": offset})
    return [entry for _, entry in sorted(entries.values(), key=lambda e: (e[0], e[1]["event.id"]))]


def build_record(group: "Group", inventory: Inventory | None, policy: AssemblyPolicy,
                 status: str, merged_into: str | None = None) -> dict:
    """The incident record of `group` at its current revision (see the module docstring)."""
    kinds = _kinds(group)
    kind = kinds[0] if len(kinds) == 1 else "campaign" if kinds else "web-attack"
    ent = group.entities
    datasets = sorted(ent.get("datasets", ()))
    services = [s for s in SERVICES if s in {SERVICE_OF_FAMILY.get(d.split(".", 1)[0]) for d in datasets}]
    chain = sorted(((entry[0], tactic_rank(tactic), technique or "", tactic, technique, entry[2])
                    for (tactic, technique), entry in group.chain.items()))
    tactics = sorted({c[3] for c in chain}, key=lambda t: (tactic_rank(t), t))
    techniques = sorted({c[4] for c in chain if c[4]})
    assets = sorted(ent.get("assets", ()), key=lambda a: (-level_rank(a[1]), a[0]))
    rules = sorted(group.rules.values(), key=lambda r: (r.first_seen, r.rule_id))
    score = score_incident([(r.rule_id, r.level, bool(r.correlation_type)) for r in rules],
                           tactics, services, assets, _people(group, inventory))
    listed = sorted((f for r in rules for f in r.listed), key=lambda f: (f.timestamp, f.signal_id))
    targets = Targets(
        used_accounts=tuple(sorted(ent.get("used_accounts", ()))),
        senders=tuple(sorted(ent.get("senders", ()))),
        sending_mailboxes=tuple(sorted(ent.get("sending_mailboxes", ()))),
        public_ips=tuple(sorted(ent.get("public_ips", ()))),
        web_sites=tuple(sorted(ent.get("web_sites", ()))),
        hosts=tuple(sorted(ent.get("hosts", ()))),
        evidence=tuple(sorted(ent.get("log_files", ())) + [a for a, _ in assets]),
        web_techniques=tuple(sorted(ent.get("web_techniques", ()))),
        web_tactics=tuple(sorted(ent.get("web_tactics", ()))))
    detected_at = group.detected_at if group.detected_at is not None else group.first_seen
    return {
        "incident.id": group.incident_id,
        "incident.revision": group.revision,
        "incident.status": status,
        "incident.title": _title(kind, kinds, group),
        "incident.kind": kind,
        "incident.kinds": kinds,
        "incident.severity": score.severity,
        "incident.severity_label": score.label,
        "incident.score": score.total,
        "incident.score_parts": [dict(p) for p in score.parts],
        "incident.first_seen": iso(group.first_seen),
        "incident.last_seen": iso(group.last_seen),
        "incident.detected_at": iso(detected_at),
        "incident.open_until": iso(group.last_seen + policy.window_ms),
        "incident.datasets": datasets,
        "incident.services": services,
        "incident.entities": {
            "accounts": sorted(ent.get("accounts", ())),
            "mailboxes": sorted(ent.get("mailboxes", ())),
            "source_ips": sorted(ent.get("source_ips", ())),
            "hosts": sorted(ent.get("hosts", ())),
            "domains": sorted(ent.get("domains", ())),
            "assets": [{"name": name, "criticality": level} for name, level in assets],
            "external_recipients": sorted(ent.get("external_recipients", ())),
            "external_recipients_omitted": group.external_recipients_omitted,
        },
        "incident.tactics": tactics,
        "incident.techniques": techniques,
        "incident.attack_chain": [{"tactic": c[3], "technique": c[4], "first_seen": iso(c[0]),
                                   "rule.name": c[5]} for c in chain],
        "incident.rules": [{"rule.id": r.rule_id, "rule.name": r.name, "rule.level": r.level,
                            "vigie.correlation.type": r.correlation_type, "count": r.count,
                            "first_seen": iso(r.first_seen), "last_seen": iso(r.last_seen)}
                           for r in rules],
        "incident.signal_count": group.signal_count,
        "incident.signals_omitted": group.signal_count - len(listed),
        "incident.late_signals": group.late_signals,
        "incident.signals": [_signal_entry(f) for f in listed],
        "incident.evidence": _evidence(listed, policy.evidence_text_limit),
        "incident.actions": containment_actions(tuple(kinds), score.severity, tuple(tactics), targets),
        "incident.deadlines": notification_deadlines(
            detected_at, score.severity, _personal_data(kinds, tactics, assets, inventory), policy),
        "incident.merged_into": merged_into,
        "incident.merged_from": sorted(group.merged_from),
    }
