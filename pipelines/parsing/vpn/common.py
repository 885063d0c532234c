"""What the VPN and firewall parsers share: the event.action vocabulary (`Kind`), the per-line
accounting (`result`), and timestamp readers.

In: per-line Arrow arrays a product module has read. Out: event columns (`kind_columns`), and a
ParseResult (`result`) where blank lines are skipped, lines with a failure reason are dead
letters and every other line is an event.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (LineBatch, LogFormat, ParseContext, ParseResult, build_dead_letters,
                                    build_events, parse_local, parse_zoned)
from pipelines.parsing.columns import NULL_STR, blank, mask, take_all

# ---------------------------------------------------------------------------------------------
# What a message means
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """The normalised meaning of a message: event.action and its ECS categorisation."""

    action: str
    category: str
    types: tuple[str, ...]
    outcome: str | None = None


CONNECTION = Kind("vpn-connection", "network", ("connection", "start"))
CONNECTION_END = Kind("vpn-connection-end", "network", ("connection", "end"))
LOGIN_SUCCESS = Kind("vpn-login-success", "authentication", ("start",), "success")
LOGIN_FAILURE = Kind("vpn-login-failure", "authentication", ("start",), "failure")
SESSION_START = Kind("vpn-session-start", "session", ("start",), "success")
SESSION_END = Kind("vpn-session-end", "session", ("end",))
ADDRESS_ASSIGNED = Kind("vpn-address-assigned", "session", ("info",))
PEER_INFO = Kind("vpn-peer-info", "session", ("info",))
SESSION_STATUS = Kind("vpn-session-status", "session", ("info",))
MANAGEMENT_CONNECTION = Kind("vpn-management-connection", "network", ("connection", "start"))
MANAGEMENT_COMMAND = Kind("vpn-management-command", "configuration", ("access",))
ADMIN_LOGIN_SUCCESS = Kind("admin-login-success", "authentication", ("start",), "success")
ADMIN_LOGIN_FAILURE = Kind("admin-login-failure", "authentication", ("start",), "failure")
# Firewall traffic (ASA / FTD connection messages, FortiGate traffic logs)
FLOW_START = Kind("connection-start", "network", ("connection", "start", "allowed"), "success")
FLOW_END = Kind("connection-end", "network", ("connection", "end"), "success")
FLOW_DENIED = Kind("connection-denied", "network", ("connection", "denied"), "failure")
NAT = Kind("nat-translation", "network", ("connection", "info"))
# Security inspection (ASA threat detection, FortiGate UTM)
INTRUSION = Kind("intrusion-detected", "intrusion_detection", ("info",))
MALWARE = Kind("malware-detected", "malware", ("info",))
WEB_FILTER = Kind("web-filter", "web", ("access",))
APP_CONTROL = Kind("application-control", "network", ("connection",))
# Unclassified: the action comes from the source (see the package docstring).
OTHER = Kind("", "network", ("info",))

# ---------------------------------------------------------------------------------------------
# Header patterns and timestamps
# ---------------------------------------------------------------------------------------------

PRI = r"(?:<\d{1,3}>)?"
BSD = r"[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
FRACTION = r"(?:\.\d+)?"
OFFSET = r"(?:Z|[+-]\d\d:?\d\d)"


def iso_time(stamp: pa.Array, offset: pa.Array, ctx: ParseContext) -> tuple[pa.Array, pa.Array]:
    """ISO 'YYYY-MM-DDTHH:MM:SS' (+ optional offset) -> (UTC timestamps, read-as-local mask)."""
    zoned = parse_zoned(pc.binary_join_element_wise(stamp, offset, ""), "%Y-%m-%dT%H:%M:%S%z")
    local = parse_local(stamp, "%Y-%m-%dT%H:%M:%S", ctx.timezone)
    has_offset = pc.is_valid(offset)
    return pc.if_else(has_offset, zoned, local), pc.and_not(pc.is_valid(stamp), has_offset)


def local_zone(local: pa.Array, ctx: ParseContext) -> pa.Array:
    """event.timezone: ctx.timezone where the timestamp was read as local time."""
    return pc.if_else(local.fill_null(False), ctx.timezone, NULL_STR)


# ---------------------------------------------------------------------------------------------
# Event columns and the result
# ---------------------------------------------------------------------------------------------


def kind_columns(kinds: Sequence[Kind], which: np.ndarray, other_action: pa.Array | str
                 ) -> dict[str, pa.Array]:
    """event.action/category/type/outcome for rows of kind kinds[which] (-1: OTHER)."""
    table = list(kinds) + [OTHER]
    idx = pa.array(np.where(which < 0, len(kinds), which), pa.int64())
    action = pa.array([k.action or None for k in table], pa.string()).take(idx)
    return {
        "event.action": pc.coalesce(action, other_action),
        "event.category": pa.array([[k.category] for k in table], pa.list_(pa.string())).take(idx),
        "event.type": pa.array([list(k.types) for k in table], pa.list_(pa.string())).take(idx),
        "event.outcome": pa.array([k.outcome for k in table], pa.string()).take(idx),
    }


def is_kind(which: np.ndarray, kinds: Sequence[Kind], *wanted: Kind) -> np.ndarray:
    """Rows whose kind is one of `wanted`."""
    return np.isin(which, [i for i, k in enumerate(kinds) if k in wanted])


def result(batch: LineBatch, fmt: LogFormat, failure: pa.Array, read: Mapping[str, pa.Array],
           columns_for: Callable[[dict[str, pa.Array]], dict[str, pa.Array]],
           skips: Sequence[tuple[np.ndarray, str]] = ()) -> ParseResult:
    """Split rows into skipped (blank, or one of `skips`: mask and reason), dead letters
    (`failure` set) and events.

    `read` holds per-line arrays (at least "@timestamp"); `columns_for(read of the good rows)`
    returns the event columns of those rows.
    """
    skipped_rows = blank(batch.lines)
    skipped = {"blank line": int(skipped_rows.sum())} if skipped_rows.any() else {}
    for rows, reason in skips:
        rows = rows & ~skipped_rows
        if rows.any():
            skipped[reason] = skipped.get(reason, 0) + int(rows.sum())
            skipped_rows = skipped_rows | rows
    failed = mask(failure.is_valid())
    bad = np.flatnonzero(~skipped_rows & failed)
    good = np.flatnonzero(~skipped_rows & ~failed)
    good_read = take_all(read, good)
    events = build_events(batch, good, fmt, good_read["@timestamp"], columns_for(good_read))
    dead = build_dead_letters(batch, bad, failure.take(pa.array(bad, pa.int64())), fmt)
    return ParseResult(events, dead, skipped)


def status_outcome(status: pa.Array) -> pa.Array:
    """A device's status word -> success / failure (null when it says neither)."""
    status = pc.utf8_lower(status)
    return pc.if_else(pc.match_substring_regex(status, r"^(?:success|succeeded|ok)$"), "success",
                      pc.if_else(pc.match_substring_regex(status, r"fail|error|denied|reject"),
                                 "failure", NULL_STR))
