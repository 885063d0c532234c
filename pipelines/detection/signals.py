"""Signals: one Sigma rule matching one event, as Arrow rows of `signal_schema()`.

In: the event table a rule set was evaluated on, and the matching row indices per rule. Out: a
signal table (schemas/signals.yml): a deterministic signal.id per (rule, event), the event's
time, the rule's metadata (id, title as rule.name, Sigma name as vigie.rule.name, level,
status, author, description, references, tags, building block) and every event field that
signals.yml also lists (id, dataset, origin, entities, numbers correlations aggregate).
"""
from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from pipelines.detection.matchers import take
from pipelines.schema import schemas, signal_fields, signal_schema

if TYPE_CHECKING:
    from pipelines.detection.engine import CompiledRule

# Signal fields the signal sets itself even where the event has a field of that name: its kind,
# and everything about the rule (an event's own rule.* fields, e.g. a ModSecurity rule that
# fired on the web server, describe something else).
OWN_COLUMNS = ("event.kind",)
OWN_PREFIXES = ("rule.", "signal.")


@functools.lru_cache(maxsize=None)
def event_columns() -> tuple[str, ...]:
    """Columns copied from the matched event: every schemas/signals.yml field that is also an
    event field (same name, same type), but the signal's own (OWN_COLUMNS, OWN_PREFIXES)."""
    events = schemas().fields
    return tuple(name for name in signal_fields() if name in events and name not in OWN_COLUMNS
                 and not name.startswith(OWN_PREFIXES))


def signal_id(rule_id: str, event_id: str | None) -> str:
    """Deterministic signal id: 32 hex chars of blake2b over the rule id and the event id."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(rule_id.encode("utf-8"))
    digest.update(b"\x00")
    digest.update((event_id or "").encode("utf-8"))
    return digest.hexdigest()


def _rule_columns(rules: list["CompiledRule"], which: np.ndarray) -> dict[str, pa.Array]:
    """Rule metadata columns: one row per signal, `which[k]` the rule of signal k."""
    index = pa.array(which, pa.int64())
    per_rule = {
        "rule.id": [r.id for r in rules],
        "rule.name": [r.title for r in rules],
        "rule.level": [r.level for r in rules],
        "rule.status": [r.status for r in rules],
        "rule.author": [r.author for r in rules],
        "rule.description": [r.description for r in rules],
        "rule.references": [list(r.references) for r in rules],
        "rule.tags": [list(r.tags) for r in rules],
        "vigie.rule.name": [r.name for r in rules],
        "vigie.building_block": [r.building_block for r in rules],
    }
    types = signal_schema()
    return {name: pa.array(values, types.field(name).type).take(index)
            for name, values in per_rule.items()}


def build_signals(events: pa.Table, hits: list[tuple["CompiledRule", np.ndarray]]) -> pa.Table:
    """Signals for `hits` ((rule, matching row indices of `events`) pairs), in that order."""
    schema = signal_schema()
    hits = [(rule, rows) for rule, rows in hits if len(rows)]
    if not hits:
        return schema.empty_table()
    rows = np.concatenate([r for _, r in hits])
    which = np.repeat(np.arange(len(hits)), [len(r) for _, r in hits])
    unique_rows, order = np.unique(rows, return_inverse=True)
    n = len(rows)
    columns: dict[str, pa.Array] = {"event.kind": pa.array(["signal"] * n, pa.string())}
    columns.update(_rule_columns([rule for rule, _ in hits], which))
    for name in event_columns():
        ftype = schema.field(name).type
        columns[name] = (take(events.column(name), unique_rows).take(pa.array(order)).cast(ftype)
                         if name in events.column_names else pa.nulls(n, ftype))
    rule_ids = columns["rule.id"].to_pylist()
    event_ids = columns["event.id"].to_pylist()
    columns["signal.id"] = pa.array([signal_id(r, e) for r, e in zip(rule_ids, event_ids)],
                                    pa.string())
    # Fields of multi-event signals (vigie.evidence.*, vigie.travel.*) stay empty here.
    return pa.Table.from_arrays([columns[f.name] if f.name in columns else pa.nulls(n, f.type)
                                 for f in schema], schema=schema)
