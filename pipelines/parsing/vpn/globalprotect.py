"""Palo Alto GlobalProtect (PAN-OS syslog CSV) -> events.

In: PAN-OS GLOBALPROTECT and SYSTEM records (syslog header optional), and the other PAN-OS
records of the same file (TRAFFIC and THREAT read by panos.py; any other type with what every
record says). Out: one event per record; a line that is no PAN-OS record, or a record shorter than
its type's fields, is a dead letter.
"""
from __future__ import annotations


import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult, parse_local,
                                    parse_zoned)
from pipelines.parsing.columns import (NULL_STR, domain_user, only_each, with_millis, failures, groups, ip, mask, match_first,
                                       only, present, related, sample_share,
                                       seconds_to_ns, to_int)
from pipelines.parsing.vpn import panos
from pipelines.parsing.vpn.common import (BSD,
                                          FRACTION, ISO, LOGIN_FAILURE,
                                          LOGIN_SUCCESS, OFFSET, SESSION_END, SESSION_START,
                                          Kind, is_kind, kind_columns, local_zone, result,
                                          status_outcome)


# A PAN-OS record is split whole: the syslog header, if any, only prefixes field 0 (FUTURE_USE).
_PANOS_HOST = rf"(?:{BSD}|{ISO}{FRACTION}{OFFSET}?) (?P<host>\S+) \d+$"
CLOCK_SLACK = pa.scalar(300_000, pa.duration("ms"))  # receive and generated times of one record
_PANOS_TIME = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d$"
_GP_TYPES = pa.array(["GLOBALPROTECT", "SYSTEM", *panos.FLOW_TYPES])
# field -> (position in a GLOBALPROTECT record, position in a SYSTEM record); PAN-OS 9.1+ order
_GP_FIELDS: dict[str, tuple[int | None, int | None]] = {
    "head": (0, 0), "received": (1, 1), "type": (3, 3), "generated": (6, 6), "event_id": (8, 8),
    "tunnel": (11, None), "user": (12, None), "machine": (14, None),
    "public_ip": (15, None), "public_ipv6": (16, None), "private_ip": (17, None), "private_ipv6": (18, None),
    "client_version": (21, None), "client_os": (22, None), "client_os_version": (23, None),
    "reason": (25, None), "error": (26, None), "description": (27, 14), "status": (28, None),
    "login_duration": (30, None), "high_res_time": (36, 25), "device": (47, 22), "severity": (None, 13),
}
_GP_MIN_FIELDS = {"GLOBALPROTECT": 29, "SYSTEM": 15}  # up to status / description
_GP_SAID = {  # what a SYSTEM record's description says, "Label: value, ..."
    "login_from": "Login from", "user": "User name", "os": "Client OS version",
    "private_ip": "Private IP", "client_version": "Client version", "reason": "Reason",
}
# Event ids by meaning; the first entry is any login, made a failure by its status (_gp_which).
_GP_KINDS: tuple[tuple[Kind, str], ...] = (
    (LOGIN_SUCCESS, r"^globalprotect(?:portal|gateway)-auth-(?:succ|fail)$|^(?:portal|gateway|gw)-auth$"
                    r"|^auth-(?:success|fail)$"),
    (SESSION_START, r"^globalprotectgateway-regist-(?:succ|fail)$|^(?:gateway|gw)-(?:register|connected)$"),
    (SESSION_END, r"^globalprotectgateway-logout-succ$|^(?:portal|gateway|gw)-logout$"),
)
_GP_KIND_LIST = [LOGIN_SUCCESS, SESSION_START, SESSION_END, LOGIN_FAILURE]


_HIDDEN_COMMA = "\x1f"


