"""Web access-log parsers: Apache/Nginx combined and common, W3C extended (IIS), Squid native.

In: a LineBatch of one file and its ParseContext. Out: a ParseResult (see base.py). All parsing
is columnar (pyarrow.compute over the whole batch); W3C loops over its directive lines only.

Formats (event.dataset) and what fills which field:
- `web.apache_combined`: `client ident user [time] "request" status bytes "referrer" "agent"`;
  `web.apache_common`: the same without referrer and agent. Both accept, per line:
  - a leading virtual host `%v` -> url.domain, or `%v:%p` -> url.domain, url.port, server.port
    (`www.site.tld:443 1.2.3.4 - - [...] ...`); an absolute request target
    (`GET http://host:port/...`, proxies) wins for url.domain/url.port and sets url.scheme;
  - a time with offset (`[10/Oct/2000:13:55:36 -0700]`) or without (`[27/Jun/2013:11:55:44]`,
    read in ctx.timezone, which then goes to event.timezone);
  - anything after the standard fields, quotes balanced (nginx's `"$http_x_forwarded_for"`,
    Traefik's counters, `%I %O`, ...). When the last unquoted field is a lone number it is the
    response time -> event.duration (ns): `0.123` seconds (nginx $request_time), `12ms`
    milliseconds (Traefik), `1234` microseconds (Apache %D). Other trailing fields stay in
    event.original only.
  client -> source.address, and source.ip when it is an address or source.domain when it is a
  name (HostnameLookups); user -> user.name; the request -> http.request.method, http.version
  ('1.1'), url.original/path/query/extension. Fields keep the server's escaping (`\\"`,
  `\\x16`). A request that is not an HTTP request line (`"-"`, `""`, `"\\x16\\x03\\x01..."`,
  `"HELP"`) still makes an event, with method, version and url.* null: that is how servers log
  scanners, and the line is evidence. Method CONNECT reads its target as host[:port].
- `web.w3c`: W3C extended log (IIS). `#Fields:` directives drive the columns; every `#` line is a
  directive, counted in ParseResult.skipped["w3c directive"]; data lines with no `#Fields` in
  force are dead letters. date + time -> @timestamp, UTC (IIS always logs UTC); c-ip ->
  source.*; c-port -> source.port; s-ip, s-port -> server.ip, server.port (and url.port);
  cs-method; cs-uri-stem, cs-uri-query (or cs-uri) -> url.*; cs-host -> url.domain (its port
  -> url.port); cs-username -> user.name; cs(User-Agent) -> user_agent.original with IIS's `+`
  turned back into spaces (event.original keeps the raw line); cs(Referer); sc-status;
  time-taken (ms) -> event.duration (ns); sc-bytes, cs-bytes -> http.response/request.bytes;
  cs-version; s-computername -> observer.hostname. sc-substatus, sc-win32-status, s-sitename
  and cs(Cookie) have no field in schemas/ and stay in event.original.
- `web.squid`: Squid native access.log: `time.ms elapsed client action/code size method URL ident
  hierarchy/peer type`. event.action is the Squid action (TCP_DENIED), event.type adds "denied"
  when the action says so, size -> http.response.bytes, elapsed (ms) -> event.duration (ns),
  ident -> user.name, the peer -> destination.*, type -> http.response.mime_type; status 000
  (no reply) -> null status and outcome.

Everywhere: `-` or an empty value is null (a `-` byte count too: absent, not 0); *.ip fields only
hold valid addresses; event.outcome is success below status 400, failure from 400, null without
status. A line that does not fit its format, or whose time does not parse, is a dead letter with
the reason; a blank line is skipped ("blank line"). observer.type is web-server (proxy for Squid);
observer.product is only set for Squid, since the CLF and W3C layouts are written by many servers.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (
    TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult, build_dead_letters, build_events,
    empty_events, indices, no_dead_letters, parse_local, parse_zoned,
)

Columns = dict[str, object]  # field -> array (one value per row) or scalar (every row)
_LIST_OF_STRINGS = pa.list_(pa.string())
_NULL_STRING = pa.scalar(None, pa.string())

# ---------------------------------------------------------------------------------------------
# Shared vectorised helpers
# ---------------------------------------------------------------------------------------------

def _lines(batch: LineBatch) -> pa.StringArray:
    """The batch's lines, a null line read as an empty one."""
    lines = batch.lines
    return lines.fill_null("") if lines.null_count else lines


