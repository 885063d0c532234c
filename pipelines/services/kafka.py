"""A real single-node Kafka (KRaft: one process is broker and controller) on 127.0.0.1.

Kafka's jars come from the Maven registry through Maven (kafka_2.13 + kafka-tools + slf4j-simple,
see classpath.py); the node's folder is /tmp/vigie-kafka-<uid>/<port> ($VIGIE_KAFKA_DIR instead of
/tmp/vigie-kafka-<uid>) with server.properties, data/, kafka.log and kafka.pid:

    start_broker(BrokerSpec(port=9092)) -> Broker  formats the storage once (StorageTool), starts
                                                   kafka.Kafka and waits until the broker lists
                                                   itself in a Metadata answer
    stop_broker(9092) -> bool                      SIGTERM by pid, SIGKILL after a grace period

Both listeners (PLAINTEXT for clients, CONTROLLER for the KRaft quorum) bind 127.0.0.1 only.
Topics are not created automatically: create them (kafka_topics.create_topics) as an operator
would, so that a misspelt topic fails loudly instead of reading nothing.

Command line (`make kafka-start` / `make kafka-stop`):
    python -m pipelines.services.kafka start|stop|status [--port P] [--fresh]
"""
from __future__ import annotations

import argparse
import base64
import shutil
import socket
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import VigieError
from pipelines.services import process
from pipelines.services.classpath import ClasspathSpec, classpath_string, resolve_classpath
from pipelines.services.jvm import java_binary

KAFKA_VERSION = "4.4.0"
CLASSPATH = ClasspathSpec("kafka", (
    f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-tools:{KAFKA_VERSION}",
    "org.slf4j:slf4j-simple:1.7.36",
))
DEFAULT_PORT = 9092
START_TIMEOUT_S = 180
NAME = "kafka"


def default_port() -> int:
    """The broker's client port: $VIGIE_KAFKA_PORT or 9092."""
    return process.env_port("VIGIE_KAFKA_PORT", DEFAULT_PORT)


def state_dir() -> Path:
    """Where brokers keep their folders: $VIGIE_KAFKA_DIR or /tmp/vigie-kafka-<uid>."""
    import os
    return Path(os.environ.get("VIGIE_KAFKA_DIR") or f"/tmp/vigie-kafka-{os.getuid()}")


@dataclass(frozen=True)
class BrokerSpec:
    """One broker: client port, controller port (default: client port + 1), heap."""
    port: int = DEFAULT_PORT
    controller_port: int | None = None
    heap_mb: int = 512

    @property
    def quorum_port(self) -> int:
        return self.controller_port or self.port + 1

    @property
    def folder(self) -> Path:
        return state_dir() / str(self.port)


@dataclass(frozen=True)
class Broker:
    """A running broker: `bootstrap` is what clients pass as bootstrap.servers."""
    bootstrap: str
    folder: Path
    pid: int


