"""Shared test helpers: where the shared reference data is, and how to run the CLI."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_LOGS = REPO.parent / "shared" / "data" / "logs"


@pytest.fixture
def shared_logs() -> Path:
    """../shared/data/logs, or skip the test with the reason when it is absent."""
    if not SHARED_LOGS.is_dir():
        pytest.skip(f"reference logs not found at {SHARED_LOGS} (clone the project beside ../shared)")
    return SHARED_LOGS


@pytest.fixture(scope="session")
def es_node():
    """The project's real Elasticsearch node (`make test` starts it; a lone pytest run starts
    it here and stops it at the end). Never skipped: a test that needs it fails without it."""
    from pipelines.services import elasticsearch as es_service

    port = es_service.default_port()
    spec = es_service.NodeSpec(port=port)
    was_running = es_service.is_running(port)
    node = es_service.start_node(spec)
    yield node
    if not was_running:
        es_service.stop_node(port)


# Modules whose tests replay whole inputs through Beam (seconds to minutes each).
SLOW_MODULES = {"test_replay", "test_replay_safety", "test_golden_replay", "test_analyse_events",
                "test_enrichment_replay", "test_scenario_detection", "test_conformance_sigma",
                "test_clock", "test_scenario_correlations", "test_scenario_incidents",
                "test_setup_package"}


# Streaming modules that run when named on the command line.
STREAMING_MODULES = ("test_streaming_stack", "test_expansion_environment", "test_stream_prism", "test_stream_flink", "test_replay_flink")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tiers (pytest.ini): `es` for tests that use a real Elasticsearch node, `slow`
    for whole-replay modules, so that `make test-fast` runs the rest in well under a minute.
    Streaming tests (minutes, several servers) run when asked for: `make test` sets
    VIGIE_STREAMING_TESTS=1, as do `-m streaming` and naming one of STREAMING_MODULES; a bare
    `pytest tests` skips them and says so."""
    import os
    for item in items:
        if "es_node" in getattr(item, "fixturenames", ()) or item.module.__name__.startswith("test_es_"):
            item.add_marker(pytest.mark.es)
        if item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    if ("streaming" in (config.getoption("-m") or "") or os.environ.get("VIGIE_STREAMING_TESTS") == "1"
            or any(name in str(arg) for arg in config.args for name in STREAMING_MODULES)):
        return
    skip = pytest.mark.skip(reason="streaming stack: run `make test-streaming` or set VIGIE_STREAMING_TESTS=1")
    for item in items:
        if "streaming" in item.keywords:
            item.add_marker(skip)
