"""Cisco ASA / Firepower firewall messages and header variants (pipelines/parsing/vpn/cisco_asa.py,
asa_messages.py): connections, denies, NAT, threat detection, Firepower events, lines forwarded
without the device's timestamp or without any header. Lines written for these tests after
Cisco's published message formats."""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines.parsing import detect_format, vpn
from pipelines.parsing.base import ParseContext

from parser_cases import check, first_event, parse_checked

UTC = dt.timezone.utc
REFERENCE = dt.datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
CTX = ParseContext(timezone="Europe/Paris", reference_time=REFERENCE)
ASA = "Nov 27 2026 19:02:11 asa01 : "


def parse_lines(lines: list[str]):
    return parse_checked(vpn.CISCO_ASA, lines, CTX, "asa.log")


def event_of(line: str) -> dict:
    return first_event(vpn.CISCO_ASA, line, CTX, "asa.log")


START = {"event.action": "connection-start", "event.category": ["network"],
         "event.type": ["connection", "start", "allowed"], "event.outcome": "success"}
END = {"event.action": "connection-end", "event.category": ["network"], "event.type": ["connection", "end"]}
DENIED = {"event.action": "connection-denied", "event.category": ["network"],
          "event.type": ["connection", "denied"], "event.outcome": "failure"}

