"""Kafka as a source of lines: record sets (a unit of lines, sources/units.py), the headers a
shipper sets, topic -> format, and the `kafka://` address (pure, no Beam).

A record's value is one raw log line as a log shipper sends it. Headers (all optional):
    vigie.format     the line's format (`apache_combined`, or the dataset `web.apache_combined`)
    vigie.file_key   16 hex chars: the key of the file the line was read from (sources/files.py)
    vigie.offset     the line's byte offset in that file (decimal)
    vigie.path       that file's path
    vigie.w3c.fields the W3C `#Fields:` list in force for that line (space separated)
    vigie.heartbeat  a shipper's heartbeat: no line; it only moves the partition's event time on
The format comes from the header, else from the topic (`--topic-format TOPIC=FORMAT`, else a
topic named after a dataset or a format: `web.apache_combined`, `apache_combined`).

The event-id contract (pipelines.model): a record carrying vigie.file_key and vigie.offset gets
the id that line gets when its file is replayed (file key + offset); any other record the
content-and-coordinates id `stream_event_id(topic, partition, offset, line)`. Events carry
log.file.path/log.offset from the headers (else kafka://TOPIC/PARTITION and the Kafka offset) and
vigie.stream.topic/partition/offset; dead letters have origin kind kafka and those coordinates.

    parse_source(text) -> KafkaAddress            "kafka://HOST:PORT/T1,T2"
    TopicFormats(mapping).resolve(topic, header) -> format name or None
    RecordSet(...)                                 a unit: records of one topic partition, in order
    record_set(topic, partition, records, formats) -> RecordSet   from (offset, ms, value, headers)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa

from pipelines.errors import VigieError
from pipelines.model import stream_event_id
from pipelines.parsing import format_by_name
from pipelines.sources.units import LineOrigin, UnitBatch

HEADER_FORMAT = "vigie.format"
HEADER_FILE_KEY = "vigie.file_key"
HEADER_OFFSET = "vigie.offset"
HEADER_PATH = "vigie.path"
HEADER_W3C_FIELDS = "vigie.w3c.fields"
HEADER_HEARTBEAT = "vigie.heartbeat"
HEADERS = (HEADER_FORMAT, HEADER_FILE_KEY, HEADER_OFFSET, HEADER_PATH, HEADER_W3C_FIELDS)
_HEX16 = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class KafkaAddress:
    """A `kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]` address: bootstrap servers and topics."""

    bootstrap: str
    topics: tuple[str, ...]


_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


def parse_source(text: str, need_topics: bool = True) -> KafkaAddress:
    """`kafka://HOST:PORT[/TOPIC,...]` -> KafkaAddress; VigieError (one line) when malformed."""
    if not text.startswith("kafka://"):
        raise VigieError(f"{text!r} is not a Kafka address; write kafka://HOST:PORT/TOPIC[,TOPIC]")
    rest = text[len("kafka://"):]
    servers, _, topics = rest.partition("/")
    hosts = [s for s in servers.split(",") if s]
    if not hosts or any(not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}", h) for h in hosts):
        raise VigieError(f"{text!r}: give the broker as HOST:PORT, e.g. kafka://127.0.0.1:9092/TOPIC")
    names = tuple(t for t in topics.split(",") if t)
    for name in names:
        if not _TOPIC.fullmatch(name):
            raise VigieError(f"{text!r}: {name!r} is not a valid Kafka topic name")
    if need_topics and not names:
        raise VigieError(f"{text!r} names no topic; write kafka://HOST:PORT/TOPIC[,TOPIC]")
    return KafkaAddress(",".join(hosts), names)


def _known_format(name: str) -> str | None:
    """A format name or dataset (`web.apache_combined`) -> the format name, if Vigie knows it."""
    fmt = format_by_name(name)
    if fmt is None and "." in name:
        fmt = format_by_name(name.split(".", 1)[1])
        fmt = fmt if fmt is not None and fmt.dataset == name else None
    return fmt.name if fmt is not None else None


@dataclass(frozen=True)
class TopicFormats:
    """Which format a topic's lines are in: `mapping` (from --topic-format) first, then the
    topic's own name (a dataset or a format name)."""

    mapping: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_flags(cls, values: Sequence[str] | None) -> "TopicFormats":
        """`TOPIC=FORMAT` flag values -> TopicFormats; VigieError for a malformed or unknown one."""
        mapping = {}
        for value in values or ():
            topic, sep, name = value.partition("=")
            if not sep or not topic or not name:
                raise VigieError(f"--topic-format {value!r}: write TOPIC=FORMAT, e.g. web=apache_combined")
            known = _known_format(name)
            if known is None:
                raise VigieError(f"--topic-format {value!r}: unknown format {name!r}")
            mapping[topic] = known
        return cls(mapping)

    def resolve(self, topic: str, header: str | None) -> str | None:
        """The format of a record of `topic` whose vigie.format header is `header` (or None)."""
        if header:
            return _known_format(header)
        return self.mapping.get(topic) or _known_format(topic)


def family_of(format_name: str | None) -> str:
    """mail, web, vpn for a known format; unknown otherwise."""
    return format_by_name(format_name).family if format_name else "unknown"


def partition_key(topic: str, partition: int) -> str:
    """16 hex chars standing for a topic partition (the 'file key' of records without one)."""
    return hashlib.blake2b(f"kafka\x00{topic}\x00{partition}".encode(), digest_size=8).hexdigest()


def partition_path(topic: str, partition: int) -> str:
    """log.file.path of records that carry no file origin."""
    return f"kafka://{topic}/{partition}"


