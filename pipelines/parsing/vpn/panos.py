"""PAN-OS TRAFFIC and THREAT records met in a GlobalProtect file -> firewall events.

In: the CSV fields of those records (PAN-OS 8.1+ order: the positions below). Out: event columns
(sides, NAT, rule, users, application, zones' interfaces, ports, transport, action as outcome,
bytes and duration of traffic, the threat's name and URL or file). Records of any other type
than GLOBALPROTECT, SYSTEM, TRAFFIC and THREAT keep only what every PAN-OS record says (time,
serial, type, subtype). Used by globalprotect.py.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.columns import NULL_STR, domain_user, ip, mask, related, seconds_to_ns, to_int
from pipelines.parsing.vpn.common import FLOW_DENIED, FLOW_END, FLOW_START, INTRUSION, MALWARE, WEB_FILTER

FLOW_TYPES = ("TRAFFIC", "THREAT")
# field -> position in TRAFFIC and THREAT records (the same for both up to the action)
FLOW_FIELDS = {"subtype": 4, "src": 7, "dst": 8, "nat_src": 9, "nat_dst": 10, "rule": 11, "src_user": 12,
               "dst_user": 13, "app": 14, "in_if": 18, "out_if": 19, "sport": 24, "dport": 25,
               "nat_sport": 26, "nat_dport": 27, "proto": 29, "action": 30, "misc": 31, "threat": 32}
TRAFFIC_FIELDS = {"bytes_sent": 32, "bytes_received": 33, "elapsed": 36}  # TRAFFIC only (THREAT: 31 URL, 32 threat)
FLOW_MIN_FIELDS = 31  # up to the action
OTHER_MIN_FIELDS = 7  # up to the generated time

_FAILED = pa.array(["deny", "drop", "drop-icmp", "drop-all-packets", "reset-client", "reset-server",
                    "reset-both", "block-url", "block-continue", "block-override", "sinkhole", "block-ip"])
_PASSED = pa.array(["allow", "alert", "continue", "override", "override-lockout"])
_THREAT_KINDS = {"vulnerability": INTRUSION, "spyware": INTRUSION, "flood": INTRUSION, "scan": INTRUSION,
                 "virus": MALWARE, "wildfire-virus": MALWARE, "wildfire": MALWARE, "url": WEB_FILTER}
_TRAFFIC_KINDS = {"start": FLOW_START, "end": FLOW_END, "drop": FLOW_DENIED, "deny": FLOW_DENIED}
KINDS = [FLOW_START, FLOW_END, FLOW_DENIED, INTRUSION, MALWARE, WEB_FILTER]


def outcome_of(action: pa.Array) -> pa.Array:
    """A PAN-OS action -> success / failure (null when it says neither)."""
    low = pc.utf8_lower(action)
    return pc.if_else(pc.is_in(low, _FAILED), "failure", pc.if_else(pc.is_in(low, _PASSED), "success", NULL_STR))


def which(read: dict[str, pa.Array]) -> np.ndarray:
    """Kind index (into KINDS) of TRAFFIC and THREAT records, -1 for others."""
    out = np.full(len(read["type"]), -1, dtype=np.int64)
    traffic = mask(pc.equal(read["type"], "TRAFFIC"))
    threat = mask(pc.equal(read["type"], "THREAT"))
    subtype = pc.utf8_lower(read["subtype"])
    for name, kind in _TRAFFIC_KINDS.items():
        out[traffic & mask(pc.equal(subtype, name))] = KINDS.index(kind)
    out[traffic & mask(pc.equal(outcome_of(read["action"]), "failure"))] = KINDS.index(FLOW_DENIED)
    for name, kind in _THREAT_KINDS.items():
        out[threat & mask(pc.equal(subtype, name))] = KINDS.index(kind)
    return out


def flow_columns(read: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Event columns of TRAFFIC and THREAT records (null on other rows)."""
    traffic = pc.equal(read["type"], "TRAFFIC").fill_null(False)
    threat = pc.equal(read["type"], "THREAT").fill_null(False)
    source, destination = ip(read["src"]), ip(read["dst"])
    nat_source, nat_destination = ip(read["nat_src"]), ip(read["nat_dst"])
    user = domain_user(read["src_user"])
    sent, received = to_int(read["bytes_sent"]), to_int(read["bytes_received"])
    misc = read["misc"]
    url_threat = pc.and_(threat, pc.equal(pc.utf8_lower(read["subtype"]), "url"))
    return {
        "event.outcome": outcome_of(read["action"]),
        "event.reason": pc.if_else(threat, read["action"], NULL_STR),
        "event.duration": pc.if_else(traffic, seconds_to_ns(to_int(read["elapsed"])), pa.scalar(None, pa.int64())),
        "source.ip": source, "destination.ip": destination,
        "source.port": to_int(read["sport"]), "destination.port": to_int(read["dport"]),
        "source.nat.ip": nat_source, "destination.nat.ip": nat_destination,
        "source.nat.port": to_int(read["nat_sport"]), "destination.nat.port": to_int(read["nat_dport"]),
        "source.bytes": pc.if_else(traffic, sent, pa.scalar(None, pa.int64())),
        "destination.bytes": pc.if_else(traffic, received, pa.scalar(None, pa.int64())),
        "network.bytes": pc.if_else(traffic, pc.add(sent, received), pa.scalar(None, pa.int64())),
        "network.transport": pc.utf8_lower(read["proto"]),
        "network.application": pc.utf8_lower(read["app"]),
        "observer.ingress.interface.name": read["in_if"],
        "observer.egress.interface.name": read["out_if"],
        "rule.name": pc.if_else(threat, read["threat"], read["rule"]),
        "url.original": pc.if_else(url_threat, misc, NULL_STR),
        "file.name": pc.if_else(pc.and_(threat, pc.invert(url_threat)), misc, NULL_STR),
        "user.name": user["user.name"], "user.domain": user["user.domain"],
        "related.ip": related(source, destination, nat_source, nat_destination),
        "related.user": related(user["user.name"], domain_user(read["dst_user"])["user.name"]),
    }
