"""A real single-node Elasticsearch on 127.0.0.1, for the demo, the tests and local hunting.

The integration-test distribution (`org.elasticsearch.distribution.integ-test-zip`, which ships
the core server with x-pack security) comes from the Maven registry through Maven's own cache,
is unpacked once under the state folder, and each node gets a folder of its own (config, data,
logs, pid) keyed by its HTTP port:

    start_node(NodeSpec(port=9200)) -> Node (url, credentials), waits until the node is healthy
    stop_node(9200)                    SIGTERM, then SIGKILL after a grace period
    kill_node(9200)                    SIGKILL at once (fault tests)

Elasticsearch refuses to run as root: when the caller is root, the node runs as `nobody`.
Elasticsearch 9 needs Java 21 or newer: ES_JAVA_HOME, else the newest JDK under /usr/lib/jvm.

Command line (used by `make es-start` / `make es-stop`):
    python -m pipelines.services.elasticsearch start|stop|status [--port P]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import VigieError
from pipelines.services.maven import fetch_artifact

ES_VERSION = "9.5.4"
ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
MIN_JAVA = 21
DEFAULT_PORT = 9200
SUPERUSER = "elastic"
START_TIMEOUT_S = 180
NOBODY_UID = 65534


def default_port() -> int:
    """HTTP port of the project's node: $VIGIE_ES_PORT or 9200."""
    value = os.environ.get("VIGIE_ES_PORT", str(DEFAULT_PORT))
    if not value.isdigit():
        raise VigieError(f"VIGIE_ES_PORT={value!r} is not a port number; set it to e.g. 9200")
    return int(value)


def state_dir() -> Path:
    """Where the distribution is unpacked and nodes keep their folders ($VIGIE_ES_DIR).

    The default lies under /tmp so that the unprivileged user a root caller runs the node as can
    reach it; the zip itself stays in Maven's cache, so a cleared /tmp costs one unzip.
    """
    return Path(os.environ.get("VIGIE_ES_DIR") or f"/tmp/vigie-elasticsearch-{os.getuid()}")


@dataclass(frozen=True)
class NodeSpec:
    """How to run one node: its HTTP port, heap, and optional hardening for fault tests.

    secure: TLS on HTTP (own CA, written to the node folder) and authentication, with the
    `elastic` superuser's password in the node folder. write_queue: size of the write thread
    pool's queue (1 makes bulk rejections, HTTP 429, easy to provoke).
    """
    port: int = DEFAULT_PORT
    heap_mb: int = 512
    secure: bool = False
    write_queue: int | None = None

    @property
    def transport_port(self) -> int:
        return self.port + 100


@dataclass(frozen=True)
class Node:
    """A running node: where to reach it and how to authenticate (secure nodes only)."""
    url: str
    folder: Path
    ca_file: Path | None = None
    user: str | None = None
    password: str | None = None


def java_home() -> Path:
    """A JDK that runs Elasticsearch 9 (Java >= 21): $ES_JAVA_HOME, else the newest in /usr/lib/jvm."""
    given = os.environ.get("ES_JAVA_HOME")
    if given:
        if _java_major(Path(given)) < MIN_JAVA:
            raise VigieError(f"ES_JAVA_HOME={given} is not a Java {MIN_JAVA}+ JDK; point it at one")
        return Path(given)
    found = [(major, home) for home in sorted(Path("/usr/lib/jvm").glob("*"))
             if (major := _java_major(home)) >= MIN_JAVA]
    if not found:
        raise VigieError(f"Elasticsearch {ES_VERSION} needs Java {MIN_JAVA} or newer; install "
                         "one and set ES_JAVA_HOME")
    return max(found)[1]


def _java_major(home: Path) -> int:
    release = home / "release"
    if not (home / "bin" / "java").exists() or not release.is_file():
        return 0
    match = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
    return int(match.group(1)) if match else 0


