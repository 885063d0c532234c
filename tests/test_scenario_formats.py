"""The log line writers (pipelines/scenario/formats.py): the exact line of each format and variant,
and each line read back by Vigie's parser of that format into the values it was written from."""
from __future__ import annotations

import datetime as dt
import ipaddress
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from pipelines.parsing import ALL_FORMATS, detect_format, format_by_name
from pipelines.parsing.base import LineBatch, ParseContext
from pipelines.scenario import formats

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.timezone.utc
AT = dt.datetime(2026, 11, 27, 19, 2, 11, 123_000, tzinfo=PARIS)  # 18:02:11.123 UTC
AT_UTC = dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC)
CTX = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 12, 1, tzinfo=UTC))

# (writer call, the exact line)
EXACT = {
    "apache combined": (
        formats.apache_combined(AT, "203.0.113.5", "GET", "/recherche?q=1", 200, 5120,
                                "https://www.chu-exemple.fr/", "Mozilla/5.0 (X11)"),
        '203.0.113.5 - - [27/Nov/2026:19:02:11 +0100] "GET /recherche?q=1 HTTP/1.1" 200 5120 '
        '"https://www.chu-exemple.fr/" "Mozilla/5.0 (X11)"'),
    "apache combined, empty body, user, vhost with port, HTTP/2": (
        formats.apache_combined(AT, "203.0.113.5", "POST", "/login", 302, 0, "", None,
                                protocol="HTTP/2.0", user="jdupont", vhost="www.site.tld:443"),
        'www.site.tld:443 203.0.113.5 - jdupont [27/Nov/2026:19:02:11 +0100] '
        '"POST /login HTTP/2.0" 302 - "-" "-"'),
    "apache common with vhost": (
        formats.apache_common(AT.astimezone(UTC), "10.0.0.5", "GET", "/index.html", 500, None,
                              vhost="intranet.local"),
        'intranet.local 10.0.0.5 - - [27/Nov/2026:18:02:11 +0000] "GET /index.html HTTP/1.1" 500 -'),
    "iis": (
        formats.iis(AT, "10.10.2.15", "GET", "/Portail/Documents", "id=D2026-1", 443,
                    "a.b@free.fr", "90.118.42.7", "Mozilla/5.0 (X11; Linux)", None, 200, 87,
                    win32_status=64),
        "2026-11-27 18:02:11 10.10.2.15 GET /Portail/Documents id=D2026-1 443 a.b@free.fr "
        "90.118.42.7 Mozilla/5.0+(X11;+Linux) - 200 0 64 87"),
    "w3c other fields": (
        formats.w3c(AT, ("date", "time", "c-ip", "cs-method", "cs-uri-stem", "sc-status"),
                    {"c-ip": "198.51.100.4", "cs-method": "GET", "cs-uri-stem": "/a", "sc-status": 404}),
        "2026-11-27 18:02:11 198.51.100.4 GET /a 404"),
    "squid": (
        formats.squid(AT, 350, "10.20.1.10", "TCP_TUNNEL", 200, 5120, "CONNECT",
                      "www.vidal.fr:443", "jdupont", "HIER_DIRECT/193.252.22.150"),
        "1795802531.123    350 10.20.1.10 TCP_TUNNEL/200 5120 CONNECT www.vidal.fr:443 jdupont "
        "HIER_DIRECT/193.252.22.150 -"),
    "postfix": (
        formats.postfix(AT, "mx1", "postfix/smtpd", 2204, "connect from unknown[162.142.125.201]"),
        "Nov 27 19:02:11 mx1 postfix/smtpd[2204]: connect from unknown[162.142.125.201]"),
    "postfix, day padded with a space": (
        formats.postfix(AT.replace(day=3), "mx1", "postfix/qmgr", 1189, "4F3A21C0042: removed"),
        "Nov  3 19:02:11 mx1 postfix/qmgr[1189]: 4F3A21C0042: removed"),
    "syslog rfc3339 with priority, no pid": (
        formats.syslog(AT, "mx1", "postfix/smtpd", "connect from a.example[192.0.2.9]",
                       stamp="rfc3339", priority=22),
        "<22>2026-11-27T19:02:11.123000+01:00 mx1 postfix/smtpd: connect from a.example[192.0.2.9]"),
    "exim": (
        formats.exim(AT, "1vXyZa-000abc-AB Completed"),
        "2026-11-27 19:02:11 1vXyZa-000abc-AB Completed"),
    "exim with pid": (
        formats.exim(AT, "Start queue run: pid=4242", pid=4242),
        "2026-11-27 19:02:11 [4242] Start queue run: pid=4242"),
    "openvpn": (
        formats.openvpn(AT, "vpn-dsi-01", "203.0.113.5:51234 TLS Error: TLS handshake failed",
                        program="ovpn-server", pid=1187),
        "Nov 27 19:02:11 vpn-dsi-01 ovpn-server[1187]: 203.0.113.5:51234 TLS Error: TLS "
        "handshake failed"),
    "cisco asa": (
        formats.cisco_asa(AT, "asa-chu-01", 6, 113005, "AAA user authentication Rejected : "
                          "reason = AAA failure : server = 10.1.1.5 : user = jdoe : user IP = "
                          "45.137.21.9"),
        "Nov 27 2026 19:02:11 asa-chu-01 : %ASA-6-113005: AAA user authentication Rejected : "
        "reason = AAA failure : server = 10.1.1.5 : user = jdoe : user IP = 45.137.21.9"),
    "fortigate": (
        formats.fortigate(AT, "FGT-CHU-01", "FG100FTK21004512", {
            "logid": "0101039426", "type": "event", "subtype": "vpn", "tunnelid": 0,
            "remip": ipaddress.ip_address("45.137.21.9"), "user": "jdoe"}),
        'date=2026-11-27 time=19:02:11 devname="FGT-CHU-01" devid="FG100FTK21004512" '
        'eventtime=1795802531123000000 tz="+0100" logid="0101039426" type="event" '
        'subtype="vpn" tunnelid=0 remip=45.137.21.9 user="jdoe"'),
    "globalprotect system, forwarded": (
        formats.globalprotect_system(AT, "globalprotectgateway-auth-fail",
                                     "GlobalProtect gateway user authentication failed. Login "
                                     "from: 203.0.113.5, User name: jdoe.", object_name="GP-GW",
                                     device="PA-VM", serial="007200001165", sequence=641825,
                                     syslog_host="pa-fw"),
        'Nov 27 19:02:11 pa-fw 1,2026/11/27 19:02:11,007200001165,SYSTEM,globalprotect,0,'
        '2026/11/27 19:02:11,,globalprotectgateway-auth-fail,GP-GW,0,0,general,informational,'
        '"GlobalProtect gateway user authentication failed. Login from: 203.0.113.5, User name: '
        'jdoe.",641825,0x8000000000000000,0,0,0,0,,PA-VM'),
}


