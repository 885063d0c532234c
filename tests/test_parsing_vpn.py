"""VPN parsers (pipelines/parsing/vpn.py): field extraction per message kind, dead letters,
line accounting and format detection. Pure: no Beam, no files."""
from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

from pipelines.parsing import vpn
from pipelines.parsing.base import LineBatch, ParseContext, ParseResult

from parser_cases import batch_of, check, parse_checked

UTC = dt.timezone.utc
# Paris is UTC+1 in November, UTC+2 in April
CTX = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 12, 1, tzinfo=UTC))


def make_batch(lines: list[str], path: str = "vpn.log") -> LineBatch:
    """A LineBatch of `lines` as if read from one file (offsets: one byte per line terminator)."""
    return batch_of(lines, path)


def parse(fmt, lines: list[str], ctx: ParseContext = CTX) -> ParseResult:
    """Parse `lines` and check that every line is accounted for exactly once."""
    return parse_checked(fmt, lines, ctx, "vpn.log")


def only_event(fmt, line: str, ctx: ParseContext = CTX) -> dict:
    """The single event a line makes (no dead letter)."""
    result = parse(fmt, [line], ctx)
    assert result.dead_letters.num_rows == 0, result.dead_letters.column("reason").to_pylist()
    assert result.events.num_rows == 1
    return result.events.to_pylist()[0]


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


LOGIN_FAILURE = {"event.action": "vpn-login-failure", "event.category": ["authentication"],
                 "event.type": ["start"], "event.outcome": "failure"}
LOGIN_SUCCESS = {"event.action": "vpn-login-success", "event.category": ["authentication"],
                 "event.type": ["start"], "event.outcome": "success"}
SESSION_START = {"event.action": "vpn-session-start", "event.category": ["session"],
                 "event.type": ["start"], "event.outcome": "success"}
SESSION_END = {"event.action": "vpn-session-end", "event.category": ["session"], "event.type": ["end"]}
ADDRESS = {"event.action": "vpn-address-assigned", "event.category": ["session"], "event.type": ["info"]}
PEER_INFO = {"event.action": "vpn-peer-info", "event.category": ["session"], "event.type": ["info"]}
CONNECTION = {"event.action": "vpn-connection", "event.category": ["network"],
              "event.type": ["connection", "start"]}
OTHER = {"event.category": ["network"], "event.type": ["info"], "event.outcome": None}

# ---------------------------------------------------------------------------------------------
# OpenVPN
# ---------------------------------------------------------------------------------------------

