"""Mail parsers (Postfix, Exim): line kinds, timestamps, stitching of whole messages, balance."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest

from pipelines.parsing import detect_format
from pipelines.parsing.clock import WallClock, settle_fall_back
from pipelines.parsing.base import STITCH_KEY, LineBatch, ParseContext, ParseResult
from pipelines.parsing.mail import EXIM, POSTFIX, detect_exim, detect_postfix
from pipelines.parsing.stitch import fragments_to_rows, rows_to_table, stitch_message
from pipelines.schema import event_schema

UTC = dt.timezone.utc
PARIS = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 11, 28, tzinfo=UTC))


def make_batch(lines: list[str], path: str = "/var/log/mail.log") -> LineBatch:
    """Lines of one file -> a LineBatch with cumulative byte offsets."""
    sizes = [len(line.encode("utf-8")) + 1 for line in lines]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return LineBatch(path, "0" * 16, pa.array(lines, pa.string()), offsets)


def parse(fmt, lines: list[str], ctx: ParseContext = PARIS) -> ParseResult:
    """Parse lines and check that every line is accounted for exactly once."""
    result = fmt.parse(make_batch(lines), ctx)
    assert result.lines_accounted() == len(lines)
    assert result.events.schema == event_schema()
    return result


def only_row(fmt, line: str, ctx: ParseContext = PARIS) -> tuple[str, dict]:
    """The single row ('event' or 'fragment') a line becomes."""
    result = parse(fmt, [line], ctx)
    assert result.dead_letters.num_rows == 0, result.dead_letters.column("reason").to_pylist()
    if result.events.num_rows:
        return "event", result.events.to_pylist()[0]
    return "fragment", result.fragments.to_pylist()[0]


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def stitch_all(result: ParseResult) -> dict[str, dict]:
    """Group fragments by key and stitch each group (what the Beam pipeline does)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for key, row in fragments_to_rows(result.fragments):
        groups[key].append(row)
    stitched = {key: stitch_message(rows, key) for key, rows in groups.items()}
    rows_to_table(stitched.values())  # conforms to the event schema
    return stitched


# ---------------------------------------------------------------------------------------------
# Postfix: one line at a time
# ---------------------------------------------------------------------------------------------

