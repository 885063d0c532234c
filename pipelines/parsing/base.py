"""The contract every log parser follows, and the vectorised helpers they share.

A parser is a pure function `parse(batch: LineBatch, ctx: ParseContext) -> ParseResult`:
- in: a batch of decoded lines of ONE file (Arrow string array, no line terminators), the byte
  offset of each line, the file's path and key, and the reading context (timezone, reference time
  for syslog year inference, W3C field list in force at the start of the batch);
- out: events (Arrow table conforming to `event_schema()`), dead letters (Arrow table conforming
  to schemas/deadletters.yml, built with pipelines.model.dead_letters), lines skipped with a reason, and optional fragments (event rows to be
  stitched by key, e.g. the lines of one Postfix message).
Every input line ends up in exactly one of: an event or a fragment (each carries `vigie.lines`),
a dead letter (each carries `lines`), or the skipped counts. Parsers never raise on content.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.model import FILE, KAFKA, dead_letters
from pipelines.schema import dead_letter_schema, event_schema

STITCH_KEY = "vigie.stitch_key"
STREAM_FIELDS = ("vigie.stream.topic", "vigie.stream.partition", "vigie.stream.offset")


@dataclass(frozen=True)
class StreamOrigin:
    """Stream coordinates of a batch's lines: the Kafka topic and partition they were read from,
    and each line's record offset."""

    topic: str
    partition: int
    offsets: np.ndarray  # int64, one per line

    def take(self, rows: np.ndarray) -> "StreamOrigin":
        return replace(self, offsets=self.offsets[rows])


