"""Cisco ASA / Firepower (FTD) syslog messages -> events.

In: lines carrying a %ASA-<severity>-<id> message (also %FTD-, %NGIPS-, %FWSM-, %PIX-), with or
without a header before it: the device's own 'logging timestamp' (with a year), an RFC 3339 or a
BSD syslog time, possibly behind a relay's header; or lines with a syslog header and no tag
(an ASA configured without message ids, or another program of the same file). Out: one event
per line whose header reads, classified when its message id (or, without a tag, its text) is
known; a line with neither a tag nor a header is a dead letter, and so is one whose header time
does not exist.

Time: the header's; a Firepower event without a header takes its FirstPacketSecond; a tagged
message without any time takes the reading context's reference time (the file's modification
time, or --reference-time) and the tag "timestamp_from_reference".

Firewall messages (connections, denies, NAT, threat detection, Firepower events) are read by
asa_messages.py; the VPN and administration messages here. See the package docstring for the
event.action vocabulary.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult, parse_local,
                                    parse_syslog, parse_zoned)
from pipelines.parsing.columns import (NULL_STR, capture, domain_user, failures, first_ip, groups, ip, mask,
                                       normalise_spaces, only, only_each, per_run, related, sample_share,
                                       seconds_to_ns, strip, to_int)
from pipelines.parsing.vpn.asa_messages import FTD_CODES, hms_seconds, outcome_of_action, read_messages
from pipelines.parsing.vpn.common import (ADDRESS_ASSIGNED, ADMIN_LOGIN_FAILURE, ADMIN_LOGIN_SUCCESS, BSD,
                                          CONNECTION, CONNECTION_END, FLOW_DENIED, FLOW_END, FLOW_START,
                                          FRACTION, INTRUSION, ISO, LOGIN_FAILURE, LOGIN_SUCCESS, MALWARE,
                                          NAT, OFFSET, PEER_INFO, PRI, SESSION_END, SESSION_START,
                                          WEB_FILTER, Kind, is_kind, iso_time, kind_columns, local_zone,
                                          result)

_TAG_NAMES = r"(?:ASA|FTD|NGIPS|FWSM|PIX)"
_ASA_TAG = r"%" + _TAG_NAMES + r"-(?:[a-z]+-)?(?P<severity>[0-7])-(?P<code>\d{6}):"
# what comes before the tag (without the separating spaces and colons), and the tag's fields
_ASA_HEAD_AND_TAG = r"^(?P<head>.*?)[\s:]*" + _ASA_TAG
_ASA_UP_TO_TAG = r"^.*?%" + _TAG_NAMES + r"-(?:[a-z]+-)?[0-7]-\d{6}: ?"
_OWN_STAMP = r"[A-Z][a-z]{2} +\d{1,2} \d{4} \d\d:\d\d:\d\d"
_TOKEN = r"[^\s:]+"
# Header times before the tag, best first: the device's own 'logging timestamp' (with a year,
# possibly after a relay's syslog header; then host and program), an RFC 3339 time, a BSD time.
_ASA_OWN_TIME = (rf"(?:^|[\s>])(?P<stamp>{_OWN_STAMP}){FRACTION}(?: (?P<host>{_TOKEN}))?"
                 rf"(?: {_TOKEN})? ?:?$")
_ASA_ISO_TIME = (rf"(?:^|[\s>])(?P<stamp>{ISO}){FRACTION}(?P<offset>{OFFSET})?"
                 r"(?: (?P<host>[^\s:-][^\s:]*))?(?: [^\s:]+)?(?: -)* ?:?$")
_ASA_BSD_TIME = rf"^{PRI}(?P<stamp>{BSD}){FRACTION}(?: (?P<host>{_TOKEN}))?"
# Lines without a tag: a syslog header, then the message.
_SYSLOG_ONLY = (rf"^{PRI}(?:1 )?(?:(?P<bsd>{BSD})|(?P<own>{_OWN_STAMP})|(?P<iso>{ISO}){FRACTION}"
                rf"(?P<offset>{OFFSET})?){FRACTION} (?P<host>{_TOKEN})(?: {_TOKEN}\[\d+\])? ?: ")
_SYSLOG_ONLY_STRIP = (rf"^{PRI}(?:1 )?(?:{BSD}|{_OWN_STAMP}|{ISO}{FRACTION}{OFFSET}?){FRACTION} "
                      rf"{_TOKEN}(?: {_TOKEN}\[\d+\])? ?: ")
# Messages of ASAs logging without message ids, known by their text -> the id they would carry
_TEXT_CODES = ((r"^AAA user authentication Rejected", "113005"),
               (r"^AAA user authentication Successful", "113004"))
_ASA_LEVELS = pa.array(["emergencies", "alerts", "critical", "errors", "warnings", "notifications",
                        "informational", "debugging"])
_ASA_KINDS: dict[str, Kind] = {
    "113004": LOGIN_SUCCESS, "113012": LOGIN_SUCCESS,
    "113005": LOGIN_FAILURE, "113015": LOGIN_FAILURE, "716039": LOGIN_FAILURE,
    "113039": SESSION_START, "716001": SESSION_START,
    "113019": SESSION_END, "716002": SESSION_END,
    "722051": ADDRESS_ASSIGNED, "713228": ADDRESS_ASSIGNED,
    "722055": PEER_INFO,
    "722022": CONNECTION, "722033": CONNECTION,
    "722023": CONNECTION_END, "722037": CONNECTION_END,
    "611101": ADMIN_LOGIN_SUCCESS, "605005": ADMIN_LOGIN_SUCCESS,
    "611102": ADMIN_LOGIN_FAILURE, "605004": ADMIN_LOGIN_FAILURE, "113021": ADMIN_LOGIN_FAILURE,
    **dict.fromkeys(("302013", "302015", "302017", "302020", "302303", "430002"), FLOW_START),
    **dict.fromkeys(("302014", "302016", "302018", "302021", "302304", "430003"), FLOW_END),
    **dict.fromkeys(("106001", "106006", "106007", "106010", "106011", "106012", "106014", "106015",
                     "106016", "106017", "106020", "106021", "106022", "106023", "710003", "710005",
                     "313001", "313004", "313005", "313008"), FLOW_DENIED),
    **dict.fromkeys(("305009", "305010", "305011", "305012"), NAT),
    **dict.fromkeys(("733100", "430001", "400000", "400001", "400002", "400007", "400010", "400011",
                     "400013", "400014", "400023", "400024", "400025", "400026", "400027", "400028",
                     "400032", "400035", "400041", "400044"), INTRUSION),
    "430005": MALWARE, "304001": WEB_FILTER,
}
ACL_PERMIT = Kind("connection-allowed", "network", ("connection", "allowed"), "success")
_ASA_CODES = pa.array(list(_ASA_KINDS))
_ASA_KIND_LIST = list(_ASA_KINDS.values()) + [ACL_PERMIT]
_ASA_USER = (r"\bUser <(?P<v>[^>]+)>", r"\bUsername = (?P<v>[^,]+)", r"\buser = (?P<v>[^:\s]+)",
             r"\bUname: (?P<v>[^,\s]+)", r"for user \"(?P<v>[^\"]+)\"", r"\buser '(?P<v>[^']+)'",
             r"DAP: User (?P<v>[^,]+),")
_ASA_SOURCE = (r"\bIP <(?P<v>[^>]+)>", r"\bIP = (?P<v>[0-9A-Fa-f.:]+)", r"IP address: (?P<v>[0-9A-Fa-f.:]+)",
               r"Login (?:denied|permitted) from (?P<v>[0-9A-Fa-f.:]+)/",
               r"DAP: User [^,]*, Addr (?P<v>[^,:]+)",
               r"with client [\w-]+:(?P<v>[0-9A-Fa-f.:]+)/")
_ASA_PORT = (r"Login (?:denied|permitted) from [0-9A-Fa-f.:]+/(?P<v>\d+)",
             r"with client [\w-]+:[0-9A-Fa-f.:]+/(?P<v>\d+)")
_ASA_GROUP = (r"\bGroup <(?P<v>[^>]+)>", r"\bGroup = (?P<v>[^,]+)", r"\bTunnelGroup <(?P<v>[^>]+)>")
_ASA_ASSIGNED = (r"IPv4 Address <(?P<v>[^>]*)>", r"IPv6 address <(?P<v>[^>]*)>",
                 r"Assigned private IP address (?P<v>[0-9A-Fa-f.:]+)")
_ASA_REASON = (r"reason = (?P<v>[^:]+?) :", r"Reason: (?P<v>.+?)\.?$", r"session terminated: (?P<v>.+?)\.?$",
               r"closing connection: (?P<v>.+?)\.?$", r"Authentication: (?P<v>\w+)")
_ASA_EXPLAINED = (LOGIN_FAILURE, SESSION_END, CONNECTION_END)
_FLOW_KINDS = (FLOW_START, FLOW_END, FLOW_DENIED, NAT)
TIME_FROM_REFERENCE = "timestamp_from_reference"


def _asa_read(lines: pa.Array, ctx: ParseContext) -> tuple[dict[str, pa.Array], pa.Array]:
    """Header of each ASA line -> (fields incl. @timestamp, failure reasons)."""
    n = len(lines)
    tag = groups(lines, _ASA_HEAD_AND_TAG)
    tagged = mask(tag["code"].is_valid())
    head = pc.if_else(pa.array(tagged), pc.coalesce(tag["head"], ""), NULL_STR)
    own, iso, bsd = (groups(head, p) for p in (_ASA_OWN_TIME, _ASA_ISO_TIME, _ASA_BSD_TIME))
    syslog_only = _syslog_only(~tagged, lines)
    own_stamp = pc.coalesce(own["stamp"], syslog_only["own"])
    iso_stamp = pc.coalesce(iso["stamp"], syslog_only["iso"])
    bsd_stamp = pc.coalesce(bsd["stamp"], syslog_only["bsd"])
    offset = pc.if_else(pc.is_valid(iso["stamp"]), iso["offset"], syslog_only["offset"])
    # once per run of equal stamps (a busy firewall writes many lines a second)
    own_time = per_run(own_stamp, lambda rows: parse_local(normalise_spaces(own_stamp.take(pa.array(rows))),
                                                           "%b %d %Y %H:%M:%S", ctx.timezone))
    iso_utc, iso_local = iso_time(iso_stamp, offset, ctx)
    stamp = pc.coalesce(own_stamp, iso_stamp, bsd_stamp)
    bsd_time = per_run(bsd_stamp, lambda rows: parse_syslog(bsd_stamp.take(pa.array(rows)), ctx))
    header_time = pc.coalesce(own_time, iso_utc, bsd_time)
    msg = pc.if_else(pa.array(tagged), strip(lines, _ASA_UP_TO_TAG),
                     only(~tagged, lines, lambda rest: strip(rest, _SYSLOG_ONLY_STRIP)))
    code = tag["code"]
    firepower = mask(pc.is_in(code, value_set=pa.array(FTD_CODES))) & ~mask(stamp.is_valid())
    packet_time = only(firepower, msg, _first_packet_time)
    no_time = tagged & ~mask(stamp.is_valid()) & ~mask(packet_time.is_valid())
    reference = pa.scalar(ctx.reference_time, TS_TYPE)
    timestamp = pc.coalesce(header_time, packet_time,
                            pc.if_else(pa.array(no_time), reference, pa.scalar(None, TS_TYPE)))
    failure = failures(n, [
        (~tagged & ~mask(stamp.is_valid()), "cisco_asa: no %ASA-<severity>-<id> message and no syslog header"),
        (~mask(timestamp.is_valid()), "cisco_asa: invalid timestamp"),
    ])
    host = pc.coalesce(own["host"], iso["host"], bsd["host"], syslog_only["host"])
    local = pc.or_(pc.is_valid(pc.coalesce(own_stamp, bsd_stamp)), iso_local)
    text_code = only(~tagged, msg, lambda rest: pc.coalesce(*[
        pc.if_else(pc.match_substring_regex(rest, pattern), code_of, NULL_STR) for pattern, code_of in _TEXT_CODES]))
    fields = {"@timestamp": timestamp, "local": local, "host": host, "severity": tag["severity"],
              "code": code, "kind_code": pc.coalesce(code, text_code),
              "msg": msg, "no_time": pa.array(no_time), "tagged": pa.array(tagged)}
    return fields, failure


def _syslog_only(rows: np.ndarray, lines: pa.Array) -> dict[str, pa.Array]:
    """Syslog header fields of the lines without a tag (null on the others)."""
    names = ("bsd", "own", "iso", "offset", "host")
    return only_each(rows, lines, lambda subset: {k: v for k, v in groups(subset, _SYSLOG_ONLY).items()
                                                  if k in names})


def _first_packet_time(msg: pa.Array) -> pa.Array:
    """Firepower events: 'FirstPacketSecond: 2021-04-30T11:31:19Z' -> UTC timestamp."""
    found = groups(msg, rf"FirstPacketSecond: (?P<stamp>{ISO})(?P<offset>{OFFSET})")
    return parse_zoned(pc.binary_join_element_wise(found["stamp"], found["offset"], ""), "%Y-%m-%dT%H:%M:%S%z")


def _asa_session(msg: pa.Array) -> dict[str, pa.Array]:
    """113019 'Session disconnected' figures: duration (ns) and bytes each way."""
    d = groups(msg, r"Duration: (?:(?P<d>\d+)d ?)?(?P<h>\d+)h:(?P<m>\d+)m:(?P<s>\d+)s")
    seconds = pc.add(pc.add(pc.multiply(pc.coalesce(to_int(d["d"]), 0), 86400),
                            pc.multiply(to_int(d["h"]), 3600)),
                     pc.add(pc.multiply(to_int(d["m"]), 60), to_int(d["s"])))
    traffic = groups(msg, r"Bytes xmt: (?P<xmt>\d+), Bytes rcv: (?P<rcv>\d+)")
    # the ASA transmits "xmt" to the client (destination side) and receives "rcv" from it
    return {"event.duration": seconds_to_ns(seconds), "source.bytes": to_int(traffic["rcv"]),
            "destination.bytes": to_int(traffic["xmt"])}


def _vpn_fields(msg: pa.Array) -> dict[str, pa.Array]:
    """User, source address and port, group named by VPN and administration messages."""
    return {"user": capture(msg, _ASA_USER), "source": capture(msg, _ASA_SOURCE),
            "port": capture(msg, _ASA_PORT), "group": capture(msg, _ASA_GROUP)}


def _asa_which(kind_code: pa.Array, flow: dict[str, pa.Array]) -> np.ndarray:
    """Kind index of each line (into _ASA_KIND_LIST), -1 when unclassified; 106100 and
    Firepower connection events take their kind from what the firewall did."""
    which = np.asarray(pc.index_in(kind_code, value_set=_ASA_CODES).fill_null(-1), dtype=np.int64)
    permit = _ASA_KIND_LIST.index(ACL_PERMIT)
    denied = _ASA_KIND_LIST.index(FLOW_DENIED)
    verdict = flow.get("verdict")
    if verdict is not None:
        which[mask(pc.is_in(verdict, value_set=pa.array(["permitted", "est-allowed"])))] = permit
        which[mask(pc.equal(verdict, "denied"))] = denied
    action = flow.get("ftd_action")
    if action is not None:
        blocked = mask(pc.equal(outcome_of_action(action), "failure"))
        which[blocked & is_kind(which, _ASA_KIND_LIST, FLOW_START, FLOW_END)] = denied
    return which


def _address(values: pa.Array) -> dict[str, pa.Array]:
    """An address token as written (an address or a configured name) -> ip / domain / address."""
    address = ip(values)
    return {"ip": address, "domain": pc.if_else(pc.is_valid(address), NULL_STR, values), "address": values}


def _asa_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from the headers and messages of ASA lines."""
    msg, code = read["msg"], read["code"]
    flow = read_messages(code, msg)
    which = _asa_which(read["kind_code"], flow)
    kinds = _ASA_KIND_LIST
    g = lambda name: flow.get(name, pa.nulls(len(msg), pa.string()))  # noqa: E731
    src, dst = _address(g("s_ip")), _address(g("d_ip"))
    src_user, dst_user = domain_user(g("s_user")), domain_user(g("d_user"))
    # the VPN / administration patterns, on the lines that are no firewall flow
    said = only_each(~is_kind(which, kinds, *_FLOW_KINDS), msg, _vpn_fields)
    user = pc.coalesce(said["user"], src_user["user.name"])
    source_ip = pc.coalesce(src["ip"], ip(said["source"]))
    assigned = only(is_kind(which, kinds, ADDRESS_ASSIGNED), msg, lambda m: first_ip(m, _ASA_ASSIGNED))
    session = only_each(mask(pc.equal(code, "113019")), msg, _asa_session)
    session_type = pc.utf8_lower(capture(msg, [r"Session Type: (?P<v>[^,.]+)"]))
    family_type = pc.if_else(pc.starts_with(code, "716"), "webvpn",
                             pc.if_else(pc.or_(pc.starts_with(code, "722"), pc.equal(code, "113039")),
                                        "anyconnect", NULL_STR))
    peer_info = is_kind(which, kinds, PEER_INFO)
    duration = pc.coalesce(session["event.duration"], seconds_to_ns(hms_seconds(g("dur"))),
                           seconds_to_ns(to_int(g("dur_s"))))
    source_bytes = pc.coalesce(session["source.bytes"], to_int(g("s_bytes")))
    destination_bytes = pc.coalesce(session["destination.bytes"], to_int(g("d_bytes")))
    columns = kind_columns(kinds, which, pc.if_else(read["tagged"], "asa-message", "syslog"))
    columns.update({
        "message": msg,
        "tags": pc.if_else(read["no_time"], pa.scalar([TIME_FROM_REFERENCE], pa.list_(pa.string())),
                           pa.scalar(None, pa.list_(pa.string()))),
        "event.code": code,
        "event.outcome": pc.coalesce(outcome_of_action(pc.coalesce(g("ftd_action"), g("ftd_result"))),
                                     columns["event.outcome"]),
        "event.reason": pc.coalesce(
            only(is_kind(which, kinds, *_ASA_EXPLAINED), msg, lambda m: capture(m, _ASA_REASON)),
            g("reason"), g("ftd_class")),
        "event.duration": duration,
        "event.timezone": local_zone(read["local"], ctx),
        "log.level": _ASA_LEVELS.take(to_int(read["severity"])),
        "log.syslog.hostname": read["host"],
        "observer.hostname": read["host"],
        "observer.ingress.interface.name": g("s_if"),
        "observer.egress.interface.name": g("d_if"),
        "source.ip": source_ip,
        "source.address": src["address"],
        "source.domain": src["domain"],
        "source.port": pc.coalesce(to_int(g("s_port")), to_int(said["port"])),
        "source.nat.ip": ip(g("s_map_ip")),
        "source.nat.port": to_int(g("s_map_port")),
        "source.bytes": source_bytes,
        "destination.ip": dst["ip"],
        "destination.address": dst["address"],
        "destination.domain": dst["domain"],
        "destination.port": to_int(g("d_port")),
        "destination.nat.ip": ip(g("d_map_ip")),
        "destination.nat.port": to_int(g("d_map_port")),
        "destination.bytes": destination_bytes,
        "network.transport": pc.utf8_lower(g("proto")),
        "network.application": pc.utf8_lower(g("app")),
        "network.bytes": pc.coalesce(pc.add(source_bytes, destination_bytes), to_int(g("bytes"))),
        "rule.name": pc.coalesce(g("acl"), g("object"), g("threat")),
        "rule.id": g("sig"),
        "url.original": g("url"),
        "file.name": g("file"),
        "user.name": user,
        "user.domain": pc.if_else(pc.is_valid(said["user"]), NULL_STR, src_user["user.domain"]),
        "group.name": said["group"],
        "vigie.vpn.assigned_ip": assigned,
        "vigie.vpn.tunnel_type": pc.coalesce(session_type, family_type),
        "vigie.vpn.client_version": only(peer_info, msg, lambda m: capture(
            m, [r"Client Type: (?P<v>.+?)\s*$"])),
        "vigie.vpn.client_platform": only(peer_info, msg, lambda m: capture(
            m, [r"Client Type: .*? for (?P<v>.+?) \d[\d.]*\s*$"])),
        "related.ip": related(source_ip, dst["ip"], assigned, ip(g("s_map_ip")), ip(g("d_map_ip"))),
        "related.user": related(user, dst_user["user.name"]),
    })
    return columns


def parse_cisco_asa(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Cisco ASA / FTD syslog lines -> events, one per line whose header reads."""
    read, failure = _asa_read(batch.lines, ctx)
    return result(batch, CISCO_ASA, failure, read, lambda good: _asa_columns(good, ctx))


def _asa_readable(lines: pa.Array) -> pa.Array:
    """Lines carrying a %ASA / %FTD message id."""
    return pc.match_substring_regex(lines, _ASA_TAG)


def detect_cisco_asa(sample: list[str]) -> float:
    """Share of sample lines that carry a %ASA / %FTD message id."""
    return sample_share(sample, _asa_readable)


CISCO_ASA = LogFormat("cisco_asa", "vpn", parse_cisco_asa, detect_cisco_asa,
                      {"product": "ASA", "vendor": "Cisco", "type": "vpn"})
