"""The Elasticsearch cluster a run writes to: settings, connection, checks and templates.

In: `--es-*` flags (or their values) and the environment. Out: `EsSettings` (where the cluster
is, how to authenticate, bulk sizes, retry budget; secrets read from $VIGIE_ES_API_KEY /
$VIGIE_ES_PASSWORD or files, excluded from repr and scrubbed from every message), a client,
and before a run `prepare_cluster`: one request that checks the cluster is reachable, speaks
TLS with the given CA and accepts the credentials (else a one-line VigieError saying what is
true and what to do: a plain-HTTP server behind an https:// URL, a certificate the CA does not
sign or that names another host, credentials refused or missing), then the composable templates
of pipelines/schema.py installed, adapted to the field types the cluster's modules offer. A
cluster with security disabled accepts any credentials without checking them: `security_state`
finds out and `credentials_note` says so, instead of letting "answers" pass for "accepted".
"""
from __future__ import annotations

import http.client
import logging
import os
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.errors import VigieError
from pipelines.schema import index_templates

API_KEY_ENV, PASSWORD_ENV = "VIGIE_ES_API_KEY", "VIGIE_ES_PASSWORD"


@dataclass(frozen=True)
class EsSettings:
    """Where the cluster is and how to talk to it. Secrets are excluded from repr."""
    url: str
    api_key: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    bulk_docs: int = 1000
    bulk_bytes: int = 5 * 1024 * 1024
    concurrency: int = 4
    retry_seconds: float = 120.0
    request_timeout: float = 60.0

    @property
    def auth(self) -> str:
        """How the client authenticates, for messages and summary.json (never the secret)."""
        return "api_key" if self.api_key else ("basic" if self.user else "none")

    def public(self) -> dict:
        """The settings safe to print or store in summary.json."""
        return {"url": self.url, "auth": self.auth, "user": self.user, "ca_file": self.ca_file,
                "bulk_docs": self.bulk_docs, "bulk_bytes": self.bulk_bytes,
                "concurrency": self.concurrency, "retry_seconds": self.retry_seconds}


def _read_secret(path: str | None, env: str, what: str, environ: dict) -> str | None:
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise VigieError(f"cannot read the {what} file {path}: {exc.strerror}") from None
        if not value:
            raise VigieError(f"the {what} file {path} is empty")
        return value
    return environ.get(env) or None


def settings_from(url: str | None, *, api_key_file: str | None = None, user: str | None = None,
                  password_file: str | None = None, ca_file: str | None = None,
                  bulk_docs: int = 1000, bulk_bytes: int = 5 * 1024 * 1024, concurrency: int = 4,
                  retry_seconds: float = 120.0, environ: dict | None = None) -> EsSettings | None:
    """Flags (+ $VIGIE_ES_API_KEY / $VIGIE_ES_PASSWORD) -> EsSettings, or None without a URL.

    Refuses a URL that carries credentials (they would end up in logs and summary.json).
    """
    if not url:
        return None
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VigieError("--es-url must look like http://HOST:PORT or https://HOST:PORT")
    if parts.username or parts.password:
        raise VigieError("--es-url must not carry credentials; use --es-user with "
                         f"${PASSWORD_ENV} or --es-password-file, or ${API_KEY_ENV} / --es-api-key-file")
    for name, value in (("--es-bulk-docs", bulk_docs), ("--es-bulk-bytes", bulk_bytes),
                        ("--es-concurrency", concurrency)):
        if value <= 0:
            raise VigieError(f"{name} must be a positive number")
    if retry_seconds < 0:
        raise VigieError("--es-retry-seconds must be 0 or more")
    if ca_file and parts.scheme == "http":
        raise VigieError(f"--es-ca-file is for https:// URLs, and --es-url {url} is plain HTTP (no TLS, "
                         "nothing for a CA to verify): drop --es-ca-file, or use https:// if the "
                         "cluster serves HTTPS")
    if ca_file:
        try:
            pem = Path(ca_file).read_text(encoding="ascii", errors="replace")
        except OSError:
            raise VigieError(f"--es-ca-file {ca_file} is not a readable file") from None
        if "-----BEGIN CERTIFICATE-----" not in pem:
            raise VigieError(f"--es-ca-file {ca_file} holds no PEM certificate (-----BEGIN CERTIFICATE-----); "
                             "pass the PEM file of the CA that signed the cluster's certificate")
    api_key = _read_secret(api_key_file, API_KEY_ENV, "API key", environ)
    password = _read_secret(password_file, PASSWORD_ENV, "password", environ) if user else None
    if user and not password:
        raise VigieError(f"--es-user {user} needs a password: set ${PASSWORD_ENV} or pass --es-password-file")
    return EsSettings(url=url.rstrip("/"), api_key=api_key, user=None if api_key else user,
                      password=None if api_key else password, ca_file=ca_file, bulk_docs=bulk_docs,
                      bulk_bytes=bulk_bytes, concurrency=concurrency, retry_seconds=retry_seconds)


