"""Property tests of the mail parsers: any text in any field of a valid Postfix or Exim line,
and batches of any composition, never raise, never lose a line, and the line reaches
event.original (pipelines/parsing/mail/)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parser_properties import TEXT, VALUES, check_batch, check_field, parse_checked
from pipelines.parsing.mail import EXIM, POSTFIX

P = "Nov 27 19:02:11 mx1 postfix/"
Q = "4F3A21C0042: "
POSTFIX_TEMPLATES = [
    P + "smtpd[2001]: connect from {}[91.198.174.9]",
    P + "smtpd[2001]: connect from mail.example.net[{}]",
    P + "smtpd[2001]: " + Q + "client=mail.example.net[91.198.174.9], sasl_method=LOGIN, sasl_username={}",
    P + "qmgr[3003]: " + Q + "from=<{}>, size=1200, nrcpt=1 (queue active)",
    P + "smtp[2002]: " + Q + "to=<{}>, relay=mx.example.org[91.198.174.20]:25, delay=1, dsn=2.0.0, status=sent (250 ok)",
    P + "smtp[2002]: " + Q + "to=<b@example.org>, relay=mx[1.2.3.4]:25, delay=1, dsn=5.0.0, status=bounced ({})",
    P + "cleanup[2001]: " + Q + "message-id=<{}>",
    P + "cleanup[2001]: " + Q + "warning: header Subject: {} from mail.example.net[91.198.174.9]; "
        "from=<a@b.c> to=<d@e.f> proto=ESMTP helo=<h>",
    P + "smtpd[2001]: NOQUEUE: reject: RCPT from unknown[45.137.21.9]: 554 5.7.1 <x@y.z>: {}; "
        "from=<a@b.c> to=<x@y.z> proto=ESMTP helo=<h>",
    P + "smtpd[2001]: warning: unknown[45.137.21.9]: SASL LOGIN authentication failed: {}, sasl_username=jdoe",
    P + "postscreen[2001]: PREGREET 11 after 0.1 from [45.137.21.9]:41000: {}",
    "Nov 27 19:02:11 mx1 dovecot[1]: imap-login: {}",
]
E = "2026-11-27 19:02:11 "
I = "1xWyMm-0000pV-F8 "
EXIM_TEMPLATES = [
    E + I + "<= {} H=mail.example.net [91.198.174.9]:41000 P=esmtps S=5000 id=abc@example.net",
    E + I + "<= a@b.c H=mail.example.net [91.198.174.9]:41000 A=dovecot_login:{} S=5000",
    E + I + "<= a@b.c U=www-data P=local S=812 T=\"{}\" from <a@b.c> for d@e.f",
    E + I + "=> {} R=local_user T=mail_spool",
    E + I + "== d@example.org R=dnslookup T=remote_smtp defer (-44): {}",
    E + I + "** e@example.org: {}",
    E + "H=(bad) [45.137.21.9]:41000 F=<{}> rejected RCPT <x@y.z>: relay not permitted",
    E + "dovecot_login authenticator failed for (USER) [45.137.21.9]:41000: 535 Incorrect authentication data "
        "(set_id={})",
    E + "SMTP connection from {}",
    E + "{}",
]

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.integers(0, len(POSTFIX_TEMPLATES) - 1), VALUES)
def test_postfix_any_value_in_any_field(which, value):
    check_field(POSTFIX, POSTFIX_TEMPLATES[which], value)


@SETTINGS
@given(st.integers(0, len(EXIM_TEMPLATES) - 1), VALUES)
def test_exim_any_value_in_any_field(which, value):
    check_field(EXIM, EXIM_TEMPLATES[which], value)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 50), VALUES), max_size=12), st.lists(st.one_of(TEXT, st.just("")), max_size=6))
def test_postfix_batches_of_any_composition(picks, extra):
    check_batch(POSTFIX, POSTFIX_TEMPLATES, picks, extra)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 50), VALUES), max_size=12), st.lists(st.one_of(TEXT, st.just("")), max_size=6))
def test_exim_batches_of_any_composition(picks, extra):
    check_batch(EXIM, EXIM_TEMPLATES, picks, extra)


@SETTINGS
@given(st.lists(TEXT, max_size=20))
def test_any_text_at_all_is_accounted_for(lines):
    for fmt in (POSTFIX, EXIM):
        parse_checked(fmt, lines)


def _rows(result) -> list[dict]:
    rows = result.events.to_pylist() + (result.fragments.to_pylist() if result.fragments is not None else [])
    return [{k: v for k, v in r.items() if k not in ("event.id", "log.offset")} for r in rows]


@SETTINGS
@given(st.booleans(), st.data())
def test_a_line_reads_the_same_in_any_batch(exim, data):
    import test_parsing_mail_variants as variants
    fmt, cases = (EXIM, variants.EXIM_CASES) if exim else (POSTFIX, variants.POSTFIX_CASES)
    lines = data.draw(st.lists(st.sampled_from([c[1] for c in cases]), min_size=1, max_size=15))
    by_line = {r["event.original"]: r for r in _rows(parse_checked(fmt, lines))}
    for line in set(lines):
        assert _rows(parse_checked(fmt, [line])) == [by_line[line]], line
