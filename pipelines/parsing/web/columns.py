"""Vectorised column helpers shared by the web parsers (pure functions over Arrow arrays).

In: Arrow arrays (one value per line or per row); out: Arrow arrays or dicts of event columns.
Nothing here loops over rows in Python; `finish` assembles a parser's ParseResult.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (
    LineBatch, LogFormat, ParseContext, ParseResult, build_dead_letters, build_events, empty_events,
    indices, no_dead_letters,
)

Columns = dict[str, object]  # field -> array (one value per row) or scalar (every row)
LIST_OF_STRINGS = pa.list_(pa.string())
NULL_STRING = pa.scalar(None, pa.string())

# ---------------------------------------------------------------------------------------------
# Shared vectorised helpers
# ---------------------------------------------------------------------------------------------

def batch_lines(batch: LineBatch) -> pa.StringArray:
    """The batch's lines, a null line read as an empty one."""
    lines = batch.lines
    return lines.fill_null("") if lines.null_count else lines


def blank_lines(lines: pa.Array) -> pa.Array:
    """True where a line is empty or only whitespace."""
    return pc.or_(pc.equal(pc.binary_length(lines), 0), pc.ascii_is_space(lines))


def rows_containing(lines: pa.StringArray, pair: bytes) -> np.ndarray:
    """Boolean mask of the lines that contain the two bytes `pair` (one numpy scan)."""
    n = len(lines)
    found = np.zeros(n, dtype=bool)
    data = lines.buffers()[2]
    if n == 0 or data is None:
        return found
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    offsets = np.frombuffer(lines.buffers()[1], dtype=width)[lines.offset:lines.offset + n + 1]
    chars = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
    first = np.flatnonzero(chars[:-1] == pair[0])
    hits = first[chars[first + 1] == pair[1]] + offsets[0]
    found[np.searchsorted(offsets, hits, side="right") - 1] = True
    return found


@dataclass(frozen=True)
class Pieces:
    """Strings split on a separator: all pieces flat, where each string's pieces start, how many."""

    values: pa.StringArray
    starts: np.ndarray
    counts: np.ndarray  # 0 for a null string

    def piece(self, i: int) -> pa.Array:
        """Piece i of each string (negative i counts from the end); null where there is none."""
        pos = self.counts + i if i < 0 else np.full(len(self.counts), i, dtype=np.int64)
        missing = (pos < 0) | (pos >= self.counts)
        if len(self.values) == 0:
            return pa.nulls(len(self.counts), pa.string())
        return self.values.take(pa.array(np.where(missing, 0, self.starts + pos), mask=missing))


def split(strings: pa.Array, separator: str, max_splits: int | None = None) -> Pieces:
    """Each string split on `separator` (at most `max_splits` times)."""
    return as_pieces(pc.split_pattern(strings, separator, max_splits=max_splits))


def as_pieces(split: pa.ListArray) -> Pieces:
    """A list array of strings (a split result) as Pieces."""
    offsets = np.asarray(split.offsets, dtype=np.int64)
    counts = np.asarray(pc.list_value_length(split).fill_null(0), dtype=np.int64)
    return Pieces(split.values, offsets[:-1], counts)


def group(match: pa.Array, name: str) -> pa.Array:
    """A named group of pc.extract_regex output; null where the regex did not match."""
    return pc.struct_field(match, name)


def absent_as_null(values: pa.Array, *absent: str, keep_empty: bool = False) -> pa.Array:
    """Values with each of `absent` (e.g. '-') replaced by null, and the empty string too unless
    `keep_empty`."""
    if keep_empty:
        drop = pa.array(np.zeros(len(values), dtype=bool))
    else:
        drop = pc.equal(pc.binary_length(values), 0)
    for marker in absent:
        drop = pc.or_(drop, pc.equal(values, marker))
    return pc.if_else(drop, pa.scalar(None, values.type), values)


