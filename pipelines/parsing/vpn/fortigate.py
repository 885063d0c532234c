"""FortiGate logs -> events: key=value records and their CEF form.

In: FortiGate records, syslog header optional: `date=... time=... logid="..." type="traffic" ...`
or `CEF:0|Fortinet|Fortigate|<version>|<id>|<name>|<severity>|<extension>` (Fortinet's own keys
prefixed FTNTFGT or FortinetFortiGate, standard ones under their CEF names: src, spt, dst, dpt,
proto, act, deviceInboundInterface, duser, request, fname, ...). Out: one event per record; a
line that is neither is a dead letter, and so is a key=value record whose time does not read.

Time: eventtime (s, ms, us or ns since the epoch), else date= time= (with tz= when given, else
read in the context's zone), else the syslog header's, else (a CEF record without any time) the
reference time, tagged "timestamp_from_reference".

What a record means (event.action, see the package docstring):
  event (VPN)   ssl-login-fail, ssl-new-con, tunnel-up, tunnel-down -> vpn-* kinds; subtype
                system + action login -> admin-login-success / -failure;
  traffic       deny / block / drop -> connection-denied; accept / start -> connection-start;
                close / timeout / server-rst / client-rst / ... -> connection-end;
  utm           ips, anomaly -> intrusion-detected; virus -> malware-detected; webfilter ->
                web-filter; app-ctrl -> application-control; other subtypes keep the action;
and event.outcome follows the action (deny, block(ed), drop(ped), reset, reject, clear_session:
failure; accept, pass(through), permit, allow, close, timeout, *-rst, detected, monitored: success).

Keys are read with one RE2 pass each, only on the records whose type carries them.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult, parse_local,
                                    parse_syslog, parse_zoned)
from pipelines.parsing.columns import (NULL_STR, Subset, domain_user, failures, groups, ip, mask, only, only_each, present, related,
                                       sample_share, seconds_to_ns, to_int)
from pipelines.parsing.vpn.common import (ADMIN_LOGIN_FAILURE, ADMIN_LOGIN_SUCCESS, APP_CONTROL, BSD,
                                          CONNECTION, FLOW_DENIED, FLOW_END, FLOW_START, FRACTION,
                                          INTRUSION, ISO, LOGIN_FAILURE, MALWARE, OFFSET, PRI, SESSION_END,
                                          SESSION_START, WEB_FILTER, Kind, iso_time, kind_columns,
                                          local_zone, result, status_outcome)

_HOST = rf"^{PRI}(?:1 )?(?:(?P<bsd>{BSD})|(?P<iso>{ISO}){FRACTION}(?P<offset>{OFFSET})?){FRACTION} (?P<host>[^\s=]+) "
_VALUE = r'(?P<v>"[^"]*"|[^\s"]*)'
# "CEF:0|Fortinet|Fortigate|..." (a syslog relay may have taken "CEF:" for a program name: "0|Fortinet|...")
_CEF = r"(?:CEF:|^)\d+\|Fortinet\|Forti[Gg]ate[^|]*\|"
_CEF_HEADER = _CEF + r"(?P<version>[^|]*)\|(?P<sig>[^|]*)\|(?P<name>[^|]*)\|(?P<severity>[^|]*)\|"
_PLACEHOLDERS = pa.array(["N/A", "n/a", "(null)", "-"])
_CEF_PREFIXES = ("FTNTFGT", "FortinetFortiGate")
_CHECKED_LATER = frozenset({"eventtime", "srcip", "srcport", "dstport", "proto", "sentbyte", "rcvdbyte",
                            "duration", "transip", "transport", "tranip", "tranport", "remip", "tunnelip"})
# name -> (records it is read on, CEF names when they differ from FTNTFGT<name>)
_EVENT, _FLOW, _TRAFFIC, _UTM, _ALL = "event", "flow", "traffic", "utm", "all"
KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "logid": (_ALL, ()), "type": (_ALL, ()), "subtype": (_ALL, ()), "level": (_ALL, ()),
    "action": (_ALL, ("act",)), "eventtime": (_ALL, ()), "devname": (_ALL, ("dvchost",)),
    "devid": (_ALL, ("deviceExternalId",)), "user": (_ALL, ("duser", "suser")), "group": (_ALL, ()),
    "status": (_EVENT, ()), "tunneltype": (_EVENT, ()), "tunnelid": (_EVENT, ()), "remip": (_EVENT, ()),
    "reason": (_EVENT, ()), "msg": (_EVENT, ("msg",)), "logdesc": (_EVENT, ()),
    "srcip": (_FLOW, ("src",)), "srcport": (_FLOW, ("spt",)), "dstip": (_FLOW, ("dst",)),
    "dstport": (_FLOW, ("dpt",)), "srcintf": (_FLOW, ("deviceInboundInterface",)),
    "dstintf": (_FLOW, ("deviceOutboundInterface",)), "proto": (_FLOW, ("proto",)),
    "service": (_FLOW, ()), "policyid": (_FLOW, ()), "app": (_FLOW, ("app",)),
    "sentbyte": (_FLOW, ("out",)), "rcvdbyte": (_FLOW, ("in",)), "duration": (_FLOW, ()),
    "policyname": (_TRAFFIC, ()), "trandisp": (_TRAFFIC, ()), "transip": ("snat", ()), "transport": ("snat", ()),
    "tranip": ("dnat", ()), "tranport": ("dnat", ()), "tunnelip": ("later", ()),
    "eventtype": (_UTM, ()), "url": (_UTM, ("request",)), "hostname": (_UTM, ("dhost",)),
    "attack": (_UTM, ()), "attackid": (_UTM, ()), "virus": (_UTM, ()), "virusid": (_UTM, ()),
    "filename": (_UTM, ("fname",)), "catdesc": (_UTM, ()), "utmmsg": (_UTM, ("msg",)),
}
_VPN_ACTIONS: dict[str, Kind] = {"ssl-login-fail": LOGIN_FAILURE, "ssl-new-con": CONNECTION,
                                 "tunnel-up": SESSION_START, "tunnel-down": SESSION_END}
_UTM_KINDS: dict[str, Kind] = {"ips": INTRUSION, "anomaly": INTRUSION, "virus": MALWARE,
                               "webfilter": WEB_FILTER, "app-ctrl": APP_CONTROL}
_KIND_LIST = (list(_VPN_ACTIONS.values()) + [ADMIN_LOGIN_SUCCESS, ADMIN_LOGIN_FAILURE, FLOW_DENIED,
                                             FLOW_START, FLOW_END] + list(_UTM_KINDS.values()))
_TRAFFIC_DENIED = ("deny", "block", "blocked", "drop", "dropped", "reject")
_TRAFFIC_STARTED = ("accept", "start")
_FAILED_ACTIONS = pa.array(["deny", "block", "blocked", "drop", "dropped", "reset", "reject",
                            "clear_session", "quarantine", "ban-ip"])
_PASSED_ACTIONS = pa.array(["accept", "pass", "passthrough", "permit", "allow", "allowed", "close",
                            "timeout", "server-rst", "client-rst", "detected", "monitored", "start",
                            "ip-conn", "dns", "exempt", "log-only"])
_COUNTERS = pa.array(["tunnel-down", "tunnel-stats"])  # VPN events carrying duration and byte counts
_TRANSPORTS = {"1": "icmp", "6": "tcp", "17": "udp", "47": "gre", "50": "esp", "51": "ah", "58": "ipv6-icmp",
               "132": "sctp"}
# eventtime digits -> divisor to milliseconds (negative: multiplier)
_EPOCH_SCALE = {19: 1_000_000, 16: 1_000, 13: 1, 10: -1_000}
_EPOCH_RANGE_MS = (946_684_800_000, 4_102_444_800_000)  # 2000-01-01 .. 2100-01-01
TIME_FROM_REFERENCE = "timestamp_from_reference"


def _kv_value(spaced: pa.Array, key: str) -> pa.Array:
    """Value of `key=` in each key=value record (quotes removed). `spaced` lines start with a
    space, so that every key follows one and the pattern starts with a literal (several times
    faster in RE2 than an alternation with ^)."""
    return pc.utf8_trim(groups(spaced, f" {key}={_VALUE}")["v"], '"')


def _cef_value(lines: pa.Array, names: tuple[str, ...]) -> pa.Array:
    """Value of the first of `names` present in each CEF extension (escapes undone)."""
    keys = "|".join(names)
    found = groups(lines, rf"[|\s](?:{keys})=(?P<v>.*?)(?: [A-Za-z][\w.]*=|$)")["v"]
    return pc.replace_substring(pc.replace_substring(found, "\\=", "="), "\\\\", "\\")


# Keys FortiOS writes side by side (6.x and 7.x): read with one pattern where they are, key by
# key on the records where they are not ('#': must be there, not read).
RUNS = (("logid", "type", "subtype", "level"), ("devname", "devid"),
        ("srcip", "srcport", "srcintf", "#srcintfrole", "dstip", "dstport", "dstintf"),
        ("duration", "sentbyte", "rcvdbyte"), ("proto", "#action", "policyid"))


def _run_pattern(run: tuple[str, ...]) -> str:
    """The pattern of keys written side by side (named groups for the keys read)."""
    parts = [f"{k[1:]}=(?:{_VALUE[6:-1]})" if k.startswith("#") else f"{k}={_VALUE.replace('?P<v>', f'?P<{k}>')}"
             for k in run]
    return " " + " ".join(parts)


def _native_keys(subset: Subset, names: list[str]) -> dict[str, pa.Array]:
    """Keys `names` of the key=value records of `subset` (values on the subset's rows)."""
    out: dict[str, pa.Array] = {}
    rest = {name: np.ones(len(subset.values), dtype=bool) for name in names}
    for run in RUNS:
        wanted = [k for k in run if not k.startswith("#")]
        if not all(k in rest for k in wanted):
            continue
        found = pc.extract_regex(subset.values, _run_pattern(run))
        hit = mask(found.is_valid())
        for key in wanted:
            out[key] = pc.utf8_trim(present(found.field(key)), '"')
            rest[key] = ~hit
    for name in names:
        if name not in out or rest[name].any():
            key = "msg" if name == "utmmsg" else name
            missing = Subset(rest[name], subset.values).apply(lambda part: _kv_value(part, key))
            out[name] = pc.coalesce(out[name], missing) if name in out else missing
    return out


def _read_keys(spaced: pa.Array, rows: np.ndarray, cef: np.ndarray, names: list[str]) -> dict[str, pa.Array]:
    """Keys `names` (see KEYS) on `rows`: from key=value records, or from CEF records; the
    selected lines are taken once for all the keys."""
    native, from_cef = Subset(rows & ~cef, spaced), Subset(rows & cef, spaced)
    values = {name: native.spread(value) for name, value in _native_keys(native, names).items()}
    out = {}
    for name in names:
        value = values[name]
        if (rows & cef).any():
            aliases = tuple(p + name for p in _CEF_PREFIXES) + KEYS[name][1]
            value = pc.coalesce(value, from_cef.apply(lambda part: _cef_value(part, aliases)))
        # placeholders (N/A, (null), -) only matter for words: numbers and addresses are checked later
        out[name] = present(value, None if name in _CHECKED_LATER else _PLACEHOLDERS)
    return out


def _csv_records(spaced: pa.Array) -> pa.Array:
    """FortiAnalyzer's CSV export ('date=...,time=...,logid=...') -> space-separated records:
    commas outside quotes become spaces (on those lines only)."""
    csv = mask(pc.match_substring_regex(spaced, r"^ date=\d{4}-\d\d-\d\d,time="))
    if not csv.any():
        return spaced

    def unquoted_commas(lines: pa.Array) -> pa.Array:
        segments = pc.split_pattern(lines, '"')
        flat = pc.list_flatten(segments)
        position = np.arange(len(flat)) - np.asarray(segments.offsets)[np.asarray(pc.list_parent_indices(segments))]
        outside = pa.array(position % 2 == 0)
        flat = pc.if_else(outside, pc.replace_substring(flat, ",", " "), flat)
        return pc.binary_join(pa.ListArray.from_arrays(segments.offsets, flat), '"')

    return pc.coalesce(only(csv, spaced, unquoted_commas), spaced)


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
    """date= time= [tz=] of key=value records -> UTC timestamp, and whether it was read as local."""
    tz = present(_kv_value(lines, "tz"))
    stamp = groups(lines, r"[\s>]date=\"?(?P<date>\d{4}-\d\d-\d\d)\"? time=\"?(?P<time>\d\d:\d\d:\d\d)")
    joined = pc.binary_join_element_wise(stamp["date"], stamp["time"], " ")
    offset = pc.if_else(pc.match_substring_regex(tz, r"^[+-]\d{4}$"), tz, NULL_STR)
    zoned = parse_zoned(pc.binary_join_element_wise(joined, offset, ""), "%Y-%m-%d %H:%M:%S%z")
    local = parse_local(joined, "%Y-%m-%d %H:%M:%S", ctx.timezone)
    return {"@timestamp": pc.coalesce(zoned, local), "local": pc.is_null(offset)}


def _fortigate_read(lines: pa.Array, ctx: ParseContext) -> tuple[dict[str, pa.Array], pa.Array]:
    """Each record -> (fields incl. @timestamp, failure reasons)."""
    n = len(lines)
    spaced = pc.binary_join_element_wise(" ", lines, "")
    maybe_cef = mask(pc.match_substring(lines, "|Fortinet|Forti"))
    cef = maybe_cef & mask(only(maybe_cef, lines, lambda part: pc.match_substring_regex(part, _CEF)))
    spaced = _csv_records(spaced)
    # keys follow a space in `spaced` (or a '>' after a syslog priority, rarely: checked after)
    native = ~cef & (mask(pc.match_substring(spaced, " logid=")) |
                     (mask(pc.match_substring(spaced, " type=")) & mask(pc.match_substring(spaced, " subtype="))))
    native |= ~cef & ~native & mask(pc.match_substring_regex(spaced, r">(?:logid|date|type)="))
    everyone = cef | native
    read = _read_keys(spaced, everyone, cef, [name for name, (group, _) in KEYS.items() if group == _ALL])
    header = only(cef, lines, lambda part: pc.struct_field(pc.extract_regex(part, _CEF_HEADER), [3]))
    category = groups(only(cef, lines, lambda part: _cef_value(part, ("cat",))), r"^(?P<type>[^:]+):(?P<subtype>.*)$")
    read["type"] = pc.coalesce(read["type"], category["type"])
    read["subtype"] = pc.coalesce(read["subtype"], category["subtype"])
    log_type = read["type"]
    traffic, utm = mask(pc.equal(log_type, "traffic")), mask(pc.is_in(log_type, pa.array(["utm", "anomaly"])))
    groups_of = {_EVENT: everyone & ~traffic & ~utm, _FLOW: everyone & (traffic | utm),
                 _TRAFFIC: traffic, _UTM: utm | (everyone & ~traffic & ~mask(pc.equal(log_type, "event")))}
    for group, rows in groups_of.items():
        read.update(_read_keys(spaced, rows, cef, [name for name, (g, _) in KEYS.items() if g == group]))
    # translated addresses only where the record says a translation happened (trandisp=snat, dnat,
    # snat+dnat; CEF records do not say: read there)
    for kind in ("snat", "dnat"):
        rows = (traffic & (mask(pc.match_substring(read["trandisp"], kind)) | cef))
        read.update(_read_keys(spaced, rows, cef, [name for name, (g, _) in KEYS.items() if g == kind]))
    counters = mask(pc.is_in(read["action"], value_set=_COUNTERS))
    later = {"srcip": groups_of[_EVENT] & ~mask(read["remip"].is_valid()),
             "tunnelip": mask(pc.equal(read["action"], "tunnel-up")), "duration": counters,
             "sentbyte": counters, "rcvdbyte": counters}
    for names in (["srcip"], ["tunnelip"], ["duration", "sentbyte", "rcvdbyte"]):
        for name, value in _read_keys(spaced, later[names[0]], cef, names).items():
            read[name] = pc.coalesce(read.get(name, pa.nulls(n, pa.string())), value)
    epoch = _epoch_time(read["eventtime"])
    wall = only_each(native & ~mask(epoch.is_valid()), spaced, lambda part: _wall_clock(part, ctx))
    head = groups(lines, _HOST)
    syslog_time = pc.coalesce(parse_syslog(head["bsd"], ctx), iso_time(head["iso"], head["offset"], ctx)[0])
    said_time = pc.or_(pc.is_valid(read["eventtime"]), pc.is_valid(head["bsd"]))
    said_time = mask(pc.or_(pc.or_(said_time, pc.is_valid(head["iso"])),
                            pc.match_substring_regex(spaced, r"[\s>]date=")))
    no_time = everyone & ~said_time
    timestamp = pc.coalesce(epoch, wall["@timestamp"], syslog_time,
                            pc.if_else(pa.array(no_time), pa.scalar(ctx.reference_time, TS_TYPE),
                                       pa.scalar(None, TS_TYPE)))
    failure = failures(n, [
        (~everyone, "fortigate: no key=value record (logid=, or type= and subtype=) and no Fortinet CEF record"),
        (~mask(timestamp.is_valid()), "fortigate: no valid eventtime= or date= time="),
    ])
    local = pc.or_(wall["local"].fill_null(False),
                   pc.and_(pc.is_null(epoch), pc.is_valid(head["bsd"])).fill_null(False))
    read.update({"@timestamp": timestamp, "local": local, "host": head["host"], "cef_name": header,
                 "no_time": pa.array(no_time)})
    return read, failure


def _fortigate_which(read: dict[str, pa.Array]) -> np.ndarray:
    """Kind index (into _KIND_LIST) of each record, -1 when unclassified."""
    action = pc.utf8_lower(read["action"])
    which = np.asarray(pc.index_in(action, value_set=pa.array(list(_VPN_ACTIONS))).fill_null(-1), dtype=np.int64)
    admin_login = mask(pc.and_(pc.equal(read["subtype"], "system"), pc.equal(action, "login")))
    outcome = status_outcome(read["status"])
    which[admin_login & mask(pc.equal(outcome, "success"))] = _KIND_LIST.index(ADMIN_LOGIN_SUCCESS)
    which[admin_login & mask(pc.equal(outcome, "failure"))] = _KIND_LIST.index(ADMIN_LOGIN_FAILURE)
    traffic = mask(pc.equal(read["type"], "traffic"))
    denied = mask(pc.is_in(action, pa.array(_TRAFFIC_DENIED)))
    started = mask(pc.is_in(action, pa.array(_TRAFFIC_STARTED)))
    which[traffic & denied] = _KIND_LIST.index(FLOW_DENIED)
    which[traffic & started] = _KIND_LIST.index(FLOW_START)
    which[traffic & ~denied & ~started & mask(action.is_valid())] = _KIND_LIST.index(FLOW_END)
    for subtype, kind in _UTM_KINDS.items():
        which[~traffic & mask(pc.equal(read["subtype"], subtype))] = _KIND_LIST.index(kind)
    return which


def action_outcome(action: pa.Array) -> pa.Array:
    """A FortiGate action -> success / failure (null when it says neither)."""
    low = pc.utf8_lower(action)
    return pc.if_else(pc.is_in(low, _FAILED_ACTIONS), "failure",
                      pc.if_else(pc.is_in(low, _PASSED_ACTIONS), "success", NULL_STR))


def _with_verdict(types: pa.ListArray, outcome: pa.Array, verdict_rows: np.ndarray) -> pa.Array:
    """event.type plus "denied" / "allowed" on `verdict_rows`, from the outcome."""
    rows = pa.array(verdict_rows)
    failed = pc.and_(rows, pc.equal(outcome, "failure").fill_null(False))
    passed = pc.and_(rows, pc.equal(outcome, "success").fill_null(False))
    return pc.if_else(failed, _appended(types, "denied"), pc.if_else(passed, _appended(types, "allowed"), types))


def _appended(lists: pa.ListArray, word: str) -> pa.ListArray:
    """Every list of `lists` (no nulls) with `word` appended, vectorised."""
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    offsets = offsets - offsets[0]
    lengths = np.diff(offsets)
    flat = pc.list_flatten(lists)
    index = np.empty(len(flat) + len(lists), dtype=np.int64)
    index[np.arange(len(flat)) + np.repeat(np.arange(len(lists)), lengths)] = np.arange(len(flat))
    index[np.cumsum(lengths + 1) - 1] = len(flat)
    values = pa.concat_arrays([flat, pa.array([word], pa.string())]).take(pa.array(index))
    return pa.ListArray.from_arrays(pa.array(offsets + np.arange(len(lists) + 1), pa.int32()), values)


def _fortigate_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from FortiGate records."""
    which = _fortigate_which(read)
    source_ip = pc.coalesce(ip(read["remip"]), ip(read["srcip"]))
    destination_ip = ip(read["dstip"])
    assigned = ip(read["tunnelip"])
    named = domain_user(read["user"])
    sent, received = to_int(read["sentbyte"]), to_int(read["rcvdbyte"])
    action = read["action"]
    outcome = action_outcome(action)
    columns = kind_columns(_KIND_LIST, which, pc.coalesce(action, "fortigate-message"))
    utm = mask(pc.is_in(read["type"], pa.array(["utm", "anomaly"])))
    url = read["url"]
    nat_source, nat_destination = ip(read["transip"]), ip(read["tranip"])
    columns.update({
        "message": pc.coalesce(read["msg"], read["utmmsg"], read["logdesc"], read["cef_name"]),
        "tags": pc.if_else(read["no_time"], pa.scalar([TIME_FROM_REFERENCE], pa.list_(pa.string())),
                           pa.scalar(None, pa.list_(pa.string()))),
        "event.type": _with_verdict(columns["event.type"], outcome, utm),
        "event.code": read["logid"],
        "event.outcome": pc.coalesce(columns["event.outcome"], status_outcome(read["status"]), outcome),
        "event.reason": pc.coalesce(read["reason"], read["eventtype"]),
        "event.duration": seconds_to_ns(to_int(read["duration"])),
        "event.timezone": local_zone(read["local"], ctx),
        "log.level": read["level"],
        "log.syslog.hostname": read["host"],
        "observer.hostname": pc.coalesce(read["devname"], read["host"]),
        "observer.serial_number": read["devid"],
        "observer.ingress.interface.name": read["srcintf"],
        "observer.egress.interface.name": read["dstintf"],
        "source.ip": source_ip,
        "source.port": to_int(read["srcport"]),
        "source.domain": pc.if_else(pc.is_valid(ip(read["srcip"])), NULL_STR, read["srcip"]),
        "source.nat.ip": nat_source,
        "source.nat.port": to_int(read["transport"]),
        "source.bytes": sent,
        "destination.ip": destination_ip,
        "destination.port": to_int(read["dstport"]),
        "destination.domain": pc.coalesce(pc.if_else(pc.is_valid(destination_ip), NULL_STR, read["dstip"]),
                                          read["hostname"]),
        "destination.nat.ip": nat_destination,
        "destination.nat.port": to_int(read["tranport"]),
        "destination.bytes": received,
        "network.bytes": pc.add(sent, received),
        "network.transport": pa.array(list(_TRANSPORTS.values()), pa.string()).take(
            pc.index_in(read["proto"], value_set=pa.array(list(_TRANSPORTS)))),
        "network.protocol": pc.if_else(pc.match_substring(read["service"], "/"), NULL_STR,
                                       pc.utf8_lower(read["service"])),
        "network.application": pc.utf8_lower(read["app"]),
        "rule.id": pc.coalesce(read["attackid"], read["virusid"], read["policyid"]),
        "rule.name": pc.coalesce(read["attack"], read["virus"], read["policyname"]),
        "rule.category": read["catdesc"],
        "url.original": url,
        "url.domain": read["hostname"],
        "url.path": pc.if_else(pc.starts_with(url, "/"), pc.replace_substring_regex(url, r"\?.*$", ""), NULL_STR),
        "file.name": read["filename"],
        "user.name": named["user.name"],
        "user.domain": named["user.domain"],
        "group.name": read["group"],
        "vigie.vpn.assigned_ip": assigned,
        "vigie.vpn.session_id": pc.if_else(pc.equal(read["tunnelid"], "0"), NULL_STR, read["tunnelid"]),
        "vigie.vpn.tunnel_type": read["tunneltype"],
        "related.ip": related(source_ip, destination_ip, assigned, nat_source, nat_destination),
        "related.user": related(named["user.name"]),
    })
    return columns


def parse_fortigate(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """FortiGate key=value or CEF log lines (any type/subtype, syslog header optional) -> events."""
    read, failure = _fortigate_read(batch.lines, ctx)
    return result(batch, FORTIGATE, failure, read, lambda good: _fortigate_columns(good, ctx))


def _fortigate_readable(lines: pa.Array) -> pa.Array:
    """Lines carrying a FortiGate record: a 10-digit logid and a type, or a Fortinet CEF header."""
    native = pc.and_(pc.match_substring_regex(lines, r"(?:^|[\s>])logid=\"?\d{10}\b"),
                     pc.match_substring_regex(lines, r"\stype=\"?\w"))
    return pc.or_(native, pc.match_substring_regex(lines, _CEF))


def detect_fortigate(sample: list[str]) -> float:
    """Share of sample lines that read as FortiGate records."""
    return sample_share(sample, _fortigate_readable)


FORTIGATE = LogFormat("fortigate", "vpn", parse_fortigate, detect_fortigate,
                      {"product": "FortiGate", "vendor": "Fortinet", "type": "vpn"})
