"""The generic merge rules: fragments cut into sessions -> one event row per session, column-wise.

In: a fragments table and its `Sessions`. Out: an event table (event_schema(), one row per
session, in session order). Rules:
- order: by log.offset within a file; files by their earliest fragment time in the message,
  then path (a message may start at the end of a rotated file and end in the next one, whose
  offsets restart at 0, so offsets alone cannot order across files);
- @timestamp: the earliest; log.offset and log.file.path: of the first fragment;
- event.id: blake2b (16 bytes, 32 hex chars) of the stitch key and the first fragment's
  event.id, so a replay yields the same id;
- event.original: the raw lines in order, joined with "\\n"; vigie.lines: the sum;
- vigie.line.invalid_utf8: true when any line was not valid UTF-8; vigie.line.raw: then the
  exact bytes of the lines in order (those that were valid encoded as UTF-8) joined with
  b"\\n", else null;
- list fields: concatenated in order without repeats, except the per-attempt lists
  (PER_ATTEMPT_LISTS: one value per delivery attempt, repeats kept);
- every other field: the first non-null value in order.
Sorting, segment reductions and list flattening are numpy / Arrow kernels; Python runs once
per message only for the event id's hash.
"""
from __future__ import annotations

from hashlib import blake2b as _blake2b

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import STITCH_KEY
from pipelines.parsing.stitch.sessions import Sessions, plain, times_ms
from pipelines.schema import event_schema

PER_ATTEMPT_LISTS = frozenset({"vigie.mail.status", "vigie.mail.relay"})
_FIRST_FRAGMENT = frozenset({"log.offset", "log.file.path"})
_OWN_RULES = frozenset({"@timestamp", "event.id", "event.original", "vigie.lines",
                        "vigie.line.invalid_utf8", "vigie.line.raw"}) | _FIRST_FRAGMENT


class Ordered:
    """Fragments in message order: the rows of each session contiguous and in log order.

    The table is not reordered as a whole: `order` says which table row comes at each position,
    and columns are taken in that order only when a rule needs every value (`column`); rules
    that pick one row per session (first non-null) look at validity only.
    """

    def __init__(self, table: pa.Table, order: np.ndarray, session: np.ndarray):
        self.table = table  # the fragment rows as given (STITCH_KEY kept)
        self.order = order  # int64: the table row at each position
        self.session = session  # int64: the session at each position, non-decreasing
        self.starts = np.flatnonzero(np.diff(session, prepend=-1))  # first position of each
        self._order = pa.array(order)
        self._given: dict[str, pa.Array | None] = {}
        self._columns: dict[str, pa.Array] = {}

    @property
    def count(self) -> int:
        """How many messages."""
        return len(self.starts)

    @property
    def size(self) -> int:
        """How many fragments, over all messages."""
        return len(self.order)

    def type_of(self, name: str) -> pa.DataType:
        """The Arrow type of a column (the table's, else the event schema's)."""
        if name in self.table.column_names:
            return self.table.schema.field(name).type
        return event_schema().field(name).type

    def given(self, name: str) -> pa.Array | None:
        """A column in the table's own row order (None when it is missing or all null)."""
        if name not in self._given:
            column = self.table.column(name) if name in self.table.column_names else None
            self._given[name] = (None if column is None or column.null_count == len(column)
                                 else plain(column))
        return self._given[name]

    def column(self, name: str) -> pa.Array:
        """A column in message order (all null when the table lacks it)."""
        if name not in self._columns:
            values = self.given(name)
            self._columns[name] = (pa.nulls(self.size, self.type_of(name))
                                   if values is None else values.take(self._order))
        return self._columns[name]

    def first(self, name: str) -> pa.Array:
        """The column's value at the first position of each session."""
        values = self.given(name)
        if values is None:
            return pa.nulls(self.count, self.type_of(name))
        return values.take(pa.array(self.order[self.starts]))

    def lists(self, values: pa.Array) -> pa.ListArray:
        """One value per position -> per session, the list of its values in order."""
        offsets = np.append(self.starts, self.size).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), values)


def stitched_event_id(key: str, first_event_id: str) -> str:
    """Deterministic id of a stitched event: 32 hex chars from its key and first line's id."""
    return _blake2b(f"{key}\x00{first_event_id or ''}".encode("utf-8"), digest_size=16).hexdigest()


def order_in_log(table: pa.Table, sessions: Sessions) -> Ordered:
    """Rows grouped by session, each session in log order (files by their earliest time in the
    session then path, lines by offset; ties keep the table's order)."""
    n = table.num_rows
    session, times = sessions.ids, times_ms(table)
    paths = plain(table.column("log.file.path")).fill_null("")
    names = pc.unique(paths).sort()
    path_rank = np.asarray(pc.index_in(paths, value_set=names), dtype=np.int64)
    offsets = np.asarray(plain(table.column("log.offset")).fill_null(0), dtype=np.int64)
    if len(names) == 1:
        order = np.lexsort((offsets, session))
        return Ordered(table, order, session[order])
    # earliest time of each (session, file)
    pair = session * len(names) + path_rank
    by_pair = np.lexsort((times, pair))
    pair_sorted = pair[by_pair]
    first_of_pair = np.ones(n, dtype=bool)
    first_of_pair[1:] = pair_sorted[1:] != pair_sorted[:-1]
    group = np.cumsum(first_of_pair) - 1
    file_start = np.empty(n, dtype=np.int64)
    file_start[by_pair] = times[by_pair][first_of_pair][group]
    order = np.lexsort((offsets, path_rank, file_start, session))
    return Ordered(table, order, session[order])