OVPN = "Nov 27 19:02:11 vpn1 ovpn-server[901]: "
OPENVPN_CASES = [
    ("connection", OVPN + "TCP connection established with [AF_INET]203.0.113.5:51234",
     {**CONNECTION, "@timestamp": at(2026, 11, 27, 18, 2, 11), "event.timezone": "Europe/Paris",
      "source.ip": "203.0.113.5", "source.port": 51234, "observer.hostname": "vpn1",
      "log.syslog.hostname": "vpn1", "log.syslog.appname": "ovpn-server", "log.syslog.procid": "901",
      "vigie.vpn.tunnel_type": "openvpn", "related.ip": ["203.0.113.5"], "user.name": None}),
    ("udp first packet", OVPN + "203.0.113.5:51234 TLS: Initial packet from [AF_INET]203.0.113.5:51234, sid=1a2b3c4d 5e6f7a8b",
     {**CONNECTION, "source.ip": "203.0.113.5", "source.port": 51234}),
    ("login success", OVPN + "203.0.113.5:51234 TLS: Username/Password authentication succeeded for username 'jdoe' [CN SET]",
     {**LOGIN_SUCCESS, "user.name": "jdoe", "related.user": ["jdoe"], "source.ip": "203.0.113.5",
      "event.reason": None}),
    ("login success, script", OVPN + "203.0.113.5:51234 TLS: Username/Password authentication succeeded for username 'jdoe'",
     {**LOGIN_SUCCESS, "user.name": "jdoe"}),
    ("bad password", "Nov 27 19:02:11 ovpn-server[13821]: 203.0.113.5:64480 TLS Auth Error: Auth Username/Password verification failed for peer",
     {**LOGIN_FAILURE, "source.ip": "203.0.113.5", "source.port": 64480, "observer.hostname": None,
      "log.syslog.appname": "ovpn-server", "log.syslog.procid": "13821",
      "event.reason": "TLS Auth Error: Auth Username/Password verification failed for peer"}),
    ("certificate", OVPN + "192.0.2.251:55329 VERIFY ERROR: depth=2, error=unable to get issuer certificate: <ROOT CA>",
     {**LOGIN_FAILURE, "source.ip": "192.0.2.251",
      "event.reason": "VERIFY ERROR: depth=2, error=unable to get issuer certificate: <ROOT CA>"}),
    ("handshake", OVPN + "192.0.2.252:55330 TLS Error: TLS handshake failed",
     {**LOGIN_FAILURE, "source.ip": "192.0.2.252", "source.port": 55330}),
    ("tls-auth key", OVPN + "TLS Error: cannot locate HMAC in incoming packet from [AF_INET]192.0.2.253:55340",
     {**LOGIN_FAILURE, "source.ip": "192.0.2.253", "source.port": 55340}),
    ("client version", OVPN + "203.0.113.5:51234 peer info: IV_VER=2.6.8",
     {**PEER_INFO, "vigie.vpn.client_version": "2.6.8", "vigie.vpn.client_platform": None,
      "source.ip": "203.0.113.5"}),
    ("client platform", OVPN + "203.0.113.5:51234 peer info: IV_PLAT=win",
     {**PEER_INFO, "vigie.vpn.client_platform": "win", "vigie.vpn.client_version": None}),
    ("gui version", OVPN + "203.0.113.5:51234 peer info: IV_GUI_VER=OpenVPN_GUI_11",
     {**PEER_INFO, "vigie.vpn.client_version": "OpenVPN_GUI_11"}),
    ("pool address", OVPN + "jdoe/203.0.113.5:51234 MULTI_sva: pool returned IPv4=10.8.0.6, IPv6=(Not enabled)",
     {**ADDRESS, "vigie.vpn.assigned_ip": "10.8.0.6", "user.name": "jdoe", "source.ip": "203.0.113.5",
      "source.port": 51234, "related.ip": ["203.0.113.5", "10.8.0.6"], "related.user": ["jdoe"]}),
    ("pool address v6", OVPN + "jdoe/203.0.113.5:51234 MULTI_sva: pool returned IPv4=(Not enabled), IPv6=fd00::1000",
     {**ADDRESS, "vigie.vpn.assigned_ip": "fd00::1000"}),
    ("learn", OVPN + "jdoe/203.0.113.5:51234 MULTI: Learn: 10.8.0.6 -> jdoe/203.0.113.5:51234",
     {**ADDRESS, "vigie.vpn.assigned_ip": "10.8.0.6", "user.name": "jdoe", "source.ip": "203.0.113.5"}),
    ("primary virtual ip", OVPN + "jdoe/203.0.113.5:51234 MULTI: primary virtual IP for jdoe/203.0.113.5:51234: 10.8.0.6",
     {**ADDRESS, "vigie.vpn.assigned_ip": "10.8.0.6"}),
    ("session start", OVPN + "203.0.113.5:51234 [jdoe] Peer Connection Initiated with [AF_INET]203.0.113.5:51234",
     {**SESSION_START, "user.name": "jdoe", "source.ip": "203.0.113.5", "source.port": 51234}),
    ("client exit", OVPN + "jdoe/203.0.113.5:51234 SIGTERM[soft,remote-exit] received, client-instance exiting",
     {**SESSION_END, "event.outcome": None, "user.name": "jdoe", "source.ip": "203.0.113.5",
      "event.reason": "SIGTERM[soft,remote-exit] received, client-instance exiting"}),
    ("reset", OVPN + "83.97.20.30:10107 Connection reset, restarting [0]",
     {**SESSION_END, "source.ip": "83.97.20.30", "event.reason": "Connection reset, restarting [0]"}),
    ("restart", OVPN + "83.97.20.30:10107 SIGUSR1[soft,connection-reset] received, client-instance restarting",
     {**SESSION_END, "source.ip": "83.97.20.30"}),
    ("inactivity", OVPN + "jdoe/203.0.113.5:51234 [jdoe] Inactivity timeout (--ping-restart), restarting",
     {**SESSION_END, "user.name": "jdoe"}),
    ("other message", OVPN + "203.0.113.5:51234 WARNING: Bad encapsulated packet length from peer (5635)",
     {**OTHER, "event.action": "openvpn-message", "source.ip": "203.0.113.5", "event.reason": None,
      "message": "203.0.113.5:51234 WARNING: Bad encapsulated packet length from peer (5635)"}),
    ("other, no peer", OVPN + "Initialization Sequence Completed",
     {**OTHER, "event.action": "openvpn-message", "source.ip": None, "message": "Initialization Sequence Completed"}),
    ("own iso timestamp", "2026-11-27 19:02:11 jdoe/203.0.113.5:51234 SIGTERM[soft,remote-exit] received, client-instance exiting",
     {**SESSION_END, "@timestamp": at(2026, 11, 27, 18, 2, 11), "event.timezone": "Europe/Paris",
      "observer.hostname": None, "log.syslog.appname": None, "user.name": "jdoe"}),
    ("own ctime timestamp", "Fri Nov  6 19:02:11 2026 us=123456 203.0.113.5:51234 TLS: Initial packet from [AF_INET]203.0.113.5:51234",
     {**CONNECTION, "@timestamp": at(2026, 11, 6, 18, 2, 11), "source.ip": "203.0.113.5"}),
    ("rfc3339 syslog", "2026-11-27T19:02:11.123456+01:00 vpn1 openvpn[5]: 203.0.113.5:51234 TLS Error: TLS handshake failed",
     {**LOGIN_FAILURE, "@timestamp": at(2026, 11, 27, 18, 2, 11), "event.timezone": None,
      "observer.hostname": "vpn1", "log.syslog.appname": "openvpn"}),
    ("ipv6 peer", OVPN + "2001:db8::2:52358 TLS Error: TLS handshake failed",
     {**LOGIN_FAILURE, "source.ip": "2001:db8::2", "source.port": 52358}),
    ("ipv4-mapped peer", OVPN + "TLS Error: cannot locate HMAC in incoming packet from [AF_INET6]::ffff:203.0.113.5:55340",
     {**LOGIN_FAILURE, "source.ip": "203.0.113.5", "source.port": 55340}),
    ("summer time", "Apr 25 10:57:30 vpn1 openvpn[9]: TCP connection established with [AF_INET]83.97.20.30:10107",
     {**CONNECTION, "@timestamp": at(2026, 4, 25, 8, 57, 30)}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in OPENVPN_CASES], ids=[c[0] for c in OPENVPN_CASES])
