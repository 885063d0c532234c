"""Apache / Nginx access logs (`web.apache_combined`, `web.apache_common`) and their variants.

In: a LineBatch and ParseContext; out: a ParseResult (conventions in web/__init__). Layouts:
Apache httpd mod_log_config (`combined`, `common`, `vhost_combined`, `%D`), nginx
ngx_http_log_module (`combined`, `$request_time`, `escape=default`), Traefik's CLF.

A line is read in two parts. Its header, `[vhost[:port] ]client ident user [time]`, decides:
a line whose header reads becomes an event whatever follows it (an 8 KB overflow, binary junk,
a TLS handshake, a request line with no method, a truncated or unbalanced tail); a line whose
header does not read (or whose time is impossible) is a dead letter. The rest, `"request"
status bytes ["referrer" "agent"] [trailing fields]`, is read strictly on the fast path (quotes
split column-wise, escaped quotes respected); lines that do not fit (rare) are read again with
regular expressions, first escape-aware, then greedy (raw quotes inside the request, as Apache
1.3 and nginx `escape=none` write them); an event whose tail could not be read that way
carries the tag `vigie.partial_parse`. Quoted fields and the user name are unescaped
(escapes.py): url.*, user_agent.original, http.request.referrer and user.name hold what the
client sent.

Fields: client -> source.address, and source.ip when it is an address or source.domain when it
is a name (HostnameLookups); an X-Forwarded-For list (`203.0.113.5, 10.0.0.2`) gives its first
address as the client and every valid one to related.ip; user -> user.name (spaces allowed);
`%v` -> url.domain, `%v:%p` -> url.domain, url.port, server.port; an absolute request target
(`GET http://host:port/...`, proxies) wins for url.domain/url.port and sets url.scheme; the
request -> http.request.method, http.version ('1.1'), url.original/path/query/extension; a
request that is not an HTTP request line (`"-"`, `""`, a TLS handshake, `"HELP"`) leaves them
null (that is how servers log scanners); CONNECT reads its target as host[:port]. A time with
offset (`[10/Oct/2000:13:55:36 -0700]`) or without (read in ctx.timezone -> event.timezone).
Trailing fields (nginx's `"$http_x_forwarded_for"`, Traefik's counters, `%I %O`) stay in
event.original, except a last lone number: the response time -> event.duration (ns): `0.123`
seconds (nginx $request_time), `12ms` milliseconds (Traefik), `1234` microseconds (Apache %D).

Detection (`LogFormat.detect`) counts only lines that fit the layout completely, so a file of
common lines is never taken for combined (or the reverse) just because their headers read.
"""
from __future__ import annotations

import re
from functools import partial
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (
    LineBatch, LogFormat, ParseContext, ParseResult, indices, parse_local, parse_zoned,
)
from pipelines.parsing.web.columns import (
    NULL_STRING, Columns, absent_as_null, address_list, batch_lines, blank_lines, finish, group,
    host_port, ip_or_host, request_columns, sample_batch, scatter, selection, split,
    strptime_each_distinct, take_rows, to_long, web_event,
)
from pipelines.parsing.web.escapes import backslash_rows, split_on_quotes, unescape_column

CLF_TIME = "%d/%b/%Y:%H:%M:%S"
PARTIAL_TAG = "vigie.partial_parse"
_COMBINED_MID_RE = r"^ (?P<status>\d{3}|-) (?P<bytes>\d{1,18}|-) $"
_COMMON_MID_RE = r"(?s)^ (?P<status>\d{3}|-) (?P<bytes>\d{1,18}|-)(?P<rest> .*)?$"
_RESPONSE_TIME_RE = r"^ (?P<number>\d{1,12}(?:\.\d{1,9})?)(?P<unit>ms)?$"
# A header found anywhere before the first time-shaped bracket (rare lines only).
_HEADER_RE = (r"(?s)^(?P<words>.*?) \[(?P<time>\d{1,2}/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d"
              r"(?: [+-]\d{4})?) ?\](?P<after>.*)$")
_QUOTED = r'"(?P<{}>(?:[^"\\]|\\.)*)"'
_STATUS_BYTES = r" (?P<status>\d{3}|-) (?P<bytes>\d{1,18}|-)"
# The tail after `] `, escape-aware, then greedy (raw quotes inside the request; words before
# the request, such as a virtual host logged after the time).
_TAIL_ESCAPED_RE = ("(?s)^" + _QUOTED.format("request") + _STATUS_BYTES
                    + "(?P<quoted> " + _QUOTED.format("referrer") + " " + _QUOTED.format("agent")
                    + ")?(?P<rest>.*)$")