H = "Nov 27 19:02:11 mx1"
POSTFIX_LINES = [
    # (line, 'event' or 'fragment', expected fields)
    (f"{H} postfix/smtpd[2001]: 4F3A21C0042: client=pc-12.chu.example.fr[10.1.2.3]:50412, "
     "sasl_method=LOGIN, sasl_username=jdoe",
     "fragment", {"event.action": "client", "email.local_id": "4F3A21C0042", "source.ip": "10.1.2.3",
                  "source.domain": "pc-12.chu.example.fr", "source.port": 50412, "user.name": "jdoe",
                  "vigie.mail.sasl_method": "LOGIN", "email.direction": "outbound",
                  STITCH_KEY: "mx1/4F3A21C0042", "related.user": ["jdoe"]}),
    (f"{H} postfix/smtpd[2001]: 4F3A21C0042: client=unknown[91.198.174.9]",
     "fragment", {"source.ip": "91.198.174.9", "source.domain": None, "email.direction": "inbound"}),
    (f"{H} postfix/cleanup[2002]: 4F3A21C0042: message-id=<abc.123@example.net>",
     "fragment", {"email.message_id": "abc.123@example.net", "event.action": "message-id"}),
    (f"{H} postfix/cleanup[2002]: 4F3A21C0042: info: header Subject: Re: from=<x> test from "
     "mail.example.net[185.71.151.7]; from=<billing@example.net> to=<dr.martin@chu.example.fr> "
     "proto=ESMTP helo=<mail.example.net>",
     "fragment", {"email.subject": "Re: from=<x> test", "email.from.address": ["billing@example.net"],
                  "email.to.address": ["dr.martin@chu.example.fr"], "source.ip": "185.71.151.7",
                  "vigie.mail.status": None}),
    (f"{H} postfix/cleanup[2002]: 4F3A21C0042: warning: header Subject: =?UTF-8?B?RmFjdHVyZSDDqXTDqQ==?= "
     "from mail.example.net[185.71.151.7]; from=<a@example.net> to=<b@chu.example.fr> proto=ESMTP "
     "helo=<mail.example.net>",
     "fragment", {"email.subject": "Facture été"}),
    (f"{H} postfix/cleanup[2002]: 4F3A21C0042: warning: header Content-Type: application/octet-stream; "
     'name="invoice.iso" from mail.example.net[185.71.151.7]; from=<a@example.net> to=<b@chu.example.fr> '
     "proto=ESMTP helo=<mail.example.net>",
     "fragment", {"email.attachments.file.name": ["invoice.iso"], "email.subject": None}),
    (f"{H} postfix/cleanup[2002]: 4F3A21C0042: warning: header Content-Disposition: attachment; "
     "filename*=utf-8''r%C3%A9sultats.js from local; from=<root@mx1> to=<b@chu.example.fr>",
     "fragment", {"email.attachments.file.name": ["résultats.js"], "source.ip": None}),
    (f"{H} postfix/cleanup[2002]: 4F3A21C0042: reject: header X-Mailer: EvilMailer 1.0 from "
     "mail.example.net[185.71.151.7]; from=<a@example.net> to=<b@chu.example.fr> proto=ESMTP "
     "helo=<x>: 5.7.1 mailer not allowed",
     "fragment", {"email.x_mailer": "EvilMailer 1.0", "vigie.mail.status": ["rejected"],
                  "event.outcome": "failure", "event.reason": "5.7.1 mailer not allowed"}),
    (f"{H} postfix/qmgr[1500]: 4F3A21C0042: from=<billing@example.net>, size=48213, nrcpt=2 (queue active)",
     "fragment", {"email.from.address": ["billing@example.net"], "vigie.mail.size": 48213,
                  "vigie.mail.recipient_count": 2, "event.action": "queued"}),
    (f"{H} postfix/smtp[2004]: 4F3A21C0042: to=<friend@gmail.com>, orig_to=<alias@chu.example.fr>, "
     "relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1.1, delays=0.1/0/0.5/0.5, dsn=2.0.0, "
     "status=sent (250 2.0.0 OK 1700000000 x1-20020a gsmtp)",
     "fragment", {"email.to.address": ["friend@gmail.com", "alias@chu.example.fr"],
                  "vigie.mail.status": ["sent"], "event.outcome": "success",
                  "vigie.mail.relay": ["gmail-smtp-in.l.google.com[142.250.1.27]:25"],
                  "destination.ip": "142.250.1.27", "destination.domain": "gmail-smtp-in.l.google.com",
                  "destination.port": 25, "event.reason": "250 2.0.0 OK 1700000000 x1-20020a gsmtp",
                  "related.ip": ["142.250.1.27"], "source.ip": None}),
    (f"{H} postfix/smtp[2004]: 4F3A21C0042: to=<x@example.org>, relay=none, delay=30, "
     "delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.example.org[176.31.84.1]:25: Connection timed out)",
     "fragment", {"vigie.mail.status": ["deferred"], "event.outcome": "unknown",
                  "vigie.mail.relay": ["none"], "destination.ip": None}),
    (f"{H} postfix/local[2005]: 4F3A21C0042: to=<root@mx1.chu.example.fr>, orig_to=<root>, relay=local, "
     "delay=0.02, delays=0/0/0/0, dsn=5.1.1, status=bounced (unknown user: \"root\")",
     "fragment", {"vigie.mail.status": ["bounced"], "event.outcome": "failure",
                  "vigie.mail.relay": ["local"], "event.reason": 'unknown user: "root"'}),
    (f"{H} postfix/qmgr[1500]: 4F3A21C0042: from=<a@example.net>, status=expired, returned to sender",
     "fragment", {"vigie.mail.status": ["expired"], "event.outcome": "failure"}),
    (f"{H} postfix/qmgr[1500]: 4F3A21C0042: removed", "fragment", {"event.action": "removed"}),
    (f"{H} postfix/pickup[2006]: 4F3A21C0042: uid=0 from=<root>",
     "fragment", {"email.from.address": ["root"], "email.direction": "outbound"}),
    (f"{H} postfix/smtpd[2001]: 4F3A21C0042: reject: RCPT from unknown[185.71.151.9]: 554 5.7.1 "
     "<spam@chu.example.fr>: Recipient address rejected: Access denied; from=<a@example.net> "
     "to=<spam@chu.example.fr> proto=ESMTP helo=<x>",
     "fragment", {"vigie.mail.status": ["rejected"], "event.outcome": "failure",
                  "event.reason": "554 5.7.1 <spam@chu.example.fr>: Recipient address rejected: Access denied",
                  "email.to.address": ["spam@chu.example.fr"], "source.ip": "185.71.151.9"}),
    (f"{H} opendkim[900]: 4F3A21C0042: DKIM verification successful",
     "fragment", {"vigie.mail.dkim_result": "pass", STITCH_KEY: "mx1/4F3A21C0042",
                  "observer.product": "opendkim"}),
    (f"{H} opendkim[900]: 4F3A21C0042: bad signature data", "fragment", {"vigie.mail.dkim_result": "fail"}),
    (f"{H} opendmarc[901]: 4F3A21C0042: example.net fail", "fragment", {"vigie.mail.dmarc_result": "fail"}),
    (f"{H} opendmarc[901]: 4F3A21C0042: SPF(mailfrom): example.net softfail",
     "fragment", {"vigie.mail.spf_result": "softfail"}),
    (f"{H} postfix/smtpd[2001]: 44JCRG5tYPzCqt2: client=a.example[176.31.84.80]",
     "fragment", {"email.local_id": "44JCRG5tYPzCqt2", STITCH_KEY: "mx1/44JCRG5tYPzCqt2"}),
    # --- events of their own ---
    (f"{H} postfix/smtpd[2001]: warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
     "event", {"event.action": "sasl-auth-failure", "event.category": ["authentication"],
               "event.outcome": "failure", "source.ip": "1.2.3.4", "source.domain": None,
               "vigie.mail.sasl_method": "LOGIN", "event.reason": "UGFzc3dvcmQ6", "email.local_id": None,
               "log.syslog.hostname": "mx1", "log.syslog.appname": "postfix/smtpd",
               "log.syslog.procid": "2001", "observer.hostname": "mx1", "observer.product": "postfix",
               "observer.type": "mail-server", "event.dataset": "mail.postfix", "event.module": "mail",
               "@timestamp": at(2026, 11, 27, 18, 2, 11), "event.timezone": "Europe/Paris",
               "message": "warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"}),
    (f"{H} postfix/submission/smtpd[11]: warning: unknown[176.31.84.152]:587: SASL PLAIN authentication "
     "failed: (reason unavailable), sasl_username=admin",
     "event", {"event.action": "sasl-auth-failure", "user.name": "admin", "source.port": 587,
               "event.reason": "(reason unavailable)", "vigie.mail.sasl_method": "PLAIN"}),
    (f"{H} postfix/smtpd[2001]: NOQUEUE: reject: RCPT from bad.example.com[93.184.216.34]: 554 5.7.1 "
     "<x@chu.example.fr>: Relay access denied; from=<spam@example.com> to=<x@chu.example.fr> "
     "proto=ESMTP helo=<bad.example.com>",
     "event", {"event.action": "reject", "event.outcome": "failure", "vigie.mail.status": ["rejected"],
               "event.reason": "554 5.7.1 <x@chu.example.fr>: Relay access denied",
               "email.from.address": ["spam@example.com"], "email.to.address": ["x@chu.example.fr"],
               "source.ip": "93.184.216.34", "source.domain": "bad.example.com",
               "email.direction": "inbound", "event.type": ["denied"]}),
    (f"{H} postfix/smtpd[2001]: NOQUEUE: reject: RCPT from unknown[176.31.84.1]: 450 4.7.1 Client host "
     "rejected: cannot find your hostname, [176.31.84.1]; from=<> to=<> proto=ESMTP helo=",
     "event", {"email.from.address": None, "email.to.address": None,
               "event.reason": "450 4.7.1 Client host rejected: cannot find your hostname, [176.31.84.1]"}),
    (f"{H} postfix/postscreen[99]: NOQUEUE: reject: RCPT from [216.245.194.173]:60591: 550 5.7.1 Service "
     "unavailable; client [216.245.194.173] blocked using rbl.example.com; from=<s@example.com>, "
     "to=<g@example.com>, proto=ESMTP, helo=<b.example.com>",
     "event", {"source.ip": "216.245.194.173", "source.port": 60591, "email.to.address": ["g@example.com"],
               "event.reason": "550 5.7.1 Service unavailable; client [216.245.194.173] blocked using "
                               "rbl.example.com"}),
    (f"{H} postfix/smtpd[2001]: connect from mail.example.net[185.71.151.7]",
     "event", {"event.action": "connect", "event.category": ["email", "network"],
               "event.type": ["connection", "start"], "source.ip": "185.71.151.7",
               "network.protocol": "smtp", "email.direction": None}),
    (f"{H} postfix/smtpd[2001]: disconnect from unknown[176.31.84.1] ehlo=1 auth=0/1 quit=1 commands=2/3",
     "event", {"event.action": "disconnect", "event.outcome": "failure",
               "event.reason": "ehlo=1 auth=0/1 quit=1 commands=2/3"}),
    (f"{H} postfix/smtpd[2001]: disconnect from a.example[176.31.84.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 "
     "commands=5", "event", {"event.action": "disconnect", "event.outcome": "success"}),
    (f"{H} postfix/smtpd[2001]: lost connection after AUTH from unknown[176.31.84.23]",
     "event", {"event.action": "lost-connection", "event.reason": "after AUTH", "source.ip": "176.31.84.23"}),
    (f"{H} postfix/smtpd[2001]: lost connection after CONNECT from unknown[unknown]",
     "event", {"event.action": "lost-connection", "source.ip": None, "related.ip": None}),
    (f"{H} postfix/smtpd[2001]: too many errors after RCPT from example.com[176.31.84.11]",
     "event", {"event.action": "too-many-errors", "event.outcome": "failure"}),
    (f"{H} postfix/smtpd[2001]: improper command pipelining after DATA from unknown[181.21.131.88]:",
     "event", {"event.action": "improper-pipelining", "source.ip": "181.21.131.88"}),
    (f"{H} postfix/smtpd[2001]: warning: hostname bad.example.com does not resolve to address "
     "176.31.84.44: Name or service not known",
     "event", {"event.action": "reverse-dns-mismatch", "source.ip": "176.31.84.44",
               "source.domain": "bad.example.com"}),
    (f"{H} postfix/anvil[77]: warning: Connection rate limit exceeded: 31 from spam.example.org[176.31.84.123] "
     "for service smtpd", "event", {"event.action": "rate-limit-exceeded", "source.ip": "176.31.84.123"}),
    (f"{H} postfix/smtpd[2001]: warning: non-SMTP command from unknown[176.31.84.5]: GET / HTTP/1.1",
     "event", {"event.action": "non-smtp-command", "event.reason": "GET / HTTP/1.1"}),
    (f"{H} postfix/postscreen[99]: PREGREET 14 after 0.08 from [176.31.84.2]:59415: EHLO ylmf-pc\\r\\n",
     "event", {"event.action": "pregreet", "event.outcome": "failure", "source.ip": "176.31.84.2",
               "source.port": 59415}),
    (f"{H} postfix/postscreen[99]: PASS NEW [176.31.84.3]:51234",
     "event", {"event.action": "pass-new", "event.outcome": "success", "source.ip": "176.31.84.3"}),
    (f"{H} postfix/postscreen[99]: COMMAND TIME LIMIT from [176.31.84.77]:3608 after CONNECT",
     "event", {"event.action": "command-time-limit", "event.outcome": "failure"}),
    (f"{H} postfix/smtpd[2001]: warning: TLS library problem: error:0A000126:SSL routines::unexpected eof",
     "event", {"event.action": "warning", "log.level": "warning"}),
    (f"{H} postfix/smtpd[2001]: warning: Illegal address syntax from unknown[176.31.84.77] in MAIL command: <a@b",
     "event", {"event.action": "warning", "source.ip": "176.31.84.77", "source.domain": None}),
    (f"{H} postfix/smtpd[2001]: NOQUEUE: reject: RCPT from unknown[unknown]: 450 4.7.1 Client host rejected: "
     "cannot find your hostname, [176.31.84.78]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
     "event", {"source.ip": None, "email.direction": None}),
    (f"{H} postfix/master[1]: daemon started -- version 3.7.11, configuration /etc/postfix",
     "event", {"event.action": "syslog", "event.category": ["email"], "source.ip": None}),
    (f"{H} policyd-spf[3000]: prepend Received-SPF: Fail (mailfrom) identity=mailfrom; client-ip=185.71.151.7; "
     "helo=mail.example.net; envelope-from=ceo@chu.example.fr; receiver=<UNKNOWN>",
     "event", {"event.action": "spf-check", "vigie.mail.spf_result": "fail", "event.outcome": "failure",
               "source.ip": "185.71.151.7", "email.from.address": ["ceo@chu.example.fr"]}),
    (f"{H} dovecot[500]: imap-login: Login: user=<jdoe>, method=PLAIN, rip=10.1.2.3, lip=10.0.0.1",
     "event", {"event.action": "syslog", "log.syslog.appname": "dovecot", "event.category": None,
               "observer.product": "dovecot",
               "message": "imap-login: Login: user=<jdoe>, method=PLAIN, rip=10.1.2.3, lip=10.0.0.1"}),
    (f"{H} CRON[4242]: (root) CMD (run-parts /etc/cron.hourly)",
     "event", {"event.action": "syslog", "log.syslog.appname": "CRON", "log.syslog.procid": "4242"}),
    (f"{H} kernel: [12345.678] eth0: link up", "event", {"log.syslog.appname": "kernel",
                                                         "log.syslog.procid": None}),
]


