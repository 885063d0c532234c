"""Real receivers on 127.0.0.1 for the handoff tests.

- WebhookReceiver: a stdlib HTTP server in a thread that verifies the HMAC-SHA256 signature of
  every body and keeps what it received.
- TheHiveStandIn: a stdlib HTTP server implementing the part of TheHive 5's API v1 that Vigie
  uses, with TheHive's semantics: API-key authentication, alert creation refused when an alert
  with the same type + source + sourceRef exists, the query API (listAlert filtered on fields,
  getAlert -> observables / procedures), alert update (PATCH), observables and procedures added
  to an alert. TheHive itself (a JVM application with its own database and index) cannot run
  here, so this stands in for it; it is not TheHive.
- SmtpReceiver: aiosmtpd, plain or STARTTLS + AUTH with a self-signed certificate made here.
Each can be made to fail (HTTP 500, SMTP 451) or be stopped (connection refused) and restarted
on the same port, to show that a receiver that fails then recovers loses nothing.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class _HttpReceiver:
    """Start/stop/restart a ThreadingHTTPServer with `handler_class` on a fixed loopback port."""

    handler_class: type

    def __init__(self):
        self.port = free_port()
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.fail_status: int | None = None   # answer every request with this status
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> "_HttpReceiver":
        receiver = self

        class Handler(self.handler_class):
            owner = receiver

        self.server = _Server((HOST, self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None


class _Handler(BaseHTTPRequestHandler):
    owner: _HttpReceiver

    def log_message(self, *args):  # quiet
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, payload: object = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _failing(self) -> bool:
        with self.owner.lock:
            self.owner.requests += 1
            status = self.owner.fail_status
        if status:
            self._body()
            self._send(status, {"type": "InternalError", "message": "receiver is failing on purpose"})
            return True
        return False


# ---------------------------------------------------------------- webhook


class _WebhookHandler(_Handler):
    owner: "WebhookReceiver"

    def do_POST(self):
        if self._failing():
            return
        body = self._body()
        expected = "sha256=" + hmac.new(self.owner.secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, self.headers.get("X-Vigie-Signature", "")):
            with self.owner.lock:
                self.owner.rejected += 1
            self._send(401, {"error": "bad signature"})
            return
        with self.owner.lock:
            self.owner.received.append({"key": self.headers.get("Idempotency-Key"), "body": body,
                                        "headers": dict(self.headers.items())})
        self._send(202, {"accepted": True})


class WebhookReceiver(_HttpReceiver):
    """Accepts POSTs whose X-Vigie-Signature is the HMAC-SHA256 of the body with `secret`."""

    handler_class = _WebhookHandler

    def __init__(self, secret: bytes):
        super().__init__()
        self.secret = secret
        self.received: list[dict] = []
        self.rejected = 0

    def keys(self) -> list[str]:
        return [r["key"] for r in self.received]


# ---------------------------------------------------------------- TheHive stand-in


class _TheHiveHandler(_Handler):
    owner: "TheHiveStandIn"

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {self.owner.api_key}":
            self._send(401, {"type": "AuthenticationError", "message": "Authentication failure"})
            return False
        return True

    def do_GET(self):
        if self._failing() or not self._authorised():
            return
        if self.path == "/api/v1/user/current":
            self._send(200, {"login": "vigie@chu-exemple.fr", "organisation": "CHU"})
        else:
            self._send(404, {"type": "NotFoundError", "message": self.path})

    def do_POST(self):
        if self._failing():
            return
        body = self._body()
        if not self._authorised():
            return
        try:
            data = json.loads(body or b"null")
        except ValueError:
            self._send(400, {"type": "BadRequest", "message": "invalid JSON"})
            return
        path = self.path.split("?")[0]
        parts = path.strip("/").split("/")
        if path == "/api/v1/alert":
            self._send(*self.owner.create_alert(data))
        elif path == "/api/v1/query":
            self._send(*self.owner.query(data))
        elif len(parts) == 5 and parts[:3] == ["api", "v1", "alert"] and parts[4] in ("observable", "procedure"):
            self._send(*self.owner.add_child(parts[3], parts[4], data))
        else:
            self._send(404, {"type": "NotFoundError", "message": path})

    def do_PATCH(self):
        if self._failing():
            return
        body = self._body()
        if not self._authorised():
            return
        parts = self.path.strip("/").split("/")
        if len(parts) == 4 and parts[:3] == ["api", "v1", "alert"]:
            self._send(*self.owner.update_alert(parts[3], json.loads(body)))
        else:
            self._send(404, {"type": "NotFoundError", "message": self.path})


class TheHiveStandIn(_HttpReceiver):
    """The subset of TheHive 5's alert API Vigie uses, with TheHive's rules (see module doc)."""

    handler_class = _TheHiveHandler
    REQUIRED = ("type", "source", "sourceRef", "title", "description")
    UPDATABLE = ("title", "description", "severity", "tags", "lastSyncDate", "tlp", "pap", "summary", "status")

    def __init__(self, api_key: str):
        super().__init__()
        self.api_key = api_key
        self.alerts: dict[str, dict] = {}
        self.creates = 0
        self.refused_creates = 0
        self.updates = 0
        self.hide_from_search = 0      # answer this many searches with [] (a race: created meanwhile)

    def create_alert(self, data: dict) -> tuple[int, dict]:
        with self.lock:
            missing = [f for f in self.REQUIRED if not data.get(f)]
            if missing:
                return 400, {"type": "AttributeCheckingError", "message": f"missing {missing}"}
            key = (data["type"], data["source"], data["sourceRef"])
            if any((a["type"], a["source"], a["sourceRef"]) == key for a in self.alerts.values()):
                self.refused_creates += 1
                return 400, {"type": "CreateError", "message": f"Alert {key} already exists"}
            alert_id = f"~{4096 + len(self.alerts)}"
            alert = {k: v for k, v in data.items() if k not in ("observables", "procedures")}
            alert.update({"_id": alert_id, "_type": "Alert", "status": "New", "procedures": []})
            alert["observables"] = []
            for obs in data.get("observables") or []:
                self._add_observable(alert, obs)
            for proc in data.get("procedures") or []:
                alert["procedures"].append(proc)
            self.alerts[alert_id] = alert
            self.creates += 1
            return 201, self._public(alert)

    @staticmethod
    def _add_observable(alert: dict, obs: dict) -> bool:
        if any((o["dataType"], o["data"]) == (obs["dataType"], obs["data"]) for o in alert["observables"]):
            return False
        alert["observables"].append(dict(obs, _id=f"~obs{len(alert['observables'])}"))
        return True

    @staticmethod
    def _public(alert: dict) -> dict:
        return {k: v for k, v in alert.items() if k not in ("observables", "procedures")} | {
            "observableCount": len(alert["observables"])}

    def update_alert(self, alert_id: str, data: dict) -> tuple[int, dict | None]:
        with self.lock:
            alert = self.alerts.get(alert_id)
            if alert is None:
                return 404, {"type": "NotFoundError", "message": f"Alert {alert_id} not found"}
            unknown = [k for k in data if k not in self.UPDATABLE]
            if unknown:
                return 400, {"type": "BadRequest", "message": f"cannot update {unknown}"}
            alert.update(data)
            alert["status"] = "Updated"
            self.updates += 1
            return 204, None

    def add_child(self, alert_id: str, kind: str, data: dict) -> tuple[int, object]:
        with self.lock:
            alert = self.alerts.get(alert_id)
            if alert is None:
                return 404, {"type": "NotFoundError", "message": f"Alert {alert_id} not found"}
            if kind == "observable":
                if not self._add_observable(alert, data):
                    return 400, {"type": "CreateError", "message": "Observable already exists"}
                return 201, [alert["observables"][-1]]
            if not data.get("patternId") or "occurDate" not in data:
                return 400, {"type": "AttributeCheckingError", "message": "patternId and occurDate are required"}
            alert["procedures"].append(dict(data, _id=f"~proc{len(alert['procedures'])}"))
            return 201, alert["procedures"][-1]

    def query(self, data: dict) -> tuple[int, object]:
        steps = data.get("query") or []
        with self.lock:
            if steps and steps[0].get("_name") == "listAlert":
                if self.hide_from_search:
                    self.hide_from_search -= 1
                    return 200, []
                found = list(self.alerts.values())
                for step in steps[1:]:
                    if step.get("_name") == "filter":
                        conditions = step.get("_and") or [step]
                        for c in conditions:
                            found = [a for a in found if a.get(c.get("_field")) == c.get("_value")]
                    elif step.get("_name") == "page":
                        found = found[step.get("from", 0):step.get("to", len(found))]
                return 200, [self._public(a) for a in found]
            if steps and steps[0].get("_name") == "getAlert" and len(steps) == 2:
                alert = self.alerts.get(steps[0].get("idOrName"))
                if alert is None:
                    return 404, {"type": "NotFoundError", "message": "alert not found"}
                return 200, list(alert.get(steps[1]["_name"], []))
        return 400, {"type": "BadRequest", "message": f"unsupported query {steps}"}

    def by_source_ref(self) -> dict[str, dict]:
        return {a["sourceRef"]: a for a in self.alerts.values()}


# ---------------------------------------------------------------- SMTP


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and localhost): (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigie-test-smtp")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1: plain, or STARTTLS required + AUTH required (login/password)."""

    def __init__(self, tls_files: tuple[Path, Path] | None = None, login: str | None = None,
                 password: str | None = None):
        self.port = free_port()
        self.tls_files = tls_files
        self.login, self.password = login, password
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.fail_code: str | None = None   # e.g. "451 4.3.0 Try again later"
        self.auth_failures = 0
        self.controller = None

    def start(self) -> "SmtpReceiver":
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                if receiver.fail_code:
                    return receiver.fail_code
                receiver.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                receiver.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                                  policy=email.policy.default))
                return "250 2.0.0 OK: queued"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == receiver.login
                  and auth_data.password.decode() == receiver.password)
            if not ok:
                receiver.auth_failures += 1
            # handled=False: aiosmtpd itself answers 535 to a refused login
            return AuthResult(success=ok, handled=False)

        kwargs: dict = {}
        if self.tls_files:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.tls_files))
            kwargs.update(tls_context=context, require_starttls=True)
        if self.login:
            kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
        self.controller = Controller(Handler(), hostname=HOST, port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"
