"""Helpers for the correlation tests: rules built in code, signals as small dicts."""
from __future__ import annotations

import itertools

from pipelines.correlation.model import (Condition, CorrelationRule, CorrelationSet, Emission,
                                         Source)

_ids = itertools.count()


def source(name: str, *fields: str, value_fields: tuple[str, ...] = (), kind: str = "sigma",
           level: str | None = "low", tags: tuple[str, ...] = ("attack.t1110",)) -> Source:
    """A source rule whose rule.id is its name (tests route on it)."""
    return Source(name, name, name.replace("_", " ").title(), kind, tuple(fields), value_fields,
                  level, tags)


def rule(kind: str, names: list[str], group_by: tuple[str, ...] = ("user.name",),
         timespan_ms: int = 10_000, op: str = "gte", count: float = 1, *,
         value_field: str | None = None, percentile: float | None = None,
         expression=None, emission: Emission | None = None, rule_id: str = "corr",
         name: str | None = "corr", level: str | None = None, chain_level: int = 1,
         aliases: dict[str, dict[str, str]] | None = None, generate: bool = False,
         source_kinds: dict[str, str] | None = None) -> CorrelationRule:
    """A correlation rule over sources named `names` (aliases: {alias: {source: field}})."""
    aliases = aliases or {}
    sources = []
    for n in names:
        fields = tuple(aliases[g][n] if g in aliases else g for g in group_by)
        values = ()
        if value_field:
            values = (aliases[value_field][n] if value_field in aliases else value_field,)
        sources.append(source(n, *fields, value_fields=values,
                              kind=(source_kinds or {}).get(n, "sigma")))
    condition = None if expression is not None else Condition(op, count, percentile)
    return CorrelationRule(id=rule_id, name=name, title=f"Rule {rule_id}", type=kind,
                           timespan_ms=timespan_ms, group_by=tuple(group_by),
                           sources=tuple(sources), condition=condition, expression=expression,
                           generate=generate, level=level, emission=emission,
                           chain_level=chain_level, author="tests")


def rules_set(*rules: CorrelationRule, emission: Emission | None = None) -> CorrelationSet:
    return CorrelationSet(sorted(rules, key=lambda r: (r.chain_level, r.id)),
                          emission=emission or Emission())


def sig(rule_id: str, t: int, sid: str | None = None, **fields) -> dict:
    """A signal of `rule_id` at `t` ms; fields given with _ for . (user_name=...) or as a dict."""
    sid = sid or f"{rule_id}-{t}-{next(_ids)}"
    out = {"signal.id": sid, "rule.id": rule_id, "@timestamp": t, "event.id": f"ev-{sid}",
           "event.dataset": "vpn.fortigate", "log.file.path": "/logs/x.log", "log.offset": t}
    for key, value in fields.items():
        out[key.replace("__", ".") if "__" in key else key] = value
    return out


def brief(results: list[dict]) -> list[tuple]:
    """(time ms, group values, value, signal ids) per result, sorted."""
    from pipelines.correlation.routing import timestamp_ms
    return sorted((timestamp_ms(r["@timestamp"]), tuple(r["vigie.correlation.group_by.values"]),
                   r["vigie.correlation.value"], tuple(r["vigie.correlation.signal_ids"]))
                  for r in results)