def test_openvpn_message_kinds(line, expected):
    event = only_event(vpn.OPENVPN, line)
    check(event, {"event.dataset": "vpn.openvpn", "event.module": "vpn", "event.kind": "event",
                  "observer.product": "OpenVPN", "observer.vendor": "OpenVPN", "observer.type": "vpn",
                  "event.original": line, "vigie.lines": 1, "vigie.format": "openvpn", **expected})


def test_syslog_year_comes_from_the_reference_time():
    new_year = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2027, 1, 2, tzinfo=UTC))
    event = only_event(vpn.OPENVPN, "Dec 31 23:59:59 vpn1 openvpn[1]: Initialization Sequence Completed", new_year)
    assert event["@timestamp"] == at(2026, 12, 31, 22, 59, 59)


# ---------------------------------------------------------------------------------------------
# Cisco ASA
# ---------------------------------------------------------------------------------------------

ASA = "Nov 27 2026 19:02:11 asa01 : "
ASA_CASES = [
    ("aaa success", "Nov 27 19:02:11 asa01 %ASA-6-113004: AAA user authentication Successful : server = 10.1.1.1 : user = jdoe",
     {**LOGIN_SUCCESS, "event.code": "113004", "log.level": "informational", "user.name": "jdoe",
      "source.ip": None, "observer.hostname": "asa01", "log.syslog.hostname": "asa01",
      "@timestamp": at(2026, 11, 27, 18, 2, 11), "event.timezone": "Europe/Paris",
      "message": "AAA user authentication Successful : server = 10.1.1.1 : user = jdoe"}),
    ("aaa rejected", "<166>" + ASA + "%ASA-6-113005: AAA user authentication Rejected : reason = AAA failure : server = 10.1.1.1 : user = jdoe : user IP = 203.0.113.5",
     {**LOGIN_FAILURE, "event.code": "113005", "event.reason": "AAA failure", "user.name": "jdoe",
      "source.ip": "203.0.113.5", "related.ip": ["203.0.113.5"], "related.user": ["jdoe"],
      "@timestamp": at(2026, 11, 27, 18, 2, 11), "observer.hostname": "asa01"}),
    ("local db rejected", ASA + "%ASA-2-113015: AAA user authentication Rejected : reason = Invalid password : local database : user = jdoe : user IP = 203.0.113.5",
     {**LOGIN_FAILURE, "event.reason": "Invalid password", "log.level": "critical", "source.ip": "203.0.113.5"}),
    ("webvpn rejected", ASA + "%ASA-6-716039: Group <DfltGrpPolicy> User <jdoe> IP <203.0.113.5> Authentication: rejected, Session Type: WebVPN.",
     {**LOGIN_FAILURE, "event.reason": "rejected", "vigie.vpn.tunnel_type": "webvpn", "group.name": "DfltGrpPolicy"}),
    ("disconnected", "Nov 27 2026 19:02:11: %ASA-4-113019: Group = G, Username = jdoe, IP = 1.2.3.4, Session disconnected. Session Type: SSL, Duration: 1h:02m:03s, Bytes xmt: 123, Bytes rcv: 456, Reason: User Requested",
     {**SESSION_END, "event.outcome": None, "event.code": "113019", "log.level": "warnings",
      "group.name": "G", "user.name": "jdoe", "source.ip": "1.2.3.4", "event.duration": 3_723_000_000_000,
      "source.bytes": 456, "destination.bytes": 123, "network.bytes": 579, "event.reason": "User Requested",
      "vigie.vpn.tunnel_type": "ssl", "observer.hostname": None}),
    ("disconnected after days", ASA + "%ASA-4-113019: Group = G, Username = jdoe, IP = 1.2.3.4, Session disconnected. Session Type: IKEv2, Duration: 2d 1h:00m:05s, Bytes xmt: 1, Bytes rcv: 2, Reason: Idle Timeout",
     {**SESSION_END, "event.duration": (2 * 86400 + 3605) * 1_000_000_000, "vigie.vpn.tunnel_type": "ikev2",
      "event.reason": "Idle Timeout"}),
    ("parent session", "2026-11-27T18:02:11Z asa01 : %ASA-6-113039: Group <G> User <jdoe> IP <1.2.3.4> AnyConnect parent session started.",
     {**SESSION_START, "event.code": "113039", "group.name": "G", "user.name": "jdoe", "source.ip": "1.2.3.4",
      "vigie.vpn.tunnel_type": "anyconnect", "@timestamp": at(2026, 11, 27, 18, 2, 11),
      "event.timezone": None, "observer.hostname": "asa01"}),
    ("rfc5424 relay", "<166>1 2026-11-27T19:02:11.120+01:00 asa01 - - - %ASA-6-113039: Group <G> User <jdoe> IP <1.2.3.4> AnyConnect parent session started.",
     {**SESSION_START, "@timestamp": at(2026, 11, 27, 18, 2, 11), "observer.hostname": "asa01", "event.timezone": None}),
    ("webvpn start", ASA + "%ASA-6-716001: Group <G> User <jdoe> IP <1.2.3.4> WebVPN session started.",
     {**SESSION_START, "vigie.vpn.tunnel_type": "webvpn", "user.name": "jdoe"}),
    ("webvpn end", ASA + "%ASA-6-716002: Group <G> User <jdoe> IP <1.2.3.4> WebVPN session terminated: User Requested.",
     {**SESSION_END, "event.reason": "User Requested", "vigie.vpn.tunnel_type": "webvpn"}),
    ("address", "Nov 27 19:02:12 10.0.0.1 Nov 27 2026 19:02:11 asa02 : %ASA-4-722051: Group <G> User <jdoe> IP <1.2.3.4> IPv4 Address <10.10.10.5> IPv6 address <::> assigned to session",
     {**ADDRESS, "vigie.vpn.assigned_ip": "10.10.10.5", "source.ip": "1.2.3.4", "observer.hostname": "asa02",
      "related.ip": ["1.2.3.4", "10.10.10.5"], "@timestamp": at(2026, 11, 27, 18, 2, 11)}),
    ("address v6", ASA + "%ASA-4-722051: Group <G> User <jdoe> IP <1.2.3.4> IPv4 Address <> IPv6 address <2001:db8::5> assigned to session",
     {**ADDRESS, "vigie.vpn.assigned_ip": "2001:db8::5"}),
    ("ipsec address", ASA + "%ASA-5-713228: Group = G, Username = jdoe, IP = 1.2.3.4, Assigned private IP address 10.1.1.7 to remote user",
     {**ADDRESS, "vigie.vpn.assigned_ip": "10.1.1.7", "user.name": "jdoe", "group.name": "G"}),
    ("client type", ASA + "%ASA-6-722055: Group <G> User <jdoe> IP <1.2.3.4> Client Type: Cisco AnyConnect VPN Agent for Windows 4.10.05085",
     {**PEER_INFO, "vigie.vpn.client_version": "Cisco AnyConnect VPN Agent for Windows 4.10.05085",
      "vigie.vpn.client_platform": "Windows"}),
    ("svc up", ASA + "%ASA-6-722022: Group <G> User <jdoe> IP <1.2.3.4> TCP SVC connection established without compression",
     {**CONNECTION, "vigie.vpn.tunnel_type": "anyconnect", "user.name": "jdoe"}),
    ("svc closing", ASA + "%ASA-5-722037: Group <G> User <jdoe> IP <1.2.3.4> SVC closing connection: DPD failure.",
     {"event.action": "vpn-connection-end", "event.type": ["connection", "end"], "event.reason": "DPD failure"}),
    ("admin ok", ASA + "%ASA-6-611101: User authentication succeeded: IP address: 198.51.100.7, Uname: admin",
     {"event.action": "admin-login-success", "event.category": ["authentication"], "event.outcome": "success",
      "source.ip": "198.51.100.7", "user.name": "admin"}),
    ("admin failed", ASA + "%ASA-6-611102: User authentication failed: IP address: 198.51.100.7, Uname: admin",
     {"event.action": "admin-login-failure", "event.outcome": "failure", "source.ip": "198.51.100.7", "user.name": "admin"}),
    ("ssh denied", ASA + '%ASA-6-605004: Login denied from 198.51.100.7/40123 to outside:192.0.2.1/ssh for user "root"',
     {"event.action": "admin-login-failure", "source.ip": "198.51.100.7", "source.port": 40123, "user.name": "root"}),
    ("ftd", "Nov 27 19:02:11 ftd1 %FTD-6-113004: AAA user authentication Successful : server = 10.1.1.1 : user = jdoe",
     {**LOGIN_SUCCESS, "event.code": "113004", "user.name": "jdoe"}),
    ("other message", ASA + "%ASA-5-111008: User 'enable_15' executed the 'write memory' command.",
     {**OTHER, "event.action": "asa-message", "event.code": "111008", "event.duration": None}),
    ("other with user", ASA + "%ASA-6-716058: Group <G> User <jdoe> IP <1.2.3.4> AnyConnect session lost connection. Waiting to resume.",
     {**OTHER, "event.action": "asa-message", "user.name": "jdoe", "source.ip": "1.2.3.4", "group.name": "G"}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in ASA_CASES], ids=[c[0] for c in ASA_CASES])
