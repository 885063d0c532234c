"""FortiGate key=value logs -> events.

In: FortiGate records (syslog header optional). Out: one event per record; a line without a
logid or a readable time is a dead letter.
"""
from __future__ import annotations


import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult, parse_local,
                                    parse_zoned)
from pipelines.parsing.columns import (NULL_STR, failures, groups, ip, mask, only, only_each, present, related, sample_share,
                                       seconds_to_ns, to_int)
from pipelines.parsing.vpn.common import (ADMIN_LOGIN_FAILURE, ADMIN_LOGIN_SUCCESS, BSD,
                                          CONNECTION, FRACTION, ISO, LOGIN_FAILURE,
                                          OFFSET, PRI, SESSION_END, SESSION_START,
                                          Kind, kind_columns, local_zone, result,
                                          status_outcome)


_FORTIGATE_HOST = rf"^{PRI}(?:1 )?(?:{BSD}|{ISO}){FRACTION}{OFFSET}? (?P<host>[^\s=]+) "
_FORTIGATE_VALUE = r'(?P<v>"[^"]*"|[^\s"]*)'
_FORTIGATE_PLACEHOLDERS = pa.array(["N/A", "n/a", "(null)"])
# Keys read on every record, and keys read only where the action says they matter.
_FORTIGATE_KEYS = ("eventtime", "devname", "logid", "subtype", "level", "action", "status",
                   "tunneltype", "tunnelid", "remip", "user", "group", "reason", "msg")
_FORTIGATE_ACTIONS: dict[str, Kind] = {
    "ssl-login-fail": LOGIN_FAILURE, "ssl-new-con": CONNECTION,
    "tunnel-up": SESSION_START, "tunnel-down": SESSION_END,
}
_FORTIGATE_KIND_LIST = list(_FORTIGATE_ACTIONS.values()) + [ADMIN_LOGIN_SUCCESS, ADMIN_LOGIN_FAILURE]
_FORTIGATE_COUNTERS = pa.array(["tunnel-down", "tunnel-stats"])  # carry duration and byte counts
# eventtime digits -> divisor to milliseconds (negative: multiplier)
_EPOCH_SCALE = {19: 1_000_000, 16: 1_000, 13: 1, 10: -1_000}
_EPOCH_RANGE_MS = (946_684_800_000, 4_102_444_800_000)  # 2000-01-01 .. 2100-01-01


def _fortigate_value(lines: pa.Array, key: str) -> pa.Array:
    """Value of ` key=` in each record (quotes removed; empty, N/A, (null) -> null)."""
    raw = groups(lines, f" {key}={_FORTIGATE_VALUE}")["v"]
    return present(pc.utf8_trim(raw, '"'), _FORTIGATE_PLACEHOLDERS)


def _epoch_time(eventtime: pa.Array) -> pa.Array:
    """FortiGate eventtime (seconds, ms, us or ns since the epoch, by digit count) -> UTC."""
    value = np.asarray(to_int(eventtime).fill_null(0), dtype=np.int64)
    digits = np.asarray(pc.utf8_length(eventtime).fill_null(0), dtype=np.int64)
    ms = np.zeros(len(value), dtype=np.int64)
    known = np.zeros(len(value), dtype=bool)
    for width, scale in _EPOCH_SCALE.items():
        rows = digits == width
        ms[rows] = value[rows] * -scale if scale < 0 else value[rows] // scale
        known |= rows
    valid = known & (ms >= _EPOCH_RANGE_MS[0]) & (ms < _EPOCH_RANGE_MS[1])
    return pa.array(ms, pa.int64(), mask=~valid).cast(TS_TYPE)


def _wall_clock(lines: pa.Array, ctx: ParseContext) -> dict[str, pa.Array]:
    """date= time= [tz=] of FortiGate records -> UTC timestamp, and whether it was read as local."""
    stamp = groups(lines, r"(?:^|[\s>])date=(?P<date>\d{4}-\d\d-\d\d) time=(?P<time>\d\d:\d\d:\d\d)")
    joined = pc.binary_join_element_wise(stamp["date"], stamp["time"], " ")
    tz = _fortigate_value(lines, "tz")
    offset = pc.if_else(pc.match_substring_regex(tz, r"^[+-]\d{4}$"), tz, NULL_STR)
    zoned = parse_zoned(pc.binary_join_element_wise(joined, offset, ""), "%Y-%m-%d %H:%M:%S%z")
    local = parse_local(joined, "%Y-%m-%d %H:%M:%S", ctx.timezone)
    return {"@timestamp": pc.coalesce(zoned, local), "local": pc.is_null(offset)}


