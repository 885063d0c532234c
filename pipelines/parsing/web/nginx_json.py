"""nginx access logs written as one JSON object per line (`web.nginx_json`).

In: a LineBatch and ParseContext; out: a ParseResult. The layout is whatever `log_format ...
escape=json '{...}'` the site wrote (nginx documentation, ngx_http_log_module: `escape=json`
escapes `"`, `\\` and control characters the JSON way and writes an unset variable as an empty
string). The keys are nginx's variable names, as most published layouts use them (first present
wins): time_iso8601 | time_local | msec | @timestamp | timestamp | time -> @timestamp;
remote_addr (or client_ip, remote_ip, ...) -> source.*; remote_user -> user.name; request, or
request_method + request_uri (or uri + args) + server_protocol -> http.request.method,
http.version, url.*; status; body_bytes_sent (else bytes_sent) -> http.response.bytes;
request_length -> http.request.bytes; http_referer; http_user_agent; request_time (seconds) ->
event.duration; upstream_addr (the first upstream) -> destination.*; host | http_host |
server_name -> url.domain; server_port -> server.port; server_addr -> server.ip; scheme;
request_id -> http.request.id; http_x_forwarded_for -> related.ip (with the client).
Nested objects are flattened with dotted keys; numbers and booleans are read as their text.
An empty or `-` user agent or referrer is null: with escape=json, nginx writes "" both for a
header that was not sent and for an empty one, and absence is by far the common case.

Vectorised: the lines are handed to Arrow's JSON reader in one block; a block that fails is
halved until the failing lines are isolated (small groups go to Python's json module, which also
repairs what nginx layouts often get wrong: unquoted `-` or `0.001, 0.002` from
$upstream_response_time). `\\xNN` (bytes that were not UTF-8, or `escape=default`) is kept as text.
Only lines that are no JSON object, or have no readable time, are dead letters.
"""
from __future__ import annotations

import io
import json
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from pipelines.parsing.base import (
    TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult, build_dead_letters, build_events, empty_events,
    no_dead_letters, parse_local, parse_zoned,
)
from pipelines.parsing.web.columns import (
    NULL_STRING, Columns, absent_as_null, address_list, batch_lines, blank_lines, host_port,
    ip_or_host, request_columns, sample_batch, to_long, web_event,
)

KEYS: dict[str, tuple[str, ...]] = {
    "time": ("time_iso8601", "time_local", "msec", "@timestamp", "timestamp", "time"),
    "client": ("remote_addr", "client_ip", "clientip", "remote_ip", "client", "ip"),
    "user": ("remote_user", "user"),
    "request": ("request",),
    "method": ("request_method", "method"),
    "uri": ("request_uri", "uri", "path"),
    "args": ("args", "query_string"),
    "protocol": ("server_protocol", "protocol"),
    "status": ("status",),
    "bytes": ("body_bytes_sent", "bytes_sent"),
    "request_length": ("request_length",),
    "referrer": ("http_referer", "http_referrer", "referer", "referrer"),
    "agent": ("http_user_agent", "user_agent", "agent"),
    "request_time": ("request_time",),
    "upstream": ("upstream_addr",),
    "host": ("host", "http_host", "server_name", "vhost"),
    "server_port": ("server_port",),
    "server_addr": ("server_addr",),
    "scheme": ("scheme",),
    "request_id": ("request_id",),
    "xff": ("http_x_forwarded_for", "x_forwarded_for"),
}
_PYTHON_BELOW = 64  # a failing group this small is read line by line in Python
# `\x` after an even run of backslashes is no JSON escape: double its backslash (kept as text)
_BAD_X_ESCAPE = (r"((?:^|[^\\])(?:\\\\)*)\\x", r"\1\\\\x")
_UNQUOTED = re.compile(r'(:\s*)((?:-|\d+(?:\.\d+)?)(?:\s*[,:]\s*(?:-|\d+(?:\.\d+)?))+|-)(\s*(?:,\s*"|\}))')


