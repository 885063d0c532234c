"""Apache httpd error log (`web.apache_error`), 2.2 and 2.4 default layouts, with ModSecurity.

In: a LineBatch and ParseContext; out: a ParseResult. Layouts (httpd documentation, "Log Files"
and core's ErrorLogFormat; 2.4's default is what `do_errorlog_default` in server/log.c writes):

    2.2: [Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /x
    2.4: [Thu Jul 11 01:21:41.453232 2013] [authz_core:error] [pid 17512:tid 1401231] \
         [client 192.0.2.1:51380] AH01630: client denied by server configuration: /x, referer: http://a/

Pieces: the time (local, read in ctx.timezone; microseconds kept to the millisecond; also the
`%{cu}t` form `2013-07-11 01:21:41.453232`), `[module:level]` or `[level]` -> log.logger,
log.level, `[pid P:tid T]` -> process.pid, process.thread.id, a debug `file.c(123):` and an
`(errno)text:` prefix (kept in message), `[client ip:port]` or `[remote ip:port]` (the first of
them) -> source.address, source.ip, source.port, the `AH01630` code -> event.code, the message
-> message (unescaped: Apache writes `\\\\`, `\\n`, `\\xhh` in error messages), `, referer: X`
-> http.request.referrer. event.type is error for levels emerg..error, info otherwise.
ModSecurity messages add their alarm fields (modsecurity.py). Only a line whose `[time] [level]`
header does not read, or whose time is impossible, is a dead letter. Lines sent to syslog
(`ErrorLog syslog:`, `Feb 15 16:23:00 srv httpd[22034]: [authz_core:error] ...`) are read too:
the syslog time (year from ctx.reference_time) and log.syslog.hostname/appname/procid.
"""
from __future__ import annotations

from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (
    TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult, parse_local, parse_syslog,
)
from pipelines.parsing.web.columns import (
    LIST_OF_STRINGS, NULL_STRING, Columns, absent_as_null, batch_lines, blank_lines, finish, group,
    ip_or_host, related, selection, share_parsed, take_rows, to_long,
)
from pipelines.parsing.web.escapes import unescape_column
from pipelines.parsing.web.modsecurity import merge_alarm, modsecurity_columns

_LINE_RE = (r"(?s)^(?:\[(?P<time>[^\[\]]{8,40})\]|(?P<syslog_time>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d) "
            r"(?P<hostname>\S+) (?P<appname>[^\s:\[]+)(?:\[(?P<procid>\d{1,10})\])?:)"
            r" \[(?:(?P<module>[A-Za-z0-9_.-]*):)?(?P<level>[a-z]+[0-9]?)\]"
            r"(?: \[pid (?P<pid>\d{1,10})(?::tid (?P<tid>\d{1,20}))?\])?(?P<rest>.*)$")
_REST_RE = (r"(?s)^(?: (?P<source>[^ \[\]()]+\(\d+\)):)?"
            r"(?: (?P<status>\(-?\d+\)[^:\[]*:))?"
            r"(?: \[(?:client|remote) (?P<client>\[[^\]]*\](?::\d+)?|[^\]]*)\])?"
            r"(?: \[(?:client|remote) (?:\[[^\]]*\](?::\d+)?|[^\]]*)\])*"
            r" ?(?:(?P<code>AH\d{5}): )?(?P<message>.*)$")
_REFERER_RE = r"(?s)^(?P<message>.*), referer: (?P<referer>[^ ]*)$"
_TIME_RE = (r"^(?:[A-Za-z]{3} )?(?P<month>[A-Za-z]{3}) (?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d)"
            r"(?:\.(?P<fraction>\d{1,9}))? (?P<year>\d{4})$")
_ISO_TIME_RE = r"^(?P<date>\d{4}-\d\d-\d\d)[ T](?P<hms>\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d{1,9}))?$"
_IPV4_PORT_RE = r"^(?P<ip>\d{1,3}(?:\.\d{1,3}){3}):(?P<port>\d{1,5})$"
_ANY_PORT_RE = r"^(?P<ip>.+):(?P<port>\d{1,5})$"
_BRACKETED_RE = r"^\[(?P<ip>[^\]]+)\](?::(?P<port>\d{1,5}))?$"
ERROR_LEVELS = ("emerg", "alert", "crit", "error")


def error_or_info(error: pa.Array) -> pa.Array:
    """event.type per line: ["error"] where `error`, else ["info"]."""
    return pc.if_else(error, pa.scalar(["error"], LIST_OF_STRINGS), pa.scalar(["info"], LIST_OF_STRINGS))