def first_valid(name: str, ordered: Ordered) -> pa.Array:
    """Per session, the first non-null value of the column in message order (null when none)."""
    values = ordered.given(name)
    if values is None:
        return pa.nulls(ordered.count, ordered.type_of(name))
    if values.null_count == 0:
        return ordered.first(name)
    valid = np.asarray(values.is_valid(), dtype=bool)[ordered.order]
    n = ordered.size
    first = np.minimum.reduceat(np.where(valid, np.arange(n), n), ordered.starts)
    found = first < n
    rows = ordered.order[np.where(found, first, 0)]
    return values.take(pa.array(rows, mask=~found))


def any_per_session(mask: np.ndarray, ordered: Ordered) -> np.ndarray:
    """Per session, whether any of its positions is set in `mask` (one bool per position)."""
    if not len(mask):
        return np.zeros(ordered.count, dtype=bool)
    return np.logical_or.reduceat(mask, ordered.starts)


def merged_lists(name: str, ordered: Ordered, unique: bool) -> pa.Array:
    """Per session, its rows' lists concatenated in order (without repeats when `unique`);
    null when every row's list is null."""
    if ordered.given(name) is None:
        return pa.nulls(ordered.count, ordered.type_of(name))
    values = ordered.column(name)
    has_list = any_per_session(np.asarray(values.is_valid(), dtype=bool), ordered)
    items = pc.list_flatten(values)
    owner = ordered.session[np.asarray(pc.list_parent_indices(values), dtype=np.int64)]
    if unique and len(items):
        codes = np.asarray(items.dictionary_encode(null_encoding="encode").indices, dtype=np.int64)
        _, first = np.unique(owner * (int(codes.max()) + 1) + codes, return_index=True)
        keep = np.sort(first)
        items, owner = items.take(pa.array(keep)), owner[keep]
    offsets = np.zeros(ordered.count + 1, dtype=np.int32)
    np.cumsum(np.bincount(owner, minlength=ordered.count), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), items, mask=pa.array(~has_list)).cast(values.type)


def _in_order(name: str, ordered: Ordered, missing: object) -> np.ndarray:
    """A numeric column as numpy in message order, nulls read as `missing`."""
    values = ordered.given(name)
    if values is None:
        return np.full(ordered.size, missing)
    return np.asarray(values.fill_null(missing))[ordered.order]


def _timestamps(ordered: Ordered) -> pa.Array:
    stamps = ordered.given("@timestamp")
    present = (np.zeros(ordered.size, dtype=bool) if stamps is None
               else np.asarray(stamps.is_valid(), dtype=bool)[ordered.order])
    ms = np.where(present, times_ms(ordered.table)[ordered.order], np.iinfo(np.int64).max)
    earliest = np.minimum.reduceat(ms, ordered.starts)
    return pa.array(earliest, mask=~any_per_session(present, ordered)).cast(pa.timestamp("ms", tz="UTC"))


def _event_ids(ordered: Ordered) -> pa.Array:
    """stitched_event_id of every session (the hash inputs are built column-wise)."""
    inputs = pc.binary_join_element_wise(ordered.first(STITCH_KEY).fill_null(""),
                                         ordered.first("event.id").fill_null(""), "\x00")
    return pa.array([_blake2b(data, digest_size=16).hexdigest()
                     for data in inputs.cast(pa.binary()).to_pylist()], pa.string())


def _lines(ordered: Ordered) -> pa.Array:
    counts = _in_order("vigie.lines", ordered, 0).astype(np.int64)
    return pa.array(np.add.reduceat(counts, ordered.starts), pa.int64())


def _invalid_utf8(ordered: Ordered) -> tuple[pa.Array, pa.Array]:
    """vigie.line.invalid_utf8 and vigie.line.raw of each session (see the module docstring)."""
    flag = first_valid("vigie.line.invalid_utf8", ordered)
    if ordered.given("vigie.line.invalid_utf8") is None and ordered.given("vigie.line.raw") is None:
        return flag, pa.nulls(ordered.count, pa.binary())
    raw = ordered.column("vigie.line.raw")
    row_invalid = (_in_order("vigie.line.invalid_utf8", ordered, False).astype(bool)
                   | np.asarray(raw.is_valid(), dtype=bool))
    invalid = any_per_session(row_invalid, ordered)
    flag = pc.if_else(pa.array(invalid), True, flag)
    if not invalid.any():
        return flag, pa.nulls(ordered.count, pa.binary())
    text = ordered.column("event.original").fill_null("").cast(pa.binary())
    joined = pc.binary_join(ordered.lists(pc.coalesce(raw, text)), b"\n")
    return flag, pc.if_else(pa.array(invalid), joined, pa.scalar(None, pa.binary()))


def merge_sessions(ordered: Ordered) -> pa.Table:
    """Ordered fragments -> one event per session (generic rules of the module docstring)."""
    schema = event_schema()
    flag, raw = _invalid_utf8(ordered)
    columns: dict[str, pa.Array] = {
        "@timestamp": _timestamps(ordered),
        "event.id": _event_ids(ordered),
        "event.original": pc.binary_join(ordered.lists(ordered.column("event.original").fill_null("")), "\n"),
        "vigie.lines": _lines(ordered),
        "vigie.line.invalid_utf8": flag,
        "vigie.line.raw": raw,
    }
    for name in _FIRST_FRAGMENT:
        columns[name] = ordered.first(name)
    for field in schema:
        if field.name in _OWN_RULES:
            continue
        if pa.types.is_list(field.type):
            columns[field.name] = merged_lists(field.name, ordered, field.name not in PER_ATTEMPT_LISTS)
        else:
            columns[field.name] = first_valid(field.name, ordered)
    return pa.Table.from_arrays([columns[f.name].cast(f.type) for f in schema], schema=schema)
