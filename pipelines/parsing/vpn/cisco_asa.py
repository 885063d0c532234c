"""Cisco ASA / Firepower (FTD) syslog messages -> events.

In: lines carrying a %ASA-<severity>-<id> or %FTD-<severity>-<id> message. Out: one event per
such line; a line without that tag is a dead letter.
"""
from __future__ import annotations


import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (LineBatch, LogFormat, ParseContext, ParseResult, parse_local,
                                    parse_syslog)
from pipelines.parsing.columns import (NULL_STR, capture, failures, groups, ip, mask, first_ip, normalise_spaces, only, only_each, related, sample_share,
                                       seconds_to_ns, strip, to_int)
from pipelines.parsing.vpn.common import (ADDRESS_ASSIGNED, ADMIN_LOGIN_FAILURE, ADMIN_LOGIN_SUCCESS, BSD,
                                          CONNECTION, CONNECTION_END, FRACTION, ISO, LOGIN_FAILURE,
                                          LOGIN_SUCCESS, OFFSET, PEER_INFO, PRI, SESSION_END, SESSION_START,
                                          Kind, is_kind, iso_time, kind_columns, local_zone, result)


_ASA_TAG = r"%(?:ASA|FTD)-(?:[a-z]+-)?(?P<severity>[0-7])-(?P<code>\d{6}):"
_ASA_FROM_TAG = r"[\s:]*%(?:ASA|FTD)-(?:[a-z]+-)?[0-7]-\d{6}:.*$"
_ASA_UP_TO_TAG = r"^.*?%(?:ASA|FTD)-(?:[a-z]+-)?[0-7]-\d{6}: ?"
# Header times, best first: the device's own 'logging timestamp' (with a year, possibly after a
# relay's syslog header), an RFC 3339 time, a BSD syslog time.
_ASA_OWN_TIME = (rf"(?:^|[\s>])(?P<stamp>[A-Z][a-z]{{2}} +\d{{1,2}} \d{{4}} \d\d:\d\d:\d\d){FRACTION}"
                 r"(?: (?P<host>\S+))?$")
_ASA_ISO_TIME = (rf"(?:^|[\s>])(?P<stamp>{ISO}){FRACTION}(?P<offset>{OFFSET})?"
                 r"(?: (?P<host>[^\s-]\S*))?(?: -)*$")
_ASA_BSD_TIME = rf"^{PRI}(?P<stamp>{BSD}){FRACTION}(?: (?P<host>\S+))?"
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
}
_ASA_CODES = pa.array(list(_ASA_KINDS))
_ASA_KIND_LIST = list(_ASA_KINDS.values())
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


def _asa_read(lines: pa.Array, ctx: ParseContext) -> tuple[dict[str, pa.Array], pa.Array]:
    """Header of each ASA line -> (fields incl. @timestamp, failure reasons)."""
    tag = groups(lines, _ASA_TAG)
    head = strip(lines, _ASA_FROM_TAG)
    own, iso, bsd = (groups(head, p) for p in (_ASA_OWN_TIME, _ASA_ISO_TIME, _ASA_BSD_TIME))
    own_time = parse_local(normalise_spaces(own["stamp"]), "%b %d %Y %H:%M:%S", ctx.timezone)
    iso_stamp, iso_local = iso_time(iso["stamp"], iso["offset"], ctx)
    timestamp = pc.coalesce(own_time, iso_stamp, parse_syslog(bsd["stamp"], ctx))
    stamp = pc.coalesce(own["stamp"], iso["stamp"], bsd["stamp"])
    failure = failures(len(lines), [
        (~mask(pc.is_valid(tag["code"])), "cisco_asa: no %ASA-<severity>-<message id> message"),
        (~mask(pc.is_valid(stamp)), "cisco_asa: no timestamp before the %ASA message"),
        (~mask(pc.is_valid(timestamp)), "cisco_asa: invalid timestamp"),
    ])
    host = pc.if_else(pc.is_valid(own["stamp"]), own["host"],
                      pc.if_else(pc.is_valid(iso["stamp"]), iso["host"], bsd["host"]))
    local = pc.or_(pc.is_valid(pc.coalesce(own["stamp"], bsd["stamp"])), iso_local)
    fields = {"@timestamp": timestamp, "local": local, "host": host, "severity": tag["severity"],
              "code": tag["code"], "msg": strip(lines, _ASA_UP_TO_TAG)}
    return fields, failure


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


def _asa_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from the headers and messages of ASA lines."""
    msg, code = read["msg"], read["code"]
    which = np.asarray(pc.index_in(code, value_set=_ASA_CODES).fill_null(-1), dtype=np.int64)
    kinds = _ASA_KIND_LIST
    user = capture(msg, _ASA_USER)
    source_ip = ip(capture(msg, _ASA_SOURCE))
    assigned = only(is_kind(which, kinds, ADDRESS_ASSIGNED), msg, lambda m: first_ip(m, _ASA_ASSIGNED))
    disconnected = mask(pc.equal(code, "113019"))
    session = only_each(disconnected, msg, _asa_session)
    session_type = pc.utf8_lower(capture(msg, [r"Session Type: (?P<v>[^,.]+)"]))
    family_type = pc.if_else(pc.starts_with(code, "716"), "webvpn",
                             pc.if_else(pc.or_(pc.starts_with(code, "722"), pc.equal(code, "113039")),
                                        "anyconnect", NULL_STR))
    peer_info = is_kind(which, kinds, PEER_INFO)
    columns = kind_columns(kinds, which, "asa-message")
    columns.update(session)
    columns.update({
        "message": msg,
        "event.code": code,
        "event.reason": only(is_kind(which, kinds, *_ASA_EXPLAINED), msg, lambda m: capture(m, _ASA_REASON)),
        "event.timezone": local_zone(read["local"], ctx),
        "log.level": _ASA_LEVELS.take(to_int(read["severity"])),
        "log.syslog.hostname": read["host"],
        "observer.hostname": read["host"],
        "source.ip": source_ip,
        "source.port": to_int(capture(msg, _ASA_PORT)),
        "network.bytes": pc.add(session["source.bytes"], session["destination.bytes"]),
        "user.name": user,
        "group.name": capture(msg, _ASA_GROUP),
        "vigie.vpn.assigned_ip": assigned,
        "vigie.vpn.tunnel_type": pc.coalesce(session_type, family_type),
        "vigie.vpn.client_version": only(peer_info, msg, lambda m: capture(
            m, [r"Client Type: (?P<v>.+?)\s*$"])),
        "vigie.vpn.client_platform": only(peer_info, msg, lambda m: capture(
            m, [r"Client Type: .*? for (?P<v>.+?) \d[\d.]*\s*$"])),
        "related.ip": related(source_ip, assigned),
        "related.user": related(user),
    })
    return columns


def parse_cisco_asa(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Cisco ASA / FTD syslog lines (%ASA-<sev>-<id>) -> events, one per line."""
    read, failure = _asa_read(batch.lines, ctx)
    return result(batch, CISCO_ASA, failure, read, lambda good: _asa_columns(good, ctx))


def detect_cisco_asa(sample: list[str]) -> float:
    """Share of sample lines that read as timestamped %ASA / %FTD messages."""
    return sample_share(sample, lambda lines: _asa_read(lines, ParseContext())[1].is_null())


CISCO_ASA = LogFormat("cisco_asa", "vpn", parse_cisco_asa, detect_cisco_asa,
                      {"product": "ASA", "vendor": "Cisco", "type": "vpn"})
