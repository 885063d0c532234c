"""Compiled Sigma conditions: small picklable nodes evaluated over a whole Arrow batch at once.

In: a condition tree of the nodes below (built by compiler.py) and an event table (flat dotted
ECS column names). Out: a boolean numpy mask with one value per row.

Semantics (the Sigma specification, as pySigma models it):
- `Text`: a whole-value match of a Sigma string with `*` / `?` wildcards (contains, startswith,
  endswith, windash, base64, wide... only move wildcards or rewrite the string). Case-insensitive
  unless `cased`, with RE2's Unicode case folding. Numbers and booleans held in the column are
  matched through their text (`404`, `true`).
- `Regex`: RE2 search (unanchored) with the rule's i/m/s flags; linear time on any input.
- `Cidr`: the value is an IPv4 or IPv6 address inside the network (exact, integer arithmetic);
  an IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as its IPv4 address, as in Elasticsearch.
- `Compare`: numeric <, <=, >, >= on numeric columns and on strings that hold a number; `eq`
  (a plain number value) is numeric on numeric columns and textual (`404` == "404") on strings;
  with `part` it compares the minute/hour/day/week/month/year (UTC, ISO week) of a date column.
- `Exists`: the row has a value (not null; for list columns, at least one non-null element).
  Sigma's `null` value is `Exists(present=False)`: the field is missing, null or an empty list.
- `FieldRef`: the value equals (starts with, ends with, contains) the value of another field of
  the same row, case-insensitively (Unicode lowercase).
- List-typed columns (email.to.address, ...): a leaf matches a row when ANY element matches; a
  negated leaf therefore means "no element matches".
- A column missing from the table reads as null in every row.

Speed: every leaf is evaluated once per batch and shared by all rules that use it. String
leaves look at a *domain* per field: its distinct values when the column repeats itself (user
agents, methods, domains) or its elements otherwise. One RE2 alternation of the literal
`needle`s of all rules on a field (the prefilter) finds the few domain values that can match at
all; the leaves then run on those values only. Leaves that no literal bounds (a regex or a
field reference on a high-cardinality column) run only on the rows the rest of the rule leaves
(`care` masks, cheapest children first).
"""
from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Iterator, Mapping, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Mask = np.ndarray  # bool, one value per row
Column = Union[pa.Array, pa.ChunkedArray]

# A domain with fewer distinct values than this share of a sample of its elements is
# dictionary-encoded (its leaves then run on the distinct values only).
DICTIONARY_RATIO = 0.5
SAMPLE_SIZE = 4096
# Needles per prefilter alternation (RE2 programs have a memory budget). Measured on 200k
# decoded URLs (case-insensitive): one alternation of 200, 400 or 600 literals costs about the
# same per value, two passes cost twice one; from ~800 literals a pass gets slower. The web
# rules put ~300 literals on vigie.url.decoded: they fit in one pass.
NEEDLES_PER_PASS = 400


# ---------------------------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Text:
    """Whole-value match of `regex` (RE2, generated from one or several ORed Sigma strings);
    every matching value contains one of the literal `needles` (empty: no such bound)."""

    field: str
    regex: str
    needles: tuple[str, ...]
    cased: bool = False
    cost: ClassVar[int] = 2


@dataclass(frozen=True)
class Regex:
    """RE2 search of `pattern` (flags inline) in the field's text."""

    field: str
    pattern: str
    cost: ClassVar[int] = 8


@dataclass(frozen=True)
class Cidr:
    """The field holds an address of the network `address`/`prefix` (IP `version` 4 or 6)."""

    field: str
    version: int
    address: int
    prefix: int
    cost: ClassVar[int] = 3


@dataclass(frozen=True)
class Compare:
    """Numeric comparison `op` (eq, lt, lte, gt, gte) with `number`, or of a date's `part`."""

    field: str
    op: str
    number: int | float
    part: str | None = None
    cost: ClassVar[int] = 1


@dataclass(frozen=True)
class Exists:
    """The field has a value (`present`) or has none (not `present`)."""

    field: str
    present: bool
    cost: ClassVar[int] = 1


