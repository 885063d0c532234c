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
