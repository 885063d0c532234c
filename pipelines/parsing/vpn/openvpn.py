"""OpenVPN logs -> events (see the package docstring for the vocabulary).

In: server (or client) log lines with a syslog header (BSD or RFC 3339 time) or OpenVPN's own
timestamp, and the lines of a status file (openvpn_status.py). Out: one event per line whose
header reads, and per client or route row of a status file; status file headings are skipped;
any other line is a dead letter.

Messages classified: TLS and authentication failures (TLS errors and key negotiation failures,
VERIFY ERROR, HMAC and tls-crypt failures, AUTH_FAILED sent or received, an auth plugin or script
that refused the user), successful authentications (username/password, auth plugin status 0),
"Peer Connection Initiated", addresses assigned, peer info, session ends, new connections, and
the management interface (client connected, commands).
"""
from __future__ import annotations


import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (LineBatch, LogFormat, ParseContext, ParseResult, parse_local,
                                    parse_syslog)
from pipelines.parsing.columns import (NULL_STR, only_each, without, capture, failures, groups, ip, mask, match_first,
                                       first_ip, normalise_spaces, only, related, sample_share,
                                       strip, to_int)
from pipelines.parsing.vpn.openvpn_status import STATUS_HEADING, read_status, status_headings
from pipelines.parsing.vpn.common import (MANAGEMENT_COMMAND, MANAGEMENT_CONNECTION, SESSION_STATUS, ADDRESS_ASSIGNED, BSD,
                                          CONNECTION, FRACTION, ISO, LOGIN_FAILURE,
                                          LOGIN_SUCCESS, OFFSET, PEER_INFO, PRI, SESSION_END, SESSION_START,
                                          Kind, is_kind, iso_time, kind_columns, local_zone, result)


# A syslog header (BSD or RFC 3339 time, hostname optional, program[pid]:) or OpenVPN's own
# timestamp ('2026-11-27 19:02:11' or 'Fri Nov 27 19:02:11 2026', optionally ' us=...').
_OPENVPN_HEADER = (
    rf"^{PRI}(?:"
    rf"(?:(?P<bsd>{BSD}){FRACTION}|(?P<iso>{ISO}){FRACTION}(?P<offset>{OFFSET})?) "
    r"(?:(?P<host>[^\s\[\]:]+) )?(?P<app>[\w.@/-]+)(?:\[(?P<pid>\d+)\])?:"
    r"|(?P<own_iso>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?: us=\d+)?"
    r"|[A-Z][a-z]{2} (?P<own_ctime>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4})(?: us=\d+)?"
    r")(?: |$)"
)
# "user/ip:port " or "ip:port " at the start of a message: the client instance it is about
_OPENVPN_PEER = (r"^(?:(?P<user>[^\s/\[\]]+)/)?(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)"
                 r":(?P<port>\d+) ")
_OPENVPN_SOCKET = r"\[AF_INET6?\](?P<ip>[0-9A-Fa-f.:]+):(?P<port>\d+)"
_OPENVPN_KINDS: tuple[tuple[Kind, str], ...] = (
    (LOGIN_FAILURE, r"TLS Auth Error|VERIFY ERROR|TLS Error: TLS (?:handshake failed|key negotiation failed)"
                    r"|cannot locate HMAC|incoming packet authentication failed|tls-crypt unwrapping failed"
                    r"|packet HMAC authentication failed|AUTH_FAILED|TLS_ERROR: BIO read"
                    r"|PLUGIN_AUTH_USER_PASS_VERIFY status=[1-9]|Failed running command \(--auth-user-pass-verify\)"
                    r"|Incorrect password supplied|user authentication failed|LDAP bind failed"),
    (LOGIN_SUCCESS, r"authentication succeeded for username|PLUGIN_AUTH_USER_PASS_VERIFY status=0"),
    (SESSION_START, r"\] Peer Connection Initiated with"),
    (ADDRESS_ASSIGNED, r"MULTI_sva: pool returned|MULTI: primary virtual IP"
                       r"|MULTI: Learn: (?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*::[0-9A-Fa-f:]*) -> "),
    (PEER_INFO, r"peer info: IV_"),
    (SESSION_END, r"client-instance (?:exiting|restarting)|Connection reset, restarting"
                  r"|Inactivity timeout"),
    (CONNECTION, r"TCP connection established with|TLS: Initial packet from"),
    (MANAGEMENT_CONNECTION, r"^MANAGEMENT: Client connected from"),
    (MANAGEMENT_COMMAND, r"^MANAGEMENT: CMD "),
)
_OPENVPN_KIND_LIST = [k for k, _ in _OPENVPN_KINDS] + [SESSION_STATUS]
_OPENVPN_USER = (r"for username '(?P<v>[^']+)'", r"^\[(?P<v>[^\]]+)\] Peer Connection",
                 r" -> (?P<v>[^\s/]+)/", r"SENT CONTROL \[(?P<v>[^\]]+)\]: 'AUTH_FAILED",
                 r"[Uu]ser(?:name)? '(?P<v>[^']+)'", r"common_name=(?P<v>[^,\s]+)")
