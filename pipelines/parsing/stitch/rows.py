"""Row-level stitching, for callers that hold a few fragments as dicts (rule tests, unit tests).

In: fragment rows (dicts keyed by event field names, optionally with STITCH_KEY). Out: event
rows. The merging itself is the column-wise one (stitch.stitch_sessions); these helpers only
convert between dicts and Arrow tables. The pipeline never goes through them.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pyarrow as pa

from pipelines.parsing.base import STITCH_KEY
from pipelines.parsing.stitch.sessions import Sessions
from pipelines.schema import event_schema

Row = dict[str, Any]


def stitch_key_of(row: Mapping[str, Any]) -> str | None:
    """The stitch key a fragment row carries (None for a row that is not a fragment)."""
    return row.get(STITCH_KEY)


def fragments_to_rows(table: pa.Table) -> list[tuple[str, Row]]:
    """A fragments table -> (stitch key, row dict without the STITCH_KEY column) per row.

    Columns that are null in every row of the table are left out of the dicts (a missing key
    reads as null everywhere here).
    """
    keys = table.column(STITCH_KEY).to_pylist()
    names = [name for name in table.column_names
             if name != STITCH_KEY and table.column(name).null_count < table.num_rows]
    columns = [table.column(name).to_pylist() for name in names]
    return [(key, dict(zip(names, values))) for key, values in zip(keys, zip(*columns))]


def rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Event dicts -> an Arrow table conforming to event_schema() (extra keys dropped)."""
    return pa.Table.from_pylist(list(rows), schema=event_schema())


def stitch_message(fragments: list[Mapping[str, Any]], key: str | None = None) -> Row:
    """The fragment rows of one message (any order, whatever their times) -> one event row.

    `key` is the stitch key the rows were grouped by; when omitted it is read from the rows'
    STITCH_KEY column (empty when they carry none: the id then rests on the first line's id).
    """
    from pipelines.parsing.stitch import stitch_sessions

    if not fragments:
        raise ValueError("stitch_message needs at least one fragment")
    if key is None:
        key = next((k for k in map(stitch_key_of, fragments) if k is not None), "")
    table = rows_to_table(fragments)
    table = table.append_column(STITCH_KEY, pa.array([key] * table.num_rows, pa.string()))
    one = Sessions(np.zeros(table.num_rows, dtype=np.int64), np.zeros(1, dtype=np.int64))
    return stitch_sessions(table, one).to_pylist()[0]