@dataclass(frozen=True)
class LineBatch:
    """Decoded lines of ONE source (a file, or one partition of a stream), in source order.

    `path` is what events carry as log.file.path and `file_key` (16 hex chars) identifies the
    source's content (sources.files.file_key for a file); `offsets` is each line's position (byte
    offset in the decompressed file). `raw` holds, for lines that were not valid UTF-8, their
    exact bytes (null for the others; None when every line was valid): such lines reach the
    parser decoded with backslash escapes (b"\\xe9" -> "\\\\xe9"). `ids` are the event ids when
    the source computed them (stream records, see pipelines.model); else they are derived from
    the key and the offsets. `stream` holds the Kafka coordinates of lines read from a stream
    (None for files): events carry them (vigie.stream.*) and dead letters name them as origin.
    Parsers read `lines`, take sub-batches with `take`, and leave ids and origins to
    build_events / build_dead_letters.
    """

    path: str
    file_key: str
    lines: pa.StringArray
    offsets: np.ndarray  # int64, byte offset of each line in the (decompressed) file
    raw: pa.BinaryArray | None = None
    ids: pa.StringArray | None = None
    stream: StreamOrigin | None = None

    def __len__(self) -> int:
        return len(self.lines)

    def take(self, rows: np.ndarray) -> "LineBatch":
        """The sub-batch of `rows` (indices, in the order given)."""
        idx = np.asarray(rows, dtype=np.int64)
        picked = pa.array(idx)
        return replace(self, lines=self.lines.take(picked), offsets=self.offsets[idx],
                       raw=self.raw.take(picked) if self.raw is not None else None,
                       ids=self.ids.take(picked) if self.ids is not None else None,
                       stream=self.stream.take(idx) if self.stream is not None else None)

    def event_ids(self) -> pa.StringArray:
        """The event id of every line (see pipelines.model for the contract)."""
        return self.ids if self.ids is not None else event_ids(self.file_key, self.offsets)

    def origin_columns(self) -> dict[str, Any]:
        """The origin_* arguments of `dead_letters` for every line: the file and byte offset,
        or for stream lines the topic, partition and record offset (and the shipper's path)."""
        if self.stream is None:
            return {"origin_kind": FILE, "origin_path": self.path,
                    "origin_offset": pa.array(self.offsets, pa.int64())}
        return {"origin_kind": KAFKA, "origin_path": self.path,
                "origin_offset": pa.array(self.stream.offsets, pa.int64()),
                "origin_topic": self.stream.topic, "origin_partition": self.stream.partition}


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs beyond the lines: how to read local times, and W3C headers."""

    timezone: str = "UTC"
    # Syslog lines carry no year: the year is chosen so that the timestamp is not later than
    # this instant (plus a small slack); defaults to the file's modification time.
    reference_time: dt.datetime = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)
    w3c_fields: tuple[str, ...] | None = None


@dataclass
class ParseResult:
    """What a parser made of a batch (see the module docstring)."""

    events: pa.Table
    dead_letters: pa.Table
    skipped: dict[str, int] = field(default_factory=dict)
    fragments: pa.Table | None = None  # event columns + STITCH_KEY

    def lines_accounted(self) -> int:
        """Lines carried by events, fragments, dead letters and skips (must equal the input)."""
        total = sum(self.skipped.values())
        for table, column in ((self.events, "vigie.lines"), (self.fragments, "vigie.lines"),
                              (self.dead_letters, "lines")):
            if table is not None and table.num_rows:
                total += pc.sum(table[column]).as_py() or 0
        return total


@dataclass(frozen=True)
class LogFormat:
    """A supported log format: its name, family, detector and parser."""

    name: str  # e.g. apache_combined; event.dataset is "<family>.<name>"
    family: str  # mail, web or vpn
    parse: Callable[[LineBatch, ParseContext], ParseResult]
    # Fraction (0..1) of the sample lines (non-blank, from the file's start) this format reads.
    detect: Callable[[list[str]], float]
    observer: Mapping[str, str] = field(default_factory=dict)  # observer.product/vendor/type
    stitched: bool = False  # emits fragments that must be stitched by STITCH_KEY

    @property
    def dataset(self) -> str:
        return f"{self.family}.{self.name}"


# ---------------------------------------------------------------------------------------------
# Building output tables
# ---------------------------------------------------------------------------------------------

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def event_ids(file_key: str, offsets: np.ndarray) -> pa.StringArray:
    """Deterministic event ids, vectorised: the 16-hex file key followed by the 16-hex offset."""
    n = len(offsets)
    raw = np.ascontiguousarray(offsets, dtype=">u8").view(np.uint8).reshape(n, 8)
    out = np.empty((n, 32), dtype=np.uint8)
    out[:, :16] = np.frombuffer(file_key.encode("ascii"), dtype=np.uint8)
    out[:, 16::2] = _HEX[raw >> 4]
    out[:, 17::2] = _HEX[raw & 15]
    value_offsets = np.arange(0, 32 * (n + 1), 32, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(value_offsets), pa.py_buffer(out.tobytes()))


# Absent columns and constant columns (dataset, path, ...) are slices of one shared array per
# type and value: an event table has ~140 columns, most of them null, and allocating a fresh
# column of nulls or of one repeated value for each cost more than its real columns.
_SHARED: dict[tuple[pa.DataType, Any], pa.Array] = {}
_SHARED_BYTES = 64 * 1024 * 1024  # the cache is emptied when its columns would hold more


def _shared(n: int, ftype: pa.DataType, value: Any = None) -> pa.Array:
    """n rows of `value` (None: nulls) of type ftype, as a slice of a shared column."""
    key = (ftype, value)
    column = _SHARED.get(key)
    if column is None or len(column) < n:
        size = max(n, 2 * len(column) if column is not None else 0, 1024)
        column = pa.nulls(size, ftype) if value is None else pa.repeat(pa.scalar(value, type=ftype), size)
        if sum(c.nbytes for c in _SHARED.values()) + column.nbytes > _SHARED_BYTES:
            _SHARED.clear()
        _SHARED[key] = column
    return column.slice(0, n)


def _column(value: Any, n: int, ftype: pa.DataType) -> pa.Array:
    """A value for one event column: an array of length n, or a scalar broadcast to n rows."""
    if value is None:
        return _shared(n, ftype)
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if isinstance(value, pa.Array):
        if len(value) != n:
            raise ValueError(f"column has {len(value)} rows, expected {n}")
        if value.type != ftype:
            if pa.types.is_list(ftype) and not pa.types.is_list(value.type):
                value = as_list(value)
            value = value.cast(ftype)
        return value
    if pa.types.is_list(ftype) and not isinstance(value, (list, tuple)):
        value = [value]
    if isinstance(value, (str, int, float, bool)):
        return _shared(n, ftype, value)
    return pa.repeat(pa.scalar(value, type=ftype), n)


def as_list(values: pa.Array) -> pa.Array:
    """Wrap each non-null value in a one-element list (null stays null), vectorised."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    n = len(values)
    valid = values.is_valid()
    flat = values.filter(valid)
    counts = np.asarray(valid.cast(pa.int32()).fill_null(0), dtype=np.int32)
    offs = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offs[1:])
    mask = pc.invert(valid)
    return pa.ListArray.from_arrays(pa.array(offs), flat, mask=mask)


