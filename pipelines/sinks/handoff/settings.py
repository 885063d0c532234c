"""Handoff destinations from command-line flags and the environment.

In: an argparse namespace carrying the flags declared by `add_arguments` and the environment.
Out: the configured destinations and the retry policy. Secrets never come from the command
line: the webhook's HMAC secret from $VIGIE_WEBHOOK_SECRET or --webhook-secret-file, TheHive's
API key from $VIGIE_THEHIVE_API_KEY or --thehive-api-key-file, the SMTP password from
$VIGIE_SMTP_PASSWORD or --smtp-password-file (a file wins over the variable). URLs that carry
credentials are refused, since URLs end up in messages and in the ledger.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from urllib.parse import urlsplit

from pipelines.errors import VigieError
from pipelines.sinks.delivery import RetryPolicy
from pipelines.sinks.handoff.files import FilesDestination
from pipelines.sinks.handoff.smtp import SmtpDestination
from pipelines.sinks.handoff.thehive import ALERT_TYPE, SOURCE, TheHiveDestination
from pipelines.sinks.handoff.webhook import WebhookDestination

WEBHOOK_SECRET_ENV = "VIGIE_WEBHOOK_SECRET"
THEHIVE_API_KEY_ENV = "VIGIE_THEHIVE_API_KEY"
SMTP_PASSWORD_ENV = "VIGIE_SMTP_PASSWORD"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the handoff flags (destinations, TLS, timeouts, retries) on `parser`."""
    g = parser.add_argument_group("webhook (generic JSON signed with HMAC-SHA256)")
    g.add_argument("--webhook-url", help="POST each incident to this URL (http:// or https://)")
    g.add_argument("--webhook-secret-file", help=f"file holding the HMAC secret (else ${WEBHOOK_SECRET_ENV})")
    g = parser.add_argument_group("TheHive 5")
    g.add_argument("--thehive-url", help="TheHive base URL, e.g. https://thehive.example:9000")
    g.add_argument("--thehive-api-key-file", help=f"file holding the API key (else ${THEHIVE_API_KEY_ENV})")
    g.add_argument("--thehive-org", help="organisation to create alerts in (X-Organisation header)")
    g.add_argument("--thehive-source", default=SOURCE, help=f"alert source (default {SOURCE})")
    g.add_argument("--thehive-type", default=ALERT_TYPE, help=f"alert type (default {ALERT_TYPE})")
    g = parser.add_argument_group("e-mail to the crisis cell")
    g.add_argument("--smtp-url", help="smtp://HOST[:PORT] (default port 25) or smtps://HOST[:PORT] (465)")
    g.add_argument("--smtp-starttls", action="store_true", help="upgrade the connection with STARTTLS")
    g.add_argument("--smtp-user", help=f"log in as this user (password: ${SMTP_PASSWORD_ENV} or --smtp-password-file)")
    g.add_argument("--smtp-password-file", help=f"file holding the SMTP password (else ${SMTP_PASSWORD_ENV})")
    g.add_argument("--mail-from", help="sender address of the incident mails")
    g.add_argument("--mail-to", action="append", default=[], help="recipient (repeat or separate with commas)")
    g = parser.add_argument_group("files")
    g.add_argument("--files-dir", help="also write JSONL, HTML and Markdown into this folder")
    g = parser.add_argument_group("delivery")
    g.add_argument("--handoff-ca-file", help="CA certificate(s) to trust for https:// and SMTP TLS")
    g.add_argument("--handoff-timeout", type=float, default=10.0, help="seconds per request (default 10)")
    g.add_argument("--handoff-retry-attempts", type=int, default=5, help="tries per incident and destination (default 5)")
    g.add_argument("--handoff-retry-first-delay", type=float, default=1.0, help="first backoff delay in seconds, doubled "
                   "each retry up to 30 s (default 1)")
    g.add_argument("--handoff-retry-seconds", type=float, default=120.0, help="a destination failing for longer than "
                   "this gets one try per incident until it answers again (default 120)")


def read_secret(path: str | None, env: str, what: str, environ: dict) -> str | None:
    """A secret from `path` (stripped) or else from the environment variable `env`, or None."""
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise VigieError(f"cannot read the {what} file {path}: {exc.strerror}") from None
        if not value:
            raise VigieError(f"the {what} file {path} is empty")
        return value
    return environ.get(env) or None


