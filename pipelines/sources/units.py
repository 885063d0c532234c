"""Units of lines: what ParseLines reads, whatever the source (pure data, no Beam).

A unit is a piece of input that one DoFn call reads and parses in order: a planned file slice
(sources/files.py: FileSlice) or a set of Kafka records of one topic partition
(sources/kafka.py: RecordSet). Both implement `LineUnit`:

    unit.unit_id            deterministic name; output tables are named `<unit_id>-<batch number>`
    unit.batches(settings)  -> UnitBatch, in source order

A `UnitBatch` is raw lines of ONE source (a file, or one file's lines inside a stream partition)
with everything needed to read them (`LineOrigin`: path, file key, format, W3C fields in force,
reference time for syslog years, stream coordinates), so that sources/ingest.py screens and
parses every unit through the same code.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator, Protocol

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class LineOrigin:
    """Where a batch of raw lines comes from and how to read it.

    path/file_key: the file (for stream records: the shipper's file when its headers say so, else
    kafka://TOPIC/PARTITION and a key of the partition); format_name None: not recognised (the
    lines are dead-lettered); w3c_fields: the W3C `#Fields:` in force at the batch's first line;
    topic/partition: set for lines read from a stream (each line's record offset is in the batch).
    """

    path: str
    file_key: str
    format_name: str | None
    family: str
    w3c_fields: tuple[str, ...] | None = None
    reference_time: dt.datetime | None = None
    topic: str | None = None
    partition: int | None = None

    @property
    def clock_key(self) -> str:
        """Lines sharing this key share one daylight-saving clock (file order)."""
        return self.file_key


@dataclass(frozen=True)
class UnitBatch:
    """Raw lines of one source, undecoded, in source order.

    `offsets`: each line's position (byte offset in the file; for records without file origin,
    the Kafka offset). `ids`: precomputed event ids (records without file origin), else derived
    from the file key and offsets. `record_offsets`: each line's Kafka offset (stream lines).
    `damaged`: set (and no lines) when a compressed file broke off here (detail, offset)."""

    lines: pa.BinaryArray
    offsets: np.ndarray
    origin: LineOrigin
    ids: pa.StringArray | None = None
    record_offsets: np.ndarray | None = None
    damaged: tuple[str, int] | None = None

    def __len__(self) -> int:
        return len(self.lines)


class ReadSettingsLike(Protocol):
    batch_bytes: int


class LineUnit(Protocol):
    """A unit of lines (see the module docstring)."""

    @property
    def unit_id(self) -> str: ...

    def batches(self, settings: ReadSettingsLike) -> Iterator[UnitBatch]: ...