_TAIL_GREEDY_RE = (r'(?s)^[^"]*"(?P<request>.*)"' + _STATUS_BYTES
                   + r'(?P<quoted> "(?P<referrer>.*?)" "(?P<agent>[^"]*)"?)?(?P<rest>.*)$')
_XFF_WORDS = re.compile(r"^(?P<client>[^ ,]+(?:, ?[^ ,]+)+) (?P<ident>\S+) (?P<user>.*)$", re.S)


def _clf_timestamps(text: pa.Array, ctx: ParseContext) -> tuple[pa.Array, pa.Array | None]:
    """`[%t]` contents -> (UTC timestamps, zone used for times written without offset).

    `10/Oct/2000:13:55:36 -0700` carries its offset; `10/Oct/2000:13:55:36` is read in
    ctx.timezone. Unparseable -> null.
    """
    zoned = strptime_each_distinct(text, partial(parse_zoned, fmt=CLF_TIME + " %z"))
    if not pc.any(pc.and_(pc.is_null(zoned), pc.is_valid(text))).as_py():
        return zoned, None
    local = parse_local(text, CLF_TIME, ctx.timezone)
    zone = pc.if_else(pc.and_(pc.is_null(zoned), pc.is_valid(local)), ctx.timezone, NULL_STRING)
    return pc.coalesce(zoned, local), zone


def _response_time(field: pa.Array) -> pa.Array:
    """A trailing ` <number>[ms]` -> ns: with `ms` milliseconds (Traefik), with a fraction
    seconds (nginx $request_time), else microseconds (Apache %D); anything else null."""
    parts = pc.extract_regex(field, _RESPONSE_TIME_RE)
    number, unit = group(parts, "number"), group(parts, "unit")
    unit_ns = pc.if_else(pc.equal(unit, "ms"), 1e6, pc.if_else(pc.match_substring(number, "."), 1e9, 1e3))
    return pc.round(pc.multiply(number.cast(pa.float64()), unit_ns)).cast(pa.int64())


def _head_words(words: str) -> tuple[str | None, str, str] | None:
    """The words before `[time]` of a rare header -> (vhost, client, user), or None.

    An X-Forwarded-For list first; a virtual host when the third word is the `-` ident and the
    second is not; otherwise client, ident and a user name that may hold spaces.
    """
    xff = _XFF_WORDS.match(words)
    if xff:
        return None, xff["client"], xff["user"]
    tokens = words.split(" ")
    if len(tokens) >= 4 and tokens[1] != "-" and tokens[2] == "-":
        return tokens[0], tokens[1], " ".join(tokens[3:])
    if len(tokens) >= 3:
        user = " ".join(tokens[2:])
        return None, tokens[0], "-" if set(tokens[2:]) == {"-"} else user
    return None


def _rare_headers(lines: pa.Array) -> dict[str, pa.Array]:
    """Headers of the lines the fast path could not split -> vhost, client, user, time (null
    where no header reads). Regex on the rare lines, Python on their distinct word runs."""
    found = pc.extract_regex(lines, _HEADER_RE)
    words = group(found, "words")
    encoded = pc.dictionary_encode(words)
    read = [_head_words(w) for w in encoded.dictionary.to_pylist()]
    columns = {}
    for k, name in enumerate(("vhost", "client", "user")):
        per_value = pa.array([r[k] if r else None for r in read], pa.string())
        columns[name] = per_value.take(encoded.indices)
    known = pc.is_valid(columns["client"])
    columns["time"] = pc.if_else(known, group(found, "time"), NULL_STRING)
    return columns


def _tails(lines: pa.Array) -> tuple[dict[str, pa.Array], pa.Array, pa.Array]:
    """The text after `[time] ` of rare lines -> (request, status, bytes, referrer, agent, rest),
    whether the escape-aware layout fits, and whether only the header could be read."""
    after = group(pc.extract_regex(lines, _HEADER_RE), "after")
    after = pc.if_else(pc.starts_with(after, " "), pc.utf8_slice_codeunits(after, 1), after)
    escaped = pc.extract_regex(after, _TAIL_ESCAPED_RE)
    greedy = pc.extract_regex(after, _TAIL_GREEDY_RE)
    # an optional group that did not take part reads as "": `quoted` tells
    e_ok, g_ok = pc.fill_null(escaped.is_valid(), False), pc.fill_null(greedy.is_valid(), False)
    e_quoted = pc.fill_null(pc.greater(pc.binary_length(group(escaped, "quoted")), 0), False)
    g_quoted = pc.fill_null(pc.greater(pc.binary_length(group(greedy, "quoted")), 0), False)
    fits = pc.and_(e_ok, pc.or_(e_quoted, pc.invert(pc.and_(g_ok, g_quoted))))
    names = ("request", "status", "bytes", "referrer", "agent", "rest")
    fields = {name: pc.if_else(fits, group(escaped, name), group(greedy, name)) for name in names}
    quoted = pc.if_else(fits, e_quoted, g_quoted)
    for name in ("referrer", "agent"):
        fields[name] = pc.if_else(quoted, fields[name], NULL_STRING)
    header_only = pc.and_(pc.invert(e_ok), pc.invert(g_ok))
    return fields, fits, header_only