def test_cisco_asa_message_kinds(line, expected):
    event = only_event(vpn.CISCO_ASA, line)
    check(event, {"event.dataset": "vpn.cisco_asa", "observer.product": "ASA", "observer.vendor": "Cisco",
                  "observer.type": "vpn", **expected})


# ---------------------------------------------------------------------------------------------
# FortiGate
# ---------------------------------------------------------------------------------------------

FGT = 'date=2026-11-27 time=19:02:11 devname="FGT-CHU" devid="FG100F0000000001" '
# 2026-11-27T18:02:11.123456789Z, deliberately not the date=/time= of the same lines
EVENTTIME_NS = 1795802531123456789
FORTIGATE_CASES = [
    ("login fail", f'Nov 27 19:02:12 fgt01 date=2026-11-20 time=00:00:00 devname="FGT-CHU" devid="FG100F" eventtime={EVENTTIME_NS} tz="+0100" logid="0101039426" type="event" subtype="vpn" level="alert" vd="root" logdesc="SSL VPN login fail" action="ssl-login-fail" tunneltype="ssl-web" tunnelid=0 remip=203.0.113.5 user="jdoe" group="N/A" dst_host="N/A" reason="sslvpn_login_permission_denied" msg="SSL user failed to logged in"',
     {**LOGIN_FAILURE, "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, 123000, tzinfo=UTC),
      "event.timezone": None, "event.code": "0101039426", "log.level": "alert", "source.ip": "203.0.113.5",
      "user.name": "jdoe", "group.name": None, "vigie.vpn.session_id": None, "vigie.vpn.tunnel_type": "ssl-web",
      "event.reason": "sslvpn_login_permission_denied", "message": "SSL user failed to logged in",
      "observer.hostname": "FGT-CHU", "log.syslog.hostname": "fgt01", "related.user": ["jdoe"]}),
    ("rfc5424 relay", f'<189>1 2026-11-27T19:02:12+01:00 fgt01 - - - - {FGT}eventtime={EVENTTIME_NS} logid="0101039947" type="event" subtype="vpn" level="information" action="tunnel-up" remip=203.0.113.5 user="jdoe"',
     {**SESSION_START, "log.syslog.hostname": "fgt01", "observer.hostname": "FGT-CHU", "user.name": "jdoe"}),
    ("tunnel up", FGT + 'tz="+0100" logid="0101039947" type="event" subtype="vpn" level="information" vd="root" logdesc="SSL VPN tunnel up" action="tunnel-up" tunneltype="ssl-tunnel" tunnelid=2345 remip=203.0.113.5 tunnelip=10.212.134.200 user="jdoe" group="staff" dst_host="N/A" reason="tunnel established" msg="SSL tunnel established"',
     {**SESSION_START, "@timestamp": at(2026, 11, 27, 18, 2, 11), "event.timezone": None,
      "vigie.vpn.assigned_ip": "10.212.134.200", "vigie.vpn.session_id": "2345", "group.name": "staff",
      "related.ip": ["203.0.113.5", "10.212.134.200"], "log.syslog.hostname": None}),
    ("tunnel down", FGT + 'logid="0101039948" type="event" subtype="vpn" level="information" vd="root" logdesc="SSL VPN tunnel down" action="tunnel-down" tunneltype="ssl-tunnel" tunnelid=2345 remip=203.0.113.5 tunnelip=10.212.134.200 user="jdoe" group="staff" dst_host="N/A" reason="connection timeout" duration=3600 sentbyte=1000 rcvdbyte=2000 msg="SSL tunnel shutdown"',
     {**SESSION_END, "event.outcome": None, "@timestamp": at(2026, 11, 27, 18, 2, 11),
      "event.timezone": "Europe/Paris", "event.duration": 3_600_000_000_000, "source.bytes": 1000,
      "destination.bytes": 2000, "network.bytes": 3000, "event.reason": "connection timeout",
      "vigie.vpn.assigned_ip": None}),
    ("new connection", '<190>' + FGT + 'eventtime=1795802531 tz="+0100" logid="0101039943" type="event" subtype="vpn" level="information" vd="root" logdesc="SSL VPN new connection" action="ssl-new-con" tunneltype="ssl" tunnelid=0 remip=203.0.113.5 user="N/A" group="N/A" dst_host="N/A" reason="N/A" msg="SSL new connection"',
     {**CONNECTION, "@timestamp": at(2026, 11, 27, 18, 2, 11), "user.name": None, "event.reason": None,
      "related.user": None}),
    ("admin login failed", FGT + 'eventtime=1795802531123456 tz="+0100" logid="0100032002" type="event" subtype="system" level="alert" vd="root" logdesc="Admin login failed" sn="0" user="admin" ui="https(198.51.100.7)" method="https" srcip=198.51.100.7 dstip=192.0.2.1 action="login" status="failed" reason="passwd_invalid" msg="Administrator admin login failed from https(198.51.100.7) because of invalid password"',
     {"event.action": "admin-login-failure", "event.outcome": "failure", "event.category": ["authentication"],
      "source.ip": "198.51.100.7", "user.name": "admin", "event.reason": "passwd_invalid",
      "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, 123000, tzinfo=UTC)}),
    ("ipsec error", FGT + 'logid="0101037124" type="event" subtype="vpn" level="error" vd="root" logdesc="IPsec phase 1 error" msg="IPsec phase 1 error" action="negotiate" remip=198.51.100.9 locip=192.0.2.1 remport=500 locport=500 outintf="wan1" user="N/A" group="N/A" xauthuser="N/A" assignip=N/A vpntunnel="N/A" status="negotiate_error" reason="peer SA proposal not match local policy"',
     {**OTHER, "event.action": "negotiate", "event.outcome": "failure", "source.ip": "198.51.100.9",
      "event.reason": "peer SA proposal not match local policy"}),
    ("traffic", FGT + 'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.1.2.3 srcport=50000 dstip=198.51.100.80 dstport=443 action="accept" policyid=7 service="HTTPS"',
     {"event.action": "connection-start", "event.outcome": "success", "source.ip": "10.1.2.3",
      "destination.ip": "198.51.100.80", "destination.port": 443, "rule.id": "7", "network.protocol": "https",
      "event.code": "0000000013"}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in FORTIGATE_CASES], ids=[c[0] for c in FORTIGATE_CASES])
def test_fortigate_message_kinds(line, expected):
    event = only_event(vpn.FORTIGATE, line)
    check(event, {"event.dataset": "vpn.fortigate", "observer.product": "FortiGate",
                  "observer.vendor": "Fortinet", "observer.type": "vpn", **expected})


# ---------------------------------------------------------------------------------------------
# GlobalProtect
# ---------------------------------------------------------------------------------------------

def gp_record(event_id: str, stage: str, status: str, error: str = "", description: str = "",
              high_res: str = "", duration: str = "0") -> str:
    """A PAN-OS 10.x GLOBALPROTECT record (fields in Palo Alto's documented order)."""
    fields = ["1", "2026/11/27 19:02:12", "012801096514", "GLOBALPROTECT", "0", "2561",
              "2026/11/27 19:02:11", "vsys1", event_id, stage, "LDAP", "ipsec", "CORP\\jdoe", "FR",
              "LAPTOP-42", "203.0.113.5", "", "10.20.0.7", "", "hostid-1", "SN42", "6.2.4-28",
              "Windows", '"Microsoft Windows 11 Enterprise , 64-bit"', "1", "", error,
              f'"{description}"', status, "Paris", duration, "user-logon", "0", "GP-Portal", "7412983300185523201",
              "0x0", high_res, "", "0", "", "", "GW-1", "12", "0", "0", "0", "", "PA-3220-HQ", "1", ""]
    return ",".join(fields)


GP_SYSTEM = ('Sep 25 01:22:59 10.5.172.40 Nov 27 19:02:12 BD-Panorama 1,2026/11/27 19:02:12,007200001165,SYSTEM,'
             'globalprotect,0,2026/11/27 19:02:11,,{event},GP-GW,0,0,general,informational,"{text}",641825,'
             '0x8000000000000000,0,0,0,0,,PA-VM')
GP_CASES = [
    ("gateway auth ok", "<14>Nov 27 19:02:12 pa-fw " + gp_record("gateway-auth", "login", "success"),
     {**LOGIN_SUCCESS, "event.code": "gateway-auth", "user.name": "jdoe", "user.domain": "CORP",
      "related.user": ["jdoe"], "source.ip": "203.0.113.5", "source.domain": "LAPTOP-42",
      "vigie.vpn.assigned_ip": "10.20.0.7", "vigie.vpn.tunnel_type": "ipsec",
      "vigie.vpn.client_version": "6.2.4-28", "vigie.vpn.client_platform": "Windows",
      "@timestamp": at(2026, 11, 27, 18, 2, 11), "event.timezone": "Europe/Paris",
      "observer.hostname": "PA-3220-HQ", "log.syslog.hostname": "pa-fw", "log.level": None}),
    ("portal auth failed", gp_record("portal-auth", "login", "failure", error="Authentication failed: Invalid username or password"),
     {**LOGIN_FAILURE, "event.code": "portal-auth",
      "event.reason": "Authentication failed: Invalid username or password", "log.syslog.hostname": None}),
    ("register", gp_record("gateway-register", "tunnel", "success"), {**SESSION_START}),
    ("register failed", gp_record("gateway-register", "tunnel", "failure", error="Client IP pool exhausted"),
     {**SESSION_START, "event.outcome": "failure", "event.reason": "Client IP pool exhausted"}),
    ("logout", gp_record("gateway-logout", "logout", "success", description="client logout",
                         high_res="2026-11-27T19:02:11.223+01:00", duration="1554"),
     {**SESSION_END, "event.outcome": "success", "event.duration": 1_554_000_000_000,
      "message": "client logout", "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, 223000, tzinfo=UTC),
      "event.timezone": None}),
    ("other event", gp_record("portal-prelogin", "before-login", "success"),
     {**OTHER, "event.action": "portal-prelogin", "event.outcome": "success", "event.duration": None}),
    ("system auth failed", GP_SYSTEM.format(event="globalprotectgateway-auth-fail", text=(
        "GlobalProtect gateway user authentication failed. Login from: 203.0.113.5, Source region: FR, "
        "User name: jdoe, Client OS version: Microsoft Windows 10 Pro, Reason: Authentication failed: "
        "Invalid username or password, Auth type: profile.")),
     {**LOGIN_FAILURE, "event.code": "globalprotectgateway-auth-fail", "source.ip": "203.0.113.5",
      "user.name": "jdoe", "user.domain": None, "event.reason": "Authentication failed: Invalid username or password",
      "vigie.vpn.client_platform": "Microsoft Windows 10 Pro", "log.level": "informational",
      "observer.hostname": "PA-VM", "log.syslog.hostname": "BD-Panorama",
      "@timestamp": at(2026, 11, 27, 18, 2, 11)}),
    ("system auth ok", GP_SYSTEM.format(event="globalprotectportal-auth-succ", text=(
        "GlobalProtect portal user authentication succeeded. Login from: 203.0.113.5, User name: tng\\jordy, Auth type: profile.")),
     {**LOGIN_SUCCESS, "user.name": "jordy", "user.domain": "tng", "source.ip": "203.0.113.5"}),
    ("system registered", GP_SYSTEM.format(event="globalprotectgateway-regist-succ", text=(
        "GlobalProtect gateway client configuration generated. User name: jdoe, Private IP: 10.20.0.8, "
        "Client version: 5.0.5, Device name: LAPTOP-42, Client OS version: Microsoft Windows 10 Pro, VPN type: Device Level VPN.")),
     {**SESSION_START, "vigie.vpn.assigned_ip": "10.20.0.8", "vigie.vpn.client_version": "5.0.5", "user.name": "jdoe"}),
    ("system other", GP_SYSTEM.format(event="globalprotectgateway-agent-msg", text=(
        "GlobalProtect gateway agent message. Login from: 192.168.55.100, User name: jdoe, Message: Agent Disable.")),
     {**OTHER, "event.action": "globalprotectgateway-agent-msg", "source.ip": "192.168.55.100"}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in GP_CASES], ids=[c[0] for c in GP_CASES])
def test_globalprotect_message_kinds(line, expected):
    event = only_event(vpn.GLOBALPROTECT, line)
    check(event, {"event.dataset": "vpn.globalprotect", "observer.product": "GlobalProtect",
                  "observer.vendor": "Palo Alto Networks", "observer.type": "vpn", **expected})


def test_the_same_meaning_has_the_same_action_in_every_format():
    failures = [only_event(vpn.OPENVPN, OPENVPN_CASES[4][1]), only_event(vpn.CISCO_ASA, ASA_CASES[1][1]),
                only_event(vpn.FORTIGATE, FORTIGATE_CASES[0][1]), only_event(vpn.GLOBALPROTECT, GP_CASES[1][1])]
    assert {(e["event.action"], e["event.outcome"], tuple(e["event.category"])) for e in failures} == {
        ("vpn-login-failure", "failure", ("authentication",))}


# ---------------------------------------------------------------------------------------------
# Dead letters and line accounting
# ---------------------------------------------------------------------------------------------

DEAD_CASES = [
    (vpn.OPENVPN, "no header at all", "openvpn: no syslog header or OpenVPN timestamp"),
    (vpn.OPENVPN, "Nov 27 19:0", "openvpn: no syslog header or OpenVPN timestamp"),
    (vpn.OPENVPN, "# failJSON: {\"match\": true}", "openvpn: no syslog header or OpenVPN timestamp"),
    (vpn.OPENVPN, "2020-05-12 10:53:19.781 Connection \"CID-72\": User authentication failed.",
     "openvpn: no syslog header or OpenVPN timestamp"),
    (vpn.OPENVPN, "Nov 27 25:00:00 vpn1 openvpn[1]: TLS Error: TLS handshake failed", "openvpn: invalid timestamp"),
    (vpn.CISCO_ASA, "AAA user authentication Successful : user = jdoe",
     "cisco_asa: no %ASA-<severity>-<id> message and no syslog header"),
    (vpn.CISCO_ASA, "Nov 27 2026 19:02 asa01 : %ASA-6-1130", "cisco_asa: no %ASA-<severity>-<id> message and no syslog header"),
    (vpn.CISCO_ASA, "Nov 32 2026 19:02:11 asa01 : %ASA-6-113004: x", "cisco_asa: invalid timestamp"),
    (vpn.FORTIGATE, 'date=2026-11-27 time=19:02:11 devname="FGT" type="event"', "fortigate: no key=value record (logid=, or type= and subtype=) and no Fortinet CEF record"),
    (vpn.FORTIGATE, 'date=2026-11-27 time=19:0', "fortigate: no key=value record (logid=, or type= and subtype=) and no Fortinet CEF record"),
    (vpn.FORTIGATE, 'date=2026-13-01 time=19:02:11 logid="0101039426" type="event"',
     "fortigate: no valid eventtime= or date= time="),
    (vpn.GLOBALPROTECT, "not a pan-os record", "globalprotect: no PAN-OS CSV record (receive time, serial, type)"),
    (vpn.GLOBALPROTECT, "1,2026/11/27 19:02:12,0128,TRAFFIC,end,2561,2026/11/27 19:02:11,10.0.0.1,198.51.100.1",
     "globalprotect: truncated TRAFFIC record"),
    (vpn.GLOBALPROTECT, "1,2026/11/27 19:02:12,0128,GLOBALPROTECT,0,2561,2026/11/27 19:02:11,vsys1,gateway-auth,login",
     "globalprotect: truncated GLOBALPROTECT record"),
    (vpn.GLOBALPROTECT, gp_record("gateway-auth", "login", "success").replace("2026/11/27 19:02:11", "2026/13/27 19:02:11"),
     "globalprotect: invalid generated time"),
]


@pytest.mark.parametrize("fmt,line,reason", DEAD_CASES, ids=[f"{c[0].name}: {c[2]}" for c in DEAD_CASES])
def test_unreadable_lines_are_dead_lettered_with_a_reason(fmt, line, reason):
    result = parse(fmt, [line])
    assert result.events.num_rows == 0
    letter = result.dead_letters.to_pylist()[0]
    assert (letter["reason"], letter["raw_text"], letter["format"], letter["family"], letter["lines"]) == (
        reason, line, fmt.name, "vpn", 1)


@pytest.mark.parametrize("fmt,cases", [(vpn.OPENVPN, OPENVPN_CASES), (vpn.CISCO_ASA, ASA_CASES),
                                       (vpn.FORTIGATE, FORTIGATE_CASES), (vpn.GLOBALPROTECT, GP_CASES)],
                         ids=lambda v: getattr(v, "name", ""))
def test_mixed_batch_every_line_in_exactly_one_place(fmt, cases):
    good = [c[1] for c in cases]
    bad = [c[1] for c in DEAD_CASES if c[0] is fmt]
    lines = [x for pair in zip(good, bad + [""] * len(good)) for x in pair]  # interleave, with blanks
    result = parse(fmt, lines)
    assert result.events.num_rows == len(good)
    assert result.dead_letters.num_rows == len(bad)
    assert result.skipped == {"blank line": len(good) - len(bad)}
    batch = make_batch(lines)
    assert result.events.column("event.original").to_pylist() == good
    assert result.events.column("log.offset").to_pylist() == [int(batch.offsets[lines.index(g)]) for g in good]
    assert result.dead_letters.column("origin.offset").to_pylist() == [int(batch.offsets[lines.index(b)]) for b in bad]
    assert len(set(result.events.column("event.id").to_pylist())) == len(good)


@pytest.mark.parametrize("fmt,cases", [(vpn.OPENVPN, OPENVPN_CASES), (vpn.CISCO_ASA, ASA_CASES),
                                       (vpn.FORTIGATE, FORTIGATE_CASES), (vpn.GLOBALPROTECT, GP_CASES)],
                         ids=lambda v: getattr(v, "name", ""))
def test_lines_may_be_a_slice_of_a_larger_array(fmt, cases):
    """The reader hands over views and slices of its buffers (array offset != 0)."""
    lines = [c[1] for c in cases]
    sliced = pa.array(["padding"] * 3 + lines, pa.binary()).slice(3).view(pa.string())
    whole = make_batch(lines)
    result = fmt.parse(LineBatch(whole.path, whole.file_key, sliced, whole.offsets), CTX)
    assert result.events.equals(fmt.parse(whole, CTX).events)


def fuzz_lines(seed: int, count: int) -> list[str]:
    """Random lines: fragments of real headers glued to junk, quotes, unicode and long runs."""
    rng = random.Random(seed)
    pieces = [OVPN, ASA, FGT, "1,2026/11/27 19:02:12,0128,GLOBALPROTECT,", '"', '""', ",", "=", "%ASA-6-113005:",
              "<14>", "Nov 27 ", "2026-11-27T19:02:11Z ", "user=", "IP <", " -> ", "\x00", "é漢🙂", "\\", "[AF_INET]",
              "eventtime=99999999999999999999 ", "tz=\"+9999\" ", "Duration: 99999999999h:00m:00s", "x" * 5000]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(count)]


@pytest.mark.parametrize("fmt", vpn.FORMATS, ids=lambda f: f.name)
def test_junk_never_raises_and_every_line_is_accounted_for(fmt):
    lines = fuzz_lines(seed=7, count=400)
    result = parse(fmt, lines)
    assert result.events.num_rows + result.dead_letters.num_rows + sum(result.skipped.values()) == len(lines)
    assert all(result.dead_letters.column("reason").to_pylist())


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------

SAMPLES = {vpn.OPENVPN.name: [c[1] for c in OPENVPN_CASES], vpn.CISCO_ASA.name: [c[1] for c in ASA_CASES],
           vpn.FORTIGATE.name: [c[1] for c in FORTIGATE_CASES], vpn.GLOBALPROTECT.name: [c[1] for c in GP_CASES]}


@pytest.mark.parametrize("fmt", vpn.FORMATS, ids=lambda f: f.name)
def test_each_format_reads_its_own_sample_and_no_other(fmt):
    scores = {name: fmt.detect(sample) for name, sample in SAMPLES.items()}
    assert scores[fmt.name] == 1.0
    assert all(score == 0.0 for name, score in scores.items() if name != fmt.name), scores


def test_detection_is_a_share_of_the_sample():
    sample = SAMPLES["openvpn"][:3] + ["unrelated text"] * 3
    assert vpn.OPENVPN.detect(sample) == 0.5
    assert vpn.OPENVPN.detect([]) == 0.0


def test_openvpn_own_timestamps_need_openvpn_messages():
    assert vpn.OPENVPN.detect(["2026-11-27 19:02:11 Initialization Sequence Completed"]) == 1.0
    assert vpn.OPENVPN.detect(["2026-11-27 19:02:11 GET /index.html 200"]) == 0.0
    assert vpn.OPENVPN.detect(["Nov 27 19:02:11 host sshd[1]: Accepted password for root"]) == 0.0
