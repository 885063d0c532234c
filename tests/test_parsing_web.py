"""Web parsers (pipelines/parsing/web.py): every variant, field by field, and line accounting."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from pipelines.parsing import detect_format, web
from pipelines.parsing.base import LineBatch, ParseContext, ParseResult

UTC = dt.timezone.utc
IIS_FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
              "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken").split()


def make_batch(lines: list[str], path: str = "access.log") -> LineBatch:
    """A LineBatch of `lines`, with the byte offsets they would have in a file."""
    sizes = np.array([len(line.encode()) + 1 for line in lines], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return LineBatch(path, "0" * 16, pa.array(lines, pa.string()), offsets)


def parse(fmt, lines: list[str], ctx: ParseContext = ParseContext()) -> ParseResult:
    """Parse `lines` with `fmt`, checking that every line is accounted for exactly once."""
    result = fmt.parse(make_batch(lines), ctx)
    assert result.lines_accounted() == len(lines)
    return result


def only_event(fmt, line: str, ctx: ParseContext = ParseContext()) -> dict:
    """The single event made of `line`."""
    result = parse(fmt, [line], ctx)
    assert result.dead_letters.num_rows == 0, result.dead_letters["reason"].to_pylist()
    (event,) = result.events.to_pylist()
    return event


def reasons(result: ParseResult) -> list[str]:
    return result.dead_letters["reason"].to_pylist()


# ---------------------------------------------------------------------------------------------
# Apache / Nginx
# ---------------------------------------------------------------------------------------------

COMBINED_CASES = {
    "apache docs example": (
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.GIF?a=1&b=2 HTTP/1.0" 200 2326 '
        '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
        {"@timestamp": dt.datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC),
         "source.ip": "127.0.0.1", "source.address": "127.0.0.1", "source.domain": None,
         "user.name": "frank", "related.user": ["frank"], "related.ip": ["127.0.0.1"],
         "http.request.method": "GET", "http.version": "1.0",
         "url.original": "/apache_pb.GIF?a=1&b=2", "url.path": "/apache_pb.GIF",
         "url.query": "a=1&b=2", "url.extension": "gif", "url.domain": None, "url.port": None,
         "url.scheme": None, "http.response.status_code": 200, "http.response.bytes": 2326,
         "http.request.referrer": "http://www.example.com/start.html",
         "user_agent.original": "Mozilla/4.08 [en] (Win98; I ;Nav)",
         "event.outcome": "success", "event.duration": None, "event.timezone": None,
         "event.category": ["web"], "event.type": ["access"], "event.kind": "event",
         "event.dataset": "web.apache_combined", "event.module": "web",
         "observer.type": "web-server", "network.protocol": "http", "vigie.lines": 1}),
    "leading virtual host": (
        'www.sitename.com 192.0.2.222 - - [18/Aug/2024:21:08:39 +0100] "GET /filename.jpg HTTP/1.1" '
        '403 332 "-" "TrackBack/1.02"',
        {"@timestamp": dt.datetime(2024, 8, 18, 20, 8, 39, tzinfo=UTC), "source.ip": "192.0.2.222",
         "url.domain": "www.sitename.com", "url.port": None, "server.port": None,
         "user.name": None, "http.request.referrer": None, "event.outcome": "failure",
         "http.response.status_code": 403, "url.extension": "jpg"}),
    "virtual host with port (%v:%p)": (
        'www.site.tld:443 203.0.113.9 - - [01/Mar/2024:10:00:00 +0000] "GET / HTTP/2.0" 200 512 "-" "curl/8.0"',
        {"url.domain": "www.site.tld", "url.port": 443, "server.port": 443, "source.ip": "203.0.113.9",
         "http.version": "2.0", "url.path": "/", "url.extension": None}),
    "nginx request_time and x-forwarded-for": (
        '198.51.100.4 - - [01/Mar/2024:10:00:00 +0100] "POST /login HTTP/1.1" 401 17 "-" "python-requests/2.31" '
        '"10.1.2.3, 10.1.2.4" 0.123',
        {"@timestamp": dt.datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC), "event.duration": 123_000_000,
         "http.request.method": "POST", "event.outcome": "failure",
         "user_agent.original": "python-requests/2.31"}),
    "nginx x-forwarded-for only": (
        '12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] "GET //pma/scripts/setup.php HTTP/1.1" 404 47 "-" "-" "-"',
        {"event.duration": None, "user_agent.original": None, "url.path": "//pma/scripts/setup.php",
         "url.extension": "php", "http.response.status_code": 404}),
    "apache %D microseconds": (
        '192.0.2.1 - - [01/Mar/2024:10:00:00 +0000] "GET /a HTTP/1.1" 304 - "-" "UA" 2500',
        {"event.duration": 2_500_000, "http.response.bytes": None, "event.outcome": "success"}),
    "traefik counters and milliseconds": (
        '10.0.0.2 - username [18/Nov/2018:21:34:34 +0000] "TRACE /dashboard/ HTTP/2.0" 401 17 "-" '
        '"Mozilla/5.0" 72 "Auth for frontend-Host-traefik-0" "/dashboard/" 12ms',
        {"event.duration": 12_000_000, "http.request.method": "TRACE", "user.name": "username"}),
    "time without zone read in ctx.timezone": (
        '192.0.2.12 - user1 [27/Jun/2013:11:55:44] "GET /knocking/ HTTP/1.1" 200 266 "-" "Mozilla/5.0"',
        {"@timestamp": dt.datetime(2013, 6, 27, 9, 55, 44, tzinfo=UTC), "event.timezone": "Europe/Zurich"}),
    "escaped quotes and backslashes in quoted fields": (
        '192.0.2.7 - - [01/Mar/2024:10:00:00 +0000] "GET /q?x=\\"1\\" HTTP/1.1" 200 5 "-" '
        '"sqlmap \\"or 1=1-- \\\\"',
        {"url.original": '/q?x="1"', "url.query": 'x="1"',
         "user_agent.original": 'sqlmap "or 1=1-- \\', "tags": None}),
    "request '-' is an event without url": (
        '192.0.2.8 - - [01/Mar/2024:10:00:00 +0000] "-" 408 - "-" "-"',
        {"http.request.method": None, "url.original": None, "url.path": None, "http.version": None,
         "http.response.status_code": 408, "source.ip": "192.0.2.8"}),
    "empty request": (
        '12.34.56.78 - root [20/Jan/2015:19:53:28 +0100] "" 400 47 "-" "-" "-"',
        {"http.request.method": None, "url.original": None, "user.name": "root", "event.outcome": "failure"}),
    "TLS handshake sent to a plain-text port": (
        '192.0.2.9 - - [01/Mar/2024:10:00:00 +0000] "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03" 400 226 "-" "-"',
        {"http.request.method": None, "url.original": None, "http.response.status_code": 400}),
    "one-word request": (
        '12.34.56.78 - - [20/Jan/2015:19:54:28 +0100] "HELP" 400 47 "-" "-" "-"',
        {"http.request.method": None, "url.original": None}),
    "CONNECT host:port": (
        '7.8.9.10 - - [20/Jan/2015:01:17:07 +0100] "CONNECT mail.example.org:25 HTTP/1.1" 405 162 "-" "-"',
        {"http.request.method": "CONNECT", "url.original": "mail.example.org:25",
         "url.domain": "mail.example.org", "url.port": 25, "url.path": None}),
    "absolute URL (proxy request) wins over the vhost": (
        'www.site.tld 192.0.2.3 - - [01/Mar/2024:10:00:00 +0000] "GET http://user@evil.example:8080/x/Shell.PHP?c=id HTTP/1.1" '
        '404 0 "-" "-"',
        {"url.scheme": "http", "url.domain": "evil.example", "url.port": 8080, "url.path": "/x/Shell.PHP",
         "url.query": "c=id", "url.extension": "php", "http.response.bytes": 0}),
    "URL inside the query of a relative target": (
        '192.0.2.3 - - [01/Mar/2024:10:00:00 +0000] "GET /go?u=http://evil.example/x.js HTTP/1.1" 302 0 "-" "-"',
        {"url.path": "/go", "url.query": "u=http://evil.example/x.js", "url.domain": None,
         "url.scheme": None, "url.extension": None}),
    "HTTP/0.9 request without protocol": (
        '192.0.2.4 - - [01/Mar/2024:10:00:00 +0000] "GET /" 200 10 "-" "-"',
        {"http.request.method": "GET", "url.path": "/", "http.version": None}),
    "space inside the target": (
        '192.0.2.5 - - [01/Mar/2024:10:00:00 +0000] "GET /a b.html HTTP/1.1" 400 10 "-" "-"',
        {"http.request.method": "GET", "url.original": "/a b.html", "url.extension": "html",
         "http.version": "1.1"}),
    "IPv6 client": (
        '2001:db8::80da:af6b:8b2c - - [01/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"',
        {"source.ip": "2001:db8::80da:af6b:8b2c", "related.ip": ["2001:db8::80da:af6b:8b2c"]}),
    "host name client (HostnameLookups on)": (
        'crawl-66-249-66-1.googlebot.com - - [01/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"',
        {"source.ip": None, "source.domain": "crawl-66-249-66-1.googlebot.com",
         "source.address": "crawl-66-249-66-1.googlebot.com", "related.ip": None}),
    "dotfile and directory have no extension": (
        '192.0.2.6 - - [01/Mar/2024:10:00:00 +0000] "GET /.env HTTP/1.1" 404 1 "-" "-"',
        {"url.path": "/.env", "url.extension": None}),
}


@pytest.mark.parametrize("line, expected", COMBINED_CASES.values(), ids=COMBINED_CASES.keys())
def test_combined_variants(line, expected):
    event = only_event(web.APACHE_COMBINED, line, ParseContext(timezone="Europe/Zurich"))
    assert {name: event[name] for name in expected} == expected
    assert event["event.original"] == line


COMMON_CASES = {
    "plain": (
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
        {"@timestamp": dt.datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC), "user.name": "frank",
         "url.extension": "gif", "http.response.bytes": 2326, "user_agent.original": None,
         "http.request.referrer": None, "event.dataset": "web.apache_common", "event.duration": None}),
    "vhost and response time in seconds": (
        'intranet.local 10.0.0.5 - - [10/Oct/2000:13:55:36 +0200] "GET /index.html HTTP/1.1" 500 - 0.004',
        {"url.domain": "intranet.local", "event.duration": 4_000_000, "event.outcome": "failure",
         "http.response.bytes": None, "source.ip": "10.0.0.5"}),
}


@pytest.mark.parametrize("line, expected", COMMON_CASES.values(), ids=COMMON_CASES.keys())
def test_common_variants(line, expected):
    event = only_event(web.APACHE_COMMON, line)
    assert {name: event[name] for name in expected} == expected


COMBINED_LINE = COMBINED_CASES["apache docs example"][0]
COMMON_LINE = COMMON_CASES["plain"][0]


def test_only_lines_without_a_readable_header_are_dead_lettered():
    lines = [
        COMBINED_LINE,
        "",
        "   ",
        "garbage",
        COMBINED_LINE[:-20],  # truncated inside the user agent
        COMBINED_LINE.replace("10/Oct/2000", "40/Oct/2000"),
        COMBINED_LINE.replace("-0700]", "-0700] extra"),
        COMMON_LINE,  # a common line in a combined file
        COMBINED_LINE.replace(" 200 ", " 2000 "),
        "\x00\x01\x02",
        "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700]",  # header and nothing else
    ]
    result = parse(web.APACHE_COMBINED, lines)
    assert result.skipped == {"blank line": 2}
    layout = "does not match apache_combined layout"
    assert reasons(result) == [layout, "bad timestamp '40/Oct/2000:13:55:36 -0700'", layout]
    offsets = make_batch(lines).offsets
    assert result.dead_letters["origin.offset"].to_pylist() == offsets[[3, 5, 9]].tolist()
    assert result.dead_letters["raw_text"].to_pylist()[0] == "garbage"
    assert set(result.dead_letters["lines"].to_pylist()) == {1}
    events = result.events.to_pylist()
    assert [e["event.original"] for e in events] == [lines[i] for i in (0, 4, 6, 7, 8, 10)]
    assert {e["source.ip"] for e in events} == {"127.0.0.1"}
    assert {e["@timestamp"] for e in events} == {dt.datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)}
    assert [e["tags"] for e in events] == [None] + [[web.PARTIAL_TAG]] * 5
    truncated, extra, common, bad_status, bare = events[1:]
    assert (truncated["url.path"], common["url.path"]) == ("/apache_pb.GIF", "/apache_pb.gif")
    assert (truncated["http.response.status_code"], truncated["user_agent.original"]) == (200, "Mozilla/4.08 [")
    assert extra["http.request.method"] == "GET" and bad_status["http.response.status_code"] is None
    assert bare["url.original"] is None and bare["user.name"] == "frank"


def test_common_reads_combined_lines_as_partial_events():
    result = parse(web.APACHE_COMMON, [COMBINED_LINE, COMMON_LINE])
    assert result.dead_letters.num_rows == 0
    first, second = result.events.to_pylist()
    assert (first["url.path"], second["url.path"]) == ("/apache_pb.GIF", "/apache_pb.gif")
    assert first["user_agent.original"] == "Mozilla/4.08 [en] (Win98; I ;Nav)"
    assert (first["tags"], second["tags"]) == ([web.PARTIAL_TAG], None)
    assert second["user_agent.original"] is None


def test_events_keep_origin_and_deterministic_ids():
    lines = [COMBINED_LINE, "garbage", COMBINED_LINE]
    first = parse(web.APACHE_COMBINED, lines)
    again = parse(web.APACHE_COMBINED, lines)
    assert first.events["log.offset"].to_pylist() == [0, len(COMBINED_LINE) + 9]
    assert first.events["event.id"].to_pylist() == again.events["event.id"].to_pylist()
    assert len(set(first.events["event.id"].to_pylist())) == 2
    assert first.events["log.file.path"].to_pylist() == ["access.log"] * 2


def test_empty_batch():
    for fmt in web.FORMATS:
        result = parse(fmt, [])
        assert result.events.num_rows == result.dead_letters.num_rows == 0


# ---------------------------------------------------------------------------------------------
# W3C / IIS
# ---------------------------------------------------------------------------------------------

IIS_HEADER = [
    "#Software: Microsoft Internet Information Services 10.0",
    "#Version: 1.0",
    "#Date: 2024-03-01 10:00:00",
    "#Fields: " + " ".join(IIS_FIELDS),
]
IIS_LOGON = ("2024-03-01 10:00:01 192.168.1.10 GET /owa/auth/logon.ASPX replaceCurrent=1&url=x 443 "
             "CORP\\alice 203.0.113.5 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) https://mail.example.org/owa/ "
             "302 0 0 46")
IIS_DASHES = "2024-03-01 10:00:02 192.168.1.10 POST /autodiscover/autodiscover.json - 443 - 203.0.113.6 - - 404 0 2 3"


def test_w3c_iis_fields():
    result = parse(web.W3C, IIS_HEADER + [IIS_LOGON, IIS_DASHES])
    assert result.skipped == {"w3c directive": 4}
    logon, dashes = result.events.to_pylist()
    expected = {
        "@timestamp": dt.datetime(2024, 3, 1, 10, 0, 1, tzinfo=UTC),
        "server.ip": "192.168.1.10", "server.port": 443, "url.port": 443,
        "http.request.method": "GET", "url.path": "/owa/auth/logon.ASPX",
        "url.query": "replaceCurrent=1&url=x", "url.original": "/owa/auth/logon.ASPX?replaceCurrent=1&url=x",
        "url.extension": "aspx", "user.name": "CORP\\alice", "source.ip": "203.0.113.5",
        "user_agent.original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "http.request.referrer": "https://mail.example.org/owa/", "http.response.status_code": 302,
        "event.duration": 46_000_000, "event.outcome": "success",
        "related.ip": ["203.0.113.5", "192.168.1.10"], "related.user": ["CORP\\alice"],
        "event.dataset": "web.w3c", "event.category": ["web"], "event.type": ["access"],
    }
    assert {name: logon[name] for name in expected} == expected
    assert {name: dashes[name] for name in ("url.query", "user.name", "user_agent.original",
                                            "http.request.referrer", "url.original", "event.outcome")} == {
        "url.query": None, "user.name": None, "user_agent.original": None, "http.request.referrer": None,
        "url.original": "/autodiscover/autodiscover.json", "event.outcome": "failure"}


def test_w3c_fields_change_mid_batch():
    lines = IIS_HEADER + [
        IIS_LOGON,
        "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs-host cs-bytes sc-bytes cs-version",
        "2024-03-01 10:05:00 198.51.100.7 GET /x.php 500 www.example.org:8080 120 4096 HTTP/1.1",
    ]
    result = parse(web.W3C, lines)
    assert result.skipped == {"w3c directive": 5}
    second = result.events.to_pylist()[1]
    assert {name: second[name] for name in ("source.ip", "url.domain", "url.port", "http.request.bytes",
                                             "http.response.bytes", "http.version", "server.ip")} == {
        "source.ip": "198.51.100.7", "url.domain": "www.example.org", "url.port": 8080,
        "http.request.bytes": 120, "http.response.bytes": 4096, "http.version": "1.1", "server.ip": None}


def test_w3c_fields_from_context_and_lines_before_any_fields():
    with_context = parse(web.W3C, [IIS_LOGON, IIS_DASHES], ParseContext(w3c_fields=tuple(IIS_FIELDS)))
    assert with_context.events.num_rows == 2
    assert with_context.skipped == {}
    # a line before any #Fields that fits IIS's default layout is read with it, and says so
    without = parse(web.W3C, [IIS_LOGON] + IIS_HEADER + [IIS_DASHES])
    assert without.events["source.ip"].to_pylist() == ["203.0.113.5", "203.0.113.6"]
    assert without.events["tags"].to_pylist() == [[web.INFERRED_TAG], None]
    other = parse(web.W3C, ["2024-03-01 10:00:01 192.0.2.1 GET /x", "#Fields: date time c-ip"])
    assert reasons(other) == ["W3C data line before any #Fields directive, not in an IIS default layout"]


def test_w3c_bad_lines():
    lines = IIS_HEADER + ["2024-03-01 10:00:02 too few values",
                          IIS_LOGON.replace("2024-03-01", "2024-13-01"), "", "#Remark: rotated"]
    result = parse(web.W3C, lines)
    assert result.events.num_rows == 0
    assert reasons(result) == ["value count differs from #Fields (15 fields)",
                               "bad timestamp '2024-13-01 10:00:01'"]
    assert result.skipped == {"w3c directive": 5, "blank line": 1}


def test_w3c_values_separated_by_any_whitespace():
    result = parse(web.W3C, ["#Fields: date time c-ip sc-status", "2024-03-01\t10:00:00  192.0.2.1 200 "])
    assert result.events["source.ip"].to_pylist() == ["192.0.2.1"]


def test_w3c_without_date_field():
    result = parse(web.W3C, ["#Fields: time c-ip", "10:00:00 192.0.2.1"])
    assert reasons(result) == ["W3C #Fields has no date and time"]


# ---------------------------------------------------------------------------------------------
# Squid
# ---------------------------------------------------------------------------------------------

SQUID_CASES = {
    "denied GET": (
        "1386543323.000      4 91.188.124.227 TCP_DENIED/403 4099 GET http://www.proxy-listen.de/azenv.php - HIER_NONE/- text/html",
        {"@timestamp": dt.datetime(2013, 12, 8, 22, 55, 23, tzinfo=UTC), "source.ip": "91.188.124.227",
         "event.action": "TCP_DENIED", "event.type": ["access", "denied"], "event.outcome": "failure",
         "http.response.status_code": 403, "http.response.bytes": 4099, "http.request.method": "GET",
         "url.scheme": "http", "url.domain": "www.proxy-listen.de", "url.path": "/azenv.php",
         "url.extension": "php", "user.name": None, "destination.address": None,
         "http.response.mime_type": "text/html", "event.duration": 4_000_000,
         "event.dataset": "web.squid", "observer.product": "squid", "observer.type": "proxy"}),
    "CONNECT tunnel with user and peer": (
        "1709287200.123    350 10.1.2.3 TCP_TUNNEL/200 5120 CONNECT login.example.com:443 alice HIER_DIRECT/203.0.113.80 -",
        {"@timestamp": dt.datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=UTC), "event.action": "TCP_TUNNEL",
         "event.type": ["access"], "url.domain": "login.example.com", "url.port": 443, "url.path": None,
         "user.name": "alice", "related.user": ["alice"], "destination.ip": "203.0.113.80",
         "destination.address": "203.0.113.80", "related.ip": ["10.1.2.3", "203.0.113.80"],
         "http.response.mime_type": None, "event.outcome": "success", "event.duration": 350_000_000}),
    "no reply (000)": (
        "1386543500.000      5 175.44.0.184 NONE/000 0 CONNECT error:method-not-allowed - HIER_NONE/- -",
        {"http.response.status_code": None, "event.outcome": None, "url.original": "error:method-not-allowed",
         "url.domain": None, "event.action": "NONE"}),
}


@pytest.mark.parametrize("line, expected", SQUID_CASES.values(), ids=SQUID_CASES.keys())
def test_squid_variants(line, expected):
    event = only_event(web.SQUID, line)
    assert {name: event[name] for name in expected} == expected


def test_squid_bad_lines():
    result = parse(web.SQUID, ["1386543323.000 4 1.2.3.4 TCP_DENIED/403",
                               "not squid at all here really no, ten words", "", COMBINED_LINE])
    assert reasons(result) == ["does not match squid layout"] * 3
    assert result.skipped == {"blank line": 1}


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------

SAMPLES = {
    "apache_combined": [line for line, _ in COMBINED_CASES.values()],
    "apache_common": [line for line, _ in COMMON_CASES.values()] * 3,
    "w3c": IIS_HEADER + [IIS_LOGON, IIS_DASHES] * 5,
    "squid": [line for line, _ in SQUID_CASES.values()],
}


@pytest.mark.parametrize("name", SAMPLES)
def test_detection_picks_the_format(name):
    fmt, score = detect_format(SAMPLES[name])
    assert fmt is not None and fmt.name == name
    assert score == 1.0
    for other in web.FORMATS:
        if other.name != name:
            assert other.detect(SAMPLES[name]) == 0.0, other.name


def test_detection_of_w3c_needs_a_fields_directive_or_iis_default_lines():
    assert web.W3C.detect([IIS_LOGON, IIS_DASHES]) == 1.0
    assert web.W3C.detect(["2024-03-01 10:00:01 192.0.2.1 GET /x 200"]) == 0.0
    assert web.W3C.detect(["# a comment", "#Fields: date time", "2024-01-01 00:00:00"]) == pytest.approx(2 / 3)