@dataclass(frozen=True)
class RecordSet:
    """Records of one topic partition, in offset order: a unit of lines (sources/units.py).

    Per record: Kafka offset, timestamp (ms), value (the line), resolved format name, and the
    shipper's file key, path, byte offset and W3C fields when its headers carry them."""

    topic: str
    partition: int
    offsets: np.ndarray  # int64, Kafka offsets
    timestamps: np.ndarray  # int64, record timestamps (ms)
    values: pa.BinaryArray
    formats: tuple[str | None, ...]
    file_keys: tuple[str | None, ...]
    paths: tuple[str | None, ...]
    file_offsets: np.ndarray  # int64, -1 where the record carries none
    w3c_fields: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def unit_id(self) -> str:
        """Deterministic: the same records always give the same name."""
        first, last = (int(self.offsets[0]), int(self.offsets[-1])) if len(self) else (0, -1)
        return f"kafka-{self.topic}-{self.partition}-{first:012d}-{last:012d}"

    def _has_origin(self, i: int) -> bool:
        return self.file_keys[i] is not None and self.file_offsets[i] >= 0

    def _run_key(self, i: int) -> tuple:
        origin = self._has_origin(i)
        return (self.formats[i], origin, self.file_keys[i] if origin else None,
                (self.paths[i] or "") if origin else None)

    def groups(self) -> list[np.ndarray]:
        """Record indices per format and file (records without file origin: per format), each
        in offset order; groups in the order of their first record."""
        found: dict[tuple, list[int]] = {}
        for i in range(len(self)):
            found.setdefault(self._run_key(i), []).append(i)
        return [np.array(rows, dtype=np.int64) for rows in found.values()]

    def batches(self, settings=None) -> Iterator[UnitBatch]:
        """One UnitBatch per format and file (see groups()): a file's lines are parsed together
        and in order, whatever other files share the partition."""
        for rows in self.groups():
            yield self._batch(rows)

    def _batch(self, rows: np.ndarray) -> UnitBatch:
        first = int(rows[0])
        fmt = self.formats[first]
        picked = pa.array(rows)
        lines = _without_line_ends(self.values.take(picked))
        record_offsets = self.offsets[rows]
        reference = dt.datetime.fromtimestamp(int(self.timestamps[rows].max()) / 1000, dt.timezone.utc)
        fields = tuple(self.w3c_fields[first].split()) if self.w3c_fields[first] else None
        if self._has_origin(first):
            origin = LineOrigin(self.paths[first] or partition_path(self.topic, self.partition),
                                self.file_keys[first], fmt, family_of(fmt), fields, reference,
                                self.topic, self.partition)
            return UnitBatch(lines, self.file_offsets[rows], origin, record_offsets=record_offsets)
        origin = LineOrigin(partition_path(self.topic, self.partition),
                            partition_key(self.topic, self.partition), fmt, family_of(fmt), fields,
                            reference, self.topic, self.partition)
        ids = pa.array([stream_event_id(self.topic, self.partition, int(o), v or b"")
                        for o, v in zip(record_offsets.tolist(), lines.to_pylist())], pa.string())
        return UnitBatch(lines, record_offsets.copy(), origin, ids=ids, record_offsets=record_offsets)


def _without_line_ends(values: pa.BinaryArray) -> pa.BinaryArray:
    """Values with one trailing '\\n' (and a '\\r' before it) removed; null values as empty."""
    import pyarrow.compute as pc
    values = pc.fill_null(values, b"")
    values = pc.replace_substring_regex(values, rb"\r?\n$", b"")
    return values


def header_map(headers: Iterable[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """The vigie.* headers of a record as text (the last value of a repeated key wins)."""
    found = {}
    for key, value in headers or ():
        if key in HEADERS or key == HEADER_HEARTBEAT:
            found[key] = (value or b"").decode("utf-8", "replace")
    return found


@dataclass(frozen=True)
class Record:
    """One record as the source gives it: Kafka offset, timestamp (ms), value, vigie headers."""

    offset: int
    timestamp_ms: int
    value: bytes | None
    headers: Mapping[str, str]

    @property
    def heartbeat(self) -> bool:
        return HEADER_HEARTBEAT in self.headers


def record_set(topic: str, partition: int, records: Sequence[Record], formats: TopicFormats) -> RecordSet:
    """Records of one topic partition (heartbeats already removed) -> a RecordSet, in offset order."""
    records = sorted(records, key=lambda r: r.offset)
    file_keys, file_offsets = [], []
    for r in records:
        key, offset = r.headers.get(HEADER_FILE_KEY), r.headers.get(HEADER_OFFSET)
        valid = key is not None and _HEX16.fullmatch(key) and offset is not None and offset.isdigit()
        file_keys.append(key if valid else None)
        file_offsets.append(int(offset) if valid else -1)
    return RecordSet(
        topic=topic, partition=partition,
        offsets=np.array([r.offset for r in records], dtype=np.int64),
        timestamps=np.array([r.timestamp_ms for r in records], dtype=np.int64),
        values=pa.array([r.value for r in records], pa.binary()),
        formats=tuple(formats.resolve(topic, r.headers.get(HEADER_FORMAT)) for r in records),
        file_keys=tuple(file_keys), paths=tuple(r.headers.get(HEADER_PATH) for r in records),
        file_offsets=np.array(file_offsets, dtype=np.int64),
        w3c_fields=tuple(r.headers.get(HEADER_W3C_FIELDS) for r in records))
