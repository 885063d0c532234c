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

from pipelines.parsing.columns import leading_bytes, mask, placed, present


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
    """Add the values of each named group of `found` (one per row of `rows`), null where the
    pattern did not match or the group is empty."""
    for field, values in zip(found.type, found.flatten()):
        values = present(values)
        if values.null_count < len(values):
            parts[field.name].append((rows, values))


def _merged(n: int, parts: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """The values a group took in the kinds (and optional patterns) that have it -> n rows; a
    row with values from several takes the last one."""
    if len(parts) == 1:
        return placed(n, *parts[0])  # the rows of one kind increase
    rows = np.concatenate([r for r, _ in parts])
    values = pa.concat_arrays([v for _, v in parts])
    given = np.flatnonzero(np.asarray(values.is_valid(), dtype=bool))
    where = np.full(n, -1, dtype=np.int64)
    where[rows[given]] = given  # in part order: a later value of a row replaces an earlier one
    picked = np.flatnonzero(where >= 0)
    return placed(n, picked, values.take(pa.array(where[picked])))


_REGEX_SYNTAX = set("\\.^$|?*+()[]{}")


def literal_prefix(pattern: str) -> str:
    """The characters every match of an anchored pattern starts with ('' when unknown)."""
    if not pattern.startswith("^") or _top_level_alternation(pattern):
        return ""
    prefix = []
    for i, char in enumerate(pattern[1:], 1):
        if char in _REGEX_SYNTAX or pattern[i + 1:i + 2] in ("?", "*", "+", "{"):
            break
        prefix.append(char)
    return "".join(prefix)


def _top_level_alternation(pattern: str) -> bool:
    """Whether `pattern` has a '|' outside of any group or class."""
    depth, in_class, escaped = 0, False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
    return False


def _starting_with(lead: np.ndarray, prefix: str) -> np.ndarray:
    """Rows whose first (up to 4) bytes, as `leading_bytes` packs them, are those of `prefix`."""
    head = prefix.encode("utf-8")[:4]
    value = int.from_bytes(head.ljust(4, b"\0"), "big")
    bits = int.from_bytes(b"\xff" * len(head) + b"\0" * (4 - len(head)), "big")
    return (lead & np.uint32(bits)) == np.uint32(value)


@dataclass(frozen=True)
class Classified:
    """Per row: the index of its LineKind (-1: none), and the values of every named group."""

    kind: np.ndarray
    groups: dict[str, pa.Array]
    n: int

    def get(self, name: str) -> pa.Array:
        """Values of group `name` (null where the row's kind has no such group or it is empty)."""
        return self.groups.get(name, pa.nulls(self.n, pa.string()))


def _of_family(families: str | np.ndarray | pa.Array, name: str, n: int) -> np.ndarray:
    """Rows of family `name`; `families` is one name for every row, or one per row."""
    if isinstance(families, str):
        return np.full(n, families == name, dtype=bool)
    if isinstance(families, (pa.Array, pa.ChunkedArray)):
        return mask(pc.equal(families, name))
    return np.asarray(families == name, dtype=bool)


def classify(texts: pa.Array, families: str | np.ndarray | pa.Array,
             kinds: Sequence[LineKind]) -> Classified:
    """Each non-null text -> the first kind (of its family) whose pattern matches, and its groups.

    A kind is tried only on the rows still open, of its family, that start with the literal
    characters its pattern starts with (compared on the first bytes, packed as integers), so
    most rows meet one or two patterns instead of every one before theirs."""
    n = len(texts)
    kind_of = np.full(n, -1, dtype=np.int32)
    open_rows = np.asarray(pc.is_valid(texts), dtype=bool)
    of_family: dict[str, np.ndarray] = {}
    lead = None
    parts: dict[str, list] = defaultdict(list)
    for number, kind in enumerate(kinds):
        if kind.family not in of_family:
            of_family[kind.family] = _of_family(families, kind.family, n)
        selected = open_rows & of_family[kind.family]
        prefix = literal_prefix(kind.pattern)
        if prefix and selected.any():
            lead = leading_bytes(texts) if lead is None else lead
            selected &= _starting_with(lead, prefix)
        candidates = np.flatnonzero(selected)
        if not len(candidates):
            continue
        subset = texts if len(candidates) == n else texts.take(pa.array(candidates))
        found = pc.extract_regex(subset, kind.pattern)
        hit = np.asarray(found.is_valid(), dtype=bool)
        if not hit.any():
            continue
        rows = candidates[hit]
        kind_of[rows] = number
        open_rows[rows] = False
        _collect(parts, candidates, found)
        if kind.more:
            matched = subset.filter(pa.array(hit))
            for pattern in kind.more:
                _collect(parts, rows, pc.extract_regex(matched, pattern))
    return Classified(kind_of, {name: _merged(n, p) for name, p in parts.items()}, n)


def kind_values(classified: Classified, kinds: Sequence[LineKind], attribute: str,
                value_type: pa.DataType) -> pa.Array:
    """A LineKind attribute (action, category, ...) per row; null for unclassified rows."""
    table = pa.array([_listed(getattr(k, attribute)) for k in kinds], type=value_type)
    where = classified.kind
    return table.take(pa.array(where, mask=where < 0))


def categories(classified: Classified, kinds: Sequence[LineKind],
               uncategorised: np.ndarray | None = None) -> pa.Array:
    """event.category per row: its kind's, or ["email"] for lines no kind describes; null on the
    `uncategorised` rows (a mask). One take of a table of the kinds' lists (coalescing and
    selecting list arrays costs several times more)."""
    table = pa.array([list(k.category) for k in kinds] + [["email"]], type=pa.list_(pa.string()))
    where = np.where(classified.kind < 0, len(kinds), classified.kind)
    return table.take(pa.array(where, mask=uncategorised))


def _listed(value: object) -> object:
    """Tuples -> lists (for pa.array), anything else unchanged."""
    return list(value) if isinstance(value, tuple) else value
