"""An incident record (the contract's flat dotted keys) -> what a report page shows.

In: one incident dict as written to incidents.jsonl, a language and a display timezone. Out: a
plain dict for the templates: localised title, severity and its score parts, services,
entities, ATT&CK chain, signals, evidence rows, containment actions with their steps, and
notification deadlines with their due time in the reader's timezone and in UTC. The record is
read tolerantly (missing keys give empty sections, extra keys are ignored); no text is escaped
here: the templates do that, always.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from zoneinfo import ZoneInfo

from pipelines.reports import i18n
from pipelines.reports.text import has_hidden
from pipelines.reports.timeline import parse_time, timeline

EVIDENCE_ROWS = 200       # evidence rows shown per page; the rest is counted
RAW_PREVIEW = 160         # characters of a raw line shown before "full line"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")


def file_stem(incident: dict) -> str:
    """The file-name stem of an incident's reports: its id when it is a plain identifier, else a
    digest of it (a record is data: its id must not choose where files are written)."""
    incident_id = str(incident.get("incident.id") or "")
    if _SAFE_ID.fullmatch(incident_id) and ".." not in incident_id:
        return incident_id
    return "inc-" + hashlib.sha256(incident_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _list(value: object) -> list:
    return list(value) if isinstance(value, (list, tuple)) else []


def _int(value: object, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def severity_key(incident: dict) -> tuple:
    """Sort key: highest severity first, then highest score, then earliest first seen, then id."""
    score = incident.get("incident.score")
    try:
        score = float(score)
    except (TypeError, ValueError):
        score = 0.0
    first = parse_time(incident.get("incident.first_seen"))
    return (-_int(incident.get("incident.severity")), -score,
            first.timestamp() if first else float("inf"), str(incident.get("incident.id") or ""))


def _when(value: object, tz: ZoneInfo, lang: str) -> dict | None:
    t = parse_time(value)
    if t is None:
        return None
    local = t.astimezone(tz)
    return {"local": i18n.format_datetime(lang, local), "utc": f"{t:%Y-%m-%d %H:%M:%S} UTC",
            "iso": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "time": i18n.format_time(local)}


def localised_title(incident: dict, lang: str) -> str:
    """A title built from the incident kind and its main entities (accounts first)."""
    kind = i18n.kind_name(lang, str(incident.get("incident.kind") or ""))
    entities = incident.get("incident.entities") or {}
    for key in ("accounts", "mailboxes", "domains", "source_ips", "hosts"):
        names = [str(n) for n in _list(entities.get(key)) if n]
        if names:
            shown = ", ".join(names[:2]) + (f" (+{len(names) - 2})" if len(names) > 2 else "")
            return f"{kind} — {shown}"
    return kind


def default_deadlines(detected_at: object) -> list[dict]:
    """Deadlines when a record carries none: the health-sector declaration and the three NIS2
    steps, counted from the detection time (GDPR is left to the record: only it knows whether
    personal data may be involved)."""
    t = parse_time(detected_at)
    if t is None:
        return []
    iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    notification = t + dt.timedelta(hours=72)
    month_later = _add_month(notification)
    return [{"id": "health-serious-incident", "due": iso(t), "basis": "detected_at"},
            {"id": "nis2-early-warning", "due": iso(t + dt.timedelta(hours=24)), "basis": "detected_at + 24 h"},
            {"id": "nis2-notification", "due": iso(notification), "basis": "detected_at + 72 h"},
            {"id": "nis2-final-report", "due": iso(month_later), "basis": "notification + 1 month"}]


def _add_month(t: dt.datetime) -> dt.datetime:
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    for day in (t.day, 30, 29, 28):
        try:
            return t.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return t


# Containment when a record carries no `incident.actions`: the usual steps for its kind.
DEFAULT_ACTIONS = {
    "phishing": ("block-sender-domain", "quarantine-messages", "reset-accounts", "preserve-evidence"),
    "account-takeover": ("disconnect-workstations", "cut-remote-access", "reset-accounts", "preserve-evidence"),
    "vpn-intrusion": ("cut-remote-access", "suspend-telework", "reset-accounts", "block-addresses",
                      "preserve-evidence"),
    "mass-mailing": ("reset-accounts", "quarantine-messages", "block-addresses", "preserve-evidence"),
    "web-attack": ("take-website-offline", "block-addresses", "preserve-evidence"),
    "campaign": ("disconnect-workstations", "cut-remote-access", "suspend-telework", "reset-accounts",
                 "block-sender-domain", "block-addresses", "quarantine-messages", "preserve-evidence"),
}


def _actions(incident: dict, lang: str) -> list[dict]:
    rows = []
    entries = incident.get("incident.actions")
    if entries is None:
        kind = str(incident.get("incident.kind") or "")
        entries = [{"id": a, "targets": []} for a in DEFAULT_ACTIONS.get(kind, ("preserve-evidence",))]
    for entry in _list(entries):
        if not isinstance(entry, dict):
            continue
        action_id = str(entry.get("id") or "")
        text = i18n.action_text(lang, action_id)
        rows.append({"id": action_id, "title": text["title"], "steps": text["steps"],
                     "targets": [str(t) for t in _list(entry.get("targets")) if t is not None]})
    order = {a: i for i, a in enumerate(i18n.ACTION_ORDER)}
    return sorted(rows, key=lambda r: order.get(r["id"], len(order)))


def _deadlines(incident: dict, lang: str, tz: ZoneInfo) -> list[dict]:
    entries = incident.get("incident.deadlines")
    if entries is None:
        entries = default_deadlines(incident.get("incident.detected_at"))
    rows = []
    for entry in _list(entries):
        if not isinstance(entry, dict):
            continue
        deadline_id = str(entry.get("id") or "")
        text = i18n.deadline_text(lang, deadline_id)
        rows.append({"id": deadline_id, **text, "due": _when(entry.get("due"), tz, lang),
                     "computed_from": str(entry.get("basis") or "")})
    order = {d: i for i, d in enumerate(i18n.DEADLINE_ORDER)}
    return sorted(rows, key=lambda r: (r["due"]["iso"] if r["due"] else "~", order.get(r["id"], 99)))


def _evidence(incident: dict, tz: ZoneInfo) -> list[dict]:
    rows = []
    for e in _list(incident.get("incident.evidence")):
        if not isinstance(e, dict):
            continue
        t = parse_time(e.get("@timestamp"))
        raw = e.get("event.original")
        raw = "" if raw is None else str(raw)
        rows.append({"event_id": e.get("event.id"), "dataset": e.get("event.dataset"),
                     "path": e.get("log.file.path"), "offset": e.get("log.offset"),
                     "time": i18n.format_time(t.astimezone(tz)) if t else "",
                     "iso": t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else "", "sort": t.timestamp() if t else 0.0,
                     "rule": e.get("rule.name"), "raw": raw,
                     "raw_preview": raw if len(raw) <= RAW_PREVIEW else raw[: RAW_PREVIEW - 1] + "…",
                     "raw_cut": len(raw) > RAW_PREVIEW})
    return sorted(rows, key=lambda r: (r["sort"], str(r["event_id"])))


def incident_view(incident: dict, lang: str, tz: ZoneInfo) -> dict:
    """Everything a report page shows about one incident (see the module docstring)."""
    lang = i18n.checked_lang(lang)
    severity = _int(incident.get("incident.severity"))
    entities = incident.get("incident.entities") or {}
    if not isinstance(entities, dict):
        entities = {}
    evidence = _evidence(incident, tz)
    signals = [s for s in _list(incident.get("incident.signals")) if isinstance(s, dict)]
    status = str(incident.get("incident.status") or "")
    chain = []
    for step in _list(incident.get("incident.attack_chain")):
        if isinstance(step, dict):
            t = parse_time(step.get("first_seen"))
            chain.append({"tactic": step.get("tactic"), "technique": step.get("technique"),
                          "rule": step.get("rule.name"),
                          "time": i18n.format_time(t.astimezone(tz)) if t else ""})
    tz_name = i18n.label(lang, "paris_time") if getattr(tz, "key", "") == "Europe/Paris" else str(getattr(tz, "key", tz))
    first, last, detected = (_when(incident.get(k), tz, lang) for k in
                             ("incident.first_seen", "incident.last_seen", "incident.detected_at"))
    services = [{"id": s, "name": i18n.service_name(lang, str(s))} for s in _list(incident.get("incident.services"))]
    kind = i18n.kind_name(lang, str(incident.get("incident.kind") or ""))
    summary = [i18n.label(lang, "summary_sentence").format(
        kind=kind, services=", ".join(s["name"] for s in services) or i18n.label(lang, "none"),
        n=len(evidence), datasets=", ".join(str(d) for d in _list(incident.get("incident.datasets"))) or "?",
        first=first["local"] if first else "?", last=last["local"] if last else "?", tz=tz_name)]
    if detected:
        summary.append(i18n.label(lang, "summary_detected").format(detected=detected["local"]))
    return {
        "lang": lang, "L": i18n.LABELS[lang], "tz_name": tz_name, "summary": summary,
        "id": incident.get("incident.id"), "stem": file_stem(incident),
        "revision": _int(incident.get("incident.revision"), 1),
        "status": i18n.label(lang, f"status_{status}") if status in ("new", "updated") else status,
        "title": localised_title(incident, lang), "original_title": incident.get("incident.title"),
        "kind": kind,
        "severity": severity, "severity_name": i18n.severity_name(lang, severity),
        "score": incident.get("incident.score"),
        "score_parts": [p for p in _list(incident.get("incident.score_parts")) if isinstance(p, dict)],
        "first_seen": first, "last_seen": last, "detected_at": detected,
        "datasets": [str(d) for d in _list(incident.get("incident.datasets"))],
        "services": services,
        "entities": [{"key": key, "label": i18n.label(lang, key),
                      "names": [str(v) for v in _list(entities.get(key)) if v is not None]}
                     for key in ("accounts", "mailboxes", "source_ips", "hosts", "domains")],
        "assets": [a for a in _list(entities.get("assets")) if isinstance(a, dict)],
        "tactics": [str(t) for t in _list(incident.get("incident.tactics"))],
        "techniques": [str(t) for t in _list(incident.get("incident.techniques"))],
        "chain": chain,
        "signals": signals,
        "evidence": evidence[:EVIDENCE_ROWS], "evidence_more": max(0, len(evidence) - EVIDENCE_ROWS),
        "actions": _actions(incident, lang),
        "deadlines": _deadlines(incident, lang, tz),
        "timeline": timeline([e for e in _list(incident.get("incident.evidence")) if isinstance(e, dict)],
                             signals, incident.get("incident.first_seen"),
                             incident.get("incident.last_seen"), incident.get("incident.detected_at"),
                             tz, lang),
        "hidden": has_hidden(_all_text(incident)),
    }


def _all_text(value: object) -> str:
    """Every string in a record, joined (to tell whether hidden characters occur anywhere)."""
    if isinstance(value, dict):
        return " ".join(_all_text(k) + " " + _all_text(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return " ".join(_all_text(v) for v in value)
    return "" if value is None else str(value)
