"""Mail: outside correspondents, Postfix on the gateway mx1 (mail/maillog) and Exim on the
internal relay (mail/exim-mainlog): whole messages from connect to removed, and the noise."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from pipelines.scenario import formats
from pipelines.scenario.chu.clock import SECOND, moment
from pipelines.scenario.chu.draws import (PROFILE_FLAT, PROFILE_MAIL, PROFILE_OFFICE, fill_in,
                                          pick, table, when)
from pipelines.scenario.chu.internet import fixed_ip, noise_ip
from pipelines.scenario.chu.logfiles import Record, fill
from pipelines.scenario.chu.world import DOMAIN, MX_HOST, Person, World, personal_address

if TYPE_CHECKING:
    from pipelines.scenario.chu.attack import Attack

# Postfix long queue ids are written in base 52: digits and letters without vowels.
_B52 = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B64 = _B62 + "+/"


def _encode(number: int, digits: str, width: int) -> str:
    """`number` written in base len(digits) on `width` digits."""
    out = []
    for _ in range(width):
        number, rest = divmod(number, len(digits))
        out.append(digits[rest])
    return "".join(reversed(out))


def _postfix_qid(rng: random.Random, t: int, taken: set[str]) -> str:
    """A 12-character Postfix long queue id (seconds, microseconds, 'z', inode), unique."""
    while True:
        qid = (_encode(t // 1000, _B52, 6) + _encode(rng.randrange(1_000_000), _B52, 4)
               + "z" + _B52[rng.randrange(51)])
        if qid not in taken:
            taken.add(qid)
            return qid


def _exim_id(rng: random.Random, t: int, taken: set[str]) -> str:
    """An Exim message id 'tttttt-pppppp-ff' (base 62), unique."""
    while True:
        mid = (f"{_encode(t // 1000, _B62, 6)}-{_encode(rng.randint(1_000, 99_999), _B62, 6)}"
               f"-{_encode(t % 1000 * 2, _B62, 2)}")
        if mid not in taken:
            taken.add(mid)
            return mid


def message_id(rng: random.Random, t: int, host: str) -> str:
    """An RFC 5322 message id in the usual 'timestamp.random@host' style."""
    return f"{moment(t):%Y%m%d%H%M%S}.{rng.getrandbits(40):010X}@{host}"


@dataclass(frozen=True)
class MailDomain:
    """An outside mail domain: how its mail reaches mx1, where mx1 delivers to it."""

    name: str
    kind: str  # people (personal mailboxes), org (institutions, suppliers), bulk (mailings)
    out_host: str
    out_ip: str
    mx_host: str
    mx_ip: str
    dkim: bool
    dmarc: str  # what opendmarc finds for its mail: pass | none | fail
    weight: float  # share of inbound mail


def _domain(name: str, kind: str, out_host: str, mx_host: str, dkim: bool, dmarc: str,
            weight: float, mx_ip: str = "") -> MailDomain:
    """A MailDomain with stable addresses for its hosts."""
    return MailDomain(name, kind, out_host, fixed_ip(out_host, low=1, span=120), mx_host,
                      mx_ip or fixed_ip(mx_host, low=1, span=120), dkim, dmarc, weight)


_MAIL_DOMAINS = (
    _domain("gmail.com", "people", "mail-ed1-f54.google.com", "gmail-smtp-in.l.google.com",
            True, "pass", 10, mx_ip="142.250.0.27"),
    _domain("orange.fr", "people", "smtp-out.orange.fr", "smtp-in.orange.fr", True, "pass", 6),
    _domain("wanadoo.fr", "people", "smtp-out.orange.fr", "smtp-in.orange.fr", True, "pass", 2),
    _domain("free.fr", "people", "smtp2-g21.free.fr", "mx1.free.fr", True, "none", 3),
    _domain("hotmail.fr", "people", "mail-am6eur05on2081.outbound.protection.outlook.com",
            "hotmail-com.olc.protection.outlook.com", True, "pass", 3),
    _domain("outlook.fr", "people", "mail-db8eur05on2100.outbound.protection.outlook.com",
            "hotmail-com.olc.protection.outlook.com", True, "pass", 2),
    _domain("laposte.net", "people", "smtp-out.laposte.net", "mx.laposte.net", True, "pass", 2),
    _domain("yahoo.fr", "people", "sonic310-21.consmr.mail.ir2.yahoo.com",
            "mx-eu.mail.am0.yahoodns.net", True, "pass", 1),
    _domain("sfr.fr", "people", "smtp-out.sfr.fr", "mx.sfr.fr", True, "none", 1),
    _domain("aphp.fr", "org", "smtp-out1.aphp.fr", "mx1.aphp.fr", True, "pass", 4),
    _domain("chu-voisin.fr", "org", "relais.chu-voisin.fr", "mx.chu-voisin.fr", True, "pass", 5),
    _domain("univ-exemple.fr", "org", "smtp.univ-exemple.fr", "mx.univ-exemple.fr",
            True, "pass", 4),
    _domain("ars.sante.fr", "org", "smtp.ars.sante.fr", "mx.ars.sante.fr", True, "pass", 2),
    _domain("labo-bioexemple.fr", "org", "mail.labo-bioexemple.fr", "mail.labo-bioexemple.fr",
            False, "none", 3),
    _domain("medifourniture.fr", "org", "mail.medifourniture.fr", "mx.medifourniture.fr",
            True, "pass", 2),
    _domain("has-sante.fr", "bulk", "mta1.has-sante.fr", "mx.has-sante.fr", True, "pass", 2),
    _domain("ameli.fr", "bulk", "smtp.ameli.fr", "mx.ameli.fr", True, "pass", 1.5),
    _domain("doctolib.fr", "bulk", "mail-out.doctolib.fr", "mx.doctolib.fr", True, "pass", 3),
    _domain("mutuelle-exemple.fr", "bulk", "news.mutuelle-exemple.fr", "mx.mutuelle-exemple.fr",
            False, "none", 1),
    _domain("lettre-medicale-exemple.com", "bulk", "mta.lettre-medicale-exemple.com",
            "mx.lettre-medicale-exemple.com", True, "pass", 1.5),
    _domain("exemple-livraison.fr", "bulk", "smtp.exemple-livraison.fr",
            "mx.exemple-livraison.fr", False, "fail", 0.5),
)
_INBOUND_DOMAINS = table((d, d.weight) for d in _MAIL_DOMAINS)
_OUTBOUND_DOMAINS = table((d, 2 if d.kind == "org" else 1)
                           for d in _MAIL_DOMAINS if d.kind != "bulk")
_MX = {d.name: (d.mx_host, d.mx_ip) for d in _MAIL_DOMAINS}

_SUBJECTS = {
    "people": ("Rendez-vous de contrôle", "Question sur mon dossier", "Demande de compte rendu",
               "Attestation de présence", "Merci pour votre accueil", "RE: Dîner samedi",
               "Photos", "Demande de certificat"),
    "org": ("Compte rendu de consultation", "Demande d'avis - transfert patient",
            "Résultats d'analyses", "Invitation : réunion de coordination territoriale",
            "Facture F2026-11-{n}", "Bon de commande n° {n}", "Convention de stage",
            "RE: Astreinte du week-end", "TR: Protocole de soins mis à jour",
            "Staff RCP de mardi"),
    "bulk": ("Lettre d'information - novembre 2026", "Votre colis est en cours de livraison",
             "Rappel de votre rendez-vous", "Votre attestation est disponible",
             "Alerte sanitaire : épidémie de grippe", "Webinaire : IA et imagerie médicale"),
    "outbound": ("RE: Demande d'avis", "Compte rendu d'hospitalisation",
                 "Dossier de transfert", "RE: Convention de stage", "Planning de la réunion",
                 "TR: Résultats", "Demande de rendez-vous", "RE: Facture F2026-10-{n}"),
    "internal": ("Compte rendu", "RE: Planning de la semaine", "Transmissions de l'équipe de nuit",
                 "TR: Protocole mis à jour", "Réunion de service jeudi", "Demande de congés",
                 "Absence demain", "Point sur les lits disponibles", "Commande de matériel",
                 "RE: Garde du 24 décembre"),
}
_ATTACHMENTS = {
    "people": ("photo.jpg", "IMG_{n}.jpeg", "attestation.pdf", "scan.pdf"),
    "org": ("compte_rendu.pdf", "Facture_F2026-11-{n}.pdf", "bon_de_commande_{n}.pdf",
            "protocole_v3.docx", "planning_decembre.xlsx", "invitation.ics",
            "convention_stage.pdf"),
    "bulk": ("lettre_information.pdf",),
    "outbound": ("compte_rendu.pdf", "courrier.docx", "ordonnance.pdf", "tableau.xlsx"),
}
_ATTACHMENT_RATE = {"people": 0.2, "org": 0.45, "bulk": 0.05, "outbound": 0.35}
_LOCAL_PARTS = {"org": ("secretariat", "contact", "accueil"),
                "bulk": ("noreply", "newsletter", "ne-pas-repondre", "info")}


def _outside_sender(rng: random.Random, domain: MailDomain) -> str:
    """A plausible sender address at an outside domain."""
    if domain.kind == "people" or (domain.kind == "org" and rng.random() < 0.7):
        return personal_address(rng, domain.name)
    return f"{rng.choice(_LOCAL_PARTS[domain.kind])}@{domain.name}"


@dataclass(frozen=True)
class Mail:
    """One message as mx1 sees it on one SMTP connection."""

    client_host: str
    client_ip: str
    helo: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    attachments: tuple[str, ...]
    message_id: str
    size: int
    dkim: str  # what opendkim logs
    dmarc: str = ""  # what opendmarc logs ("domain result"), inbound mail only
    sasl_user: str = ""


_QMGR_PID = 1189
_CLEANUP_PIDS = (2204, 2217, 3051)
_LMTP_PIDS = (2230, 2231, 2298)
_SMTP_PIDS = (2240, 2241, 2242, 2307, 2311)
_MAILSTORE = "mailstore.chu.local[10.10.0.25]:24"
_WEBMAIL = ("webmail.chu.local", "10.10.0.30")
OUR_DKIM = f"DKIM-Signature field added (s=mx2026, d={DOMAIN})"
_GMAIL_RATE_LIMIT = (
    "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your "
    "IP address. To protect our users from spam, mail sent from your IP address has been "
    "temporarily rate limited. - gsmtp (in reply to end of DATA command)")


def _postfix_record(t: int, program: str, pid: int, text: str, tag: str | None) -> Record:
    """A syslog line written by mx1."""
    return t, formats.postfix(moment(t), MX_HOST, program, pid, text), tag


def _seconds(value: float) -> str:
    """A delay as Postfix prints it: two significant digits below 10 s, whole seconds above."""
    return f"{value:.2g}" if value < 10 else str(round(value))


def _delays(rng: random.Random, waited: float = 0.0) -> str:
    """'delay=..., delays=a/b/c/d' for one delivery attempt."""
    parts = (rng.uniform(0.01, 0.3), waited + rng.choice((0, 0, 0.01)), rng.uniform(0.01, 0.4),
             rng.uniform(0.05, 1.2))
    return f"delay={_seconds(sum(parts))}, delays={'/'.join(_seconds(p) for p in parts)}"


def _accepted(rng: random.Random, t: int, mx_host: str) -> str:
    """The 250 reply of a receiving server, in its own style."""
    if "google" in mx_host:
        return (f"250 2.0.0 OK  {t // 1000} {rng.getrandbits(48):012x}si"
                f"{rng.randint(100_000, 999_999)}.{rng.randint(10, 999)} - gsmtp")
    if "outlook" in mx_host:
        return "250 2.6.0 Queued mail for delivery"
    return f"250 2.0.0 Ok: queued as {rng.getrandbits(40):010X}"


def _delivery(rng: random.Random, t: int, qid: str, rcpt: str, fate: str,
              tag: str | None) -> list[Record]:
    """The delivery lines for one recipient. fate: sent | bounced | deferred (then sent on
    retry) | stuck (deferred twice: the message stays queued)."""
    domain = rcpt.rpartition("@")[2]
    if domain == DOMAIN:
        saved = "".join(rng.choices(_B64, k=22))
        return [_postfix_record(t, "postfix/lmtp", rng.choice(_LMTP_PIDS),
                    f"{qid}: to=<{rcpt}>, relay={_MAILSTORE}, {_delays(rng)}, dsn=2.0.0, "
                    f"status=sent (250 2.0.0 <{rcpt}> {saved} Saved)", tag)]
    mx_host, mx_ip = _MX.get(domain, (f"mx.{domain}", fixed_ip(domain, low=1, span=120)))
    relay = f"{mx_host}[{mx_ip}]:25"
    head = f"{qid}: to=<{rcpt}>, relay={relay}"
    pid = rng.choice(_SMTP_PIDS)
    if fate == "sent":
        return [_postfix_record(t, "postfix/smtp", pid, f"{head}, {_delays(rng)}, dsn=2.0.0, "
                    f"status=sent ({_accepted(rng, t, mx_host)})", tag)]
    if fate == "bounced":
        return [_postfix_record(t, "postfix/smtp", pid, f"{head}, {_delays(rng)}, dsn=5.1.1, status=bounced "
                    f"(host {mx_host}[{mx_ip}] said: 550 5.1.1 <{rcpt}>: Recipient address "
                    f"rejected: User unknown (in reply to RCPT TO command))", tag)]

    def failure(delays: str) -> str:
        if "google" in mx_host and tag is not None:  # only the attack's burst is rate limited
            return (f"{head}, {delays}, dsn=4.7.28, status=deferred (host {mx_host}[{mx_ip}] "
                    f"said: {_GMAIL_RATE_LIMIT})")
        return (f"{qid}: to=<{rcpt}>, relay=none, {delays}, dsn=4.4.1, status=deferred "
                f"(connect to {relay}: Connection timed out)")  # no answer: no relay

    retry = t + rng.randint(300, 900) * SECOND
    later = _delays(rng, (retry - t) / 1000)
    second = (f"{head}, {later}, dsn=2.0.0, status=sent ({_accepted(rng, retry, mx_host)})"
              if fate == "deferred" else failure(later))
    return [_postfix_record(t, "postfix/smtp", pid, failure(_delays(rng)), tag),
            _postfix_record(retry, "postfix/smtp", rng.choice(_SMTP_PIDS), second, tag)]


def _nondelivery_notice(rng: random.Random, t: int, qid: str, sender: str, taken: set[str],
                        tag: str | None) -> tuple[list[Record], str]:
    """The bounce notice mx1 sends back to an internal sender, and its queue id."""
    ndr = _postfix_qid(rng, t, taken)
    lines = [_postfix_record(t, "postfix/bounce", rng.randint(2000, 65000),
                 f"{qid}: sender non-delivery notification: {ndr}", tag),
             _postfix_record(t + 1, "postfix/cleanup", rng.choice(_CLEANUP_PIDS),
                 f"{ndr}: message-id=<{message_id(rng, t, f'{MX_HOST}.{DOMAIN}')}>", tag),
             _postfix_record(t + 3, "postfix/qmgr", _QMGR_PID,
                 f"{ndr}: from=<>, size={rng.randint(4_000, 9_000)}, nrcpt=1 (queue active)", tag)]
    delivered = _delivery(rng, t + rng.randint(20, 300), ndr, sender, "sent", tag)
    return (lines + delivered + [_postfix_record(delivered[-1][0] + 2, "postfix/qmgr", _QMGR_PID,
                                     f"{ndr}: removed", tag)], ndr)


def postfix_message(rng: random.Random, t: int, mail: Mail, fates: Sequence[str],
                    taken: set[str], tag: str | None = None) -> tuple[list[Record], list[str]]:
    """Every line mx1 writes for one message received on one connection (connect to removed,
    bounce notice included), and the queue ids involved."""
    qid = _postfix_qid(rng, t, taken)
    smtpd, cleanup = rng.randint(2000, 65000), rng.choice(_CLEANUP_PIDS)
    client = f"{mail.client_host}[{mail.client_ip}]"
    count = len(mail.recipients)
    sasl = f", sasl_method=LOGIN, sasl_username={mail.sasl_user}" if mail.sasl_user else ""
    out = [_postfix_record(t, "postfix/smtpd", smtpd, f"connect from {client}", tag)]
    t += rng.randint(40, 400)
    out.append(_postfix_record(t, "postfix/smtpd", smtpd, f"{qid}: client={client}{sasl}", tag))
    t += rng.randint(30, 400)
    out.append(_postfix_record(t, "postfix/cleanup", cleanup, f"{qid}: message-id=<{mail.message_id}>", tag))
    context = (f"from {client}; from=<{mail.sender}> to=<{mail.recipients[0]}> proto=ESMTP "
               f"helo=<{mail.helo}>")
    out.append(_postfix_record(t + 1, "postfix/cleanup", cleanup,
                   f"{qid}: warning: header Subject: {mail.subject} {context}", tag))
    for name in mail.attachments:
        out.append(_postfix_record(t + 2, "postfix/cleanup", cleanup, f"{qid}: warning: header "
                       f'Content-Disposition: attachment; filename="{name}" {context}', tag))
    t += rng.randint(5, 120)
    out.append(_postfix_record(t, "opendkim", 901, f"{qid}: {mail.dkim}", tag))
    if mail.dmarc:
        out.append(_postfix_record(t + 1, "opendmarc", 900, f"{qid}: {mail.dmarc}", tag))
    t += rng.randint(5, 80)
    out.append(_postfix_record(t, "postfix/qmgr", _QMGR_PID,
                   f"{qid}: from=<{mail.sender}>, size={mail.size}, nrcpt={count} (queue active)",
                   tag))
    auth = " auth=1" if mail.sasl_user else ""
    commands = 6 + count + (1 if mail.sasl_user else 0)
    out.append(_postfix_record(t + rng.randint(3, 60), "postfix/smtpd", smtpd,
                   f"disconnect from {client} ehlo=2 starttls=1{auth} mail=1 rcpt={count} data=1 "
                   f"quit=1 commands={commands}", tag))
    done, qids = t, [qid]
    for rcpt, fate in zip(mail.recipients, fates):
        lines = _delivery(rng, t + rng.randint(50, 1500), qid, rcpt, fate, tag)
        out.extend(lines)
        done = max(done, lines[-1][0])
    if "bounced" in fates and mail.sender.endswith(f"@{DOMAIN}"):
        notice, ndr = _nondelivery_notice(rng, done + rng.randint(5, 50), qid, mail.sender,
                                          taken, tag)
        out.extend(notice)
        qids.append(ndr)
    if "stuck" not in fates:
        out.append(_postfix_record(done + rng.randint(1, 30), "postfix/qmgr", _QMGR_PID, f"{qid}: removed",
                       tag))
    return out, qids


def _inbound_mail(rng: random.Random, world: World, t: int, taken: set[str]) -> list[Record]:
    """An outside correspondent's message to 1-4 members of staff."""
    domain = pick(rng, _INBOUND_DOMAINS)
    kind = domain.kind
    count = 1 if rng.random() < 0.8 else rng.randint(2, 4)
    attachments = ((fill_in(rng, rng.choice(_ATTACHMENTS[kind])),)
                   if rng.random() < _ATTACHMENT_RATE[kind] else ())
    mail = Mail(domain.out_host, domain.out_ip, domain.out_host, _outside_sender(rng, domain),
                tuple(p.email for p in rng.sample(world.staff, count)),
                fill_in(rng, rng.choice(_SUBJECTS[kind])), attachments,
                message_id(rng, t, domain.out_host),
                rng.randint(4_000, 40_000) + (rng.randint(60_000, 2_000_000) if attachments else 0),
                "DKIM verification successful" if domain.dkim else "no signature data",
                f"{domain.name} {domain.dmarc}")
    return postfix_message(rng, t, mail, ["sent"] * count, taken)[0]