def _csv_split(records: pa.Array) -> pa.ListArray:
    """CSV records -> the raw fields of each, vectorised.

    A comma with an odd number of double quotes before it is inside a quoted field (a doubled
    "" escape keeps the parity) and is hidden before splitting; `_csv_value` restores it. A record
    whose quotes do not pair up (a lone '"' in a value the device did not quote) is split on every
    comma, so that its fields keep their places.
    """
    segments = pc.split_pattern(records, '"')
    flat = pc.list_flatten(segments)
    starts = np.asarray(segments.offsets)
    parent = np.asarray(pc.list_parent_indices(segments))
    paired = np.diff(starts) % 2 == 1  # an even number of quotes: an odd number of segments
    quoted = ((np.arange(len(flat)) - starts[parent]) % 2 == 1) & paired[parent]
    hidden = pc.if_else(pa.array(quoted, pa.bool_()), pc.replace_substring(flat, ",", _HIDDEN_COMMA), flat)
    rejoined = pc.binary_join(pa.ListArray.from_arrays(segments.offsets, hidden, mask=segments.is_null()),
                              '"')
    return pc.split_pattern(rejoined, ",")


def _csv_value(raw: pa.Array) -> pa.Array:
    """A raw CSV field -> its value: outer quotes removed, "" unescaped, hidden commas restored."""
    quoted = mask(pc.starts_with(raw, '"'))  # only quoted fields can hold hidden commas
    unquoted = only(quoted, raw, lambda q: pc.replace_substring(pc.replace_substring(
        pc.replace_substring_regex(q, r'^"|"$', ""), '""', '"'), _HIDDEN_COMMA, ","))
    return pc.if_else(pa.array(quoted, pa.bool_()), unquoted, raw)


