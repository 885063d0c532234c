"""W3C extended log format (IIS), `web.w3c`: `#Fields:` directives drive the columns.

In: a LineBatch and ParseContext (ctx.w3c_fields: the columns in force at the batch's start);
out: a ParseResult. Python loops over directive lines only; data lines are parsed column-wise.

Every `#` line is a directive, counted in ParseResult.skipped["w3c directive"]. Data lines with
no `#Fields` in force (the header was rotated away, or a copy started mid-file) are read with
the IIS default layout they fit (IIS_DEFAULT_FIELDS: 8.5 and later, 7, 6; value count and the
shape of each value decide), and their events carry the tag vigie.w3c_fields_inferred; lines
that fit none are dead letters. date + time -> @timestamp, UTC (IIS always logs UTC); c-ip ->
source.*; c-port -> source.port; s-ip, s-port -> server.ip, server.port (and url.port);
cs-method; cs-uri-stem, cs-uri-query (or cs-uri) -> url.*; cs-host -> url.domain (its port ->
url.port); cs-username -> user.name; cs(User-Agent) -> user_agent.original with IIS's `+`
turned back into spaces (event.original keeps the raw line); cs(Referer); sc-status;
time-taken (ms) -> event.duration (ns); sc-bytes, cs-bytes -> http.response/request.bytes;
cs-version; s-computername -> observer.hostname. sc-substatus, sc-win32-status, s-sitename and
cs(Cookie) have no field in schemas/ and stay in event.original.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (
    TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult, build_dead_letters, empty_events,
    no_dead_letters, parse_zoned,
)
from pipelines.parsing.web.columns import (
    Columns, absent_as_null, as_pieces, batch_lines, blank_lines, finish, host_port, http_version,
    ip_or_host, related, sample_batch, selection, strptime_each_distinct, take_rows, to_long,
    url_columns, web_event,
)

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
    url = url_columns(target, pc.equal(method, "CONNECT"))
    host, cs_host_port = host_port(text("cs-host"))
    status = to_long(text("sc-status"))
    client, server = ip_or_host(text("c-ip"))[0], ip_or_host(text("s-ip"))[0]
    user = text("cs-username")
    port = to_long(text("s-port"))
    return {
        **web_event(status),
        **url,
        "url.domain": pc.coalesce(url["url.domain"], host),
        "url.port": pc.coalesce(url["url.port"], cs_host_port, port),
        "http.request.method": method,
        "http.version": http_version(text("cs-version")),
        "http.request.referrer": text("cs(Referer)"),
        "http.request.bytes": to_long(text("cs-bytes")),
        "http.response.bytes": to_long(text("sc-bytes")),
        "user_agent.original": pc.replace_substring(text("cs(User-Agent)"), "+", " "),
        "event.duration": pc.multiply(to_long(text("time-taken")), 1_000_000),
        "source.address": text("c-ip"),
        "source.ip": client,
        "source.port": to_long(text("c-port")),
        "server.ip": server,
        "server.port": port,
        "observer.hostname": text("s-computername"),
        "user.name": user,
        "related.user": user,
        "related.ip": related(client, server),
    }


# IIS's default W3C field sets, newest first: what a file whose `#Fields:` header was rotated
# away (or cut off by a partial copy) most likely holds. Documented in Microsoft's IIS logging
# reference (W3C Extended Log File Format, "Default" column) and in each version's #Fields line.
IIS_DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "iis-8.5+": ("date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username",
                 "c-ip", "cs(User-Agent)", "cs(Referer)", "sc-status", "sc-substatus", "sc-win32-status",
                 "time-taken"),
    "iis-7": ("date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username",
              "c-ip", "cs(User-Agent)", "sc-status", "sc-substatus", "sc-win32-status", "time-taken"),
    "iis-6": ("date", "time", "s-sitename", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port",
              "cs-username", "c-ip", "cs(User-Agent)", "sc-status", "sc-substatus", "sc-win32-status"),
}
INFERRED_TAG = "vigie.w3c_fields_inferred"
_ADDRESS_SHAPE = r"^[0-9A-Fa-f:.]{2,45}(?:%[0-9A-Za-z]+)?$"  # IPv4, IPv6 (with a zone index)
_SHAPES = {  # what a value of these fields looks like (the others take any word)
    "date": r"^\d{4}-\d\d-\d\d$", "time": r"^\d\d:\d\d:\d\d(?:\.\d+)?$",
    "s-ip": _ADDRESS_SHAPE, "c-ip": _ADDRESS_SHAPE,
    "cs-method": r"^[A-Za-z_-]+$", "cs-uri-stem": r"^[/*-]", "s-port": r"^\d{1,5}$",
    "sc-status": r"^\d{3}$", "sc-substatus": r"^\d{1,10}$", "sc-win32-status": r"^\d{1,10}$",
    "time-taken": r"^\d{1,12}$", "s-sitename": r"^(?:W3SVC\d*|-)$",
}


def _values(lines: pa.Array):
    """Whitespace-separated values of W3C data lines."""
    return as_pieces(pc.ascii_split_whitespace(pc.ascii_trim_whitespace(lines)))


def infer_iis_layout(lines: pa.Array) -> list[tuple[tuple[str, ...], np.ndarray]]:
    """Data lines with no `#Fields:` in force -> [(IIS default field set, the rows it reads)];
    each row goes to the first default layout whose value count and shapes it fits."""
    values = _values(lines)
    left = np.ones(len(lines), dtype=bool)
    found = []
    for fields in IIS_DEFAULT_FIELDS.values():
        fits = left & (values.counts == len(fields))
        for k, name in enumerate(fields):
            if name in _SHAPES and fits.any():
                shaped = pc.match_substring_regex(values.piece(k), _SHAPES[name])
                fits &= np.asarray(pc.fill_null(shaped, False))
        if fits.any():
            found.append((fields, np.flatnonzero(fits)))
            left &= ~fits
    return found


def _parse_w3c_section(batch: LineBatch, rows: np.ndarray, fields: tuple[str, ...],
                       inferred: bool = False) -> ParseResult:
    """Data lines `rows` of the batch, read with the columns `fields` -> events, dead letters.
    `inferred`: the fields are IIS defaults guessed from the data (events carry INFERRED_TAG)."""
    section = batch.take(rows)
    values = _values(section.lines)
    fits = pa.array(values.counts == len(fields))
    by_name = {name: absent_as_null(values.piece(k), "-") for k, name in enumerate(fields)}
    if "date" in by_name and "time" in by_name:
        seconds = pc.utf8_slice_codeunits(by_name["time"], 0, 8)  # drop any fraction
        when = pc.binary_join_element_wise(by_name["date"], seconds, " ")
        timestamp = strptime_each_distinct(when, partial(parse_zoned, fmt="%Y-%m-%d %H:%M:%S"))
        bad_time = pc.binary_join_element_wise("bad timestamp '", pc.fill_null(when, "-"), "'", "")
    else:
        timestamp = pa.nulls(len(rows), TS_TYPE)
        bad_time = pa.scalar("W3C #Fields has no date and time")
    ok = pc.fill_null(pc.and_(fits, pc.is_valid(timestamp)), False)
    reasons = pc.if_else(fits, bad_time, f"value count differs from #Fields ({len(fields)} fields)")
    selected = selection(ok)
    chosen = take_rows({"@timestamp": timestamp, **by_name}, selected)
    timestamp = chosen.pop("@timestamp")
    columns = _w3c_columns(chosen, len(timestamp))
    if inferred:
        columns["tags"] = [INFERRED_TAG]
    return finish(section, W3C, selected, timestamp, columns, ok, reasons,
                  pa.array(np.zeros(len(rows), dtype=bool)))


def parse_w3c(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """W3C extended (IIS) lines -> events; `#` directive lines are skipped, `#Fields:` switches
    the columns for the lines after it (ctx.w3c_fields are the columns at the batch's start).
    Data lines with no `#Fields:` in force are read with the IIS default layout they fit
    (tagged INFERRED_TAG); lines that fit none are dead letters."""
    lines = batch_lines(batch)
    blank = np.asarray(blank_lines(lines), dtype=bool)
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
            layouts = infer_iis_layout(batch.lines.take(pa.array(rows)))
            inferred = [_parse_w3c_section(batch, rows[members], fields_, inferred=True)
                        for fields_, members in layouts]
            if inferred:  # events in file order, whichever layout read them
                table = pa.concat_tables([result.events for result in inferred])
                events.append(table.take(pc.sort_indices(table["log.offset"])))
                dead.extend(result.dead_letters for result in inferred)
            unread = np.ones(len(rows), dtype=bool)
            for _, members in layouts:
                unread[members] = False
            if unread.any():
                dead.append(build_dead_letters(batch, rows[unread], "W3C data line before any #Fields "
                                               "directive, not in an IIS default layout", W3C))
            continue
        result = _parse_w3c_section(batch, rows, fields)
        events.append(result.events)
        dead.append(result.dead_letters)
    skipped = {reason: int(count) for reason, count in (("w3c directive", directive.sum()),
                                                        ("blank line", blank.sum())) if count}
    return ParseResult(events=pa.concat_tables(events), dead_letters=pa.concat_tables(dead),
                       skipped=skipped)



def detect_w3c(sample: list[str]) -> float:
    """Fraction of the sample that is W3C directives or data lines read under a `#Fields:`, or,
    without any `#Fields:`, data lines that fit an IIS default layout (a rotated-away header)."""
    if not sample:
        return 0.0
    directives = sum(line.startswith(W3C_DIRECTIVES) for line in sample)
    return (directives + parse_w3c(sample_batch(sample), ParseContext()).events.num_rows) / len(sample)


W3C = LogFormat("w3c", "web", parse_w3c, detect_w3c, {"type": "web-server"})
