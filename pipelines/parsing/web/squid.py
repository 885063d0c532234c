"""Squid native access.log, `web.squid`: `time.ms elapsed client action/code size method URL ident
hierarchy/peer type`. event.action is the Squid action (TCP_DENIED), event.type adds "denied"
when the action says so, size -> http.response.bytes, elapsed (ms) -> event.duration (ns),
ident -> user.name, the peer -> destination.*, type -> http.response.mime_type; status 000
(no reply) -> null status and outcome.

In: a LineBatch and ParseContext; out: a ParseResult.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult
from pipelines.parsing.web.columns import (
    LIST_OF_STRINGS, NULL_STRING, Columns, absent_as_null, as_pieces, batch_lines, blank_lines,
    finish, ip_or_host, related, selection, share_parsed, split, take_rows, to_long, url_columns,
    web_event,
)

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
    action_code = split(words["action_code"], "/", max_splits=1)
    action, code = action_code.piece(0), action_code.piece(1)
    status = pc.if_else(pc.equal(code, "000"), pa.scalar(None, pa.int64()), to_long(code))
    peer = absent_as_null(split(words["hierarchy_peer"], "/", max_splits=1).piece(1), "-")
    method = words["method"]
    client = ip_or_host(words["client"])[0]
    destination, destination_host = ip_or_host(peer)
    user = absent_as_null(words["ident"], "-")
    denied = pc.fill_null(pc.match_substring(action, "DENIED"), False)
    return {
        **web_event(status),
        **url_columns(words["url"], pc.equal(method, "CONNECT")),
        "event.action": action,
        "event.type": pc.if_else(denied, pa.scalar(["access", "denied"], LIST_OF_STRINGS),
                                 pa.scalar(["access"], LIST_OF_STRINGS)),
        "event.duration": pc.multiply(to_long(words["elapsed"]), 1_000_000),
        "http.request.method": method,
        "http.response.bytes": to_long(words["size"]),
        "http.response.mime_type": absent_as_null(words["type"], "-"),
        "source.address": words["client"],
        "source.ip": client,
        "destination.address": peer,
        "destination.ip": destination,
        "destination.domain": destination_host,
        "user.name": user,
        "related.user": user,
        "related.ip": related(client, destination),
    }


def parse_squid(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Squid native access.log lines -> events (see the module docstring)."""
    lines = batch_lines(batch)
    blank = blank_lines(lines)
    pieces = as_pieces(pc.ascii_split_whitespace(lines))
    words = {name: pieces.piece(k) for k, name in enumerate(_SQUID_WORDS)}
    ok = pa.array(pieces.counts >= len(_SQUID_WORDS))
    for name, pattern in _SQUID_CHECKS.items():
        ok = pc.and_(ok, pc.fill_null(pc.match_substring_regex(words[name], pattern), False))
    epoch_ms = pc.replace_substring(pc.if_else(ok, words["time"], NULL_STRING), ".", "")
    timestamp = epoch_ms.cast(pa.int64()).cast(pa.timestamp("ms")).cast(TS_TYPE)
    rows = selection(ok)
    words = take_rows({"@timestamp": timestamp, **words}, rows)
    return finish(batch, SQUID, rows, words.pop("@timestamp"), _squid_columns(words), ok,
                   "does not match squid layout", blank)

SQUID = LogFormat("squid", "web", parse_squid, partial(share_parsed, parse_squid),
                  {"product": "squid", "type": "proxy"})