def _gp_fields(lines: pa.Array) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Lines holding PAN-OS CSV records -> (named fields per _GP_FIELDS, field count per line).

    Positions depend on the log type (field 3); lines of another type get only the fields both
    types share.
    """
    fields = _csv_split(lines)
    values = pc.list_flatten(fields)
    offsets = np.asarray(fields.offsets)
    count = np.diff(offsets)

    def field(position: np.ndarray) -> pa.Array:
        inside = (position >= 0) & (position < count)
        raw = values.take(pa.array(np.where(inside, offsets[:-1] + position, 0), pa.int64(), mask=~inside))
        return present(_csv_value(raw))

    log_type = field(np.full(len(count), _GP_FIELDS["type"][0], dtype=np.int64))
    type_index = np.asarray(pc.index_in(log_type, value_set=_GP_TYPES).fill_null(-1), dtype=np.int64)
    named = {}
    for name, (in_globalprotect, in_system) in _GP_FIELDS.items():
        shared = in_globalprotect if in_globalprotect == in_system else -1
        # positions: other types (shared fields only), GLOBALPROTECT, SYSTEM, TRAFFIC, THREAT
        position = np.choose(type_index + 1, [shared, -1 if in_globalprotect is None else in_globalprotect,
                                              -1 if in_system is None else in_system, shared, shared])
        named[name] = field(np.asarray(position, dtype=np.int64))
    flow = type_index >= 2
    for name, at in panos.FLOW_FIELDS.items():
        named[name] = field(np.where(flow, at, -1).astype(np.int64))
    traffic = type_index == 2
    for name, at in panos.TRAFFIC_FIELDS.items():
        named[name] = field(np.where(traffic, at, -1).astype(np.int64))
    return named, count


def _gp_read(lines: pa.Array, ctx: ParseContext) -> tuple[dict[str, pa.Array], pa.Array]:
    """PAN-OS CSV record of each line -> (named fields incl. @timestamp, failure reasons)."""
    fields, count = _gp_fields(lines)
    log_type = fields["type"]
    is_record = mask(pc.and_(pc.match_substring_regex(fields["received"], _PANOS_TIME),
                              pc.match_substring_regex(log_type, r"^[A-Z]+$")))
    minimum = np.select([mask(pc.equal(log_type, "GLOBALPROTECT")), mask(pc.equal(log_type, "SYSTEM")),
                         mask(pc.is_in(log_type, value_set=pa.array(panos.FLOW_TYPES)))],
                        [_GP_MIN_FIELDS["GLOBALPROTECT"], _GP_MIN_FIELDS["SYSTEM"], panos.FLOW_MIN_FIELDS],
                        panos.OTHER_MIN_FIELDS)
    high_res = groups(fields["high_res_time"], rf"^(?P<stamp>{ISO})(?:\.(?P<frac>\d+))?(?P<offset>{OFFSET})$")
    precise = with_millis(parse_zoned(pc.binary_join_element_wise(high_res["stamp"], high_res["offset"], ""),
                                      "%Y-%m-%dT%H:%M:%S%z"), high_res["frac"])
    generated, generated_in_utc = _generated_time(fields["generated"], fields["received"], ctx)
    timestamp = pc.coalesce(precise, generated)
    truncated = pc.binary_join_element_wise("globalprotect: truncated ", log_type, " record", "")
    failure = failures(len(lines), [
        (~is_record, "globalprotect: no PAN-OS CSV record (receive time, serial, type)"),
        (count < minimum, truncated),
        (~mask(pc.is_valid(timestamp)), "globalprotect: invalid generated time"),
    ])
    host = groups(fields["head"], _PANOS_HOST)["host"]
    read = {"@timestamp": timestamp, "local": pc.and_not(pc.is_null(precise), generated_in_utc),
            "host": host, **fields}
    return read, failure


def _generated_time(generated: pa.Array, received: pa.Array, ctx: ParseContext) -> tuple[pa.Array, pa.Array]:
    """When a record happened, from its generated time -> (UTC timestamps, read-as-UTC mask).

    PAN-OS writes receive time (field 1) in the device's zone. Generated time (field 6) is in the
    device's zone too, except in the GLOBALPROTECT records of some PAN-OS releases, which write it
    in UTC: it is then an hour (two in summer, for Central Europe) before the receive time read as
    local time, and reading it in the device's zone put events an hour early. A generated time that
    matches the receive time (within CLOCK_SLACK) only when read as UTC is read as UTC; any other
    is read in ctx.timezone, the device's zone.
    """
    fmt = "%Y/%m/%d %H:%M:%S"
    local = parse_local(generated, fmt, ctx.timezone)
    as_utc = pc.strptime(generated, format=fmt, unit="ms", error_is_null=True).cast(TS_TYPE)
    receive = parse_local(received, fmt, ctx.timezone)
    near = lambda stamp: pc.less_equal(pc.abs(pc.subtract(stamp, receive)), CLOCK_SLACK)  # noqa: E731
    in_utc = pc.and_not(near(as_utc), near(local)).fill_null(False)
    return pc.if_else(in_utc, as_utc, local), in_utc


def _said(description: pa.Array, label: str) -> pa.Array:
    """The value after 'label: ' in a SYSTEM description, up to the next comma (final '.' dropped)."""
    return present(pc.utf8_trim(groups(description, f"{label}: (?P<v>[^,]*)")["v"], " ."))


def _gp_which(event_id: pa.Array, outcome: pa.Array) -> np.ndarray:
    """Kind index (into _GP_KIND_LIST) of each record; a login without an outcome is unclassified."""
    which = match_first(event_id, [p for _, p in _GP_KINDS])
    login = which == _GP_KIND_LIST.index(LOGIN_SUCCESS)
    which[login & mask(pc.equal(outcome, "failure"))] = _GP_KIND_LIST.index(LOGIN_FAILURE)
    which[login & ~mask(outcome.is_valid())] = -1
    return which


def _gp_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from GlobalProtect (and other PAN-OS SYSTEM) records."""
    description = read["description"]
    system = mask(pc.equal(read["type"], "SYSTEM"))
    said = {key: only(system, description, lambda d, label=label: _said(d, label))
            for key, label in _GP_SAID.items()}
    event_id = pc.utf8_lower(pc.coalesce(read["event_id"], ""))
    outcome = pc.coalesce(status_outcome(read["status"]),
                          pc.if_else(pc.match_substring_regex(event_id, r"-succ(?:ess)?$"), "success",
                                     pc.if_else(pc.match_substring_regex(event_id, r"-fail$"),
                                                "failure", NULL_STR)))
    which = _gp_which(event_id, outcome)
    # SYSTEM auth records: "... for user 'jdoe'. Reason: ... From: 1.2.3.4."
    auth = only_each(system, description, lambda d: groups(
        d, r"(?:for|of) user '(?P<user>[^']+)'.*?(?:From: (?P<source>[0-9A-Fa-f.:]+[0-9A-Fa-f]))?\.?$"))
    user = domain_user(pc.coalesce(read["user"], said["user"], auth["user"]))
    source_ip = pc.coalesce(ip(read["public_ip"]), ip(read["public_ipv6"]), ip(said["login_from"]),
                            ip(auth["source"]))
    assigned = pc.coalesce(ip(read["private_ip"]), ip(read["private_ipv6"]), ip(said["private_ip"]))
    ended = pa.array(is_kind(which, _GP_KIND_LIST, SESSION_END))
    flow_which = panos.which(read)
    which = np.where(flow_which >= 0, flow_which + len(_GP_KIND_LIST), which)
    other_action = pc.coalesce(read["event_id"], pc.utf8_lower(pc.binary_join_element_wise(
        read["type"], read["subtype"], "-")), pc.utf8_lower(read["type"]))
    columns = kind_columns(_GP_KIND_LIST + panos.KINDS, which, other_action)
    flow = panos.flow_columns(read)
    columns.update(user)
    columns.update({
        "message": description,
        "event.code": read["event_id"],
        "event.outcome": pc.coalesce(outcome, columns["event.outcome"]),
        "event.reason": pc.coalesce(read["error"], read["reason"], said["reason"]),
        "event.duration": pc.if_else(ended, seconds_to_ns(to_int(read["login_duration"])),
                                     pa.scalar(None, pa.int64())),
        "event.timezone": local_zone(read["local"], ctx),
        "log.level": read["severity"],
        "log.syslog.hostname": read["host"],
        "observer.hostname": pc.coalesce(read["device"], read["host"]),
        "source.ip": source_ip,
        "source.domain": read["machine"],
        "vigie.vpn.assigned_ip": assigned,
        "vigie.vpn.tunnel_type": pc.utf8_lower(read["tunnel"]),
        "vigie.vpn.client_version": pc.coalesce(read["client_version"], said["client_version"]),
        "vigie.vpn.client_platform": pc.coalesce(read["client_os"], read["client_os_version"], said["os"]),
        "related.ip": related(source_ip, assigned),
        "related.user": related(user["user.name"]),
    })
    flow_rows = pa.array(mask(pc.is_in(read["type"], value_set=pa.array(panos.FLOW_TYPES))))
    for name, values in flow.items():  # TRAFFIC and THREAT records: their own columns
        columns[name] = pc.if_else(flow_rows, values, columns[name]) if name in columns else values
    return columns


def parse_globalprotect(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """PAN-OS GLOBALPROTECT and SYSTEM CSV records (syslog header optional) -> events."""
    read, failure = _gp_read(batch.lines, ctx)
    return result(batch, GLOBALPROTECT, failure, read, lambda good: _gp_columns(good, ctx))


def _gp_readable(lines: pa.Array) -> pa.Array:
    """Lines carrying a GLOBALPROTECT record or a SYSTEM record of subtype globalprotect."""
    return pc.match_substring_regex(
        lines, r"(?:^|[\s>])\d+,\d{4}/\d\d/\d\d \d\d:\d\d:\d\d,[^,]*,(?:GLOBALPROTECT|SYSTEM,globalprotect),")


def detect_globalprotect(sample: list[str]) -> float:
    """Share of sample lines that read as GlobalProtect PAN-OS records."""
    return sample_share(sample, _gp_readable)


GLOBALPROTECT = LogFormat("globalprotect", "vpn", parse_globalprotect, detect_globalprotect,
                          {"product": "GlobalProtect", "vendor": "Palo Alto Networks", "type": "vpn"})
