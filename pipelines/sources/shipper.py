"""A small log shipper for tests, benchmarks and small sites: log files -> Kafka records.

`ship(inputs, address, ...)` plans the inputs as `vigie replay` does (format detection, file keys,
lines another input repeats are not sent), reads every line with its byte offset, parses each
file once to learn every line's event time, and produces each line as one record:
- topic: the one of the address, else the file's dataset (`web.apache_combined`); topics that do
  not exist are created with `partitions` partitions;
- key: the file key; partition: chosen from the file key, so a file's lines stay in order in one
  partition; the files are sent together, each in its own order, merged by event time (as a
  shipper tailing them live sends them), so every partition's event time moves forward together;
- headers: vigie.format, vigie.file_key, vigie.offset, vigie.path (and vigie.w3c.fields for W3C
  lines with a `#Fields:` in force), so the stream gives each line the id its replay gives;
- timestamp (CreateTime): the line's event time (a line without a time of its own takes the time
  of the line before it in its file), which is what the stream's watermark follows.
At the end (and every `heartbeat_s` while sending) every partition of every topic written gets
a heartbeat record (header vigie.heartbeat, no line) stamped with the latest event time sent, so
that partitions no file maps to do not hold the stream's event time back.
"""
from __future__ import annotations

import datetime as dt
import heapq
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import VigieError
from pipelines.parsing import format_by_name
from pipelines.parsing.clock import WallClock
from pipelines.sources import kafka as ks
from pipelines.sources.files import FileSlice, fields_in_force
from pipelines.sources.ingest import ReadSettings, parse_batch
from pipelines.sources.plan import plan_inputs
from pipelines.services import kafka_topics

NO_SPLIT = 1 << 62  # the shipper reads each file whole


@dataclass
class ShippedFile:
    """One file as records: where they go and what each carries."""

    path: str
    topic: str
    partition: int
    file_key: str
    format_name: str
    lines: pa.BinaryArray
    offsets: np.ndarray
    times_ms: np.ndarray
    w3c_fields: list[str | None]


@dataclass
class ShipReport:
    """What was sent: records per topic, files left out (and why), heartbeats."""

    records: dict[str, int] = field(default_factory=dict)
    files: list[tuple[str, str, int]] = field(default_factory=list)  # (path, topic, partition)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    heartbeats: int = 0
    latest_ms: int | None = None
    seconds: float = 0.0


def partition_of(file_key: str, partitions: int) -> int:
    """The partition a file's lines go to: a stable function of its key."""
    return zlib.crc32(file_key.encode("ascii")) % partitions


def line_times(piece: FileSlice, settings: ReadSettings) -> tuple[pa.BinaryArray, np.ndarray, np.ndarray]:
    """Every line of a slice: (raw lines, byte offsets, event time in ms). Lines that make no
    event of their own (dead letters, directives, blanks) take the time of the line before them
    (the first such lines, the first time of the file); a file with no time at all, its
    modification time."""
    fmt = format_by_name(piece.format_name) if piece.format_name else None
    clock = WallClock()
    lines, offsets, times = [], [], []
    for batch in piece.batches(settings):
        if batch.damaged is not None or not len(batch):
            continue
        out = parse_batch(batch, settings, fmt, clock)
        known = np.full(len(batch), np.nan)
        for table in (out.events, out.fragments):
            if table is not None and table.num_rows:
                at = np.searchsorted(batch.offsets, np.asarray(table["log.offset"]))
                stamps = pc.cast(table["@timestamp"], pa.int64()).to_numpy(zero_copy_only=False)
                known[at] = np.where(np.isnan(known[at]), stamps, known[at])
        lines.append(batch.lines)
        offsets.append(batch.offsets)
        times.append(known)
    if not lines:
        return pa.array([], pa.binary()), np.zeros(0, np.int64), np.zeros(0, np.int64)
    stamps = np.concatenate(times)
    valid = ~np.isnan(stamps)
    if not valid.any():
        stamps[:] = Path(piece.path).stat().st_mtime * 1000
    else:
        index = np.where(valid, np.arange(len(stamps)), 0)
        np.maximum.accumulate(index, out=index)
        filled = stamps[index]
        filled[: np.argmax(valid)] = stamps[np.argmax(valid)]
        stamps = filled
    return (pa.concat_arrays(lines), np.concatenate(offsets), stamps.astype(np.int64))


def _w3c_fields(piece: FileSlice, offsets: np.ndarray) -> list[str | None]:
    if not piece.w3c_directives:
        return [None] * len(offsets)
    out = []
    for offset in offsets.tolist():
        fields = fields_in_force(piece.w3c_directives, offset)
        out.append(" ".join(fields) if fields else None)
    return out


def prepare(inputs: list[str], address: ks.KafkaAddress, partitions: int, forced_format: str | None,
            timezone: str, reference: dt.datetime | None, report: ShipReport,
            say: Callable[[str], None]) -> list[ShippedFile]:
    """Plan and read the inputs -> one ShippedFile per file with lines to send."""
    plan = plan_inputs(inputs, forced_format, NO_SPLIT, reference, timezone)
    report.left_out += [(s.path, s.reason) for s in plan.skipped]
    settings = ReadSettings(timezone=timezone)
    topic = address.topics[0] if address.topics else None
    shipped = []
    for piece in plan.slices:
        if piece.format_name is None:
            report.left_out.append((piece.path, "log format not recognised (pass --format)"))
            continue
        fmt = format_by_name(piece.format_name)
        lines, offsets, times = line_times(piece, settings)
        if not len(lines):
            continue
        shipped.append(ShippedFile(piece.path, topic or fmt.dataset, partition_of(piece.file_key, partitions),
                                   piece.file_key, piece.format_name, lines, offsets, times,
                                   _w3c_fields(piece, offsets)))
    for info in plan.files:
        if info.overlap is not None and info.overlap.read_from < 0:
            report.left_out.append((info.path, f"all its lines are in {info.overlap.of_path}"))
    return shipped