@pytest.mark.parametrize("line, where, expected", POSTFIX_LINES)
def test_postfix_line(line, where, expected):
    got_where, row = only_row(POSTFIX, line)
    assert got_where == where
    assert {k: row[k] for k in expected} == expected
    assert row["event.original"] == line
    assert row["vigie.lines"] == 1


# ---------------------------------------------------------------------------------------------
# Postfix: headers and timestamps
# ---------------------------------------------------------------------------------------------

CONNECT = "postfix/smtpd[1]: connect from a.example[176.31.84.9]"


@pytest.mark.parametrize("line, ctx, stamp, zone", [
    (f"Nov 27 19:02:11 mx1 {CONNECT}", PARIS, at(2026, 11, 27, 18, 2, 11), "Europe/Paris"),
    (f"Jul  4 12:00:00 mx1 {CONNECT}", PARIS, at(2026, 7, 4, 10, 0, 0), "Europe/Paris"),
    (f"Mar 7 02:09:33 mx1 {CONNECT}", PARIS, at(2026, 3, 7, 1, 9, 33), "Europe/Paris"),
    # a December line read with a reference in early January belongs to the previous year
    (f"Dec 31 23:59:00 mx1 {CONNECT}",
     ParseContext("Europe/Paris", dt.datetime(2027, 1, 2, tzinfo=UTC)), at(2026, 12, 31, 22, 59), "Europe/Paris"),
    (f"2026-11-27T19:02:11.123456+01:00 mx1 {CONNECT}", PARIS, at(2026, 11, 27, 18, 2, 11, 123000), None),
    (f"2026-11-27T19:02:11Z mx1 {CONNECT}", PARIS, at(2026, 11, 27, 19, 2, 11), None),
    (f"2026-11-27T19:02:11 mx1 {CONNECT}", PARIS, at(2026, 11, 27, 18, 2, 11), "Europe/Paris"),
    (f"<22>2026-11-27T19:02:11-05:00 mx1 {CONNECT}", PARIS, at(2026, 11, 28, 0, 2, 11), None),
    ("<22>1 2026-11-27T19:02:11.5Z mx1 postfix/smtpd 2001 - - connect from a.example[176.31.84.9]",
     PARIS, at(2026, 11, 27, 19, 2, 11, 500000), None),
])
def test_postfix_timestamps(line, ctx, stamp, zone):
    _, row = only_row(POSTFIX, line, ctx)
    assert row["@timestamp"] == stamp
    assert row["event.timezone"] == zone
    assert (row["event.action"], row["source.ip"], row["log.syslog.hostname"]) == ("connect", "176.31.84.9", "mx1")