FIREWALL_CASES = [
    ("built inbound", ASA + "%ASA-6-302013: Built inbound TCP connection 1800234408 for outside:45.137.21.9/40454 "
     "(45.137.21.9/40454) to dmz:10.10.1.10/443 (193.51.24.10/443)",
     {**START, "event.code": "302013", "source.ip": "45.137.21.9", "source.port": 40454,
      "destination.ip": "10.10.1.10", "destination.port": 443, "destination.nat.ip": "193.51.24.10",
      "destination.nat.port": 443, "network.transport": "tcp", "observer.ingress.interface.name": "outside",
      "observer.egress.interface.name": "dmz", "related.ip": ["45.137.21.9", "10.10.1.10", "193.51.24.10"]}),
    ("built outbound: the 'to' side started it", ASA + "%ASA-6-302013: Built outbound TCP connection 11757 for "
     "outside:142.250.1.27/80 (142.250.1.27/80) to inside:10.20.4.44/1772 (193.51.24.2/8256)",
     {**START, "source.ip": "10.20.4.44", "source.port": 1772, "source.nat.ip": "193.51.24.2", "source.nat.port": 8256,
      "destination.ip": "142.250.1.27", "destination.port": 80, "observer.ingress.interface.name": "inside",
      "observer.egress.interface.name": "outside"}),
    ("built with identity user", ASA + "%ASA-6-302013: Built inbound TCP connection 55470952 for outside:10.30.0.13/62544 "
     "(10.30.0.13/62544)(LOCAL\\fmeyer4) to inside:10.10.0.30/443 (10.10.0.30/443) (fmeyer4)",
     {**START, "user.name": "fmeyer4", "user.domain": "LOCAL", "source.ip": "10.30.0.13"}),
    ("teardown", ASA + "%ASA-6-302014: Teardown TCP connection 3642851852 for outside:45.137.21.9/63677 to "
     "dmz:10.10.1.10/443 duration 0:10:06 bytes 4666 TCP FINs from outside",
     {**END, "event.outcome": "success", "source.ip": "45.137.21.9", "source.port": 63677, "destination.port": 443,
      "event.duration": 606 * 10**9, "network.bytes": 4666, "event.reason": "TCP FINs from outside"}),
    ("teardown with users", ASA + "%ASA-6-302014: Teardown TCP connection 11 for inside:10.20.4.44/1758(CHU\\jdupont) "
     "to outside:142.250.1.27/80 duration 1:01:07 bytes 38110 TCP Reset-I (jdupont)",
     {**END, "user.name": "jdupont", "event.duration": 3667 * 10**9, "event.reason": "TCP Reset-I"}),
    ("udp built", ASA + "%ASA-6-302015: Built outbound UDP connection 11758 for outside:8.8.8.8/53 (8.8.8.8/53) "
     "to inside:10.20.4.44/56132 (193.51.24.2/1188)",
     {**START, "network.transport": "udp", "source.ip": "10.20.4.44", "destination.ip": "8.8.8.8",
      "destination.port": 53}),
    ("udp teardown", ASA + "%ASA-6-302016: Teardown UDP connection 11758 for outside:8.8.8.8/53 to "
     "inside:10.20.4.44/56132 duration 0:00:00 bytes 148",
     {**END, "network.transport": "udp", "network.bytes": 148, "event.duration": 0, "event.reason": None}),
    ("icmp built", ASA + "%ASA-6-302020: Built inbound ICMP connection for faddr 45.137.21.9/6553 gaddr "
     "193.51.24.10/0 laddr 10.10.1.10/0 type 8 code 0",
     {**START, "network.transport": "icmp", "source.ip": "45.137.21.9", "destination.ip": "10.10.1.10",
      "destination.nat.ip": "193.51.24.10"}),
    ("icmp teardown with names", ASA + "%ASA-6-302021: Teardown ICMP connection for faddr scanner/0 gaddr "
     "193.51.24.10/0 laddr www-dmz/0 type 8 code 0",
     {**END, "source.ip": None, "source.domain": "scanner", "source.address": "scanner",
      "destination.domain": "www-dmz"}),
    ("106001 inbound denied", "Nov 27 2026 19:02:11 ftd01 : %FTD-2-106001: Inbound TCP connection denied from "
     "45.137.21.9/44321 to 193.51.24.10/3389 flags SYN  on interface outside",
     {**DENIED, "event.code": "106001", "source.ip": "45.137.21.9", "source.port": 44321,
      "destination.ip": "193.51.24.10", "destination.port": 3389, "network.transport": "tcp",
      "observer.ingress.interface.name": "outside", "event.reason": "SYN"}),
    ("106006 udp denied", ASA + "%ASA-2-106006: Deny inbound UDP from 45.137.21.9/5060 to 193.51.24.10/5060 on "
     "interface outside",
     {**DENIED, "network.transport": "udp", "destination.port": 5060, "observer.ingress.interface.name": "outside"}),
    ("106007 dns", ASA + "%ASA-2-106007: Deny inbound UDP from 45.137.21.9/53 to 10.10.0.2/53 due to DNS Query on "
     "interface outside",
     {**DENIED, "event.reason": "DNS Query", "destination.ip": "10.10.0.2"}),
    ("106014 icmp", ASA + "%ASA-3-106014: Deny inbound icmp src outside:45.137.21.9 dst inside:10.10.0.2 (type 8, code 0)",
     {**DENIED, "network.transport": "icmp", "source.ip": "45.137.21.9", "destination.ip": "10.10.0.2",
      "observer.ingress.interface.name": "outside", "observer.egress.interface.name": "inside"}),
    ("106015 no connection", ASA + "%ASA-6-106015: Deny TCP (no connection) from 10.20.4.44/52675 to 142.250.1.27/443 "
     "flags FIN ACK  on interface inside",
     {**DENIED, "event.reason": "no connection", "source.port": 52675, "observer.ingress.interface.name": "inside"}),
    ("106023 access-group", ASA + "%ASA-4-106023: Deny tcp src outside:45.137.21.9/51800 dst dmz:10.10.1.10/22 by "
     "access-group \"outside_access_in\" [0x0, 0x0]",
     {**DENIED, "rule.name": "outside_access_in", "source.ip": "45.137.21.9", "destination.port": 22,
      "observer.ingress.interface.name": "outside", "observer.egress.interface.name": "dmz"}),
    ("106023 icmp", ASA + "%ASA-4-106023: Deny icmp src outside:45.137.21.9 dst dmz:10.10.1.10 (type 8, code 0) by "
     "access-group \"outside_access_in\" [0xd3f63b90, 0x0]",
     {**DENIED, "network.transport": "icmp", "source.port": None, "destination.ip": "10.10.1.10"}),
    ("106100 permitted", ASA + "%ASA-6-106100: access-list inside_in permitted udp inside/10.20.4.44(42592) -> "
     "mgmt/10.0.0.9(161) hit-cnt 1 first hit [0x42666c4c, 0x05739900]",
     {"event.action": "connection-allowed", "event.outcome": "success", "rule.name": "inside_in",
      "source.port": 42592, "destination.ip": "10.0.0.9", "destination.port": 161}),
    ("106100 denied", ASA + "%ASA-4-106100: access-list outside_in denied tcp outside/45.137.21.9(41000) -> "
     "dmz/10.10.1.10(445) hit-cnt 5 300-second interval [0x0, 0x0]",
     {**DENIED, "rule.name": "outside_in", "destination.port": 445}),
    ("710003 to the box", ASA + "%ASA-3-710003: TCP access denied by ACL from 45.137.21.9/2175 to outside:193.51.24.1/22",
     {**DENIED, "source.ip": "45.137.21.9", "destination.port": 22, "observer.egress.interface.name": "outside"}),
    ("733100 threat detection", ASA + "%ASA-4-733100: [ Scanning] drop rate-1 exceeded. Current burst rate is 10 per "
     "second, max configured rate is 10; Current average rate is 5 per second, max configured rate is 5; "
     "Cumulative total count is 3000",
     {"event.action": "intrusion-detected", "event.category": ["intrusion_detection"], "rule.name": "Scanning",
      "event.reason": "rate-1 exceeded"}),
    ("305011 nat", ASA + "%ASA-6-305011: Built dynamic TCP translation from inside:10.20.4.44/1772 to "
     "outside:193.51.24.2/8256",
     {"event.action": "nat-translation", "source.ip": "10.20.4.44", "source.port": 1772,
      "source.nat.ip": "193.51.24.2", "source.nat.port": 8256, "destination.ip": None}),
    ("305012 nat end", ASA + "%ASA-6-305012: Teardown dynamic UDP translation from inside:10.20.4.44/56132 to "
     "outside:193.51.24.2/1188 duration 0:02:00",
     {"event.action": "nat-translation", "event.duration": 120 * 10**9, "network.transport": "udp"}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in FIREWALL_CASES], ids=[c[0] for c in FIREWALL_CASES])
