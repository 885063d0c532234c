"""The Kafka read expanded for a runner with containers (Dataflow): the project's expansion
service started with `VIGIE_EXPANSION_ENVIRONMENT=docker:IMAGE` must hand back KafkaIO's Java
transforms in that Docker environment, not in the local worker pool (deploy/dataflow/README.md).
Expansion needs no broker and no Docker: the pipeline is built and inspected, not run.
"""
from __future__ import annotations

import socket

import apache_beam as beam
import pytest
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2

from pipelines.errors import VigieError
from pipelines.services import expansion
from pipelines.sources.kafka import KafkaAddress, TopicFormats
from pipelines.transforms.read import ReadKafkaUnits

IMAGE = "apache/beam_java17_sdk:2.73.0"


def test_environment_options():
    assert expansion.expansion_options(50000) == [
        "--defaultEnvironmentType=EXTERNAL", "--defaultEnvironmentConfig=127.0.0.1:50000",
        f"--experiments={expansion.KAFKA_READ_EXPERIMENT}"]
    assert expansion.expansion_options(50000, f"docker:{IMAGE}") == [
        "--defaultEnvironmentType=DOCKER", f"--defaultEnvironmentConfig={IMAGE}"]
    with pytest.raises(VigieError, match="docker:IMAGE"):
        expansion.expansion_options(50000, "docker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.streaming
def test_kafka_read_expands_into_the_docker_environment():
    port = free_port()
    expansion.start_expansion_service(port, environment=f"docker:{IMAGE}")
    try:
        pipeline = beam.Pipeline()
        _ = pipeline | ReadKafkaUnits(KafkaAddress("10.0.0.12:9092", ("web.apache_combined",)),
                                      "vigie-dataflow", expansion.address(port), TopicFormats())
        proto = pipeline.to_runner_api()
    finally:
        expansion.stop_expansion_service(port)
    docker = common_urns.environments.DOCKER.urn
    images = {env_id: beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image
              for env_id, env in proto.components.environments.items() if env.urn == docker}
    assert set(images.values()) == {IMAGE}
    java_steps = [t.unique_name for t in proto.components.transforms.values()
                  if t.environment_id in images]
    assert any("Kafka" in name for name in java_steps), java_steps
    external = common_urns.environments.EXTERNAL.urn
    assert not [e for e in proto.components.environments.values() if e.urn == external]
