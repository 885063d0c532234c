"""Compiled correlation rules: plain, picklable data (no pySigma inside), shipped to Beam workers.

In: nothing (dataclasses built by loader.py). Out: `CorrelationRule` (one Sigma correlation
rule, resolved: its sources in `rules:` order with the field each group-by name reads on each
source), `Condition` (operator and threshold), `Emission` (when a window that holds emits),
`CorrelationSet` (every loaded rule, by chain level, plus the skipped ones and the building-block
rule ids) and `Expr` nodes of extended temporal conditions (`"a and not b"`).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Union

EVENT_COUNT = "event_count"
VALUE_COUNT = "value_count"
TEMPORAL = "temporal"
TEMPORAL_ORDERED = "temporal_ordered"
VALUE_SUM = "value_sum"
VALUE_AVG = "value_avg"
VALUE_PERCENTILE = "value_percentile"
VALUE_MEDIAN = "value_median"
TYPES = (EVENT_COUNT, VALUE_COUNT, TEMPORAL, TEMPORAL_ORDERED, VALUE_SUM, VALUE_AVG,
         VALUE_PERCENTILE, VALUE_MEDIAN)
TEMPORAL_TYPES = (TEMPORAL, TEMPORAL_ORDERED)
NUMERIC_TYPES = (VALUE_SUM, VALUE_AVG, VALUE_PERCENTILE, VALUE_MEDIAN)
VALUE_TYPES = (VALUE_COUNT,) + NUMERIC_TYPES

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
    "eq": operator.eq, "neq": operator.ne,
}

EMIT_RESET = "reset"
EMIT_EVERY = "every"
EMIT_MODES = (EMIT_RESET, EMIT_EVERY)


@dataclass(frozen=True)
class Condition:
    """`{op: count}` (plus `field` and `percentile` for value_* types)."""

    op: str
    count: float
    percentile: float | None = None

    def holds(self, value: float) -> bool:
        """True when the aggregated value satisfies the condition."""
        return OPERATORS[self.op](value, self.count)

    def __str__(self) -> str:
        return f"{self.op} {self.count:g}"


@dataclass(frozen=True)
class Emission:
    """When a (rule, group) whose window satisfies its condition emits a result.

    mode `reset` (default): a result consumes its window; the next result of the group is made
    of later signals only. mode `every`: the window slides on; every later evaluation (at each
    new signal time) that still holds may emit again, its evidence overlapping the previous one.
    suppress_ms: after a result, evaluations up to (result time + suppress_ms) emit nothing
    (signals keep accumulating); None means the rule's timespan, 0 disables suppression.
    """

    mode: str = EMIT_RESET
    suppress_ms: int | None = None

    def suppress_for(self, timespan_ms: int) -> int:
        """The suppression period in ms for a rule of `timespan_ms`."""
        return timespan_ms if self.suppress_ms is None else self.suppress_ms


# Extended conditions: ("rule", position) | ("not", Expr) | ("and", (Expr, ...)) | ("or", (...))
Expr = Union[tuple]


def evaluate_expr(expr: Expr, truth: list[bool]) -> bool:
    """An extended condition over the truth value of each source position."""
    kind = expr[0]
    if kind == "rule":
        return truth[expr[1]]
    if kind == "not":
        return not evaluate_expr(expr[1], truth)
    if kind == "and":
        return all(evaluate_expr(e, truth) for e in expr[1])
    return any(evaluate_expr(e, truth) for e in expr[1])


@dataclass(frozen=True)
class Source:
    """One rule a correlation refers to (in `rules:` order), and what it reads on its signals.

    fields: per group-by name of the correlation, the signal field holding it on this source
    (the alias mapping applied). value_fields: the field(s) of the value_* condition, likewise.
    """

    rule_id: str
    name: str | None
    title: str
    kind: str  # "sigma" | "correlation" | "builtin"
    fields: tuple[str, ...]
    value_fields: tuple[str, ...] = ()
    level: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class CorrelationRule:
    """A loaded, resolved Sigma correlation rule."""

    id: str
    name: str | None
    title: str
    type: str
    timespan_ms: int
    group_by: tuple[str, ...]
    sources: tuple[Source, ...]
    condition: Condition | None  # None when `expression` is given
    expression: Expr | None = None
    generate: bool = False
    level: str | None = None  # the correlation's own level, else the highest of its sources
    status: str | None = None
    author: str | None = None
    description: str | None = None
    references: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    emission: Emission | None = None  # None: the run's default (CorrelationSet.emission)
    chain_level: int = 1  # 1 + the highest chain level among correlation sources
    building_block: bool = False  # referenced only by correlations with generate: false
    path: str = ""

    @property
    def ref(self) -> str:
        """How messages name the rule: its `name:` or else its title."""
        return self.name or self.title

    def position_of(self, rule_id: str) -> tuple[int, ...]:
        """Positions of the sources with this rule id (several only for count/value types)."""
        return tuple(k for k, s in enumerate(self.sources) if s.rule_id == rule_id)


@dataclass
class CorrelationSet:
    """Every loaded correlation rule (by chain level, then id), the skipped ones, the ids of base
    rules whose signals are building blocks, and the run's default emission policy."""

    rules: list[CorrelationRule] = field(default_factory=list)
    skipped: list[Any] = field(default_factory=list)  # detection.engine.SkippedRule
    building_blocks: frozenset[str] = frozenset()
    emission: Emission = field(default_factory=Emission)

    @property
    def levels(self) -> int:
        """The number of chain levels (0 without rules)."""
        return max((r.chain_level for r in self.rules), default=0)

    def at_level(self, level: int) -> list[CorrelationRule]:
        """The rules of one chain level."""
        return [r for r in self.rules if r.chain_level == level]

    def by_id(self) -> dict[str, CorrelationRule]:
        return {r.id: r for r in self.rules}

    def emission_of(self, rule: CorrelationRule) -> Emission:
        """The rule's own emission policy, else the run's default."""
        return rule.emission or self.emission

    def with_emission(self, emission: Emission) -> "CorrelationSet":
        """The same set with another run default (rules that set their own keep theirs)."""
        return CorrelationSet(self.rules, self.skipped, self.building_blocks, emission)
