"""Beam's Java expansion service for Kafka IO on 127.0.0.1, configured so that the transforms it
expands run in the project's Java worker pool (EXTERNAL environment at 127.0.0.1:WORKERS_PORT)
instead of a Docker container.

    start_expansion_service(port, workers_port) -> pid     stop_expansion_service(port) -> bool
    default_port() -> $VIGIE_EXPANSION_PORT or 8097
    address(port) -> "127.0.0.1:PORT", what `ReadFromKafka(expansion_service=...)` takes

Command line: python -m pipelines.services.expansion start|stop|status [--port P]
"""
from __future__ import annotations

import os
import sys

from pipelines.errors import VigieError

from pipelines.services import java_workers, process
from pipelines.services.beam_java import (java_service_running, service_main, start_java_service,
                                          stop_java_service)

DEFAULT_PORT = 8097
MODE = "expansion"


def default_port() -> int:
    """The expansion service's port: $VIGIE_EXPANSION_PORT or 8097."""
    return process.env_port("VIGIE_EXPANSION_PORT", DEFAULT_PORT)


def address(port: int | None = None) -> str:
    """The `host:port` to pass as `expansion_service=` to Beam's cross-language transforms."""
    return f"127.0.0.1:{port or default_port()}"


# KafkaIO's splittable read commits offsets through a step that requires stable input, which
# Prism refuses ("beam:requirement:pardo:stable_input:v1"); with this experiment KafkaIO reads
# through its unbounded source (run as a splittable DoFn), which commits offsets when the runner
# finalises a checkpoint. The expansion service ignores experiments sent by the Python pipeline,
# so it is set here.
KAFKA_READ_EXPERIMENT = "use_unbounded_sdf_wrapper"


ENVIRONMENT_VARIABLE = "VIGIE_EXPANSION_ENVIRONMENT"


def expansion_options(workers_port: int, environment: str | None = None) -> list[str]:
    """Beam options of the expansion service. By default expanded Java transforms use the local
    worker pool and KafkaIO reads through its unbounded source (KAFKA_READ_EXPERIMENT, for
    Prism). `environment` "docker:IMAGE" makes them run in that Java SDK container instead,
    which is what Dataflow (or a Flink cluster with Docker) needs; "external" is the default."""
    environment = environment or "external"
    if environment == "external":
        return ["--defaultEnvironmentType=EXTERNAL",
                f"--defaultEnvironmentConfig=127.0.0.1:{workers_port}",
                f"--experiments={KAFKA_READ_EXPERIMENT}"]
    kind, _, image = environment.partition(":")
    if kind != "docker" or not image:
        raise VigieError(f"{ENVIRONMENT_VARIABLE}={environment!r}: use 'external' (the local Java "
                         "worker pool) or 'docker:IMAGE', e.g. docker:apache/beam_java17_sdk:2.73.0")
    return ["--defaultEnvironmentType=DOCKER", f"--defaultEnvironmentConfig={image}"]


def start_expansion_service(port: int | None = None, workers_port: int | None = None,
                            environment: str | None = None) -> int:
    """Start the expansion service (or find it running) on 127.0.0.1:`port`; return its pid.
    `environment`: see expansion_options (default: $VIGIE_EXPANSION_ENVIRONMENT, else external).

    An already running service keeps the environment it was started with."""
    options = expansion_options(workers_port or java_workers.default_port(),
                                environment or os.environ.get(ENVIRONMENT_VARIABLE))
    return start_java_service(MODE, port or default_port(), options, "Beam Java expansion service")


def stop_expansion_service(port: int | None = None) -> bool:
    """Stop the expansion service; False if none of ours was running."""
    return stop_java_service(MODE, port or default_port())


def is_running(port: int | None = None) -> bool:
    """Whether our expansion service on `port` is up."""
    return java_service_running(MODE, port or default_port())


def main(argv: list[str] | None = None) -> int:
    return service_main(argv, "python -m pipelines.services.expansion", "Beam Java expansion service",
                        default_port, start_expansion_service, MODE)


if __name__ == "__main__":
    sys.exit(main())
