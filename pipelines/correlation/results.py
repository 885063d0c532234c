"""Correlation results as signal rows (schemas/signals.yml), with deterministic ids.

In: a correlation rule, a group key and the `Fired` window (window.py). Out: `result_row()`,
a dict with every signals.yml key:
- signal.id: blake2b-128 of the rule id, the group values and the completing signal's id (a
  replay, a retried bundle or a restarted stream upserts instead of duplicating);
- @timestamp: event time of the completing signal (the window end); event.kind "signal";
- rule.*: the correlation rule's metadata; rule.level is the correlation's own level (level
  override), else the highest level among its sources; rule.tags its own tags, else the union
  of its sources' tags; vigie.rule.name its `name:`;
- event.id, event.dataset, log.file.path, log.offset and the other event fields of the signal
  that completed the window (so the result points at a raw line), with each group-by field set
  to the group's value (a fanned-out list field holds the one value of the group);
- vigie.correlation.*: rule id and name, type, chain level, group-by names and values, window
  start and end, the ids of the signals in the window (time order), the aggregated value;
- vigie.evidence.event_ids: every evidence event of those signals, time order, once each;
- vigie.building_block: the rule feeds only correlations with `generate: false`.
"""
from __future__ import annotations

import functools
import hashlib

from pipelines.correlation.model import CorrelationRule
from pipelines.correlation.routing import to_datetime
from pipelines.correlation.window import Fired
from pipelines.schema import schemas, signal_fields

LEVELS = ("informational", "low", "medium", "high", "critical")


def result_id(rule_id: str, group: tuple[str, ...], completing_signal_id: str) -> str:
    """Deterministic result id: 32 hex chars of blake2b over the rule id, the group values
    and the id of the signal that completed the window."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (rule_id, *group, completing_signal_id):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def carried_fields() -> tuple[str, ...]:
    """Signal fields copied from the event (signals.yml fields that are event fields), minus
    the ones a signal sets itself."""
    events = schemas().fields
    return tuple(name for name in signal_fields() if name in events and name != "event.kind")


@functools.lru_cache(maxsize=None)
def _text_fields() -> dict[str, bool]:
    """Text signal fields (keyword, ip, wildcard) -> whether they are lists."""
    return {name: f.array for name, f in signal_fields().items()
            if f.type in ("keyword", "ip", "wildcard", "match_only_text")}


def highest_level(levels) -> str | None:
    """The most severe Sigma level among `levels` (None when none is known)."""
    known = [LEVELS.index(l) for l in levels if l in LEVELS]
    return LEVELS[max(known)] if known else None


def rule_metadata(rule: CorrelationRule) -> dict:
    """rule.* columns of the results of `rule` (level override and inherited tags applied)."""
    level = rule.level or highest_level(s.level for s in rule.sources)
    tags = rule.tags or tuple(dict.fromkeys(t for s in rule.sources for t in s.tags))
    return {
        "rule.id": rule.id, "rule.name": rule.title, "rule.level": level,
        "rule.status": rule.status, "rule.author": rule.author,
        "rule.description": rule.description, "rule.references": list(rule.references),
        "rule.tags": list(tags), "vigie.rule.name": rule.name,
        "vigie.building_block": rule.building_block,
    }


def result_row(rule: CorrelationRule, group: tuple[str, ...], fired: Fired,
               metadata: dict | None = None) -> dict:
    """One correlation result (see the module docstring); `metadata`: rule_metadata(rule),
    when the caller keeps it."""
    completing = fired.completing
    row = dict.fromkeys(signal_fields())
    origin = completing.signal
    for name in carried_fields():
        value = origin.get(name)
        if value is not None:
            row[name] = value
    text = _text_fields()
    for name, value in zip(rule.group_by, group):
        if name in text:  # other types keep the completing signal's own (equal) value
            row[name] = [value] if text[name] else value
    row.update(metadata or rule_metadata(rule))
    events: dict[str, None] = {}
    for hit in fired.evidence:
        for event_id in hit.event_ids:
            events[event_id] = None
    row.update({
        "signal.id": result_id(rule.id, group, completing.signal_id),
        "@timestamp": to_datetime(fired.time),
        "event.kind": "signal",
        "vigie.evidence.event_ids": list(events),
        "vigie.correlation.rule_id": rule.id,
        "vigie.correlation.rule_name": rule.name,
        "vigie.correlation.type": rule.type,
        "vigie.correlation.chain_level": rule.chain_level,
        "vigie.correlation.group_by.fields": list(rule.group_by),
        "vigie.correlation.group_by.values": list(group),
        "vigie.correlation.window.start": to_datetime(min(h.start for h in fired.evidence)),
        "vigie.correlation.window.end": to_datetime(fired.time),
        "vigie.correlation.signal_ids": [h.signal_id for h in fired.evidence],
        "vigie.correlation.value": fired.value,
    })
    return row


# Fields a hit keeps of its signal (the rest is read at routing time and dropped), and the
# keys a late signal carries besides them.
HIT_FIELDS = ("signal.id", "rule.id", "rule.name", "@timestamp")
LATE_KEYS = ("vigie.late.correlation_id", "vigie.late.correlation_name",
             "vigie.late.group_by.values", "vigie.late.evaluated_until")


def compact_signal(signal: dict) -> dict:
    """The part of a signal a window keeps: its id, rule and time, and the non-null event
    fields a result would copy from it."""
    out = {name: signal.get(name) for name in HIT_FIELDS}
    for name in carried_fields():
        value = signal.get(name)
        if value is not None:
            out[name] = value
    return out


def late_record(rule: CorrelationRule, group: tuple[str, ...], signal: dict,
                evaluated_until: int) -> dict:
    """A signal that came after its (rule, group) window was judged: the signal (compact) and
    which correlation, group and evaluated event time it missed."""
    record = dict(signal)
    record.update({
        "vigie.late.correlation_id": rule.id,
        "vigie.late.correlation_name": rule.ref,
        "vigie.late.group_by.values": list(group),
        "vigie.late.evaluated_until": to_datetime(evaluated_until),
    })
    return record


def late_reason(record: dict) -> str:
    """One line for a dead letter: why the late signal was not correlated."""
    return (f"signal {record.get('signal.id')} at {record.get('@timestamp')} arrived after "
            f"correlation {record['vigie.late.correlation_name']!r} had judged group "
            f"{record['vigie.late.group_by.values']} up to {record['vigie.late.evaluated_until']}"
            " (beyond the allowed lateness): not correlated")
