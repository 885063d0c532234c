"""Property: the correlation core agrees with the brute-force reference (correlation_reference)
on random timelines, for every type, operator and emission policy, whatever the order the
signals come in and however the watermark advances. Times fall on a coarse grid so that
windows often end exactly on a hit (the timespan is a multiple of the grid) and ties occur."""
from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from correlation_reference import reference_results
from correlation_support import brief, rule, rules_set, sig
from pipelines.correlation.engine import CorrelationEngine
from pipelines.correlation.model import OPERATORS, TYPES, Emission

GRID = 250
FIELDS = ("user.name",)
NUMBER = "vigie.mail.recipient_count"
TARGETS = "email.to.address"


def expression_strategy(k: int):
    leaf = st.integers(0, k - 1).map(lambda p: ("rule", p))
    return st.recursive(leaf, lambda inner: st.one_of(
        inner.map(lambda e: ("not", e)),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3).map(tuple))),
        max_leaves=4)


@st.composite
def scenarios(draw):
    kind = draw(st.sampled_from(TYPES))
    temporal = kind.startswith("temporal")
    names = ["a", "b", "c"][:draw(st.integers(2, 3) if temporal else st.integers(1, 2))]
    timespan = GRID * draw(st.integers(1, 8))
    group_by = draw(st.sampled_from([("user.name",), (TARGETS,), ("user.name", TARGETS), ()]))
    expression = None
    if temporal and draw(st.booleans()):
        expression = draw(expression_strategy(len(names)))
    op = draw(st.sampled_from(sorted(OPERATORS)))
    count = draw(st.integers(0, 6)) if not kind.startswith("value_") or kind == "value_count" \
        else draw(st.integers(0, 40))
    percentile = draw(st.integers(0, 100)) if kind == "value_percentile" else None
    value_field = None
    if kind == "value_count":
        value_field = draw(st.sampled_from(["source.ip", TARGETS]))
    elif kind.startswith("value_"):
        value_field = NUMBER
    emission = Emission(draw(st.sampled_from(["reset", "every"])),
                        draw(st.sampled_from([None, 0, GRID, 3 * GRID])))
    r = rule(kind, names, group_by=group_by, timespan_ms=timespan, op=op, count=count,
             value_field=value_field, percentile=percentile, expression=expression)
    signals = []
    for k in range(draw(st.integers(0, 14))):
        fields = {
            "user.name": draw(st.sampled_from(["u1", "u2", None])),
            TARGETS: draw(st.lists(st.sampled_from(["x@a.fr", "y@a.fr", "z@b.fr"]), max_size=3)),
            "source.ip": draw(st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3", None])),
            NUMBER: draw(st.one_of(st.none(), st.integers(0, 20))),
        }
        signals.append(sig(draw(st.sampled_from(names + ["other"])),
                           GRID * draw(st.integers(0, 24)), sid=f"s{k:02d}", **fields))
    return r, emission, signals, draw(st.randoms(use_true_random=False))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_core_matches_the_reference_in_any_arrival_order(scenario):
    r, emission, signals, rnd = scenario
    expected = reference_results(r, emission, signals)
    shuffled = signals[:]
    rnd.shuffle(shuffled)
    engine = CorrelationEngine(rules_set(r, emission=emission))
    assert brief(engine.run(shuffled)) == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_core_matches_the_reference_when_the_watermark_advances_in_steps(scenario):
    r, emission, signals, rnd = scenario
    expected = reference_results(r, emission, signals)
    engine = CorrelationEngine(rules_set(r, emission=emission))
    got, watermark = [], -1
    ordered = sorted(signals, key=lambda s: s["@timestamp"])
    while ordered:
        watermark = ordered[0]["@timestamp"] + GRID * rnd.randint(0, 4)
        batch = [s for s in ordered if s["@timestamp"] <= watermark]
        ordered = ordered[len(batch):]
        random.Random(watermark).shuffle(batch)
        step = engine.advance(batch, watermark)
        assert step.late == []
        got += step.results
    got += engine.flush().results
    assert brief(got) == expected


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_beam_transform_matches_the_reference(scenario):
    """The same property through CorrelateSignals on the batch runner (fewer examples: each
    one is a pipeline run)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.util import assert_that, equal_to
    from apache_beam.transforms import window

    from pipelines.transforms.correlate import RESULTS, CorrelateSignals

    r, emission, signals, rnd = scenario
    expected = reference_results(r, emission, signals)
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as pipeline:
        results = (pipeline | beam.Create(signals)
                   | beam.Map(lambda s: window.TimestampedValue(s, s["@timestamp"] / 1000))
                   | CorrelateSignals(rules_set(r, emission=emission)))[RESULTS]
        assert_that(results | beam.Map(lambda row: brief([row])[0]), equal_to(expected))
