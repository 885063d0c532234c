"""Line kinds: an ordered table of anchored RE2 patterns classifying mail log messages, column-wise.

In: message texts (Arrow strings) and a family per row (which table applies). Out: per row the
index of the first kind that matches and the values of every named group (`Classified`); the
kinds' static attributes (action, category, types, outcome, status, origin) as columns.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.columns import scatter


@dataclass(frozen=True)
class LineKind:
    """One kind of line: an anchored RE2 pattern (named groups = values) and what it means."""

    action: str  # event.action (a fragment's action is replaced by "message" when stitched)
    pattern: str
    family: str = "postfix"  # which lines it applies to (see _postfix_family / "exim")
    category: tuple[str, ...] = ("email",)
    types: tuple[str, ...] | None = None
    outcome: str | None = None  # static outcome; dynamic ones come from status or groups
    status: str | None = None  # static vigie.mail.status
    origin: bool = False  # the line tells where the message came from (email.direction)
    more: tuple[str, ...] = ()  # unanchored patterns for optional parts of the matched lines


def _collect(parts: dict[str, list], rows: np.ndarray, found: pa.StructArray) -> None:
    """Add the non-empty values of each named group of `found` (one per row of `rows`)."""
    for position, field in enumerate(found.type):
        values = found.field(position)
        present = np.asarray(pc.not_equal(values, "").fill_null(False), dtype=bool)
        if present.any():
            parts[field.name].append((rows[present], values.filter(pa.array(present))))


@dataclass(frozen=True)
class Classified:
    """Per row: the index of its LineKind (-1: none), and the values of every named group."""

    kind: np.ndarray
    groups: dict[str, pa.Array]
    n: int

    def get(self, name: str) -> pa.Array:
        """Values of group `name` (null where the row's kind has no such group or it is empty)."""
        return self.groups.get(name, pa.nulls(self.n, pa.string()))


def classify(texts: pa.Array, families: np.ndarray, kinds: Sequence[LineKind]) -> Classified:
    """Each non-null text -> the first kind (of its family) whose pattern matches, and its groups."""
    n = len(texts)
    kind_of = np.full(n, -1, dtype=np.int32)
    open_rows = np.asarray(pc.is_valid(texts), dtype=bool)
    parts: dict[str, list] = defaultdict(list)
    for number, kind in enumerate(kinds):
        candidates = np.flatnonzero(open_rows & (families == kind.family))
        if not len(candidates):
            continue
        subset = texts.take(pa.array(candidates))
        found = pc.extract_regex(subset, kind.pattern)
        hit = np.asarray(found.is_valid(), dtype=bool)
        if not hit.any():
            continue
        rows = candidates[hit]
        kind_of[rows] = number
        open_rows[rows] = False
        _collect(parts, rows, found.filter(pa.array(hit)))
        matched = subset.filter(pa.array(hit))
        for pattern in kind.more:
            extra = pc.extract_regex(matched, pattern)
            ok = np.asarray(extra.is_valid(), dtype=bool)
            _collect(parts, rows[ok], extra.filter(pa.array(ok)))
    return Classified(kind_of, {name: scatter(n, p) for name, p in parts.items()}, n)


def kind_values(classified: Classified, kinds: Sequence[LineKind], attribute: str,
                value_type: pa.DataType) -> pa.Array:
    """A LineKind attribute (action, category, ...) per row; null for unclassified rows."""
    table = pa.array([_listed(getattr(k, attribute)) for k in kinds], type=value_type)
    where = classified.kind
    return table.take(pa.array(where, mask=where < 0))


def categories(classified: Classified, kinds: Sequence[LineKind]) -> pa.Array:
    """event.category per row: its kind's, or ["email"] for lines no kind describes."""
    return pc.coalesce(kind_values(classified, kinds, "category", pa.list_(pa.string())),
                       pa.scalar(["email"], pa.list_(pa.string())))


def _listed(value: object) -> object:
    """Tuples -> lists (for pa.array), anything else unchanged."""
    return list(value) if isinstance(value, tuple) else value