def server_properties(spec: BrokerSpec) -> str:
    """The server.properties of a combined broker+controller bound to loopback (pure)."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.voters": f"1@127.0.0.1:{spec.quorum_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{spec.port},CONTROLLER://127.0.0.1:{spec.quorum_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{spec.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(spec.folder / "data"),
        "num.partitions": 1,
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 4,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,
        # No time-based retention: replayed archives carry old CreateTime timestamps, which a
        # time limit would delete within minutes (the retention check runs every 5 min).
        "log.retention.ms": -1,
    }
    return ("# Written by pipelines/services/kafka.py for one local Vigie broker.\n"
            + "".join(f"{key}={value}\n" for key, value in settings.items()))


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form (16 bytes, URL-safe base64, no padding)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def metadata_request(correlation_id: int) -> bytes:
    """A Kafka Metadata v4 request for no topic, size-prefixed (pure)."""
    client = b"vigie"
    header = struct.pack(">hhih", 3, 4, correlation_id, len(client)) + client
    body = struct.pack(">i?", 0, False)  # an empty topic list, no auto-creation
    message = header + body
    return struct.pack(">i", len(message)) + message


def brokers_in_metadata(response: bytes, correlation_id: int) -> list[tuple[int, str, int]]:
    """(node id, host, port) of the brokers in a Metadata v4 response body (pure)."""
    got, _throttle, count = struct.unpack_from(">iii", response, 0)
    if got != correlation_id:
        raise ValueError("answer to another request")
    offset, brokers = 12, []
    for _ in range(count):
        node, length = struct.unpack_from(">ih", response, offset)
        offset += 6
        host = response[offset:offset + length].decode()
        offset += length
        (port, rack_length) = struct.unpack_from(">ih", response, offset)
        offset += 6 + max(rack_length, 0)
        brokers.append((node, host, port))
    return brokers


def broker_answers(port: int, timeout_s: float = 3) -> bool:
    """Whether a broker on 127.0.0.1:port answers a Metadata request and lists itself."""
    try:
        with socket.create_connection((process.LOOPBACK, port), timeout=timeout_s) as sock:
            sock.sendall(metadata_request(7))
            size = struct.unpack(">i", _read_exactly(sock, 4))[0]
            return any(p == port for _, _, p in brokers_in_metadata(_read_exactly(sock, size), 7))
    except (OSError, ValueError, struct.error):
        return False


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def _java_command(classpath: str, heap_mb: int, main: str, *args: str) -> list[str]:
    return [str(java_binary()), f"-Xms{heap_mb}m", f"-Xmx{heap_mb}m", "-XX:+UseG1GC",
            "-Djava.awt.headless=true", "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-cp", classpath, main, *args]


def _format_storage(spec: BrokerSpec, classpath: str, properties: Path) -> None:
    if (spec.folder / "data" / "meta.properties").exists():
        return
    id_file = spec.folder / "cluster-id"
    if not id_file.exists():
        id_file.write_text(new_cluster_id() + "\n")
    command = _java_command(classpath, 256, "kafka.tools.StorageTool", "format",
                            "-t", id_file.read_text().strip(), "-c", str(properties))
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise VigieError(f"Kafka's StorageTool could not format {spec.folder / 'data'} "
                         f"({last[0][:200]}); remove that folder or start with --fresh")


def start_broker(spec: BrokerSpec | None = None, fresh: bool = False) -> Broker:
    """Start the broker (or find it running) and wait until it answers as a broker."""
    spec = spec or BrokerSpec(port=default_port())
    folder = spec.folder
    bootstrap = f"127.0.0.1:{spec.port}"
    pid = process.running_pid(folder, NAME)
    if pid is not None:
        process.wait_for(lambda: broker_answers(spec.port), START_TIMEOUT_S, "Kafka",
                         folder / f"{NAME}.log")
        return Broker(bootstrap, folder, pid)
    for port in (spec.port, spec.quorum_port):
        if process.port_in_use(port):
            raise VigieError(f"port {port} is taken by another program; stop it or set "
                             "VIGIE_KAFKA_PORT to a free port (the controller uses the next one)")
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    classpath = classpath_string(resolve_classpath(CLASSPATH))
    properties = folder / "server.properties"
    properties.write_text(server_properties(spec))
    _format_storage(spec, classpath, properties)
    pid = process.spawn(_java_command(classpath, spec.heap_mb, "kafka.Kafka", str(properties)),
                        folder, NAME)
    process.wait_for(lambda: broker_answers(spec.port), START_TIMEOUT_S, f"Kafka on {bootstrap}",
                     folder / f"{NAME}.log", alive=lambda: process.running_pid(folder, NAME) is not None)
    return Broker(bootstrap, folder, pid)


def stop_broker(port: int | None = None, grace_s: float = 60) -> bool:
    """Stop the broker on `port`; False if none of ours was running there."""
    return process.stop(BrokerSpec(port=port or default_port()).folder, NAME, grace_s)


def is_running(port: int | None = None) -> bool:
    """Whether a broker this module started on `port` is alive."""
    return process.running_pid(BrokerSpec(port=port or default_port()).folder, NAME) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.services.kafka",
                                     description="Start, stop or inspect the local Kafka broker.")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--port", type=int, default=None,
                        help="client port (default $VIGIE_KAFKA_PORT or 9092; controller: +1)")
    parser.add_argument("--fresh", action="store_true", help="wipe the broker's data first")
    args = parser.parse_args(argv)
    try:
        port = args.port or default_port()
        if args.action == "start":
            started = time.monotonic()
            broker = start_broker(BrokerSpec(port=port), fresh=args.fresh)
            print(f"Kafka {KAFKA_VERSION} ready at {broker.bootstrap} "
                  f"({time.monotonic() - started:.1f} s, pid {broker.pid}); folder {broker.folder}")
        elif args.action == "stop":
            print(f"Kafka on port {port} stopped" if stop_broker(port)
                  else f"no Vigie Kafka was running on port {port}")
        else:
            running = is_running(port) and broker_answers(port)
            print(f"Kafka on port {port}: {'running' if running else 'not running'}")
            return 0 if running else 1
    except VigieError as error:
        print(f"vigie: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
