"""CorrelateSignals: the Beam shell of pipelines/correlation/ (Sigma correlation rules).

In: a PCollection of signal rows as dicts (keys = schemas/signals.yml names; base signals,
built-in detections), each element timestamped with its event time (`@timestamp`). Out: a dict
of two PCollections:
- "results": correlation result rows (same dict form, pipelines/correlation/results.py),
  timestamped at their event time (the completing signal's);
- "late": signals that reached a (rule, group) after it had been judged past their time
  (results.late_record: the compact signal plus vigie.late.*), counted in the Beam counter
  vigie/late_signals (one per signal and correlation group it missed), never dropped silently.
Counters: vigie/correlation_results and vigie/correlation_results.<rule name>.

Wiring: RouteSignals (signal -> (shard, (rule index, group key, Hit)) for each window it
enters; shards: pipelines/correlation/sharding.py) | CorrelateShards (a stateful DoFn keyed by
shard: pending hits in a bag, the shard's windows in a value state, an event-time timer). The
timer judges the pending hits in event-time order, chain level by chain level at each time,
with the same code as the pure engine (engine.judge_time), so the results are those of
CorrelationEngine whatever the arrival order. A chain is judged inside one shard, so no level
ever waits on another stage's watermark (a runner without watermark holds for timers, such as
the BundleBasedDirectRunner, cannot make a result of level 1 arrive late at level 2).

- Streaming: the hits of event time t are judged when the watermark passes t + allowed
  lateness. A hit for a time its shard already judged goes to "late". An idle shard's windows
  are dropped once their timespan and suppression have passed; a tombstone (the last judged
  time) stays `tombstone_hours` longer so that very late hits are still recognised as late.
- Batch (`streaming` false, the default unless the pipeline runs with --streaming): the hits
  are grouped by shard (GroupByKey; in batch every element of a key is there, in any order)
  and JudgeShard judges them in event-time order with the same engine code. The stateful
  DoFn also works in batch (one timer per key at the end), but the FnApiRunner fires one
  timer per key with a large fixed cost (~100 signals per CPU-second measured), hence this path.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.transforms import window
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (BagStateSpec, ReadModifyWriteStateSpec,
                                              TimerSpec, on_timer)
from apache_beam.utils.timestamp import Timestamp

from pipelines.correlation.engine import judge_time
from pipelines.correlation.model import CorrelationRule, CorrelationSet, Emission
from pipelines.correlation.results import compact_signal, late_record, rule_metadata
from pipelines.correlation.routing import Router, timestamp_ms
from pipelines.correlation.sharding import Sharding
from pipelines.correlation.window import GroupState
from pipelines.summary import count

# (shard key, (rule index, group key, Hit)): a typed key so that Beam picks a deterministic coder.
SHARDED = beam.typehints.Tuple[beam.typehints.Tuple[str, beam.typehints.Tuple[str, ...]],
                               beam.typehints.Any]
RESULTS = "results"
LATE = "late"
DEFAULT_TOMBSTONE_HOURS = 24.0
# Batch: the one timer of a key fires here, after every element.
BATCH_END_MS = window.GlobalWindow().max_timestamp().micros // 1000 - 60_000


def _ts(ms: int) -> Timestamp:
    return Timestamp(micros=ms * 1000)


def _ms(ts: Timestamp) -> int:
    return ts.micros // 1000


class RouteSignalsFn(beam.DoFn):
    """signal -> (shard, (rule index, group key, Hit)) for each window it enters."""

    def __init__(self, rules: list[CorrelationRule]):
        self.rules = rules

    def setup(self):
        self.router = Router(self.rules)
        self.sharding = Sharding(self.rules)

    def process(self, signal: dict):
        if not self.router.wants(signal.get("rule.id")):
            return
        t = timestamp_ms(signal["@timestamp"])
        compact = None
        for k, key, hit in self.router.route(signal, t):
            compact = compact or compact_signal(signal)
            hit.signal = compact
            yield self.sharding.shard(k, key), (k, key, hit)


class Shard:
    """What a shard keeps between timers: its windows and the last event time judged."""

    __slots__ = ("groups", "done_until")

    def __init__(self):
        self.groups: dict[tuple[int, tuple], GroupState] = {}
        self.done_until: int | None = None

    def __getstate__(self):
        return (self.groups, self.done_until)

    def __setstate__(self, state):
        self.groups, self.done_until = state


class CorrelateShardsFn(beam.DoFn):
    """The windows of one shard (see the module docstring)."""

    PENDING = BagStateSpec("pending", PickleCoder())
    SHARD = ReadModifyWriteStateSpec("shard", PickleCoder())  # Shard, or int tombstone
    FLUSH_AT = ReadModifyWriteStateSpec("flush_at", PickleCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)
    EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)

    def __init__(self, correlations: CorrelationSet, emission: Emission, delay_ms: int,
                 streaming: bool, tombstone_ms: int):
        self.rules = correlations.rules
        self.emissions = [rule.emission or emission for rule in self.rules]
        self.delay_ms = delay_ms
        self.streaming = streaming
        self.tombstone_ms = tombstone_ms

    def setup(self):
        self.router = Router(self.rules)
        self.metadata = [rule_metadata(rule) for rule in self.rules]

    def process(self, element, pending=beam.DoFn.StateParam(PENDING),
                shard=beam.DoFn.StateParam(SHARD), flush_at=beam.DoFn.StateParam(FLUSH_AT),
                flush=beam.DoFn.TimerParam(FLUSH)):
        _, (k, key, hit) = element
        state = shard.read()
        done = state if isinstance(state, int) else (state.done_until if state else None)
        if done is not None and hit.time <= done:
            record = late_record(self.rules[k], key, hit.signal, done)
            yield beam.pvalue.TaggedOutput(LATE, window.TimestampedValue(record, hit.time / 1000))
            return
        pending.add((k, key, hit))
        target = hit.time + self.delay_ms if self.streaming else BATCH_END_MS
        current = flush_at.read()
        if current is None or target < current:
            flush.set(_ts(target))
            flush_at.write(target)

    @on_timer(FLUSH)
    def on_flush(self, fired=beam.DoFn.TimestampParam, pending=beam.DoFn.StateParam(PENDING),
                 shard=beam.DoFn.StateParam(SHARD), flush_at=beam.DoFn.StateParam(FLUSH_AT),
                 flush=beam.DoFn.TimerParam(FLUSH), expire=beam.DoFn.TimerParam(EXPIRE)):
        limit = _ms(fired) - self.delay_ms if self.streaming else math.inf
        ready, rest = [], []
        for item in pending.read():
            (ready if item[2].time <= limit else rest).append(item)
        pending.clear()
        for item in rest:
            pending.add(item)
        state = shard.read()
        if not isinstance(state, Shard):
            tombstone, state = state, Shard()
            state.done_until = tombstone
        ready.sort(key=lambda item: item[2].time)
        results: list[dict] = []
        last = judge_in_time_order(self, state.groups, ready, results)
        if last is not None:
            state.done_until = last
        for row in results:
            yield window.TimestampedValue(row, timestamp_ms(row["@timestamp"]) / 1000)
        shard.write(state)
        if rest:
            target = min(item[2].time for item in rest) + self.delay_ms
            flush.set(_ts(target))
            flush_at.write(target)
        else:
            flush_at.clear()
        if self.streaming and state.done_until is not None:
            expire.set(_ts(self._expiry(state) + self.delay_ms + 1))

    def _expiry(self, state: Shard) -> int:
        """The event time after which none of the shard's windows matters any more."""
        ends = [state.done_until]
        for (k, _), group in state.groups.items():
            end = group.expires_at(self.rules[k])
            if end is not None:
                ends.append(end)
        return max(ends)

    @on_timer(EXPIRE)
    def on_expire(self, fired=beam.DoFn.TimestampParam, shard=beam.DoFn.StateParam(SHARD),
                  flush_at=beam.DoFn.StateParam(FLUSH_AT), expire=beam.DoFn.TimerParam(EXPIRE)):
        if flush_at.read() is not None:
            return  # hits are pending: the flush re-arms this timer
        settled = _ms(fired) - self.delay_ms  # every event time up to here is judged
        state = shard.read()
        if isinstance(state, Shard):
            for (k, key), group in list(state.groups.items()):
                rule = self.rules[k]
                group.evict_before(settled - rule.timespan_ms)
                end = group.expires_at(rule)
                if end is None or end < settled:
                    del state.groups[(k, key)]
            if state.groups:
                shard.write(state)
                expire.set(_ts(self._expiry(state) + self.delay_ms + 1))
                return
            state = state.done_until
            shard.write(state)  # tombstone: the last judged time
        if state is not None and settled <= state + self.tombstone_ms:
            expire.set(_ts(state + self.tombstone_ms + self.delay_ms + 1))
            return
        shard.clear()