def _blank(lines: pa.Array) -> pa.Array:
    """True where a line is empty or only whitespace."""
    return pc.or_(pc.equal(pc.binary_length(lines), 0), pc.ascii_is_space(lines))


def _rows_containing(lines: pa.StringArray, pair: bytes) -> np.ndarray:
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
class _Pieces:
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


def _split(strings: pa.Array, separator: str, max_splits: int | None = None) -> _Pieces:
    """Each string split on `separator` (at most `max_splits` times)."""
    return _as_pieces(pc.split_pattern(strings, separator, max_splits=max_splits))


def _as_pieces(split: pa.ListArray) -> _Pieces:
    """A list array of strings (a split result) as _Pieces."""
    offsets = np.asarray(split.offsets, dtype=np.int64)
    counts = np.asarray(pc.list_value_length(split).fill_null(0), dtype=np.int64)
    return _Pieces(split.values, offsets[:-1], counts)


def _group(match: pa.Array, name: str) -> pa.Array:
    """A named group of pc.extract_regex output; null where the regex did not match."""
    return pc.struct_field(match, name)


def _absent_as_null(values: pa.Array, *absent: str) -> pa.Array:
    """Values with the empty string and each of `absent` (e.g. '-') replaced by null."""
    drop = pc.equal(pc.binary_length(values), 0)
    for marker in absent:
        drop = pc.or_(drop, pc.equal(values, marker))
    return pc.if_else(drop, pa.scalar(None, values.type), values)