def build_events(batch: LineBatch, rows: np.ndarray | pa.Array | None, fmt: LogFormat,
                 timestamp: pa.Array, columns: Mapping[str, Any],
                 extra: Mapping[str, pa.Array] | None = None) -> pa.Table:
    """Assemble event rows for `rows` (indices into batch; None = all rows).

    `timestamp` and every array in `columns` have one value per selected row; scalars are
    broadcast. Adds the columns every event has (@timestamp, event.id, event.dataset,
    event.module, event.original, log.file.path, log.offset, vigie.lines, vigie.format,
    observer.*; vigie.stream.* for stream lines) and conforms to `event_schema()`. `extra` columns (e.g. STITCH_KEY) are appended.
    """
    if rows is not None:
        batch = batch.take(rows)
    n = len(batch)
    given: dict[str, Any] = {"event.kind": "event", "event.timezone": None}
    given.update({f"observer.{k}": v for k, v in fmt.observer.items()})
    given.update(columns)
    given.update({
        "@timestamp": timestamp,
        "event.id": batch.event_ids(),
        "event.dataset": fmt.dataset,
        "event.module": fmt.family,
        "event.original": batch.lines,
        "log.file.path": batch.path,
        "log.offset": pa.array(batch.offsets, type=pa.int64()),
        "vigie.lines": 1,
        "vigie.format": fmt.name,
    })
    if batch.raw is not None:
        given["vigie.line.raw"] = batch.raw
        given["vigie.line.invalid_utf8"] = pc.if_else(pc.is_valid(batch.raw), True, None)
    if batch.stream is not None:
        given.update(zip(STREAM_FIELDS, (batch.stream.topic, batch.stream.partition,
                                         pa.array(batch.stream.offsets, pa.int64()))))
    schema = event_schema()
    unknown = set(given) - set(schema.names)
    if unknown:
        raise KeyError(f"{fmt.name} parser sets fields not in schemas/: {sorted(unknown)}")
    arrays = [_column(given.get(f.name), n, f.type) for f in schema]
    table = pa.Table.from_arrays(arrays, schema=schema)
    for name, arr in (extra or {}).items():
        table = table.append_column(name, arr)
    return table


def empty_events() -> pa.Table:
    """An event table with no rows."""
    return event_schema().empty_table()


def build_dead_letters(batch: LineBatch, rows: np.ndarray | pa.Array, reason: str | pa.Array,
                       fmt: LogFormat | None, family: str | None = None,
                       stage: str = "parse", detail: str | pa.Array | None = None) -> pa.Table:
    """Dead letters for `rows` (indices into batch), one per line, with reason and origin."""
    idx = np.asarray(rows, dtype=np.int64)
    if len(idx) == 0:
        return no_dead_letters()
    part = batch.take(idx)
    raw = part.lines.cast(pa.binary())
    if part.raw is not None:
        raw = pc.coalesce(part.raw, raw)
    return dead_letters(len(idx), stage=stage, reason=reason, detail=detail,
                        family=fmt.family if fmt else family, format=fmt.name if fmt else None,
                        id=part.event_ids(), raw=raw, raw_text=part.lines, **part.origin_columns())


def no_dead_letters() -> pa.Table:
    """A dead-letter table with no rows."""
    return dead_letter_schema().empty_table()


def indices(mask: pa.Array | np.ndarray) -> np.ndarray:
    """Row indices where a boolean mask is true (nulls count as false)."""
    if isinstance(mask, (pa.Array, pa.ChunkedArray)):
        mask = np.asarray(mask.fill_null(False), dtype=bool) if len(mask) else np.zeros(0, bool)
    return np.flatnonzero(mask)


# ---------------------------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------------------------

TS_TYPE = pa.timestamp("ms", tz="UTC")


_DIRECTIVE_PATTERNS = {"%d": r"(?:29|30|31)", "%b": r"[A-Za-z]{3}", "%m": r"\d{1,2}", "%Y": r"\d{4}",
                       "%y": r"\d{2}", "%H": r"\d{1,2}", "%M": r"\d{1,2}", "%S": r"\d{1,2}",
                       "%z": r"(?:[+-]\d\d:?\d\d|Z)", "%%": "%"}


def _late_day_pattern(fmt: str) -> str | None:
    """An RE2 pattern matching `fmt`'s strings whose day of month is 29, 30 or 31 (None: no %d)."""
    if "%d" not in fmt:
        return None
    parts = re.split(r"(%.)", fmt)
    return "^" + "".join(_DIRECTIVE_PATTERNS.get(p, ".*?") if p.startswith("%") and len(p) == 2
                         else re.escape(p) for p in parts if p)


