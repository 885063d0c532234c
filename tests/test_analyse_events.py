"""AnalyseEvents, the graph replay and stream share: on the batch runner (TestPipeline) and in
streaming mode (TestStream on the BundleBasedDirectRunner) the hospital scenario gives the same
events, stitched messages and signals, and both assemble incidents."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream as EventStream
from apache_beam.transforms import trigger, window

from pipelines.commands.replay import compile_rules
from pipelines.enrichment.enrich import build_enricher
from pipelines.scenario.chu import generate_chu
from pipelines.scenario.chu.clock import END_MS, HOUR, MINUTE, START_MS
from pipelines.sources.ingest import ReadSettings
from pipelines.sources.plan import plan_inputs
from pipelines.transforms.analyse import (AnalyseEvents, AnalysisSettings, IncidentSettings,
                                          TravelSettings, signal_parts)

PARIS = "Europe/Paris"
REFERENCE = dt.datetime(2026, 11, 28, 12, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> tuple[list, AnalysisSettings]:
    folder = tmp_path_factory.mktemp("chu")
    generate_chu(folder, events=6000, seed=3)
    plan = plan_inputs([str(folder)], None, 1 << 20, REFERENCE, PARIS)
    detections = compile_rules(None)
    settings = AnalysisSettings(
        read=ReadSettings(batch_bytes=256 * 1024, timezone=PARIS), stitch_gap_seconds=3600,
        ruleset=detections.ruleset, correlations=detections.correlations,
        enricher=build_enricher(inventory=[str(folder / "inventory.yml")],
                                threat_lists=[f"tor-exits={folder / 'tor-exits.txt'}"]),
        travel=TravelSettings(), incidents=IncidentSettings(), total_units=len(plan.slices))
    return plan.slices, settings


def _ids(analysed: dict) -> dict:
    """The ids the analysis produced, as single-element collections to compare."""
    def table_ids(column):
        return lambda element: element[1][column].to_pylist()
    return {
        "events": analysed["events"] | "EventIds" >> beam.FlatMap(table_ids("event.id")),
        "stitched": analysed["stitched_events"] | "StitchedIds" >> beam.FlatMap(table_ids("event.id")),
        "signals": analysed["signals"] | "SignalIds" >> beam.Map(lambda row: row["signal.id"]),
        # what the Elasticsearch sink indexes: the per-source signals, before any Flatten
        "signal_parts": (list(signal_parts(analysed).values()) | "AllSignalParts" >> beam.Flatten()
                         | "SignalPartIds" >> beam.Map(lambda row: row["signal.id"])),
        "incidents": analysed["incidents"] | "IncidentRevisions" >> beam.Map(json.dumps, default=str),
    }


def _write_ids(values: list[str], path: str) -> None:
    Path(path).write_text(json.dumps(sorted(set(values))))


def _collect(pipeline: beam.Pipeline, source, settings, folder: Path) -> list[str]:
    """Wire AnalyseEvents on `source` and write each kind of id to folder/<kind>.json."""
    ids = _ids(pipeline | source | AnalyseEvents(settings))
    for name, pcoll in ids.items():
        (pcoll | f"InGlobal{name}" >> beam.WindowInto(  # one pane, when the input is over
            window.GlobalWindows(), trigger=trigger.AfterWatermark(),
            accumulation_mode=trigger.AccumulationMode.DISCARDING)
         | f"Collect{name}" >> beam.combiners.ToList()
         | f"Write{name}" >> beam.Map(_write_ids, str(folder / f"{name}.json")))
    return list(ids)


def _read_ids(folder: Path, names: list[str]) -> dict[str, list[str]]:
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in names}


def _batch_ids(slices, settings, folder: Path) -> dict[str, list[str]]:
    """The ids from the batch runner (each kind written to a file by the pipeline)."""
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    names = _collect(pipeline, beam.Create(slices), settings, folder)
    pipeline.run().wait_until_finish()
    return _read_ids(folder, names)


def latest_records(revisions: list[str]) -> dict[str, dict]:
    """Every incident id at its highest revision."""
    latest: dict[str, dict] = {}
    for record in map(json.loads, revisions):
        if record["incident.revision"] >= latest.get(record["incident.id"], {}).get("incident.revision", 0):
            latest[record["incident.id"]] = record
    return latest


def content(record: dict) -> dict:
    """A record without its delivery bookkeeping (revision; new or updated), merged or not."""
    out = {k: v for k, v in record.items() if k not in ("incident.revision", "incident.status")}
    out["merged"] = record["incident.status"] == "merged"
    return out


def final_incidents(revisions: list[str]) -> dict[str, dict]:
    """Live incidents (not merged away) at their highest revision: id -> content."""
    return {i: content(r) for i, r in latest_records(revisions).items() if r["incident.status"] != "merged"}


def test_batch_runner_analysis_finds_the_attack(scenario, tmp_path):
    slices, settings = scenario
    found = _batch_ids(slices, settings, tmp_path)
    assert len(found["events"]) > 4000 and found["stitched"] and len(found["signals"]) > 20
    assert found["signal_parts"] == found["signals"]  # the sources together: every signal
    assert found["incidents"], "the scenario's attack opens at least one incident"


def test_streaming_mode_gives_the_same_ids_as_the_batch_runner(scenario, tmp_path):
    slices, settings = scenario
    batch = tmp_path / "batch"
    batch.mkdir()
    expected = _batch_ids(slices, settings, batch)
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    stream = EventStream()
    for k, piece in enumerate(slices):  # the slices arrive one by one, in processing time
        stream = stream.add_elements([window.TimestampedValue(piece, 0)]).advance_processing_time(1 + k)
    # The watermark then crosses the evening five minutes at a time, as a live source's does,
    # and the night and next day an hour at a time (impossible travel closes its login sessions
    # a day after an account's last login). A direct jump past the data fires the assembly's
    # timers before the stitching's and the travel's session windows deliver (their signals
    # would arrive behind a frontier already moved on; docs/incidents-parity.md).
    marks = list(range(START_MS - HOUR, END_MS + 3 * HOUR, 5 * MINUTE))
    marks += list(range(marks[-1] + HOUR, END_MS + 30 * HOUR, HOUR))
    for at in marks:
        stream = stream.advance_watermark_to(at / 1000)
    # Past every timer, then infinity (a direct jump to infinity fires every stage's
    # end-of-time timers at once).
    stream = stream.advance_watermark_to(1_797_000_000).advance_watermark_to_infinity()
    streamed = tmp_path / "stream"
    streamed.mkdir()
    # As a stream runs: correlation windows judged, and incidents released a minute at a time,
    # held back by two stitching gaps (a stitched message's signals come a gap and the message's
    # own duration after their time; assembly a margin more, after correlation) so that the
    # signals of stitched messages reach them in time (a correlation judged before them would
    # drop them as late); signals up to 30 hours late re-assembled in their place.
    policy = dataclasses.replace(settings.incidents.policy, late_horizon_seconds=30 * 3600)
    live = dataclasses.replace(settings, allowed_lateness_seconds=7200, incidents=IncidentSettings(
        policy=policy, release_seconds=60, hold_seconds=7500))
    with beam.Pipeline(options=options) as pipeline:
        names = _collect(pipeline, stream, live, streamed)
    got = _read_ids(streamed, names)
    for name in ("events", "stitched", "signals", "signal_parts"):
        assert got[name] == expected[name], (name, len(got[name]), len(expected[name]))
    assert got["signal_parts"] == got["signals"]
    # The same final incidents, ids and content; the stream published more revisions.
    assert final_incidents(expected["incidents"])
    assert final_incidents(got["incidents"]) == final_incidents(expected["incidents"])
    streamed_latest, batch_latest = latest_records(got["incidents"]), latest_records(expected["incidents"])
    for incident, record in batch_latest.items():  # incidents merged away too
        assert content(streamed_latest[incident]) == content(record)
    # an id the stream published before a late signal changed it is closed into its successor
    for incident in set(streamed_latest) - set(batch_latest):
        closed = streamed_latest[incident]
        assert closed["incident.status"] == "merged" and closed["incident.merged_into"] in batch_latest
    assert len(got["incidents"]) > len(batch_latest)