def install() -> Path:
    """Fetch (once, through Maven) and unpack (once) the distribution; return its home folder."""
    home = state_dir() / "dist" / f"elasticsearch-{ES_VERSION}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    archive = fetch_artifact(ARTIFACT)
    staging = home.with_name(home.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            zf.extract(info, staging)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(staging / info.filename, mode)
    (staging / f"elasticsearch-{ES_VERSION}").rename(home)
    shutil.rmtree(staging)
    _open_to_others(state_dir())
    return home


def _open_to_others(path: Path) -> None:
    """Let the unprivileged node user traverse the state folder (root callers only)."""
    if os.getuid() == 0:
        for folder in (path, path / "dist", path / "nodes"):
            if folder.exists():
                folder.chmod(0o755)


def node_folder(port: int) -> Path:
    return state_dir() / "nodes" / str(port)


def start_node(spec: NodeSpec | None = None, fresh: bool = False) -> Node:
    """Start a node (or find it already running) and wait until it is healthy.

    `fresh` wipes the node's data first; otherwise a restarted node keeps its indices.
    """
    spec = spec or NodeSpec(port=default_port())
    home = install()
    folder = node_folder(spec.port)
    node = _node_of(spec, folder)
    if _alive(folder) and _healthy(node):
        return node
    if port_in_use(spec.port):
        raise VigieError(f"port {spec.port} is taken by another program; stop it or set "
                         "VIGIE_ES_PORT to a free port")
    if fresh:
        shutil.rmtree(folder / "data", ignore_errors=True)
    _prepare_folder(spec, home, folder)
    node = _node_of(spec, folder)
    env = dict(os.environ, ES_JAVA_HOME=str(java_home()), ES_PATH_CONF=str(folder / "config"),
               ES_TMPDIR=str(folder / "tmp"),
               ES_JAVA_OPTS=f"-Xms{spec.heap_mb}m -Xmx{spec.heap_mb}m")
    command = [str(home / "bin" / "elasticsearch"), "-d", "-p", str(folder / "pid")]
    if os.getuid() == 0:
        _chown_tree(folder)
        command = ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOBODY_UID}",
                   "--clear-groups"] + command
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True,
                          timeout=START_TIMEOUT_S)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [_last_error(folder)])[-1][:200]
        raise VigieError(f"Elasticsearch on port {spec.port} did not start ({reason}); "
                         f"see {folder / 'logs'}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if _healthy(node):
            return node
        time.sleep(0.5)
    raise VigieError(f"Elasticsearch on port {spec.port} started but is not healthy after "
                     f"{START_TIMEOUT_S} s; see {folder / 'logs'}")


def _node_of(spec: NodeSpec, folder: Path) -> Node:
    if not spec.secure:
        return Node(url=f"http://127.0.0.1:{spec.port}", folder=folder)
    secret = folder / "elastic-password"
    return Node(url=f"https://127.0.0.1:{spec.port}", folder=folder,
                ca_file=folder / "config" / "certs" / "ca.pem", user=SUPERUSER,
                password=secret.read_text().strip() if secret.exists() else None)


def _prepare_folder(spec: NodeSpec, home: Path, folder: Path) -> None:
    for part in ("data", "logs", "tmp"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    config = folder / "config"
    if not config.exists():
        shutil.copytree(home / "config", config)
    settings = {
        "cluster.name": f"vigie-{spec.port}",
        "node.name": f"vigie-{spec.port}",
        "discovery.type": "single-node",
        "network.host": "127.0.0.1",
        "http.port": spec.port,
        "transport.port": spec.transport_port,
        "path.data": str(folder / "data"),
        "path.logs": str(folder / "logs"),
        "xpack.security.enabled": spec.secure,
        # A laptop's disk is often fuller than the production watermarks allow.
        "cluster.routing.allocation.disk.threshold_enabled": False,
        "action.destructive_requires_name": False,
    }
    if spec.write_queue is not None:
        settings.update({"thread_pool.write.size": 1, "thread_pool.write.queue_size": spec.write_queue})
    if spec.secure:
        _make_certificates(config / "certs")
        settings.update({
            "xpack.security.http.ssl.enabled": True,
            "xpack.security.http.ssl.certificate": "certs/node.pem",
            "xpack.security.http.ssl.key": "certs/node.key",
            "xpack.security.authc.api_key.enabled": True,
        })
        _set_bootstrap_password(home, folder)
    (config / "elasticsearch.yml").write_text(
        "# Written by pipelines/services/elasticsearch.py for one local Vigie node.\n"
        + "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items()))


def _make_certificates(certs: Path) -> None:
    """A private CA and a node certificate for 127.0.0.1/localhost (openssl), made once."""
    if (certs / "node.pem").exists():
        return
    certs.mkdir(parents=True, exist_ok=True)
    steps = [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-subj", "/CN=Vigie test CA", "-keyout", "ca.key", "-out", "ca.pem"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-keyout", "node.key", "-out", "node.csr"],
        ["openssl", "x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "3650", "-out", "node.pem", "-extfile", "san.cnf"],
    ]
    (certs / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for step in steps:
        done = subprocess.run(step, cwd=certs, capture_output=True, text=True)
        if done.returncode != 0:
            raise VigieError(f"openssl failed to make test certificates: {done.stderr.strip()[:200]}")


def _set_bootstrap_password(home: Path, folder: Path) -> None:
    """Give the `elastic` superuser a random password, kept in the node folder (mode 600)."""
    secret = folder / "elastic-password"
    if secret.exists():
        return
    password = base64.urlsafe_b64encode(os.urandom(18)).decode()
    env = dict(os.environ, ES_JAVA_HOME=str(java_home()), ES_PATH_CONF=str(folder / "config"))
    tool = str(home / "bin" / "elasticsearch-keystore")
    steps = [] if (folder / "config" / "elasticsearch.keystore").exists() else [(["create"], None)]
    for args, stdin in steps + [(["add", "-x", "-f", "bootstrap.password"], password)]:
        done = subprocess.run([tool, *args], env=env, input=stdin, capture_output=True, text=True)
        if done.returncode != 0:
            raise VigieError(f"elasticsearch-keystore {args[0]} failed: {done.stderr.strip()[:200]}")
    secret.write_text(password + "\n")
    secret.chmod(0o600)


def _chown_tree(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            if not name.endswith("elastic-password"):
                os.chown(name, NOBODY_UID, NOBODY_UID)
    _open_to_others(state_dir())


def _last_error(folder: Path) -> str:
    logs = sorted((folder / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime)
    for line in reversed(logs[-1].read_text(errors="replace").splitlines() if logs else []):
        if "ERROR" in line or "Exception" in line:
            return line.strip()[:200]
    return "no error in its log"


def _pid(folder: Path) -> int | None:
    try:
        return int((folder / "pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(folder: Path) -> bool:
    pid = _pid(folder)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_running(port: int) -> bool:
    """Whether a node this module started on `port` is still running."""
    return _alive(node_folder(port))


def port_in_use(port: int) -> bool:
    import socket
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _healthy(node: Node) -> bool:
    request = urllib.request.Request(f"{node.url}/_cluster/health?wait_for_status=yellow&timeout=1s")
    context = None
    if node.ca_file is not None:
        if node.password is None or not node.ca_file.exists():
            return False
        context = ssl.create_default_context(cafile=str(node.ca_file))
        token = base64.b64encode(f"{node.user}:{node.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=3, context=context) as response:
            return json.load(response).get("status") in ("yellow", "green")
    except (OSError, urllib.error.URLError, ValueError):
        return False


def stop_node(port: int, grace_s: float = 60) -> bool:
    """Stop the node on `port` (SIGTERM, SIGKILL after `grace_s`); False if none was running."""
    return _signal_node(port, signal.SIGTERM, grace_s)


def kill_node(port: int) -> bool:
    """Kill the node on `port` at once, as a crash would; False if none was running."""
    return _signal_node(port, signal.SIGKILL, 30)


def _signal_node(port: int, sig: int, grace_s: float) -> bool:
    folder = node_folder(port)
    pid = _pid(folder)
    if pid is None or not _alive(folder):
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _alive(folder):
        time.sleep(0.2)
    if _alive(folder):
        os.kill(pid, signal.SIGKILL)
        while _alive(folder):
            time.sleep(0.2)
    (folder / "pid").unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.services.elasticsearch",
                                     description="Start, stop or inspect the local Elasticsearch.")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default $VIGIE_ES_PORT or 9200)")
    parser.add_argument("--fresh", action="store_true", help="Wipe the node's data before starting.")
    args = parser.parse_args(argv)
    try:
        port = args.port or default_port()
        if args.action == "start":
            started = time.monotonic()
            node = start_node(NodeSpec(port=port), fresh=args.fresh)
            print(f"Elasticsearch {ES_VERSION} ready at {node.url} ({time.monotonic() - started:.1f} s); "
                  f"folder {node.folder}")
        elif args.action == "stop":
            print(f"Elasticsearch on port {port} stopped" if stop_node(port)
                  else f"no Vigie Elasticsearch was running on port {port}")
        else:
            node = Node(url=f"http://127.0.0.1:{port}", folder=node_folder(port))
            running = _alive(node.folder) and _healthy(node)
            print(f"Elasticsearch on port {port}: {'running' if running else 'not running'}")
            return 0 if running else 1
    except VigieError as error:
        print(f"vigie: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