def test_rfc5424_header_fields():
    _, row = only_row(POSTFIX, "<22>1 2026-11-27T19:02:11Z mx1 postfix/smtpd 2001 - "
                               "[meta x=\"1\"] connect from a.example[176.31.84.9]")
    assert (row["log.syslog.appname"], row["log.syslog.procid"], row["source.ip"]) == (
        "postfix/smtpd", "2001", "176.31.84.9")


def test_file_spanning_new_year():
    ctx = ParseContext("Europe/Paris", dt.datetime(2027, 1, 2, 12, tzinfo=UTC))
    result = parse(POSTFIX, [f"Dec 31 23:59:00 mx1 {CONNECT}", f"Jan  1 00:01:00 mx1 {CONNECT}"], ctx)
    assert result.events.column("@timestamp").to_pylist() == [at(2026, 12, 31, 22, 59), at(2026, 12, 31, 23, 1)]


def test_dst_fall_back_hour_in_paris():
    # 2026-10-25: 03:00 CEST -> 02:00 CET; 02:10 after 02:50 in file order is the second 02:10.
    ctx = ParseContext("Europe/Paris", dt.datetime(2026, 11, 1, tzinfo=UTC))
    lines = [f"Oct 25 02:10:00 mx1 {CONNECT}", f"Oct 25 02:50:00 mx1 {CONNECT}",
             f"Oct 25 02:10:00 mx1 {CONNECT}", f"Oct 25 03:05:00 mx1 {CONNECT}"]
    result = parse(POSTFIX, lines, ctx)
    assert set(result.events.column("event.timezone").to_pylist()) == {"Europe/Paris"}
    [events] = settle_fall_back([result.events], WallClock())  # the file-order decision
    assert events.column("@timestamp").to_pylist() == [
        at(2026, 10, 25, 0, 10), at(2026, 10, 25, 0, 50), at(2026, 10, 25, 1, 10), at(2026, 10, 25, 2, 5)]


# ---------------------------------------------------------------------------------------------
# Postfix: whole messages
# ---------------------------------------------------------------------------------------------

QID = "4F3A21C0042"
INBOUND = [
    f"Nov 27 19:02:10 mx1 postfix/smtpd[2001]: connect from mail.example.net[185.71.151.7]",
    f"Nov 27 19:02:11 mx1 postfix/smtpd[2001]: {QID}: client=mail.example.net[185.71.151.7]",
    f"Nov 27 19:02:11 mx1 postfix/cleanup[2002]: {QID}: message-id=<abc.123@example.net>",
    f"Nov 27 19:02:11 mx1 postfix/cleanup[2002]: {QID}: warning: header Subject: Facture impayée from "
    "mail.example.net[185.71.151.7]; from=<billing@example.net> to=<dr.martin@chu.example.fr> proto=ESMTP "
    "helo=<mail.example.net>",
    f"Nov 27 19:02:11 mx1 postfix/cleanup[2002]: {QID}: warning: header Content-Disposition: attachment; "
    'filename="invoice.iso" from mail.example.net[185.71.151.7]; from=<billing@example.net> '
    "to=<dr.martin@chu.example.fr> proto=ESMTP helo=<mail.example.net>",
    f"Nov 27 19:02:11 mx1 opendkim[900]: {QID}: bad signature data",
    f"Nov 27 19:02:11 mx1 opendmarc[901]: {QID}: example.net fail",
    f"Nov 27 19:02:12 mx1 postfix/qmgr[1500]: {QID}: from=<billing@example.net>, size=48213, nrcpt=2 (queue active)",
    f"Nov 27 19:02:12 mx1 postfix/lmtp[2003]: {QID}: to=<dr.martin@chu.example.fr>, "
    "relay=mx1.chu.example.fr[private/dovecot-lmtp], delay=1.2, delays=0.9/0.01/0.1/0.2, dsn=2.0.0, "
    "status=sent (250 2.0.0 <dr.martin@chu.example.fr> Saved)",
    f"Nov 27 19:02:12 mx1 postfix/lmtp[2003]: {QID}: to=<old.user@chu.example.fr>, "
    "relay=mx1.chu.example.fr[private/dovecot-lmtp], delay=1.2, delays=0.9/0.01/0.1/0.2, dsn=5.1.1, "
    "status=bounced (host mx1.chu.example.fr[private/dovecot-lmtp] said: 550 5.1.1 User unknown)",
    f"Nov 27 19:02:12 mx1 postfix/qmgr[1500]: {QID}: removed",
    f"Nov 27 19:02:13 mx1 postfix/smtpd[2001]: disconnect from mail.example.net[185.71.151.7] ehlo=1 mail=1 "
    "rcpt=2 data=1 quit=1 commands=6",
]