_OPENVPN_ASSIGNED = (r"pool returned IPv4=(?P<v>[^,\s]+)", r"pool returned [^,]*, IPv6=(?P<v>[^,\s]+)",
                     r"MULTI: primary virtual IP for \S+: (?P<v>\S+)", r"MULTI: Learn: (?P<v>\S+) -> ")
# Messages only OpenVPN writes (to recognise files that carry OpenVPN's own timestamps)
_OPENVPN_MARKERS = (r"^(?:[^\s/]+/)?\d{1,3}(?:\.\d{1,3}){3}:\d+ |MULTI|TLS|OpenVPN|Peer Connection"
                    r"|TCP connection established|Initialization Sequence|TUN/TAP|UDPv[46]|TCPv[46]"
                    r"|SIG(?:TERM|USR1|USR2|HUP)|peer info|PLUGIN_|ifconfig_pool|Data Channel"
                    r"|Control Channel|VERIFY (?:OK|ERROR)|MANAGEMENT:|Socket Buffers")


def _openvpn_read(lines: pa.Array, ctx: ParseContext) -> tuple[dict[str, pa.Array], pa.Array, np.ndarray]:
    """Header of each line -> (fields incl. @timestamp and local-time mask, failure reasons,
    status file headings)."""
    h = groups(lines, _OPENVPN_HEADER)
    syslog_iso, iso_local = iso_time(h["iso"], h["offset"], ctx)
    own_iso = parse_local(h["own_iso"], "%Y-%m-%d %H:%M:%S", ctx.timezone)
    own_ctime = parse_local(normalise_spaces(h["own_ctime"]), "%b %d %H:%M:%S %Y", ctx.timezone)
    stamp = pc.coalesce(h["bsd"], h["iso"], h["own_iso"], h["own_ctime"])
    no_stamp = ~mask(pc.is_valid(stamp))
    status = only_each(no_stamp, lines, lambda rest: read_status(rest, ctx))
    headings = np.zeros(len(lines), dtype=bool)
    if no_stamp.any():
        headings[no_stamp] = status_headings(lines.filter(pa.array(no_stamp)))
    timestamp = pc.coalesce(parse_syslog(h["bsd"], ctx), syslog_iso, own_iso, own_ctime, status["@timestamp"])
    local = pc.or_(pc.or_(pc.is_valid(pc.coalesce(h["bsd"], h["own_iso"], h["own_ctime"])), iso_local),
                   status["local"].fill_null(False))
    is_status = mask(status["is_status"])
    failure = failures(len(lines), [
        (no_stamp & ~is_status, "openvpn: no syslog header or OpenVPN timestamp"),
        (~mask(pc.is_valid(timestamp)), "openvpn: invalid timestamp"),
    ])
    fields = {"@timestamp": timestamp, "local": local, "host": h["host"], "app": h["app"],
              "pid": h["pid"], "msg": pc.if_else(pa.array(is_status), lines, strip(lines, _OPENVPN_HEADER)),
              **{f"status_{name}": value for name, value in status.items() if name not in ("@timestamp", "local")}}
    return fields, failure, headings


