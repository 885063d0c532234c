"""Live sources as units of lines for AnalyseEvents (the Beam shell of sources/kafka.py).

ReadKafkaUnits: Beam's `ReadFromKafka` (Java KafkaIO through the project's expansion service)
with metadata (topic, partition, offset, CreateTime timestamp, headers), a consumer group whose
offsets are committed when the runner finalises a bundle, and the CreateTime timestamp policy:
records are stamped with the time the shipper set (the line's event time, pipelines/sources/
shipper.py) and the event-time watermark of each partition follows the latest of them (Beam's
CustomTimestampPolicyWithLimitedDelay with no delay; a partition with nothing left to read moves
to the wall clock). Records are grouped per topic partition into RecordSets (sources/kafka.py)
at the end of each bundle (or every `max_records`), stamped with their earliest timestamp;
heartbeat records are counted (vigie.stream/heartbeats) and dropped.

WatchFolderUnits: a folder watched for new files (Beam's MatchContinuously); each new file is
planned like a replay input and read whole as one unit. Its event time is the processing time
of the match (a file is settled when it arrives); for small sites and tests.
"""
from __future__ import annotations

import logging
import os
from collections import defaultdict

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.kafka import ReadFromKafka
from apache_beam.metrics import Metrics
from apache_beam.coders import VarIntCoder
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.window import GlobalWindow, GlobalWindows
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from pipelines.errors import VigieError
from pipelines.sources import kafka as ks
from pipelines.sources.plan import plan_inputs

LOG = logging.getLogger("vigie")
MAX_RECORDS = 20_000  # records of one partition in one unit, at most


# How long the broker holds a fetch before it answers (ms), a fetch size it never reaches, and
# the most a fetch carries per partition. KafkaIO's unbounded-source reader (the read the
# expansion service builds, services/expansion.py) keeps its bundle open for as long as its
# consumer hands it a new batch within 20 ms, and the runner passes a bundle's records on only
# when the bundle ends: with records arriving every few milliseconds one read bundle lasted
# 5-30 s and every signal waited for it. With these settings the broker answers each fetch after
# FETCH_WAIT_MS whatever it holds, the reader finds no new batch 20 ms after each one and ends
# its bundle, so records reach the analysis ~0.1-0.4 s after they are sent (100 ms measured
# no faster than 250 and cost more CPU and more small files: one events file per partition per
# bundle). A catch-up read moves at up to FETCH_MAX_PARTITION_BYTES per FETCH_WAIT_MS per
# partition (16 MiB/s, ~60,000 web lines/s), far above what the analysis keeps up with.
FETCH_WAIT_MS = 250
FETCH_MIN_BYTES_NEVER_REACHED = 1 << 30
FETCH_MAX_PARTITION_BYTES = 4 << 20


def consumer_config(bootstrap: str, group: str) -> dict[str, str]:
    """The Kafka consumer settings of the stream: its group, from the earliest record when the
    group has committed nothing; fetches answered every FETCH_WAIT_MS (see above)."""
    return {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": "false", "fetch.max.wait.ms": str(FETCH_WAIT_MS),
            "fetch.min.bytes": str(FETCH_MIN_BYTES_NEVER_REACHED),
            "max.partition.fetch.bytes": str(FETCH_MAX_PARTITION_BYTES)}


def _record(row) -> tuple[str, int, ks.Record]:
    headers = ks.header_map((h.key, h.value) for h in (row.headers or ()))
    return row.topic, int(row.partition), ks.Record(int(row.offset), int(row.timestamp), row.value, headers)


class RecordSetsFn(beam.DoFn):
    """Kafka records (Beam Rows with metadata) -> RecordSets per topic partition (module doc)."""

    def __init__(self, formats: ks.TopicFormats, max_records: int = MAX_RECORDS):
        self.formats = formats
        self.max_records = max_records
        self.records = Metrics.counter("vigie.stream", "records")
        self.heartbeats = Metrics.counter("vigie.stream", "heartbeats")
        self.latest = Metrics.gauge("vigie.stream", "latest_record_ms")

    def start_bundle(self):
        self.pending: dict[tuple[str, int], list[ks.Record]] = defaultdict(list)

    def _unit(self, key: tuple[str, int]) -> WindowedValue:
        records = self.pending.pop(key)
        unit = ks.record_set(key[0], key[1], records, self.formats)
        first = int(unit.timestamps.min())
        self.latest.set(int(unit.timestamps.max()))
        return WindowedValue(unit, Timestamp(micros=first * 1000), [GlobalWindow()])

    def process(self, row):
        topic, partition, record = _record(row)
        if record.heartbeat:
            self.heartbeats.inc()
            return
        self.records.inc()
        bucket = self.pending[(topic, partition)]
        bucket.append(record)
        if len(bucket) >= self.max_records:
            yield self._unit((topic, partition))

    def finish_bundle(self):
        for key in list(self.pending):
            if self.pending[key]:
                yield self._unit(key)