def test_firewall_messages(line, expected):
    event = event_of(line)
    check(event, {"event.dataset": "vpn.cisco_asa", "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC),
                  "tags": None, **expected})


FIREPOWER_CASES = [
    ("430002 allowed", "%FTD-1-430002: EventPriority: Low, DeviceUUID: 0c9e6e2a-0000-4000-8000-000000000001, "
     "InstanceID: 2, FirstPacketSecond: 2026-11-27T18:02:09Z, ConnectionID: 4, AccessControlRuleAction: Allow, "
     "SrcIP: 10.20.4.44, DstIP: 142.250.1.27, SrcPort: 51000, DstPort: 443, Protocol: tcp, "
     "IngressInterface: inside, EgressInterface: outside, ACPolicy: CHU Policy, AccessControlRuleName: Web out, "
     "Client: SSL client, ApplicationProtocol: HTTPS, InitiatorPackets: 3, ResponderPackets: 2, "
     "InitiatorBytes: 517, ResponderBytes: 1448, NAPPolicy: Balanced Security and Connectivity",
     {**START, "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 9, tzinfo=UTC), "source.ip": "10.20.4.44",
      "destination.port": 443, "rule.name": "Web out", "network.application": "https", "source.bytes": 517,
      "destination.bytes": 1448, "network.bytes": 1965, "observer.egress.interface.name": "outside", "tags": None}),
    ("430003 blocked", "<113>Nov 27 19:02:11 ftd01 %NGIPS-1-430003: EventPriority: Low, FirstPacketSecond: "
     "2026-11-27T18:02:10Z, ConnectionID: 34774, AccessControlRuleAction: Block with reset, SrcIP: 45.137.21.9, "
     "DstIP: 193.51.24.10, SrcPort: 13723, DstPort: 80, Protocol: tcp, IngressInterface: outside, "
     "EgressInterface: dmz, AccessControlRuleName: GeoBlock, ConnectionDuration: 0, InitiatorBytes: 54, "
     "ResponderBytes: 0",
     {**DENIED, "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC), "rule.name": "GeoBlock",
      "event.duration": 0, "observer.hostname": "ftd01"}),
    ("430005 malware", "%FTD-1-430005: SrcIP: 45.137.21.9, DstIP: 10.20.4.44, SrcPort: 80, DstPort: 51022, "
     "Protocol: tcp, FileDirection: Download, FileAction: Malware Cloud Lookup, ThreatName: Win.Ransomware.Test, "
     "FileName: facture.zip, FileType: ZIP, FileSize: 184, ApplicationProtocol: HTTP, "
     "FirstPacketSecond: 2026-11-27T18:02:11Z, URI: http://files.example.net/facture.zip",
     {"event.action": "malware-detected", "event.category": ["malware"], "file.name": "facture.zip",
      "rule.name": "Win.Ransomware.Test", "url.original": "http://files.example.net/facture.zip"}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in FIREPOWER_CASES], ids=[c[0] for c in FIREPOWER_CASES])
def test_firepower_events(line, expected):
    check(event_of(line), expected)


