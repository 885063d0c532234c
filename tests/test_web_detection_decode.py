"""Request decoding (pipelines/parsing/decode.py) and the decoded fields every web format fills."""
from __future__ import annotations

import random
import re

import numpy as np
import pyarrow as pa
import pytest

from pipelines.parsing.base import LineBatch, ParseContext
from pipelines.parsing.decode import decode_request, decoded_columns, percent_decode
from pipelines.parsing.web import parse_apache_combined, parse_nginx_json, parse_squid, parse_w3c

_ESCAPE = re.compile(rb"%(?:[uU]([0-9a-fA-F]{4})|([0-9a-fA-F]{2}))")
_OVERLONG = ((b"\xc0\xae", b"."), (b"\xe0\x80\xae", b"."), (b"\xc0\xaf", b"/"),
             (b"\xe0\x80\xaf", b"/"), (b"\xc1\x9c", b"\\"), (b"\xc1\x1c", b"\\"),
             (b"\xc0\x80", b"\x00"))


def reference_pass(text: str, plus_in_query: bool) -> str:
    """One decoding pass written the plain way, per value (the oracle for the vectorised one)."""
    raw = text.encode("utf-8")
    if plus_in_query and b"?" in raw:
        head, tail = raw.split(b"?", 1)
        raw = head + b"?" + tail.replace(b"+", b" ")

    def one(match: re.Match) -> bytes:
        if match.group(1):
            code = int(match.group(1), 16)
            return ("\ufffd" if 0xD800 <= code < 0xE000 else chr(code)).encode("utf-8")
        return bytes([int(match.group(2), 16)])

    raw = _ESCAPE.sub(one, raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        for overlong, plain in _OVERLONG:
            raw = raw.replace(overlong, plain)
        return raw.decode("utf-8", "replace")


def reference(text: str | None) -> str | None:
    if text is None:
        return None
    return reference_pass(reference_pass(text, True), False)


@pytest.mark.parametrize("logged, read", [
    ("/a%20b?q=x+y%2Bz", "/a b?q=x y+z"),                      # + is a space in the query only
    ("/p+q/r?s=t", "/p+q/r?s=t"),                                # ... and stays a plus in the path
    ("/%252e%252e%252fetc/passwd", "/../etc/passwd"),            # double encoding
    ("/cgi-bin/%%32%65%%32%65/etc/passwd", "/cgi-bin/../etc/passwd"),  # CVE-2021-42013 form
    ("/..%c0%af..%c0%afetc", "/../../etc"),                      # overlong UTF-8 slash (IIS)
    ("/..%c1%9c..%c1%9cwinnt", "/..\\..\\winnt"),               # overlong backslash
    ("/x?q=%C3%A9t%C3%A9+2026", "/x?q=été 2026"),               # UTF-8 text stays text
    ("/%u002e%u002e%u2215etc", "/..∕etc"),                       # IIS %uXXXX
    ("/a?b=%zz%2&c=%", "/a?b=%zz%2&c=%"),                        # broken escapes are kept
    ("/?q=%ff%fe", "/?q=\ufffd\ufffd"),                          # invalid UTF-8 -> U+FFFD
    ("/index.php/%3CScRiPt%3Ealert(1)%3C/ScRiPt%3E", "/index.php/<ScRiPt>alert(1)</ScRiPt>"),
    ("/?q=100%25+s%C3%BBr", "/?q=100% sûr"),                    # a decoded % that starts nothing
    ("/?id=%2531%2520%2541%254E%2544", "/?id=1 AND"),            # sqlmap chardoubleencode
    ("", ""),
])
def test_decode_request(logged, read):
    assert decode_request(pa.array([logged]))[0].as_py() == read
    assert reference(logged) == read


def test_nulls_slices_and_chunks():
    values = pa.array(["/a%20b", None, "/%2541", None, "/plain"])
    assert decode_request(values).to_pylist() == ["/a b", None, "/A", None, "/plain"]
    assert decode_request(values.slice(2, 3)).to_pylist() == ["/A", None, "/plain"]
    chunked = pa.chunked_array([values.slice(0, 2), values.slice(2)])
    assert decode_request(chunked).to_pylist() == ["/a b", None, "/A", None, "/plain"]
    assert decode_request(pa.array([], pa.string())).to_pylist() == []
    assert decode_request(pa.nulls(3, pa.string())).to_pylist() == [None, None, None]
    assert decode_request(pa.array(["/x"], pa.large_string())).type == pa.string()


def test_plain_values_come_back_as_they_are():
    values = pa.array(["/fr/urgences", "/", "/fr/actualites/article.php?id=412"])
    assert percent_decode(values, plus_in_query=True) is values


def test_agrees_with_the_plain_per_value_decoder_on_random_requests():
    rng = random.Random(13)
    alphabet = ["%", "%2", "%25", "%2e", "%2F", "%c0", "%af", "%C3%A9", "%u002e", "%U2215", "%ud800",
                "+", "?", "a", "Z", "/", "..", "é", "%zz", "%0a", "%00", "&", "=", "%ff", " "]
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(3000)]
    values += [None] * 20
    rng.shuffle(values)
    assert decode_request(pa.array(values, pa.string())).to_pylist() == [reference(v) for v in values]