def _reject_impossible_dates(strings: pa.Array, parsed: pa.Array, fmt: str) -> pa.Array:
    """Null out dates that do not exist (Feb 30, Nov 31): Arrow's strptime rolls them over.

    Only strings whose day is 29-31 can be impossible; their distinct values are checked with
    Python's strptime, which refuses them.
    """
    pattern = _late_day_pattern(fmt)
    if pattern is None or len(strings) == 0:
        return parsed
    late = pc.fill_null(pc.match_substring_regex(strings, pattern), False)
    if not pc.any(late).as_py():
        return parsed
    impossible = []
    for value in pc.unique(strings.filter(late)).to_pylist():
        try:
            dt.datetime.strptime(value, fmt)
        except ValueError as exc:
            if "day is out of range" in str(exc):
                impossible.append(value)
    if not impossible:
        return parsed
    return pc.if_else(pc.is_in(strings, pa.array(impossible, pa.string())),
                      pa.scalar(None, parsed.type), parsed)


def parse_zoned(strings: pa.Array, fmt: str) -> pa.Array:
    """Strings carrying their own UTC offset (strptime `fmt` with %z) -> UTC timestamps.

    Unparseable values and impossible dates become null (the caller dead-letters them).
    """
    parsed = pc.strptime(strings, format=fmt, unit="ms", error_is_null=True)
    return _reject_impossible_dates(strings, parsed, fmt).cast(TS_TYPE)


def parse_local(strings: pa.Array, fmt: str, timezone: str) -> pa.Array:
    """Strings in local wall-clock time (no offset) -> UTC timestamps, reading them in `timezone`.

    Daylight-saving changes: a wall-clock time that does not exist (spring forward) is read as
    the instant just before the gap closes; a time that occurs twice (fall back) is read as its
    first occurrence here, and pipelines/parsing/clock.py decides per file, in file order, which
    ones are the second (parsers set event.timezone on rows read in local time for that).
    """
    naive = pc.strptime(strings, format=fmt, unit="ms", error_is_null=True)
    return local_to_utc(_reject_impossible_dates(strings, naive, fmt), timezone)


def local_to_utc(naive: pa.Array, timezone: str) -> pa.Array:
    """Naive wall-clock timestamps in `timezone` -> UTC (first occurrence of repeated times)."""
    naive = naive.cast(pa.timestamp("ms"))
    if timezone in ("UTC", "Etc/UTC", "Z"):
        return naive.cast(TS_TYPE)
    return pc.assume_timezone(naive, timezone=timezone, ambiguous="earliest",
                              nonexistent="earliest").cast(TS_TYPE)


_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def parse_syslog(strings: pa.Array, ctx: ParseContext) -> pa.Array:
    """Syslog 'Mmm dd HH:MM:SS' (no year, no zone; fractions allowed) -> UTC timestamps.

    The zone is ctx.timezone. The year is ctx.reference_time's year, or the year before when
    that would put the line more than two days after the reference (so a file spanning New Year,
    read with a reference in January, puts its December lines in the previous year).
    """
    strings = pc.utf8_trim_whitespace(strings)
    # normalise "Feb  1" -> "Feb 1"; drop fractional seconds (kept out of the ms precision)
    strings = pc.replace_substring_regex(strings, r"\s+", " ")
    strings = pc.replace_substring_regex(strings, r"^(\S+ \d+ \d\d:\d\d:\d\d)\.\d+$", r"\1")
    ref = ctx.reference_time.astimezone(dt.timezone.utc)
    limit = ref + dt.timedelta(days=2)
    year = ref.year
    this_year = parse_local(pc.binary_join_element_wise(strings, pa.scalar(str(year)), " "),
                            "%b %d %H:%M:%S %Y", ctx.timezone)
    # The year before is read only where this year's reading is too late or fails (Feb 29 in
    # a non-leap year fails in one candidate and not in the other: take what parses).
    too_late = pc.greater(this_year, pa.scalar(limit, TS_TYPE))
    retry = np.asarray(too_late.fill_null(True), dtype=bool)
    if not retry.any():
        return this_year
    rows = pa.array(np.flatnonzero(retry))
    prev_year = parse_local(pc.binary_join_element_wise(strings.take(rows), pa.scalar(str(year - 1)), " "),
                            "%b %d %H:%M:%S %Y", ctx.timezone)
    position = np.cumsum(retry) - 1
    prev_year = prev_year.take(pa.array(position, mask=~retry))
    return pc.if_else(pa.array(retry), pc.coalesce(prev_year, this_year), this_year)
