"""Mail variants (pipelines/parsing/mail/): per-line outcome, client and server addresses on
connection, rejection and disconnection lines, senders and recipients on every line that names
them, outgoing connection failures; Exim local deliveries, arrivals with H=/I=/X=/A=/U=, retries,
deferrals, remote errors and frozen messages. Lines written for these tests."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from pipelines.parsing.base import LineBatch, ParseContext
from pipelines.parsing.mail import EXIM, POSTFIX

CTX = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
P = "Nov 27 19:02:11 mx1 postfix/"
E = "2026-11-27 19:02:11"
Q = "4F3A21C0042: "


def row_of(fmt, line: str) -> dict:
    batch = LineBatch("mail.log", "0" * 16, pa.array([line]), np.zeros(1, dtype=np.int64))
    result = fmt.parse(batch, CTX)
    assert result.lines_accounted() == 1 and result.dead_letters.num_rows == 0
    rows = result.events.to_pylist() + (result.fragments.to_pylist() if result.fragments is not None else [])
    return rows[0]


def check(row: dict, expected: dict) -> None:
    mismatches = {k: (row[k], v) for k, v in expected.items() if row[k] != v}
    assert not mismatches, f"field: (got, expected) {mismatches}"


POSTFIX_CASES = [
    ("connect", P + "smtpd[2001]: connect from mail.example.net[91.198.174.9]",
     {"event.action": "connect", "event.outcome": "success", "source.ip": "91.198.174.9",
      "source.domain": "mail.example.net"}),
    ("clean disconnect", P + "smtpd[2001]: disconnect from mail.example.net[91.198.174.9] ehlo=2 starttls=1 "
     "mail=1 rcpt=1 data=1 quit=1 commands=7", {"event.outcome": "success", "source.ip": "91.198.174.9"}),
    ("disconnect after a refused command", P + "smtpd[2001]: disconnect from unknown[45.137.21.9] ehlo=1 "
     "mail=1 rcpt=0/1 quit=1 commands=3/4", {"event.outcome": "failure", "source.ip": "45.137.21.9"}),
    ("noqueue reject", P + "smtpd[2001]: NOQUEUE: reject: RCPT from unknown[45.137.21.9]:41022: 554 5.7.1 "
     "<x@example.org>: Relay access denied; from=<spam@example.com> to=<x@example.org> proto=ESMTP helo=<bad>",
     {"event.action": "reject", "event.outcome": "failure", "source.ip": "45.137.21.9", "source.port": 41022,
      "email.from.address": ["spam@example.com"], "email.to.address": ["x@example.org"]}),
    ("queued", P + "qmgr[3003]: " + Q + "from=<a@chu-exemple.fr>, size=1200, nrcpt=1 (queue active)",
     {"event.outcome": "success", "email.from.address": ["a@chu-exemple.fr"], "vigie.mail.recipient_count": 1}),
    ("smtp delivery", P + "smtp[2002]: " + Q + "to=<b@example.org>, relay=mx.example.org[91.198.174.20]:25, "
     "delay=1, delays=0.1/0/0.4/0.5, dsn=2.0.0, status=sent (250 ok)",
     {"event.outcome": "success", "email.to.address": ["b@example.org"], "destination.ip": "91.198.174.20",
      "destination.port": 25, "destination.domain": "mx.example.org"}),
    ("lmtp delivery", P + "lmtp[2002]: " + Q + "to=<c@chu-exemple.fr>, orig_to=<alias@chu-exemple.fr>, "
     "relay=mx1[private/dovecot-lmtp], delay=1, dsn=2.0.0, status=sent (250 2.0.0 Saved)",
     {"event.outcome": "success", "email.to.address": ["c@chu-exemple.fr", "alias@chu-exemple.fr"]}),
    ("local delivery", P + "local[2002]: " + Q + "to=<root@mx1.chu-exemple.fr>, orig_to=<root>, relay=local, "
     "delay=0.1, dsn=2.0.0, status=sent (delivered to mailbox)",
     {"event.outcome": "success", "email.to.address": ["root@mx1.chu-exemple.fr", "root"]}),
    ("deferred", P + "smtp[2002]: " + Q + "to=<d@example.org>, relay=none, delay=30, dsn=4.4.1, status=deferred "
     "(connect to mx.example.org[91.198.174.20]:25: Connection timed out)",
     {"event.outcome": "unknown", "vigie.mail.status": ["deferred"], "destination.ip": None}),
    ("bounced", P + "smtp[2002]: " + Q + "to=<e@example.org>, relay=mx.example.org[91.198.174.20]:25, delay=1, "
     "dsn=5.1.1, status=bounced (host mx.example.org[91.198.174.20] said: 550 5.1.1 unknown user)",
     {"event.outcome": "failure"}),
    ("client", P + "smtpd[2001]: " + Q + "client=mail.example.net[91.198.174.9]:41234",
     {"event.outcome": "success", "source.port": 41234}),
    ("lost connection", P + "smtpd[2001]: lost connection after AUTH from unknown[45.137.21.9]",
     {"event.outcome": "failure", "source.ip": "45.137.21.9"}),
    ("outgoing connection refused", P + "smtp[2002]: connect to mx.example.org[91.198.174.20]:25: Connection refused",
     {"event.action": "connection-failure", "event.outcome": "failure", "source.ip": None,
      "destination.ip": "91.198.174.20", "destination.port": 25, "event.reason": "Connection refused"}),
    ("remote reply", P + "smtp[2002]: " + Q + "host mx.example.org[91.198.174.20] said: 421 4.7.0 Try again later "
     "(in reply to end of DATA command)", {"event.action": "remote-reply", "destination.ip": "91.198.174.20",
                                          "event.outcome": "failure"}),
    ("tls to", P + "smtp[2002]: Verified TLS connection established to mx.example.org[91.198.174.20]:25: TLSv1.3 "
     "with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", {"event.action": "tls-established",
                                                          "destination.ip": "91.198.174.20", "source.ip": None}),
    ("postscreen connect", P + "postscreen[2001]: CONNECT from [45.137.21.9]:41000 to [193.51.24.25]:25",
     {"event.action": "connect", "source.ip": "45.137.21.9", "destination.ip": "193.51.24.25",
      "destination.port": 25}),
    ("milter reject", P + "cleanup[2001]: " + Q + "milter-reject: END-OF-MESSAGE from mail.example.net[91.198.174.9]: "
     "5.7.1 Spam message rejected; from=<s@example.net> to=<a@chu-exemple.fr> proto=ESMTP helo=<mail.example.net>",
     {"event.outcome": "failure", "email.from.address": ["s@example.net"], "email.to.address": ["a@chu-exemple.fr"]}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in POSTFIX_CASES], ids=[c[0] for c in POSTFIX_CASES])
def test_postfix_line_variants(line, expected):
    check(row_of(POSTFIX, line), expected)


I = "1xWyMm-0000pV-F8 "
EXIM_CASES = [
    ("authenticated arrival", f"{E} {I}<= fatima.girard@chu-exemple.fr H=(PC-PSY-2503) [10.20.46.103]:51234 "
     "I=[10.0.0.25]:587 P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no A=dovecot_login:fgirard5 S=20540 "
     "id=20261127170004.AF59B1F61D@chu-exemple.fr T=\"RE: Planning\" from <fatima.girard@chu-exemple.fr> for "
     "lea.blanc@chu-exemple.fr",
     {"event.outcome": "success", "source.ip": "10.20.46.103", "source.port": 51234, "destination.ip": "10.0.0.25",
      "destination.port": 587, "user.name": "fgirard5", "email.to.address": ["lea.blanc@chu-exemple.fr"],
      "email.direction": "outbound", "vigie.mail.sasl_method": "dovecot_login"}),
    ("arrival from the internet", f"{E} {I}<= billing@example.net H=mail.example.net [91.198.174.9]:41000 "
     "I=[193.51.24.25]:25 P=esmtps X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 CV=no S=5000 id=abc@example.net",
     {"source.ip": "91.198.174.9", "source.domain": "mail.example.net", "destination.ip": "193.51.24.25",
      "email.direction": "inbound", "user.name": None}),
    ("local submission", f"{E} {I}<= www-data@web1.chu-exemple.fr U=www-data P=local S=812 T=\"Nouveau\" "
     "from <www-data@web1.chu-exemple.fr> for jdoe@chu-exemple.fr",
     {"user.name": "www-data", "email.direction": "outbound", "source.ip": None}),
    ("bounce arrival", f"{E} {I}<= <> R=1xWyMa-0000pA-B2 U=Debian-exim P=local S=2400",
     {"user.name": None, "email.from.address": None}),
    ("local delivery, no address", f"{E} {I}=> lea.blanc R=local_user T=mail_spool",
     {"event.outcome": "success", "email.to.address": ["lea.blanc"], "vigie.mail.relay": ["mail_spool"],
      "destination.ip": None}),
    ("file delivery", f"{E} {I}=> /var/mail/jdoe <jdoe@chu-exemple.fr> R=local_user T=address_file",
     {"email.to.address": ["jdoe@chu-exemple.fr"]}),
    ("pipe delivery", f"{E} {I}=> |/usr/bin/procmail <jdoe@chu-exemple.fr> R=procmail T=procmail_pipe",
     {"email.to.address": ["jdoe@chu-exemple.fr"], "vigie.mail.relay": ["procmail_pipe"]}),
    ("deferral with host", f"{E} {I}== d@example.org R=dnslookup T=remote_smtp defer (-44) H=mx.example.org "
     "[91.198.174.20]: SMTP error from remote mail server after RCPT TO:<d@example.org>: 450 4.2.0 Greylisted",
     {"event.outcome": "unknown", "destination.ip": "91.198.174.20", "email.to.address": ["d@example.org"]}),
    ("retry not reached", f"{E} {I}== d@example.org routing defer (-51): retry time not reached",
     {"vigie.mail.status": ["deferred"], "event.reason": "retry time not reached"}),
    ("retry timeout", f"{E} {I}** e@example.org: retry timeout exceeded",
     {"event.outcome": "failure", "email.to.address": ["e@example.org"]}),
    ("remote error", f"{E} {I}H=mx.example.org [91.198.174.20]: SMTP error from remote mail server after RCPT "
     "TO:<x@example.org>: 550 no", {"event.action": "remote-error", "destination.ip": "91.198.174.20",
                                     "source.ip": None, "event.outcome": "failure"}),
    ("connection timed out", f"{E} {I}mx.example.org [91.198.174.20] Connection timed out",
     {"event.action": "remote-error", "destination.ip": "91.198.174.20"}),
    ("frozen", f"{E} {I}Message is frozen", {"event.action": "frozen", "event.outcome": "failure"}),
    ("reject with interface", f"{E} H=(bad) [45.137.21.9]:41000 I=[193.51.24.25]:25 F=<spam@example.com> "
     "rejected RCPT <x@chu-exemple.fr>: relay not permitted",
     {"source.ip": "45.137.21.9", "destination.ip": "193.51.24.25", "destination.port": 25,
      "email.from.address": ["spam@example.com"], "email.to.address": ["x@chu-exemple.fr"]}),
    ("connection", f"{E} SMTP connection from [45.137.21.9]:41000 (TCP/IP connection count = 1)",
     {"event.action": "connect", "event.outcome": "success"}),
    ("lost", f"{E} SMTP connection from (bad) [45.137.21.9]:41000 I=[193.51.24.25]:25 lost D=0s",
     {"event.action": "lost-connection", "event.outcome": "failure", "destination.port": 25}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in EXIM_CASES], ids=[c[0] for c in EXIM_CASES])
def test_exim_line_variants(line, expected):
    check(row_of(EXIM, line), expected)
