"""Session fixtures for the streaming stack: Kafka, the Java expansion service and worker pool,
Prism and the Flink session cluster, each on its default port (the same as `make streaming-start`).

A fixture starts a service only when it is not already running, and stops at the end of the
session exactly what it started, also when tests fail. Import the fixtures you need into a test
module: `from streaming_services import kafka_broker, expansion_address, prism_flags, flink_cluster`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from pipelines.services import expansion, flink, java_workers, kafka, prism


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[kafka.Broker]:
    """The project's Kafka broker on $VIGIE_KAFKA_PORT (9092)."""
    was_running = kafka.is_running()
    broker = kafka.start_broker()
    try:
        yield broker
    finally:
        if not was_running:
            kafka.stop_broker()


@pytest.fixture(scope="session")
def expansion_address() -> Iterator[str]:
    """`127.0.0.1:PORT` of the Kafka IO expansion service, with the Java worker pool behind it."""
    started = []
    try:
        for module, start in ((java_workers, java_workers.start_worker_pool),
                              (expansion, expansion.start_expansion_service)):
            if not module.is_running():
                started.append(module)
            start()
        yield expansion.address()
    finally:
        for module in reversed(started):
            if module is expansion:
                expansion.stop_expansion_service()
            else:
                java_workers.stop_worker_pool()


@pytest.fixture(scope="session")
def prism_binary() -> Path:
    """Beam's Prism runner binary (built once with `go install`, cached)."""
    return prism.prism_binary()


@pytest.fixture(scope="session")
def flink_cluster() -> Iterator[flink.Cluster]:
    """The project's Flink session cluster on $VIGIE_FLINK_PORT (8081)."""
    was_running = flink.is_running()
    cluster = flink.start_cluster()
    try:
        yield cluster
    finally:
        if not was_running:
            flink.stop_cluster()
