"""A small, obviously correct (and slow) reference of the correlation semantics, for tests.

It recomputes every window from scratch at every distinct hit time of every group, with the
definitions of docs/correlation.md written as directly as possible, and shares no code with
pipelines/correlation/ except the rule dataclasses it reads. Out: (time, group, value,
signal ids) per emitted result, sorted.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

from pipelines.correlation.model import CorrelationRule, Emission, evaluate_expr


def _values_of(signal: dict, name: str) -> list:
    value = signal.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if v is not None and v not in out:
            out.append(v)
    return out


def _text(v) -> str:
    return v if isinstance(v, str) else str(v)


def _hits(rule: CorrelationRule, signals: list[dict]) -> dict[tuple, list[dict]]:
    """group key -> hits {time, pos, id, values}."""
    groups: dict[tuple, list[dict]] = {}
    for s in signals:
        for pos, source in enumerate(rule.sources):
            if s["rule.id"] != source.rule_id:
                continue
            if rule.type not in ("temporal", "temporal_ordered") and any(
                    src.rule_id == source.rule_id for src in rule.sources[:pos]):
                continue
            per_field = [[_text(v) for v in _values_of(s, f)] for f in source.fields]
            if any(not v for v in per_field):
                continue
            values = ()
            if rule.type == "value_count":
                per_value = [[_text(v) for v in _values_of(s, f)] for f in source.value_fields]
                if any(not v for v in per_value):
                    continue
                values = (tuple(per_value[0]) if len(per_value) == 1
                          else tuple(dict.fromkeys(itertools.product(*per_value))))
            elif rule.type.startswith("value_"):
                values = tuple(v for v in _values_of(s, source.value_fields[0])
                               if isinstance(v, (int, float)) and not isinstance(v, bool))
                if not values:
                    continue
            for key in dict.fromkeys(itertools.product(*per_field)):
                groups.setdefault(tuple(key), []).append(
                    {"time": s["@timestamp"], "pos": pos, "id": s["signal.id"], "values": values})
    return groups


def _chain_exists(window: list[dict], positions: tuple[int, ...]) -> bool:
    """Hits of `positions`, one each, with non-decreasing times in that order."""
    choices = [[h["time"] for h in window if h["pos"] == p] for p in positions]
    return any(all(a <= b for a, b in zip(pick, pick[1:])) for pick in itertools.product(*choices))


def _percentile(values: list, p: float) -> float:
    """Linear interpolation between closest ranks at rank (n - 1) * p / 100, in exact
    rational arithmetic."""
    ordered = sorted(Fraction(v) for v in values)
    rank = Fraction(len(ordered) - 1) * Fraction(p) / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def _measure(rule: CorrelationRule, window: list[dict]) -> tuple[bool, float]:
    k = len(rule.sources)
    kind = rule.type
    if kind == "temporal" or kind == "temporal_ordered":
        if rule.expression is not None:
            if kind == "temporal":
                truth = [any(h["pos"] == p for h in window) for p in range(k)]
            else:
                truth, cursor = [], -math.inf
                for p in range(k):
                    later = [h["time"] for h in window if h["pos"] == p and h["time"] >= cursor]
                    truth.append(bool(later))
                    if later:
                        cursor = min(later)
            return evaluate_expr(rule.expression, truth), float(sum(truth))
        if kind == "temporal":
            value = len({h["pos"] for h in window})
        else:
            value = max([m for m in range(1, k + 1)
                         for combo in itertools.combinations(range(k), m)
                         if _chain_exists(window, combo)], default=0)
    elif kind == "event_count":
        value = len(window)
    elif kind == "value_count":
        value = len({v for h in window for v in h["values"]})
    else:
        values = [v for h in window for v in h["values"]]
        if not values:
            return False, math.nan
        if kind == "value_sum":
            value = math.fsum(values)
        elif kind == "value_avg":
            value = math.fsum(values) / len(values)
        elif kind == "value_median":
            value = _percentile(values, 50)
        else:
            value = _percentile(values, rule.condition.percentile)
    return rule.condition.holds(value), float(value)


def reference_results(rule: CorrelationRule, emission: Emission,
                      signals: list[dict]) -> list[tuple[int, tuple, float, tuple[str, ...]]]:
    """Every result of `rule` over `signals` (`@timestamp` in int ms)."""
    out = []
    suppress = rule.timespan_ms if emission.suppress_ms is None else emission.suppress_ms
    for key, hits in _hits(rule, signals).items():
        reset_at = None
        quiet = None
        for t in sorted({h["time"] for h in hits}):
            window = [h for h in hits if t - rule.timespan_ms <= h["time"] <= t
                      and (reset_at is None or h["time"] > reset_at)]
            holds, value = _measure(rule, window)
            if not holds or (quiet is not None and t <= quiet):
                continue
            ordered = sorted(window, key=lambda h: (h["time"], h["pos"], h["id"]))
            out.append((t, key, value, tuple(h["id"] for h in ordered)))
            quiet = t + suppress if suppress > 0 else None
            if emission.mode == "reset":
                reset_at = t
    return sorted(out)