def _scatter(n: int, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """An array of n values: values[k] at rows[k], null elsewhere."""
    pos = np.full(n, -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    if len(values) == 0:
        return pa.nulls(n, values.type)
    return values.take(pa.array(np.maximum(pos, 0), mask=pos < 0))


def _selection(ok: pa.Array) -> np.ndarray | None:
    """Rows that become events; None when all rows do (nothing to select)."""
    rows = indices(ok)
    return None if len(rows) == len(ok) else rows


def _take(arrays: Mapping[str, pa.Array | None], rows: np.ndarray | None) -> dict[str, pa.Array | None]:
    """Every array restricted to `rows` (None: all rows); None stays None."""
    if rows is None:
        return dict(arrays)
    selection = pa.array(rows, pa.int64())
    return {name: None if values is None else values.take(selection) for name, values in arrays.items()}


def _strptime_each_distinct(strings: pa.Array, parse: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """`parse` applied to the distinct strings only, spread back to every row (logs repeat times)."""
    encoded = pc.dictionary_encode(strings)
    return parse(encoded.dictionary).take(encoded.indices)


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_IP_RE = rf"^(?:{_IPV4}|[0-9A-Fa-f]{{0,4}}(?::[0-9A-Fa-f]{{0,4}}){{2,7}}(?::{_IPV4})?)$"


def _ip_or_host(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Addresses as written -> (the IP addresses, the other values: host names); null elsewhere."""
    is_ip = pc.match_substring_regex(values, _IP_RE)
    return pc.if_else(is_ip, values, _NULL_STRING), pc.if_else(is_ip, _NULL_STRING, values)


def _long(values: pa.Array) -> pa.Array:
    """Decimal strings -> int64; anything else (or too long for int64) null."""
    digits = pc.match_substring_regex(values, r"^\d{1,18}$")
    return pc.if_else(digits, values, _NULL_STRING).cast(pa.int64())


def _host_port(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """'host[:port]' -> (host, port as int64); '-' or empty -> null."""
    values = _absent_as_null(values, "-")
    parts = pc.extract_regex(values, r"^(?P<host>[^:]*)(?::(?P<port>\d{1,5}))?$")
    return pc.coalesce(_absent_as_null(_group(parts, "host")), values), _long(_group(parts, "port"))


def _http_version(protocol: pa.Array) -> pa.Array:
    """'HTTP/1.1' -> '1.1'; anything else null."""
    return _group(pc.extract_regex(protocol, r"^HTTP/(?P<version>\d+(?:\.\d+)?)$"), "version")


def _related(*columns: pa.Array) -> pa.Array:
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


_ABSOLUTE_URL_RE = (r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:[^/?@]*@)?"
                    r"(?P<domain>\[[^\]]*\]|[^/?:]*)(?::(?P<port>\d{1,5}))?"
                    r"(?P<path>/[^?]*)?(?:\?(?P<query>.*))?$")
_AUTHORITY_RE = r"^(?P<domain>\[[^\]]*\]|[^/?:@]+)(?::(?P<port>\d{1,5}))?$"


def _url(target: pa.Array, authority: pa.Array) -> Columns:
    """Request targets as written -> url.original/path/query/extension, and for absolute targets
    (scheme://host[:port]/path) scheme, domain and port.

    Rows where `authority` is true (method CONNECT) read the target as host[:port] (no path).
    """
    n = len(target)
    split = _split(target, "?", max_splits=1)
    path, query = split.piece(0), split.piece(1)
    scheme = domain = port = pa.nulls(n, pa.string())
    absolute = indices(pc.match_substring(target, "://"))
    if len(absolute):
        parts = pc.extract_regex(target.take(pa.array(absolute)), _ABSOLUTE_URL_RE)
        in_absolute = pc.fill_null(_scatter(n, absolute, parts.is_valid()), False)
        scheme, domain, port = (_scatter(n, absolute, _group(parts, group))
                                for group in ("scheme", "domain", "port"))
        path = pc.if_else(in_absolute, _scatter(n, absolute, _group(parts, "path")), path)
        query = pc.if_else(in_absolute, _scatter(n, absolute, _group(parts, "query")), query)
    connect = indices(authority)
    if len(connect):
        parts = pc.extract_regex(target.take(pa.array(connect)), _AUTHORITY_RE)
        in_connect = pc.fill_null(authority, False)
        domain = pc.if_else(in_connect, _scatter(n, connect, _group(parts, "domain")), domain)
        port = pc.if_else(in_connect, _scatter(n, connect, _group(parts, "port")), port)
        path = pc.if_else(in_connect, _NULL_STRING, path)
        query = pc.if_else(in_connect, _NULL_STRING, query)
    path = _absent_as_null(path)
    extension = _group(pc.extract_regex(path, r"[^/]\.(?P<ext>[^./]+)$"), "ext")
    return {
        "url.original": target,
        "url.path": path,
        "url.query": _absent_as_null(query),
        "url.extension": pc.utf8_lower(extension),
        "url.scheme": _absent_as_null(scheme),
        "url.domain": _absent_as_null(domain),
        "url.port": _long(port),
    }


def _web_event(status: pa.Array) -> Columns:
    """The columns every web access event has, given its HTTP status: outcome is success below
    400, failure from 400, null without status."""
    return {
        "event.category": ["web"],
        "event.type": ["access"],
        "event.outcome": pc.if_else(pc.less(status, 400), "success", "failure"),
        "network.protocol": "http",
        "http.response.status_code": status,
    }


def _finish(batch: LineBatch, fmt: LogFormat, rows: np.ndarray | None, timestamp: pa.Array,
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


# ---------------------------------------------------------------------------------------------
# Apache / Nginx combined and common log formats
# ---------------------------------------------------------------------------------------------

CLF_TIME = "%d/%b/%Y:%H:%M:%S"
_COMBINED_MID_RE = r"^ (?P<status>\d{3}|-) (?P<bytes>\d{1,18}|-) $"
_COMMON_MID_RE = r"^ (?P<status>\d{3}|-) (?P<bytes>\d{1,18}|-)(?P<rest> .*)?$"
_METHOD_RE = r"^[A-Za-z_-]+$"
_LOOSE_REQUEST_RE = (r"^(?P<method>[A-Za-z_-]+) (?P<target>.+?)"
                     r"(?: (?P<protocol>HTTP/\d+(?:\.\d+)?))?$")
_RESPONSE_TIME_RE = r"^ (?P<number>\d{1,12}(?:\.\d{1,9})?)(?P<unit>ms)?$"
# Apache writes `\"` for a quote and `\\` for a backslash inside quoted fields: they are hidden
# behind these marks while splitting on quotes, then put back.
_ESCAPES = (("\\\\", "\x1f"), ('\\"', "\x1e"))


def _split_on_quotes(lines: pa.StringArray) -> _Pieces:
    """Each line split on its unescaped double quotes (escaped ones stay in the pieces)."""
    escaped = _rows_containing(lines, b'\\"')
    if not escaped.any():
        return _split(lines, '"')
    hidden = lines.filter(pa.array(escaped))
    for text, mark in _ESCAPES:
        hidden = pc.replace_substring(hidden, text, mark)
    pieces = _split(pc.replace_with_mask(lines, pa.array(escaped), hidden), '"')
    in_escaped = pa.array(np.repeat(escaped, pieces.counts))
    restored = pieces.values.filter(in_escaped)
    for text, mark in reversed(_ESCAPES):
        restored = pc.replace_substring(restored, mark, text)
    return _Pieces(pc.replace_with_mask(pieces.values, in_escaped, restored), pieces.starts, pieces.counts)


def _clf_timestamps(text: pa.Array, ctx: ParseContext) -> tuple[pa.Array, pa.Array | None]:
    """`[%t]` contents -> (UTC timestamps, zone used for times written without offset).

    `10/Oct/2000:13:55:36 -0700` carries its offset; `10/Oct/2000:13:55:36` is read in
    ctx.timezone. Unparseable -> null.
    """
    zoned = _strptime_each_distinct(text, partial(parse_zoned, fmt=CLF_TIME + " %z"))
    if not pc.any(pc.and_(pc.is_null(zoned), pc.is_valid(text))).as_py():
        return zoned, None
    local = parse_local(text, CLF_TIME, ctx.timezone)
    zone = pc.if_else(pc.and_(pc.is_null(zoned), pc.is_valid(local)), ctx.timezone, _NULL_STRING)
    return pc.coalesce(zoned, local), zone


def _request(request: pa.Array) -> Columns:
    """The quoted request line -> http.request.method, http.version, url.*.

    Not an HTTP request line (`-`, empty, binary junk) -> all null.
    """
    words = _split(request, " ")
    method, target, protocol = words.piece(0), words.piece(1), words.piece(2)
    version = _http_version(protocol)
    strict = pc.and_(pc.match_substring_regex(method, _METHOD_RE),
                     pa.array((words.counts == 2) | (words.counts == 3)))
    strict = pc.fill_null(pc.and_(strict, pc.or_(pc.is_null(protocol), pc.is_valid(version))), False)
    method, target, version = (pc.if_else(strict, column, _NULL_STRING)
                               for column in (method, target, version))
    unmatched = indices(pc.and_(pc.invert(strict), pa.array(words.counts > 1)))
    if len(unmatched):  # spaces inside the target: split at the first space and before HTTP/x
        n = len(request)
        loose = pc.extract_regex(request.take(pa.array(unmatched)), _LOOSE_REQUEST_RE)
        method = pc.coalesce(method, _scatter(n, unmatched, _group(loose, "method")))
        target = pc.coalesce(target, _scatter(n, unmatched, _group(loose, "target")))
        version = pc.coalesce(version, _http_version(_scatter(n, unmatched, _group(loose, "protocol"))))
    return {"http.request.method": method, "http.version": version,
            **_url(target, pc.equal(method, "CONNECT"))}


def _response_time(field: pa.Array) -> pa.Array:
    """A trailing ` <number>[ms]` -> ns: with `ms` milliseconds (Traefik), with a fraction
    seconds (nginx $request_time), else microseconds (Apache %D); anything else null."""
    parts = pc.extract_regex(field, _RESPONSE_TIME_RE)
    number, unit = _group(parts, "number"), _group(parts, "unit")
    unit_ns = pc.if_else(pc.equal(unit, "ms"), 1e6, pc.if_else(pc.match_substring(number, "."), 1e9, 1e3))
    return pc.round(pc.multiply(number.cast(pa.float64()), unit_ns)).cast(pa.int64())


def _clf_columns(fields: Mapping[str, pa.Array | None]) -> Columns:
    """Pieces of access lines (client, user, vhost, request, status, bytes, trailing, and for
    combined referrer and agent) -> event columns."""
    address = _absent_as_null(fields["client"], "-")
    ip, host = _ip_or_host(address)
    user = _absent_as_null(fields["user"], "-")
    vhost_domain, vhost_port = _host_port(fields["vhost"])
    request = _request(fields["request"])
    status = _long(fields["status"])
    columns = {
        **_web_event(status),
        **request,
        "url.domain": pc.coalesce(request["url.domain"], vhost_domain),
        "url.port": pc.coalesce(request["url.port"], vhost_port),
        "server.port": vhost_port,
        "source.address": address,
        "source.ip": ip,
        "source.domain": host,
        "user.name": user,
        "related.user": user,
        "related.ip": ip,
        "http.response.bytes": _long(fields["bytes"]),
        "event.duration": _response_time(fields["trailing"]),
        "event.timezone": fields["zone"],
    }
    if fields["agent"] is not None:
        columns["http.request.referrer"] = _absent_as_null(fields["referrer"], "-")
        columns["user_agent.original"] = _absent_as_null(fields["agent"], "-")
    return columns


def _parse_clf(batch: LineBatch, ctx: ParseContext, fmt: LogFormat, combined: bool) -> ParseResult:
    """Apache/Nginx access lines -> events; `combined` requires referrer and user agent."""
    lines = _lines(batch)
    blank = _blank(lines)
    quoted = _split_on_quotes(lines)
    # before the request's opening quote: "[vhost[:port] ]client ident user [time] "
    head = _split(quoted.piece(0), " [", max_splits=1)
    bracketed = head.piece(1)
    words = _split(head.piece(0), " ")
    if combined:  # head "request" mid "referrer" " " "agent" [tail with balanced quotes]
        mid = pc.extract_regex(quoted.piece(2), _COMBINED_MID_RE)
        shape = (quoted.counts >= 7) & (quoted.counts % 2 == 1)
        shape &= np.asarray(pc.fill_null(pc.equal(quoted.piece(4), " "), False))
        trailing = quoted.piece(-1)
    else:
        mid = pc.extract_regex(quoted.piece(2), _COMMON_MID_RE)
        shape = quoted.counts == 3
        trailing = _group(mid, "rest")
    shape &= (words.counts == 3) | (words.counts == 4)
    matched = pc.fill_null(pc.and_(pc.and_(pa.array(shape), pc.ends_with(bracketed, "] ")),
                                   mid.is_valid()), False)
    text = pc.if_else(matched, pc.utf8_slice_codeunits(bracketed, 0, -2), _NULL_STRING)
    timestamp, zone = _clf_timestamps(text, ctx)
    ok = pc.and_(matched, pc.is_valid(timestamp))
    reasons = pc.if_else(matched, pc.binary_join_element_wise("bad timestamp '", text, "'", ""),
                         f"does not match {fmt.name} layout")
    rows = _selection(ok)
    fields = _take({
        "timestamp": timestamp, "zone": zone, "client": words.piece(-3), "user": words.piece(-1),
        "vhost": pc.if_else(pa.array(words.counts == 4), words.piece(0), _NULL_STRING),
        "request": quoted.piece(1), "status": _group(mid, "status"), "bytes": _group(mid, "bytes"),
        "trailing": trailing,
        "referrer": quoted.piece(3) if combined else None,
        "agent": quoted.piece(5) if combined else None,
    }, rows)
    return _finish(batch, fmt, rows, fields["timestamp"], _clf_columns(fields), ok, reasons, blank)


def parse_apache_combined(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Combined log format lines (with the variants in the module docstring) -> events."""
    return _parse_clf(batch, ctx, APACHE_COMBINED, combined=True)


def parse_apache_common(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Common log format lines (no referrer, no user agent) -> events."""
    return _parse_clf(batch, ctx, APACHE_COMMON, combined=False)


# ---------------------------------------------------------------------------------------------
# W3C extended log format (IIS)
# ---------------------------------------------------------------------------------------------

W3C_DIRECTIVES = ("#Version:", "#Fields:", "#Software:", "#Date:", "#Remark:", "#Start-Date:",
                  "#End-Date:")


def _w3c_columns(values: Mapping[str, pa.Array], n: int) -> Columns:
    """W3C/IIS values by field name ('-' already null; unlogged fields missing) -> event columns."""
    def text(name: str) -> pa.Array:
        return values.get(name, pa.nulls(n, pa.string()))

    stem, query = text("cs-uri-stem"), text("cs-uri-query")
    target = pc.coalesce(text("cs-uri"), pc.if_else(pc.is_valid(query),
                                                    pc.binary_join_element_wise(stem, query, "?"), stem))
    method = text("cs-method")
    url = _url(target, pc.equal(method, "CONNECT"))
    host, host_port = _host_port(text("cs-host"))
    status = _long(text("sc-status"))
    client, server = _ip_or_host(text("c-ip"))[0], _ip_or_host(text("s-ip"))[0]
    user = text("cs-username")
    port = _long(text("s-port"))
    return {
        **_web_event(status),
        **url,
        "url.domain": pc.coalesce(url["url.domain"], host),
        "url.port": pc.coalesce(url["url.port"], host_port, port),
        "http.request.method": method,
        "http.version": _http_version(text("cs-version")),
        "http.request.referrer": text("cs(Referer)"),
        "http.request.bytes": _long(text("cs-bytes")),
        "http.response.bytes": _long(text("sc-bytes")),
        "user_agent.original": pc.replace_substring(text("cs(User-Agent)"), "+", " "),
        "event.duration": pc.multiply(_long(text("time-taken")), 1_000_000),
        "source.address": text("c-ip"),
        "source.ip": client,
        "source.port": _long(text("c-port")),
        "server.ip": server,
        "server.port": port,
        "observer.hostname": text("s-computername"),
        "user.name": user,
        "related.user": user,
        "related.ip": _related(client, server),
    }


def _parse_w3c_section(batch: LineBatch, rows: np.ndarray, fields: tuple[str, ...]) -> ParseResult:
    """Data lines `rows` of the batch, read with the columns `fields` -> events, dead letters."""
    section = batch.take(rows)
    values = _as_pieces(pc.ascii_split_whitespace(pc.ascii_trim_whitespace(section.lines)))
    fits = pa.array(values.counts == len(fields))
    by_name = {name: _absent_as_null(values.piece(k), "-") for k, name in enumerate(fields)}
    if "date" in by_name and "time" in by_name:
        seconds = pc.utf8_slice_codeunits(by_name["time"], 0, 8)  # drop any fraction
        when = pc.binary_join_element_wise(by_name["date"], seconds, " ")
        timestamp = _strptime_each_distinct(when, partial(parse_zoned, fmt="%Y-%m-%d %H:%M:%S"))
        bad_time = pc.binary_join_element_wise("bad timestamp '", pc.fill_null(when, "-"), "'", "")
    else:
        timestamp = pa.nulls(len(rows), TS_TYPE)
        bad_time = pa.scalar("W3C #Fields has no date and time")
    ok = pc.fill_null(pc.and_(fits, pc.is_valid(timestamp)), False)
    reasons = pc.if_else(fits, bad_time, f"value count differs from #Fields ({len(fields)} fields)")
    selected = _selection(ok)
    chosen = _take({"@timestamp": timestamp, **by_name}, selected)
    timestamp = chosen.pop("@timestamp")
    return _finish(section, W3C, selected, timestamp, _w3c_columns(chosen, len(timestamp)), ok,
                   reasons, pa.array(np.zeros(len(rows), dtype=bool)))


def parse_w3c(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """W3C extended (IIS) lines -> events; `#` directive lines are skipped, `#Fields:` switches
    the columns for the lines after it (ctx.w3c_fields are the columns at the batch's start)."""
    lines = _lines(batch)
    blank = np.asarray(_blank(lines), dtype=bool)
    directive = np.asarray(pc.starts_with(lines, "#"), dtype=bool)
    starts, sections = [0], [ctx.w3c_fields]
    for row in np.flatnonzero(directive):
        line = lines[int(row)].as_py()
        if line.startswith("#Fields:"):
            starts.append(int(row) + 1)
            sections.append(tuple(line[len("#Fields:"):].split()))
    section_of = np.searchsorted(np.asarray(starts), np.arange(len(lines)), side="right") - 1
    data = ~blank & ~directive
    events, dead = [empty_events()], [no_dead_letters()]
    for k, fields in enumerate(sections):
        rows = np.flatnonzero(data & (section_of == k))
        if not len(rows):
            continue
        if fields is None:
            dead.append(build_dead_letters(batch, rows, "W3C data line before any #Fields directive", W3C))
            continue
        result = _parse_w3c_section(batch, rows, fields)
        events.append(result.events)
        dead.append(result.dead_letters)
    skipped = {reason: int(count) for reason, count in (("w3c directive", directive.sum()),
                                                        ("blank line", blank.sum())) if count}
    return ParseResult(events=pa.concat_tables(events), dead_letters=pa.concat_tables(dead),
                       skipped=skipped)


# ---------------------------------------------------------------------------------------------
# Squid native access.log
# ---------------------------------------------------------------------------------------------

_SQUID_WORDS = ("time", "elapsed", "client", "action_code", "size", "method", "url", "ident",
                "hierarchy_peer", "type")
_SQUID_CHECKS = {  # what a word must look like
    "time": r"^\d{1,12}\.\d{3}$",
    "elapsed": r"^-?\d{1,12}$",
    "action_code": r"^[A-Za-z_]+/\d{3}$",
    "size": r"^\d{1,18}$",
    "hierarchy_peer": r"^[A-Za-z_]+/\S+$",
}


def _squid_columns(words: Mapping[str, pa.Array]) -> Columns:
    """Squid native words by name -> event columns."""
    action_code = _split(words["action_code"], "/", max_splits=1)
    action, code = action_code.piece(0), action_code.piece(1)
    status = pc.if_else(pc.equal(code, "000"), pa.scalar(None, pa.int64()), _long(code))
    peer = _absent_as_null(_split(words["hierarchy_peer"], "/", max_splits=1).piece(1), "-")
    method = words["method"]
    client = _ip_or_host(words["client"])[0]
    destination, destination_host = _ip_or_host(peer)
    user = _absent_as_null(words["ident"], "-")
    denied = pc.fill_null(pc.match_substring(action, "DENIED"), False)
    return {
        **_web_event(status),
        **_url(words["url"], pc.equal(method, "CONNECT")),
        "event.action": action,
        "event.type": pc.if_else(denied, pa.scalar(["access", "denied"], _LIST_OF_STRINGS),
                                 pa.scalar(["access"], _LIST_OF_STRINGS)),
        "event.duration": pc.multiply(_long(words["elapsed"]), 1_000_000),
        "http.request.method": method,
        "http.response.bytes": _long(words["size"]),
        "http.response.mime_type": _absent_as_null(words["type"], "-"),
        "source.address": words["client"],
        "source.ip": client,
        "destination.address": peer,
        "destination.ip": destination,
        "destination.domain": destination_host,
        "user.name": user,
        "related.user": user,
        "related.ip": _related(client, destination),
    }


def parse_squid(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Squid native access.log lines -> events (see the module docstring)."""
    lines = _lines(batch)
    blank = _blank(lines)
    pieces = _as_pieces(pc.ascii_split_whitespace(lines))
    words = {name: pieces.piece(k) for k, name in enumerate(_SQUID_WORDS)}
    ok = pa.array(pieces.counts >= len(_SQUID_WORDS))
    for name, pattern in _SQUID_CHECKS.items():
        ok = pc.and_(ok, pc.fill_null(pc.match_substring_regex(words[name], pattern), False))
    epoch_ms = pc.replace_substring(pc.if_else(ok, words["time"], _NULL_STRING), ".", "")
    timestamp = epoch_ms.cast(pa.int64()).cast(pa.timestamp("ms")).cast(TS_TYPE)
    rows = _selection(ok)
    words = _take({"@timestamp": timestamp, **words}, rows)
    return _finish(batch, SQUID, rows, words.pop("@timestamp"), _squid_columns(words), ok,
                   "does not match squid layout", blank)


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------


def _sample_batch(sample: list[str]) -> LineBatch:
    """Sample lines as a LineBatch (offsets as if the lines were consecutive)."""
    sizes = np.array([len(line.encode("utf-8", "replace")) + 1 for line in sample], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return LineBatch("<sample>", "0" * 16, pa.array(sample, pa.string()), offsets)


def _share_parsed(parse: Callable[[LineBatch, ParseContext], ParseResult], sample: list[str]) -> float:
    """Fraction of the sample lines that `parse` turns into events."""
    if not sample:
        return 0.0
    return parse(_sample_batch(sample), ParseContext()).events.num_rows / len(sample)


def detect_w3c(sample: list[str]) -> float:
    """Fraction of the sample that is W3C directives or data lines read under a `#Fields:`;
    0 when the sample has no `#Fields:` directive."""
    if not any(line.startswith("#Fields:") for line in sample):
        return 0.0
    directives = sum(line.startswith(W3C_DIRECTIVES) for line in sample)
    return (directives + parse_w3c(_sample_batch(sample), ParseContext()).events.num_rows) / len(sample)


APACHE_COMBINED = LogFormat("apache_combined", "web", parse_apache_combined,
                            partial(_share_parsed, parse_apache_combined), {"type": "web-server"})
APACHE_COMMON = LogFormat("apache_common", "web", parse_apache_common,
                          partial(_share_parsed, parse_apache_common), {"type": "web-server"})
W3C = LogFormat("w3c", "web", parse_w3c, detect_w3c, {"type": "web-server"})
SQUID = LogFormat("squid", "web", parse_squid, partial(_share_parsed, parse_squid),
                  {"product": "squid", "type": "proxy"})

FORMATS: list[LogFormat] = [APACHE_COMBINED, APACHE_COMMON, W3C, SQUID]
