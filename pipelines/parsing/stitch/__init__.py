"""Stitching: the fragments of one message (rows sharing a STITCH_KEY, close in event time) ->
one event, column-wise over Arrow tables.

In: fragment tables (event_schema() columns + STITCH_KEY, as the mail parsers emit them) and
the session gap. Out: event tables (event_schema()), one row per message.
- sessions: which rows form one message (per key, cut where two neighbours in event time are
  `gap` or more apart, as event-time session windows cut) and when each message closes; shards;
- merge: the generic merge rules (order, first non-null, lists, ids, raw lines);
- mail: the mail family's rules, applied to messages whose event.module is "mail" (FINISHERS);
- rows: the same for a few fragments held as dicts (rule tests, unit tests).
Entry points: `stitch_fragments` (every message of the fragments: replay) and `stitch_closed`
(the messages a watermark has closed, and the fragments still open: streaming).
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.stitch.mail import (finish_mail, mail_direction, mail_outcome, mail_summary,
                                           relay_is_internal)
from pipelines.parsing.stitch.merge import (PER_ATTEMPT_LISTS, Ordered, merge_sessions, order_in_log,
                                            stitched_event_id)
from pipelines.parsing.stitch.rows import fragments_to_rows, rows_to_table, stitch_key_of, stitch_message
from pipelines.parsing.stitch.sessions import (Sessions, cut_sessions, late_rows, split_by_shard,
                                               without_empty_columns)
from pipelines.schema import event_schema

# event.module -> the family's rules: (merged messages, their ordered fragments) -> columns set
FINISHERS: dict[str, Callable[[pa.Table, Ordered], dict[str, pa.Array]]] = {"mail": finish_mail}
# event.module -> the columns its rules set without reading the fragments' values
REPLACED: dict[str, frozenset[str]] = {"mail": frozenset({"event.action", "event.outcome", "message"})}


def stitch_sessions(table: pa.Table, sessions: Sessions) -> pa.Table:
    """Fragment rows and their sessions -> one event per session, sorted by @timestamp then id."""
    if table.num_rows == 0:
        return event_schema().empty_table()
    ordered = order_in_log(table, sessions)
    merged = merge_sessions(ordered)
    for module, finish in FINISHERS.items():
        members = pc.equal(merged.column("event.module"), module).fill_null(False)
        if not pc.any(members).as_py():
            continue
        for name, values in finish(merged, ordered).items():
            index = merged.schema.get_field_index(name)
            merged = merged.set_column(index, merged.schema.field(index),
                                       pc.if_else(members, values, merged.column(name)))
    return merged.sort_by([("@timestamp", "ascending"), ("event.id", "ascending")])


def shard_fragments(table: pa.Table, shards: int) -> list[tuple[int, pa.Table]]:
    """A fragments table -> (shard, its rows of that shard) per shard it touches, without the
    columns no stitched value comes from: null in every row, or replaced by the rules of the
    family every row belongs to (a mail message's action, outcome and summary). What is left
    is what crosses the shuffle and waits in state."""
    if table.num_rows == 0:
        return []
    modules = pc.unique(table.column("event.module")).to_pylist()
    replaced = REPLACED.get(modules[0], frozenset()) if len(modules) == 1 else frozenset()
    kept = [name for name in table.column_names if name not in replaced]
    return split_by_shard(without_empty_columns(table.select(kept)), shards)


def concat_fragments(tables: pa.Table | Iterable[pa.Table]) -> pa.Table:
    """One fragments table from several (columns a table lacks read as null)."""
    if isinstance(tables, pa.Table):
        return tables
    return pa.concat_tables(list(tables), promote_options="default")


def stitch_fragments(tables: pa.Table | Iterable[pa.Table], gap_seconds: float) -> pa.Table:
    """Fragment tables (any order, any split) -> every message they hold, stitched."""
    table = concat_fragments(tables)
    return stitch_sessions(table, cut_sessions(table, gap_seconds))


def stitch_closed(tables: pa.Table | Iterable[pa.Table], gap_seconds: float,
                  until_ms: int) -> tuple[pa.Table, pa.Table, int | None]:
    """Fragments -> (the messages closed at `until_ms`, i.e. whose last fragment time + gap is
    at or before it, stitched; the fragments of the other messages; the time the earliest of
    those closes, None when there is none). Times are milliseconds since the epoch."""
    table = concat_fragments(tables)
    sessions = cut_sessions(table, gap_seconds)
    closed = sessions.closes <= until_ms
    rows = closed[sessions.ids]
    if rows.all():
        return stitch_sessions(table, sessions), table.slice(0, 0), None
    renumber = np.cumsum(closed) - 1
    done = Sessions(renumber[sessions.ids[rows]], sessions.closes[closed])
    stitched = stitch_sessions(table.filter(pa.array(rows)), done)
    return stitched, table.filter(pa.array(~rows)), int(sessions.closes[~closed].min())


__all__ = ["FINISHERS", "PER_ATTEMPT_LISTS", "REPLACED", "Sessions", "concat_fragments",
           "cut_sessions", "fragments_to_rows", "late_rows", "mail_direction", "mail_outcome",
           "mail_summary", "relay_is_internal", "rows_to_table", "shard_fragments", "split_by_shard",
           "stitch_closed", "stitch_fragments", "stitch_key_of", "stitch_message", "stitch_sessions",
           "stitched_event_id"]
