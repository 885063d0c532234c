"""Signals -> the (correlation rule, group) windows they enter, as `Hit`s.

In: signal rows as dicts (keys = schemas/signals.yml names; base Sigma signals, built-in
detections such as impossible travel, and correlation results for chained rules) and the
loaded correlation rules. Out: `Router.route(signal)` -> [(rule index, group key, Hit)].

- A signal enters every correlation that names its rule (`rule.id`) among its sources.
- Group key: the values of the group-by fields, each read on the signal through the source's
  alias mapping. A list-valued field (email.to.address) fans out: the signal enters one group
  per value (per combination when several group-by fields are lists); repeated values count
  once. A signal lacking any group-by value (null, empty list) enters no group of that rule.
- Values are compared as strings, exactly (no case folding).
- value_* rules read their `field` the same way; a signal without a usable value (null, or
  not a number for the numeric types) does not take part in that rule.
- On a correlation result (chaining), a group-by name of the lower rule (an alias, say) is
  read from its `vigie.correlation.group_by.fields` / `.values`.
"""
from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any, Iterable

from pipelines.correlation.model import (TEMPORAL_TYPES, VALUE_COUNT, VALUE_TYPES,
                                         CorrelationRule)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
ONE_MS = dt.timedelta(milliseconds=1)
GROUP_FIELDS = "vigie.correlation.group_by.fields"
GROUP_VALUES = "vigie.correlation.group_by.values"
WINDOW_START = "vigie.correlation.window.start"
EVIDENCE = "vigie.evidence.event_ids"


def timestamp_ms(value: Any) -> int:
    """An event time (aware or naive-UTC datetime, int ms since the epoch, ISO 8601 string)
    -> int ms since the epoch."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return (value - EPOCH) // ONE_MS
    if isinstance(value, bool):
        raise TypeError(f"not an event time: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return timestamp_ms(dt.datetime.fromisoformat(value))
    raise TypeError(f"not an event time: {value!r}")


def to_datetime(ms: int) -> dt.datetime:
    """int ms since the epoch -> aware UTC datetime (the form Arrow gives for `date` fields)."""
    return EPOCH + dt.timedelta(milliseconds=ms)


class Hit:
    """One signal inside one (rule, group) window.

    time: event time (ms); pos: the source position in the rule's `rules:`; values: what it
    contributes to a value_* aggregate; start: the earliest event time of its own evidence
    (its time, or a chained result's window start); event_ids: its evidence events; signal:
    the signal row (fields copied into a result that this hit completes).
    """

    __slots__ = ("time", "pos", "signal_id", "values", "start", "event_ids", "signal")

    def __init__(self, time: int, pos: int, signal_id: str, values: tuple, start: int,
                 event_ids: tuple[str, ...], signal: dict):
        self.time, self.pos, self.signal_id, self.values = time, pos, signal_id, values
        self.start, self.event_ids, self.signal = start, event_ids, signal

    def __getstate__(self):
        return (self.time, self.pos, self.signal_id, self.values, self.start, self.event_ids,
                self.signal)

    def __setstate__(self, state):
        (self.time, self.pos, self.signal_id, self.values, self.start, self.event_ids,
         self.signal) = state

    def order(self) -> tuple[int, int, str]:
        """Deterministic order of hits: event time, source position, signal id."""
        return (self.time, self.pos, self.signal_id)

    def __repr__(self) -> str:
        return f"Hit({self.time}, pos={self.pos}, {self.signal_id[:8]})"


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def field_values(signal: dict, name: str) -> list:
    """The values of `name` on a signal: [] when missing, one per distinct list element."""
    value = signal.get(name)
    if value is None:
        fields = signal.get(GROUP_FIELDS)
        if fields and name in fields:
            value = signal[GROUP_VALUES][list(fields).index(name)]
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(dict.fromkeys(v for v in value if v is not None and v != ""))
    return [] if value == "" else [value]


def group_keys(signal: dict, fields: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The group keys a signal enters (fan-out over list values); [] when a value is missing."""
    if not fields:
        return [()]
    if len(fields) == 1:  # the common case, kept fast
        value = signal.get(fields[0])
        if value.__class__ is str:
            return [(value,)] if value else []
        return [(v,) for v in (_as_text(x) for x in field_values(signal, fields[0]))]
    per_field = []
    for name in fields:
        values = field_values(signal, name)
        if not values:
            return []
        per_field.append([_as_text(v) for v in values])
    if all(len(v) == 1 for v in per_field):
        return [tuple(v[0] for v in per_field)]
    return list(dict.fromkeys(itertools.product(*per_field)))


def _number(value: Any) -> int | float | None:
    """A numeric value (int when integral), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2 ** 53 else number


def hit_values(signal: dict, rule_type: str, fields: tuple[str, ...]) -> tuple | None:
    """What a signal contributes to a value_* aggregate (None: it takes no part)."""
    if rule_type == VALUE_COUNT:
        per_field = [[_as_text(v) for v in field_values(signal, f)] for f in fields]
        if not all(per_field):
            return None
        if len(fields) == 1:
            return tuple(per_field[0])
        return tuple(dict.fromkeys(itertools.product(*per_field)))
    numbers = [n for n in (_number(v) for v in field_values(signal, fields[0])) if n is not None]
    return tuple(numbers) or None


def evidence_of(signal: dict) -> tuple[str, ...]:
    """The evidence events of a signal: vigie.evidence.event_ids, else its event.id."""
    ids = signal.get(EVIDENCE)
    if ids:
        return tuple(ids)
    event_id = signal.get("event.id")
    return (event_id,) if event_id else ()


class Router:
    """Sends signals to the (rule, group) windows of the correlation rules given."""

    def __init__(self, rules: list[CorrelationRule]):
        self.rules = rules
        self.index: dict[str, list[tuple[int, int]]] = {}
        for k, rule in enumerate(rules):
            seen: set[str] = set()
            for pos, source in enumerate(rule.sources):
                # A rule listed twice in a count/value rule counts its signals once.
                if source.rule_id in seen and rule.type not in TEMPORAL_TYPES:
                    continue
                seen.add(source.rule_id)
                self.index.setdefault(source.rule_id, []).append((k, pos))

    def wants(self, rule_id: str | None) -> bool:
        """True when some rule takes signals of `rule_id`."""
        return rule_id in self.index

    def route(self, signal: dict, time: int | None = None) -> list[tuple[int, tuple, Hit]]:
        """(rule index, group key, Hit) for every window the signal enters."""
        targets = self.index.get(signal.get("rule.id"))
        if not targets:
            return []
        if time is None:
            time = timestamp_ms(signal["@timestamp"])
        start = signal.get(WINDOW_START)
        start = time if start is None else min(time, timestamp_ms(start))
        signal_id = signal.get("signal.id") or ""
        events = evidence_of(signal)
        out = []
        for k, pos in targets:
            rule = self.rules[k]
            source = rule.sources[pos]
            values: tuple | None = ()
            if rule.type in VALUE_TYPES:
                values = hit_values(signal, rule.type, source.value_fields)
                if values is None:
                    continue
            keys = group_keys(signal, source.fields)
            if keys:
                hit = Hit(time, pos, signal_id, values, start, events, signal)
                for key in keys:
                    out.append((k, key, hit))
        return out


def route_all(router: Router, signals: Iterable[dict]) -> list[tuple[int, tuple, Hit]]:
    """Route many signals (convenience for tests)."""
    return [item for signal in signals for item in router.route(signal)]
