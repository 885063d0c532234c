"""AssembleIncidents on both runners: the batch runner (FnApiRunner: every row of the key before
any timer, in any order) and a stream (TestStream on BundleBasedDirectRunner: rows as they come,
the watermark advancing) give the incidents the pure assembly gives; the stream emits each
revision as it happens; late rows are assembled and reported; bad rows are reported;
WriteIncidents writes final records in batch and appends revisions in streaming."""
from __future__ import annotations

import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.test_stream import TestStream as EventStream
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to
from apache_beam.transforms import window

from incident_rows import ATTACKER, TOR_EXIT, campaign, inventory, noise, signal
from pipelines.incidents.assembly import assemble, latest_revisions
from pipelines.incidents.policy import AssemblyPolicy
from pipelines.incidents.times import to_ms
from pipelines.sinks.incidents import incidents_path, read_incidents
from pipelines.transforms.incidents import (INCIDENTS, INVALID_SIGNALS, LATE_SIGNALS, AssembleIncidents,
                                            WriteIncidents)


@pytest.fixture(scope="module")
def inv(tmp_path_factory):
    return inventory(tmp_path_factory.mktemp("inventory"))


def content(record: dict) -> dict:
    out = {k: v for k, v in record.items() if k not in ("incident.revision", "incident.status")}
    out["merged"] = record["incident.status"] == "merged"
    return out


def final_incidents_equal(expected: list[dict], at_least_revisions: int = 1):
    """A matcher: the latest revision per id equals `expected` (delivery bookkeeping aside),
    and some incident was emitted in at least `at_least_revisions` revisions."""
    def check(actual):
        final = [content(r) for r in latest_revisions(actual)]
        if final != [content(r) for r in expected]:
            raise BeamAssertException(f"final incidents differ: {[r['incident.id'] for r in final]} vs "
                                      f"{[r['incident.id'] for r in expected]}")
        most = max((sum(1 for r in actual if r["incident.id"] == e["incident.id"]) for e in expected), default=0)
        if most < at_least_revisions:
            raise BeamAssertException(f"expected revisions as the incident grew, got at most {most}")
    return check


def rows():
    return campaign() + noise()


@pytest.mark.parametrize("release_seconds", [None, 600])
def test_batch_runner_gives_the_pure_incidents(inv, release_seconds):
    shuffled = rows()
    random.Random(3).shuffle(shuffled)
    expected = assemble(shuffled, inv)
    with BeamPipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        out = (p | beam.Create(shuffled, reshuffle=False)
               | AssembleIncidents(inv, release_seconds=release_seconds))
        assert_that(out[INCIDENTS], final_incidents_equal(expected))
        assert_that(out[LATE_SIGNALS], equal_to([]), label="NoLateSignals")


def stream_of(rows_in_time: list[dict], step_minutes: int) -> EventStream:
    """Rows in event-time order, the watermark advancing every `step_minutes` of event time,
    then past the last timer (window + a release step), then to infinity."""
    stream = EventStream()
    by_time = sorted(rows_in_time, key=lambda r: to_ms(r["@timestamp"]))
    start = to_ms(by_time[0]["@timestamp"])
    step = step_minutes * 60_000
    bucket_end = start + step
    batch = []
    for row in by_time:
        ms = to_ms(row["@timestamp"])
        while ms >= bucket_end:
            if batch:
                stream.add_elements(batch)
                batch = []
            stream.advance_watermark_to(bucket_end / 1000)
            bucket_end += step
        batch.append(window.TimestampedValue(row, ms / 1000))
    if batch:
        stream.add_elements(batch)
    last = to_ms(by_time[-1]["@timestamp"])
    stream.advance_watermark_to((last + AssemblyPolicy().window_ms + 3 * step) / 1000)
    return stream.advance_watermark_to_infinity()


def streaming_pipeline():
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    return BeamPipeline(options=options)


def test_stream_gives_the_same_incidents_revision_by_revision(inv):
    expected = assemble(rows(), inv)
    with streaming_pipeline() as p:
        out = p | stream_of(rows(), step_minutes=10) | AssembleIncidents(inv, release_seconds=60)
        # the campaign grows from phishing to mass mailing: several revisions on the way
        assert_that(out[INCIDENTS], final_incidents_equal(expected, at_least_revisions=3))


def late_stream(on_time: list[dict], late: list[dict], late_by_ms: int) -> EventStream:
    """`on_time` rows, the watermark `late_by_ms` past the last of them, then the `late` rows,
    then the watermark past every timer (a campaign window and more), then infinity."""
    last = max(to_ms(r["@timestamp"]) for r in on_time)
    return (EventStream()
            .add_elements([window.TimestampedValue(r, to_ms(r["@timestamp"]) / 1000) for r in on_time])
            .advance_watermark_to((last + late_by_ms) / 1000)
            .add_elements([window.TimestampedValue(r, to_ms(r["@timestamp"]) / 1000) for r in late])
            .advance_watermark_to((last + late_by_ms + 3 * AssemblyPolicy().window_ms) / 1000)
            .advance_watermark_to_infinity())