def _flatten(value: Any, prefix: str, out: dict[str, str | None]) -> None:
    """A decoded JSON value -> dotted key -> text (numbers and booleans as written by json)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    elif value is None:
        out[prefix] = None
    elif isinstance(value, str):
        out[prefix] = value
    else:
        out[prefix] = json.dumps(value, ensure_ascii=False)


def _python_rows(texts: list[str]) -> tuple[list[dict[str, str | None] | None], list[str]]:
    """Lines read one by one with Python's json (after repairing unquoted values)."""
    rows, reasons = [], []
    for text in texts:
        try:
            value = json.loads(text, strict=False)
        except ValueError:
            try:
                value = json.loads(_UNQUOTED.sub(r'\1"\2"\3', text), strict=False)
            except ValueError as exc:
                rows.append(None)
                reasons.append(f"not a JSON object ({exc.msg})")
                continue
        if not isinstance(value, dict):
            rows.append(None)
            reasons.append("not a JSON object")
            continue
        flat: dict[str, str | None] = {}
        _flatten(value, "", flat)
        rows.append(flat)
        reasons.append("")
    return rows, reasons


def _as_text_columns(table: pa.Table) -> dict[str, pa.Array]:
    """An Arrow JSON table -> dotted key -> string array (structs flattened, lists as JSON)."""
    out: dict[str, pa.Array] = {}
    pending = [(name, table.column(name).combine_chunks()) for name in table.column_names]
    while pending:
        name, values = pending.pop(0)
        if pa.types.is_struct(values.type):
            pending.extend((f"{name}.{values.type.field(k).name}", values.field(k))
                           for k in range(values.type.num_fields))
        elif pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            out[name] = values.cast(pa.string())
        elif pa.types.is_null(values.type):
            out[name] = pa.nulls(len(values), pa.string())
        elif pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
            out[name] = pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                                  for v in values.to_pylist()], pa.string())
        else:
            out[name] = values.cast(pa.string())
    return out