def _openvpn_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from the headers and messages of OpenVPN lines and status rows."""
    msg = read["msg"]
    peer = groups(msg, _OPENVPN_PEER)
    body = strip(msg, _OPENVPN_PEER)
    socket = groups(body, _OPENVPN_SOCKET)
    which = match_first(body, [p for _, p in _OPENVPN_KINDS])
    kinds = _OPENVPN_KIND_LIST
    is_status = mask(read["status_is_status"])
    which[is_status] = kinds.index(SESSION_STATUS)
    which[is_status & mask(read["status_route"])] = kinds.index(ADDRESS_ASSIGNED)
    status_user = pc.coalesce(without(read["status_username"], "UNDEF"), read["status_cn"])
    real = groups(read["status_real"], r"^(?P<ip>.+):(?P<port>\d+)$")
    user = pc.coalesce(peer["user"], capture(body, _OPENVPN_USER), status_user)
    user = pc.if_else(pc.equal(user, "UNDEF"), NULL_STR, user)
    source_ip = pc.coalesce(ip(peer["ip"]), ip(socket["ip"]), ip(real["ip"]))
    assigned = pc.coalesce(
        only(is_kind(which, kinds, ADDRESS_ASSIGNED) & ~is_status, body, lambda b: first_ip(b, _OPENVPN_ASSIGNED)),
        ip(read["status_virtual"]))
    info = groups(body, r"^peer info: (?P<key>IV_\w+)=(?P<value>.*)$")
    version = pc.if_else(pc.is_in(info["key"], value_set=pa.array(["IV_VER", "IV_GUI_VER"])),
                         info["value"], NULL_STR)
    platform = pc.if_else(pc.equal(info["key"], "IV_PLAT"), info["value"], NULL_STR)
    explained = pa.array(is_kind(which, kinds, LOGIN_FAILURE, SESSION_END, MANAGEMENT_COMMAND))
    received, sent = to_int(read["status_rx"]), to_int(read["status_tx"])
    columns = kind_columns(kinds, which, "openvpn-message")
    columns.update({
        "message": msg,
        "tags": pc.if_else(read["status_no_time"].fill_null(False),
                           pa.scalar(["timestamp_from_reference"], pa.list_(pa.string())),
                           pa.scalar(None, pa.list_(pa.string()))),
        "event.reason": pc.if_else(explained, body, NULL_STR),
        "event.timezone": local_zone(read["local"], ctx),
        "log.syslog.hostname": read["host"],
        "log.syslog.appname": read["app"],
        "log.syslog.procid": read["pid"],
        "observer.hostname": read["host"],
        "source.ip": source_ip,
        "source.port": pc.coalesce(to_int(peer["port"]), to_int(socket["port"]), to_int(real["port"])),
        "source.bytes": received,
        "destination.bytes": sent,
        "network.bytes": pc.add(received, sent),
        "user.name": user,
        "vigie.vpn.assigned_ip": assigned,
        "vigie.vpn.tunnel_type": "openvpn",
        "vigie.vpn.client_version": version,
        "vigie.vpn.client_platform": platform,
        "related.ip": related(source_ip, assigned),
        "related.user": related(user),
    })
    return columns


def parse_openvpn(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """OpenVPN server log lines (syslog header or OpenVPN's own timestamps) -> events."""
    read, failure, headings = _openvpn_read(batch.lines, ctx)
    return result(batch, OPENVPN, failure, read, lambda good: _openvpn_columns(good, ctx),
                  skips=[(headings, STATUS_HEADING)])


def _openvpn_readable(lines: pa.Array) -> pa.Array:
    """Lines an OpenVPN server wrote: a syslog header naming a VPN program, or OpenVPN's own
    timestamp before a message OpenVPN is known to write."""
    h = groups(lines, _OPENVPN_HEADER)
    vpn_program = pc.match_substring_regex(h["app"], r"(?i)vpn").fill_null(False)
    own_stamp = pc.is_valid(pc.coalesce(h["own_iso"], h["own_ctime"]))
    openvpn_text = pc.match_substring_regex(strip(lines, _OPENVPN_HEADER), _OPENVPN_MARKERS)
    status = pc.match_substring_regex(lines, r"^(?:CLIENT_LIST|ROUTING_TABLE|TITLE|TIME|HEADER|GLOBAL_STATS|END)[,\t]"
                                             r"|^OpenVPN CLIENT LIST$|^(?:Updated|Common Name|Virtual Address),")
    return pc.or_(pc.or_(vpn_program, pc.and_(own_stamp, openvpn_text)), status)


def detect_openvpn(sample: list[str]) -> float:
    """Share of sample lines that read as OpenVPN server log lines."""
    return sample_share(sample, _openvpn_readable)


OPENVPN = LogFormat("openvpn", "vpn", parse_openvpn, detect_openvpn,
                    {"product": "OpenVPN", "vendor": "OpenVPN", "type": "vpn"})
