"""The stitching bench's input: a mail gateway's logs, deterministic, made once per size and cached.

Written with the project's line writers (pipelines/scenario/formats.py: postfix, exim, syslog).
Two Postfix gateways (mx1, mx2: one syslog file each) and an internal Exim relay (its mainlog),
over one day from 00:00 Paris time, lines of each file in time order. Per Postfix file, a unit is:
- inbound message (62 %) from one of ten outside domains (four sending servers each):
  connect, TLS, client=, cleanup message-id, opendkim, opendmarc, qmgr, disconnect, one
  delivery per recipient (1-4; to the mail store over LMTP or to the internal relay over SMTP),
  removed, and an amavis line (another program of the same syslog file);
- outbound message (16 %): SASL-authenticated submission, 1-3 outside recipients, 3 % of them
  bounced (then a non-delivery notice, a message of its own) and 4 % deferred then sent 5-15
  minutes later;
- blocklist reject (12 %): connect, NOQUEUE reject, disconnect;
- SASL password guessing (10 %): connect, authentication failure, lost connection, disconnect;
  these two from random addresses (botnets).
The Exim relay takes about a sixth of the lines: arrival, deliveries (some deferred then
delivered, some bounced), Completed; authentication failures; queue runs.
Environment: BENCH_MAIL_LINES (default 1000000), BENCH_DIR (default bench/out).
"""
from __future__ import annotations

import datetime as dt
import os
import random
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pipelines.scenario import formats  # noqa: E402

ZONE = ZoneInfo("Europe/Paris")
START = dt.datetime(2026, 11, 27, 0, 0, tzinfo=ZONE)
DAY_MS = 24 * 3600 * 1000
OUTSIDE = ("gmail.com", "orange.fr", "free.fr", "laposte.net", "aphp.fr", "chu-voisin.fr",
           "univ-exemple.fr", "doctolib.fr", "ameli.fr", "medifourniture.fr")
LOCAL = "chu-exemple.fr"
_B52 = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
Record = tuple[int, str]  # (milliseconds since START, line)


def _at(ms: int) -> dt.datetime:
    return START + dt.timedelta(milliseconds=ms)


def _code(rng: random.Random, digits: str, width: int) -> str:
    return "".join(rng.choice(digits) for _ in range(width))