def scatter(n: int, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """An array of n values: values[k] at rows[k], null elsewhere."""
    pos = np.full(n, -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    if len(values) == 0:
        return pa.nulls(n, values.type)
    return values.take(pa.array(np.maximum(pos, 0), mask=pos < 0))


def selection(ok: pa.Array) -> np.ndarray | None:
    """Rows that become events; None when all rows do (nothing to select)."""
    rows = indices(ok)
    return None if len(rows) == len(ok) else rows


def take_rows(arrays: Mapping[str, pa.Array | None], rows: np.ndarray | None) -> dict[str, pa.Array | None]:
    """Every array restricted to `rows` (None: all rows); None stays None."""
    if rows is None:
        return dict(arrays)
    chosen = pa.array(rows, pa.int64())
    return {name: None if values is None else values.take(chosen) for name, values in arrays.items()}


def strptime_each_distinct(strings: pa.Array, parse: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """`parse` applied to the distinct strings only, spread back to every row (logs repeat times)."""
    encoded = pc.dictionary_encode(strings)
    return parse(encoded.dictionary).take(encoded.indices)


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
IP_RE = rf"^(?:{_IPV4}|[0-9A-Fa-f]{{0,4}}(?::[0-9A-Fa-f]{{0,4}}){{2,7}}(?::{_IPV4})?)$"


def ip_or_host(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Addresses as written -> (the IP addresses, the other values: host names); null elsewhere."""
    is_ip = pc.match_substring_regex(values, IP_RE)
    return pc.if_else(is_ip, values, NULL_STRING), pc.if_else(is_ip, NULL_STRING, values)


def to_long(values: pa.Array) -> pa.Array:
    """Decimal strings -> int64; anything else (or too long for int64) null."""
    digits = pc.match_substring_regex(values, r"^\d{1,18}$")
    return pc.if_else(digits, values, NULL_STRING).cast(pa.int64())


def host_port(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """'host[:port]' -> (host, port as int64); '-' or empty -> null."""
    values = absent_as_null(values, "-")
    parts = pc.extract_regex(values, r"^(?P<host>[^:]*)(?::(?P<port>\d{1,5}))?$")
    return pc.coalesce(absent_as_null(group(parts, "host")), values), to_long(group(parts, "port"))


def http_version(protocol: pa.Array) -> pa.Array:
    """'HTTP/1.1' -> '1.1'; anything else null."""
    return group(pc.extract_regex(protocol, r"^HTTP/(?P<version>\d+(?:\.\d+)?)$"), "version")


def related(*columns: pa.Array) -> pa.Array:
    """Per row, the distinct non-null values of `columns` as a list; null when there are none."""
    n = len(columns[0])
    kept = []
    for k, values in enumerate(columns):
        for earlier in columns[:k]:
            values = pc.if_else(pc.fill_null(pc.equal(values, earlier), False),
                                pa.scalar(None, values.type), values)
        kept.append(values)
    valid = np.stack([np.asarray(v.is_valid()) for v in kept], axis=1)  # n x k
    order = (np.arange(len(kept))[None, :] * n + np.arange(n)[:, None])[valid]
    flat = pa.concat_arrays(kept).take(pa.array(order, pa.int64()))
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(valid.sum(axis=1), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=pa.array(~valid.any(axis=1)))


_ABSOLUTE_URL_RE = (r"(?s)^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:[^/?@]*@)?"
                    r"(?P<domain>\[[^\]]*\]|[^/?:]*)(?::(?P<port>\d{1,5}))?"
                    r"(?P<path>/[^?]*)?(?:\?(?P<query>.*))?$")
_AUTHORITY_RE = r"^(?P<domain>\[[^\]]*\]|[^/?:@]+)(?::(?P<port>\d{1,5}))?$"


def url_columns(target: pa.Array, authority: pa.Array) -> Columns:
    """Request targets as written -> url.original/path/query/extension, and for absolute targets
    (scheme://host[:port]/path) scheme, domain and port.

    Rows where `authority` is true (method CONNECT) read the target as host[:port] (no path).
    """
    n = len(target)
    halves = split(target, "?", max_splits=1)
    path, query = halves.piece(0), halves.piece(1)
    scheme = domain = port = pa.nulls(n, pa.string())
    absolute = indices(pc.match_substring(target, "://"))
    if len(absolute):
        parts = pc.extract_regex(target.take(pa.array(absolute)), _ABSOLUTE_URL_RE)
        in_absolute = pc.fill_null(scatter(n, absolute, parts.is_valid()), False)
        scheme, domain, port = (scatter(n, absolute, group(parts, name))
                                for name in ("scheme", "domain", "port"))
        path = pc.if_else(in_absolute, scatter(n, absolute, group(parts, "path")), path)
        query = pc.if_else(in_absolute, scatter(n, absolute, group(parts, "query")), query)
    connect = indices(authority)
    if len(connect):
        parts = pc.extract_regex(target.take(pa.array(connect)), _AUTHORITY_RE)
        in_connect = pc.fill_null(authority, False)
        domain = pc.if_else(in_connect, scatter(n, connect, group(parts, "domain")), domain)
        port = pc.if_else(in_connect, scatter(n, connect, group(parts, "port")), port)
        path = pc.if_else(in_connect, NULL_STRING, path)
        query = pc.if_else(in_connect, NULL_STRING, query)
    path = absent_as_null(path)
    extension = group(pc.extract_regex(path, r"[^/]\.(?P<ext>[^./]+)$"), "ext")
    return {
        "url.original": target,
        "url.path": path,
        "url.query": absent_as_null(query),
        "url.extension": pc.utf8_lower(extension),
        "url.scheme": absent_as_null(scheme),
        "url.domain": absent_as_null(domain),
        "url.port": to_long(port),
    }


def web_event(status: pa.Array) -> Columns:
    """The columns every web access event has, given its HTTP status: outcome is success below
    400, failure from 400, null without status."""
    return {
        "event.category": ["web"],
        "event.type": ["access"],
        "event.outcome": pc.if_else(pc.less(status, 400), "success", "failure"),
        "network.protocol": "http",
        "http.response.status_code": status,
    }


def finish(batch: LineBatch, fmt: LogFormat, rows: np.ndarray | None, timestamp: pa.Array,
            columns: Columns, ok: pa.Array, reasons: str | pa.Array, blank: pa.Array) -> ParseResult:
    """The ParseResult of a batch: events of `rows` (timestamp and columns already hold only
    those rows), dead letters with `reasons` (one for all, or one per line) for the lines
    neither ok nor blank, blank lines counted as skipped."""
    dead_rows = indices(pc.and_(pc.invert(ok), pc.invert(blank)))
    events = (build_events(batch, rows, fmt, timestamp, columns) if len(timestamp)
              else empty_events())
    if isinstance(reasons, pa.Array):
        reasons = reasons.take(pa.array(dead_rows))
    dead = build_dead_letters(batch, dead_rows, reasons, fmt) if len(dead_rows) else no_dead_letters()
    blanks = int(np.count_nonzero(np.asarray(blank)))
    return ParseResult(events=events, dead_letters=dead, skipped={"blank line": blanks} if blanks else {})



def sample_batch(sample: list[str]) -> LineBatch:
    """Sample lines as a LineBatch (offsets as if the lines were consecutive)."""
    sizes = np.array([len(line.encode("utf-8", "replace")) + 1 for line in sample], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return LineBatch("<sample>", "0" * 16, pa.array(sample, pa.string()), offsets)


def share_parsed(parse: Callable[[LineBatch, ParseContext], ParseResult], sample: list[str]) -> float:
    """Fraction of the sample lines that `parse` turns into events."""
    if not sample:
        return 0.0
    return parse(sample_batch(sample), ParseContext()).events.num_rows / len(sample)


_METHOD_RE = r"^[A-Za-z_-]+$"
_LOOSE_REQUEST_RE = (r"(?s)^(?P<method>[A-Za-z_-]+) (?P<target>.+?)"
                     r"(?: (?P<protocol>HTTP/\d+(?:\.\d+)?))?$")


def request_columns(request: pa.Array) -> Columns:
    """Request lines (`GET /x?y HTTP/1.1`, unescaped) -> http.request.method, http.version, url.*.

    Not an HTTP request line (`-`, empty, binary junk, a lone word) -> all null. A target with
    spaces is read from the first space to the last ` HTTP/x`.
    """
    words = split(request, " ")
    method, target, protocol = words.piece(0), words.piece(1), words.piece(2)
    version = http_version(protocol)
    strict = pc.and_(pc.match_substring_regex(method, _METHOD_RE),
                     pa.array((words.counts == 2) | (words.counts == 3)))
    strict = pc.fill_null(pc.and_(strict, pc.or_(pc.is_null(protocol), pc.is_valid(version))), False)
    method, target, version = (pc.if_else(strict, column, NULL_STRING)
                               for column in (method, target, version))
    unmatched = indices(pc.and_(pc.invert(strict), pa.array(words.counts > 1)))
    if len(unmatched):  # spaces inside the target: split at the first space and before HTTP/x
        n = len(request)
        loose = pc.extract_regex(request.take(pa.array(unmatched)), _LOOSE_REQUEST_RE)
        method = pc.coalesce(method, scatter(n, unmatched, group(loose, "method")))
        target = pc.coalesce(target, scatter(n, unmatched, group(loose, "target")))
        version = pc.coalesce(version, http_version(scatter(n, unmatched, group(loose, "protocol"))))
    return {"http.request.method": method, "http.version": version,
            **url_columns(target, pc.equal(method, "CONNECT"))}


def address_list(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Addresses as written, some of them lists (`203.0.113.5, 10.0.0.2`: X-Forwarded-For)
    -> (the first address of each value, the valid IP addresses of each value: a list array, or
    a string array when no value is a list)."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    lists = pc.fill_null(pc.match_substring(values, ","), False)
    if not pc.any(lists).as_py():  # the common case: one address each (build_events lists it)
        return values, ip_or_host(values)[0]
    pieces = pc.utf8_trim_whitespace(pc.split_pattern(values, ",").flatten())
    owner = pc.list_parent_indices(pc.split_pattern(values, ","))
    ip = ip_or_host(pieces)[0]
    valid = pc.is_valid(ip)
    kept, kept_owner = ip.filter(valid), np.asarray(owner.filter(valid))
    counts = np.bincount(kept_owner, minlength=len(values)).astype(np.int32)
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    listed = pa.ListArray.from_arrays(pa.array(offsets), kept, mask=pa.array(counts == 0))
    first = pc.utf8_trim_whitespace(split(values, ",", max_splits=1).piece(0))
    return first, listed
