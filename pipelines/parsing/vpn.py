"""VPN log parsers: OpenVPN, Cisco ASA / AnyConnect, FortiGate, Palo Alto GlobalProtect.

Each format is a pure `parse(batch, ctx) -> ParseResult` (the contract is in base.py) and a
`detect(sample) -> float`. A line whose header parses is an event, whatever its message says;
a line whose header or layout does not parse is dead-lettered with a reason that names the
format; blank lines are skipped. Local timestamps are read in ctx.timezone (event.timezone is
then set), syslog timestamps without a year take it from ctx.reference_time.

event.action is one vocabulary across the four formats (detection rules key on it):

  event.action          event.category  event.type          event.outcome
  vpn-connection        network         connection, start   -
  vpn-connection-end    network         connection, end     -
  vpn-login-success     authentication  start               success
  vpn-login-failure     authentication  start               failure
  vpn-session-start     session         start               success (failure when the device says so)
  vpn-session-end       session         end                 -
  vpn-address-assigned  session         info                -
  vpn-peer-info         session         info                -
  admin-login-success   authentication  start               success
  admin-login-failure   authentication  start               failure

  OpenVPN     connection: "TCP connection established with", "TLS: Initial packet from";
              login-failure: "TLS Auth Error", "VERIFY ERROR", "TLS Error: TLS handshake failed",
              "cannot locate HMAC", "incoming packet authentication failed", "tls-crypt unwrapping
              failed"; login-success: "authentication succeeded for username '...'";
              session-start: "[cn] Peer Connection Initiated"; address-assigned: "MULTI_sva: pool
              returned", "MULTI: primary virtual IP", "MULTI: Learn: <ip> ->"; peer-info: "peer
              info: IV_..."; session-end: "client-instance exiting|restarting", "Connection reset,
              restarting", "Inactivity timeout".
  Cisco ASA   login-success 113004 113012; login-failure 113005 113015 716039; session-start
              113039 716001; session-end 113019 716002; address-assigned 722051 713228; peer-info
              722055; connection 722022 722033; connection-end 722023 722037; admin-login-success
              611101 605005; admin-login-failure 611102 605004 113021.
  FortiGate   login-failure ssl-login-fail; connection ssl-new-con; session-start tunnel-up;
              session-end tunnel-down; admin-login-success/-failure: subtype system, action login.
  GlobalProtect  login: portal-/gateway-/gw-auth (status) and SYSTEM globalprotect*-auth-succ|fail;
              session-start: gateway-register|connected, globalprotectgateway-regist-succ|fail;
              session-end: *-logout, globalprotectgateway-logout-succ.

Any other message keeps the source's words: "openvpn-message", "asa-message", FortiGate's own
action= value (or "fortigate-message"), GlobalProtect's event id; category network, type info.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (TS_TYPE, LineBatch, LogFormat, ParseContext, ParseResult,
                                    build_dead_letters, build_events, parse_local, parse_syslog,
                                    parse_zoned)

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
ADMIN_LOGIN_SUCCESS = Kind("admin-login-success", "authentication", ("start",), "success")
ADMIN_LOGIN_FAILURE = Kind("admin-login-failure", "authentication", ("start",), "failure")
# Unclassified: the action comes from the source (see the module docstring).
OTHER = Kind("", "network", ("info",))

# ---------------------------------------------------------------------------------------------
# Shared vectorised helpers
#
# Speed notes (pyarrow RE2 kernels): extracting a group costs per row and grows with the length
# of the matched span, so no pattern captures a long tail: message tails are obtained by
# deleting a matched prefix (replace_substring_regex), alternatives are merged into one pattern,
# and what only some messages carry is extracted on those rows only (`_only`).
# ---------------------------------------------------------------------------------------------

_STR_NULL = pa.scalar(None, pa.string())
_PRI = r"(?:<\d{1,3}>)?"
_BSD = r"[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d"
_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
_FRACTION = r"(?:\.\d+)?"
_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
_IP_VALUE = rf"^(?:{_IPV4}|[0-9A-Fa-f]{{0,4}}(?::[0-9A-Fa-f]{{0,4}}){{2,7}}|[0-9A-Fa-f:]*:{_IPV4})$"
_UNSPECIFIED_IPS = pa.array(["0.0.0.0", "::"])


def _present(values: pa.Array, placeholders: pa.Array | None = None) -> pa.Array:
    """`values` with empty strings (and `placeholders`) made null, by rewriting the validity
    bitmap only (extract_regex yields "" for groups that took no part in the match)."""
    if values.offset:
        values = pa.concat_arrays([values.slice(0, 0), values])  # rebase to offset 0
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=len(values) + 1)
    keep = pc.and_(values.is_valid(), pa.array(offsets[1:] > offsets[:-1]))
    if placeholders is not None:
        keep = pc.and_not(keep, pc.is_in(values, value_set=placeholders))
    return pa.Array.from_buffers(pa.string(), len(values), [keep.buffers()[1], *values.buffers()[1:]])


def _groups(values: pa.Array, pattern: str) -> dict[str, pa.Array]:
    """Named groups of the first match of RE2 `pattern` in each value (no match or empty: null)."""
    struct = pc.extract_regex(values, pattern)
    return {field.name: _present(child) for field, child in zip(struct.type, struct.flatten())}


def _capture(values: pa.Array, patterns: Sequence[str]) -> pa.Array:
    """Group `v` of whichever of `patterns` matches first (leftmost) in each value."""
    merged = "|".join(f"(?:{p.replace('(?P<v>', f'(?P<v{i}>')})" for i, p in enumerate(patterns))
    found = _groups(values, merged)
    return pc.coalesce(*[found[f"v{i}"] for i in range(len(patterns))])


def _strip(values: pa.Array, pattern: str) -> pa.Array:
    """Each value with the first match of `pattern` deleted."""
    return pc.replace_substring_regex(values, pattern, "", max_replacements=1)


def _spread(rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """(indices of the true `rows`, for every row its position among them or null)."""
    picked = np.flatnonzero(rows)
    position = np.full(len(rows), -1, dtype=np.int64)
    position[picked] = np.arange(len(picked))
    return pa.array(picked, pa.int64()), pa.array(position, pa.int64(), mask=position < 0)


def _only(rows: np.ndarray, values: pa.Array, extract: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """extract(values) evaluated on the rows where `rows` is true; null on the others."""
    picked, position = _spread(rows)
    return extract(values.take(picked)).take(position)


def _only_each(rows: np.ndarray, values: pa.Array,
               extract: Callable[[pa.Array], dict[str, pa.Array]]) -> dict[str, pa.Array]:
    """Like `_only` for an extraction that yields several named columns."""
    picked, position = _spread(rows)
    return {name: column.take(position) for name, column in extract(values.take(picked)).items()}


def _ip(values: pa.Array) -> pa.Array:
    """Valid IPv4/IPv6 addresses (IPv4-mapped IPv6 unwrapped); others and 0.0.0.0 / :: -> null."""
    unwrapped = pc.replace_substring_regex(values, rf"^::ffff:({_IPV4})$", r"\1")
    valid = pc.and_not(pc.match_substring_regex(unwrapped, _IP_VALUE),
                       pc.is_in(unwrapped, value_set=_UNSPECIFIED_IPS))
    return pc.if_else(valid, unwrapped, _STR_NULL)


def _first_ip(values: pa.Array, patterns: Sequence[str]) -> pa.Array:
    """The first valid address captured (group `v`), trying `patterns` in order."""
    return pc.coalesce(*[_ip(_groups(values, p)["v"]) for p in patterns])


def _int(values: pa.Array) -> pa.Array:
    """Decimal strings (up to 19 digits, below 9e18) -> int64; anything else -> null."""
    digits = pc.match_substring_regex(values, r"^(?:\d{1,18}|[1-8]\d{18})$")
    return pc.if_else(digits, values, _STR_NULL).cast(pa.int64())


def _seconds_to_ns(seconds: pa.Array) -> pa.Array:
    """Seconds (int64) -> nanoseconds."""
    return pc.multiply(seconds, pa.scalar(1_000_000_000, pa.int64()))


def _mask(values: pa.Array) -> np.ndarray:
    """A boolean Arrow array as a numpy mask (null -> False)."""
    return np.asarray(values.fill_null(False), dtype=bool) if len(values) else np.zeros(0, bool)


def _match_first(values: pa.Array, patterns: Sequence[str]) -> np.ndarray:
    """Index of the first RE2 pattern matching each value, -1 when none does."""
    which = np.full(len(values), -1, dtype=np.int64)
    for i in reversed(range(len(patterns))):
        which[_mask(pc.match_substring_regex(values, patterns[i]))] = i
    return which


def _kind_columns(kinds: Sequence[Kind], which: np.ndarray, other_action: pa.Array | str
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


def _is(which: np.ndarray, kinds: Sequence[Kind], *wanted: Kind) -> np.ndarray:
    """Rows whose kind is one of `wanted`."""
    return np.isin(which, [i for i, k in enumerate(kinds) if k in wanted])


def _related(*columns: pa.Array) -> pa.Array:
    """Per row, the distinct non-null values of `columns` as a list (null when there is none)."""
    n = len(columns[0])
    keep = []
    for j, column in enumerate(columns):
        kept = column.is_valid()
        for earlier in columns[:j]:
            kept = pc.and_(kept, pc.or_kleene(pc.is_null(earlier), pc.not_equal(column, earlier)))
        keep.append(_mask(kept))
    keep_rows = np.stack(keep, axis=1) if n else np.zeros((0, len(columns)), bool)
    # value j of row r sits at j * n + r in the concatenated columns
    position = np.arange(len(columns))[None, :] * n + np.arange(n)[:, None]
    flat = pa.concat_arrays([c.cast(pa.string()) for c in columns]).take(pa.array(position[keep_rows]))
    counts = keep_rows.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=pa.array(counts == 0))


def _failures(n: int, checks: Sequence[tuple[np.ndarray, str | pa.Array]]) -> pa.Array:
    """Per row, the reason of the first failed check (mask true = failed); null when all pass."""
    reasons = pa.nulls(n, pa.string())
    for failed, reason in reversed(checks):
        reasons = pc.if_else(pa.array(failed, pa.bool_()), reason, reasons)
    return reasons


def _blank(lines: pa.Array) -> np.ndarray:
    """Rows that hold nothing but whitespace."""
    return ~_mask(pc.match_substring_regex(lines, r"\S"))


def _take(fields: dict[str, pa.Array], rows: np.ndarray) -> dict[str, pa.Array]:
    """Every array of `fields` restricted to `rows`."""
    index = pa.array(rows, pa.int64())
    return {name: values.take(index) for name, values in fields.items()}


def _result(batch: LineBatch, fmt: LogFormat, failure: pa.Array, read: dict[str, pa.Array],
            columns_for: Callable[[dict[str, pa.Array]], dict[str, pa.Array]]) -> ParseResult:
    """Split rows into skipped (blank), dead letters (`failure` set) and events.

    `read` holds per-line arrays (at least "@timestamp"); `columns_for(read of the good rows)`
    returns the event columns of those rows.
    """
    blank = _blank(batch.lines)
    failed = _mask(failure.is_valid())
    bad = np.flatnonzero(~blank & failed)
    good = np.flatnonzero(~blank & ~failed)
    good_read = _take(read, good)
    events = build_events(batch, good, fmt, good_read["@timestamp"], columns_for(good_read))
    dead = build_dead_letters(batch, bad, failure.take(pa.array(bad, pa.int64())), fmt)
    skipped = {"blank line": int(blank.sum())} if blank.any() else {}
    return ParseResult(events, dead, skipped)


def _sample_share(sample: list[str], readable: Callable[[pa.Array], pa.Array]) -> float:
    """Share of `sample` lines for which `readable(lines) -> mask` is true."""
    if not sample:
        return 0.0
    return float(_mask(readable(pa.array(sample, pa.string()))).mean())


# ---------------------------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------------------------

def _normalise_spaces(values: pa.Array) -> pa.Array:
    """Runs of whitespace -> one space ('Nov  7' -> 'Nov 7')."""
    return pc.replace_substring_regex(values, r"\s+", " ")


def _iso_time(stamp: pa.Array, offset: pa.Array, ctx: ParseContext) -> tuple[pa.Array, pa.Array]:
    """ISO 'YYYY-MM-DDTHH:MM:SS' (+ optional offset) -> (UTC timestamps, read-as-local mask)."""
    zoned = parse_zoned(pc.binary_join_element_wise(stamp, offset, ""), "%Y-%m-%dT%H:%M:%S%z")
    local = parse_local(stamp, "%Y-%m-%dT%H:%M:%S", ctx.timezone)
    has_offset = pc.is_valid(offset)
    return pc.if_else(has_offset, zoned, local), pc.and_not(pc.is_valid(stamp), has_offset)


def _local_zone(local: pa.Array, ctx: ParseContext) -> pa.Array:
    """event.timezone: ctx.timezone where the timestamp was read as local time."""
    return pc.if_else(local.fill_null(False), ctx.timezone, _STR_NULL)


# ---------------------------------------------------------------------------------------------
# OpenVPN
# ---------------------------------------------------------------------------------------------

# A syslog header (BSD or RFC 3339 time, hostname optional, program[pid]:) or OpenVPN's own
# timestamp ('2026-11-27 19:02:11' or 'Fri Nov 27 19:02:11 2026', optionally ' us=...').
_OPENVPN_HEADER = (
    rf"^{_PRI}(?:"
    rf"(?:(?P<bsd>{_BSD}){_FRACTION}|(?P<iso>{_ISO}){_FRACTION}(?P<offset>{_OFFSET})?) "
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
    (LOGIN_FAILURE, r"TLS Auth Error|VERIFY ERROR|TLS Error: TLS handshake failed|cannot locate HMAC"
                    r"|incoming packet authentication failed|tls-crypt unwrapping failed"),
    (LOGIN_SUCCESS, r"authentication succeeded for username"),
    (SESSION_START, r"\] Peer Connection Initiated with"),
    (ADDRESS_ASSIGNED, r"MULTI_sva: pool returned|MULTI: primary virtual IP"
                       r"|MULTI: Learn: (?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*::[0-9A-Fa-f:]*) -> "),
    (PEER_INFO, r"peer info: IV_"),
    (SESSION_END, r"client-instance (?:exiting|restarting)|Connection reset, restarting"
                  r"|Inactivity timeout"),
    (CONNECTION, r"TCP connection established with|TLS: Initial packet from"),
)
_OPENVPN_KIND_LIST = [k for k, _ in _OPENVPN_KINDS]
_OPENVPN_USER = (r"for username '(?P<v>[^']+)'", r"^\[(?P<v>[^\]]+)\] Peer Connection",
                 r" -> (?P<v>[^\s/]+)/")
_OPENVPN_ASSIGNED = (r"pool returned IPv4=(?P<v>[^,\s]+)", r"pool returned [^,]*, IPv6=(?P<v>[^,\s]+)",
                     r"MULTI: primary virtual IP for \S+: (?P<v>\S+)", r"MULTI: Learn: (?P<v>\S+) -> ")
# Messages only OpenVPN writes (to recognise files that carry OpenVPN's own timestamps)
_OPENVPN_MARKERS = (r"^(?:[^\s/]+/)?\d{1,3}(?:\.\d{1,3}){3}:\d+ |MULTI|TLS|OpenVPN|Peer Connection"
                    r"|TCP connection established|Initialization Sequence|TUN/TAP|UDPv[46]|TCPv[46]"
                    r"|SIG(?:TERM|USR1|USR2|HUP)|peer info|PLUGIN_|ifconfig_pool|Data Channel"
                    r"|Control Channel|VERIFY (?:OK|ERROR)|MANAGEMENT:|Socket Buffers")


def _openvpn_read(lines: pa.Array, ctx: ParseContext) -> tuple[dict[str, pa.Array], pa.Array]:
    """Header of each line -> (fields incl. @timestamp and local-time mask, failure reasons)."""
    h = _groups(lines, _OPENVPN_HEADER)
    syslog_iso, iso_local = _iso_time(h["iso"], h["offset"], ctx)
    own_iso = parse_local(h["own_iso"], "%Y-%m-%d %H:%M:%S", ctx.timezone)
    own_ctime = parse_local(_normalise_spaces(h["own_ctime"]), "%b %d %H:%M:%S %Y", ctx.timezone)
    timestamp = pc.coalesce(parse_syslog(h["bsd"], ctx), syslog_iso, own_iso, own_ctime)
    local = pc.or_(pc.is_valid(pc.coalesce(h["bsd"], h["own_iso"], h["own_ctime"])), iso_local)
    stamp = pc.coalesce(h["bsd"], h["iso"], h["own_iso"], h["own_ctime"])
    failure = _failures(len(lines), [
        (~_mask(pc.is_valid(stamp)), "openvpn: no syslog header or OpenVPN timestamp"),
        (~_mask(pc.is_valid(timestamp)), "openvpn: invalid timestamp"),
    ])
    fields = {"@timestamp": timestamp, "local": local, "host": h["host"], "app": h["app"],
              "pid": h["pid"], "msg": _strip(lines, _OPENVPN_HEADER)}
    return fields, failure


def _openvpn_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from the headers and messages of OpenVPN lines."""
    msg = read["msg"]
    peer = _groups(msg, _OPENVPN_PEER)
    body = _strip(msg, _OPENVPN_PEER)
    socket = _groups(body, _OPENVPN_SOCKET)
    which = _match_first(body, [p for _, p in _OPENVPN_KINDS])
    kinds = _OPENVPN_KIND_LIST
    user = pc.coalesce(peer["user"], _capture(body, _OPENVPN_USER))
    user = pc.if_else(pc.equal(user, "UNDEF"), _STR_NULL, user)
    source_ip = pc.coalesce(_ip(peer["ip"]), _ip(socket["ip"]))
    assigned = _only(_is(which, kinds, ADDRESS_ASSIGNED), body, lambda b: _first_ip(b, _OPENVPN_ASSIGNED))
    info = _groups(body, r"^peer info: (?P<key>IV_\w+)=(?P<value>.*)$")
    version = pc.if_else(pc.is_in(info["key"], value_set=pa.array(["IV_VER", "IV_GUI_VER"])),
                         info["value"], _STR_NULL)
    platform = pc.if_else(pc.equal(info["key"], "IV_PLAT"), info["value"], _STR_NULL)
    explained = pa.array(_is(which, kinds, LOGIN_FAILURE, SESSION_END))
    columns = _kind_columns(kinds, which, "openvpn-message")
    columns.update({
        "message": msg,
        "event.reason": pc.if_else(explained, body, _STR_NULL),
        "event.timezone": _local_zone(read["local"], ctx),
        "log.syslog.hostname": read["host"],
        "log.syslog.appname": read["app"],
        "log.syslog.procid": read["pid"],
        "observer.hostname": read["host"],
        "source.ip": source_ip,
        "source.port": pc.coalesce(_int(peer["port"]), _int(socket["port"])),
        "user.name": user,
        "vigie.vpn.assigned_ip": assigned,
        "vigie.vpn.tunnel_type": "openvpn",
        "vigie.vpn.client_version": version,
        "vigie.vpn.client_platform": platform,
        "related.ip": _related(source_ip, assigned),
        "related.user": _related(user),
    })
    return columns


