"""A small HTTP client for the handoff (stdlib only) that turns every failure into DeliveryError.

In: method, URL, body, headers, timeout, optional CA file. Out: (status, response body) for any
answer; connection refused, timeouts and TLS failures raise DeliveryError (TLS certificate
failures are permanent: retrying will not fix a wrong CA). `raise_for_status` classifies HTTP
answers: 2xx fine, 408/425/429/5xx transient, other 4xx permanent.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

from pipelines.sinks.delivery import DeliveryError

TRANSIENT_STATUS = {408, 425, 429}


def public_url(url: str) -> str:
    """`url` without credentials, query or fragment: safe to print and to use as a ledger key."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying TLS context, trusting `ca_file` when given (else the system's CAs)."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: a signed body or an API key must not travel elsewhere."""

    def redirect_request(self, *args, **kwargs):
        return None


def request(method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float,
            ca_file: str | None = None) -> tuple[int, bytes]:
    """Send one request; return (status, body) for any HTTP answer, DeliveryError otherwise."""
    handlers = [_NoRedirect()]
    if url.startswith("https:"):
        handlers.append(urllib.request.HTTPSHandler(context=ssl_context(ca_file)))
    opener = urllib.request.build_opener(*handlers)
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    where = f"{method} {public_url(url)}"
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        try:
            data = exc.read()
        except Exception:  # noqa: BLE001 - a body we cannot read is just empty
            data = b""
        return exc.code, data
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise DeliveryError(f"{where}: TLS certificate not trusted ({reason.verify_message}); "
                                "pass the receiver's CA with --handoff-ca-file", transient=False,
                                cause="TLS certificate not trusted") from None
        if isinstance(reason, ssl.SSLError):
            raise DeliveryError(f"{where}: TLS failed ({reason.reason or reason})", transient=False,
                                cause="TLS failed") from None
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise DeliveryError(f"{where}: no answer within {timeout:g} s", cause="timeout") from None
        if isinstance(reason, ConnectionRefusedError):
            raise DeliveryError(f"{where}: connection refused", cause="connection refused") from None
        raise DeliveryError(f"{where}: {reason}", cause=f"connection failed ({type(reason).__name__})") from None
    except (socket.timeout, TimeoutError):
        raise DeliveryError(f"{where}: no answer within {timeout:g} s", cause="timeout") from None
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}", cause=f"connection failed ({type(exc).__name__})") from None


def raise_for_status(status: int, body: bytes, where: str) -> None:
    """DeliveryError for a non-2xx answer, transient or permanent by status (see module doc)."""
    if 200 <= status < 300:
        return
    text = body[:300].decode("utf-8", "replace").replace("\n", " ").strip()
    transient = status >= 500 or status in TRANSIENT_STATUS
    raise DeliveryError(f"{where}: HTTP {status}" + (f" {text}" if text else ""), transient=transient,
                        cause=f"HTTP {status}")