def test_a_late_row_is_reassembled_in_its_place_and_reported(inv):
    # the late SQL injection is older than the first signal: it gives the incident its id
    on_time = [signal("web-tool", m, source_ip=TOR_EXIT) for m in (10, 20, 30)]
    late = signal("web-sqli", 5, source_ip=TOR_EXIT)
    expected = assemble(on_time + [late], inv)
    assert expected[0]["incident.late_signals"] == 0

    def check(actual):
        final = [r for r in latest_revisions(actual) if r["incident.status"] != "merged"]
        if [content(r) for r in final] != [content(r) for r in expected]:
            raise BeamAssertException(f"late row not re-assembled in its place: {final}")
        closed = [r for r in latest_revisions(actual) if r["incident.status"] == "merged"]
        if [r["incident.merged_into"] for r in closed] != [expected[0]["incident.id"]]:
            raise BeamAssertException(f"the id published before the late row is not closed into the new one: {closed}")

    with streaming_pipeline() as p:
        out = p | late_stream(on_time, [late], 120_000) | AssembleIncidents(inv, release_seconds=60)
        assert_that(out[INCIDENTS], check)
        assert_that(out[LATE_SIGNALS] | beam.Map(lambda r: r["signal.id"]), equal_to([late["signal.id"]]),
                    label="LateReported")


def test_a_row_later_than_the_campaign_window_is_assembled_where_it_arrives(inv):
    # beyond the horizon the incident it belonged to is forgotten: it opens one of its own,
    # which counts it in incident.late_signals (a replay would have put it in the first one)
    # (the horizon counts from what was released: a signal six hours later moves it there)
    window_minutes = AssemblyPolicy().window_seconds // 60
    on_time = [signal("web-tool", m, source_ip=TOR_EXIT) for m in (0, 10, 20)] + [
        signal("vpn-abroad", 20 + window_minutes + 120, source_ip=ATTACKER, user_name="nlouis2")]
    late = signal("web-shell", 5, source_ip=TOR_EXIT)

    def check(actual):
        final = latest_revisions(actual)
        got = sorted((r["incident.signal_count"], r["incident.late_signals"]) for r in final)
        if got != [(1, 0), (1, 1), (3, 0)]:
            raise BeamAssertException(f"expected the late row in an incident of its own: {got}")

    with streaming_pipeline() as p:
        out = p | late_stream(on_time, [late], 120_000) | AssembleIncidents(inv, release_seconds=60)
        assert_that(out[INCIDENTS], check)
        assert_that(out[LATE_SIGNALS] | beam.Map(lambda r: r["signal.id"]), equal_to([late["signal.id"]]),
                    label="LateReported")


def test_rows_that_cannot_be_assembled_are_reported(inv):
    good = signal("web-tool", 0, source_ip=TOR_EXIT)
    bad = [{"rule.id": "x"}, {"signal.id": "s", "@timestamp": "yesterday"}]
    with BeamPipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        out = p | beam.Create([good] + bad, reshuffle=False) | AssembleIncidents(inv, release_seconds=None)
        letters = out[INVALID_SIGNALS] | beam.FlatMap(lambda named: named[1].to_pylist())
        assert_that(letters | beam.Map(lambda d: (d["stage"], d["reason"], d["detail"].split(" ")[-1], d["lines"])),
                    equal_to([("assemble", "signal row cannot be assembled", "signal.id", 0),
                              ("assemble", "signal row cannot be assembled", "('yesterday')", 0)]),
                    label="InvalidReported")
        assert_that(out[INCIDENTS] | beam.Map(lambda r: r["incident.signal_count"]), equal_to([1]))


def test_write_incidents_final_in_batch_and_appended_in_streaming(inv, tmp_path):
    batch_dir, stream_dir = tmp_path / "batch", tmp_path / "stream"
    expected = assemble(rows(), inv)
    with BeamPipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        counts = (p | beam.Create(rows(), reshuffle=False) | AssembleIncidents(inv, release_seconds=600))[INCIDENTS] \
            | WriteIncidents(str(batch_dir))
        assert_that(counts, equal_to([{"incidents": 1, "incidents_merged": 1}]))
    batch_lines = incidents_path(batch_dir).read_text().splitlines()
    assert len(batch_lines) == len(expected)
    with streaming_pipeline() as p:
        out = p | stream_of(rows(), step_minutes=10) | AssembleIncidents(inv, release_seconds=60)
        _ = out[INCIDENTS] | WriteIncidents(str(stream_dir), mode="append")
    stream_lines = incidents_path(stream_dir).read_text().splitlines()
    assert len(stream_lines) > len(batch_lines)
    assert [content(r) for r in read_incidents(incidents_path(stream_dir))] == \
        [content(r) for r in read_incidents(incidents_path(batch_dir))]
    with pytest.raises(ValueError, match="mode"):
        WriteIncidents(str(tmp_path), mode="sometimes")
