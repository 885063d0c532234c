"""Property tests of every web parser (hypothesis).

1. Any string (any code point, `\\xNN` text, quotes, backslashes, NULs, control characters,
   8 KB payloads) put raw into any field of an otherwise valid line: the parser never raises and
   accounts for the line exactly once.
2. Batches of any composition (one row, all invalid, every format mixed, blank lines): never
   raises, never loses a line, events and dead letters never share a line, ids are unique.
3. An attack string written into a field the way the server writes it (Apache's and nginx's
   escaping, ModSecurity's on top of Apache's, JSON, IIS's `+`) always gives one event whose
   event.original is the line and whose field holds the attack string as the client sent it.
"""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.parsing import web
from pipelines.parsing.base import ParseContext

from parser_properties import batch_of

CTX = ParseContext(timezone="Europe/Paris")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------------------------
# Strings
# ---------------------------------------------------------------------------------------------

FRAGMENTS = ['"', "\\", '\\"', "\\\\", "\\x41", "\\xff", "\\x", "\x00", "\x16\x03\x01", "\r", "\n", "\t",
             "\x7f", "é", "\u2028", "\ufeff", "💉", " ", "  ", "-", "[", "]", "[client 192.0.2.1]",
             ", client: 192.0.2.1", ", referer: x", "' OR 1=1--", "<script>alert(1)</script>",
             "${jndi:ldap://198.51.100.66/a}", "../../etc/passwd", "%00", "%2e%2e%2f", "?", "&", "=",
             "://", "HTTP/1.1", " HTTP/1.0", "{", "}", ":", ",", "#Fields: date time", "ModSecurity:",
             '[id "1"]', "\\u0000", "+"]
ANY_CHAR = st.characters(codec="utf-8", exclude_categories=("Cs",))
PIECE = st.one_of(st.text(ANY_CHAR, max_size=12), st.sampled_from(FRAGMENTS))
ATTACK = st.one_of(
    st.lists(PIECE, max_size=12).map("".join),
    st.tuples(st.sampled_from(["A", "\\x90\\x02", "\x90\x02\xb1", "%u9090"]), st.integers(1, 8192)).map(
        lambda pair: (pair[0] * pair[1])[:8192]),
)


def without(*forbidden: str):
    """An ATTACK string that contains none of `forbidden` (characters or substrings)."""
    return ATTACK.filter(lambda text: not any(f in text for f in forbidden))


def apache_escape(text: str, quote: bool = True) -> str:
    """What Apache writes for `text` (ap_escape_logitem; error log: `quote=False`, `"` as is)."""
    named = {8: "\\b", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 92: "\\\\"}
    out = []
    for byte in text.encode("utf-8"):
        if byte == 34:
            out.append('\\"' if quote else '"')
        elif byte in named:
            out.append(named[byte])
        else:
            out.append(chr(byte) if 32 <= byte < 127 else f"\\x{byte:02x}")
    return "".join(out)


def nginx_escape(text: str) -> str:
    """What nginx's `escape=default` writes for `text`."""
    return "".join(f"\\x{b:02X}" if b < 32 or b > 126 or b in (34, 92) else chr(b) for b in text.encode("utf-8"))