def parse_openvpn(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """OpenVPN server log lines (syslog header or OpenVPN's own timestamps) -> events."""
    read, failure = _openvpn_read(batch.lines, ctx)
    return _result(batch, OPENVPN, failure, read, lambda good: _openvpn_columns(good, ctx))


def _openvpn_readable(lines: pa.Array) -> pa.Array:
    """Lines an OpenVPN server wrote: a syslog header naming a VPN program, or OpenVPN's own
    timestamp before a message OpenVPN is known to write."""
    h = _groups(lines, _OPENVPN_HEADER)
    vpn_program = pc.match_substring_regex(h["app"], r"(?i)vpn").fill_null(False)
    own_stamp = pc.is_valid(pc.coalesce(h["own_iso"], h["own_ctime"]))
    openvpn_text = pc.match_substring_regex(_strip(lines, _OPENVPN_HEADER), _OPENVPN_MARKERS)
    return pc.or_(vpn_program, pc.and_(own_stamp, openvpn_text))


def detect_openvpn(sample: list[str]) -> float:
    """Share of sample lines that read as OpenVPN server log lines."""
    return _sample_share(sample, _openvpn_readable)


# ---------------------------------------------------------------------------------------------
# Cisco ASA / AnyConnect
# ---------------------------------------------------------------------------------------------

_ASA_TAG = r"%(?:ASA|FTD)-(?:[a-z]+-)?(?P<severity>[0-7])-(?P<code>\d{6}):"
_ASA_FROM_TAG = r"[\s:]*%(?:ASA|FTD)-(?:[a-z]+-)?[0-7]-\d{6}:.*$"
_ASA_UP_TO_TAG = r"^.*?%(?:ASA|FTD)-(?:[a-z]+-)?[0-7]-\d{6}: ?"
# Header times, best first: the device's own 'logging timestamp' (with a year, possibly after a
# relay's syslog header), an RFC 3339 time, a BSD syslog time.
_ASA_OWN_TIME = (rf"(?:^|[\s>])(?P<stamp>[A-Z][a-z]{{2}} +\d{{1,2}} \d{{4}} \d\d:\d\d:\d\d){_FRACTION}"
                 r"(?: (?P<host>\S+))?$")
_ASA_ISO_TIME = (rf"(?:^|[\s>])(?P<stamp>{_ISO}){_FRACTION}(?P<offset>{_OFFSET})?"
                 r"(?: (?P<host>[^\s-]\S*))?(?: -)*$")
_ASA_BSD_TIME = rf"^{_PRI}(?P<stamp>{_BSD}){_FRACTION}(?: (?P<host>\S+))?"
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
    tag = _groups(lines, _ASA_TAG)
    head = _strip(lines, _ASA_FROM_TAG)
    own, iso, bsd = (_groups(head, p) for p in (_ASA_OWN_TIME, _ASA_ISO_TIME, _ASA_BSD_TIME))
    own_time = parse_local(_normalise_spaces(own["stamp"]), "%b %d %Y %H:%M:%S", ctx.timezone)
    iso_time, iso_local = _iso_time(iso["stamp"], iso["offset"], ctx)
    timestamp = pc.coalesce(own_time, iso_time, parse_syslog(bsd["stamp"], ctx))
    stamp = pc.coalesce(own["stamp"], iso["stamp"], bsd["stamp"])
    failure = _failures(len(lines), [
        (~_mask(pc.is_valid(tag["code"])), "cisco_asa: no %ASA-<severity>-<message id> message"),
        (~_mask(pc.is_valid(stamp)), "cisco_asa: no timestamp before the %ASA message"),
        (~_mask(pc.is_valid(timestamp)), "cisco_asa: invalid timestamp"),
    ])
    host = pc.if_else(pc.is_valid(own["stamp"]), own["host"],
                      pc.if_else(pc.is_valid(iso["stamp"]), iso["host"], bsd["host"]))
    local = pc.or_(pc.is_valid(pc.coalesce(own["stamp"], bsd["stamp"])), iso_local)
    fields = {"@timestamp": timestamp, "local": local, "host": host, "severity": tag["severity"],
              "code": tag["code"], "msg": _strip(lines, _ASA_UP_TO_TAG)}
    return fields, failure


def _asa_session(msg: pa.Array) -> dict[str, pa.Array]:
    """113019 'Session disconnected' figures: duration (ns) and bytes each way."""
    d = _groups(msg, r"Duration: (?:(?P<d>\d+)d ?)?(?P<h>\d+)h:(?P<m>\d+)m:(?P<s>\d+)s")
    seconds = pc.add(pc.add(pc.multiply(pc.coalesce(_int(d["d"]), 0), 86400),
                            pc.multiply(_int(d["h"]), 3600)),
                     pc.add(pc.multiply(_int(d["m"]), 60), _int(d["s"])))
    traffic = _groups(msg, r"Bytes xmt: (?P<xmt>\d+), Bytes rcv: (?P<rcv>\d+)")
    # the ASA transmits "xmt" to the client (destination side) and receives "rcv" from it
    return {"event.duration": _seconds_to_ns(seconds), "source.bytes": _int(traffic["rcv"]),
            "destination.bytes": _int(traffic["xmt"])}


def _asa_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from the headers and messages of ASA lines."""
    msg, code = read["msg"], read["code"]
    which = np.asarray(pc.index_in(code, value_set=_ASA_CODES).fill_null(-1), dtype=np.int64)
    kinds = _ASA_KIND_LIST
    user = _capture(msg, _ASA_USER)
    source_ip = _ip(_capture(msg, _ASA_SOURCE))
    assigned = _only(_is(which, kinds, ADDRESS_ASSIGNED), msg, lambda m: _first_ip(m, _ASA_ASSIGNED))
    disconnected = _mask(pc.equal(code, "113019"))
    session = _only_each(disconnected, msg, _asa_session)
    session_type = pc.utf8_lower(_capture(msg, [r"Session Type: (?P<v>[^,.]+)"]))
    family_type = pc.if_else(pc.starts_with(code, "716"), "webvpn",
                             pc.if_else(pc.or_(pc.starts_with(code, "722"), pc.equal(code, "113039")),
                                        "anyconnect", _STR_NULL))
    peer_info = _is(which, kinds, PEER_INFO)
    columns = _kind_columns(kinds, which, "asa-message")
    columns.update(session)
    columns.update({
        "message": msg,
        "event.code": code,
        "event.reason": _only(_is(which, kinds, *_ASA_EXPLAINED), msg, lambda m: _capture(m, _ASA_REASON)),
        "event.timezone": _local_zone(read["local"], ctx),
        "log.level": _ASA_LEVELS.take(_int(read["severity"])),
        "log.syslog.hostname": read["host"],
        "observer.hostname": read["host"],
        "source.ip": source_ip,
        "source.port": _int(_capture(msg, _ASA_PORT)),
        "network.bytes": pc.add(session["source.bytes"], session["destination.bytes"]),
        "user.name": user,
        "group.name": _capture(msg, _ASA_GROUP),
        "vigie.vpn.assigned_ip": assigned,
        "vigie.vpn.tunnel_type": pc.coalesce(session_type, family_type),
        "vigie.vpn.client_version": _only(peer_info, msg, lambda m: _capture(
            m, [r"Client Type: (?P<v>.+?)\s*$"])),
        "vigie.vpn.client_platform": _only(peer_info, msg, lambda m: _capture(
            m, [r"Client Type: .*? for (?P<v>.+?) \d[\d.]*\s*$"])),
        "related.ip": _related(source_ip, assigned),
        "related.user": _related(user),
    })
    return columns


def parse_cisco_asa(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Cisco ASA / FTD syslog lines (%ASA-<sev>-<id>) -> events, one per line."""
    read, failure = _asa_read(batch.lines, ctx)
    return _result(batch, CISCO_ASA, failure, read, lambda good: _asa_columns(good, ctx))


def detect_cisco_asa(sample: list[str]) -> float:
    """Share of sample lines that read as timestamped %ASA / %FTD messages."""
    return _sample_share(sample, lambda lines: _asa_read(lines, ParseContext())[1].is_null())


# ---------------------------------------------------------------------------------------------
# FortiGate
# ---------------------------------------------------------------------------------------------

_FORTIGATE_HOST = rf"^{_PRI}(?:1 )?(?:{_BSD}|{_ISO}){_FRACTION}{_OFFSET}? (?P<host>[^\s=]+) "
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
    raw = _groups(lines, f" {key}={_FORTIGATE_VALUE}")["v"]
    return _present(pc.utf8_trim(raw, '"'), _FORTIGATE_PLACEHOLDERS)


def _epoch_time(eventtime: pa.Array) -> pa.Array:
    """FortiGate eventtime (seconds, ms, us or ns since the epoch, by digit count) -> UTC."""
    value = np.asarray(_int(eventtime).fill_null(0), dtype=np.int64)
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
    stamp = _groups(lines, r"(?:^|[\s>])date=(?P<date>\d{4}-\d\d-\d\d) time=(?P<time>\d\d:\d\d:\d\d)")
    joined = pc.binary_join_element_wise(stamp["date"], stamp["time"], " ")
    tz = _fortigate_value(lines, "tz")
    offset = pc.if_else(pc.match_substring_regex(tz, r"^[+-]\d{4}$"), tz, _STR_NULL)
    zoned = parse_zoned(pc.binary_join_element_wise(joined, offset, ""), "%Y-%m-%d %H:%M:%S%z")
    local = parse_local(joined, "%Y-%m-%d %H:%M:%S", ctx.timezone)
    return {"@timestamp": pc.coalesce(zoned, local), "local": pc.is_null(offset)}


def _fortigate_read(lines: pa.Array, ctx: ParseContext) -> tuple[dict[str, pa.Array], pa.Array]:
    """Key=value record of each line -> (fields incl. @timestamp, failure reasons)."""
    kv = {key: _fortigate_value(lines, key) for key in _FORTIGATE_KEYS}
    epoch = _epoch_time(kv["eventtime"])
    no_epoch = ~_mask(epoch.is_valid())
    wall = _only_each(no_epoch, lines, lambda wall_lines: _wall_clock(wall_lines, ctx))
    timestamp = pc.coalesce(epoch, wall["@timestamp"])
    failure = _failures(len(lines), [
        (~_mask(pc.is_valid(kv["logid"])), "fortigate: no logid= key=value record"),
        (~_mask(pc.is_valid(timestamp)), "fortigate: no valid eventtime= or date= time="),
    ])
    host = _groups(lines, _FORTIGATE_HOST)["host"]
    counters = _mask(pc.is_in(kv["action"], value_set=_FORTIGATE_COUNTERS))
    later = {key: _only(rows, lines, lambda l, key=key: _fortigate_value(l, key)) for key, rows in (
        ("srcip", ~_mask(kv["remip"].is_valid())), ("tunnelip", _mask(pc.equal(kv["action"], "tunnel-up"))),
        ("duration", counters), ("sentbyte", counters), ("rcvdbyte", counters))}
    read = {"@timestamp": timestamp, "local": wall["local"].fill_null(False), "host": host, **kv, **later}
    return read, failure


def _fortigate_which(read: dict[str, pa.Array]) -> np.ndarray:
    """Kind index (into _FORTIGATE_KIND_LIST) of each FortiGate record, -1 when unclassified."""
    which = np.asarray(pc.index_in(read["action"], value_set=pa.array(list(_FORTIGATE_ACTIONS)))
                       .fill_null(-1), dtype=np.int64)
    admin_login = _mask(pc.and_(pc.equal(read["subtype"], "system"), pc.equal(read["action"], "login")))
    outcome = _status_outcome(read["status"])
    which[admin_login & _mask(pc.equal(outcome, "success"))] = len(_FORTIGATE_ACTIONS)
    which[admin_login & _mask(pc.equal(outcome, "failure"))] = len(_FORTIGATE_ACTIONS) + 1
    return which


def _status_outcome(status: pa.Array) -> pa.Array:
    """A device's status word -> success / failure (null when it says neither)."""
    status = pc.utf8_lower(status)
    return pc.if_else(pc.match_substring_regex(status, r"^(?:success|succeeded|ok)$"), "success",
                      pc.if_else(pc.match_substring_regex(status, r"fail|error|denied|reject"),
                                 "failure", _STR_NULL))


def _fortigate_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from FortiGate key=value records."""
    which = _fortigate_which(read)
    source_ip = pc.coalesce(_ip(read["remip"]), _ip(read["srcip"]))
    assigned = _ip(read["tunnelip"])
    user, sent, received = read["user"], _int(read["sentbyte"]), _int(read["rcvdbyte"])
    columns = _kind_columns(_FORTIGATE_KIND_LIST, which, pc.coalesce(read["action"], "fortigate-message"))
    columns.update({
        "message": read["msg"],
        "event.code": read["logid"],
        "event.outcome": pc.coalesce(columns["event.outcome"], _status_outcome(read["status"])),
        "event.reason": read["reason"],
        "event.duration": _seconds_to_ns(_int(read["duration"])),
        "event.timezone": _local_zone(read["local"], ctx),
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
        "vigie.vpn.session_id": pc.if_else(pc.equal(read["tunnelid"], "0"), _STR_NULL, read["tunnelid"]),
        "vigie.vpn.tunnel_type": read["tunneltype"],
        "related.ip": _related(source_ip, assigned),
        "related.user": _related(user),
    })
    return columns


def parse_fortigate(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """FortiGate key=value log lines (any type/subtype, syslog header optional) -> events."""
    read, failure = _fortigate_read(batch.lines, ctx)
    return _result(batch, FORTIGATE, failure, read, lambda good: _fortigate_columns(good, ctx))


def _fortigate_readable(lines: pa.Array) -> pa.Array:
    """Lines carrying a FortiGate record: a 10-digit logid and a type."""
    return pc.and_(pc.match_substring_regex(lines, r"(?:^|[\s>])logid=\"?\d{10}\b"),
                   pc.match_substring_regex(lines, r"\stype=\"?\w"))


def detect_fortigate(sample: list[str]) -> float:
    """Share of sample lines that read as FortiGate key=value records."""
    return _sample_share(sample, _fortigate_readable)


# ---------------------------------------------------------------------------------------------
# Palo Alto GlobalProtect (PAN-OS syslog CSV)
# ---------------------------------------------------------------------------------------------

# A PAN-OS record is split whole: the syslog header, if any, only prefixes field 0 (FUTURE_USE).
_PANOS_HOST = rf"(?:{_BSD}|{_ISO}{_FRACTION}{_OFFSET}?) (?P<host>\S+) \d+$"
_PANOS_TIME = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d$"
_GP_TYPES = pa.array(["GLOBALPROTECT", "SYSTEM"])
# field -> (position in a GLOBALPROTECT record, position in a SYSTEM record); PAN-OS 9.1+ order
_GP_FIELDS: dict[str, tuple[int | None, int | None]] = {
    "head": (0, 0), "received": (1, 1), "type": (3, 3), "generated": (6, 6), "event_id": (8, 8),
    "tunnel": (11, None), "user": (12, None), "machine": (14, None),
    "public_ip": (15, None), "public_ipv6": (16, None), "private_ip": (17, None), "private_ipv6": (18, None),
    "client_version": (21, None), "client_os": (22, None), "client_os_version": (23, None),
    "reason": (25, None), "error": (26, None), "description": (27, 14), "status": (28, None),
    "login_duration": (30, None), "high_res_time": (36, None), "device": (47, 22), "severity": (None, 13),
}
_GP_MIN_FIELDS = {"GLOBALPROTECT": 29, "SYSTEM": 15}  # up to status / description
_GP_SAID = {  # what a SYSTEM record's description says, "Label: value, ..."
    "login_from": "Login from", "user": "User name", "os": "Client OS version",
    "private_ip": "Private IP", "client_version": "Client version", "reason": "Reason",
}
# Event ids by meaning; the first entry is any login, made a failure by its status (_gp_which).
_GP_KINDS: tuple[tuple[Kind, str], ...] = (
    (LOGIN_SUCCESS, r"^globalprotect(?:portal|gateway)-auth-(?:succ|fail)$|^(?:portal|gateway|gw)-auth$"),
    (SESSION_START, r"^globalprotectgateway-regist-(?:succ|fail)$|^(?:gateway|gw)-(?:register|connected)$"),
    (SESSION_END, r"^globalprotectgateway-logout-succ$|^(?:portal|gateway|gw)-logout$"),
)
_GP_KIND_LIST = [LOGIN_SUCCESS, SESSION_START, SESSION_END, LOGIN_FAILURE]


_HIDDEN_COMMA = "\x1f"


def _csv_split(records: pa.Array) -> pa.ListArray:
    """CSV records -> the raw fields of each, vectorised.

    A comma with an odd number of double quotes before it is inside a quoted field (a doubled
    "" escape keeps the parity) and is hidden before splitting; `_csv_value` restores it.
    """
    segments = pc.split_pattern(records, '"')
    flat = pc.list_flatten(segments)
    starts = np.asarray(segments.offsets)
    parent = np.asarray(pc.list_parent_indices(segments))
    quoted = (np.arange(len(flat)) - starts[parent]) % 2 == 1
    hidden = pc.if_else(pa.array(quoted, pa.bool_()), pc.replace_substring(flat, ",", _HIDDEN_COMMA), flat)
    rejoined = pc.binary_join(pa.ListArray.from_arrays(segments.offsets, hidden, mask=segments.is_null()),
                              '"')
    return pc.split_pattern(rejoined, ",")


def _csv_value(raw: pa.Array) -> pa.Array:
    """A raw CSV field -> its value: outer quotes removed, "" unescaped, hidden commas restored."""
    quoted = _mask(pc.starts_with(raw, '"'))  # only quoted fields can hold hidden commas
    unquoted = _only(quoted, raw, lambda q: pc.replace_substring(pc.replace_substring(
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
        present = (position >= 0) & (position < count)
        raw = values.take(pa.array(np.where(present, offsets[:-1] + position, 0), pa.int64(), mask=~present))
        return _present(_csv_value(raw))

    log_type = field(np.full(len(count), _GP_FIELDS["type"][0], dtype=np.int64))
    type_index = np.asarray(pc.index_in(log_type, value_set=_GP_TYPES).fill_null(-1), dtype=np.int64)
    named = {}
    for name, (in_globalprotect, in_system) in _GP_FIELDS.items():
        shared = in_globalprotect if in_globalprotect == in_system else -1
        position = np.choose(type_index + 1, [shared, -1 if in_globalprotect is None else in_globalprotect,
                                              -1 if in_system is None else in_system])
        named[name] = field(np.asarray(position, dtype=np.int64))
    return named, count


def _gp_read(lines: pa.Array, ctx: ParseContext) -> tuple[dict[str, pa.Array], pa.Array]:
    """PAN-OS CSV record of each line -> (named fields incl. @timestamp, failure reasons)."""
    fields, count = _gp_fields(lines)
    log_type = fields["type"]
    is_record = _mask(pc.and_(pc.match_substring_regex(fields["received"], _PANOS_TIME),
                              pc.match_substring_regex(log_type, r"^[A-Z]+$")))
    wanted = _mask(pc.is_in(log_type, value_set=_GP_TYPES))
    minimum = np.where(_mask(pc.equal(log_type, "GLOBALPROTECT")), _GP_MIN_FIELDS["GLOBALPROTECT"],
                       _GP_MIN_FIELDS["SYSTEM"])
    high_res = _groups(fields["high_res_time"], rf"^(?P<stamp>{_ISO}){_FRACTION}(?P<offset>{_OFFSET})$")
    precise = parse_zoned(pc.binary_join_element_wise(high_res["stamp"], high_res["offset"], ""),
                          "%Y-%m-%dT%H:%M:%S%z")
    generated = parse_local(fields["generated"], "%Y/%m/%d %H:%M:%S", ctx.timezone)
    timestamp = pc.coalesce(precise, generated)
    other_type = pc.binary_join_element_wise("globalprotect: PAN-OS ", log_type,
                                             " log, not a GLOBALPROTECT or SYSTEM record", "")
    truncated = pc.binary_join_element_wise("globalprotect: truncated ", log_type, " record", "")
    failure = _failures(len(lines), [
        (~is_record, "globalprotect: no PAN-OS CSV record (receive time, serial, type)"),
        (~wanted, other_type),
        (count < minimum, truncated),
        (~_mask(pc.is_valid(timestamp)), "globalprotect: invalid generated time"),
    ])
    host = _groups(fields["head"], _PANOS_HOST)["host"]
    read = {"@timestamp": timestamp, "local": pc.is_null(precise), "host": host, **fields}
    return read, failure


def _said(description: pa.Array, label: str) -> pa.Array:
    """The value after 'label: ' in a SYSTEM description, up to the next comma (final '.' dropped)."""
    return _present(pc.utf8_trim(_groups(description, f"{label}: (?P<v>[^,]*)")["v"], " ."))


def _domain_user(names: pa.Array) -> dict[str, pa.Array]:
    """'DOMAIN\\user' -> user.name and user.domain (a name without a domain stays whole)."""
    parts = _groups(names, r"^(?:(?P<domain>[^\\]+)\\+)?(?P<name>.+)$")
    return {"user.name": parts["name"], "user.domain": parts["domain"]}


def _gp_which(event_id: pa.Array, outcome: pa.Array) -> np.ndarray:
    """Kind index (into _GP_KIND_LIST) of each record; a login without an outcome is unclassified."""
    which = _match_first(event_id, [p for _, p in _GP_KINDS])
    login = which == _GP_KIND_LIST.index(LOGIN_SUCCESS)
    which[login & _mask(pc.equal(outcome, "failure"))] = _GP_KIND_LIST.index(LOGIN_FAILURE)
    which[login & ~_mask(outcome.is_valid())] = -1
    return which


def _gp_columns(read: dict[str, pa.Array], ctx: ParseContext) -> dict[str, pa.Array]:
    """Event columns from GlobalProtect (and other PAN-OS SYSTEM) records."""
    description = read["description"]
    system = _mask(pc.equal(read["type"], "SYSTEM"))
    said = {key: _only(system, description, lambda d, label=label: _said(d, label))
            for key, label in _GP_SAID.items()}
    event_id = pc.utf8_lower(pc.coalesce(read["event_id"], ""))
    outcome = pc.coalesce(_status_outcome(read["status"]),
                          pc.if_else(pc.match_substring_regex(event_id, r"-succ$"), "success",
                                     pc.if_else(pc.match_substring_regex(event_id, r"-fail$"),
                                                "failure", _STR_NULL)))
    which = _gp_which(event_id, outcome)
    user = _domain_user(pc.coalesce(read["user"], said["user"]))
    source_ip = pc.coalesce(_ip(read["public_ip"]), _ip(read["public_ipv6"]), _ip(said["login_from"]))
    assigned = pc.coalesce(_ip(read["private_ip"]), _ip(read["private_ipv6"]), _ip(said["private_ip"]))
    ended = pa.array(_is(which, _GP_KIND_LIST, SESSION_END))
    columns = _kind_columns(_GP_KIND_LIST, which, read["event_id"])
    columns.update(user)
    columns.update({
        "message": description,
        "event.code": read["event_id"],
        "event.outcome": pc.coalesce(outcome, columns["event.outcome"]),
        "event.reason": pc.coalesce(read["error"], read["reason"], said["reason"]),
        "event.duration": pc.if_else(ended, _seconds_to_ns(_int(read["login_duration"])),
                                     pa.scalar(None, pa.int64())),
        "event.timezone": _local_zone(read["local"], ctx),
        "log.level": read["severity"],
        "log.syslog.hostname": read["host"],
        "observer.hostname": pc.coalesce(read["device"], read["host"]),
        "source.ip": source_ip,
        "source.domain": read["machine"],
        "vigie.vpn.assigned_ip": assigned,
        "vigie.vpn.tunnel_type": pc.utf8_lower(read["tunnel"]),
        "vigie.vpn.client_version": pc.coalesce(read["client_version"], said["client_version"]),
        "vigie.vpn.client_platform": pc.coalesce(read["client_os"], read["client_os_version"], said["os"]),
        "related.ip": _related(source_ip, assigned),
        "related.user": _related(user["user.name"]),
    })
    return columns


def parse_globalprotect(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """PAN-OS GLOBALPROTECT and SYSTEM CSV records (syslog header optional) -> events."""
    read, failure = _gp_read(batch.lines, ctx)
    return _result(batch, GLOBALPROTECT, failure, read, lambda good: _gp_columns(good, ctx))


def _gp_readable(lines: pa.Array) -> pa.Array:
    """Lines carrying a GLOBALPROTECT record or a SYSTEM record of subtype globalprotect."""
    return pc.match_substring_regex(
        lines, r"(?:^|[\s>])\d+,\d{4}/\d\d/\d\d \d\d:\d\d:\d\d,[^,]*,(?:GLOBALPROTECT|SYSTEM,globalprotect),")


def detect_globalprotect(sample: list[str]) -> float:
    """Share of sample lines that read as GlobalProtect PAN-OS records."""
    return _sample_share(sample, _gp_readable)


# ---------------------------------------------------------------------------------------------
# The formats
# ---------------------------------------------------------------------------------------------

OPENVPN = LogFormat("openvpn", "vpn", parse_openvpn, detect_openvpn,
                    {"product": "OpenVPN", "vendor": "OpenVPN", "type": "vpn"})
CISCO_ASA = LogFormat("cisco_asa", "vpn", parse_cisco_asa, detect_cisco_asa,
                      {"product": "ASA", "vendor": "Cisco", "type": "vpn"})
FORTIGATE = LogFormat("fortigate", "vpn", parse_fortigate, detect_fortigate,
                      {"product": "FortiGate", "vendor": "Fortinet", "type": "vpn"})
GLOBALPROTECT = LogFormat("globalprotect", "vpn", parse_globalprotect, detect_globalprotect,
                          {"product": "GlobalProtect", "vendor": "Palo Alto Networks", "type": "vpn"})

FORMATS: list[LogFormat] = [CISCO_ASA, FORTIGATE, GLOBALPROTECT, OPENVPN]