HEADER_CASES = [
    ("own time, host and program", "Oct 10 2026 12:34:56 localhost CiscoASA[999]: %ASA-6-302016: Teardown UDP "
     "connection 1 for outside:8.8.8.8/53 to inside:10.0.0.1/5353 duration 0:00:00 bytes 148",
     dt.datetime(2026, 10, 10, 10, 34, 56, tzinfo=UTC), "localhost", None),
    ("own time, host with colon", "Oct 10 2026 10:21:36 localhost: %ASA-6-302021: Teardown ICMP connection for "
     "faddr 8.8.8.8/0 gaddr 10.0.0.1/0 laddr 10.0.0.1/0", dt.datetime(2026, 10, 10, 8, 21, 36, tzinfo=UTC),
     "localhost", None),
    ("syslog header only", "Nov 27 19:02:11 10.0.0.254 %ASA-4-106023: Deny tcp src outside:45.137.21.9/1 dst "
     "dmz:10.10.1.10/22 by access-group \"in\" [0x0, 0x0]", dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC),
     "10.0.0.254", None),
    ("syslog with pri and colon", "<164>Nov 27 19:02:11 asa01 : %ASA-4-106023: Deny tcp src outside:45.137.21.9/1 "
     "dst dmz:10.10.1.10/22 by access-group \"in\" [0x0, 0x0]", dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC),
     "asa01", None),
    ("rfc3339 and ftd", "<166>2026-11-27T18:02:11Z ftd01 : %FTD-6-302013: Built inbound TCP connection 9 for "
     "outside:45.137.21.9/1 (45.137.21.9/1) to dmz:10.10.1.10/443 (10.10.1.10/443)",
     dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC), "ftd01", None),
    ("no header at all", "%ASA-4-106023: Deny tcp src outside:45.137.21.9/1 dst dmz:10.10.1.10/22 by "
     "access-group \"in\" [0x0, 0x0]", REFERENCE, None, ["timestamp_from_reference"]),
    ("priority only", "<164>%ASA-6-302013: Built inbound TCP connection 9 for outside:45.137.21.9/1 "
     "(45.137.21.9/1) to dmz:10.10.1.10/443 (10.10.1.10/443)", REFERENCE, None, ["timestamp_from_reference"]),
]


@pytest.mark.parametrize("line,timestamp,host,tags", [c[1:] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES])
def test_header_variants(line, timestamp, host, tags):
    event = event_of(line)
    assert (event["@timestamp"], event["observer.hostname"], event["tags"]) == (timestamp, host, tags)
    assert event["event.code"] is not None and event["event.action"] != "asa-message"


def test_lines_without_a_tag_but_with_a_header_are_events():
    lines = ["Jul  1 09:27:13 216.160.83.56 : AAA user authentication Rejected : reason = AAA failure : "
             "server = 10.0.0.8 : user = jdoe : user IP = 45.137.21.9",
             "Nov 27 19:02:11 asa01 sshd[1]: Accepted password for admin",
             "not a firewall line at all"]
    result = parse_lines(lines)
    rows = result.events.to_pylist()
    assert [r["event.action"] for r in rows] == ["vpn-login-failure", "syslog"]
    assert (rows[0]["user.name"], rows[0]["source.ip"], rows[0]["event.code"]) == ("jdoe", "45.137.21.9", None)
    assert result.dead_letters.column("reason").to_pylist() == [
        "cisco_asa: no %ASA-<severity>-<id> message and no syslog header"]


def test_unknown_message_ids_still_make_events_and_firewall_files_are_detected():
    lines = [ASA + "%ASA-6-999999: something new", "%FTD-5-199019: message without header"]
    result = parse_lines(lines)
    assert result.events.num_rows == 2
    assert result.events["event.action"].to_pylist() == ["asa-message", "asa-message"]
    fmt, score = detect_format([c[1] for c in FIREWALL_CASES] + [HEADER_CASES[-2][1]])
    assert (fmt.name, score) == ("cisco_asa", 1.0)


def test_a_batch_reads_each_line_as_the_line_alone():
    """Messages of different ids in one batch: every line gets the fields it gets alone."""
    lines = [c[1] for c in FIREWALL_CASES + FIREPOWER_CASES] + [c[1] for c in HEADER_CASES]
    together = parse_lines(lines).events.to_pylist()
    alone = [event_of(line) for line in lines]
    for one, other in zip(together, alone):
        assert {k: v for k, v in one.items() if k not in ("event.id", "log.offset")} == \
            {k: v for k, v in other.items() if k not in ("event.id", "log.offset")}, one["event.original"]
