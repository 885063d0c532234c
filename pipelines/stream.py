"""The live pipeline (wiring only): read Kafka / watch a folder | AnalyseEvents | WriteOutputs.

`build_stream(pipeline, source, analysis, out_dir, es, windows)` wires the graph `vigie stream`
runs; `start_stream(options, ...)` submits it and returns the running job's result (the command,
pipelines/commands/stream.py, watches it, reads its counters and stops it). The analysis is the
one `vigie replay` runs (transforms/analyse.py); only the source and the streaming sinks differ:
signals are written per event-time window (rewritten when late signals come in), incidents
appended revision by revision (readers keep the highest revision).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineResult

from pipelines.sinks import es_cluster
from pipelines.sources.kafka import KafkaAddress, TopicFormats
from pipelines.sources.resume import WrittenIds, continued_revision
from pipelines.transforms.analyse import AnalyseEvents, AnalysisSettings
from pipelines.transforms.read import ReadKafkaUnits, TrackSettled, WatchFolderUnits
from pipelines.transforms.write import WriteOutputs


@dataclass(frozen=True)
class KafkaSource:
    """Topics of a broker, read by a consumer group through the Java expansion service."""

    address: KafkaAddress
    group: str
    expansion_service: str
    formats: TopicFormats
    max_records: int | None = None  # bounded read (tests): stop after this many records


@dataclass(frozen=True)
class FolderSource:
    """A folder watched for new files."""

    folder: str
    interval_s: float
    timezone: str
    forced_format: str | None = None


@dataclass(frozen=True)
class SignalWindows:
    """Signals are written per fixed event-time window; late signals rewrite their window's
    file for this long after it closed."""

    seconds: int = 300
    allowed_lateness_s: int = 24 * 3600


def settle_ms(analysis: AnalysisSettings, windows: SignalWindows) -> int:
    """The longest an event-time step waits after a line's time before its outputs are out: the
    incident hold (stitching gap + out-of-orderness), a signal window, a stitching gap, the
    lateness a correlation window waits for."""
    hold = analysis.incidents.hold_seconds if analysis.incidents else 0
    release = (analysis.incidents.release_seconds or 0) if analysis.incidents else 0
    return 1000 * (max(hold + release, analysis.stitch_gap_seconds, windows.seconds,
                       analysis.allowed_lateness_seconds) + 1)


def read_units(source: KafkaSource | FolderSource) -> beam.PTransform:
    """The source as a transform producing units of lines."""
    if isinstance(source, KafkaSource):
        return ReadKafkaUnits(source.address, source.group, source.expansion_service, source.formats,
                              source.max_records)
    return WatchFolderUnits(source.folder, source.interval_s, source.timezone, source.forced_format)


def build_stream(pipeline: beam.Pipeline, source: KafkaSource | FolderSource, analysis: AnalysisSettings,
                 out_dir: str, es: es_cluster.EsSettings | None = None,
                 windows: SignalWindows = SignalWindows(),
                 earlier: Mapping[str, tuple[int, int, str]] | None = None,
                 written: WrittenIds | None = None) -> dict:
    """Wire the live job onto `pipeline`: units from the source, analysed, written; returns
    the analysed outputs (AnalyseEvents' dict), for taps such as the benchmark's. `earlier`:
    what earlier runs wrote of each incident (sources/resume.py): a restarted job's revisions
    continue from there; `written`: events and dead letters earlier runs wrote of the records
    read again, left out of the Parquet files (not of Elasticsearch, which takes them by id)."""
    units = pipeline | "ReadUnits" >> read_units(source)
    units | "TrackSettled" >> TrackSettled(settle_ms(analysis, windows))
    analysed = units | "AnalyseEvents" >> AnalyseEvents(analysis)
    if earlier and "incidents" in analysed:
        analysed["incidents"] = (analysed["incidents"]
                                 | "ContinueRevisions" >> beam.FlatMap(
                                     lambda record, known: filter(None, [continued_revision(record, known)]),
                                     dict(earlier)))
    analysed | "WriteOutputs" >> WriteOutputs(
        out_dir, es, window_seconds=windows.seconds, streaming=True,
        allowed_lateness_s=windows.allowed_lateness_s,
        written_events=written.events if written else frozenset(),
        written_dead_letters=written.dead_letters if written else frozenset())
    return analysed


def start_stream(options: PipelineOptions, source: KafkaSource | FolderSource, analysis: AnalysisSettings,
                 out_dir: str, es: es_cluster.EsSettings | None = None,
                 windows: SignalWindows = SignalWindows(),
                 earlier: Mapping[str, tuple[int, int, str]] | None = None,
                 written: WrittenIds | None = None) -> PipelineResult:
    """Build and submit the live job; its result (running)."""
    pipeline = beam.Pipeline(options=options)
    build_stream(pipeline, source, analysis, out_dir, es, windows, earlier, written)
    return pipeline.run()
