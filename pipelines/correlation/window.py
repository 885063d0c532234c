"""The sliding window of one (correlation rule, group): the heart of the semantics, pure.

In: the hits of one group at one event time (all of them, any order), fed in increasing event
time. Out: a `Fired` (value, evidence, completing hit) when the window satisfies the rule's
condition and the emission policy lets it emit, else None.

Semantics (docs/correlation.md):
- The window evaluated at event time t holds the group's hits with t - timespan <= time <= t
  (both ends included: two hits exactly `timespan` apart are together; one ms more and they
  are not). It is evaluated once per distinct hit time, after every hit of that time entered.
  Windows slide with the hits: no clock buckets.
- event_count: number of signals. value_count: number of distinct values of `field`.
  value_sum / value_avg: sum / mean of the values. value_percentile: the `percentile`-th
  percentile with linear interpolation between closest ranks; value_median: the 50th.
  temporal: number of distinct source rules present. temporal_ordered: length of the longest
  chain of hits whose rules follow the `rules:` order with non-decreasing times (equal times
  count as in order: the clock cannot tell them apart).
- Extended conditions (temporal types): each source rule is true when present in the window;
  for temporal_ordered, when present at or after the hits of the true rules listed before it
  (walking `rules:` in order, each true rule advancing a cursor to its earliest such hit). A
  `not b` therefore means "no b in the window ending here" (temporal) or "no b after the rules
  before it" (temporal_ordered): absence is judged on the window that ends at the hit.
- Emission (model.Emission): `reset` empties the window after a result, `every` keeps it;
  for `suppress` after a result the group emits nothing (hits still enter the window).
State: only the hits inside the window (evicted as time moves on) and a few counters.
"""
from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

from pipelines.correlation.model import (EMIT_RESET, EVENT_COUNT, TEMPORAL, TEMPORAL_ORDERED,
                                         VALUE_AVG, VALUE_COUNT, VALUE_MEDIAN, VALUE_PERCENTILE,
                                         VALUE_SUM, CorrelationRule, Emission, evaluate_expr)
from pipelines.correlation.routing import Hit

NEG_INF = -math.inf


@dataclass
class Fired:
    """A window that emits: its value, its hits in order, the hit that completed it."""

    time: int
    value: float
    evidence: list[Hit]
    completing: Hit


