"""OpenVPN variants (pipelines/parsing/vpn/openvpn.py, openvpn_status.py): TLS errors,
AUTH_FAILED, auth plugins, Peer Connection Initiated, the management interface and status
files. Lines written for these tests after OpenVPN's own messages."""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines.parsing import detect_format, vpn
from pipelines.parsing.base import ParseContext

from parser_cases import first_event, parse_checked

UTC = dt.timezone.utc
CTX = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 12, 1, tzinfo=UTC))
OVPN = "Nov 27 19:02:11 vpn-dsi-01 ovpn-server[1187]: "


def parse_lines(lines: list[str]):
    return parse_checked(vpn.OPENVPN, lines, CTX, "openvpn.log")


def event_of(line: str) -> dict:
    return first_event(vpn.OPENVPN, line, CTX, "openvpn.log")


FAILURE = {"event.action": "vpn-login-failure", "event.outcome": "failure", "event.category": ["authentication"]}
SUCCESS = {"event.action": "vpn-login-success", "event.outcome": "success"}
CASES = [
    ("tls key negotiation", OVPN + "45.137.21.9:41022 TLS Error: TLS key negotiation failed to occur within 60 "
     "seconds (check your network connectivity)", {**FAILURE, "source.ip": "45.137.21.9", "source.port": 41022}),
    ("tls handshake", OVPN + "45.137.21.9:41022 TLS Error: TLS handshake failed", FAILURE),
    ("hmac", OVPN + "45.137.21.9:41022 Authenticate/Decrypt packet error: packet HMAC authentication failed",
     FAILURE),
    ("bio read", OVPN + "45.137.21.9:41022 TLS_ERROR: BIO read tls_read_plaintext error", FAILURE),
    ("verify error", OVPN + "90.118.42.5:51234 VERIFY ERROR: depth=0, error=certificate has expired: CN=jdoe",
     {**FAILURE, "event.reason": "VERIFY ERROR: depth=0, error=certificate has expired: CN=jdoe"}),
    ("auth failed sent", OVPN + "jdoe/90.118.42.5:51234 SENT CONTROL [jdoe]: 'AUTH_FAILED' (status=1)",
     {**FAILURE, "user.name": "jdoe", "source.ip": "90.118.42.5"}),
    ("auth failed received (client)", "2026-11-27 19:02:11 AUTH: Received control message: AUTH_FAILED",
     {**FAILURE, "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC)}),
    ("auth plugin refused", OVPN + "90.118.42.5:51234 PLUGIN_CALL: POST /usr/lib/openvpn/openvpn-plugin-auth-pam.so"
     "/PLUGIN_AUTH_USER_PASS_VERIFY status=1", FAILURE),
    ("auth plugin accepted", OVPN + "90.118.42.5:51234 PLUGIN_CALL: POST /usr/lib/openvpn/openvpn-plugin-auth-pam.so"
     "/PLUGIN_AUTH_USER_PASS_VERIFY status=0", SUCCESS),
    ("auth script refused", OVPN + "90.118.42.5:51234 WARNING: Failed running command (--auth-user-pass-verify): "
     "external program exited with error status: 1", FAILURE),
    ("user/pass ok", OVPN + "90.118.42.5:51234 TLS: Username/Password authentication succeeded for username 'jdoe'",
     {**SUCCESS, "user.name": "jdoe"}),
    ("peer connection initiated", OVPN + "90.118.42.5:51234 [jdoe] Peer Connection Initiated with "
     "[AF_INET]90.118.42.5:51234", {"event.action": "vpn-session-start", "user.name": "jdoe",
                                     "source.ip": "90.118.42.5"}),
    ("peer connection initiated 2.6", OVPN + "[jdoe] Peer Connection Initiated with [AF_INET6]::ffff:90.118.42.5:51234 "
     "(via [AF_INET6]::ffff:10.0.0.1%eth0)", {"event.action": "vpn-session-start", "source.ip": "90.118.42.5"}),
    ("management connected", OVPN + "MANAGEMENT: Client connected from [AF_INET]127.0.0.1:7505",
     {"event.action": "vpn-management-connection", "source.ip": "127.0.0.1", "source.port": 7505}),
    ("management command", OVPN + "MANAGEMENT: CMD 'kill jdoe'",
     {"event.action": "vpn-management-command", "event.category": ["configuration"],
      "event.reason": "MANAGEMENT: CMD 'kill jdoe'"}),
    ("management disconnected", OVPN + "MANAGEMENT: Client disconnected", {"event.action": "openvpn-message"}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_message_variants(line, expected):
    event = event_of(line)
    mismatches = {k: (event[k], v) for k, v in expected.items() if event[k] != v}
    assert not mismatches


STATUS_V2 = [
    "TITLE,OpenVPN 2.6.12 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [MH/PKTINFO] [AEAD]",
    "TIME,Fri Nov 27 19:10:00 2026,1795803000",
    "HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,Bytes Received,Bytes Sent,"
    "Connected Since,Connected Since (time_t),Username,Client ID,Peer ID,Data Channel Cipher",
    "CLIENT_LIST,jdoe,90.118.42.5:51234,10.8.0.6,,123456,654321,Fri Nov 27 19:02:11 2026,1795802531,jdoe,0,0,AES-256-GCM",
    "CLIENT_LIST,laptop-42,90.118.42.77:1194,10.8.0.10,,10,20,Fri Nov 27 19:03:00 2026,1795802580,UNDEF,1,1,AES-256-GCM",
    "HEADER,ROUTING_TABLE,Virtual Address,Common Name,Real Address,Last Ref,Last Ref (time_t)",
    "ROUTING_TABLE,10.8.0.6,jdoe,90.118.42.5:51234,Fri Nov 27 19:05:00 2026,1795802700",
    "GLOBAL_STATS,Max bcast/mcast queue length,0",
    "END",
]
STATUS_V1 = [
    "OpenVPN CLIENT LIST",
    "Updated,Fri Nov 27 19:10:00 2026",
    "Common Name,Real Address,Bytes Received,Bytes Sent,Connected Since",
    "jdoe,90.118.42.5:51234,123456,654321,Fri Nov 27 19:02:11 2026",
    "ROUTING TABLE",
    "Virtual Address,Common Name,Real Address,Last Ref",
    "10.8.0.6,jdoe,90.118.42.5:51234,Fri Nov 27 19:05:00 2026",
    "GLOBAL STATS",
    "Max bcast/mcast queue length,0",
    "END",
]


def test_status_file_version_2():
    result = parse_lines(STATUS_V2)
    assert result.skipped == {"openvpn status file heading": 6} and result.dead_letters.num_rows == 0
    rows = result.events.to_pylist()
    assert [r["event.action"] for r in rows] == ["vpn-session-status", "vpn-session-status", "vpn-address-assigned"]
    first = rows[0]
    assert (first["user.name"], first["source.ip"], first["source.port"], first["vigie.vpn.assigned_ip"],
            first["source.bytes"], first["destination.bytes"], first["@timestamp"]) == (
        "jdoe", "90.118.42.5", 51234, "10.8.0.6", 123456, 654321, dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC))
    assert rows[1]["user.name"] == "laptop-42"  # no username: the certificate's common name
    assert rows[2]["@timestamp"] == dt.datetime(2026, 11, 27, 18, 5, tzinfo=UTC)
    assert detect_format(STATUS_V2)[0].name == "openvpn"


def test_status_file_version_1_reads_local_times():
    result = parse_lines(STATUS_V1)
    assert result.skipped == {"openvpn status file heading": 8}
    rows = result.events.to_pylist()
    assert [(r["event.action"], r["@timestamp"], r["event.timezone"]) for r in rows] == [
        ("vpn-session-status", dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC), "Europe/Paris"),
        ("vpn-address-assigned", dt.datetime(2026, 11, 27, 18, 5, tzinfo=UTC), "Europe/Paris")]