def test_every_parsed_format_has_a_writer_of_its_name():
    assert {fmt.name for fmt in ALL_FORMATS} <= {name for name in dir(formats) if callable(getattr(formats, name))}
    assert {fmt.name for fmt in ALL_FORMATS} == set(ROUND_TRIPS)


@pytest.mark.parametrize("written, expected", EXACT.values(), ids=EXACT.keys())
def test_exact_lines(written, expected):
    assert written == expected


def test_globalprotect_record_layout():
    line = formats.globalprotect(AT, "gateway-auth", "login", "success", "CORP\\jdoe", "203.0.113.5",
                                 private_ip="10.20.0.7", client_os_version="Windows 11, 64-bit",
                                 device="PA-3220-HQ", high_resolution=True)
    assert line.startswith("1,2026/11/27 19:02:11,,GLOBALPROTECT,0,2561,2026/11/27 19:02:11,vsys1,"
                           "gateway-auth,login,,ipsec,CORP\\jdoe,,,203.0.113.5,,10.20.0.7,")
    assert ',"Windows 11, 64-bit",1,,,"",success,' in line
    assert ",2026-11-27T19:02:11.123+01:00," in line and line.endswith(",PA-3220-HQ,1,")


def test_w3c_header_is_the_iis_block():
    assert formats.w3c_header(AT) == [
        "#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0",
        "#Date: 2026-11-27 18:02:11", "#Fields: " + " ".join(formats.IIS_FIELDS)]


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware datetime"):
        formats.exim(dt.datetime(2026, 11, 27, 19, 2, 11), "x")


