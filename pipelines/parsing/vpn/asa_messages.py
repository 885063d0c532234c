"""Cisco ASA / FTD firewall messages: connections, denies, NAT, threat detection, Firepower events.

In: the message id (event.code) and the message text after the %ASA-/%FTD- tag of each line.
Out: per line the sides of the flow and what the firewall did, as named Arrow columns (null where
a message does not say): s_* / d_* (interface, address, port, mapped address and port, user) for
the source and destination, proto, dur (H:MM:SS), bytes, reason, acl, verdict, object, url, and
the Firepower key-value fields (ftd_*).

Patterns are written from Cisco's published message formats. Sides: in "Built inbound|outbound
... for A to B" the initiator is A for inbound and B for outbound connections, so outbound
messages swap the sides; "Teardown ... for A to B" does not say, and A is reported as the source
(as the Built message of an inbound connection would). An address may be a configured name
("DMZ:webserver/80"): it is kept in *.address and *.domain, and *.ip stays empty.

Each pattern runs only on the rows whose id it describes (one RE2 pass per pattern over those
rows; the named groups of a row's pattern are its fields).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.columns import NULL_STR, groups, mask, scatter

_A = r"[^\s/:()]+"  # an address or a configured name
_SIDE = (r"(?P<{p}_if>[^\s:]+):(?P<{p}_ip>" + _A + r")/(?P<{p}_port>\d+)"
         r"(?: ?\((?P<{p}_map_ip>" + _A + r")/(?P<{p}_map_port>\d+)\))?"
         r"(?: ?\((?P<{p}_user>[^)]*)\))?")
_CONN = r"(?P<proto>[A-Za-z]+) connection (?:\d+ )?for "
_SIDE_ALONE = "^" + _SIDE.format(p="x") + "$"


def _side(prefix: str) -> str:
    return _SIDE.format(p=prefix)


# (message ids, pattern). Groups a_* / b_* are the "for" and "to" sides of connection messages.
PATTERNS: tuple[tuple[tuple[str, ...], str], ...] = (
    # connections: the two sides are cut out first (few groups over the whole message, which RE2
    # extracts several times faster), then read by _SIDE_ALONE (see _connection_sides)
    (("302013", "302015", "302017", "302303"),
     r"^Built (?P<dir>inbound|outbound) " + _CONN + r"(?P<a_side>\S+(?: ?\([^)]*\))*) to (?P<b_side>\S+(?: ?\([^)]*\))*)"),
    (("302014", "302016", "302018", "302304"),
     r"^Teardown " + _CONN + r"(?P<a_side>\S+(?:\([^)]*\))?) to (?P<b_side>\S+(?:\([^)]*\))?)"
     + r"(?: duration (?P<dur>\d+:\d\d:\d\d))?(?: bytes (?P<bytes>\d+))?(?: (?P<reason>[^(]*[^(\s]))?"),
    (("302020", "302021"),
     r"^(?:Built (?P<dir>inbound|outbound)|Teardown) (?P<proto>ICMP|ICMPv6) connection for faddr "
     r"(?P<a_ip>" + _A + r")/(?P<a_port>\d+)(?:\([^)]*\))? gaddr (?P<b_map_ip>" + _A + r")/\d+ laddr "
     r"(?P<b_ip>" + _A + r")/(?P<b_port>\d+)(?:\([^)]*\))?(?: type (?P<icmp_type>\d+) code (?P<icmp_code>\d+))?"),
    (("106001",),
     r"^Inbound (?P<proto>TCP|UDP) connection denied from (?P<s_ip>" + _A + r")/(?P<s_port>\d+) to "
     r"(?P<d_ip>" + _A + r")/(?P<d_port>\d+) flags (?P<reason>.*?) +on interface (?P<s_if>\S+)"),
    (("106006", "106007"),
     r"^Deny (?:inbound|outbound) (?P<proto>UDP|TCP) from (?P<s_ip>" + _A + r")/(?P<s_port>\d+) to "
     r"(?P<d_ip>" + _A + r")/(?P<d_port>\d+) (?:due to (?P<reason>[^o]*?) )?on interface (?P<s_if>\S+)"),
    (("106014",),
     r"^Deny (?:inbound|outbound) (?P<proto>icmp) src (?P<s_if>[^\s:]+):(?P<s_ip>" + _A + r")"
     r"(?:\([^)]*\))? dst (?P<d_if>[^\s:]+):(?P<d_ip>" + _A + r")(?:\([^)]*\))?"
     r"(?: \(type (?P<icmp_type>\d+), code (?P<icmp_code>\d+)\))?"),
    (("106015",),
     r"^Deny (?P<proto>TCP) \((?P<reason>no connection)\) from (?P<s_ip>" + _A + r")/(?P<s_port>\d+) to "
     r"(?P<d_ip>" + _A + r")/(?P<d_port>\d+) flags .*? on interface (?P<s_if>\S+)"),
    (("106023",),
     r"^Deny (?P<proto>\w+) src (?P<s_if>[^\s:]+):(?P<s_ip>" + _A + r")(?:/(?P<s_port>\d+))?"
     r"(?:\((?P<s_user>[^)]*)\))? dst (?P<d_if>[^\s:]+):(?P<d_ip>" + _A + r")(?:/(?P<d_port>\d+))?"
     r"(?:\((?P<d_user>[^)]*)\))? (?:\(type (?P<icmp_type>\d+), code (?P<icmp_code>\d+)\) )?"
     r"by access-group \"(?P<acl>[^\"]*)\""),
    (("106100",),
     r"^access-list (?P<acl>\S+) (?P<verdict>permitted|denied|est-allowed) (?P<proto>\w+) "
     r"(?P<s_if>[^/\s]+)/(?P<s_ip>" + _A + r")\((?P<s_port>\d+)\)(?:\((?P<s_user>[^)]*)\))? -> "
     r"(?P<d_if>[^/\s]+)/(?P<d_ip>" + _A + r")\((?P<d_port>\d+)\)(?:\((?P<d_user>[^)]*)\))?"),
    (("106010", "106011", "106012", "106016", "106017", "106020", "106021", "106022"),
     r"^Deny (?:inbound |outbound )?(?:protocol )?(?P<proto>\w+)? ?(?:(?:reverse path check|spoof|"
     r"teardrop|due to Land Attack|IP options:? [^f]*) )?from (?P<s_ip>" + _A + r")(?:/(?P<s_port>\d+))? "
     r"to (?P<d_ip>" + _A + r")(?:/(?P<d_port>\d+))?(?:.*? on interface (?P<s_if>\S+))?"),
    (("710003", "710005"),
     r"^(?P<proto>TCP|UDP) (?:access denied by ACL|request discarded) from (?P<s_ip>" + _A + r")/"
     r"(?P<s_port>\d+) to (?P<d_if>[^\s:]+):(?P<d_ip>" + _A + r")/(?P<d_port>\d+)"),
    (("313001", "313004", "313005", "313008"),
     r"^(?:Denied|Deny|No matching connection for) (?P<proto>ICMPv?6?) ?(?:type=(?P<icmp_type>\d+), "
     r"code=(?P<icmp_code>\d+) )?(?:.*?)?(?:from|src (?P<s_if>[^\s:]+):) ?(?P<s_ip>" + _A + r")"
     r"(?:.*? dst (?P<d_if>[^\s:]+):(?P<d_ip>" + _A + r"))?(?:.*? on interface (?P<on_if>\S+))?"),
    (("305011", "305012", "305009", "305010"),
     r"^(?:Built|Teardown) (?:dynamic|static) (?:(?P<proto>TCP|UDP|ICMP) )?translation from "
     r"(?P<s_if>[^\s:]+):(?P<s_ip>" + _A + r")(?:/(?P<s_port>\d+))?(?:\((?P<s_user>[^)]*)\))? to "
     r"(?P<d_if>[^\s:]+):(?P<s_map_ip>" + _A + r")(?:/(?P<s_map_port>\d+))?"
     r"(?: duration (?P<dur>\d+:\d\d:\d\d))?"),
    (("733100",),
     r"^\[ ?(?P<object>[^\]]*?) ?\] drop (?P<reason>rate-\d+ exceeded)"),
    (("304001",),
     r"^(?P<s_ip>" + _A + r")(?:\([^)]*\))? Accessed (?:JAVA )?URL (?P<d_ip>" + _A + r"):(?P<url>\S+)"),
    (("400000", "400001", "400002", "400007", "400010", "400011", "400013", "400014", "400023",
      "400024", "400025", "400026", "400027", "400028", "400032", "400035", "400041", "400044"),
     r"^IDS:(?P<sig>\d+) (?P<object>.*?) from (?P<s_ip>" + _A + r") to (?P<d_ip>" + _A + r")"
     r"(?: on interface (?P<s_if>\S+))?"),
)
# Firepower (FTD / NGIPS) 4300xx events: "Key: value, Key: value, ..."
FTD_CODES = ("430001", "430002", "430003", "430004", "430005")
FTD_KEYS = {"SrcIP": "s_ip", "DstIP": "d_ip", "SrcPort": "s_port", "DstPort": "d_port",
            "Protocol": "proto", "IngressInterface": "s_if", "EgressInterface": "d_if",
            "AccessControlRuleName": "acl", "AccessControlRuleAction": "ftd_action",
            "User": "s_user", "URL": "url", "URI": "url", "ApplicationProtocol": "app",
            "InitiatorBytes": "s_bytes", "ResponderBytes": "d_bytes", "ConnectionDuration": "dur_s",
            "FirstPacketSecond": "ftd_time", "Message": "object", "ThreatName": "threat",
            "FileName": "file", "InlineResult": "ftd_result", "Classification": "ftd_class"}


def read_messages(code: pa.Array, msg: pa.Array) -> dict[str, pa.Array]:
    """The named fields of every firewall message (see the module docstring); rows whose id no
    pattern describes, or whose text does not match it, get nulls."""
    n = len(msg)
    parts: dict[str, list[tuple[np.ndarray, pa.Array]]] = defaultdict(list)
    for codes, pattern in PATTERNS:
        _collect(parts, np.flatnonzero(mask(pc.is_in(code, value_set=pa.array(codes)))), msg, [pattern])
    ftd_rows = np.flatnonzero(mask(pc.is_in(code, value_set=pa.array(FTD_CODES))))
    if len(ftd_rows):
        patterns = [rf"(?:^|, )(?:<br/>)?{key}: (?:<br/>)?(?P<{name}>[^,]*?) *(?:,|$)"
                    for key, name in FTD_KEYS.items()]
        _collect(parts, ftd_rows, msg, patterns)
    fields = {name: scatter(n, p) for name, p in parts.items()}
    for side in ("a", "b"):
        if f"{side}_side" in fields:
            for name, values in groups(fields.pop(f"{side}_side"), _SIDE_ALONE).items():
                key = f"{side}_{name[2:]}"
                fields[key] = pc.coalesce(fields[key], values) if key in fields else values
    return _sides(fields, n)


def _collect(parts: dict[str, list], rows: np.ndarray, msg: pa.Array, patterns: Sequence[str]) -> None:
    """Add the non-empty groups of each pattern, matched on `rows` of `msg`, to `parts`."""
    if not len(rows):
        return
    texts = msg.take(pa.array(rows, pa.int64()))
    for pattern in patterns:
        for name, values in groups(texts, pattern).items():
            ok = mask(values.is_valid())
            if ok.any():
                parts[name].append((rows[ok], values.filter(pa.array(ok))))


_SIDE_FIELDS = ("if", "ip", "port", "map_ip", "map_port", "user")


def _sides(fields: dict[str, pa.Array], n: int) -> dict[str, pa.Array]:
    """a_* / b_* (connection messages) -> s_* / d_*, swapped for outbound connections."""
    get = lambda name: fields.get(name, pa.nulls(n, pa.string()))  # noqa: E731
    outbound = pc.equal(get("dir"), "outbound").fill_null(False)
    for field in _SIDE_FIELDS:
        a, b = get(f"a_{field}"), get(f"b_{field}")
        fields[f"s_{field}"] = pc.coalesce(get(f"s_{field}"), pc.if_else(outbound, b, a))
        fields[f"d_{field}"] = pc.coalesce(get(f"d_{field}"), pc.if_else(outbound, a, b))
    fields["s_if"] = pc.coalesce(fields["s_if"], get("on_if"))
    return fields


def hms_seconds(values: pa.Array) -> pa.Array:
    """'H:MM:SS' (hours may exceed 24) -> seconds (int64), null when not in that form."""
    parts = groups(values, r"^(?P<h>\d{1,9}):(?P<m>\d\d):(?P<s>\d\d)$")
    h, m, s = (parts[k].cast(pa.int64()) for k in ("h", "m", "s"))
    return pc.add(pc.add(pc.multiply(h, 3600), pc.multiply(m, 60)), s)


def outcome_of_action(action: pa.Array) -> pa.Array:
    """A Firepower rule action or inline result -> success (allowed) / failure (blocked)."""
    low = pc.utf8_lower(action)
    allowed = pc.match_substring_regex(low, r"allow|trust|monitor|pass|would ").fill_null(False)
    blocked = pc.match_substring_regex(low, r"block|drop|deny|reset|reject").fill_null(False)
    return pc.if_else(allowed, "success", pc.if_else(blocked, "failure", NULL_STR))
