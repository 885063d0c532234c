"""Vectorised column helpers shared by the parsers, and the one "internal address" predicate.

In: Arrow string arrays (one value per line or per field). Out: Arrow arrays or numpy masks of
the same length; nothing here loops over rows in Python (only over distinct values, or over the
rare rows that need it, where said).

Speed notes (pyarrow RE2 kernels): extracting a group costs per row and grows with the length of
the matched span, so no pattern should capture a long tail: tails are obtained by deleting a
matched prefix (`strip`), alternatives are merged into one pattern (`capture`), and what only some
messages carry is extracted on those rows only (`only`).

Internal addresses. ONE definition serves every parser and enrichment: an address is internal
when it is not globally reachable (IANA special-purpose registries as Python's `ipaddress` reads
them: RFC 1918, loopback, link-local, CGNAT 100.64/10, documentation, benchmarking, unique-local
IPv6, ...) or multicast; an IPv4-mapped IPv6 address is judged by its IPv4 address. Parsers know
only this. Enrichment adds the inventory's `internal_networks` (the hospital's own public blocks)
on top of it and recomputes what depends on it (vigie.*.internal, network.direction and
email.direction, see pipelines/parsing/mail/direction.py).
"""
from __future__ import annotations

import ipaddress
from typing import Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL_STR = pa.scalar(None, pa.string())

# ---------------------------------------------------------------------------------------------
# Masks and selections
# ---------------------------------------------------------------------------------------------


def mask(values: pa.Array) -> np.ndarray:
    """A boolean Arrow array as a numpy mask (null -> False)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return np.asarray(values.fill_null(False), dtype=bool) if len(values) else np.zeros(0, bool)


def blank(lines: pa.Array) -> np.ndarray:
    """Rows that hold nothing but whitespace (RE2's \\s: tab, newline, form feed, carriage
    return, space), or are null. Only the rows that are empty or start with one of those are
    looked at with a pattern."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    first = leading_bytes(lines) >> np.uint32(24)
    valid = np.asarray(lines.is_valid(), dtype=bool) if lines.null_count else np.ones(len(lines), dtype=bool)
    unsure = valid & np.isin(first, np.array([0, 9, 10, 12, 13, 32], dtype=np.uint32))
    empty = ~valid
    if unsure.any():
        empty |= unsure & ~mask(only(unsure, lines, lambda rows: pc.match_substring_regex(rows, r"\S")))
    return empty


