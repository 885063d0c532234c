"""Webhook destination: the incident record as JSON, signed with HMAC-SHA256, idempotent.

In: a Rendered incident. Out: one POST to the configured URL with
- body: {"schema": "vigie.incident/1", "idempotency_key": "<incident.id>:<revision>",
  "incident": <the record>} (canonical JSON, sorted keys, UTF-8);
- headers: `X-Vigie-Signature: sha256=<hex HMAC-SHA256 of the exact body with the shared
  secret>`, `Idempotency-Key: <incident.id>:<revision>`, `X-Vigie-Incident-Id`,
  `X-Vigie-Revision`.
A receiver verifies the signature over the raw body (constant-time compare) and may drop a key it
has already stored; answering 409 to a key it already has counts as delivered. The secret comes
from a file or the environment (see settings), never from the command line.
"""
from __future__ import annotations

import hashlib
import hmac
import socket
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urlsplit

import orjson

from pipelines.errors import VigieError
from pipelines.sinks.handoff.base import Rendered
from pipelines.sinks.handoff.httpclient import public_url, raise_for_status, request

SIGNATURE_HEADER = "X-Vigie-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEMA = "vigie.incident/1"


def body_of(item: Rendered) -> bytes:
    """The webhook body of an incident (canonical JSON: the same bytes on every re-send)."""
    return orjson.dumps({"schema": SCHEMA, "idempotency_key": item.idempotency_key, "incident": item.record},
                        option=orjson.OPT_SORT_KEYS)


def signature(secret: bytes, body: bytes) -> str:
    """The signature header value: `sha256=` + hex HMAC-SHA256 of `body` keyed with `secret`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """What a receiver does: True when `header` is the signature of `body` (constant time)."""
    return bool(header) and hmac.compare_digest(signature(secret, body), header)


@dataclass
class WebhookDestination:
    """POSTs signed incident JSON to `url` (see the module docstring)."""

    url: str
    secret: bytes = field(repr=False)
    timeout: float = 10.0
    ca_file: str | None = None
    kind: str = "webhook"

    @property
    def key(self) -> str:
        return f"webhook {public_url(self.url)}"

    def secrets(self) -> Iterable[str]:
        return [self.secret.decode("utf-8", "replace")]

    def check(self) -> None:
        """The receiver's port accepts a connection (no request: a webhook may refuse GET)."""
        parts = urlsplit(self.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=self.timeout).close()
        except OSError as exc:
            raise VigieError(f"webhook {public_url(self.url)} is unreachable ({exc.strerror or exc}); "
                             "start the receiver or fix --webhook-url") from None

    def headers(self, item: Rendered, body: bytes) -> dict[str, str]:
        """The request headers for `body` (signature, idempotency key, incident id and revision)."""
        return {"Content-Type": "application/json; charset=utf-8", "User-Agent": "vigie-handoff/1",
                SIGNATURE_HEADER: signature(self.secret, body), IDEMPOTENCY_HEADER: item.idempotency_key,
                "X-Vigie-Incident-Id": item.incident_id, "X-Vigie-Revision": str(item.revision)}

    def deliver(self, item: Rendered) -> str:
        body = body_of(item)
        status, answer = request("POST", self.url, body, self.headers(item, body), self.timeout, self.ca_file)
        if status == 409:
            return "HTTP 409: the receiver already has this idempotency key"
        raise_for_status(status, answer, f"webhook {public_url(self.url)}")
        return f"HTTP {status}"