def settings_from_options(vopts) -> EsSettings | None:
    """VigieOptions (or an argparse namespace with the same `es_*` names) -> EsSettings or None."""
    return settings_from(vopts.es_url, api_key_file=vopts.es_api_key_file, user=vopts.es_user,
                         password_file=vopts.es_password_file, ca_file=vopts.es_ca_file,
                         bulk_docs=vopts.es_bulk_docs, bulk_bytes=vopts.es_bulk_bytes,
                         concurrency=vopts.es_concurrency, retry_seconds=vopts.es_retry_seconds)


def connect(settings: EsSettings):
    """An `elasticsearch.Elasticsearch` client for `settings`; the client itself never retries
    (BulkIndexer does, per item)."""
    from elasticsearch import Elasticsearch

    # The transport logs a warning per failed request; BulkIndexer accounts for each failure
    # (retries, dead letters), so those lines would only flood the terminal.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    kwargs: dict = {"request_timeout": settings.request_timeout, "max_retries": 0,
                    "retry_on_status": (), "retry_on_timeout": False,
                    "connections_per_node": settings.concurrency + 2}
    if settings.api_key:
        kwargs["api_key"] = settings.api_key
    elif settings.user:
        kwargs["basic_auth"] = (settings.user, settings.password or "")
    if settings.ca_file:
        kwargs["ca_certs"] = settings.ca_file
    return Elasticsearch(settings.url, **kwargs)


def scrub(text: str, settings: EsSettings) -> str:
    for secret in (settings.api_key, settings.password):
        if secret:
            text = text.replace(secret, "***")
    return text


