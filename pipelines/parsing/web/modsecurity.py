"""ModSecurity messages inside web server error logs -> the web site's own attack alarms.

In: the message text of error-log lines (Apache error log: ModSecurity 2, `[:error]` or
`[security2:error]`; nginx error log: the ModSecurity-nginx connector, libmodsecurity 3); out: a
mask of the ModSecurity lines and their event columns. The layout (ModSecurity reference manual,
"Logging", and the messages the OWASP Core Rule Set raises):

    ModSecurity: Access denied with code 403 (phase 2). <what matched>. [file "..."] [line "..."]
    [id "942100"] [msg "SQL Injection Attack Detected via libinjection"] [data "Matched Data: ..."]
    [severity "CRITICAL"] [ver "OWASP_CRS/3.3.4"] [tag "attack-sqli"] ... [hostname "..."]
    [uri "/index.php"] [unique_id "..."]

-> rule.id, rule.name (msg), rule.ruleset (ver), event.severity (CRITICAL or 2 -> 2: the syslog
scale ModSecurity uses), tags (every [tag]), url.original / url.path ([uri], the path without
query), url.domain ([hostname]), http.request.id ([unique_id], what mod_unique_id also writes to the
access log), http.response.status_code (`with code 403`), event.action (`access-denied`,
`warning`, ... from the disposition), event.kind `alert`, event.category web +
intrusion_detection, event.type denied (access denied) or info.

Escaping: ModSecurity 2 writes `\\"` and `\\\\` inside values and Apache escapes the message again
(`\\\\` for each backslash), so values are read after undoing Apache's layer and then unescaped
once more; libmodsecurity 3 writes `\\xHH` (also for quotes), which unescape reads too. Values are
taken from the raw text when the decoded one does not hold them (servers built without error-log
escaping).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import indices
from pipelines.parsing.web.columns import (
    LIST_OF_STRINGS, Columns, absent_as_null, as_pieces, group, scatter, to_long,
)
from pipelines.parsing.web.escapes import unescape_column

MARKER = "ModSecurity:"
_VALUE = r'"(?P<value>(?:[^"\\]|\\.)*)"\]'
# The disposition follows `ModSecurity:`, after the metadata when rules put it first (CRS 2).
_DISPOSITION_RE = (r'(?s)ModSecurity:(?:\s*\[(?:[^\]"]|"(?:[^"\\]|\\.)*")*\])*\s*'
                   r"(?P<action>Access denied|Access allowed|Warning|Audit log|Rule processing failed"
                   r"|[A-Z][a-z]+)(?: with code (?P<code>\d{3}))?")
SEVERITIES = {"EMERGENCY": 0, "ALERT": 1, "CRITICAL": 2, "ERROR": 3, "WARNING": 4, "NOTICE": 5,
              "INFO": 6, "DEBUG": 7}


def _bracketed(decoded: pa.Array, raw: pa.Array, name: str) -> pa.Array:
    """The value of `[name "value"]` (first occurrence), unescaped; null where absent."""
    pattern = r"(?s)\[" + name + " " + _VALUE
    value = group(pc.extract_regex(decoded, pattern), "value")
    if raw is not decoded:
        value = pc.coalesce(value, group(pc.extract_regex(raw, pattern), "value"))
    return unescape_column(value)


def _tags(decoded: pa.Array) -> pa.Array:
    """Every `[tag "..."]` value of each message, unescaped, as a list (null when none)."""
    split = pc.split_pattern(decoded, '[tag "')
    pieces = as_pieces(split)
    owner = np.asarray(pc.list_parent_indices(split))
    first = np.zeros(len(owner), dtype=bool)
    first[pieces.starts[pieces.counts > 0]] = True
    values = group(pc.extract_regex(pieces.values, r'(?s)^(?P<value>(?:[^"\\]|\\.)*)"\]'), "value")
    keep = np.asarray(pc.fill_null(pc.is_valid(values), False)) & ~first
    kept = unescape_column(values.filter(pa.array(keep)))
    counts = np.bincount(owner[keep], minlength=len(decoded)).astype(np.int32)
    offsets = np.zeros(len(decoded) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), kept, mask=pa.array(counts == 0))


def _severity(values: pa.Array) -> pa.Array:
    """`CRITICAL` or `2` -> 2 (syslog scale); anything else null."""
    names = pa.array(list(SEVERITIES), pa.string())
    by_name = pc.index_in(pc.utf8_upper(values), value_set=names)
    numbers = pa.array(list(SEVERITIES.values()), pa.int64())
    named = numbers.take(pc.fill_null(by_name, 0))
    named = pc.if_else(pc.is_valid(by_name), named, pa.scalar(None, pa.int64()))
    number = to_long(values)
    number = pc.if_else(pc.less_equal(number, 7), number, pa.scalar(None, pa.int64()))
    return pc.coalesce(named, number)


def modsecurity_columns(raw: pa.Array, decoded: pa.Array | None = None) -> tuple[pa.Array, Columns]:
    """Error-log messages (`raw` as written, `decoded` with the server's own escaping undone,
    None when the server does not escape) -> (mask of ModSecurity messages, their columns;
    every column null on the other rows)."""
    decoded = raw if decoded is None else decoded
    n = len(raw)
    mask = pc.fill_null(pc.match_substring(raw, MARKER), False)
    rows = indices(mask)
    if not len(rows):
        return mask, {}
    take = pa.array(rows)
    sub_raw, sub = raw.take(take), decoded.take(take)
    disposition = pc.extract_regex(sub, _DISPOSITION_RE)
    action = pc.replace_substring(pc.utf8_lower(group(disposition, "action")), " ", "-")
    denied = pc.fill_null(pc.equal(action, "access-denied"), False)
    uri = _bracketed(sub, sub_raw, "uri")
    columns = {
        "event.kind": "alert",
        "event.category": pa.scalar(["web", "intrusion_detection"], LIST_OF_STRINGS),
        "event.type": pc.if_else(denied, pa.scalar(["denied"], LIST_OF_STRINGS),
                                 pa.scalar(["info"], LIST_OF_STRINGS)),
        "event.action": action,
        "rule.id": _bracketed(sub, sub_raw, "id"),
        "rule.name": _bracketed(sub, sub_raw, "msg"),
        "rule.ruleset": absent_as_null(_bracketed(sub, sub_raw, "ver")),
        "event.severity": _severity(_bracketed(sub, sub_raw, "severity")),
        "tags": _tags(sub),
        "url.original": uri,
        "url.path": uri,
        "url.domain": absent_as_null(_bracketed(sub, sub_raw, "hostname")),
        "http.request.id": absent_as_null(_bracketed(sub, sub_raw, "unique_id")),
        "http.response.status_code": to_long(group(disposition, "code")),
    }
    spread = {}
    for name, values in columns.items():
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            spread[name] = scatter(n, rows, values)
        else:  # a scalar for every ModSecurity row, null elsewhere
            value = values if isinstance(values, pa.Scalar) else pa.scalar(values, pa.string())
            spread[name] = pc.if_else(mask, value, pa.scalar(None, value.type))
    return mask, spread



# Fields the line itself may already carry (nginx's `request: "..."`): the line's value wins.
_LINE_WINS = ("url.original", "url.path", "url.domain", "url.query", "url.extension")


def merge_alarm(columns: Columns, mask: pa.Array, alarm: Columns) -> Columns:
    """Event columns of error lines with the ModSecurity columns laid over the alarm rows
    (`mask`); url.* the line already holds are kept."""
    merged = dict(columns)
    for name, values in alarm.items():
        base = merged.get(name)
        if base is None:
            merged[name] = values
        elif isinstance(base, (pa.Array, pa.ChunkedArray)):
            merged[name] = pc.coalesce(base, values) if name in _LINE_WINS else pc.if_else(mask, values, base)
        else:  # a scalar for every row: kept where the line is no alarm
            merged[name] = pc.if_else(mask, values, pa.scalar(base, values.type))
    return merged