class ReadKafkaUnits(beam.PTransform):
    """Kafka topics -> RecordSets (see the module docstring)."""

    def __init__(self, address: ks.KafkaAddress, group: str, expansion_service: str,
                 formats: ks.TopicFormats, max_num_records: int | None = None):
        super().__init__()
        self.address = address
        self.group = group
        self.expansion_service = expansion_service
        self.formats = formats
        self.max_num_records = max_num_records

    def expand(self, pbegin):
        extra = {"max_num_records": self.max_num_records} if self.max_num_records else {}
        return (pbegin
                | "ReadFromKafka" >> ReadFromKafka(
                    consumer_config=consumer_config(self.address.bootstrap, self.group),
                    topics=list(self.address.topics), with_metadata=True,
                    commit_offset_in_finalize=True, timestamp_policy=ReadFromKafka.create_time_policy,
                    expansion_service=self.expansion_service, **extra)
                | "RecordSets" >> beam.ParDo(RecordSetsFn(self.formats)))


class TrackSettledFn(beam.DoFn):
    """Units -> nothing; Beam gauges of how far event time is settled: vigie.stream/latest_ms
    (the latest line time read) and vigie.stream/settled_ms (every line up to that time has gone
    through every stateful step, whose longest wait is `settle_ms`)."""

    LATEST = userstate.ReadModifyWriteStateSpec("latest_ms", VarIntCoder())
    SETTLE = userstate.TimerSpec("settle", TimeDomain.WATERMARK)

    def __init__(self, settle_ms: int):
        self.settle_ms = settle_ms
        self.latest_gauge = Metrics.gauge("vigie.stream", "latest_ms")
        self.settled_gauge = Metrics.gauge("vigie.stream", "settled_ms")

    def process(self, element, latest=beam.DoFn.StateParam(LATEST), settle=beam.DoFn.TimerParam(SETTLE)):
        _, unit = element
        newest = unit_latest_ms(unit)
        if newest is not None and newest > (latest.read() or 0):
            latest.write(newest)
            self.latest_gauge.set(newest)
            settle.set(Timestamp(micros=(newest + self.settle_ms) * 1000))

    @userstate.on_timer(SETTLE)
    def on_settle(self, fired=beam.DoFn.TimestampParam):
        self.settled_gauge.set(fired.micros // 1000 - self.settle_ms)


def unit_latest_ms(unit) -> int | None:
    """The latest record time of a unit (Kafka record sets), None for other units."""
    stamps = getattr(unit, "timestamps", None)
    return int(stamps.max()) if stamps is not None and len(stamps) else None


class TrackSettled(beam.PTransform):
    """Units -> the settled-time gauges (TrackSettledFn)."""

    def __init__(self, settle_ms: int):
        super().__init__()
        self.settle_ms = settle_ms

    def expand(self, units):
        return (units
                | "OneKey" >> beam.Map(lambda unit: (b"units", unit))
                | "UnitsInGlobalWindow" >> beam.WindowInto(GlobalWindows())
                | "Settled" >> beam.ParDo(TrackSettledFn(self.settle_ms)))


def plan_new_file(metadata, timezone: str, forced_format: str | None):
    """A file that appeared in the watched folder -> its slice (the whole file), or nothing when
    it cannot be read (one log line says why; the folder's next files go on)."""
    path = metadata.path
    if os.path.basename(path).startswith("."):
        return
    try:
        plan = plan_inputs([path], forced_format, 1 << 62, None, timezone)
    except VigieError as error:
        LOG.warning("vigie stream: %s is left out: %s", path, error)
        return
    yield from plan.slices


class WatchFolderUnits(beam.PTransform):
    """New files of a folder -> whole-file slices (see the module docstring)."""

    def __init__(self, folder: str, interval_s: float, timezone: str, forced_format: str | None):
        super().__init__()
        self.folder = folder
        self.interval_s = interval_s
        self.timezone = timezone
        self.forced_format = forced_format

    def expand(self, pbegin):
        return (pbegin
                | "MatchNewFiles" >> fileio.MatchContinuously(os.path.join(self.folder, "*"),
                                                              interval=self.interval_s)
                | "PlanNewFiles" >> beam.FlatMap(plan_new_file, self.timezone, self.forced_format))