def _clf_columns(fields: Mapping[str, pa.Array | None], combined: bool) -> Columns:
    """Pieces of access lines (client, user, vhost, request, status, bytes, trailing, referrer,
    agent, partial) -> event columns."""
    candidates = fields["backslash"]
    client, listed_ips = address_list(absent_as_null(fields["client"], "-"))
    client = absent_as_null(client, "-")
    ip, host = ip_or_host(client)
    user = absent_as_null(unescape_column(fields["user"], candidates), "-")
    vhost_domain, vhost_port = host_port(fields["vhost"])
    request = request_columns(unescape_column(fields["request"], candidates))
    status = to_long(fields["status"])
    columns = {
        **web_event(status),
        **request,
        "url.domain": pc.coalesce(request["url.domain"], vhost_domain),
        "url.port": pc.coalesce(request["url.port"], vhost_port),
        "server.port": vhost_port,
        "source.address": client,
        "source.ip": ip,
        "source.domain": host,
        "user.name": user,
        "related.user": user,
        "related.ip": listed_ips,
        "http.response.bytes": to_long(fields["bytes"]),
        "event.duration": _response_time(fields["trailing"]),
        "event.timezone": fields["zone"],
        "tags": (pc.if_else(fields["partial"], pa.scalar([PARTIAL_TAG], pa.list_(pa.string())),
                            pa.scalar(None, pa.list_(pa.string())))
                 if pc.any(fields["partial"]).as_py() else None),
    }
    if combined or pc.any(pc.is_valid(fields["agent"])).as_py():
        # `-`: the header was not sent (null); `""`: it was sent empty (kept as "").
        columns["http.request.referrer"] = absent_as_null(
            unescape_column(fields["referrer"], candidates), "-", keep_empty=True)
        columns["user_agent.original"] = absent_as_null(
            unescape_column(fields["agent"], candidates), "-", keep_empty=True)
    return columns


def _read_clf(lines: pa.StringArray, ctx: ParseContext, combined: bool,
              escaped_quote: np.ndarray | None = None) -> dict[str, pa.Array]:
    """Every line's pieces (see the module docstring), `fits` (the whole layout reads) and
    `partial` (the tail was read leniently); `time` is null where no header reads."""
    n = len(lines)
    quoted = split_on_quotes(lines, escaped_quote)
    # before the request's opening quote: "[vhost[:port] ]client ident user [time] "
    head = split(quoted.piece(0), " [", max_splits=1)
    bracketed = head.piece(1)
    words = split(head.piece(0), " ")
    if combined:  # head "request" mid "referrer" " " "agent" [tail with balanced quotes]
        mid = pc.extract_regex(quoted.piece(2), _COMBINED_MID_RE)
        shape = (quoted.counts >= 7) & (quoted.counts % 2 == 1)
        shape &= np.asarray(pc.fill_null(pc.equal(quoted.piece(4), " "), False))
        trailing = quoted.piece(-1)
    else:
        mid = pc.extract_regex(quoted.piece(2), _COMMON_MID_RE)
        shape = quoted.counts == 3
        trailing = group(mid, "rest")
    first, second = words.piece(0), words.piece(1)
    vhost = pc.fill_null(pc.and_(pa.array(words.counts == 4), pc.not_equal(second, "-")), False)
    simple = pc.or_(pa.array(words.counts == 3), vhost)
    simple = pc.and_kleene(simple, pc.invert(pc.ends_with(first, ",")))
    simple = pc.fill_null(pc.and_(simple, pc.ends_with(bracketed, "] ")), False)
    body = pc.fill_null(pc.and_(pa.array(shape), mid.is_valid()), False)
    fields = {
        "time": pc.if_else(simple, pc.utf8_slice_codeunits(bracketed, 0, -2), NULL_STRING),
        "client": pc.if_else(vhost, second, first), "user": words.piece(-1),
        "vhost": pc.if_else(vhost, first, NULL_STRING),
        "request": quoted.piece(1), "status": group(mid, "status"), "bytes": group(mid, "bytes"),
        "trailing": trailing,
        "referrer": quoted.piece(3) if combined else pa.nulls(n, pa.string()),
        "agent": quoted.piece(5) if combined else pa.nulls(n, pa.string()),
    }
    fits, partial_rows = pc.and_(simple, body), pa.array(np.zeros(n, dtype=bool))
    rare = indices(pc.invert(fits))
    if len(rare):
        fields, fits, partial_rows = _read_rare(lines, rare, fields, simple, body, combined)
    return {**fields, "fits": fits, "partial": partial_rows}