def _fortigate_read(lines: pa.Array, ctx: ParseContext) -> tuple[dict[str, pa.Array], pa.Array]:
    """Key=value record of each line -> (fields incl. @timestamp, failure reasons)."""
    kv = {key: _fortigate_value(lines, key) for key in _FORTIGATE_KEYS}
    epoch = _epoch_time(kv["eventtime"])
    no_epoch = ~mask(epoch.is_valid())
    wall = only_each(no_epoch, lines, lambda wall_lines: _wall_clock(wall_lines, ctx))
    timestamp = pc.coalesce(epoch, wall["@timestamp"])
    failure = failures(len(lines), [
        (~mask(pc.is_valid(kv["logid"])), "fortigate: no logid= key=value record"),
        (~mask(pc.is_valid(timestamp)), "fortigate: no valid eventtime= or date= time="),
    ])
    host = groups(lines, _FORTIGATE_HOST)["host"]
    counters = mask(pc.is_in(kv["action"], value_set=_FORTIGATE_COUNTERS))
    later = {key: only(rows, lines, lambda l, key=key: _fortigate_value(l, key)) for key, rows in (
        ("srcip", ~mask(kv["remip"].is_valid())), ("tunnelip", mask(pc.equal(kv["action"], "tunnel-up"))),
        ("duration", counters), ("sentbyte", counters), ("rcvdbyte", counters))}
    read = {"@timestamp": timestamp, "local": wall["local"].fill_null(False), "host": host, **kv, **later}
    return read, failure


def _fortigate_which(read: dict[str, pa.Array]) -> np.ndarray:
    """Kind index (into _FORTIGATE_KIND_LIST) of each FortiGate record, -1 when unclassified."""
    which = np.asarray(pc.index_in(read["action"], value_set=pa.array(list(_FORTIGATE_ACTIONS)))
                       .fill_null(-1), dtype=np.int64)
    admin_login = mask(pc.and_(pc.equal(read["subtype"], "system"), pc.equal(read["action"], "login")))
    outcome = status_outcome(read["status"])
    which[admin_login & mask(pc.equal(outcome, "success"))] = len(_FORTIGATE_ACTIONS)
    which[admin_login & mask(pc.equal(outcome, "failure"))] = len(_FORTIGATE_ACTIONS) + 1
    return which


def _fortigate_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from FortiGate key=value records."""
    which = _fortigate_which(read)
    source_ip = pc.coalesce(ip(read["remip"]), ip(read["srcip"]))
    assigned = ip(read["tunnelip"])
    user, sent, received = read["user"], to_int(read["sentbyte"]), to_int(read["rcvdbyte"])
    columns = kind_columns(_FORTIGATE_KIND_LIST, which, pc.coalesce(read["action"], "fortigate-message"))
    columns.update({
        "message": read["msg"],
        "event.code": read["logid"],
        "event.outcome": pc.coalesce(columns["event.outcome"], status_outcome(read["status"])),
        "event.reason": read["reason"],
        "event.duration": seconds_to_ns(to_int(read["duration"])),
        "event.timezone": local_zone(read["local"], ctx),
        "log.level": read["level"],
        "log.syslog.hostname": read["host"],
        "observer.hostname": pc.coalesce(read["devname"], read["host"]),
        "source.ip": source_ip,
        "source.bytes": sent,
        "destination.bytes": received,
        "network.bytes": pc.add(sent, received),
        "user.name": user,
        "group.name": read["group"],
        "vigie.vpn.assigned_ip": assigned,
        "vigie.vpn.session_id": pc.if_else(pc.equal(read["tunnelid"], "0"), NULL_STR, read["tunnelid"]),
        "vigie.vpn.tunnel_type": read["tunneltype"],
        "related.ip": related(source_ip, assigned),
        "related.user": related(user),
    })
    return columns


def parse_fortigate(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """FortiGate key=value log lines (any type/subtype, syslog header optional) -> events."""
    read, failure = _fortigate_read(batch.lines, ctx)
    return result(batch, FORTIGATE, failure, read, lambda good: _fortigate_columns(good, ctx))


def _fortigate_readable(lines: pa.Array) -> pa.Array:
    """Lines carrying a FortiGate record: a 10-digit logid and a type."""
    return pc.and_(pc.match_substring_regex(lines, r"(?:^|[\s>])logid=\"?\d{10}\b"),
                   pc.match_substring_regex(lines, r"\stype=\"?\w"))


def detect_fortigate(sample: list[str]) -> float:
    """Share of sample lines that read as FortiGate key=value records."""
    return sample_share(sample, _fortigate_readable)


FORTIGATE = LogFormat("fortigate", "vpn", parse_fortigate, detect_fortigate,
                      {"product": "FortiGate", "vendor": "Fortinet", "type": "vpn"})