def _timestamps(text: pa.Array, ctx: ParseContext) -> pa.Array:
    """`Thu Jul 11 01:21:41[.453232] 2013` or `2013-07-11 01:21:41[.453232]` (local) -> UTC."""
    ctime, iso = pc.extract_regex(text, _TIME_RE), pc.extract_regex(text, _ISO_TIME_RE)
    ctime_text = pc.binary_join_element_wise(group(ctime, "month"), group(ctime, "day"), group(ctime, "hms"),
                                             group(ctime, "year"), " ")
    iso_text = pc.binary_join_element_wise(group(iso, "date"), group(iso, "hms"), " ")
    seconds = pc.coalesce(parse_local(ctime_text, "%b %d %H:%M:%S %Y", ctx.timezone),  # in file order:
                          parse_local(iso_text, "%Y-%m-%d %H:%M:%S", ctx.timezone))   # DST folds
    fraction = pc.coalesce(absent_as_null(group(ctime, "fraction")), absent_as_null(group(iso, "fraction")))
    millis = pc.fill_null(pc.utf8_rpad(pc.utf8_slice_codeunits(fraction, 0, 3), 3, "0").cast(pa.int64()), 0)
    return pc.add(seconds.cast(pa.int64()), millis).cast(TS_TYPE)


def client_address(values: pa.Array, with_port: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """`[client X]` values -> (address, IP address, port). `1.2.3.4:5678` and `[2001:db8::1]:5678`
    always have a port; a bare IPv6 address only where `with_port` (2.4 writes one, 2.2 not)."""
    v4, bracketed = pc.extract_regex(values, _IPV4_PORT_RE), pc.extract_regex(values, _BRACKETED_RE)
    any_port = pc.extract_regex(values, _ANY_PORT_RE)
    v6_ip = ip_or_host(group(any_port, "ip"))[0]
    v6 = pc.and_(pc.fill_null(with_port, False), pc.is_valid(v6_ip))
    address = pc.coalesce(group(v4, "ip"), group(bracketed, "ip"), pc.if_else(v6, v6_ip, NULL_STRING), values)
    port = pc.coalesce(group(v4, "port"), absent_as_null(group(bracketed, "port")),
                       pc.if_else(v6, group(any_port, "port"), NULL_STRING))
    address = absent_as_null(address, "-")
    return address, ip_or_host(address)[0], to_long(port)


def _columns(fields: dict[str, pa.Array], ctx: ParseContext) -> Columns:
    """Pieces of error lines -> event columns (ModSecurity fields where the message is one)."""
    rest = pc.extract_regex(fields["rest"], _REST_RE)
    status = absent_as_null(group(rest, "status"))  # `(111)Connection refused:` stays in message
    text = group(rest, "message")
    raw_message = pc.coalesce(pc.binary_join_element_wise(status, text, " "), text)
    with_referer = pc.extract_regex(raw_message, _REFERER_RE)
    raw_message = pc.coalesce(group(with_referer, "message"), raw_message)
    message = unescape_column(raw_message)
    address, ip, port = client_address(absent_as_null(group(rest, "client")), pc.is_valid(fields["pid"]))
    level = fields["level"]
    error = pc.fill_null(pc.is_in(level, value_set=pa.array(ERROR_LEVELS)), False)
    columns: Columns = {
        "event.kind": "event",
        "event.category": ["web"],
        "event.type": error_or_info(error),
        "event.timezone": ctx.timezone,
        "log.level": level,
        "log.logger": absent_as_null(fields["module"]),
        "process.pid": to_long(fields["pid"]),
        "process.thread.id": to_long(fields["tid"]),
        "event.code": absent_as_null(group(rest, "code")),
        "log.syslog.hostname": fields["hostname"],
        "log.syslog.appname": fields["appname"],
        "log.syslog.procid": fields["procid"],
        "message": message,
        "source.address": address,
        "source.ip": ip,
        "source.port": port,
        "related.ip": related(ip),
        "http.request.referrer": absent_as_null(unescape_column(group(with_referer, "referer")), "-"),
    }
    modsec, alarm = modsecurity_columns(raw_message, message)
    return merge_alarm(columns, modsec, alarm)


def parse_apache_error(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Apache error log lines -> events (see the module docstring)."""
    lines = batch_lines(batch)
    blank = blank_lines(lines)
    found = pc.extract_regex(lines, _LINE_RE)
    header = pc.fill_null(found.is_valid(), False)
    syslog_text = absent_as_null(pc.if_else(header, group(found, "syslog_time"), NULL_STRING))
    bracketed = absent_as_null(pc.if_else(header, group(found, "time"), NULL_STRING))
    time_text = pc.coalesce(bracketed, syslog_text)
    timestamp = pc.coalesce(_timestamps(time_text, ctx), parse_syslog(syslog_text, ctx))
    ok = pc.is_valid(timestamp)
    reasons = pc.if_else(header, pc.binary_join_element_wise("bad timestamp '", time_text, "'", ""),
                         "does not match apache_error layout")
    rows = selection(ok)
    names = ("module", "level", "pid", "tid", "rest", "hostname", "appname", "procid")
    fields = take_rows({name: group(found, name) for name in names}, rows)
    fields = {name: values if name in ("level", "rest") else absent_as_null(values)
              for name, values in fields.items()}
    timestamp = timestamp if rows is None else timestamp.take(pa.array(rows))
    return finish(batch, APACHE_ERROR, rows, timestamp, _columns(fields, ctx), ok, reasons, blank)


APACHE_ERROR = LogFormat("apache_error", "web", parse_apache_error, partial(share_parsed, parse_apache_error),
                         {"product": "apache", "vendor": "Apache Software Foundation", "type": "web-server"})