@dataclass(frozen=True)
class FieldRef:
    """The field's value equals the value of the field `other` of the same row (`starts`: starts
    with it, `ends`: ends with it, both: contains it)."""

    field: str
    other: str
    starts: bool = False
    ends: bool = False
    cost: ClassVar[int] = 10


Leaf = Union[Text, Regex, Cidr, Compare, Exists, FieldRef]


@dataclass(frozen=True)
class AllOf:
    """Every child matches (children ordered cheapest first)."""

    children: tuple["Node", ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one child matches (children ordered cheapest first)."""

    children: tuple["Node", ...]


@dataclass(frozen=True)
class NotOf:
    """The child does not match."""

    child: "Node"


Node = Union[Leaf, AllOf, AnyOf, NotOf]


def cost(node: Node) -> int:
    """A static estimate of what evaluating `node` costs (orders AND/OR children)."""
    if isinstance(node, (AllOf, AnyOf)):
        return sum(cost(c) for c in node.children)
    if isinstance(node, NotOf):
        return cost(node.child)
    return node.cost


def leaves(node: Node) -> Iterator[Leaf]:
    """Every leaf of a condition tree, depth first."""
    if isinstance(node, (AllOf, AnyOf)):
        for child in node.children:
            yield from leaves(child)
    elif isinstance(node, NotOf):
        yield from leaves(node.child)
    else:
        yield node


def fields_of(node: Node) -> tuple[str, ...]:
    """The event fields a condition tree reads, in order of first use."""
    names: dict[str, None] = {}
    for leaf in leaves(node):
        names[leaf.field] = None
        if isinstance(leaf, FieldRef):
            names[leaf.other] = None
    return tuple(names)


def needles_of(nodes: list[Node]) -> dict[str, tuple[str, ...]]:
    """Field -> the distinct needles of the Text leaves on it, across `nodes`."""
    out: dict[str, dict[str, None]] = {}
    for node in nodes:
        for leaf in leaves(node):
            if isinstance(leaf, Text):
                out.setdefault(leaf.field, {}).update(dict.fromkeys(leaf.needles))
    return {name: tuple(found) for name, found in out.items()}


# ---------------------------------------------------------------------------------------------
# RE2 helpers
# ---------------------------------------------------------------------------------------------

_RE2_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def re2_escape(text: str) -> str:
    """`text` as an RE2 literal: metacharacters escaped, control characters as \\x{..}."""
    out = []
    for ch in text:
        if ch in _RE2_PLAIN or ord(ch) > 127:
            out.append(ch)
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{{{ord(ch):02x}}}")
        else:
            out.append("\\" + ch)
    return "".join(out)


def re2_error(pattern: str) -> str | None:
    """Why RE2 (Arrow's regex engine) refuses `pattern`, or None when it compiles."""
    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return str(exc).splitlines()[0]
    return None


@functools.lru_cache(maxsize=1024)
def prefilter_patterns(needles: tuple[str, ...]) -> tuple[str, ...]:
    """Needles -> RE2 alternations (case-insensitive search) that together find every value
    containing any needle. A needle containing a shorter one is implied by it and dropped."""
    kept: list[str] = []
    for needle in sorted(set(needles), key=lambda n: (len(n), n)):
        if not any(k in needle for k in kept):
            kept.append(needle)
    return tuple("|".join(re2_escape(n) for n in kept[i:i + NEEDLES_PER_PASS])
                 for i in range(0, len(kept), NEEDLES_PER_PASS))


# ---------------------------------------------------------------------------------------------
# Per-batch data: elements, domains, parsed addresses
# ---------------------------------------------------------------------------------------------

def _as_bool(values: Column) -> np.ndarray:
    """A boolean Arrow array -> numpy bools, null as False."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(values.fill_null(False), dtype=bool)


@dataclass(frozen=True)
class Elements:
    """The values of one column, list columns flattened: `owner[i]` is the row of element i
    (None: element i is row i)."""

    values: Column
    owner: np.ndarray | None


@dataclass(frozen=True)
class Domain:
    """What string leaves of one field look at: `values` are the column's distinct values
    (`index[i]`: the value of element i, len(values) for null) or its elements (`index` None)."""

    values: Column
    index: np.ndarray | None
    elements: Elements
    n_rows: int

    def rows(self, positions: np.ndarray) -> Mask:
        """Positions in `values` that matched -> the rows having one of them."""
        if not len(positions):
            return np.zeros(self.n_rows, dtype=bool)
        if self.index is None:
            element_rows = positions if self.elements.owner is None else self.elements.owner[positions]
            mask = np.zeros(self.n_rows, dtype=bool)
            mask[element_rows] = True
            return mask
        hit = np.zeros(len(self.values) + 1, dtype=bool)
        hit[positions] = True
        return rows_of_elements(hit[self.index], self.elements.owner, self.n_rows)

    def positions_for(self, care: Mask | None) -> np.ndarray | None:
        """Positions in `values` that rows of `care` can reach (None: all of them)."""
        if care is None or self.index is not None:
            return None
        owner = self.elements.owner
        return np.flatnonzero(care if owner is None else care[owner])


def rows_of_elements(element_mask: np.ndarray, owner: np.ndarray | None, n_rows: int) -> Mask:
    """A mask over elements -> a mask over rows (a row is true when any element is)."""
    if owner is None:
        return element_mask
    mask = np.zeros(n_rows, dtype=bool)
    mask[owner[element_mask]] = True
    return mask


@dataclass(frozen=True)
class Addresses:
    """Domain values parsed as IP addresses: IPv4 as uint32, IPv6 as two uint64 halves."""

    v4: np.ndarray  # bool: value is an IPv4 (or IPv4-mapped IPv6) address
    v4_int: np.ndarray  # uint32
    v6: np.ndarray  # bool: value is a (non-mapped) IPv6 address
    v6_high: np.ndarray  # uint64
    v6_low: np.ndarray  # uint64


_IPV4_RE = r"^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$"


def parse_addresses(values: Column) -> Addresses:
    """String values -> Addresses (invalid values are neither v4 nor v6)."""
    n = len(values)
    v4 = _as_bool(pc.match_substring_regex(values, _IPV4_RE))
    v4_int = np.zeros(n, dtype=np.uint32)
    rows = np.flatnonzero(v4)
    if len(rows):
        octets = pc.list_flatten(pc.split_pattern(take(values, rows), "."))
        parts = np.asarray(octets.cast(pa.int64()), dtype=np.int64).reshape(-1, 4)
        valid = (parts <= 255).all(axis=1)
        weights = np.array([1 << 24, 1 << 16, 1 << 8, 1], dtype=np.int64)
        v4_int[rows] = (parts @ weights).astype(np.uint32)
        v4[rows[~valid]] = False
    v6 = np.zeros(n, dtype=bool)
    v6_high = np.zeros(n, dtype=np.uint64)
    v6_low = np.zeros(n, dtype=np.uint64)
    colon = np.flatnonzero(_as_bool(pc.match_substring(values, ":")))
    for row, text in zip(colon, take(values, colon).to_pylist()):
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            continue
        if address.ipv4_mapped is not None:
            v4[row], v4_int[row] = True, int(address.ipv4_mapped)
        else:
            v6[row] = True
            v6_high[row], v6_low[row] = int(address) >> 64, int(address) & (2**64 - 1)
    return Addresses(v4, v4_int, v6, v6_high, v6_low)


def _column_values(table: pa.Table, name: str) -> Column | None:
    """Column `name` (its only chunk, or the chunked array), None when the table has none."""
    if name not in table.column_names:
        return None
    column = table.column(name)
    return column.chunk(0) if column.num_chunks == 1 else column


def take(values: Column, positions: np.ndarray) -> pa.Array:
    """values[positions] (ascending positions), chunk by chunk: a chunked array's own take
    would first concatenate every chunk."""
    if isinstance(values, pa.Array):
        return values.take(pa.array(positions, pa.int64()))
    starts = np.cumsum([0] + [len(c) for c in values.chunks])
    chunk_of = np.searchsorted(starts, positions, side="right") - 1
    parts = [values.chunk(k).take(pa.array(positions[chunk_of == k] - starts[k], pa.int64()))
             for k in np.unique(chunk_of)]
    return pa.concat_arrays(parts) if parts else pa.array([], values.type)


def _dictionary(values: Column) -> tuple[pa.Array, np.ndarray]:
    """Values -> (distinct values, per value the position of its distinct value; len for null)."""
    encoded = pc.dictionary_encode(values)
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    dictionary = chunks[0].dictionary if chunks else pa.array([], values.type)
    index = [np.asarray(c.indices.fill_null(len(dictionary)), dtype=np.int64) for c in chunks]
    return dictionary, np.concatenate(index) if index else np.zeros(0, dtype=np.int64)


def _sample_is_repetitive(values: Column) -> bool:
    """True when a head sample of `values` has few distinct values (worth a dictionary)."""
    if len(values) < SAMPLE_SIZE:
        return False
    sample = values.slice(0, SAMPLE_SIZE)
    return pc.count_distinct(sample).as_py() < DICTIONARY_RATIO * SAMPLE_SIZE


# ---------------------------------------------------------------------------------------------
# Batch: one event table being evaluated, with everything computed once and shared
# ---------------------------------------------------------------------------------------------

@dataclass
class Batch:
    """An event table under evaluation: per-field domains and prefilter hits, and the result of
    every leaf evaluated without restriction (shared by all rules of the batch)."""

    table: pa.Table
    needles: Mapping[str, tuple[str, ...]]
    _columns: dict[str, Column | None] = field(default_factory=dict)
    _elements: dict[str, Elements | None] = field(default_factory=dict)
    _domains: dict[str, Domain | None] = field(default_factory=dict)
    _candidates: dict[str, np.ndarray] = field(default_factory=dict)
    _addresses: dict[str, Addresses] = field(default_factory=dict)
    _leaves: dict[Leaf, Mask] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.table.num_rows

    def zeros(self) -> Mask:
        return np.zeros(self.n, dtype=bool)

    def column(self, name: str) -> Column | None:
        """The column `name` (None when missing)."""
        if name not in self._columns:
            self._columns[name] = _column_values(self.table, name)
        return self._columns[name]

    def elements(self, name: str) -> Elements | None:
        """The column's values, list columns flattened (None when missing)."""
        if name not in self._elements:
            values = self.column(name)
            if values is None:
                self._elements[name] = None
            elif pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
                owner = np.asarray(pc.list_parent_indices(values), dtype=np.int64)
                self._elements[name] = Elements(pc.list_flatten(values), owner)
            else:
                self._elements[name] = Elements(values, None)
        return self._elements[name]

    def domain(self, name: str) -> Domain | None:
        """The field's string domain (see the module docstring), None when missing."""
        if name not in self._domains:
            elements = self.elements(name)
            if elements is None:
                self._domains[name] = None
            else:
                values = elements.values
                if not pa.types.is_string(values.type):
                    values = values.cast(pa.string())
                if _sample_is_repetitive(values):
                    dictionary, index = _dictionary(values)
                    self._domains[name] = Domain(dictionary, index, elements, self.n)
                else:
                    self._domains[name] = Domain(values, None, elements, self.n)
        return self._domains[name]

    def candidates(self, name: str) -> np.ndarray:
        """Positions in the field's domain values that contain any needle of the field."""
        if name not in self._candidates:
            values = self.domain(name).values
            hit = np.zeros(len(values), dtype=bool)
            for pattern in prefilter_patterns(self.needles.get(name, ())):
                hit |= _as_bool(pc.match_substring_regex(values, pattern, ignore_case=True))
            self._candidates[name] = np.flatnonzero(hit)
        return self._candidates[name]

    def addresses(self, name: str) -> Addresses:
        """The field's domain values parsed as IP addresses."""
        if name not in self._addresses:
            self._addresses[name] = parse_addresses(self.domain(name).values)
        return self._addresses[name]

    def leaf(self, leaf: Leaf, care: Mask | None) -> Mask:
        """The leaf's mask, exact at least on the rows of `care` (None: every row)."""
        cached = self._leaves.get(leaf)
        if cached is not None:
            return cached
        restricted = care is not None and not _unrestricted(self, leaf)
        mask = EVALUATORS[type(leaf)](self, leaf, care if restricted else None)
        if not restricted:
            self._leaves[leaf] = mask
        return mask


def _unrestricted(batch: Batch, leaf: Leaf) -> bool:
    """True when evaluating `leaf` on every row is cheap (then it is evaluated once, shared)."""
    if isinstance(leaf, FieldRef):
        return False
    if isinstance(leaf, Regex) or (isinstance(leaf, Text) and not leaf.needles):
        domain = batch.domain(leaf.field)
        return domain is None or domain.index is not None
    return True


# ---------------------------------------------------------------------------------------------
# Leaf evaluators: (batch, leaf, care) -> mask exact on the rows of care (None: all rows)
# ---------------------------------------------------------------------------------------------

def _match_domain(batch: Batch, name: str, positions: np.ndarray | None,
                  test: Callable[[pa.Array], pa.Array]) -> Mask:
    """Run `test` (values -> booleans) on the field's domain values at `positions` (None: all)
    and return the rows holding a value that passed."""
    domain = batch.domain(name)
    if domain is None:
        return batch.zeros()
    values = domain.values if positions is None else take(domain.values, positions)
    if not len(values):
        return batch.zeros()
    passed = np.flatnonzero(_as_bool(test(values)))
    return domain.rows(passed if positions is None else positions[passed])


def _text(batch: Batch, leaf: Text, care: Mask | None) -> Mask:
    domain = batch.domain(leaf.field)
    if domain is None:
        return batch.zeros()
    positions = batch.candidates(leaf.field) if leaf.needles else domain.positions_for(care)
    return _match_domain(batch, leaf.field, positions, lambda values: pc.match_substring_regex(
        values, leaf.regex, ignore_case=not leaf.cased))


def _regex(batch: Batch, leaf: Regex, care: Mask | None) -> Mask:
    domain = batch.domain(leaf.field)
    if domain is None:
        return batch.zeros()
    return _match_domain(batch, leaf.field, domain.positions_for(care),
                         lambda values: pc.match_substring_regex(values, leaf.pattern))


def _cidr(batch: Batch, leaf: Cidr, care: Mask | None) -> Mask:
    domain = batch.domain(leaf.field)
    if domain is None:
        return batch.zeros()
    parsed = batch.addresses(leaf.field)
    if leaf.version == 4:
        mask = np.uint32((0xFFFFFFFF << (32 - leaf.prefix)) & 0xFFFFFFFF)
        inside = parsed.v4 & ((parsed.v4_int & mask) == np.uint32(leaf.address))
    else:
        full = (2**128 - 1) ^ ((1 << (128 - leaf.prefix)) - 1)
        high_mask, low_mask = np.uint64(full >> 64), np.uint64(full & (2**64 - 1))
        inside = (parsed.v6 & ((parsed.v6_high & high_mask) == np.uint64(leaf.address >> 64))
                  & ((parsed.v6_low & low_mask) == np.uint64(leaf.address & (2**64 - 1))))
    return domain.rows(np.flatnonzero(inside))


_COMPARE = {"eq": pc.equal, "lt": pc.less, "lte": pc.less_equal, "gt": pc.greater,
            "gte": pc.greater_equal}
_PARTS = {"minute": pc.minute, "hour": pc.hour, "day": pc.day, "week": pc.iso_week,
          "month": pc.month, "year": pc.year}
_NUMBER_RE = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


def _numbers(values: pa.Array) -> pa.Array:
    """Strings -> float64 where they hold a number, null elsewhere."""
    is_number = pc.match_substring_regex(values, _NUMBER_RE)
    kept = pc.if_else(is_number, pc.utf8_trim_whitespace(values), pa.scalar(None, pa.string()))
    return kept.cast(pa.float64())


def _compare(batch: Batch, leaf: Compare, care: Mask | None) -> Mask:
    elements = batch.elements(leaf.field)
    if elements is None:
        return batch.zeros()
    values, op = elements.values, _COMPARE[leaf.op]
    if leaf.part is not None:
        if not pa.types.is_timestamp(values.type):
            return batch.zeros()
        passed = _as_bool(op(_PARTS[leaf.part](values), leaf.number))
        return rows_of_elements(passed, elements.owner, batch.n)
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return rows_of_elements(_as_bool(op(values, leaf.number)), elements.owner, batch.n)
    if leaf.op == "eq":
        text = str(leaf.number)
        return _match_domain(batch, leaf.field, None, lambda v: pc.equal(v, text))
    return _match_domain(batch, leaf.field, None, lambda v: op(_numbers(v), float(leaf.number)))


def _exists(batch: Batch, leaf: Exists, care: Mask | None) -> Mask:
    elements = batch.elements(leaf.field)
    if elements is None:
        present = batch.zeros()
    else:
        present = rows_of_elements(_as_bool(elements.values.is_valid()), elements.owner, batch.n)
    return present if leaf.present else ~present


def _texts_per_row(values: pa.Array) -> list[list[str]]:
    """A column -> per row, its non-null values as lowercase strings."""
    rows = values.to_pylist()
    return [[str(v).lower() for v in (row if isinstance(row, list) else [row]) if v is not None]
            for row in rows]


def _fieldref(batch: Batch, leaf: FieldRef, care: Mask | None) -> Mask:
    left, right = batch.column(leaf.field), batch.column(leaf.other)
    if left is None or right is None:
        return batch.zeros()
    rows = np.arange(batch.n) if care is None else np.flatnonzero(care)
    plain = not (leaf.starts or leaf.ends) and not pa.types.is_list(left.type) \
        and not pa.types.is_list(right.type)
    if plain:
        def lowered(values: Column) -> pa.Array:
            return pc.utf8_lower(take(values, rows).cast(pa.string()))
        same = _as_bool(pc.equal(lowered(left), lowered(right)))
    else:
        def agrees(a: str, b: str) -> bool:
            if leaf.starts and leaf.ends:
                return b in a
            return a.startswith(b) if leaf.starts else a.endswith(b) if leaf.ends else a == b
        pairs = zip(_texts_per_row(take(left, rows)), _texts_per_row(take(right, rows)))
        same = np.array([any(agrees(a, b) for a in lv for b in rv) for lv, rv in pairs], dtype=bool)
    mask = batch.zeros()
    mask[rows[same]] = True
    return mask


EVALUATORS: dict[type, Callable[[Batch, Leaf, Mask | None], Mask]] = {
    Text: _text, Regex: _regex, Cidr: _cidr, Compare: _compare, Exists: _exists,
    FieldRef: _fieldref,
}


# ---------------------------------------------------------------------------------------------
# Trees
# ---------------------------------------------------------------------------------------------

def _shared(node: Node) -> bool:
    """A leaf evaluated once for every row whatever the care mask (so none is computed for it)."""
    return isinstance(node, (Compare, Exists, Cidr)) or (isinstance(node, Text) and bool(node.needles))


def evaluate(node: Node, batch: Batch, care: Mask | None = None) -> Mask:
    """The node's mask over the batch's rows, exact on the rows of `care` (None: every row).

    AND evaluates its children cheapest first, each only where the previous ones held, and
    stops when no row is left; OR evaluates each child only where no earlier child held.
    """
    if isinstance(node, AllOf):
        result: Mask | None = None
        for child in node.children:
            within = care if result is None else (result if care is None else result & care)
            if within is not None and not within.any():
                return within
            matched = evaluate(child, batch, within)
            result = matched if result is None else result & matched
        return result
    if isinstance(node, AnyOf):
        result = None
        for child in node.children:
            within = care
            if result is not None and not _shared(child):
                within = ~result if care is None else care & ~result
                if not within.any():
                    break
            matched = evaluate(child, batch, within)
            result = matched if result is None else result | matched
        return result
    if isinstance(node, NotOf):
        return ~evaluate(node.child, batch, care)
    return batch.leaf(node, care)
