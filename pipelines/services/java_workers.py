"""Beam's Java worker pool on 127.0.0.1: runs the Java half of cross-language transforms (Kafka IO)
without Docker. A runner that meets a transform whose environment is
`beam:env:external:v1` with config 127.0.0.1:PORT asks this pool to start an SDK harness (a thread
in this JVM), which then connects back to the runner.

    start_worker_pool(port) -> pid     stop_worker_pool(port) -> bool
    default_port() -> $VIGIE_JAVA_WORKERS_PORT or 50000

Command line: python -m pipelines.services.java_workers start|stop|status [--port P]
"""
from __future__ import annotations

import sys

from pipelines.services import process
from pipelines.services.beam_java import (java_service_running, service_main, start_java_service,
                                          stop_java_service)

DEFAULT_PORT = 50000
MODE = "workers"


def default_port() -> int:
    """The worker pool's port: $VIGIE_JAVA_WORKERS_PORT or 50000."""
    return process.env_port("VIGIE_JAVA_WORKERS_PORT", DEFAULT_PORT)


def start_worker_pool(port: int | None = None) -> int:
    """Start the Java worker pool (or find it running) on 127.0.0.1:`port`; return its pid."""
    return start_java_service(MODE, port or default_port(), [], "Beam Java worker pool")


def stop_worker_pool(port: int | None = None) -> bool:
    """Stop the worker pool; False if none of ours was running."""
    return stop_java_service(MODE, port or default_port())


def is_running(port: int | None = None) -> bool:
    """Whether our worker pool on `port` is up."""
    return java_service_running(MODE, port or default_port())


def main(argv: list[str] | None = None) -> int:
    return service_main(argv, "python -m pipelines.services.java_workers", "Beam Java worker pool",
                        default_port, start_worker_pool, MODE)


if __name__ == "__main__":
    sys.exit(main())