def percentile(ordered: list, p: float) -> float:
    """The p-th percentile (0-100) of sorted values, linear between closest ranks: rank
    (n - 1) * p / 100, computed exactly for integral p (one rounding at the end)."""
    n = len(ordered)
    if float(p).is_integer():
        low, rest = divmod((n - 1) * int(p), 100)
        high = min(low + 1, n - 1)
        if rest == 0 or ordered[low] == ordered[high]:
            return float(ordered[low])
        return (ordered[low] * 100 + (ordered[high] - ordered[low]) * rest) / 100
    rank = (n - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, n - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def longest_ordered_chain(times: list) -> int:
    """Longest chain of positions p1 < p2 < ... with times t1 <= t2 <= ... picked from
    `times[p]` (each sorted ascending)."""
    k = len(times)
    best = [NEG_INF] + [math.inf] * k  # best[n]: earliest end of a chain of n positions
    for p, ts in enumerate(times):
        if not ts:
            continue
        for n in range(p + 1, 0, -1):
            previous = best[n - 1]
            if previous == math.inf:
                continue
            i = bisect.bisect_left(ts, previous)
            if i < len(ts) and ts[i] < best[n]:
                best[n] = ts[i]
    return max(n for n in range(k + 1) if best[n] < math.inf)


def ordered_truth(times: list) -> list[bool]:
    """Per position: present at or after the earliest hits of the true positions before it."""
    cursor = NEG_INF
    truth = []
    for ts in times:
        i = bisect.bisect_left(ts, cursor) if ts else 0
        if ts and i < len(ts):
            truth.append(True)
            cursor = ts[i]
        else:
            truth.append(False)
    return truth


class GroupState:
    """Window, aggregate and emission state of one (rule, group). Picklable."""

    __slots__ = ("hits", "distinct", "total", "count", "floats", "ordered", "times",
                 "done_until", "quiet_until")

    def __init__(self, rule: CorrelationRule):
        self.hits: deque[Hit] = deque()
        self.distinct: dict | None = {} if rule.type == VALUE_COUNT else None
        self.total = 0  # value_sum / value_avg: exact while every value is an int
        self.count = 0  # how many values are in the window (numeric types)
        self.floats = 0  # how many non-integral values are in the window
        self.ordered: list | None = [] if rule.type in (VALUE_PERCENTILE, VALUE_MEDIAN) else None
        self.times: list | None = ([deque() for _ in rule.sources]
                                   if rule.type in (TEMPORAL, TEMPORAL_ORDERED) else None)
        self.done_until: int | None = None  # the last event time evaluated
        self.quiet_until: int | None = None  # suppression: no result up to this time

    def __getstate__(self):
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state):
        for name, value in zip(self.__slots__, state):
            setattr(self, name, value)

    # --- window content -------------------------------------------------------------------
    def _add(self, hit: Hit) -> None:
        self.hits.append(hit)
        if self.distinct is not None:
            for v in hit.values:
                self.distinct[v] = self.distinct.get(v, 0) + 1
        elif self.times is not None:
            self.times[hit.pos].append(hit.time)
        elif hit.values:
            self.count += len(hit.values)
            for v in hit.values:
                if isinstance(v, int):
                    self.total += v
                else:
                    self.floats += 1
                if self.ordered is not None:
                    bisect.insort(self.ordered, v)

    def _remove_oldest(self) -> None:
        hit = self.hits.popleft()
        if self.distinct is not None:
            for v in hit.values:
                left = self.distinct[v] - 1
                if left:
                    self.distinct[v] = left
                else:
                    del self.distinct[v]
        elif self.times is not None:
            self.times[hit.pos].popleft()
        elif hit.values:
            self.count -= len(hit.values)
            for v in hit.values:
                if isinstance(v, int):
                    self.total -= v
                else:
                    self.floats -= 1
                if self.ordered is not None:
                    del self.ordered[bisect.bisect_left(self.ordered, v)]

    def _clear(self) -> None:
        self.hits.clear()
        if self.distinct is not None:
            self.distinct.clear()
        if self.times is not None:
            for ts in self.times:
                ts.clear()
        if self.ordered is not None:
            self.ordered.clear()
        self.total = self.floats = self.count = 0

    def evict_before(self, cutoff: int) -> None:
        """Drop the hits older than `cutoff` (ms)."""
        hits = self.hits
        while hits and hits[0].time < cutoff:
            self._remove_oldest()

    # --- evaluation -----------------------------------------------------------------------
    def _values(self) -> list:
        return [v for h in self.hits for v in h.values]

    def _sum(self):
        return math.fsum(self._values()) if self.floats else self.total

    def measure(self, rule: CorrelationRule) -> tuple[bool, float]:
        """(condition holds, aggregated value) for the current window."""
        kind = rule.type
        if kind in (TEMPORAL, TEMPORAL_ORDERED):
            if rule.expression is not None:
                truth = (ordered_truth(self.times) if kind == TEMPORAL_ORDERED
                         else [bool(ts) for ts in self.times])
                return evaluate_expr(rule.expression, truth), float(sum(truth))
            value = (longest_ordered_chain(self.times) if kind == TEMPORAL_ORDERED
                     else sum(1 for ts in self.times if ts))
        elif kind == EVENT_COUNT:
            value = len(self.hits)
        elif kind == VALUE_COUNT:
            value = len(self.distinct)
        elif kind == VALUE_SUM:
            value = self._sum()
        elif kind == VALUE_AVG:
            count = self.count
            value = self._sum() / count if count else math.nan
        else:
            if not self.ordered:
                return False, math.nan
            p = 50.0 if kind == VALUE_MEDIAN else float(rule.condition.percentile)
            value = percentile(self.ordered, p)
        if isinstance(value, float) and math.isnan(value):
            return False, value
        return rule.condition.holds(value), float(value)

    def step(self, rule: CorrelationRule, emission: Emission, time: int,
             hits: list[Hit]) -> Fired | None:
        """Enter every hit of event time `time` (later than any time fed before), evaluate
        the window ending at `time`, apply the emission policy."""
        self.evict_before(time - rule.timespan_ms)
        if len(hits) > 1:
            hits = sorted(hits, key=Hit.order)
        for hit in hits:
            self._add(hit)
        self.done_until = time
        holds, value = self.measure(rule)
        if not holds or (self.quiet_until is not None and time <= self.quiet_until):
            return None
        fired = Fired(time, value, list(self.hits), hits[-1])
        suppress = emission.suppress_for(rule.timespan_ms)
        self.quiet_until = time + suppress if suppress > 0 else None
        if emission.mode == EMIT_RESET:
            self._clear()
        return fired

    def expires_at(self, rule: CorrelationRule) -> int | None:
        """Event time after which this state can no longer change any result (None: now)."""
        ends = []
        if self.hits:
            ends.append(self.hits[-1].time + rule.timespan_ms)
        if self.quiet_until is not None:
            ends.append(self.quiet_until)
        return max(ends) if ends else None