def _read_rare(lines: pa.StringArray, rare: np.ndarray, fields: dict[str, pa.Array], simple: pa.Array,
               body: pa.Array, combined: bool) -> tuple[dict[str, pa.Array], pa.Array, pa.Array]:
    """Lines that do not fit the fast path read again with regexes (their header, their tail)."""
    n = len(lines)
    rare_lines = lines.take(pa.array(rare))
    in_rare = pa.array(np.isin(np.arange(n), rare))
    headers = _rare_headers(rare_lines)
    fast_header = pc.fill_null(simple, False)
    for name in ("time", "client", "user", "vhost"):
        fields[name] = pc.if_else(fast_header, fields[name], scatter(n, rare, headers[name]))
    tails, tail_fits, header_only = _tails(rare_lines)
    keep_fast = pc.or_(pc.invert(in_rare), pc.and_(fast_header, body))
    for name, tail_name in (("request", "request"), ("status", "status"), ("bytes", "bytes"),
                            ("referrer", "referrer"), ("agent", "agent"), ("trailing", "rest")):
        fields[name] = pc.if_else(keep_fast, fields[name], scatter(n, rare, tails[tail_name]))
    with_agent = pc.is_valid(tails["agent"])
    shape_fits = pc.and_(tail_fits, with_agent if combined else pc.invert(with_agent))
    header_read = pc.is_valid(headers["client"])
    fits = pc.or_(pc.and_(fast_header, body),
                  pc.fill_null(scatter(n, rare, pc.and_(header_read, shape_fits)), False))
    partial_rows = pc.fill_null(scatter(n, rare, pc.or_(header_only, pc.invert(shape_fits))), False)
    return fields, fits, partial_rows


def _parse_clf(batch: LineBatch, ctx: ParseContext, fmt: LogFormat, combined: bool) -> ParseResult:
    """Apache/Nginx access lines -> events (see the module docstring)."""
    lines = batch_lines(batch)
    blank = blank_lines(lines)
    backslash, escaped_quote = backslash_rows(lines)
    read = _read_clf(lines, ctx, combined, escaped_quote)
    timestamp, zone = _clf_timestamps(read["time"], ctx)
    ok = pc.is_valid(timestamp)
    reasons = pc.if_else(pc.is_valid(read["time"]),
                         pc.binary_join_element_wise("bad timestamp '", read["time"], "'", ""),
                         f"does not match {fmt.name} layout")
    rows = selection(ok)
    read.update(timestamp=timestamp, zone=zone, backslash=pa.array(backslash))
    fields = take_rows(read, rows)
    fields["backslash"] = np.asarray(fields["backslash"], dtype=bool)
    return finish(batch, fmt, rows, fields["timestamp"], _clf_columns(fields, combined), ok, reasons, blank)


def parse_apache_combined(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Combined log format lines (with the variants in the module docstring) -> events."""
    return _parse_clf(batch, ctx, APACHE_COMBINED, combined=True)


def parse_apache_common(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Common log format lines (no referrer, no user agent) -> events."""
    return _parse_clf(batch, ctx, APACHE_COMMON, combined=False)


def _share_fitting(combined: bool, sample: list[str]) -> float:
    """Fraction of the sample lines that fit the combined (or common) layout completely."""
    if not sample:
        return 0.0
    lines = batch_lines(sample_batch(sample))
    read = _read_clf(lines, ParseContext(), combined)
    timestamp, _ = _clf_timestamps(read["time"], ParseContext())
    fitting = pc.and_(read["fits"], pc.is_valid(timestamp))
    return int(np.count_nonzero(np.asarray(pc.fill_null(fitting, False)))) / len(sample)


APACHE_COMBINED = LogFormat("apache_combined", "web", parse_apache_combined,
                            partial(_share_fitting, True), {"type": "web-server"})
APACHE_COMMON = LogFormat("apache_common", "web", parse_apache_common,
                          partial(_share_fitting, False), {"type": "web-server"})