def _arrow_read(texts: pa.Array) -> dict[str, pa.Array] | None:
    """Lines read by Arrow's JSON reader in one block; None when the block fails."""
    joined = pc.binary_join_element_wise(texts, "\n", "")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
    offsets = offsets[joined.offset:joined.offset + len(joined) + 1]
    data = joined.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]
    options = pa_json.ReadOptions(use_threads=False, block_size=max(1 << 20, len(data) + 1))
    try:
        table = pa_json.read_json(io.BytesIO(data), read_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        return None
    return _as_text_columns(table) if table.num_rows == len(texts) else None


def read_objects(texts: pa.Array) -> tuple[dict[str, pa.Array], pa.Array]:
    """JSON object lines -> (dotted key -> string array, one value per line; the reason each
    line could not be read, null where it was). See the module docstring."""
    n = len(texts)
    parts: list[tuple[np.ndarray, dict[str, pa.Array]]] = []
    reasons = np.full(n, None, dtype=object)
    todo = [np.arange(n)]
    while todo:
        rows = todo.pop()
        if not len(rows):
            continue
        if len(rows) >= _PYTHON_BELOW:
            columns = _arrow_read(texts.take(pa.array(rows)))
            if columns is not None:
                parts.append((rows, columns))
            else:
                half = len(rows) // 2
                todo.extend((rows[:half], rows[half:]))
            continue
        decoded, why = _python_rows(texts.take(pa.array(rows)).to_pylist())
        good = np.array([d is not None for d in decoded], dtype=bool)
        reasons[rows[~good]] = [w for w, ok in zip(why, good) if not ok]
        if good.any():
            keys = list(dict.fromkeys(k for d in decoded if d is not None for k in d))
            parts.append((rows[good], {k: pa.array([d.get(k) for d in decoded if d is not None], pa.string())
                                       for k in keys}))
    position = np.full(n, -1, dtype=np.int64)
    start = 0
    for rows, _ in parts:
        position[rows] = start + np.arange(len(rows))
        start += len(rows)
    keys = list(dict.fromkeys(k for _, columns in parts for k in columns))
    merged = {}
    for key in keys:
        pieces = [columns[key] if key in columns else pa.nulls(len(rows), pa.string())
                  for rows, columns in parts]
        flat = pa.concat_arrays(pieces)
        merged[key] = flat.take(pa.array(np.maximum(position, 0), mask=position < 0))
    return merged, pa.array(reasons, pa.string())


def _pick(columns: dict[str, pa.Array], names: tuple[str, ...], n: int) -> pa.Array:
    """The first of `names` that a line has (empty values count as absent)."""
    present = [absent_as_null(columns[name]) for name in names if name in columns]
    return pc.coalesce(*present) if present else pa.nulls(n, pa.string())


def _timestamps(text: pa.Array, ctx: ParseContext) -> tuple[pa.Array, pa.Array]:
    """ISO 8601 (with offset, or local), CLF `27/Nov/2026:19:02:03 +0100`, or epoch seconds
    (`msec`, `1764266523.123`) -> (UTC timestamps, null if unreadable; the zone a time without
    offset was read in, for event.timezone)."""
    seconds_only = pc.replace_substring_regex(text, r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)\.\d+", r"\1")
    iso = pc.replace_substring(seconds_only, " ", "T")
    zoned = parse_zoned(iso, "%Y-%m-%dT%H:%M:%S%z")
    local = parse_local(iso, "%Y-%m-%dT%H:%M:%S", ctx.timezone)
    clf = parse_zoned(text, "%d/%b/%Y:%H:%M:%S %z")
    epoch = pc.if_else(pc.match_substring_regex(text, r"^\d{9,11}(?:\.\d{1,6})?$"), text, NULL_STRING)
    millis = pc.round(pc.multiply(epoch.cast(pa.float64()), 1000)).cast(pa.int64())
    epoch_time = millis.cast(pa.timestamp("ms")).cast(TS_TYPE)
    read_locally = pc.and_(pc.is_null(pc.coalesce(zoned, clf, epoch_time)), pc.is_valid(local))
    return pc.coalesce(zoned, local, clf, epoch_time), pc.if_else(read_locally, ctx.timezone, NULL_STRING)


def _columns(values: dict[str, pa.Array]) -> Columns:
    """Values by role (see KEYS) -> event columns."""
    request_line = values["request"]
    with_args = pc.binary_join_element_wise(values["uri"], values["args"], "?")
    target = pc.coalesce(pc.if_else(pc.is_valid(values["args"]), with_args, values["uri"]), values["uri"])
    built = pc.binary_join_element_wise(values["method"], target, pc.fill_null(values["protocol"], ""), " ")
    request = request_columns(pc.utf8_rtrim(pc.coalesce(request_line, built), characters=" "))
    client, client_ips = address_list(absent_as_null(values["client"], "-"))
    ip, host = ip_or_host(absent_as_null(client, "-"))
    everyone = pc.binary_join_element_wise(pc.fill_null(values["client"], ""),
                                           pc.fill_null(values["xff"], ""), ",")
    related_ips = address_list(everyone)[1]
    first_upstream = pc.list_element(pc.split_pattern(values["upstream"], ",", max_splits=1), 0)
    upstream = pc.utf8_trim_whitespace(first_upstream)
    upstream_host, upstream_port = host_port(absent_as_null(upstream, "-"))
    destination_ip, _ = ip_or_host(upstream_host)
    domain, domain_port = host_port(values["host"])
    server_port = to_long(values["server_port"])
    status = to_long(values["status"])
    user = absent_as_null(values["user"], "-")
    seconds = pc.if_else(pc.match_substring_regex(values["request_time"], r"^\d{1,9}(?:\.\d{1,9})?$"),
                         values["request_time"], NULL_STRING)
    return {
        **web_event(status),
        **request,
        "url.domain": pc.coalesce(request["url.domain"], domain),
        "url.port": pc.coalesce(request["url.port"], domain_port, server_port),
        "url.scheme": pc.coalesce(request["url.scheme"], absent_as_null(values["scheme"], "-")),
        "server.port": server_port,
        "server.ip": ip_or_host(values["server_addr"])[0],
        "source.address": client,
        "source.ip": ip,
        "source.domain": host,
        "related.ip": related_ips,
        "user.name": user,
        "related.user": user,
        "http.response.bytes": to_long(values["bytes"]),
        "http.request.bytes": to_long(values["request_length"]),
        "http.request.referrer": absent_as_null(values["referrer"], "-"),
        "user_agent.original": absent_as_null(values["agent"], "-"),
        "http.request.id": absent_as_null(values["request_id"], "-"),
        "event.duration": pc.round(pc.multiply(seconds.cast(pa.float64()), 1e9)).cast(pa.int64()),
        "event.timezone": values["zone"],
        "destination.address": upstream_host,
        "destination.ip": destination_ip,
        "destination.port": upstream_port,
    }


def _read(batch: LineBatch, ctx: ParseContext
          ) -> tuple[np.ndarray, pa.Array, dict[str, pa.Array], pa.Array, np.ndarray]:
    """(candidate rows, their timestamps, their values by role, reason per line, blank mask)."""
    lines = batch_lines(batch)
    blank = np.asarray(blank_lines(lines), dtype=bool)
    trimmed = pc.utf8_trim_whitespace(lines)
    candidate = np.asarray(pc.and_(pc.starts_with(trimmed, "{"), pc.ends_with(trimmed, "}")), dtype=bool)
    rows = np.flatnonzero(candidate)
    texts = trimmed.take(pa.array(rows))
    has_x = pc.fill_null(pc.match_substring(texts, "\\x"), False)
    if pc.any(has_x).as_py():
        texts = pc.if_else(has_x, pc.replace_substring_regex(texts, *_BAD_X_ESCAPE), texts)
    columns, why = read_objects(texts)
    values = {role: _pick(columns, names, len(rows)) for role, names in KEYS.items()}
    timestamp, zone = _timestamps(values["time"], ctx)
    values["zone"] = zone
    why = pc.coalesce(why, pc.if_else(pc.is_valid(timestamp), NULL_STRING,
                                      pc.if_else(pc.is_valid(values["time"]), pc.binary_join_element_wise(
                                          "bad timestamp '", values["time"], "'", ""), "no time key")))
    reasons = pa.array(np.full(len(lines), "not a JSON object line", dtype=object), pa.string())
    if len(rows):
        reasons = pc.replace_with_mask(reasons, pa.array(candidate), why)
    return rows, timestamp, values, reasons, blank


def parse_nginx_json(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """nginx JSON access log lines -> events (see the module docstring)."""
    rows, timestamp, values, reasons, blank = _read(batch, ctx)
    good = np.asarray(pc.is_valid(timestamp), dtype=bool) if len(rows) else np.zeros(0, dtype=bool)
    event_rows = rows[good]
    if len(event_rows):
        chosen = pa.array(np.flatnonzero(good))
        picked = {role: column.take(chosen) for role, column in values.items()}
        events = build_events(batch, event_rows, NGINX_JSON, timestamp.take(chosen), _columns(picked))
    else:
        events = empty_events()
    dead_mask = ~blank
    dead_mask[event_rows] = False
    dead_rows = np.flatnonzero(dead_mask)
    dead = (build_dead_letters(batch, dead_rows, reasons.take(pa.array(dead_rows)), NGINX_JSON)
            if len(dead_rows) else no_dead_letters())
    blanks = int(blank.sum())
    return ParseResult(events=events, dead_letters=dead, skipped={"blank line": blanks} if blanks else {})


def detect_nginx_json(sample: list[str]) -> float:
    """Fraction of the sample that is JSON access records: a time, a status and a request."""
    if not sample:
        return 0.0
    rows, timestamp, values, _, _ = _read(sample_batch(sample), ParseContext())
    if not len(rows):
        return 0.0
    access = pc.and_(pc.is_valid(timestamp), pc.is_valid(values["status"]))
    access = pc.and_(access, pc.or_(pc.is_valid(values["request"]), pc.is_valid(values["uri"])))
    return int(np.count_nonzero(np.asarray(pc.fill_null(access, False)))) / len(sample)


NGINX_JSON = LogFormat("nginx_json", "web", parse_nginx_json, detect_nginx_json,
                       {"product": "nginx", "type": "web-server"})
