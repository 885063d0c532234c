"""Event-time sessions of fragments: which rows of a fragments table form one message.

In: a fragments table (event columns + STITCH_KEY) and the session gap. Out: `Sessions`, the
session of every row and the time each session closes. Per key, the rows sorted by @timestamp
are cut where two neighbours are `gap` or more apart: exactly where Beam's event-time session
windows of that gap would cut them (a window [t, t + gap) per row, overlapping ones merged).
A session closes at its last fragment's time + gap: once the watermark has passed that time no
fragment that is on time can join it. Everything is vectorised (numpy over Arrow columns).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.parsing.base import STITCH_KEY


def plain(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One Arrow array from a column (chunks combined)."""
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def times_ms(table: pa.Table) -> np.ndarray:
    """@timestamp of every row as int64 milliseconds since the epoch (a null time reads 0)."""
    stamps = plain(table.column("@timestamp")).cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    return np.asarray(stamps.fill_null(0), dtype=np.int64)


def key_codes(table: pa.Table) -> np.ndarray:
    """A small integer per distinct stitch key of the table (order of first appearance)."""
    keys = plain(table.column(STITCH_KEY)).fill_null("")
    return np.asarray(keys.dictionary_encode().indices, dtype=np.int64)


@dataclass(frozen=True)
class Sessions:
    """The sessions of a table's rows: `ids[row]` in 0..count-1, `closes[session]` in ms."""

    ids: np.ndarray  # int64, one per row
    closes: np.ndarray  # int64, one per session: last fragment time + gap

    @property
    def count(self) -> int:
        """How many sessions (messages)."""
        return len(self.closes)


def cut_sessions(table: pa.Table, gap_seconds: float) -> Sessions:
    """Rows of a fragments table -> their sessions (see the module docstring)."""
    n = table.num_rows
    if n == 0:
        return Sessions(np.zeros(0, np.int64), np.zeros(0, np.int64))
    gap = int(round(gap_seconds * 1000))
    codes, times = key_codes(table), times_ms(table)
    order = np.lexsort((times, codes))
    codes, times = codes[order], times[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = (codes[1:] != codes[:-1]) | (times[1:] - times[:-1] >= gap)
    in_order = np.cumsum(starts) - 1
    ids = np.empty(n, dtype=np.int64)
    ids[order] = in_order
    ends = np.flatnonzero(np.append(starts[1:], True))  # last row of each session, in order
    return Sessions(ids, times[ends] + gap)


def shard_of(table: pa.Table, shards: int) -> np.ndarray:
    """The shard (0..shards-1) of every row: CRC-32 of its stitch key modulo `shards`, the same
    in every process and run (Python's hash() of a str is not)."""
    encoded = plain(table.column(STITCH_KEY)).fill_null("").dictionary_encode()
    per_key = np.array([zlib.crc32(key.encode("utf-8")) % shards
                        for key in encoded.dictionary.to_pylist()], dtype=np.int64)
    return per_key[np.asarray(encoded.indices, dtype=np.int64)]


def without_empty_columns(table: pa.Table) -> pa.Table:
    """The table without its columns that are null in every row (a mail table fills about a
    quarter of the event columns; the merge reads a missing column as null)."""
    n = table.num_rows
    return table.select([i for i, column in enumerate(table.columns) if column.null_count < n])


def split_by_shard(table: pa.Table, shards: int) -> list[tuple[int, pa.Table]]:
    """A fragments table -> (shard, the rows of that shard) for every shard it touches."""
    if table.num_rows == 0:
        return []
    shard = shard_of(table, shards)
    order = np.argsort(shard, kind="stable")
    grouped = table.take(pa.array(order))  # one take, then zero-copy slices per shard
    counts = np.bincount(shard, minlength=shards)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return [(s, grouped.slice(int(starts[s]), int(counts[s]))) for s in np.flatnonzero(counts).tolist()]


def late_rows(table: pa.Table, closed_until_ms: int | None) -> int:
    """Rows earlier than `closed_until_ms`, the latest closing time up to which messages were
    already emitted: the watermark had passed them when they came, and any message they would
    have joined is out (0 when nothing was emitted yet)."""
    if closed_until_ms is None or table.num_rows == 0:
        return 0
    return int(np.count_nonzero(times_ms(table) < closed_until_ms))
