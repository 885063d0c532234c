"""nginx error log (`web.nginx_error`), with ModSecurity-nginx alarms.

In: a LineBatch and ParseContext; out: a ParseResult. Layout (nginx documentation, `error_log`;
the context is what ngx_http_log_error_handler appends):

    2026/11/27 19:02:03 [error] 1234#1234: *5 open() "/srv/www/x.php" failed (2: No such file or
    directory), client: 203.0.113.7, server: www.example.org, request: "GET /x.php HTTP/1.1",
    upstream: "fastcgi://unix:/run/php.sock", host: "www.example.org", referrer: "https://a/"

The time (local, read in ctx.timezone) and `[level] pid#tid:` form the header; `*5` is the
connection number (kept in event.original). The message -> message; client -> source.*; request
-> http.request.method, http.version, url.*; host (else server) -> url.domain; referrer ->
http.request.referrer; the context is taken from the last `, client: ` (a user name in the message
may imitate it). nginx writes these values as received, unescaped (a byte that is not
UTF-8 reaches the parser as `\\xNN` from line screening and stays so). A line prefixed by the
journal (`host nginx[983479]: 2023/12/09 ...`) is read too. ModSecurity-nginx messages
(`[client 1.2.3.4] ModSecurity: Access denied with code 403 (phase 2). ... [id "949110"] ...`)
add their alarm fields (modsecurity.py). Only a line whose header does not read is a dead letter.
"""
from __future__ import annotations

from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import LineBatch, LogFormat, ParseContext, ParseResult, parse_local
from pipelines.parsing.web.apache_error import ERROR_LEVELS, error_or_info
from pipelines.parsing.web.columns import (
    NULL_STRING, Columns, absent_as_null, batch_lines, blank_lines, finish, group,
    host_port, ip_or_host, related, request_columns, selection, share_parsed, take_rows, to_long,
)
from pipelines.parsing.web.modsecurity import merge_alarm, modsecurity_columns

_LINE_RE = (r"(?s)^(?:\S+ nginx(?:\[\d{1,10}\])?: )*(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) "
            r"\[(?P<level>[a-z]+)\] (?P<pid>\d{1,10})#(?P<tid>\d{1,20}): (?:\*(?P<connection>\d+) )?"
            r"(?P<rest>.*)$")
# The last `, client: ` whose tail reads: a message can carry client data (a user name) that
# imitates the context (what fail2ban also assumes).
_CONTEXT_RE = (r'(?s)^(?P<message>.*)(?P<context>, client: (?P<client>[^,]*)(?:, server: (?P<server>[^,]*))?'
               r'(?:, request: "(?P<request>.*?)")?(?:, subrequest: "(?P<subrequest>.*?)")?'
               r'(?:, upstream: "(?P<upstream>.*?)")?(?:, host: "(?P<host>.*?)")?'
               r'(?:, referrer: "(?P<referrer>.*)")?)$')


def _columns(fields: dict[str, pa.Array], ctx: ParseContext) -> Columns:
    """Pieces of nginx error lines -> event columns (ModSecurity fields where there is one)."""
    context = pc.extract_regex(fields["rest"], _CONTEXT_RE)
    has_context = pc.fill_null(context.is_valid(), False)

    def part(name: str) -> pa.Array:  # a context value; null where the line has no such part
        return absent_as_null(pc.if_else(has_context, group(context, name), NULL_STRING))

    message = pc.coalesce(group(context, "message"), fields["rest"])
    address = absent_as_null(part("client"), "-")
    ip = ip_or_host(address)[0]
    host = host_port(part("host"))[0]
    server = host_port(part("server"))[0]
    request = request_columns(part("request"))
    level = fields["level"]
    error = pc.fill_null(pc.is_in(level, value_set=pa.array(ERROR_LEVELS)), False)
    columns: Columns = {
        "event.kind": "event",
        "event.category": ["web"],
        "event.type": error_or_info(error),
        "event.timezone": ctx.timezone,
        "log.level": level,
        "process.pid": to_long(fields["pid"]),
        "process.thread.id": to_long(fields["tid"]),
        "message": message,
        "source.address": address,
        "source.ip": ip,
        "related.ip": related(ip),
        **request,
        "url.domain": pc.coalesce(request["url.domain"], host, server),
        "http.request.referrer": part("referrer"),
    }
    modsec, alarm = modsecurity_columns(message)
    return merge_alarm(columns, modsec, alarm)


def parse_nginx_error(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """nginx error log lines -> events (see the module docstring)."""
    lines = batch_lines(batch)
    blank = blank_lines(lines)
    found = pc.extract_regex(lines, _LINE_RE)
    header = pc.fill_null(found.is_valid(), False)
    time_text = pc.if_else(header, group(found, "time"), NULL_STRING)
    timestamp = parse_local(time_text, "%Y/%m/%d %H:%M:%S", ctx.timezone)  # file order: DST folds
    ok = pc.is_valid(timestamp)
    reasons = pc.if_else(header, pc.binary_join_element_wise("bad timestamp '", time_text, "'", ""),
                         "does not match nginx_error layout")
    rows = selection(ok)
    fields = take_rows({name: group(found, name) for name in ("level", "pid", "tid", "rest")}, rows)
    timestamp = timestamp if rows is None else timestamp.take(pa.array(rows))
    return finish(batch, NGINX_ERROR, rows, timestamp, _columns(fields, ctx), ok, reasons, blank)


NGINX_ERROR = LogFormat("nginx_error", "web", parse_nginx_error, partial(share_parsed, parse_nginx_error),
                        {"product": "nginx", "type": "web-server"})