class _Gateway:
    """One Postfix gateway's log: units of lines at random times of the day."""

    def __init__(self, rng: random.Random, host: str):
        self.rng, self.host, self.taken = rng, host, set()
        # Each outside domain sends from a few servers and receives on one MX (fixed addresses);
        # blocklisted and password-guessing clients come from anywhere.
        self.senders = {d: [self.outside_ip() for _ in range(4)] for d in OUTSIDE}
        self.mx = {d: self.outside_ip() for d in OUTSIDE}

    def qid(self) -> str:
        while True:
            qid = _code(self.rng, _B52, 10) + "z" + _code(self.rng, _B52, 1)
            if qid not in self.taken:
                self.taken.add(qid)
                return qid

    def line(self, t: int, program: str, pid: int, text: str) -> Record:
        return t, formats.postfix(_at(t), self.host, program, pid, text)

    def person(self, domain: str) -> str:
        first = self.rng.choice(("marie", "jean", "luc", "anne", "paul", "lea", "hugo", "emma"))
        return f"{first}.{_code(self.rng, 'abcdefghijklmnopqrstuvwxyz', 6)}@{domain}"

    def outside_ip(self) -> str:
        r = self.rng
        return f"{r.choice((5, 31, 62, 80, 90, 109, 176, 185, 193, 212))}.{r.randint(0, 255)}." \
               f"{r.randint(0, 255)}.{r.randint(1, 254)}"

    def delivery(self, t: int, qid: str, rcpt: str, status: str) -> Record:
        r = self.rng
        delays = f"delay={r.uniform(0.1, 3):.2g}, delays=0.1/0/0.05/{r.uniform(0.05, 1):.2g}"
        if rcpt.endswith(LOCAL):
            if r.random() < 0.7:
                return self.line(t, "postfix/lmtp", r.randint(2000, 9000),
                                 f"{qid}: to=<{rcpt}>, relay=mailstore.chu.local[10.10.0.25]:24, "
                                 f"{delays}, dsn=2.0.0, status=sent (250 2.0.0 <{rcpt}> Saved)")
            return self.line(t, "postfix/smtp", r.randint(2000, 9000),
                             f"{qid}: to=<{rcpt}>, relay=relais.chu.local[10.10.0.20]:25, {delays}, "
                             f"dsn=2.0.0, status=sent (250 OK id={_code(r, _B62, 6)})")
        domain = rcpt.rpartition("@")[2]
        relay = f"mx.{domain}[{self.mx[domain]}]:25"
        if status == "sent":
            return self.line(t, "postfix/smtp", r.randint(2000, 9000),
                             f"{qid}: to=<{rcpt}>, relay={relay}, {delays}, dsn=2.0.0, "
                             f"status=sent (250 2.0.0 Ok: queued as {_code(r, _B62, 10)})")
        if status == "bounced":
            return self.line(t, "postfix/smtp", r.randint(2000, 9000),
                             f"{qid}: to=<{rcpt}>, relay={relay}, {delays}, dsn=5.1.1, status=bounced "
                             f"(host {relay[:-3]} said: 550 5.1.1 <{rcpt}>: Recipient address "
                             f"rejected: User unknown (in reply to RCPT TO command))")
        return self.line(t, "postfix/smtp", r.randint(2000, 9000),
                         f"{qid}: to=<{rcpt}>, relay=none, {delays}, dsn=4.4.1, status=deferred "
                         f"(connect to {relay}: Connection timed out)")

    def message(self, t: int, client: str, sender: str, rcpts: list[str], statuses: list[str],
                sasl: str = "", inbound: bool = True) -> list[Record]:
        r, qid, smtpd = self.rng, self.qid(), self.rng.randint(2000, 65000)
        out = [self.line(t, "postfix/smtpd", smtpd, f"connect from {client}"),
               self.line(t + 40, "postfix/smtpd", smtpd, f"Anonymous TLS connection established from "
                         f"{client}: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
               self.line(t + 200, "postfix/smtpd", smtpd, f"{qid}: client={client}{sasl}"),
               self.line(t + 400, "postfix/cleanup", r.randint(2000, 9000),
                         f"{qid}: message-id=<{_code(r, _B62, 16)}@{sender.rpartition('@')[2]}>")]
        if inbound:
            out += [self.line(t + 450, "opendkim", 901, f"{qid}: DKIM verification successful"),
                    self.line(t + 460, "opendmarc", 900, f"{qid}: {sender.rpartition('@')[2]} pass")]
        out += [self.line(t + 500, "postfix/qmgr", 1189, f"{qid}: from=<{sender}>, "
                          f"size={r.randint(3000, 900_000)}, nrcpt={len(rcpts)} (queue active)"),
                self.line(t + 700, "postfix/smtpd", smtpd, f"disconnect from {client} ehlo=2 "
                          f"starttls=1 mail=1 rcpt={len(rcpts)} data=1 quit=1 commands={6 + len(rcpts)}")]
        done = t + 700
        for rcpt, status in zip(rcpts, statuses):
            at = t + r.randint(800, 3000)
            out.append(self.delivery(at, qid, rcpt, "deferred" if status == "later" else status))
            if status == "later":
                at += r.randint(300_000, 900_000)
                out.append(self.delivery(at, qid, rcpt, "sent"))
            done = max(done, at)
        if inbound:
            out.append((done + 300, formats.syslog(_at(done + 300), self.host, "amavis",
                        f"({r.randint(10000, 99999)}-01) Passed CLEAN {{RelayedInbound}}, "
                        f"[{client.partition('[')[2][:-1]}] <{sender}> -> <{rcpts[0]}>, "
                        f"Queue-ID: {qid}, Hits: -1.2, size: 5120, 812 ms", pid=r.randint(1000, 9000))))
        if "bounced" in statuses:
            ndr = self.qid()
            out += [self.line(done + 500, "postfix/bounce", r.randint(2000, 9000),
                              f"{qid}: sender non-delivery notification: {ndr}"),
                    self.line(done + 510, "postfix/cleanup", r.randint(2000, 9000),
                              f"{ndr}: message-id=<{_code(r, _B62, 16)}@{self.host}.{LOCAL}>"),
                    self.line(done + 520, "postfix/qmgr", 1189, f"{ndr}: from=<>, size=6120, nrcpt=1 "
                              f"(queue active)"),
                    self.delivery(done + 900, ndr, sender, "sent"),
                    self.line(done + 950, "postfix/qmgr", 1189, f"{ndr}: removed")]
        out.append(self.line(done + 100, "postfix/qmgr", 1189, f"{qid}: removed"))
        return out

    def unit(self) -> list[Record]:
        r = self.rng
        t, kind = r.randrange(DAY_MS), r.random()
        if kind < 0.62:
            domain = r.choice(OUTSIDE)
            count = 1 if r.random() < 0.8 else r.randint(2, 4)
            return self.message(t, f"smtp-out.{domain}[{r.choice(self.senders[domain])}]", self.person(domain),
                                [self.person(LOCAL) for _ in range(count)], ["sent"] * count)
        if kind < 0.78:
            user = self.person(LOCAL)
            rcpts = [self.person(r.choice(OUTSIDE)) for _ in range(r.choice((1, 1, 1, 2, 3)))]
            fates = [r.choices(("sent", "bounced", "later"), (93, 3, 4))[0] for _ in rcpts]
            return self.message(t, "webmail.chu.local[10.10.0.30]", user, rcpts, fates,
                                sasl=f", sasl_method=LOGIN, sasl_username={user.partition('@')[0]}",
                                inbound=False)
        ip, pid = self.outside_ip(), r.randint(2000, 65000)
        if kind < 0.90:
            return [self.line(t, "postfix/smtpd", pid, f"connect from unknown[{ip}]"),
                    self.line(t + 500, "postfix/smtpd", pid, f"NOQUEUE: reject: RCPT from unknown[{ip}]: "
                              f"554 5.7.1 Service unavailable; Client host [{ip}] blocked using "
                              f"zen.spamhaus.org; from=<{self.person('mail.ru')}> "
                              f"to=<{self.person(LOCAL)}> proto=ESMTP helo=<ylmf-pc>"),
                    self.line(t + 1200, "postfix/smtpd", pid, f"disconnect from unknown[{ip}] ehlo=1 "
                              f"mail=1 rcpt=0/1 quit=1 commands=3/4")]
        return [self.line(t, "postfix/smtpd", pid, f"connect from unknown[{ip}]"),
                self.line(t + 900, "postfix/smtpd", pid, f"warning: unknown[{ip}]: SASL LOGIN "
                          f"authentication failed: UGFzc3dvcmQ6, sasl_username=admin"),
                self.line(t + 2700, "postfix/smtpd", pid, f"lost connection after AUTH from unknown[{ip}]"),
                self.line(t + 3050, "postfix/smtpd", pid, f"disconnect from unknown[{ip}] ehlo=1 "
                          f"auth=0/1 commands=1/2")]


def _exim_unit(rng: random.Random, taken: set[str]) -> list[Record]:
    """One unit of the internal relay's mainlog."""
    t, kind = rng.randrange(DAY_MS), rng.random()

    def line(ms: int, text: str) -> Record:
        return ms, formats.exim(_at(ms), text, pid=rng.randint(1000, 60000))

    if kind < 0.9:
        while (mid := f"{_code(rng, _B62, 6)}-{_code(rng, _B62, 6)}-{_code(rng, _B62, 2)}") in taken:
            pass
        taken.add(mid)
        sender = f"app{rng.randint(1, 40)}@{LOCAL}"
        rcpts = [f"agent{rng.randint(1, 9000)}@{LOCAL}" for _ in range(rng.choice((1, 1, 2, 3)))]
        out = [line(t, f"{mid} <= {sender} H=app.chu.local [10.10.5.{rng.randint(2, 250)}] P=esmtp "
                       f"S={rng.randint(2000, 400_000)} id={_code(rng, _B62, 14)}@{LOCAL} "
                       f"T=\"Notification {rng.randint(1, 99999)}\" from <{sender}> for {' '.join(rcpts)}")]
        for rcpt in rcpts:
            t += rng.randint(5, 250)
            fate = rng.random()
            if fate < 0.03:
                out.append(line(t, f"{mid} == {rcpt} R=dnslookup T=remote_smtp defer (110): "
                                   f"Connection timed out"))
                t += rng.randint(300_000, 900_000)
            if fate < 0.98:
                out.append(line(t, f"{mid} => {rcpt} R=local_user T=mail_spool"))
            else:
                out.append(line(t, f"{mid} ** {rcpt} R=local_user: Unrouteable address"))
        out.append(line(t + rng.randint(1, 20), f"{mid} Completed"))
        return out
    if kind < 0.97:
        host = f"pc-{rng.randint(1, 3000):04d}.chu.local"
        return [line(t, f"dovecot_login authenticator failed for ({host}) [10.20.{rng.randint(0, 255)}."
                        f"{rng.randint(1, 254)}]: 535 Incorrect authentication data "
                        f"(set_id=agent{rng.randint(1, 9000)})")]
    pid = rng.randint(10_000, 60_000)
    return [line(t, f"Start queue run: pid={pid}"), line(t + rng.randint(20, 900), f"End queue run: pid={pid}")]


def write_gateway_logs(folder: Path, lines: int, seed: int = 11) -> int:
    """About `lines` lines into folder/{mx1-maillog, mx2-maillog, relay-exim-mainlog}; the count."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    gateways = [_Gateway(rng, "mx1"), _Gateway(rng, "mx2")]
    files: dict[str, list[Record]] = {"mx1-maillog": [], "mx2-maillog": [], "relay-exim-mainlog": []}
    exim_ids: set[str] = set()
    total = 0
    while total < lines:
        if rng.random() < 0.35:
            records, name = _exim_unit(rng, exim_ids), "relay-exim-mainlog"
        else:
            gateway = rng.choice(gateways)
            records, name = gateway.unit(), f"{gateway.host}-maillog"
        files[name].extend(records)
        total += len(records)
    for name, records in files.items():
        records.sort(key=lambda rec: rec[0])  # stable: a unit's lines keep their order
        with open(folder / name, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for _, line in records)
    return total


def mail_bench_input() -> tuple[int, Path]:
    """(line count, folder of the gateway logs) for $BENCH_MAIL_LINES lines, made once."""
    lines = int(os.environ.get("BENCH_MAIL_LINES", "1000000"))
    work = Path(os.environ.get("BENCH_DIR", HERE / "out"))
    folder = work / f"mail-gateway-{lines}"
    stamp = work / f"mail-gateway-{lines}.count"  # written last: the folder is complete
    if not stamp.exists():
        print(f"generating about {lines:,} mail gateway lines -> {folder}", flush=True)
        count = write_gateway_logs(folder, lines)
        stamp.write_text(str(count))
    return int(stamp.read_text()), folder
