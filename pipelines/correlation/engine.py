"""The correlation engine without Beam: signals in, correlation results out, in event time.

In: a CorrelationSet (loader.py) and signal rows (dicts, keys = schemas/signals.yml names),
fed with `advance(signals, watermark)`. Out: `Step(results, late)`: the result rows
(results.py) of every window that completed at or before the watermark, sorted by
(@timestamp, signal.id), and the signals that came too late.

- `advance` buffers the signals, then processes every buffered signal with event time <=
  watermark in event-time order (whatever order they were given in), chain level by chain
  level within one event time, so a result at time t feeds the rules above it at time t.
- A signal whose time is <= a watermark already passed is late: it is returned in
  `Step.late`, never used (the windows it belonged to were already judged).
- State: per (rule, group) only the hits inside its window (window.py); groups whose window
  emptied and whose suppression ended are dropped as the watermark moves on. Memory is bounded
  by the signals of one timespan and the live groups, not by the length of the input.
The Beam transform (pipelines/transforms/correlate.py) runs the same window code per key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from pipelines.correlation.model import CorrelationRule, CorrelationSet, Emission
from pipelines.correlation.results import result_row, rule_metadata
from pipelines.correlation.routing import Hit, Router, timestamp_ms
from pipelines.correlation.window import GroupState

MIN_SWEEP_MS = 1000


@dataclass
class Step:
    """What one `advance` produced."""

    results: list[dict] = field(default_factory=list)
    late: list[dict] = field(default_factory=list)


def sort_results(rows: list[dict]) -> list[dict]:
    """Results in a stable order: event time, then id."""
    return sorted(rows, key=lambda r: (timestamp_ms(r["@timestamp"]), r["signal.id"]))


class CorrelationEngine:
    """Every correlation rule of a set, over a stream of signals (see the module docstring)."""

    def __init__(self, correlations: CorrelationSet):
        self.correlations = correlations
        self.rules = correlations.rules
        self.router = Router(self.rules)
        self.emissions = [correlations.emission_of(r) for r in self.rules]
        self.metadata = [rule_metadata(r) for r in self.rules]
        self.levels = correlations.levels
        self.states: dict[tuple[int, tuple], GroupState] = {}
        self.pending: list[tuple[int, dict]] = []
        self.watermark: int | None = None
        self._sweep_every = max(MIN_SWEEP_MS, min((r.timespan_ms for r in self.rules),
                                                  default=MIN_SWEEP_MS))
        self._last_sweep: int | None = None

    @property
    def live_groups(self) -> int:
        """Number of (rule, group) states held."""
        return len(self.states)

    def advance(self, signals: Iterable[dict], watermark: Any) -> Step:
        """Take `signals` (any order), then judge every window ending at or before
        `watermark` (an event time: datetime, int ms or ISO string; math.inf for the end)."""
        wm = math.inf if watermark == math.inf else timestamp_ms(watermark)
        step = Step()
        for signal in signals:
            if not self.router.wants(signal.get("rule.id")):
                continue
            t = timestamp_ms(signal["@timestamp"])
            if self.watermark is not None and t <= self.watermark:
                step.late.append(signal)
            else:
                self.pending.append((t, signal))
        if self.watermark is not None and wm < self.watermark:
            wm = self.watermark  # a watermark never goes back
        ready = [p for p in self.pending if p[0] <= wm]
        if len(ready) == len(self.pending):
            self.pending = []
        else:
            self.pending = [p for p in self.pending if p[0] > wm]
        step.results = sort_results(self._process(ready))
        self.watermark = wm
        self._maybe_sweep(wm)
        return step

    def flush(self) -> Step:
        """Judge everything still pending (end of input)."""
        return self.advance([], math.inf)

    def run(self, signals: Iterable[dict]) -> list[dict]:
        """Every result over a finite set of signals (any order)."""
        return self.advance(signals, math.inf).results

    # --- processing ---------------------------------------------------------------------
    def _process(self, ready: list[tuple[int, dict]]) -> list[dict]:
        routed = []
        route = self.router.route
        for t, signal in ready:
            for k, key, hit in route(signal, t):
                routed.append((t, k, key, hit))
        routed.sort(key=lambda item: item[0])
        results: list[dict] = []
        i, n = 0, len(routed)
        while i < n:
            t = routed[i][0]
            j = i + 1
            while j < n and routed[j][0] == t:
                j += 1
            self._process_time(t, routed[i:j], results)
            i = j
        return results

    def _process_time(self, t: int, items: list, results: list[dict]) -> None:
        judge_time(self.rules, self.emissions, self.router, self.states, t,
                   [(k, key, hit) for _, k, key, hit in items], results, self.metadata)

    def _maybe_sweep(self, wm: float) -> None:
        """Drop the states that can no longer change a result (at most once per sweep step)."""
        if wm == math.inf:
            self.states.clear()
            return
        if self._last_sweep is not None and wm - self._last_sweep < self._sweep_every:
            return
        self._last_sweep = wm
        rules = self.rules
        expired = []
        for (k, key), state in self.states.items():
            # A live group keeps only its last window (evicted at each step): no eviction here.
            end = state.expires_at(rules[k])
            if end is None or end < wm:
                expired.append((k, key))
        for item in expired:
            del self.states[item]


def judge_time(rules: list[CorrelationRule], emissions: list[Emission], router: Router,
               states: dict[tuple[int, tuple], GroupState], t: int,
               items: list[tuple[int, tuple, Hit]], results: list[dict],
               metadata: list[dict] | None = None) -> None:
    """Judge every window that receives hits at event time t, chain level by chain level;
    a result enters the windows of the levels above at the same time t. `items`: (rule index,
    group key, Hit); `states` is updated in place; result rows are appended to `results`;
    `metadata`: rule_metadata of each rule, when the caller keeps it."""
    if all(rules[k].chain_level == 1 for k, _, _ in items) and not any(
            router.wants(rules[k].id) for k, _, _ in items):
        # Fast path: no chaining at this time; each (rule, group) usually gets one hit.
        groups: dict[tuple[int, tuple], list] = {}
        for k, key, hit in items:
            found = groups.get((k, key))
            if found is None:
                groups[(k, key)] = [hit]
            else:
                found.append(hit)
        for (k, key), hits in groups.items():
            rule = rules[k]
            state = states.get((k, key))
            if state is None:
                state = states[(k, key)] = GroupState(rule)
            fired = state.step(rule, emissions[k], t, hits)
            if fired is not None:
                results.append(result_row(rule, key, fired, metadata[k] if metadata else None))
        return
    by_level = {}
    for k, key, hit in items:
        by_level.setdefault(rules[k].chain_level, {}).setdefault((k, key), []).append(hit)
    while by_level:
        level = min(by_level)
        for (k, key), hits in by_level.pop(level).items():
            rule = rules[k]
            state = states.get((k, key))
            if state is None:
                state = states[(k, key)] = GroupState(rule)
            fired = state.step(rule, emissions[k], t, hits)
            if fired is None:
                continue
            row = result_row(rule, key, fired, metadata[k] if metadata else None)
            results.append(row)
            for k2, key2, hit2 in router.route(row, t):
                by_level.setdefault(rules[k2].chain_level, {}).setdefault(
                    (k2, key2), []).append(hit2)


def correlate(correlations: CorrelationSet, signals: Iterable[dict]) -> list[dict]:
    """Every correlation result over a finite set of signals (any order), sorted."""
    return CorrelationEngine(correlations).run(signals)