def _merged_order(files: list[ShippedFile]) -> Iterator[tuple[int, int]]:
    """(file index, line index) of every line of every file: each file in its own order, the
    files merged by event time (what a shipper tailing them all at once sends)."""
    def lines(which: int, f: ShippedFile):
        return ((t, which, i) for i, t in enumerate(f.times_ms.tolist()))
    for _, which, i in heapq.merge(*(lines(w, f) for w, f in enumerate(files))):
        yield which, i


def heartbeat(producer, topics: dict[str, int], at_ms: int) -> int:
    """One heartbeat record (no line) stamped `at_ms` to every partition of `topics`."""
    sent = 0
    for topic, count in topics.items():
        for partition in range(count):
            producer.produce(topic, value=b"", partition=partition, timestamp=int(at_ms),
                             headers=[(ks.HEADER_HEARTBEAT, b"1")])
            sent += 1
    return sent


def _partitions(bootstrap: str, topics: set[str], partitions: int, timeout_s: float) -> dict[str, int]:
    """Create the topics that do not exist; the partition count of each."""
    kafka = kafka_topics._kafka()
    admin = kafka.admin.AdminClient({"bootstrap.servers": bootstrap})
    try:
        existing = admin.list_topics(timeout=timeout_s).topics
    except kafka.KafkaException as error:
        raise VigieError(f"Kafka at {bootstrap} does not answer ({error.args[0].str()}); is it running?") from None
    missing = {t: partitions for t in topics if t not in existing}
    if missing:
        kafka_topics.create_topics(bootstrap, missing, timeout_s)
        existing = admin.list_topics(timeout=timeout_s).topics
    return {t: len(existing[t].partitions) for t in topics}


def ship(inputs: list[str], to: str, partitions: int = 1, forced_format: str | None = None,
         timezone: str = "UTC", reference: dt.datetime | None = None, heartbeat_s: float = 5.0,
         timeout_s: float = 30.0, say: Callable[[str], None] = print,
         since_ms: int | None = None, until_ms: int | None = None) -> ShipReport:
    """Send every line of `inputs` to the Kafka address `to` (see the module docstring); with
    `since_ms` / `until_ms`, only the lines whose event time is in [since, until) (a shipper
    sending in steps: each line keeps the file key and offset it has in the whole file)."""
    address = ks.parse_source(to, need_topics=False)
    if len(address.topics) > 1:
        raise VigieError(f"{to!r}: ship sends to one topic (or, with none named, one per dataset)")
    started = time.monotonic()
    report = ShipReport()
    files = prepare(inputs, address, partitions, forced_format, timezone, reference, report, say)
    if not files:
        raise VigieError("nothing to ship: no input holds a line of a recognised format")
    counts = _partitions(address.bootstrap, {f.topic for f in files}, partitions, timeout_s)
    for f in files:
        f.partition = partition_of(f.file_key, counts[f.topic])
        report.files.append((f.path, f.topic, f.partition))
    kafka = kafka_topics._kafka()
    failures: list[str] = []

    def delivered(error, _message) -> None:
        if error is not None:
            failures.append(str(error))

    producer = kafka.Producer({"bootstrap.servers": address.bootstrap, "enable.idempotence": True,
                               "log_level": 3,
                               "linger.ms": 20, "batch.num.messages": 10000,
                               "message.timeout.ms": int(timeout_s * 1000)})
    latest, last_beat = None, time.monotonic()
    headers = [[(ks.HEADER_FORMAT, f.format_name.encode()), (ks.HEADER_FILE_KEY, f.file_key.encode()),
                (ks.HEADER_PATH, f.path.encode())] for f in files]
    values = [f.lines.to_pylist() for f in files]
    for which, i in _merged_order(files):
        f = files[which]
        at = int(f.times_ms[i])
        if (since_ms is not None and at < since_ms) or (until_ms is not None and at >= until_ms):
            continue
        extra = [(ks.HEADER_OFFSET, str(int(f.offsets[i])).encode())]
        if f.w3c_fields[i]:
            extra.append((ks.HEADER_W3C_FIELDS, f.w3c_fields[i].encode()))
        while True:
            try:
                producer.produce(f.topic, value=values[which][i], key=f.file_key.encode(),
                                 partition=f.partition, timestamp=at, headers=headers[which] + extra,
                                 on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        report.records[f.topic] = report.records.get(f.topic, 0) + 1
        latest = at if latest is None else max(latest, at)
        if heartbeat_s and time.monotonic() - last_beat > heartbeat_s:
            report.heartbeats += heartbeat(producer, counts, latest)
            last_beat = time.monotonic()
    if heartbeat_s and latest is not None:
        report.heartbeats += heartbeat(producer, counts, latest)
    left = producer.flush(timeout_s)
    if left or failures:
        raise VigieError(f"Kafka at {address.bootstrap} did not acknowledge {left + len(failures)} "
                         f"record(s) ({(failures or ['timeout'])[0]})")
    report.latest_ms = latest
    report.seconds = time.monotonic() - started
    return report