def test_inbound_message_stitched_with_all_fields():
    result = parse(POSTFIX, INBOUND)
    assert (result.events.num_rows, result.fragments.num_rows) == (2, 10)
    stitched = stitch_all(result)
    assert list(stitched) == [f"mx1/{QID}"]
    msg = stitched[f"mx1/{QID}"]
    first = result.fragments.to_pylist()[0]
    expected = {
        "@timestamp": at(2026, 11, 27, 18, 2, 11),
        "event.action": "message",
        "event.category": ["email"],
        "event.outcome": "failure",
        "event.reason": "host mx1.chu.example.fr[private/dovecot-lmtp] said: 550 5.1.1 User unknown",
        "event.dataset": "mail.postfix",
        "event.original": "\n".join(INBOUND[1:-1]),
        "log.offset": first["log.offset"],
        "log.file.path": "/var/log/mail.log",
        "vigie.lines": 10,
        "email.local_id": QID,
        "email.message_id": "abc.123@example.net",
        "email.from.address": ["billing@example.net"],
        "email.to.address": ["dr.martin@chu.example.fr", "old.user@chu.example.fr"],
        "email.subject": "Facture impayée",
        "email.attachments.file.name": ["invoice.iso"],
        "email.direction": "inbound",
        "source.ip": "185.71.151.7",
        "source.domain": "mail.example.net",
        "related.ip": ["185.71.151.7"],
        "vigie.mail.size": 48213,
        "vigie.mail.recipient_count": 2,
        "vigie.mail.status": ["sent", "bounced"],
        "vigie.mail.relay": ["mx1.chu.example.fr[private/dovecot-lmtp]"] * 2,
        "vigie.mail.dkim_result": "fail",
        "vigie.mail.dmarc_result": "fail",
        "log.syslog.hostname": "mx1",
        "log.syslog.appname": "postfix/smtpd",
        "observer.hostname": "mx1",
        "user.name": None,
    }
    assert {k: msg[k] for k in expected} == expected
    assert len(msg["event.id"]) == 32 and msg["event.id"] == stitch_all(parse(POSTFIX, INBOUND))[f"mx1/{QID}"]["event.id"]


OUTBOUND = [
    "Nov 27 20:00:00 mx1 postfix/submission/smtpd[3001]: 9B1C2D3E4F: client=pc-123.chu.example.fr[10.20.30.40], "
    "sasl_method=LOGIN, sasl_username=jdoe@chu.example.fr",
    "Nov 27 20:00:00 mx1 postfix/cleanup[3002]: 9B1C2D3E4F: message-id=<out-1@chu.example.fr>",
    "Nov 27 20:00:00 mx1 postfix/qmgr[1500]: 9B1C2D3E4F: from=<jdoe@chu.example.fr>, size=1200, nrcpt=1 (queue active)",
    "Nov 27 20:00:31 mx1 postfix/smtp[3003]: 9B1C2D3E4F: to=<friend@gmail.com>, relay=none, delay=31, "
    "delays=0.1/0/31/0, dsn=4.4.1, status=deferred (connect to gmail-smtp-in.l.google.com[142.250.1.27]:25: "
    "Connection timed out)",
    "Nov 27 20:10:00 mx1 postfix/smtp[3004]: 9B1C2D3E4F: to=<friend@gmail.com>, "
    "relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=600, delays=599/0/0.5/0.5, dsn=2.0.0, "
    "status=sent (250 2.0.0 OK)",
    "Nov 27 20:10:00 mx1 postfix/qmgr[1500]: 9B1C2D3E4F: removed",
]


def test_outbound_message_authenticated_and_retried():
    msg = stitch_all(parse(POSTFIX, OUTBOUND))["mx1/9B1C2D3E4F"]
    assert {k: msg[k] for k in ("email.direction", "event.outcome", "vigie.mail.status", "vigie.mail.relay",
                                "user.name", "user.email", "email.sender.address", "vigie.mail.sasl_method",
                                "email.to.address", "destination.ip", "vigie.lines")} == {
        "email.direction": "outbound", "event.outcome": "success",
        "vigie.mail.status": ["deferred", "sent"],
        "vigie.mail.relay": ["none", "gmail-smtp-in.l.google.com[142.250.1.27]:25"],
        "user.name": "jdoe@chu.example.fr", "user.email": "jdoe@chu.example.fr",
        "email.sender.address": "jdoe@chu.example.fr", "vigie.mail.sasl_method": "LOGIN",
        "email.to.address": ["friend@gmail.com"], "destination.ip": "142.250.1.27", "vigie.lines": 6}
    assert msg["message"] == ("message 9B1C2D3E4F from jdoe@chu.example.fr to friend@gmail.com: "
                              "deferred, sent")


def test_internal_message_stays_inside():
    lines = [
        "Nov 27 21:00:00 mx1 postfix/smtpd[1]: 1A2B3C4D5E: client=app.chu.example.fr[10.9.9.9]",
        "Nov 27 21:00:01 mx1 postfix/qmgr[2]: 1A2B3C4D5E: from=<app@chu.example.fr>, size=10, nrcpt=1 (queue active)",
        "Nov 27 21:00:01 mx1 postfix/local[3]: 1A2B3C4D5E: to=<ops@mx1.chu.example.fr>, relay=local, delay=0.1, "
        "delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)",
    ]
    msg = stitch_all(parse(POSTFIX, lines))["mx1/1A2B3C4D5E"]
    assert (msg["email.direction"], msg["event.outcome"]) == ("internal", "success")


def test_same_queue_id_on_two_hosts_are_two_messages():
    lines = ["Nov 27 21:00:00 mx1 postfix/qmgr[2]: 1A2B3C4D5E: removed",
             "Nov 27 21:00:00 mx2 postfix/qmgr[2]: 1A2B3C4D5E: removed"]
    assert sorted(stitch_all(parse(POSTFIX, lines))) == ["mx1/1A2B3C4D5E", "mx2/1A2B3C4D5E"]


