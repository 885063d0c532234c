"""CorrelateSignals (pipelines/transforms/correlate.py) on the batch runner (FnApiRunner) and on
a streaming runner (TestStream on BundleBasedDirectRunner): the same results, ids and content
included, as the pure engine, in several arrival orders within the allowed lateness; chained
levels; a late signal goes to the late output and the late_signals counter."""
from __future__ import annotations

import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window

from correlation_support import rule, rules_set, sig
from pipelines.correlation.engine import correlate
from pipelines.correlation.model import Emission
from pipelines.summary import RunCounts
from pipelines.transforms.correlate import LATE, RESULTS, CorrelateSignals, CountLateFn

T0 = 1_795_800_000_000  # 2026-11-27, ms
U = "user.name"
LATENESS_S = 30
BATCH = ["--runner=FnApiRunner"]
STREAM = ["--runner=BundleBasedDirectRunner", "--streaming"]


def chained_rules():
    many = rule("event_count", ["fail"], count=3, rule_id="many", name="many",
                emission=Emission("reset", 0), timespan_ms=10_000)
    seq = rule("temporal_ordered", ["many", "ok"], count=2, rule_id="seq", name="seq",
               chain_level=2, source_kinds={"many": "correlation"}, timespan_ms=60_000,
               level="high")
    mails = rule("value_count", ["mail"], group_by=("email.from.address",),
                 value_field="email.to.address", count=3, rule_id="fanout", name="fanout",
                 timespan_ms=20_000)
    return rules_set(many, seq, mails)


def timeline() -> list[dict]:
    out = []
    for t, user in [(0, "bob"), (1_000, "bob"), (2_000, "bob"), (2_500, "al"), (5_000, "bob"),
                    (6_000, "bob"), (7_000, "bob"), (40_000, "al"), (41_000, "al"),
                    (59_000, "al")]:
        out.append(sig("fail", T0 + t, **{U: user, "source.ip": "203.0.113.9"}))
    out += [sig("ok", T0 + 8_000, **{U: "bob"}), sig("ok", T0 + 59_000, **{U: "al"}),
            sig("ok", T0 + 3_000, **{U: "carl"})]
    for k, t in enumerate([10_000, 12_000, 15_000, 29_000]):
        out.append(sig("mail", T0 + t, **{"email.from.address": ["x@chu.fr"],
                                          "email.to.address": [f"r{k}@ext.com", f"r{k + 1}@ext.com"]}))
    return out


def vigie_counters(result) -> dict[str, int]:
    """The correlation counters of a finished pipeline (pipelines/summary.py), summed over steps."""
    correlation = RunCounts.from_metrics(result).correlation
    counters = {"late_signals": correlation.get("late_signals", 0),
                "correlation_results": correlation.get("results", 0)}
    counters.update({f"correlation_results.{key.split('/', 1)[1]}": n
                     for key, n in correlation.items() if key.startswith("results/")})
    return counters


def stamped(s: dict) -> window.TimestampedValue:
    return window.TimestampedValue(s, s["@timestamp"] / 1000)


def run_batch(correlations, signals):
    pipeline = beam.Pipeline(options=PipelineOptions(BATCH))
    outputs = (pipeline | beam.Create(signals) | "Stamp" >> beam.Map(stamped)
               | CorrelateSignals(correlations))
    return pipeline, outputs


def test_batch_matches_the_engine_ids_and_content():
    correlations, signals = chained_rules(), timeline()
    expected = correlate(correlations, signals)
    assert {r["rule.id"] for r in expected} == {"many", "seq", "fanout"}
    shuffled = signals[:]
    random.Random(3).shuffle(shuffled)
    pipeline, outputs = run_batch(correlations, shuffled)
    assert_that(outputs[RESULTS], equal_to(expected), label="Results")
    assert_that(outputs[LATE], equal_to([]), label="NoLate")
    result = pipeline.run()
    result.wait_until_finish()
    counters = vigie_counters(result)
    assert counters["correlation_results"] == len(expected)
    assert counters["correlation_results.seq"] == 1


