"""The pure correlation core (pipelines/correlation/), every type, without Beam: window
boundaries, ordering, aliases, fan-out, chaining, extended conditions, emission, lateness,
eviction and result rows."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from correlation_support import brief, rule, rules_set, sig
from pipelines.correlation.engine import CorrelationEngine, correlate
from pipelines.correlation.model import Emission
from pipelines.correlation.routing import timestamp_ms
from pipelines.schema import signal_fields

U = "user.name"
EVERY = Emission("every", 0)
RESET = Emission("reset", 0)


def users(rule_id, times, user="bob", **extra):
    return [sig(rule_id, t, **{U: user}, **extra) for t in times]


def run(r, signals, emission=EVERY):
    return correlate(rules_set(r, emission=emission), signals)


# --- window boundaries ------------------------------------------------------------------------

def test_event_count_window_includes_exactly_the_timespan():
    r = rule("event_count", ["fail"], timespan_ms=10_000, count=3)
    assert brief(run(r, users("fail", [0, 5_000, 10_000])))[0][:3] == (10_000, ("bob",), 3.0)


def test_event_count_one_ms_over_the_timespan_is_another_window():
    r = rule("event_count", ["fail"], timespan_ms=10_000, count=3)
    assert run(r, users("fail", [0, 5_000, 10_001])) == []


def test_a_burst_straddling_a_clock_bucket_is_found():
    # 3 hits within 10 s that a fixed 10 s bucket (9:59.. | 10:00..) would split.
    r = rule("event_count", ["fail"], timespan_ms=10_000, count=3)
    base = 1_800_000_000_000 - 2_000  # 2 s before a multiple of 10 s
    assert len(run(r, users("fail", [base, base + 1_000, base + 3_000]))) == 1


def test_hits_at_the_same_time_are_judged_together():
    r = rule("event_count", ["fail"], count=3)
    results = run(r, users("fail", [500, 500, 500]))
    assert len(results) == 1 and results[0]["vigie.correlation.value"] == 3.0


# --- ordering ---------------------------------------------------------------------------------

def test_results_do_not_depend_on_the_order_signals_arrive_in():
    r = rule("temporal_ordered", ["fail", "ok"], count=2)
    signals = users("fail", [0, 1_000, 7_000]) + users("ok", [2_000, 9_000]) + \
        users("ok", [4_000], user="al") + users("fail", [3_500], user="al")
    expected = run(r, signals)
    for seed in range(5):
        shuffled = signals[:]
        random.Random(seed).shuffle(shuffled)
        assert run(r, shuffled) == expected
    # emission "every": bob at 2 s, 7 s (fail 0 s -> ok 2 s still in the window) and 9 s; al at 4 s
    assert [b[0] for b in brief(expected)] == [2_000, 4_000, 7_000, 9_000]


def test_advancing_in_steps_gives_the_same_results_as_one_run():
    r = rule("event_count", ["fail"], count=2, emission=RESET)
    signals = users("fail", range(0, 30_000, 700))
    engine = CorrelationEngine(rules_set(r))
    stepped = []
    for chunk_end in range(0, 35_000, 5_000):
        chunk = [s for s in signals if chunk_end - 5_000 < s["@timestamp"] <= chunk_end]
        stepped += engine.advance(chunk, chunk_end).results
    assert stepped == correlate(rules_set(r), signals)


# --- types ------------------------------------------------------------------------------------

def test_value_count_counts_distinct_values():
    r = rule("value_count", ["fail"], group_by=("source.ip",), value_field=U, count=3)
    signals = [sig("fail", t, **{"source.ip": "203.0.113.9", U: u})
               for t, u in [(0, "a"), (1, "b"), (2, "a"), (3, "b"), (4, "c")]]
    results = run(r, signals)
    assert brief(results)[0][:3] == (4, ("203.0.113.9",), 3.0)


def test_temporal_needs_every_rule_in_any_order():
    r = rule("temporal", ["scan", "exploit"], group_by=("source.ip",), count=2)
    ip = {"source.ip": "198.51.100.7"}
    assert len(run(r, [sig("exploit", 0, **ip), sig("scan", 5_000, **ip)])) == 1
    assert run(r, [sig("exploit", 0, **ip), sig("exploit", 5_000, **ip)]) == []


def test_temporal_ordered_needs_the_order():
    r = rule("temporal_ordered", ["fail", "ok"], count=2)
    assert run(r, users("ok", [0]) + users("fail", [1_000])) == []
    assert len(run(r, users("fail", [0]) + users("ok", [1_000]))) == 1


def test_temporal_ordered_counts_equal_times_as_in_order():
    r = rule("temporal_ordered", ["fail", "ok"], count=2)
    assert len(run(r, users("ok", [1_000]) + users("fail", [1_000]))) == 1


def test_temporal_ordered_with_a_lower_count_takes_the_longest_chain():
    r = rule("temporal_ordered", ["a", "b", "c"], count=2)
    # c then a then b: the chain a -> b has length 2 (c comes first and does not extend it).
    results = run(r, users("c", [0]) + users("a", [1_000]) + users("b", [2_000]))
    assert brief(results)[0][:3] == (2_000, ("bob",), 2.0)


@pytest.mark.parametrize("kind, percentile, value", [
    ("value_sum", None, 120.0),
    ("value_avg", None, 30.0),
    ("value_median", None, 25.0),  # 10 20 30 60: between 20 and 30
    ("value_percentile", 90, 51.0),  # rank 0.9 * 3 = 2.7: 30 + 0.7 * (60 - 30)
])
def test_numeric_types(kind, percentile, value):
    r = rule(kind, ["mail"], value_field="vigie.mail.recipient_count", op="gte", count=0,
             percentile=percentile)
    signals = [sig("mail", t, **{U: "bob", "vigie.mail.recipient_count": n})
               for t, n in [(0, 10), (1, 30), (2, 60), (3, 20)]]
    last = brief(run(r, signals, EVERY))[-1]
    assert last[0] == 3 and last[2] == pytest.approx(value)
    below = rule(kind, ["mail"], value_field="vigie.mail.recipient_count", op="gt", count=value,
                 percentile=percentile)
    assert 3 not in [b[0] for b in brief(run(below, signals, EVERY))]


def test_value_types_skip_signals_without_the_field():
    r = rule("value_sum", ["mail"], value_field="vigie.mail.size", op="gte", count=10)
    signals = [sig("mail", 0, **{U: "bob", "vigie.mail.size": None}),
               sig("mail", 1, **{U: "bob", "vigie.mail.size": "not a number"}),
               sig("mail", 2, **{U: "bob", "vigie.mail.size": 10})]
    results = run(r, signals)
    assert len(results) == 1 and len(results[0]["vigie.correlation.signal_ids"]) == 1


@pytest.mark.parametrize("op, count, fires_at", [
    ("gt", 2, [2]), ("gte", 2, [1, 2]), ("lt", 2, [0]), ("lte", 2, [0, 1]),
    ("eq", 2, [1]), ("neq", 2, [0, 2]),
])
def test_operators(op, count, fires_at):
    r = rule("event_count", ["fail"], op=op, count=count)
    assert [b[0] for b in brief(run(r, users("fail", [0, 1, 2])))] == fires_at


# --- group-by, aliases, fan-out ---------------------------------------------------------------

def test_groups_are_separate_and_signals_without_a_group_value_are_left_out():
    r = rule("event_count", ["fail"], count=2)
    signals = users("fail", [0], "a") + users("fail", [1], "b") + [sig("fail", 2)]
    assert run(r, signals) == []


def test_several_group_by_fields():
    r = rule("event_count", ["fail"], group_by=("user.name", "source.ip"), count=2)
    signals = [sig("fail", 0, **{U: "a", "source.ip": "1.1.1.1"}),
               sig("fail", 1, **{U: "a", "source.ip": "2.2.2.2"}),
               sig("fail", 2, **{U: "a", "source.ip": "1.1.1.1"})]
    assert [b[1] for b in brief(run(r, signals))] == [("a", "1.1.1.1")]


def test_aliases_group_different_fields_of_different_rules():
    r = rule("temporal", ["web_error", "connection"], group_by=("internal_ip",), count=2,
             aliases={"internal_ip": {"web_error": "destination.ip", "connection": "source.ip"}})
    signals = [sig("web_error", 0, **{"destination.ip": "10.0.0.5", "source.ip": "203.0.113.1"}),
               sig("connection", 1_000, **{"source.ip": "10.0.0.5"})]
    results = run(r, signals)
    assert [b[1] for b in brief(results)] == [("10.0.0.5",)]
    assert results[0]["vigie.correlation.group_by.fields"] == ["internal_ip"]


def test_a_list_field_fans_out_per_value():
    r = rule("event_count", ["mail"], group_by=("email.to.address",), count=2)
    signals = [sig("mail", 0, **{"email.to.address": ["x@a.fr", "y@a.fr"]}),
               sig("mail", 1, **{"email.to.address": ["y@a.fr", "y@a.fr"]}),
               sig("mail", 2, **{"email.to.address": ["z@a.fr"]})]
    results = run(r, signals)
    assert [b[1] for b in brief(results)] == [("y@a.fr",)]
    assert results[0]["email.to.address"] == ["y@a.fr"]  # the group's one value


# --- extended conditions, chaining ------------------------------------------------------------

def test_extended_condition_and_not_on_temporal():
    # "ok and not fail": a success not preceded by a failure within the timespan.
    r = rule("temporal", ["ok", "fail"], expression=("and", (("rule", 0), ("not", ("rule", 1)))))
    assert len(run(r, users("ok", [0]))) == 1
    assert run(r, users("fail", [0]) + users("ok", [5_000])) == []
    assert len(run(r, users("fail", [0]) + users("ok", [10_001]))) == 1


def test_extended_condition_on_temporal_ordered_follows_the_list_order():
    # rules [fail, ok], "ok and not fail": b = ok counts after the true rules before it.
    r = rule("temporal_ordered", ["fail", "ok"],
             expression=("or", (("and", (("rule", 0), ("rule", 1))), ("rule", 1))))
    assert len(run(r, users("ok", [0]))) == 1
    r2 = rule("temporal_ordered", ["fail", "ok"],
              expression=("and", (("rule", 0), ("not", ("rule", 1)))))
    # fail at 5 s, ok at 0 s: ok is not after fail, so "fail and not ok" holds at 5 s.
    assert brief(run(r2, users("ok", [0]) + users("fail", [5_000])))[0][0] == 5_000


def test_chaining_by_levels():
    many = rule("event_count", ["fail"], count=3, rule_id="many", name="many", emission=RESET)
    seq = rule("temporal_ordered", ["many", "ok"], count=2, rule_id="seq", name="seq",
               chain_level=2, source_kinds={"many": "correlation"}, level="critical")
    signals = users("fail", [0, 1_000, 2_000]) + users("ok", [3_000])
    results = correlate(rules_set(many, seq), signals)
    by_rule = {r["rule.id"]: r for r in results}
    assert set(by_rule) == {"many", "seq"}
    top = by_rule["seq"]
    assert top["vigie.correlation.signal_ids"] == [by_rule["many"]["signal.id"],
                                                    signals[-1]["signal.id"]]
    assert top["vigie.evidence.event_ids"] == [s["event.id"] for s in signals]
    assert timestamp_ms(top["vigie.correlation.window.start"]) == 0  # the constituents' span
    assert top["rule.level"] == "critical" and top["vigie.correlation.chain_level"] == 2


def test_a_result_feeds_the_level_above_at_its_own_time():
    many = rule("event_count", ["fail"], count=2, rule_id="many", emission=RESET)
    both = rule("temporal", ["many", "ok"], count=2, rule_id="both", chain_level=2,
                source_kinds={"many": "correlation"})
    signals = users("fail", [0, 1_000]) + users("ok", [1_000])
    assert {r["rule.id"] for r in correlate(rules_set(many, both), signals)} == {"many", "both"}


def test_three_levels():
    l1 = rule("event_count", ["fail"], count=2, rule_id="l1", emission=RESET)
    l2 = rule("event_count", ["l1"], count=2, rule_id="l2", chain_level=2, emission=RESET,
              timespan_ms=60_000)
    l3 = rule("temporal_ordered", ["l2", "ok"], count=2, rule_id="l3", chain_level=3,
              timespan_ms=60_000)
    signals = users("fail", [0, 1, 10, 11]) + users("ok", [20])
    results = correlate(rules_set(l1, l2, l3), signals)
    assert sorted((timestamp_ms(r["@timestamp"]), r["rule.id"]) for r in results) == \
        [(1, "l1"), (11, "l1"), (11, "l2"), (20, "l3")]


# --- emission ---------------------------------------------------------------------------------

def test_emission_every_emits_at_each_further_hit():
    r = rule("event_count", ["fail"], count=3)
    assert len(run(r, users("fail", range(0, 6_000, 1_000)), EVERY)) == 4


def test_emission_reset_consumes_the_window():
    r = rule("event_count", ["fail"], count=3)
    results = run(r, users("fail", range(0, 6_000, 1_000)), RESET)
    assert [b[0] for b in brief(results)] == [2_000, 5_000]


def test_default_emission_suppresses_for_the_timespan():
    r = rule("event_count", ["fail"], count=3, timespan_ms=10_000)
    results = run(r, users("fail", range(0, 60_000, 1_000)), Emission())
    assert [b[0] for b in brief(results)] == [2_000, 13_000, 24_000, 35_000, 46_000, 57_000]


def test_a_rule_can_set_its_own_emission():
    r = rule("event_count", ["fail"], count=3, emission=EVERY)
    assert len(run(r, users("fail", range(0, 6_000, 1_000)), RESET)) == 4


# --- results ----------------------------------------------------------------------------------

def test_result_row_is_a_full_signal_row_with_a_deterministic_id():
    r = rule("event_count", ["fail"], count=2, level="high")
    signals = users("fail", [1_000, 2_000], **{"source.ip": "203.0.113.9"})
    (row,) = run(r, signals)
    assert set(row) == set(signal_fields())
    assert row["event.id"] == signals[1]["event.id"] and row["log.offset"] == 2_000
    assert row["@timestamp"] == dt.datetime(1970, 1, 1, 0, 0, 2, tzinfo=dt.timezone.utc)
    assert row["rule.id"] == "corr" and row["rule.level"] == "high"
    assert row["rule.tags"] == ["attack.t1110"]  # inherited from the source
    assert row["source.ip"] == "203.0.113.9" and row[U] == "bob"
    assert row["vigie.correlation.window.start"] < row["vigie.correlation.window.end"]
    assert row == run(r, list(reversed(signals)))[0]
    other = run(rule("event_count", ["fail"], count=2, rule_id="other"), signals)[0]
    assert other["signal.id"] != row["signal.id"]


def test_level_defaults_to_the_highest_source_level():
    r = rule("event_count", ["fail"], count=1)
    assert run(r, users("fail", [0]))[0]["rule.level"] == "low"


def test_timestamps_may_be_datetimes():
    r = rule("event_count", ["fail"], count=2)
    t0 = dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.timezone.utc)
    signals = [sig("fail", t0 + dt.timedelta(seconds=s), **{U: "bob"}) for s in (0, 9)]
    assert run(r, signals)[0]["@timestamp"] == t0 + dt.timedelta(seconds=9)


# --- streaming: lateness, memory --------------------------------------------------------------

def test_signals_at_or_before_a_passed_watermark_are_late():
    r = rule("event_count", ["fail"], count=2)
    engine = CorrelationEngine(rules_set(r))
    engine.advance(users("fail", [1_000]), 5_000)
    step = engine.advance(users("fail", [5_000, 6_000]), 10_000)
    assert [s["@timestamp"] for s in step.late] == [5_000]
    assert brief(step.results)[0][0] == 6_000


def test_pending_signals_wait_for_the_watermark():
    r = rule("event_count", ["fail"], count=2)
    engine = CorrelationEngine(rules_set(r))
    assert engine.advance(users("fail", [1_000, 9_000]), 5_000).results == []
    assert len(engine.advance([], 9_000).results) == 1


def test_state_is_bounded_by_the_timespan_and_live_groups():
    r = rule("event_count", ["fail"], count=1_000_000, timespan_ms=60_000)
    engine = CorrelationEngine(rules_set(r))
    peak = 0
    for minute in range(60):
        start = minute * 60_000
        batch = [sig("fail", start + k * 600, **{U: f"u{(minute * 7 + k) % 50}"}) for k in range(100)]
        engine.advance(batch, start + 60_000)
        hits = sum(len(s.hits) for s in engine.states.values())
        peak = max(peak, hits)
    assert peak <= 2 * 100 and engine.live_groups <= 50
    engine.advance([], 60 * 60_000 + 10 * 60_000)
    assert engine.live_groups == 0


def test_results_fit_the_signal_schema_and_chain_from_arrow_signals():
    import pyarrow as pa

    from pipelines.schema import signal_schema
    r = rule("event_count", ["fail"], count=2, group_by=("email.to.address",))
    table = pa.Table.from_pylist(
        [sig("fail", t, **{"email.to.address": ["x@a.fr"], "vigie.mail.size": 10})
         for t in (1_000, 2_000)], schema=signal_schema())
    results = run(r, table.to_pylist())  # signals as the pipeline has them (datetimes, lists)
    out = pa.Table.from_pylist(results, schema=signal_schema())
    assert out.num_rows == 1 and out["email.to.address"].to_pylist() == [["x@a.fr"]]
    assert out["vigie.correlation.window.start"].to_pylist()[0].timestamp() == 1.0