# ---------------------------------------------------------------------------------------------
# Postfix: dead letters, balance, detection
# ---------------------------------------------------------------------------------------------

GARBAGE = [
    "this is not a syslog line",
    "Nov 27 19:0",  # truncated header
    "# failJSON: {\"time\": \"2005-02-21T09:21:54\"}",
    "Feb 32 10:00:00 mx1 postfix/smtpd[1]: connect from a.example[176.31.84.9]",  # no such date
    "Foo 12 10:00:00 mx1 postfix/smtpd[1]: connect from a.example[176.31.84.9]",  # no such month
    "\x00\x01binary",
]


def test_postfix_garbage_is_dead_lettered_with_a_reason():
    result = parse(POSTFIX, GARBAGE + ["", "   "])
    assert result.dead_letters.num_rows == len(GARBAGE)
    assert result.skipped == {"blank line": 2}
    reasons = result.dead_letters.column("reason").to_pylist()
    assert reasons[:3] == [reasons[0]] * 3 and reasons[0].startswith("no syslog header")
    assert reasons[3:5] == ["syslog timestamp does not exist (bad date)"] * 2
    assert result.dead_letters.column("origin.offset").to_pylist()[:2] == [0, len(GARBAGE[0]) + 1]


def test_postfix_balance_on_a_mixed_file():
    lines = INBOUND + OUTBOUND + GARBAGE + [line for line, _, _ in POSTFIX_LINES] + ["", "\t"]
    result = parse(POSTFIX, lines)
    carried = result.events.num_rows + result.fragments.num_rows + result.dead_letters.num_rows
    assert carried + sum(result.skipped.values()) == len(lines)


def test_postfix_empty_batch():
    result = parse(POSTFIX, [])
    assert (result.events.num_rows, result.fragments.num_rows, result.dead_letters.num_rows) == (0, 0, 0)


MAILLOG_MOSTLY_DOVECOT = (
    ["Nov 27 19:02:11 mx1 dovecot: imap-login: Login: user=<jdoe>, rip=10.1.2.3"] * 16
    + ["Nov 27 19:02:11 mx1 postfix/smtpd[1]: connect from a.example[176.31.84.9]"] * 3
    + ["Nov 27 19:02:11 mx1 CRON[3]: (root) CMD (true)"])
EXIM_SAMPLE = [
    "2026-11-27 19:10:00 1rABCd-000123-AB <= a@example.net H=m.example.net [185.71.151.7] P=esmtp S=100",
    "2026-11-27 19:10:01 1rABCd-000123-AB => b@chu.example.fr R=local_user T=dovecot_lmtp",
    "2026-11-27 19:10:01 1rABCd-000123-AB Completed",
    "2026-11-27 19:11:00 login authenticator failed for (x) [176.31.84.1]: 535 Incorrect authentication data",
]


def test_detection_tells_postfix_and_exim_apart():
    postfix_sample = [line for line, _, _ in POSTFIX_LINES[:20]]
    assert detect_postfix(postfix_sample) == 1.0
    assert detect_exim(postfix_sample) == 0.0
    assert detect_exim(EXIM_SAMPLE) == 1.0
    assert detect_postfix(EXIM_SAMPLE) == 0.0
    assert detect_format(postfix_sample)[0] is POSTFIX
    assert detect_format(EXIM_SAMPLE)[0] is EXIM


def test_detection_of_a_maillog_with_mostly_dovecot():
    assert detect_postfix(MAILLOG_MOSTLY_DOVECOT) == pytest.approx(19 / 20)
    assert detect_format(MAILLOG_MOSTLY_DOVECOT)[0] is POSTFIX


def test_detection_ignores_a_general_syslog_with_rare_postfix_lines():
    sample = (["Nov 27 19:02:11 gw sshd[7]: Accepted publickey for root from 10.0.0.1 port 22 ssh2"] * 49
              + ["Nov 27 19:02:11 gw postfix/pickup[1]: 1A2B3C4D5E: uid=0 from=<root>"])
    assert detect_postfix(sample) == 0.0
    assert detect_exim(["2026-11-27 19:02:11 10.0.0.1 GET /index.html 200"]) == 0.0


# ---------------------------------------------------------------------------------------------
# Exim
# ---------------------------------------------------------------------------------------------

