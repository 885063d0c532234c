"""Apache / Nginx access logs: combined and common log format and their variants (see web/__init__).

In: a LineBatch and ParseContext; out: a ParseResult. Columnar: quotes, words and times are split
and parsed over the whole batch.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import LineBatch, LogFormat, ParseContext, ParseResult, indices, parse_local, parse_zoned
from pipelines.parsing.web.columns import (
    NULL_STRING, Columns, Pieces, absent_as_null, batch_lines, blank_lines, finish, group, host_port,
    http_version, ip_or_host, rows_containing, scatter, selection, share_parsed, split,
    strptime_each_distinct, take_rows, to_long, url_columns, web_event,
)

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


def _split_on_quotes(lines: pa.StringArray) -> Pieces:
    """Each line split on its unescaped double quotes (escaped ones stay in the pieces)."""
    escaped = rows_containing(lines, b'\\"')
    if not escaped.any():
        return split(lines, '"')
    hidden = lines.filter(pa.array(escaped))
    for text, mark in _ESCAPES:
        hidden = pc.replace_substring(hidden, text, mark)
    pieces = split(pc.replace_with_mask(lines, pa.array(escaped), hidden), '"')
    in_escaped = pa.array(np.repeat(escaped, pieces.counts))
    restored = pieces.values.filter(in_escaped)
    for text, mark in reversed(_ESCAPES):
        restored = pc.replace_substring(restored, mark, text)
    return Pieces(pc.replace_with_mask(pieces.values, in_escaped, restored), pieces.starts, pieces.counts)


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


def _request(request: pa.Array) -> Columns:
    """The quoted request line -> http.request.method, http.version, url.*.

    Not an HTTP request line (`-`, empty, binary junk) -> all null.
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


def _response_time(field: pa.Array) -> pa.Array:
    """A trailing ` <number>[ms]` -> ns: with `ms` milliseconds (Traefik), with a fraction
    seconds (nginx $request_time), else microseconds (Apache %D); anything else null."""
    parts = pc.extract_regex(field, _RESPONSE_TIME_RE)
    number, unit = group(parts, "number"), group(parts, "unit")
    unit_ns = pc.if_else(pc.equal(unit, "ms"), 1e6, pc.if_else(pc.match_substring(number, "."), 1e9, 1e3))
    return pc.round(pc.multiply(number.cast(pa.float64()), unit_ns)).cast(pa.int64())


def _clf_columns(fields: Mapping[str, pa.Array | None]) -> Columns:
    """Pieces of access lines (client, user, vhost, request, status, bytes, trailing, and for
    combined referrer and agent) -> event columns."""
    address = absent_as_null(fields["client"], "-")
    ip, host = ip_or_host(address)
    user = absent_as_null(fields["user"], "-")
    vhost_domain, vhost_port = host_port(fields["vhost"])
    request = _request(fields["request"])
    status = to_long(fields["status"])
    columns = {
        **web_event(status),
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
        "http.response.bytes": to_long(fields["bytes"]),
        "event.duration": _response_time(fields["trailing"]),
        "event.timezone": fields["zone"],
    }
    if fields["agent"] is not None:
        columns["http.request.referrer"] = absent_as_null(fields["referrer"], "-")
        columns["user_agent.original"] = absent_as_null(fields["agent"], "-")
    return columns


def _parse_clf(batch: LineBatch, ctx: ParseContext, fmt: LogFormat, combined: bool) -> ParseResult:
    """Apache/Nginx access lines -> events; `combined` requires referrer and user agent."""
    lines = batch_lines(batch)
    blank = blank_lines(lines)
    quoted = _split_on_quotes(lines)
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
    shape &= (words.counts == 3) | (words.counts == 4)
    matched = pc.fill_null(pc.and_(pc.and_(pa.array(shape), pc.ends_with(bracketed, "] ")),
                                   mid.is_valid()), False)
    text = pc.if_else(matched, pc.utf8_slice_codeunits(bracketed, 0, -2), NULL_STRING)
    timestamp, zone = _clf_timestamps(text, ctx)
    ok = pc.and_(matched, pc.is_valid(timestamp))
    reasons = pc.if_else(matched, pc.binary_join_element_wise("bad timestamp '", text, "'", ""),
                         f"does not match {fmt.name} layout")
    rows = selection(ok)
    fields = take_rows({
        "timestamp": timestamp, "zone": zone, "client": words.piece(-3), "user": words.piece(-1),
        "vhost": pc.if_else(pa.array(words.counts == 4), words.piece(0), NULL_STRING),
        "request": quoted.piece(1), "status": group(mid, "status"), "bytes": group(mid, "bytes"),
        "trailing": trailing,
        "referrer": quoted.piece(3) if combined else None,
        "agent": quoted.piece(5) if combined else None,
    }, rows)
    return finish(batch, fmt, rows, fields["timestamp"], _clf_columns(fields), ok, reasons, blank)


def parse_apache_combined(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Combined log format lines (with the variants in the module docstring) -> events."""
    return _parse_clf(batch, ctx, APACHE_COMBINED, combined=True)


def parse_apache_common(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Common log format lines (no referrer, no user agent) -> events."""
    return _parse_clf(batch, ctx, APACHE_COMMON, combined=False)

APACHE_COMBINED = LogFormat("apache_combined", "web", parse_apache_combined,
                            partial(share_parsed, parse_apache_combined), {"type": "web-server"})
APACHE_COMMON = LogFormat("apache_common", "web", parse_apache_common,
                          partial(share_parsed, parse_apache_common), {"type": "web-server"})