def stream_of(signals, late=(), watermarks=None) -> test_stream.TestStream:
    """Signals in the given order, the watermark kept `LATENESS_S` behind the latest time seen
    (so every signal is within the allowed lateness); then the `late` ones once the watermark
    has passed them."""
    stream = test_stream.TestStream()
    latest, watermark = T0, None
    for s in signals:
        stream.add_elements([stamped(s)])
        latest = max(latest, s["@timestamp"])
        if watermark is None or latest - LATENESS_S * 1000 > watermark:
            watermark = latest - LATENESS_S * 1000
            stream.advance_watermark_to(watermark / 1000)
    stream.advance_watermark_to((latest + LATENESS_S * 1000 + 5_000) / 1000)
    if late:
        stream.add_elements([stamped(s) for s in late])
    # Past every timer first (assert_that misses output of timers fired only at infinity).
    stream.advance_watermark_to((latest + 48 * 3_600_000) / 1000)
    return stream.advance_watermark_to_infinity()


def run_stream(correlations, stream):
    pipeline = beam.Pipeline(options=PipelineOptions(STREAM))
    outputs = pipeline | stream | CorrelateSignals(correlations, allowed_lateness_s=LATENESS_S)
    return pipeline, outputs


def disorder(signals: list[dict], seed: int) -> list[dict]:
    """An arrival order where each signal is at most LATENESS_S / 2 behind the latest one."""
    rnd = random.Random(seed)
    return sorted(signals, key=lambda s: s["@timestamp"] + rnd.uniform(0, LATENESS_S * 500))


@pytest.mark.parametrize("order", ["time", "reversed_chunks", "seed1", "seed2"])
def test_streaming_in_several_arrival_orders_matches_batch(order):
    correlations, signals = chained_rules(), timeline()
    expected = correlate(correlations, signals)
    if order == "time":
        arrival = sorted(signals, key=lambda s: s["@timestamp"])
    elif order == "reversed_chunks":  # within each 20 s the latest first
        arrival = sorted(signals, key=lambda s: (s["@timestamp"] // 20_000, -s["@timestamp"]))
    else:
        arrival = disorder(signals, int(order[-1]))
    pipeline, outputs = run_stream(correlations, stream_of(arrival))
    assert_that(outputs[RESULTS], equal_to(expected), label="Results")
    assert_that(outputs[LATE], equal_to([]), label="NoLate")
    pipeline.run().wait_until_finish()


def test_a_signal_later_than_the_allowed_lateness_goes_to_the_late_output():
    correlations, signals = chained_rules(), timeline()
    expected = correlate(correlations, signals)
    straggler = sig("fail", T0 + 6_500, sid="straggler", **{U: "bob"})
    pipeline, outputs = run_stream(correlations, stream_of(sorted(signals, key=lambda s: s["@timestamp"]),
                                                           late=[straggler]))
    assert_that(outputs[RESULTS], equal_to(expected), label="Results")
    assert_that(outputs[LATE] | beam.Map(lambda r: (r["signal.id"], r["vigie.late.correlation_id"],
                                                    r["vigie.late.group_by.values"])),
                equal_to([("straggler", "many", ["bob"])]), label="Late")
    pipeline.run().wait_until_finish()


def test_late_signals_are_counted():
    # The BundleBasedDirectRunner loses counters in streaming mode (it reports one bundle's);
    # the counting step is stateless and is checked here on the batch runner.
    pipeline = beam.Pipeline(options=PipelineOptions(BATCH))
    late = pipeline | beam.Create([{"signal.id": "a"}, {"signal.id": "b"}]) | beam.ParDo(CountLateFn())
    assert_that(late, equal_to([{"signal.id": "a"}, {"signal.id": "b"}]))
    result = pipeline.run()
    result.wait_until_finish()
    assert vigie_counters(result)["late_signals"] == 2


def test_no_rules_means_no_output():
    pipeline, outputs = run_batch(rules_set(), timeline())
    assert_that(outputs[RESULTS], equal_to([]), label="Results")
    pipeline.run().wait_until_finish()