def _http_url(url: str, flag: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VigieError(f"{flag} must look like http://HOST[:PORT]/PATH or https://...")
    if parts.username or parts.password:
        raise VigieError(f"{flag} must not carry credentials (they would show in messages); use the secret files "
                         "or environment variables")
    return url


def _checked_file(path: str | None, flag: str) -> str | None:
    if path and not Path(path).is_file():
        raise VigieError(f"{flag} {path} is not a readable file")
    return path


def retry_policy(args: argparse.Namespace) -> RetryPolicy:
    """The retry policy from --handoff-retry-attempts, --handoff-retry-first-delay and --handoff-retry-seconds."""
    if args.handoff_retry_attempts < 1:
        raise VigieError("--handoff-retry-attempts must be at least 1")
    if args.handoff_retry_first_delay < 0 or args.handoff_retry_seconds < 0:
        raise VigieError("--handoff-retry-first-delay and --handoff-retry-seconds must be 0 or more")
    return RetryPolicy(attempts=args.handoff_retry_attempts, first_delay=args.handoff_retry_first_delay,
                       budget_seconds=args.handoff_retry_seconds)


def destinations_from(args: argparse.Namespace, environ: dict | None = None) -> list:
    """The destinations the flags configure, in delivery order: TheHive, webhook, mail, files."""
    environ = os.environ if environ is None else environ
    if args.handoff_timeout <= 0:
        raise VigieError("--handoff-timeout must be a positive number of seconds")
    ca_file = _checked_file(args.handoff_ca_file, "--handoff-ca-file")
    out: list = []
    if args.thehive_url:
        _http_url(args.thehive_url, "--thehive-url")
        key = read_secret(args.thehive_api_key_file, THEHIVE_API_KEY_ENV, "TheHive API key", environ)
        if not key:
            raise VigieError(f"--thehive-url needs an API key: set ${THEHIVE_API_KEY_ENV} or pass --thehive-api-key-file")
        out.append(TheHiveDestination(_http_url(args.thehive_url, "--thehive-url"), key, args.thehive_org,
                                      args.thehive_source, args.thehive_type, args.handoff_timeout, ca_file))
    elif args.thehive_api_key_file or args.thehive_org:
        raise VigieError("--thehive-api-key-file and --thehive-org need --thehive-url")
    if args.webhook_url:
        _http_url(args.webhook_url, "--webhook-url")
        secret = read_secret(args.webhook_secret_file, WEBHOOK_SECRET_ENV, "webhook secret", environ)
        if not secret:
            raise VigieError(f"--webhook-url needs a signing secret: set ${WEBHOOK_SECRET_ENV} or pass "
                             "--webhook-secret-file")
        out.append(WebhookDestination(_http_url(args.webhook_url, "--webhook-url"), secret.encode("utf-8"),
                                      args.handoff_timeout, ca_file))
    elif args.webhook_secret_file:
        raise VigieError("--webhook-secret-file needs --webhook-url")
    recipients = [r.strip() for value in args.mail_to for r in value.split(",") if r.strip()]
    if args.smtp_url:
        parts = urlsplit(args.smtp_url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise VigieError("--smtp-url must look like smtp://HOST[:PORT] or smtps://HOST[:PORT]")
        if parts.username or parts.password:
            raise VigieError(f"--smtp-url must not carry credentials; use --smtp-user with ${SMTP_PASSWORD_ENV} "
                             "or --smtp-password-file")
        if not args.mail_from or "@" not in args.mail_from:
            raise VigieError("--smtp-url needs --mail-from ADDRESS")
        if not recipients:
            raise VigieError("--smtp-url needs at least one --mail-to ADDRESS")
        password = None
        if args.smtp_user:
            password = read_secret(args.smtp_password_file, SMTP_PASSWORD_ENV, "SMTP password", environ)
            if not password:
                raise VigieError(f"--smtp-user {args.smtp_user} needs a password: set ${SMTP_PASSWORD_ENV} or pass "
                                 "--smtp-password-file")
        implicit = parts.scheme == "smtps"
        if implicit and args.smtp_starttls:
            raise VigieError("--smtp-starttls does not go with smtps:// (already TLS)")
        out.append(SmtpDestination(parts.hostname, parts.port or (465 if implicit else 25), args.mail_from,
                                   recipients, starttls=args.smtp_starttls, implicit_tls=implicit,
                                   user=args.smtp_user, password=password, ca_file=ca_file,
                                   timeout=args.handoff_timeout))
    elif recipients or args.mail_from or args.smtp_user or args.smtp_starttls:
        raise VigieError("--mail-to, --mail-from, --smtp-user and --smtp-starttls need --smtp-url")
    if args.files_dir:
        out.append(FilesDestination(Path(args.files_dir)))
    return out