E = "2026-11-27 19:10:00"
EXIM_LINES = [
    (f"{E} 1rABCd-000123-AB <= billing@example.net H=mail.example.net (helo.example.net) [185.71.151.7]:41234 "
     "I=[176.31.84.25]:25 P=esmtps X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no S=48213 id=abc.123@example.net "
     'T="Facture =?UTF-8?Q?=C3=A9t=C3=A9?=" from <billing@example.net> for a@chu.example.fr b@chu.example.fr',
     "fragment", {"event.action": "arrival", "email.local_id": "1rABCd-000123-AB",
                  STITCH_KEY: "0000000000000000/1rABCd-000123-AB",
                  "email.from.address": ["billing@example.net"], "source.ip": "185.71.151.7",
                  "source.domain": "mail.example.net", "source.port": 41234, "vigie.mail.size": 48213,
                  "email.message_id": "abc.123@example.net", "email.subject": "Facture été",
                  "email.to.address": ["a@chu.example.fr", "b@chu.example.fr"], "email.direction": "inbound",
                  "@timestamp": at(2026, 11, 27, 18, 10), "event.timezone": "Europe/Paris",
                  "event.dataset": "mail.exim", "observer.product": "exim"}),
    (f"{E} 1rXYZa-0001Ab-12 <= jdoe@chu.example.fr H=(pc-123) [10.20.30.40]:50000 P=esmtpsa "
     "A=dovecot_login:jdoe S=1200 id=x@chu.example.fr",
     "fragment", {"user.name": "jdoe", "vigie.mail.sasl_method": "dovecot_login", "source.domain": None,
                  "email.direction": "outbound", "email.local_id": "1rXYZa-0001Ab-12"}),
    (f"{E} 1Ab2Cd-000Ef3-GH <= <> R=1rXYZa-0001Ab-12 U=Debian-exim P=local S=2000",
     "fragment", {"email.from.address": None, "email.direction": "outbound", "source.ip": None,
                  "email.local_id": "1Ab2Cd-000Ef3-GH"}),
    (f"{E} 1rABCd-00000001Ab4-12Cd <= a@example.net H=m.example.net [185.71.151.8] P=esmtp S=10",
     "fragment", {"email.local_id": "1rABCd-00000001Ab4-12Cd", "source.ip": "185.71.151.8"}),
    (f"{E} 1rXYZa-0001Ab-12 => friend@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com "
     '[142.250.1.27] X=TLS1.3:TLS_AES_128_GCM_SHA256:128 CV=yes C="250 2.0.0 OK 1700000000 gsmtp"',
     "fragment", {"event.action": "delivery", "email.to.address": ["friend@gmail.com"],
                  "vigie.mail.status": ["sent"], "event.outcome": "success",
                  "vigie.mail.relay": ["gmail-smtp-in.l.google.com[142.250.1.27]"],
                  "destination.ip": "142.250.1.27", "destination.domain": "gmail-smtp-in.l.google.com",
                  "source.ip": None, "event.reason": "250 2.0.0 OK 1700000000 gsmtp"}),
    (f"{E} 1rABCd-000123-AB -> b@chu.example.fr R=local_user T=dovecot_lmtp",
     "fragment", {"vigie.mail.status": ["sent"], "vigie.mail.relay": ["dovecot_lmtp"]}),
    (f"{E} 1rABCd-000123-AB => jdoe <jdoe@chu.example.fr> R=local_user T=mail_spool",
     "fragment", {"email.to.address": ["jdoe@chu.example.fr"]}),
    (f"{E} 1rABCd-000123-AB == x@example.org R=dnslookup T=remote_smtp defer (-44) H=mx.example.org "
     "[176.31.84.1]: SMTP error from remote mail server after RCPT TO:<x@example.org>: 451 Try later",
     "fragment", {"vigie.mail.status": ["deferred"], "event.outcome": "unknown",
                  "event.reason": "SMTP error from remote mail server after RCPT TO:<x@example.org>: 451 Try later",
                  "vigie.mail.relay": ["mx.example.org[176.31.84.1]"]}),
    (f"{E} 1rABCd-000123-AB ** old@chu.example.fr R=local_user T=dovecot_lmtp: LMTP error after RCPT TO:<old"
     "@chu.example.fr>: 550 5.1.1 User unknown",
     "fragment", {"vigie.mail.status": ["bounced"], "event.outcome": "failure",
                  "event.reason": "LMTP error after RCPT TO:<old@chu.example.fr>: 550 5.1.1 User unknown"}),
    (f"{E} 1rABCd-000123-AB Completed", "fragment", {"event.action": "completed"}),
    (f"{E} 1Unmew-0000ea-SE H=egeftech.static.otenet.gr [83.235.177.148]:32706 I=[1.2.3.4]:25 "
     "F=<auguries@example.com> rejected after DATA: This message contains a virus",
     "fragment", {"event.action": "reject", "vigie.mail.status": ["rejected"], "source.ip": "83.235.177.148",
                  "email.from.address": ["auguries@example.com"],
                  "event.reason": "This message contains a virus"}),
    # --- events ---
    (f"{E} login authenticator failed for (ylmf-pc) [120.196.140.45]: 535 Incorrect authentication data "
     "(set_id=jdoe)",
     "event", {"event.action": "sasl-auth-failure", "event.category": ["authentication"],
               "event.outcome": "failure", "source.ip": "120.196.140.45", "user.name": "jdoe",
               "vigie.mail.sasl_method": "login", "event.reason": "535 Incorrect authentication data",
               "email.local_id": None, "log.syslog.hostname": None}),
    (f"{E} dovecot_login authenticator failed for rrcs.example.com ([192.168.2.33]) [24.106.174.74]:41556 "
     "I=[10.0.0.1]:25: 535 Incorrect authentication data: 1 Time(s)",
     "event", {"source.ip": "24.106.174.74", "source.domain": "rrcs.example.com", "user.name": None,
               "event.reason": "535 Incorrect authentication data: 1 Time(s)"}),
    (f"{E} H=mx.example.com [182.18.24.93] F=<buh@example.com> rejected RCPT <r@chu.example.fr>: Unknown user",
     "event", {"event.action": "reject", "event.outcome": "failure", "email.to.address": ["r@chu.example.fr"],
               "email.from.address": ["buh@example.com"], "event.reason": "Unknown user",
               "email.direction": "inbound"}),
    (f"{E} [10099] H=(yakult.com.tw) [202.132.70.178]:3755 I=[1.2.3.4]:25 F=m@example.org rejected RCPT "
     "dir@ml3.ru: relay not permitted",
     "event", {"source.ip": "202.132.70.178", "email.to.address": ["dir@ml3.ru"], "log.syslog.procid": "10099"}),
    (f'{E} SMTP protocol error in "aUtH lOgIn" H=(test) [8.8.8.8]" H=(roxzgj) [176.31.84.6] AUTH command used '
     "when not advertised",
     "event", {"event.action": "protocol-error", "source.ip": "176.31.84.6",
               "event.reason": "AUTH command used when not advertised"}),
    (f"{E} SMTP connection from (some.domain) [176.31.84.33]:1234 I=[10.0.0.1]:25 closed by DROP in ACL",
     "event", {"event.action": "connection-dropped", "source.ip": "176.31.84.33", "source.port": 1234}),
    (f"{E} SMTP connection from mail.example.net [185.71.151.7]:41234 I=[10.0.0.1]:25 (TCP/IP connection count = 1)",
     "event", {"event.action": "connect", "source.ip": "185.71.151.7", "source.domain": "mail.example.net"}),
    (f"{E} SMTP connection from mail.example.net [185.71.151.7] lost while reading message data",
     "event", {"event.action": "lost-connection", "event.reason": "while reading message data"}),
    (f"{E} no MAIL in SMTP connection from [122.165.71.116]:2056 I=[172.89.0.6]:25 D=0s",
     "event", {"event.action": "no-mail", "source.ip": "122.165.71.116"}),
    (f"{E} no host name found for IP address 176.31.84.8", "event", {"event.action": "reverse-dns-failure",
                                                                  "source.ip": "176.31.84.8"}),
    (f"{E} Start queue run: pid=1234", "event", {"event.action": "queue-run", "event.category": ["process"],
                                                 "source.ip": None}),
    (f"{E}.123 +0100 SMTP connection from [176.31.84.9]", "event",
     {"@timestamp": at(2026, 11, 27, 18, 10, 0, 123000), "event.timezone": None}),
    (f"{E} mx1.chu.example.fr exim[29786]: dovecot_login authenticator failed for (User) [176.31.84.37]: 535 "
     "Incorrect authentication data (set_id=test@domain.com)",
     "event", {"log.syslog.hostname": "mx1.chu.example.fr", "observer.hostname": "mx1.chu.example.fr",
               "log.syslog.appname": "exim", "log.syslog.procid": "29786", "user.name": "test@domain.com",
               "user.email": "test@domain.com"}),
    (f"mail.example.com exim[3751842]: {E} plain_server authenticator failed for ([176.31.84.17]) "
     "[176.31.84.27]: 535 Incorrect authentication data",
     "event", {"log.syslog.hostname": "mail.example.com", "source.ip": "176.31.84.27",
               "@timestamp": at(2026, 11, 27, 18, 10)}),
    (f"{E} mx1 exim[5]: 1rABCd-000123-AB Completed",
     "fragment", {STITCH_KEY: "mx1/1rABCd-000123-AB"}),
]