class JudgeShardFn(beam.DoFn):
    """Batch: (shard, every hit of it) after a GroupByKey -> result rows, judged in event-time
    order with the engine's code (no state, no timers: the FnApiRunner fires one timer per key
    slowly)."""

    def __init__(self, correlations: CorrelationSet, emission: Emission):
        self.rules = correlations.rules
        self.emissions = [rule.emission or emission for rule in self.rules]

    def setup(self):
        self.router = Router(self.rules)
        self.metadata = [rule_metadata(rule) for rule in self.rules]

    def process(self, element):
        _, items = element
        items = sorted(items, key=lambda item: item[2].time)
        results: list[dict] = []
        judge_in_time_order(self, {}, items, results)
        for row in results:
            yield window.TimestampedValue(row, timestamp_ms(row["@timestamp"]) / 1000)


def judge_in_time_order(fn: Any, groups: dict, items: list, results: list[dict]) -> int | None:
    """Routed signals sorted by time -> judged by `fn`'s rules one event time after the other
    (the signals of one time together), results appended to `results`; the last time judged,
    None when there was none."""
    last = None
    for t, same_time in itertools.groupby(items, key=lambda item: item[2].time):
        judge_time(fn.rules, fn.emissions, fn.router, groups, t, list(same_time), results, fn.metadata)
        last = t
    return last


