"""The detection engine: compiled rules x an Arrow batch of events -> matches and signals.

In: a RuleSet (loader.load_rules; picklable, no pySigma objects inside, cheap to ship to Beam
workers) and an event table (flat dotted ECS columns; any subset of them, missing columns read
as null). Out: `detect()` -> the signal table (signals.py); `match_rule()` -> the matching row
indices of one rule.

Each rule only sees the rows whose event.dataset its log source routes to (rows without a
dataset match no rule). Work is shared across rules: see matchers.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.detection.matchers import Batch, Mask, Node, evaluate, fields_of, needles_of
from pipelines.detection.signals import build_signals


@dataclass(frozen=True)
class CompiledRule:
    """A Sigma rule ready to evaluate: its metadata, routes and compiled condition."""

    id: str
    title: str
    level: str | None
    status: str | None
    author: str | None
    description: str | None
    references: tuple[str, ...]
    tags: tuple[str, ...]
    datasets: tuple[str, ...]  # event.dataset values or families (mail), in pipeline order
    condition: Node
    path: str
    name: str | None = None  # Sigma `name:`: the stable reference correlation rules use
    building_block: bool = False  # referenced only by correlations with generate: false

    @property
    def fields(self) -> tuple[str, ...]:
        """Event fields the condition reads."""
        return fields_of(self.condition)


@dataclass(frozen=True)
class SkippedRule:
    """A rule file (or a rule inside it) that was not loaded, and why."""

    path: Path
    reason: str
    title: str | None = None
    deferred: bool = False  # not an error: a later stage handles it (correlation rules)

    def __str__(self) -> str:
        rule = f" (rule {self.title!r})" if self.title else ""
        return f"{self.path}{rule}: {self.reason}"


@dataclass
class RuleSet:
    """Loaded rules and the rules that were skipped with their reasons."""

    rules: list[CompiledRule] = field(default_factory=list)
    skipped: list[SkippedRule] = field(default_factory=list)


def accepts(entries: tuple[str, ...], dataset: str) -> bool:
    """True when `dataset` (mail.postfix) is one of the route entries or in one of their families."""
    return any(dataset == entry or dataset.startswith(entry + ".") for entry in entries)


def _dataset_codes(events: pa.Table) -> tuple[list[str], np.ndarray]:
    """Distinct event.dataset values, and per row the position of its value (len for null)."""
    if "event.dataset" not in events.column_names or events.num_rows == 0:
        return [], np.zeros(events.num_rows, dtype=np.int64)
    encoded = pc.dictionary_encode(events.column("event.dataset").combine_chunks())
    names = encoded.dictionary.to_pylist()
    return names, np.asarray(encoded.indices.fill_null(len(names)), dtype=np.int64)


def _route_mask(rule: CompiledRule, names: list[str], codes: np.ndarray,
                present: np.ndarray) -> Mask | None | bool:
    """Rows the rule may look at: None for every row, False for none, else a mask.
    `present`: the distinct codes of the rows."""
    allowed = np.array([accepts(rule.datasets, name) for name in names] + [False], dtype=bool)
    if not allowed[present].any():
        return False
    if allowed[present].all():
        return None
    return allowed[codes]


def rule_hits(rules: list[CompiledRule], events: pa.Table) -> Iterator[tuple[CompiledRule, np.ndarray]]:
    """(rule, matching row indices) for every rule routed to some row of `events`."""
    names, codes = _dataset_codes(events)
    present = np.flatnonzero(np.bincount(codes, minlength=len(names) + 1))
    routed = [(rule, mask) for rule in rules
              if (mask := _route_mask(rule, names, codes, present)) is not False]
    batch = Batch(events, needles_of([rule.condition for rule, _ in routed]))
    for rule, mask in routed:
        matched = evaluate(rule.condition, batch, mask)
        yield rule, np.flatnonzero(matched if mask is None else matched & mask)


def match_rule(rule: CompiledRule, events: pa.Table) -> np.ndarray:
    """Row indices (int64, ascending) of the events the rule matches."""
    for _, rows in rule_hits([rule], events):
        return rows
    return np.zeros(0, dtype=np.int64)


def detect(ruleset: RuleSet, events: pa.Table) -> pa.Table:
    """The signals of every rule of `ruleset` on `events` (rule order, then row order)."""
    return build_signals(events, list(rule_hits(ruleset.rules, events)))