def speaks_plain_http(url: str, timeout: float = 5.0) -> bool:
    """True when the host and port of `url` answer a plain-HTTP request (no credentials sent):
    what a TLS handshake that fails with "wrong version number" usually means."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 443, timeout=timeout)
    try:
        connection.request("GET", "/_cluster/health")
        return connection.getresponse().status > 0
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def speaks_tls(url: str, timeout: float = 5.0) -> bool:
    """True when the host and port of `url` complete a TLS handshake (certificate not checked,
    nothing sent): what a plain-HTTP request the server drops without an answer usually means."""
    parts = urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=parts.hostname):
                return True
    except (OSError, ssl.SSLError):
        return False


def tls_problem(settings: EsSettings, detail: str) -> str:
    """What a failed TLS handshake with the cluster means, and what to do, as one line. The
    certificate's verdicts come first: a TLS server (or a proxy) that answers plain HTTP on its
    TLS port with an error page still speaks TLS."""
    url, host = settings.url, urlsplit(settings.url).hostname
    lowered = detail.lower()
    if "hostname mismatch" in lowered or "doesn't match" in lowered or "ip address mismatch" in lowered:
        return (f"Elasticsearch at {url}: its certificate does not name {host} ({detail}); use in --es-url "
                "a host name the certificate was issued for")
    if "certificate verify failed" in lowered:
        if settings.ca_file:
            return (f"Elasticsearch at {url}: its certificate is not signed by the CA in --es-ca-file "
                    f"{settings.ca_file} ({detail}); pass the CA that signed the cluster's certificate")
        return (f"Elasticsearch at {url}: its certificate is not signed by a CA this machine trusts "
                f"({detail}); pass the cluster's CA with --es-ca-file")
    if speaks_plain_http(url):
        plain = "http://" + url.split("://", 1)[1]
        return (f"Elasticsearch at {url}: the server speaks plain HTTP, not HTTPS; use --es-url {plain}"
                + (" and drop --es-ca-file" if settings.ca_file else ""))
    return f"Elasticsearch at {url}: TLS failed ({detail}); check --es-url and --es-ca-file"


def check_cluster(settings: EsSettings):
    """One request (cluster health) before anything is written; returns the connected client.

    Unreachable, TLS failure, refused or missing credentials -> VigieError naming the URL and
    what to do.
    """
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import TlsError
    from elasticsearch import ApiError, AuthenticationException, AuthorizationException

    client = connect(settings)
    url = settings.url
    try:
        health = client.cluster.health(timeout="10s")
    except TlsError as exc:
        detail = str(getattr(exc, "message", None) or first_line(exc)).splitlines()[0][:200]
        raise VigieError(tls_problem(settings, scrub(detail, settings))) from None
    except TransportConnectionError:
        if url.startswith("http://") and speaks_tls(url):
            secure = "https://" + url.split("://", 1)[1]
            raise VigieError(f"Elasticsearch at {url}: the server speaks HTTPS, not plain HTTP; use "
                             f"--es-url {secure} (with --es-ca-file if a private CA signed its "
                             "certificate)") from None
        raise VigieError(f"Elasticsearch at {url} is unreachable; start it (`make es-start`) or "
                         "fix --es-url") from None
    except AuthenticationException:
        if settings.auth == "none":
            raise VigieError(f"Elasticsearch at {url} requires authentication and no credentials were "
                             f"given; set ${API_KEY_ENV} / --es-api-key-file, or --es-user with "
                             f"${PASSWORD_ENV} / --es-password-file") from None
        raise VigieError(f"Elasticsearch at {url} refused the credentials ({settings.auth}); check "
                         f"${API_KEY_ENV} / --es-api-key-file or --es-user with ${PASSWORD_ENV} / "
                         "--es-password-file") from None
    except AuthorizationException:
        raise VigieError(f"Elasticsearch at {url}: the {settings.auth} credentials may not read the "
                         "cluster health; grant the cluster privileges monitor and "
                         "manage_index_templates, and create_index + write on vigie-*") from None
    except ApiError as exc:
        raise VigieError(f"Elasticsearch at {url} answered HTTP {exc.meta.status} to a health "
                         "check; see its logs") from None
    if health.get("status") == "red":
        raise VigieError(f"Elasticsearch at {url} is red (some primary shards are unassigned); "
                         "fix the cluster before indexing into it")
    return client


@dataclass(frozen=True)
class SecurityState:
    """Whether the cluster checks credentials, and who it took us for (None when unknown)."""

    enabled: bool
    principal: str | None = None


def security_state(client: Any) -> SecurityState:
    """Ask the cluster who we are (`_security/_authenticate`, which any principal may call): a
    cluster without security has no such endpoint (HTTP 400/404/405/410) and checks nothing."""
    from elasticsearch import ApiError
    try:
        answer = client.security.authenticate()
    except ApiError as exc:
        if exc.meta.status in (400, 404, 405, 410):
            return SecurityState(False)
        return SecurityState(True)
    kind = (answer.get("authentication_type") or "").replace("_", " ")
    name = answer.get("username") or (answer.get("api_key") or {}).get("name")
    return SecurityState(True, f"{name} ({kind})" if name and kind else name)


def credentials_note(settings: EsSettings, state: SecurityState) -> str | None:
    """A note when credentials were given to a cluster that does not check them (None else)."""
    if settings.auth == "none" or state.enabled:
        return None
    return (f"security is disabled on this cluster, so the {settings.auth} credentials were not "
            "checked (anyone who reaches it may read and write): enable security there, or drop "
            "the credentials")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


# Field types that live in optional server modules, and what stands in for them when the cluster
# lacks the module (the integration-test distribution ships only core + x-pack-core/security).
# keyword's ignore_above 8191 keeps terms under Lucene's 32 KiB limit, so no document is refused.
OPTIONAL_TYPES = {
    "wildcard": ("x-pack-wildcard", {"type": "keyword", "ignore_above": 8191}),
    "match_only_text": ("mapper-extras", {"type": "text", "index_options": "docs", "norms": False}),
}


def cluster_modules(client) -> set[str]:
    """Names of the modules and plugins every node of the cluster runs."""
    body = client.nodes.info(metric="plugins").body
    per_node = [{m["name"] for m in node.get("modules", []) + node.get("plugins", [])}
                for node in body.get("nodes", {}).values()]
    return set.intersection(*per_node) if per_node else set()


def adapt_templates(templates: dict[str, dict], modules: set[str]) -> tuple[dict[str, dict], list[str]]:
    """Templates of pipelines/schema.py -> the same with field types the cluster cannot map
    replaced by their stand-ins (OPTIONAL_TYPES), and one note per replaced type."""
    missing = {t: sub for t, (module, sub) in OPTIONAL_TYPES.items() if module not in modules}
    if not missing:
        return templates, []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("type"), str) and node["type"] in missing:
                return dict(missing[node["type"]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    notes = [f"the cluster has no {OPTIONAL_TYPES[t][0]} module: {t} fields are mapped as "
             f"{sub['type']}" for t, sub in sorted(missing.items())]
    return {name: walk(body) for name, body in templates.items()}, notes


def install_templates(client) -> list[str]:
    """Install (or update) the composable index templates generated from schemas/, adapted to
    the cluster's modules; returns the notes of adapt_templates."""
    templates, notes = adapt_templates(index_templates(), cluster_modules(client))
    for name, body in templates.items():
        client.indices.put_index_template(name=name, **body)
    return notes


def prepare_cluster(settings: EsSettings, say=print) -> list[str]:
    """Before a run: check the cluster (one request), install the templates; returns the notes
    of adapt_templates (also said)."""
    client = check_cluster(settings)
    credentials = credentials_note(settings, security_state(client)) if settings.auth != "none" else None
    notes = install_templates(client)
    say(f"  Elasticsearch {settings.url} ({settings.auth}): templates installed"
        + "".join(f"\n  note: {n}" for n in notes) + (f"\n  note: {credentials}" if credentials else ""))
    client.close()
    return notes