_OUTBOUND_FATES = table((("sent", 95), ("bounced", 3), ("deferred", 2)))


def _outbound_mail(rng: random.Random, senders: Sequence[Person], t: int,
                   taken: set[str]) -> list[Record]:
    """A member of staff writing from webmail to 1-3 outside correspondents."""
    person = rng.choice(senders)
    rcpts = tuple(_outside_sender(rng, pick(rng, _OUTBOUND_DOMAINS))
                  for _ in range(rng.choice((1, 1, 1, 2, 3))))
    attachments = ((fill_in(rng, rng.choice(_ATTACHMENTS["outbound"])),)
                   if rng.random() < _ATTACHMENT_RATE["outbound"] else ())
    mail = Mail(*_WEBMAIL, _WEBMAIL[0], person.email, rcpts,
                fill_in(rng, rng.choice(_SUBJECTS["outbound"])), attachments,
                message_id(rng, t, DOMAIN), rng.randint(3_000, 900_000), OUR_DKIM,
                sasl_user=person.login)
    fates = [pick(rng, _OUTBOUND_FATES) for _ in rcpts]
    return postfix_message(rng, t, mail, fates, taken)[0]


_SPAM_HELOS = ("ylmf-pc", "User", "WIN-CLJ1B0GQ6JP", "localhost", "mail.example.com")