class CountResultsFn(beam.DoFn):
    """Counts correlation results (in total and per rule, pipelines/summary.py section
    "correlation") and passes them on. Counting sits in a stateless step: some runners (the
    BundleBasedDirectRunner) drop the counters of stateful steps and timers."""

    def __init__(self, rules: list[CorrelationRule]):
        self.names = {r.id: r.ref for r in rules}

    def process(self, row: dict):
        count("correlation", "results")
        count("correlation", "results", self.names[row["rule.id"]])
        yield row


class CountLateFn(beam.DoFn):
    """Counts late signals (section "correlation", late_signals) and passes them on."""

    def process(self, record: dict):
        count("correlation", "late_signals")
        yield record


class CorrelateSignals(beam.PTransform):
    """Signal dicts (timestamped at event time) -> {"results": result rows, "late": late
    signals} (see the module docstring)."""

    def __init__(self, correlations: CorrelationSet, allowed_lateness_s: float = 0.0,
                 streaming: bool | None = None, emission: Emission | None = None,
                 tombstone_hours: float = DEFAULT_TOMBSTONE_HOURS):
        super().__init__()
        self.correlations = correlations
        self.allowed_lateness_ms = int(round(allowed_lateness_s * 1000))
        self.streaming = streaming
        self.emission = emission or correlations.emission
        self.tombstone_ms = int(tombstone_hours * 3_600_000)

    def expand(self, signals) -> dict[str, Any]:
        streaming = self.streaming
        if streaming is None:
            streaming = bool(signals.pipeline.options.view_as(StandardOptions).streaming)
        if not self.correlations.rules:
            nothing = signals | "NoCorrelationRules" >> beam.Filter(lambda _: False)
            return {RESULTS: nothing, LATE: nothing}
        routed = (signals
                  | "RouteSignals" >> beam.ParDo(RouteSignalsFn(self.correlations.rules))
                  .with_output_types(SHARDED))
        if streaming:
            outputs = routed | "CorrelateShards" >> beam.ParDo(CorrelateShardsFn(
                self.correlations, self.emission, self.allowed_lateness_ms, True,
                self.tombstone_ms)).with_outputs(LATE, main=RESULTS)
            results, late = outputs[RESULTS], outputs[LATE]
        else:
            results = (routed
                       | "ToGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
                       | "GroupShards" >> beam.GroupByKey()
                       | "JudgeShards" >> beam.ParDo(JudgeShardFn(self.correlations,
                                                                  self.emission)))
            late = signals | "NothingLateInBatch" >> beam.Filter(lambda _: False)
        return {
            RESULTS: results | "CountResults" >> beam.ParDo(
                CountResultsFn(self.correlations.rules)),
            LATE: late | "CountLate" >> beam.ParDo(CountLateFn()),
        }