@pytest.mark.parametrize("line, where, expected", EXIM_LINES)
def test_exim_line(line, where, expected):
    got_where, row = only_row(EXIM, line)
    assert got_where == where
    assert {k: row[k] for k in expected} == expected
    assert row["event.original"] == line


EXIM_MESSAGE = [
    "2026-11-27 19:10:00 1rABCd-000123-AB <= billing@example.net H=mail.example.net [185.71.151.7]:41234 "
    "P=esmtps S=48213 id=abc.123@example.net T=\"Facture\" for a@chu.example.fr old@chu.example.fr",
    "2026-11-27 19:10:00 SMTP connection from mail.example.net [185.71.151.7] closed by QUIT",
    "2026-11-27 19:10:01 1rABCd-000123-AB => a@chu.example.fr R=local_user T=dovecot_lmtp C=\"250 2.0.0 Saved\"",
    "2026-11-27 19:10:01 1rABCd-000123-AB ** old@chu.example.fr R=local_user T=dovecot_lmtp: 550 5.1.1 User unknown",
    "2026-11-27 19:10:01 1rABCd-000123-AB Completed",
]


def test_exim_message_stitched():
    result = parse(EXIM, EXIM_MESSAGE)
    assert (result.events.num_rows, result.fragments.num_rows) == (1, 4)
    msg = stitch_all(result)["0000000000000000/1rABCd-000123-AB"]
    expected = {
        "@timestamp": at(2026, 11, 27, 18, 10), "event.action": "message", "event.outcome": "failure",
        "event.reason": "550 5.1.1 User unknown", "email.local_id": "1rABCd-000123-AB",
        "email.from.address": ["billing@example.net"], "email.subject": "Facture",
        "email.to.address": ["a@chu.example.fr", "old@chu.example.fr"], "email.direction": "inbound",
        "email.message_id": "abc.123@example.net", "vigie.mail.size": 48213, "source.ip": "185.71.151.7",
        "vigie.mail.status": ["sent", "bounced"], "vigie.mail.relay": ["dovecot_lmtp", "dovecot_lmtp"],
        "vigie.lines": 4, "event.original": "\n".join(EXIM_MESSAGE[:1] + EXIM_MESSAGE[2:]),
        "event.dataset": "mail.exim",
    }
    assert {k: msg[k] for k in expected} == expected


def test_exim_outbound_message():
    lines = [
        "2026-11-27 19:20:00 1rXYZa-0001Ab-12 <= jdoe@chu.example.fr H=(pc-123) [10.20.30.40] P=esmtpsa "
        "A=dovecot_login:jdoe S=1200 id=x@chu.example.fr",
        "2026-11-27 19:20:02 1rXYZa-0001Ab-12 => friend@gmail.com R=dnslookup T=remote_smtp "
        "H=gmail-smtp-in.l.google.com [142.250.1.27] C=\"250 OK\"",
        "2026-11-27 19:20:02 1rXYZa-0001Ab-12 Completed",
    ]
    msg = stitch_all(parse(EXIM, lines))["0000000000000000/1rXYZa-0001Ab-12"]
    assert (msg["email.direction"], msg["event.outcome"], msg["user.name"], msg["destination.ip"]) == (
        "outbound", "success", "jdoe", "142.250.1.27")


def test_exim_garbage_and_balance():
    garbage = ["# comment", "2026-11-27", "2026-13-45 10:00:00 1rABCd-000123-AB Completed", "junk"]
    lines = garbage + [line for line, _, _ in EXIM_LINES] + EXIM_MESSAGE + [""]
    result = parse(EXIM, lines)
    assert result.dead_letters.num_rows == len(garbage)
    assert result.skipped == {"blank line": 1}
    reasons = result.dead_letters.column("reason").to_pylist()
    assert reasons[2] == "exim timestamp does not exist (bad date or zone)"
    assert all(r.startswith("no exim timestamp") for r in reasons[:2] + reasons[3:])


# ---------------------------------------------------------------------------------------------
# Robustness: every truncation of every sample line is read or dead-lettered, never raises
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, samples", [
    (POSTFIX, [line for line, _, _ in POSTFIX_LINES] + INBOUND),
    (EXIM, [line for line, _, _ in EXIM_LINES] + EXIM_MESSAGE),
])
def test_truncated_lines_never_raise(fmt, samples):
    lines = [line[:cut] for line in samples for cut in range(0, len(line) + 1, 3)]
    lines += [line.replace(" ", "  ") for line in samples] + [line + " \u00e9\u2028[" for line in samples]
    result = parse(fmt, lines)
    assert result.events.num_rows + result.fragments.num_rows > len(samples)
    assert result.fragments.column(STITCH_KEY).null_count == 0
    assert sum(m["vigie.lines"] for m in stitch_all(result).values()) == result.fragments.num_rows
