"""SMTP destination: the incident report mailed to the crisis cell, recognisable on re-send.

In: a Rendered incident. Out: one message to the configured recipients, multipart/alternative:
the Markdown report as the text part, the HTML report as the HTML part. Message-ID is derived
from incident.id and revision (`<inc-...r3@domain-of-From>`): a duplicate has the same
Message-ID, and a later revision refers to the earlier ones (In-Reply-To, References) so mail
clients thread the updates. The subject carries the severity and the localised title with
hidden characters made visible (no header injection: one line). Transport: plain SMTP,
STARTTLS (`starttls=True`) or implicit TLS (smtps://); authentication only over TLS (the
password would otherwise cross the network in clear); the password comes from a file or the
environment. SMTP 4xx answers and lost connections are transient, 5xx permanent.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Iterable

from pipelines.errors import VigieError
from pipelines.reports import i18n
from pipelines.reports.text import visible
from pipelines.reports.view import file_stem
from pipelines.sinks.delivery import DeliveryError
from pipelines.sinks.handoff.base import Rendered
from pipelines.sinks.handoff.httpclient import ssl_context

_REVISION_WORD = {"fr": "rév.", "en": "rev."}


def message_id(incident_id: str, revision: int, domain: str) -> str:
    """The Message-ID of one revision of an incident's mail."""
    return f"<{file_stem({'incident.id': incident_id})}.r{revision}@{domain}>"


def subject(item: Rendered) -> str:
    """One-line subject: [Vigie] SEVERITY — title (rev. N), hidden characters visible."""
    sev = i18n.severity_name(item.lang, _int(item.record.get("incident.severity"))).upper()
    text = f"[Vigie] {sev} — {item.title} ({_REVISION_WORD.get(item.lang, 'rev.')} {item.revision})"
    return visible(text)[:250]


def _int(value: object) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def build_message(item: Rendered, mail_from: str, to: list[str]) -> EmailMessage:
    """The mail for one incident revision (see the module docstring)."""
    domain = mail_from.rpartition("@")[2] or "vigie.invalid"
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject(item)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(item.incident_id, item.revision, domain)
    if item.revision > 1:
        earlier = [message_id(item.incident_id, r, domain) for r in range(1, item.revision)]
        msg["In-Reply-To"] = earlier[-1]
        msg["References"] = " ".join(earlier)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Vigie-Incident-Id"] = visible(item.incident_id)
    msg["X-Vigie-Revision"] = str(item.revision)
    msg["Content-Language"] = item.lang
    msg.set_content(item.markdown, subtype="plain", charset="utf-8")
    msg.add_alternative(item.html, subtype="html", charset="utf-8")
    return msg


@dataclass
class SmtpDestination:
    """Mails incident reports over SMTP (see the module docstring)."""

    host: str
    port: int
    mail_from: str
    to: list[str]
    starttls: bool = False
    implicit_tls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    timeout: float = 15.0
    kind: str = "smtp"

    def __post_init__(self) -> None:
        if self.user and not (self.starttls or self.implicit_tls):
            raise VigieError("SMTP authentication needs TLS (the password would cross the network in "
                             "clear): add --smtp-starttls or use an smtps:// URL")

    @property
    def key(self) -> str:
        return f"smtp {self.host}:{self.port} to={','.join(sorted(self.to))}"

    def secrets(self) -> Iterable[str]:
        return [self.password or ""]

    def _context(self) -> ssl.SSLContext:
        return ssl_context(self.ca_file)

    def _open(self) -> smtplib.SMTP:
        if self.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _where(self) -> str:
        return f"SMTP {self.host}:{self.port}"

    def check(self) -> None:
        """Connect, greet, STARTTLS and log in as configured, then quit."""
        try:
            smtp = self._open()
            smtp.quit()
        except smtplib.SMTPAuthenticationError as exc:
            raise VigieError(f"{self._where()} refused the login of {self.user} ({exc.smtp_code}); check "
                             "$VIGIE_SMTP_PASSWORD or --smtp-password-file") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise VigieError(f"{self._where()}: {exc}") from None
        except ssl.SSLError as exc:
            raise VigieError(f"{self._where()}: TLS failed ({exc.reason or exc}); pass the server's CA "
                             "with --handoff-ca-file") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise VigieError(f"{self._where()} is unreachable or refused us ({_describe(exc)}); start it "
                             "or fix --smtp-url") from None

    def deliver(self, item: Rendered) -> str:
        msg = build_message(item, self.mail_from, self.to)
        try:
            smtp = self._open()
            try:
                refused = smtp.send_message(msg, self.mail_from, self.to)
            finally:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"{self._where()}: every recipient refused ({codes})",
                                transient=all(400 <= c < 500 for c in codes),
                                cause=f"recipients refused (SMTP {min(codes)})") from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{self._where()}: {_describe(exc)}", transient=400 <= exc.smtp_code < 500,
                                cause=f"SMTP {exc.smtp_code}") from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"{self._where()}: TLS certificate not trusted ({exc.verify_message})",
                                transient=False, cause="TLS certificate not trusted") from None
        except (OSError, smtplib.SMTPException) as exc:
            cause = "connection refused" if isinstance(exc, ConnectionRefusedError) else \
                f"connection failed ({type(exc).__name__})"
            raise DeliveryError(f"{self._where()}: {_describe(exc)}", cause=cause) from None
        detail = f"Message-ID {msg['Message-ID']}"
        if refused:
            detail += f"; refused recipients: {', '.join(sorted(refused))}"
        return detail


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