def test_decoded_columns_names_and_absent_sources():
    columns = {"url.original": pa.array(["/a%3Cb"]), "http.request.referrer": pa.array([None], pa.string()),
               "user_agent.original": pa.array(["%24%7Bjndi"])}
    decoded = decoded_columns(columns)
    assert {k: v.to_pylist() for k, v in decoded.items()} == {
        "vigie.url.decoded": ["/a<b"], "vigie.referrer.decoded": [None]}
    assert decoded_columns({"http.request.referrer": "scalar"}) == {}


def batch(lines: list[str]) -> LineBatch:
    return LineBatch("<test>", "0" * 16, pa.array(lines, pa.string()),
                     np.arange(len(lines), dtype=np.int64))


def test_every_web_format_fills_the_decoded_fields():
    apache = parse_apache_combined(batch([
        '203.0.113.9 - - [27/Nov/2026:20:01:00 +0100] "GET /index.php/%3CScRiPt%3E?q=a+b%2527 HTTP/1.1" '
        '404 10 "https://x.example/?r=%24%7Bjndi%3A" "Mozilla/5.0"',
        '203.0.113.9 - - [27/Nov/2026:20:01:00 +0100] "-" 400 0 "-" "-"',
    ]), ParseContext()).events
    assert apache.column("vigie.url.decoded").to_pylist() == ["/index.php/<ScRiPt>?q=a b'", None]
    assert apache.column("vigie.referrer.decoded").to_pylist() == ["https://x.example/?r=${jndi:", None]
    w3c = parse_w3c(batch([
        "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status cs(User-Agent) cs(Referer)",
        "2026-11-27 19:00:00 203.0.113.9 GET /Portail/x.aspx id=1%20UNION%20SELECT 200 Mozilla/5.0 -",
    ]), ParseContext()).events
    assert w3c.column("vigie.url.decoded").to_pylist() == ["/Portail/x.aspx?id=1 UNION SELECT"]
    squid = parse_squid(batch([
        "1795810000.123    250 10.20.14.33 TCP_MISS/200 4312 GET http://45.137.21.9/a%2Fb?c=d+e - "
        "HIER_DIRECT/45.137.21.9 text/html",
    ]), ParseContext()).events
    assert squid.column("vigie.url.decoded").to_pylist() == ["http://45.137.21.9/a/b?c=d e"]
    nginx = parse_nginx_json(batch([
        '{"time_local":"27/Nov/2026:19:02:03 +0100","remote_addr":"203.0.113.41","request":"GET '
        '/recherche?q=1%27%20UNION%20SELECT%20password-- HTTP/1.1","status":"403","body_bytes_sent":"146",'
        '"http_referer":"https://x.example/%3Cscript%3E","http_user_agent":"sqlmap/1.8.11"}',
    ]), ParseContext()).events
    assert nginx.column("vigie.url.decoded").to_pylist() == ["/recherche?q=1' UNION SELECT password--"]
    assert nginx.column("vigie.referrer.decoded").to_pylist() == ["https://x.example/<script>"]
