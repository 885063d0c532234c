"""The local Elasticsearch service: a real node started from the Maven distribution."""
from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from pipelines.errors import VigieError
from pipelines.services import elasticsearch as es_service


def test_node_answers_on_loopback_with_the_pinned_version(es_node):
    # The integration-test distribution has no `GET /` handler; the nodes API names the version.
    with urllib.request.urlopen(f"{es_node.url}/_nodes/_local", timeout=10) as response:
        nodes = json.load(response)["nodes"]
    assert [n["version"] for n in nodes.values()] == [es_service.ES_VERSION]
    assert es_node.url.startswith("http://127.0.0.1:")


def test_start_is_idempotent_for_a_running_node(es_node):
    again = es_service.start_node(es_service.NodeSpec(port=es_service.default_port()))
    assert again.url == es_node.url


def test_a_port_taken_by_another_program_is_refused():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(VigieError, match=f"port {port} is taken"):
            es_service.start_node(es_service.NodeSpec(port=port))


def test_a_too_old_java_is_named(monkeypatch, tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("")
    (tmp_path / "release").write_text('JAVA_VERSION="17.0.15"\n')
    monkeypatch.setenv("ES_JAVA_HOME", str(tmp_path))
    with pytest.raises(VigieError, match="not a Java 21"):
        es_service.java_home()


def test_bad_port_variable_is_one_line(monkeypatch):
    monkeypatch.setenv("VIGIE_ES_PORT", "nine")
    with pytest.raises(VigieError, match="VIGIE_ES_PORT"):
        es_service.default_port()