def spread(rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """(indices of the true `rows`, for every row its position among them or null)."""
    picked = np.flatnonzero(rows)
    position = np.full(len(rows), -1, dtype=np.int64)
    position[picked] = np.arange(len(picked))
    return pa.array(picked, pa.int64()), pa.array(position, pa.int64(), mask=position < 0)


def only(rows: np.ndarray, values: pa.Array, extract: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """extract(values) evaluated on the rows where `rows` is true; null on the others."""
    return Subset(rows, values).apply(extract)


def only_each(rows: np.ndarray, values: pa.Array,
              extract: Callable[[pa.Array], dict[str, pa.Array]]) -> dict[str, pa.Array]:
    """Like `only` for an extraction that yields several named columns."""
    subset = Subset(rows, values)
    return {name: subset.spread(column) for name, column in extract(subset.values).items()}


class Subset:
    """The rows of `values` selected by a mask, taken once so that several extractions can run on
    them; `spread` puts a result back on all rows (null on the others). When most rows are
    selected, copying them costs more than extracting from the few others too: the extraction
    then runs on every row and the others are nulled."""

    def __init__(self, rows: np.ndarray, values: pa.Array):
        self.n = len(values)
        self.rows = rows
        selected = int(np.count_nonzero(rows)) if self.n else 0
        self.every = selected == self.n
        self.most = not self.every and selected * 2 > self.n
        if self.every or self.most:
            self.values, self.position = values, None
        else:
            picked, self.position = spread(rows)
            self.values = values.take(picked)

    def spread(self, result: pa.Array) -> pa.Array:
        """A result computed on `self.values` -> one value per original row."""
        if self.every:
            return result
        if self.most:
            return pc.if_else(pa.array(self.rows), result, pa.scalar(None, result.type))
        return result.take(self.position)

    def apply(self, extract: Callable[[pa.Array], pa.Array]) -> pa.Array:
        """extract(selected values), spread back to all rows."""
        return self.spread(extract(self.values))


def take_all(fields: Mapping[str, pa.Array], rows: np.ndarray) -> dict[str, pa.Array]:
    """Every array of `fields` restricted to `rows` (indices)."""
    index = pa.array(np.asarray(rows, dtype=np.int64), pa.int64())
    return {name: values.take(index) for name, values in fields.items()}


def scatter(n: int, parts: Sequence[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """Values known for some rows ((rows, values) pairs) -> an array of n rows, null elsewhere
    (a row given twice takes its last value)."""
    rows = np.concatenate([r for r, _ in parts])
    values = pa.concat_arrays([v for _, v in parts]) if len(parts) > 1 else parts[0][1]
    if len(rows) < 2 or bool(np.all(rows[1:] > rows[:-1])):
        return placed(n, rows, values)
    where = np.full(n, -1, dtype=np.int64)
    where[rows] = np.arange(len(rows))
    picked = np.flatnonzero(where >= 0)
    return placed(n, picked, values.take(pa.array(where[picked])))


def placed(n: int, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """Values of the increasing `rows` -> an array of n rows, null elsewhere.

    Strings are placed without copying their characters: only offsets and validity are built
    (a take would copy every string and cost several times more)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    m = len(values)
    if m == n:
        return values
    if m == 0 or values.type != pa.string():
        where = np.full(n, -1, dtype=np.int64)
        where[rows] = np.arange(len(rows))
        return values.take(pa.array(where, mask=where < 0))
    validity, offsets, data = values.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int32, count=values.offset + m + 1)[values.offset:]
    lengths = np.diff(offsets)
    valid = (np.ones(m, dtype=bool) if values.null_count == 0
             else np.asarray(values.is_valid(), dtype=bool))
    if lengths[~valid].any():  # nulls spanning characters: not placed by offsets
        where = np.full(n, -1, dtype=np.int64)
        where[rows] = np.arange(len(rows))
        return values.take(pa.array(where, mask=where < 0))
    out_lengths = np.zeros(n, dtype=np.int32)
    out_lengths[rows] = lengths
    out_offsets = np.empty(n + 1, dtype=np.int32)
    out_offsets[0] = offsets[0]
    np.cumsum(out_lengths, out=out_offsets[1:])
    out_offsets[1:] += offsets[0]
    out_valid = np.zeros(n, dtype=bool)
    out_valid[rows] = valid
    nulls = n - int(np.count_nonzero(out_valid))
    bitmap = pa.py_buffer(np.packbits(out_valid, bitorder="little")) if nulls else None
    return pa.StringArray.from_buffers(n, pa.py_buffer(out_offsets),
                                       data if data is not None else pa.py_buffer(b""), bitmap, nulls)


def leading_bytes(texts: pa.Array) -> np.ndarray:
    """The first four bytes of each string as one big-endian uint32 (missing bytes are 0;
    meaningless for nulls): a cheap key to pick the rows that may start with a given literal."""
    n = len(texts)
    offsets, data = _string_buffers(texts)
    if not n or not len(data):
        return np.zeros(n, dtype=np.uint32)
    place = np.arange(4, dtype=np.int64)
    where = np.minimum(offsets[:-1, None] + place, len(data) - 1)
    head = np.where(place < np.diff(offsets)[:, None], data[where], 0).astype(np.uint8)
    return head.view(">u4").ravel().astype(np.uint32)


def byte_at(texts: pa.Array, position: int) -> np.ndarray:
    """The byte at `position` of each string (0 where the string is shorter)."""
    offsets, data = _string_buffers(texts)
    has = np.diff(offsets) > position
    out = np.zeros(len(texts), dtype=np.uint8)
    out[has] = data[offsets[:-1][has] + position]
    return out


def _string_buffers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets of each string, as n + 1 int64 values; the character buffer as bytes) of a
    string array (chunks combined, large strings cast)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if texts.type != pa.string():
        texts = texts.cast(pa.string())
    _, offsets, data = texts.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int32, count=texts.offset + len(texts) + 1)[texts.offset:]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), data


def _positions(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The byte positions starts[i] .. starts[i] + counts[i] - 1 of every i, in order."""
    total = int(counts.sum())
    first = np.cumsum(counts) - counts  # where each row's run begins among the positions
    return np.repeat(starts - first, counts) + np.arange(total, dtype=np.int64)


def _strings(n: int, lengths: np.ndarray, data: np.ndarray, valid: np.ndarray) -> pa.Array:
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    nulls = n - int(np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap, nulls)


def head_bytes(texts: pa.Array, counts: np.ndarray, rows: np.ndarray) -> pa.Array:
    """The first counts[i] bytes of each text of `rows` (a mask), null on the other rows.

    The bytes must end on a character boundary (e.g. an ASCII prefix the caller matched)."""
    offsets, data = _string_buffers(texts)
    rows = rows & np.asarray(texts.is_valid(), dtype=bool)
    counts = np.where(rows, counts, 0).astype(np.int64)
    return _strings(len(texts), counts, data[_positions(offsets[:-1], counts)], rows)


def drop_bytes(texts: pa.Array, counts: np.ndarray, nulled: np.ndarray | None = None) -> pa.Array:
    """Each text without its first counts[i] bytes (ending on a character boundary), and null
    on the `nulled` rows (a mask: their characters stay in the buffer, unseen); one copy of
    the characters, no pattern."""
    n = len(texts)
    offsets, data = _string_buffers(texts)
    lengths = np.diff(offsets)
    valid = np.asarray(texts.is_valid(), dtype=bool) if texts.null_count else np.ones(n, dtype=bool)
    counts = np.where(valid, counts, lengths).astype(np.int64)  # a null keeps no characters
    if nulled is not None:
        counts = np.where(nulled & valid, 0, counts)
        valid = valid & ~nulled
    kept = np.ones(int(offsets[-1] - offsets[0]), dtype=bool)
    kept[_positions(offsets[:-1] - offsets[0], counts)] = False
    return _strings(n, lengths - counts, data[offsets[0]:offsets[-1]][kept], valid)


def failures(n: int, checks: Sequence[tuple[np.ndarray, str | pa.Array]]) -> pa.Array:
    """Per row, the reason of the first failed check (mask true = failed); null when all pass."""
    reasons = pa.nulls(n, pa.string())
    for failed, reason in reversed(checks):
        reasons = pc.if_else(pa.array(failed, pa.bool_()), reason, reasons)
    return reasons


def sample_share(sample: list[str], readable: Callable[[pa.Array], pa.Array]) -> float:
    """Share of `sample` lines for which `readable(lines) -> boolean array` is true."""
    if not sample:
        return 0.0
    return float(mask(readable(pa.array(sample, pa.string()))).mean())


# ---------------------------------------------------------------------------------------------
# Strings and patterns
# ---------------------------------------------------------------------------------------------


def present(values: pa.Array, placeholders: pa.Array | None = None) -> pa.Array:
    """`values` with empty strings (and `placeholders`) made null, by rewriting the validity
    bitmap only (extract_regex yields "" for groups that took no part in the match)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.offset:
        values = pa.concat_arrays([values.slice(0, 0), values])  # rebase to offset 0
    if not len(values):
        return values
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=len(values) + 1)
    keep = pc.and_(values.is_valid(), pa.array(offsets[1:] > offsets[:-1]))
    if placeholders is not None:
        keep = pc.and_not(keep, pc.is_in(values, value_set=placeholders))
    return pa.Array.from_buffers(pa.string(), len(values), [keep.buffers()[1], *values.buffers()[1:]])


def groups(values: pa.Array, pattern: str) -> dict[str, pa.Array]:
    """Named groups of the first match of RE2 `pattern` in each value (no match or empty: null)."""
    struct = pc.extract_regex(values, pattern)
    return {field.name: present(child) for field, child in zip(struct.type, struct.flatten())}


def extract_some(values: pa.Array, pattern: str, rows: np.ndarray | None = None) -> pa.StructArray:
    """pc.extract_regex(values, pattern) run on the non-null values (of `rows`, a mask, when
    given) only: a column that is mostly null costs what its values cost. The other rows are
    null structs (read them with validity, as every group accessor does)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    n = len(values)
    picked = np.asarray(values.is_valid(), dtype=bool) if values.null_count else np.ones(n, dtype=bool)
    if rows is not None:
        picked &= rows
    count = int(np.count_nonzero(picked))
    if count == n:
        return pc.extract_regex(values, pattern)
    if count == 0:
        return pa.nulls(n, pc.extract_regex(values.slice(0, 0), pattern).type)
    found = pc.extract_regex(values.filter(pa.array(picked)), pattern)
    position = np.cumsum(picked) - 1
    return found.take(pa.array(position, mask=~picked))


def capture(values: pa.Array, patterns: Sequence[str]) -> pa.Array:
    """Group `v` of whichever of `patterns` matches first (leftmost) in each value."""
    merged = "|".join(f"(?:{p.replace('(?P<v>', f'(?P<v{i}>')})" for i, p in enumerate(patterns))
    found = groups(values, merged)
    return pc.coalesce(*[found[f"v{i}"] for i in range(len(patterns))])


def strip(values: pa.Array, pattern: str) -> pa.Array:
    """Each value with the first match of `pattern` deleted."""
    return pc.replace_substring_regex(values, pattern, "", max_replacements=1)


def match_first(values: pa.Array, patterns: Sequence[str]) -> np.ndarray:
    """Index of the first RE2 pattern matching each value, -1 when none does."""
    which = np.full(len(values), -1, dtype=np.int64)
    for i in reversed(range(len(patterns))):
        which[mask(pc.match_substring_regex(values, patterns[i]))] = i
    return which


def normalise_spaces(values: pa.Array) -> pa.Array:
    """Runs of spaces -> one space ('Nov  7' -> 'Nov 7'; timestamps hold no other whitespace)."""
    return pc.replace_substring(pc.replace_substring(values, "  ", " "), "  ", " ")


def without(values: pa.Array, *unwanted: str) -> pa.Array:
    """Null the values equal to one of `unwanted` (e.g. Postfix's 'unknown' host name)."""
    return pc.if_else(pc.is_in(values, pa.array(unwanted, pa.string())), NULL_STR, values)


def per_value(values: pa.Array, fn: Callable[[str], object], value_type: pa.DataType) -> pa.Array:
    """Apply a Python function once per distinct non-null value and broadcast the results."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not len(values) or values.null_count == len(values):
        return pa.nulls(len(values), value_type)
    encoded = values.dictionary_encode()
    mapped_values = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], type=value_type)
    return mapped_values.take(encoded.indices)


def per_distinct(values: pa.Array, compute: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """An element-wise Arrow computation run once per distinct value and broadcast back."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = values.dictionary_encode()
    return compute(encoded.dictionary).take(encoded.indices)


def mapped(values: pa.Array, mapping: Mapping[str, str | None]) -> pa.Array:
    """Each value through a dict (lower-cased first); values not in it become null."""
    keys = pa.array(list(mapping), pa.string())
    table = pa.array(list(mapping.values()), pa.string())
    return table.take(pc.index_in(pc.utf8_lower(values), value_set=keys))


def per_run(keys: pa.Array, compute: Callable[[np.ndarray], pa.Array]) -> pa.Array:
    """Compute once per run of equal consecutive keys (e.g. the lines of one second).

    `compute(rows)` gets the first row of each run and returns one value per run; each value
    is repeated over its run. Runs keep file order, so file-order rules (the DST fall-back rule
    of base.local_to_utc) see the same sequence of distinct values as they would for all rows.
    """
    n = len(keys)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = ~np.asarray(pc.equal(keys[1:], keys[:-1]).fill_null(False), dtype=bool)
    return compute(np.flatnonzero(starts)).take(pa.array(np.cumsum(starts) - 1))


def domain_user(names: pa.Array) -> dict[str, pa.Array]:
    """'DOMAIN\\user' -> user.name and user.domain (a name without a domain stays whole)."""
    qualified = mask(pc.match_substring(names, "\\"))
    if not qualified.any():
        return {"user.name": present(names), "user.domain": pa.nulls(len(names), pa.string())}
    parts = only_each(qualified, names, lambda q: groups(q, r"^(?:(?P<domain>[^\\]+)\\+)?(?P<name>.+)$"))
    return {"user.name": pc.coalesce(parts["name"], present(names)), "user.domain": parts["domain"]}


# ---------------------------------------------------------------------------------------------
# Numbers and lists
# ---------------------------------------------------------------------------------------------


def to_int(values: pa.Array) -> pa.Array:
    """Decimal strings (ASCII digits, up to 19 of them below 9e18) -> int64; anything else -> null."""
    length = pc.binary_length(values)
    fits = pc.or_(pc.less_equal(length, 18), pc.and_(pc.equal(length, 19), pc.less(values, "9")))
    digits = pc.and_(pc.ascii_is_decimal(values), fits)
    return pc.if_else(digits, values, NULL_STR).cast(pa.int64())


def with_millis(timestamps: pa.Array, fraction: pa.Array) -> pa.Array:
    """Add a decimal fraction of a second ('123456' -> 123 ms; null/'' -> 0) to timestamps."""
    digits = pc.utf8_rpad(pc.utf8_slice_codeunits(pc.fill_null(fraction, ""), 0, 3), 3, "0")
    return pc.add(timestamps, digits.cast(pa.int64()).cast(pa.duration("ms")))


def seconds_to_ns(seconds: pa.Array) -> pa.Array:
    """Seconds (int64) -> nanoseconds."""
    return pc.multiply(seconds, pa.scalar(1_000_000_000, pa.int64()))


def related(*columns: pa.Array) -> pa.Array:
    """Per row, the distinct non-null values of `columns` as a list (null when there is none)."""
    n = len(columns[0])
    keep = []
    for j, column in enumerate(columns):
        kept = column.is_valid()
        for earlier in columns[:j]:
            kept = pc.and_(kept, pc.or_kleene(pc.is_null(earlier), pc.not_equal(column, earlier)))
        keep.append(mask(kept))
    keep_rows = np.stack(keep, axis=1) if n else np.zeros((0, len(columns)), bool)
    # value j of row r sits at j * n + r in the concatenated columns
    position = np.arange(len(columns))[None, :] * n + np.arange(n)[:, None]
    flat = pa.concat_arrays([c.cast(pa.string()) for c in columns]).take(pa.array(position[keep_rows]))
    counts = keep_rows.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=pa.array(counts == 0))


def list_of(*columns: pa.Array) -> pa.ListArray:
    """Per row, the non-null values of several string columns as a list, repeats kept (null
    when there is none)."""
    n, k = len(columns[0]), len(columns)
    columns = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    valid = np.stack([np.asarray(c.is_valid(), dtype=bool) if c.null_count else np.ones(n, dtype=bool)
                      for c in columns], axis=1)  # (n, k)
    entries = np.flatnonzero(valid.ravel())  # the values kept, row by row, column by column
    source = (entries % k) * n + entries // k  # their place among the columns laid end to end
    flat = pa.concat_arrays([c.cast(pa.string()) for c in columns]).take(pa.array(source))
    counts = valid.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=pa.array(counts == 0))


# ---------------------------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------------------------

OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"(?:{OCTET}\.){{3}}{OCTET}"
_IP_VALUE = rf"^(?:{IPV4}|[0-9A-Fa-f]{{0,4}}(?::[0-9A-Fa-f]{{0,4}}){{2,7}}|[0-9A-Fa-f:]*:{IPV4})$"
_UNSPECIFIED_IPS = pa.array(["0.0.0.0", "::"])


def ip(values: pa.Array) -> pa.Array:
    """Valid IPv4/IPv6 addresses (IPv4-mapped IPv6 unwrapped); others and 0.0.0.0 / :: -> null."""
    mapped_v4 = mask(pc.starts_with(values, "::ffff:"))
    unwrapped = values if not mapped_v4.any() else pc.coalesce(
        only(mapped_v4, values, lambda v: pc.replace_substring_regex(v, rf"^::ffff:({IPV4})$", r"\1")), values)
    valid = pc.and_not(pc.match_substring_regex(unwrapped, _IP_VALUE),
                       pc.is_in(unwrapped, value_set=_UNSPECIFIED_IPS))
    return pc.if_else(valid, unwrapped, NULL_STR)


def first_ip(values: pa.Array, patterns: Sequence[str]) -> pa.Array:
    """The first valid address captured (group `v`), trying `patterns` in order."""
    return pc.coalesce(*[ip(groups(values, p)["v"]) for p in patterns])


def ip_shaped(values: pa.Array) -> pa.Array:
    """Keep values shaped like an IPv4/IPv6 address (no range check), null the rest (each
    distinct value is looked at once)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count == len(values):
        return values
    return per_distinct(values, lambda distinct: pc.if_else(pc.match_substring_regex(
        distinct, r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$"), distinct, NULL_STR))


# The IPv4 blocks `is_internal_address` calls internal (Python's table of special-purpose
# addresses that are not globally reachable, CGNAT and multicast), for the vectorised
# `internal_ipv4_mask`; a test keeps both equal on both edges of every block.
INTERNAL_V4 = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
               "172.16.0.0/12", "192.0.0.0/29", "192.0.0.170/31", "192.0.2.0/24", "192.168.0.0/16",
               "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
               "255.255.255.255/32")
_INTERNAL_V4_RANGES = np.array([(int(n.network_address), int(n.broadcast_address))
                                for n in map(ipaddress.IPv4Network, INTERNAL_V4)], dtype=np.uint64)
_DOTTED_QUAD = "^" + r"\.".join(f"(?P<o{i}>{OCTET})" for i in range(4)) + "$"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str | None) -> Address | None:
    """An address object, or None for an empty or unreadable string (IPv6 zone ids dropped)."""
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.split("%", 1)[0].strip())
    except ValueError:
        return None


def is_internal(address: Address) -> bool:
    """THE internal-address predicate (see the module docstring): not globally reachable, or
    multicast; IPv4-mapped IPv6 judged by its IPv4 address."""
    mapped_v4 = getattr(address, "ipv4_mapped", None)
    if mapped_v4 is not None:
        address = mapped_v4
    return not address.is_global or address.is_multicast


def is_internal_address(text: str | None) -> bool:
    """`is_internal` for an address string; False for anything that is no address."""
    address = parse_address(text)
    return address is not None and is_internal(address)


def ipv4_values(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Address strings -> (32-bit values, mask of the dotted quads), vectorised; no address
    objects are built (several times faster than ipaddress for the common case).

    Values where the mask is False are 0 and meaningless (IPv6, garbage, nulls)."""
    quads = pc.extract_regex(texts, _DOTTED_QUAD)
    valid = mask(pc.is_valid(quads))
    value = np.zeros(len(texts), dtype=np.uint64)
    for position in range(4):
        octets = pc.fill_null(pc.struct_field(quads, [position]), "0").cast(pa.uint64())
        value = value << np.uint64(8) | octets.to_numpy(zero_copy_only=False)
    return value, valid


def internal_ipv4_mask(values: np.ndarray) -> np.ndarray:
    """`is_internal` over IPv4 addresses given as 32-bit values, vectorised."""
    inside = np.zeros(len(values), dtype=bool)
    for first, last in _INTERNAL_V4_RANGES:
        inside |= (values >= first) & (values <= last)
    return inside


def internal_mask(texts: pa.Array) -> pa.Array:
    """Per address string: True when internal (see the module docstring), False when it is an
    address that is not, null when it is no address. Each distinct string is judged once (a
    log names the same clients and relays over and over): dotted quads vectorised, other
    strings in Python."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    return per_distinct(texts, _internal_mask)


def _internal_mask(texts: pa.Array) -> pa.Array:
    values, quad = ipv4_values(texts)
    inside = pa.array(internal_ipv4_mask(values), pa.bool_(), mask=~quad)
    others = ~quad & mask(texts.is_valid())
    if not others.any():
        return inside
    judged = only(others, texts, lambda rest: per_value(rest, _judge, pa.bool_()))
    return pc.coalesce(inside, judged)


def _judge(text: str) -> bool | None:
    """is_internal of one address string; None when it is no address."""
    address = parse_address(text)
    return None if address is None else is_internal(address)
