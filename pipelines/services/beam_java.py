"""Beam's Java side for cross-language Kafka IO, assembled from the Maven artefacts the registry
serves (the `beam-sdks-java-io-expansion-service` jar is not served): one classpath for the
expansion service and the Java worker pool, and the command that runs the project's launcher
(pipelines/services/java/VigieJavaServices.java) on it, bound to 127.0.0.1.

    java_services_command(mode, port, options) -> argv   (mode: "expansion" | "workers")
    start_java_service(mode, port, options, what) -> pid  (waits until the port accepts)
    stop_java_service(mode, port) -> bool
    state_dir() -> /tmp/vigie-beam-<uid> ($VIGIE_BEAM_DIR): one folder per service and port
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

from pipelines.errors import VigieError
from pipelines.services import process
from pipelines.services.classpath import ClasspathSpec, find_jar, resolve_classpath
from pipelines.services.jvm import OPENS, java_binary, launcher_classes

# The newest Beam Java release whose modules the Maven registry serves together (2.74 and 2.75
# lack beam-model-*); the Python SDK (2.75) speaks to it through the expansion and Fn APIs.
BEAM_JAVA_VERSION = "2.73.0"
# KafkaIO is built against the 3.x client API; a 3.9 client talks to the 4.4 broker.
KAFKA_CLIENTS_VERSION = "3.9.1"
CLASSPATH = ClasspathSpec("beam-java-kafka", (
    f"org.apache.beam:beam-sdks-java-expansion-service:{BEAM_JAVA_VERSION}",
    f"org.apache.beam:beam-sdks-java-io-kafka:{BEAM_JAVA_VERSION}",
    f"org.apache.beam:beam-sdks-java-harness:{BEAM_JAVA_VERSION}",
    f"org.apache.kafka:kafka-clients:{KAFKA_CLIENTS_VERSION}",
    "com.github.jbellis:jamm:0.4.0",
    "org.slf4j:slf4j-simple:2.0.16",
), exclusions=("io.confluent:*",))  # Confluent's schema-registry artefacts are not served
LAUNCHER = "VigieJavaServices"


def state_dir() -> Path:
    """Folders of the Java services: $VIGIE_BEAM_DIR or /tmp/vigie-beam-<uid>."""
    return Path(os.environ.get("VIGIE_BEAM_DIR") or f"/tmp/vigie-beam-{os.getuid()}")


def java_services_command(mode: str, port: int, options: list[str], heap_mb: int = 768) -> list[str]:
    """argv that runs Beam's Java expansion service or worker pool on 127.0.0.1:`port`."""
    jars = resolve_classpath(CLASSPATH)
    classes = launcher_classes(jars, LAUNCHER)
    jamm = find_jar(jars, "jamm")
    classpath = os.pathsep.join([str(classes), *map(str, jars)])
    return [str(java_binary()), f"-Xmx{heap_mb}m", f"-javaagent:{jamm}", *OPENS,
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-cp", classpath, f"vigie.{LAUNCHER}", mode, str(port), *options]


def marker(mode: str, port: int) -> str:
    """The part of the command line that identifies this service's process."""
    return f"vigie.{LAUNCHER} {mode} {port}"


def start_java_service(mode: str, port: int, options: list[str], what: str,
                       timeout_s: float = 120) -> int:
    """Start (or find running) the Java `mode` service on 127.0.0.1:`port`; return its pid once
    the port accepts connections."""
    folder = state_dir() / f"{mode}-{port}"
    pid = process.running_pid(folder, mode)
    if pid is None:
        if process.port_in_use(port):
            raise VigieError(f"port {port} is taken by another program; stop it or choose another "
                             f"port for the {what}")
        pid = process.spawn(java_services_command(mode, port, options), folder, mode,
                            marker=marker(mode, port))
    process.wait_for(lambda: process.port_in_use(port), timeout_s, f"{what} on 127.0.0.1:{port}",
                     folder / f"{mode}.log",
                     alive=lambda: process.running_pid(folder, mode) is not None)
    return pid


def stop_java_service(mode: str, port: int) -> bool:
    """Stop the Java `mode` service on `port`; False if none of ours was running."""
    return process.stop(state_dir() / f"{mode}-{port}", mode, grace_s=20)


def java_service_running(mode: str, port: int) -> bool:
    """Whether our Java `mode` service on `port` is alive and accepting connections."""
    return (process.running_pid(state_dir() / f"{mode}-{port}", mode) is not None
            and process.port_in_use(port))


def service_main(argv: list[str] | None, prog: str, what: str, default_port: Callable[[], int],
                 start: Callable[[int], object], mode: str) -> int:
    """The start|stop|status command line shared by expansion.py and java_workers.py."""
    parser = argparse.ArgumentParser(prog=prog, description=f"Start, stop or inspect the {what}.")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        port = args.port or default_port()
        if args.action == "start":
            started = time.monotonic()
            pid = start(port)
            print(f"{what} ready at 127.0.0.1:{port} ({time.monotonic() - started:.1f} s, pid {pid}); "
                  f"log {state_dir() / f'{mode}-{port}' / f'{mode}.log'}")
        elif args.action == "stop":
            print(f"{what} on port {port} stopped" if stop_java_service(mode, port)
                  else f"no Vigie {what} was running on port {port}")
        else:
            running = java_service_running(mode, port)
            print(f"{what} on port {port}: {'running' if running else 'not running'}")
            return 0 if running else 1
    except VigieError as error:
        print(f"vigie: {error}", file=sys.stderr)
        return 2
    return 0