def _rbl_reject(rng: random.Random, world: World) -> list[Record]:
    """A spam source refused on a DNS blocklist: connect, NOQUEUE reject, disconnect."""
    t, ip, pid = when(rng, PROFILE_FLAT), noise_ip(rng), rng.randint(2000, 65000)
    rcpt = rng.choice(world.staff).email
    return [_postfix_record(t, "postfix/smtpd", pid, f"connect from unknown[{ip}]", None),
            _postfix_record(t + rng.randint(200, 900), "postfix/smtpd", pid,
                f"NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 Service unavailable; "
                f"Client host [{ip}] blocked using zen.spamhaus.org; "
                f"from=<{personal_address(rng, 'mail.ru')}> to=<{rcpt}> proto=ESMTP "
                f"helo=<{rng.choice(_SPAM_HELOS)}>", None),
            _postfix_record(t + rng.randint(1000, 1500), "postfix/smtpd", pid,
                f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", None)]


def _sasl_probe(rng: random.Random) -> list[Record]:
    """An internet password-guessing attempt on SMTP AUTH (background noise)."""
    t, ip, pid = when(rng, PROFILE_FLAT), noise_ip(rng), rng.randint(2000, 65000)
    return [_postfix_record(t, "postfix/smtpd", pid, f"connect from unknown[{ip}]", None),
            _postfix_record(t + rng.randint(300, 2500), "postfix/smtpd", pid,
                f"warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", None),
            _postfix_record(t + rng.randint(2600, 3000), "postfix/smtpd", pid,
                f"lost connection after AUTH from unknown[{ip}]", None),
            _postfix_record(t + rng.randint(3001, 3100), "postfix/smtpd", pid,
                f"disconnect from unknown[{ip}] ehlo=1 auth=0/1 commands=1/2", None)]


def _anvil(rng: random.Random) -> list[Record]:
    """A connection-rate statistics line."""
    t = when(rng, PROFILE_FLAT)
    peak = formats.syslog_timestamp(moment(t - rng.randint(60, 600) * SECOND))
    return [_postfix_record(t, "postfix/anvil", 1205, f"statistics: max connection rate {rng.randint(1, 4)}"
                f"/60s for (smtp:{noise_ip(rng)}) at {peak}", None)]


_MAIL_KINDS = table((("inbound", 70), ("outbound", 13), ("rbl", 8), ("sasl", 6), ("anvil", 3)))


def maillog(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """mx1's background: inbound and outbound messages, blocklist rejects, AUTH guessing."""
    taken = set(attack.postfix_ids)
    senders = [p for p in world.staff if p.login not in attack.reserved_logins]

    def unit(limit: int) -> list[Record]:
        kind = pick(rng, _MAIL_KINDS)
        if kind == "inbound":
            lines = _inbound_mail(rng, world, when(rng, PROFILE_MAIL), taken)
        elif kind == "outbound":
            lines = _outbound_mail(rng, senders, when(rng, PROFILE_MAIL), taken)
        elif kind == "rbl":
            lines = _rbl_reject(rng, world)
        elif kind == "sasl":
            lines = _sasl_probe(rng)
        else:
            lines = _anvil(rng)
        if len(lines) <= limit:
            return lines
        if limit >= 4:  # too long for what is left: a shorter kind
            return _sasl_probe(rng)
        return _rbl_reject(rng, world) if limit == 3 else _anvil(rng)

    return fill(budget, unit)


def _exim_record(t: int, text: str) -> Record:
    """An Exim mainlog line (local time, no zone)."""
    return t, formats.exim(moment(t), text), None


# (sender, host, address, subjects, weight): applications that mail staff through the relay
APPLICATIONS = table((
    (("noreply-dxcare", "dxcare-app01.chu.local", "10.10.5.21",
      ("Résultats de laboratoire disponibles", "Compte rendu validé",
       "Demande d'avis en attente", "Prescription à valider")), 5),
    (("glpi", "glpi.chu.local", "10.10.9.30",
      ("[GLPI #00{n}] Nouveau ticket", "[GLPI #00{n}] Ticket résolu",
       "[GLPI #00{n}] Nouveau suivi")), 3),
    (("centreon", "centreon.chu.local", "10.10.9.20",
      ("** PROBLEM Service Alert: srv-pacs-02/Disk /data is WARNING **",
       "** RECOVERY Service Alert: srv-dpi-01/CPU is OK **",
       "** PROBLEM Host Alert: imp-urg-03 is DOWN **")), 2),
    (("planning", "planif.chu.local", "10.10.5.40",
      ("Modification de planning", "Planning des gardes de décembre",
       "Rappel : astreinte demain")), 2),
    (("pharmacie-stock", "pharma-app.chu.local", "10.10.5.50",
      ("Alerte stock : seuil minimal atteint", "Commande urgente validée")), 1),
    (("scan-bat-b", "copieur-b2.chu.local", "10.20.60.14", ("Document numérisé",)), 1),
))
_TLS = "X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no"


def _exim_message(rng: random.Random, t: int, mid: str, sender: str, host: str, proto: str,
                  subject: str, rcpts: Sequence[str]) -> list[Record]:
    """Arrival, one delivery per recipient, completion."""
    out = [_exim_record(t, f"{mid} <= {sender} {host} {proto} S={rng.randint(2_000, 400_000)} "
                    f"id={message_id(rng, t, DOMAIN)} T=\"{subject}\" from <{sender}> for "
                    f"{' '.join(rcpts)}")]
    for rcpt in rcpts:
        t += rng.randint(5, 250)
        out.append(_exim_record(t, f"{mid} => {rcpt} R=local_user T=mail_spool"))
    out.append(_exim_record(t + rng.randint(1, 20), f"{mid} Completed"))
    return out


def exim_mainlog(rng: random.Random, world: World, budget: int,
                 attack: "Attack") -> list[Record]:
    """The internal relay: staff PCs writing to colleagues, applications notifying staff,
    mistyped passwords, queue runs."""
    taken: set[str] = set()

    def staff_mail(limit: int) -> list[Record]:
        t, ws = when(rng, PROFILE_OFFICE), rng.choice(world.on_site)
        count = min(limit - 2, rng.choice((1, 1, 2, 3, 5)))
        rcpts = [p.email for p in rng.sample(world.staff, count)]
        return _exim_message(rng, t, _exim_id(rng, t, taken), ws.person.email,
                             f"H=({ws.host}) [{ws.ip}]",
                             f"P=esmtpsa {_TLS} A=dovecot_login:{ws.person.login}",
                             rng.choice(_SUBJECTS["internal"]), rcpts)

    def app_mail(limit: int) -> list[Record]:
        t = when(rng, PROFILE_FLAT)
        name, host, ip, subjects = pick(rng, APPLICATIONS)
        rcpts = [p.email for p in rng.sample(world.staff, min(limit - 2, rng.randint(1, 3)))]
        return _exim_message(rng, t, _exim_id(rng, t, taken), f"{name}@{DOMAIN}",
                             f"H={host} [{ip}]", "P=esmtp", fill_in(rng, rng.choice(subjects)),
                             rcpts)

    def auth_failure() -> list[Record]:
        ws = rng.choice(world.on_site)
        return [_exim_record(when(rng, PROFILE_OFFICE),
                      f"dovecot_login authenticator failed for ({ws.host}) [{ws.ip}]: "
                      f"535 Incorrect authentication data (set_id={ws.person.login})")]

    def queue_run() -> list[Record]:
        t, pid = when(rng, PROFILE_FLAT), rng.randint(10_000, 60_000)
        return [_exim_record(t, f"Start queue run: pid={pid}"),
                _exim_record(t + rng.randint(20, 900), f"End queue run: pid={pid}")]

    def unit(limit: int) -> list[Record]:
        draw = rng.random()
        if limit >= 3 and draw < 0.55:
            return staff_mail(limit)
        if limit >= 3 and draw < 0.92:
            return app_mail(limit)
        if limit >= 2 and draw < 0.96:
            return queue_run()
        return auth_failure()

    return fill(budget, unit)