def modsecurity_escape(text: str) -> str:
    """What ModSecurity 2 writes inside `[msg "..."]` (log_escape), before Apache's own escaping."""
    named = {8: "\\b", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 92: "\\\\", 34: '\\"'}
    return "".join(named.get(b) or (chr(b) if 32 <= b < 127 else f"\\x{b:02x}") for b in text.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Lines of each format with one field to fill (templates written by the project)
# ---------------------------------------------------------------------------------------------

CLF_HEAD = '203.0.113.9 - {user} [27/Nov/2026:19:02:03 +0100] '
FORMATS = {fmt.name: fmt for fmt in web.FORMATS}
TEMPLATES = {
    "apache_combined": {
        "user": CLF_HEAD + '"GET / HTTP/1.1" 200 5 "-" "curl/8"',
        "request": CLF_HEAD.format(user="-") + '"{x}" 200 5 "-" "curl/8"',
        "referrer": CLF_HEAD.format(user="-") + '"GET / HTTP/1.1" 200 5 "{x}" "curl/8"',
        "agent": CLF_HEAD.format(user="-") + '"GET / HTTP/1.1" 200 5 "-" "{x}"',
        "status": CLF_HEAD.format(user="-") + '"GET / HTTP/1.1" {x} 5 "-" "curl/8"',
        "tail": CLF_HEAD.format(user="-") + '"GET / HTTP/1.1" 200 5 "-" "curl/8" {x}',
    },
    "apache_common": {
        "request": CLF_HEAD.format(user="-") + '"{x}" 200 5',
        "bytes": CLF_HEAD.format(user="-") + '"GET / HTTP/1.1" 200 {x}',
    },
    "w3c": {
        "stem": "2026-11-27 18:02:03 10.20.0.30 GET /{x} - 443 - 203.0.113.9 curl/8 - 200 0 0 31",
        "query": "2026-11-27 18:02:03 10.20.0.30 GET /x {x} 443 - 203.0.113.9 curl/8 - 200 0 0 31",
        "agent": "2026-11-27 18:02:03 10.20.0.30 GET /x - 443 - 203.0.113.9 {x} - 200 0 0 31",
        "user": "2026-11-27 18:02:03 10.20.0.30 GET /x - 443 {x} 203.0.113.9 curl/8 - 200 0 0 31",
    },
    "squid": {
        "url": "1795802523.123      4 10.20.1.10 TCP_DENIED/403 3982 GET http://example.org/{x} - HIER_NONE/- text/html",
        "user": "1795802523.123      4 10.20.1.10 TCP_MISS/200 3982 GET http://example.org/ {x} HIER_NONE/- text/html",
    },
    "apache_error": {
        "message": "[Fri Nov 27 19:02:03.551270 2026] [core:error] [pid 1:tid 2] [client 203.0.113.9:5] AH00126: {x}",
        "modsecurity": ('[Fri Nov 27 19:02:03.551270 2026] [security2:error] [pid 1:tid 2] [client 203.0.113.9:5] '
                        'ModSecurity: Warning. [id "942100"] [msg "{x}"] [severity "CRITICAL"] [uri "/"]'),
        "client": "[Fri Nov 27 19:02:03 2026] [error] [client {x}] File does not exist: /x",
    },
    "nginx_error": {
        "message": "2026/11/27 19:02:03 [error] 1#1: *5 {x}, client: 203.0.113.9, server: s, request: \"GET / HTTP/1.1\"",
        "request": "2026/11/27 19:02:03 [error] 1#1: *5 m, client: 203.0.113.9, server: s, request: \"{x}\", host: \"h\"",
    },
    "nginx_json": {
        "request": '{{"time_local":"27/Nov/2026:19:02:03 +0100","remote_addr":"203.0.113.9","request":{x},"status":"200"}}',
        "agent": '{{"time_local":"27/Nov/2026:19:02:03 +0100","remote_addr":"203.0.113.9","request":"GET / HTTP/1.1",'
                 '"status":"200","http_user_agent":{x}}}',
    },
}
# What each slot holds in a valid line.
DEFAULTS = {"user": "-", "request": "GET / HTTP/1.1", "referrer": "-", "agent": "curl/8", "status": "200",
            "tail": "0.004", "bytes": "5", "stem": "x", "query": "-", "url": "x", "message": "m",
            "modsecurity": "m", "client": "192.0.2.1"}


def fill(fmt, name: str, value: str) -> str:
    """The line of `fmt` with `value` written as is in slot `name` (the others at their default)."""
    template = TEMPLATES[fmt.name][name]
    if fmt is web.NGINX_JSON:
        return template.replace("{{", "{").replace("}}", "}").replace("{x}", value)
    if "{user}" in template:
        return template.replace("{user}", value)
    return template.replace("{x}", value)


VALID = {fmt: [fill(FORMATS[fmt], name, json.dumps(DEFAULTS[name]) if fmt == "nginx_json" else DEFAULTS[name])
               for name in templates] for fmt, templates in TEMPLATES.items()}


def parse_checked(fmt, lines: list[str]):
    """Parse, and check the accounting: every line once, in an event, a dead letter or skipped."""
    batch = batch_of(lines)
    result = fmt.parse(batch, CTX)
    assert result.lines_accounted() == len(lines)
    in_events = result.events["log.offset"].to_pylist()
    in_dead = result.dead_letters["origin.offset"].to_pylist()
    assert len(set(in_events)) == len(in_events) and not set(in_events) & set(in_dead)
    assert set(in_events) | set(in_dead) <= set(batch.offsets.tolist())
    by_offset = dict(zip(batch.offsets.tolist(), lines))
    assert all(by_offset[o] == original for o, original in
               zip(in_events, result.events["event.original"].to_pylist()))
    assert len(set(result.events["event.id"].to_pylist())) == result.events.num_rows
    return result


def only_event(fmt, line: str) -> dict:
    result = parse_checked(fmt, [line])
    assert result.events.num_rows == 1, (line, result.dead_letters["reason"].to_pylist())
    (event,) = result.events.to_pylist()
    assert event["event.original"] == line
    return event


# ---------------------------------------------------------------------------------------------
# 1. Raw strings in any field
# ---------------------------------------------------------------------------------------------

SLOTS = [(fmt, name) for fmt, templates in TEMPLATES.items() for name in templates]  # format names


@SETTINGS
@given(slot=st.sampled_from(SLOTS), text=ATTACK)
def test_any_string_in_any_field_never_raises_nor_loses_the_line(slot, text):
    fmt, name = slot
    parse_checked(FORMATS[fmt], [fill(FORMATS[fmt], name, text)])


# ---------------------------------------------------------------------------------------------
# 2. Batches of any composition
# ---------------------------------------------------------------------------------------------

ANY_LINE = st.one_of(
    st.sampled_from([line for lines in VALID.values() for line in lines]),
    ATTACK,
    st.sampled_from(["", " ", "\t", "#Fields: date time c-ip cs-method cs-uri-stem sc-status", "#Software: IIS",
                     "{", "{}", "[]", "null"]),
)


@SETTINGS
@given(lines=st.lists(ANY_LINE, min_size=0, max_size=40))
def test_batches_of_any_composition(lines):
    for fmt in web.FORMATS:
        parse_checked(fmt, lines)


@SETTINGS
@given(lines=st.lists(ATTACK, min_size=1, max_size=20))
def test_batches_of_nothing_valid(lines):
    for fmt in web.FORMATS:
        parse_checked(fmt, lines)


def test_one_row_batches_of_valid_lines():
    for fmt, lines in VALID.items():
        for line in lines:
            assert parse_checked(FORMATS[fmt], [line]).events.num_rows == 1, (fmt, line)


# ---------------------------------------------------------------------------------------------
# 3. Attack strings written as the server writes them reach their field, decoded
# ---------------------------------------------------------------------------------------------

@SETTINGS
@given(attack=ATTACK, escape=st.sampled_from([apache_escape, nginx_escape]))
def test_access_log_fields_hold_the_attack_as_sent(attack, escape):
    written = escape(attack)
    head = CLF_HEAD.format(user="-")
    target = only_event(web.APACHE_COMBINED, head + f'"GET /{written} HTTP/1.1" 400 5 "-" "curl/8"')
    assert target["url.original"] == "/" + attack and target["http.request.method"] == "GET"
    agent = only_event(web.APACHE_COMBINED, head + f'"GET / HTTP/1.1" 400 5 "-" "{written}"')
    assert agent["user_agent.original"] == (None if attack == "-" else attack)
    referrer = only_event(web.APACHE_COMBINED, head + f'"GET / HTTP/1.1" 400 5 "{written}" "-"')
    assert referrer["http.request.referrer"] == (None if attack == "-" else attack)
    common = only_event(web.APACHE_COMMON, head + f'"POST /{written} HTTP/1.0" 400 5')
    assert common["url.original"] == "/" + attack


@SETTINGS
@given(attack=without("[", " ").filter(lambda t: t not in ("", "-")))
def test_access_log_user_holds_the_attack_as_sent(attack):
    event = only_event(web.APACHE_COMBINED, fill(web.APACHE_COMBINED, "user", apache_escape(attack)))
    assert event["user.name"] == attack


@SETTINGS
@given(attack=without("[").filter(lambda t: t.strip(" ") not in ("", "-") and t == t.strip(" ")))
def test_access_log_user_with_spaces(attack):
    event = only_event(web.APACHE_COMBINED, fill(web.APACHE_COMBINED, "user", apache_escape(attack)))
    assert event["user.name"] == attack


NO_SPACE = "".join(chr(c) for c in (9, 10, 11, 12, 13, 32))


@SETTINGS
@given(attack=without(*NO_SPACE, "+", "?").filter(lambda t: t not in ("", "-")))
def test_iis_fields_hold_the_attack_as_sent(attack):
    stem = only_event(web.W3C, fill(web.W3C, "stem", attack))
    assert stem["url.path"] == "/" + attack and web.INFERRED_TAG in stem["tags"]
    query = only_event(web.W3C, fill(web.W3C, "query", attack))
    assert query["url.query"] == attack
    user = only_event(web.W3C, fill(web.W3C, "user", attack))
    assert user["user.name"] == attack


@SETTINGS
@given(attack=without(*NO_SPACE[:-1], "+").filter(lambda t: t.replace(" ", "") and t != "-"))
def test_iis_user_agent_spaces_written_as_plus(attack):
    event = only_event(web.W3C, fill(web.W3C, "agent", attack.replace(" ", "+")))
    assert event["user_agent.original"] == attack


@SETTINGS
@given(attack=without(*NO_SPACE).filter(lambda t: t != "-"))
def test_squid_fields_hold_the_attack_as_sent(attack):
    url = only_event(web.SQUID, fill(web.SQUID, "url", attack))
    assert url["url.original"] == "http://example.org/" + attack
    if attack:
        user = only_event(web.SQUID, fill(web.SQUID, "user", attack))
        assert user["user.name"] == attack


@SETTINGS
@given(attack=without(", referer: "))
def test_apache_error_message_holds_the_attack_as_sent(attack):
    event = only_event(web.APACHE_ERROR, fill(web.APACHE_ERROR, "message", apache_escape(attack, quote=False)))
    assert event["message"] == attack and event["source.ip"] == "203.0.113.9"


@SETTINGS
@given(attack=ATTACK)
def test_modsecurity_message_holds_the_attack_as_sent(attack):
    written = apache_escape(modsecurity_escape(attack), quote=False)
    event = only_event(web.APACHE_ERROR, fill(web.APACHE_ERROR, "modsecurity", written))
    assert (event["rule.name"], event["rule.id"], event["event.kind"]) == (attack, "942100", "alert")
    assert event["source.ip"] == "203.0.113.9"


@SETTINGS
@given(attack=without('"', ", client: ", "\n").filter(lambda t: not t.endswith("\\")))
def test_nginx_error_fields_hold_the_attack_as_written(attack):
    # nginx writes the request and the message as received (no escaping)
    request = only_event(web.NGINX_ERROR, fill(web.NGINX_ERROR, "request", f"GET /{attack} HTTP/1.1"))
    assert request["url.original"] == "/" + attack and request["source.ip"] == "203.0.113.9"
    message = only_event(web.NGINX_ERROR, fill(web.NGINX_ERROR, "message", attack))
    assert message["message"] == attack and message["source.ip"] == "203.0.113.9"


@SETTINGS
@given(attack=ATTACK)
def test_nginx_json_fields_hold_the_attack_as_sent(attack):
    def line(name: str, value: str) -> str:  # escape=json writes what json.dumps does
        return fill(web.NGINX_JSON, name, json.dumps(value, ensure_ascii=False))

    request = only_event(web.NGINX_JSON, line("request", f"GET /{attack} HTTP/1.1"))
    assert request["url.original"] == "/" + attack
    agent = only_event(web.NGINX_JSON, line("agent", attack))
    assert agent["user_agent.original"] == (None if attack in ("", "-") else attack)