def test_the_same_instant_in_two_zones_is_written_in_each_zone():
    assert formats.exim(AT_UTC, "x") == "2026-11-27 18:02:11 x"
    assert formats.exim(AT_UTC.astimezone(PARIS), "x") == "2026-11-27 19:02:11 x"
    assert formats.exim(AT_UTC, "x") == "2026-11-27 18:02:11 x"


def _parse(format_name: str, lines: list[str], ctx: ParseContext = CTX) -> list[dict]:
    """Vigie's parser of `format_name` over `lines`: one event a line, no dead letter."""
    sizes = np.array([len(line.encode()) + 1 for line in lines], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    batch = LineBatch("written.log", "0" * 16, pa.array(lines, pa.string()), offsets)
    result = format_by_name(format_name).parse(batch, ctx)
    assert result.dead_letters is None or result.dead_letters.num_rows == 0
    events = result.events.to_pylist() if result.events is not None else []
    fragments = result.fragments.to_pylist() if getattr(result, "fragments", None) is not None else []
    return events + fragments


# (format, lines written, the fields the parser must read back from the first line)
ROUND_TRIPS = {
    "apache_combined": (
        [formats.apache_combined(AT, "203.0.113.5", "GET", "/a.php?x=1", 404, 7612, "-", "curl/8.5.0",
                                 user="jdoe")] * 3,
        {"@timestamp": AT_UTC, "source.ip": "203.0.113.5", "url.path": "/a.php", "url.query": "x=1",
         "http.response.status_code": 404, "http.response.bytes": 7612, "user.name": "jdoe",
         "user_agent.original": "curl/8.5.0", "http.request.referrer": None}),
    "apache_common": (
        [formats.apache_common(AT, "203.0.113.5", "GET", "/", 200, 10, vhost="www.site.tld:443")] * 3,
        {"@timestamp": AT_UTC, "source.ip": "203.0.113.5", "url.domain": "www.site.tld",
         "url.port": 443, "http.response.bytes": 10}),
    "w3c": (
        formats.w3c_header(AT) + [formats.iis(AT, "10.10.2.15", "POST", "/Portail/Account/Login",
                                              "ReturnUrl=%2FPortail%2F", 443, None, "90.118.42.7",
                                              "Mozilla/5.0 (X11)", "https://p.example/", 302, 120)] * 3,
        {"@timestamp": AT_UTC, "source.ip": "90.118.42.7", "http.request.method": "POST",
         "url.path": "/Portail/Account/Login", "user_agent.original": "Mozilla/5.0 (X11)",
         "http.response.status_code": 302, "event.duration": 120_000_000, "user.name": None}),
    "squid": (
        [formats.squid(AT, 4, "10.20.1.10", "TCP_DENIED", 403, 3982, "CONNECT", "www.netflix.com:443",
                       "jdoe", "HIER_NONE/-", "text/html")] * 3,
        {"@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, 123_000, tzinfo=UTC),
         "source.ip": "10.20.1.10", "event.action": "TCP_DENIED", "user.name": "jdoe",
         "url.domain": "www.netflix.com", "http.response.mime_type": "text/html"}),
    "apache_error": (
        [formats.apache_error(AT, "error", "client denied by server configuration: /srv/www/.git",
                              module="authz_core", pid=2231, tid=1402, client="203.0.113.5",
                              client_port=52214, code="AH01630")] * 3,
        {"@timestamp": AT_UTC.replace(microsecond=AT.microsecond // 1000 * 1000), "source.ip": "203.0.113.5",
         "source.port": 52214, "log.level": "error", "log.logger": "authz_core", "process.pid": 2231,
         "event.code": "AH01630", "message": "client denied by server configuration: /srv/www/.git"}),
    "nginx_error": (
        [formats.nginx_error(AT, "error", 2231, 'open() "/srv/www/.env" failed (2: No such file or directory)',
                             connection=5, client="203.0.113.5", server="www.chu-exemple.fr",
                             request="GET /.env HTTP/1.1", host="www.chu-exemple.fr")] * 3,
        {"@timestamp": AT_UTC, "source.ip": "203.0.113.5", "url.path": "/.env", "log.level": "error",
         "process.pid": 2231, "url.domain": "www.chu-exemple.fr"}),
    "nginx_json": (
        [formats.nginx_json(AT, {"remote_addr": "203.0.113.5", "request": "GET /a.php?x=1 HTTP/1.1",
                                 "status": 404, "body_bytes_sent": 7612, "request_time": "0.004",
                                 "http_referer": None, "http_user_agent": "curl/8.5.0"})] * 3,
        {"@timestamp": AT_UTC, "source.ip": "203.0.113.5", "url.path": "/a.php", "url.query": "x=1",
         "http.response.status_code": 404, "http.response.bytes": 7612, "event.duration": 4_000_000,
         "user_agent.original": "curl/8.5.0", "http.request.referrer": None}),
    "postfix": (
        [formats.postfix(AT, "mx1", "postfix/smtpd", 2204, "4F3A21C0042: client=pc-12.chu.local"
                         "[10.20.1.10], sasl_method=LOGIN, sasl_username=jdoe")] * 3,
        {"@timestamp": AT_UTC, "source.ip": "10.20.1.10", "user.name": "jdoe"}),
    "exim": (
        [formats.exim(AT, "1vXyZa-000abc-AB <= a@chu-exemple.fr H=(PC-1) [10.20.1.10] P=esmtpsa "
                          "A=dovecot_login:jdoe S=1234 for b@chu-exemple.fr")] * 3,
        {"@timestamp": AT_UTC, "source.ip": "10.20.1.10", "user.name": "jdoe"}),
    "openvpn": (
        [formats.openvpn(AT, "vpn-dsi-01", "203.0.113.5:51234 TLS: Username/Password authentication "
                                           "succeeded for username 'jdoe'")] * 3,
        {"@timestamp": AT_UTC, "source.ip": "203.0.113.5", "user.name": "jdoe",
         "event.action": "vpn-login-success"}),
    "cisco_asa": (
        [formats.cisco_asa(AT, "asa-chu-01", 6, 113005, "AAA user authentication Rejected : reason = "
                           "AAA failure : server = 10.1.1.5 : user = jdoe : user IP = 45.137.21.9")] * 3,
        {"@timestamp": AT_UTC, "source.ip": "45.137.21.9", "user.name": "jdoe",
         "event.action": "vpn-login-failure"}),
    "fortigate": (
        [formats.fortigate(AT, "FGT-CHU-01", "FG100FTK21004512", {
            "logid": "0101039426", "type": "event", "subtype": "vpn", "level": "alert",
            "action": "ssl-login-fail", "remip": ipaddress.ip_address("45.137.21.9"),
            "user": "jdoe"})] * 3,
        {"@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, 123_000, tzinfo=UTC),
         "source.ip": "45.137.21.9", "user.name": "jdoe", "event.action": "vpn-login-failure"}),
    "globalprotect": (
        [formats.globalprotect(AT, "gateway-auth", "login", "failure", "CORP\\jdoe", "203.0.113.5",
                               error="Authentication failed", device="PA-3220-HQ")] * 3,
        {"@timestamp": AT_UTC, "source.ip": "203.0.113.5", "user.name": "jdoe",
         "event.action": "vpn-login-failure", "observer.hostname": "PA-3220-HQ"}),
}


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_parser_reads_back_what_was_written(name):
    lines, expected = ROUND_TRIPS[name]
    rows = _parse(name, lines)
    assert len(rows) == len([line for line in lines if not line.startswith("#")])
    first = rows[0]
    assert {field: first.get(field) for field in expected} == expected


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_detection_recognises_written_lines(name):
    lines, _ = ROUND_TRIPS[name]
    detected, _ = detect_format(lines)
    assert detected is not None and detected.name == name
