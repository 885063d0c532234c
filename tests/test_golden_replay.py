"""Golden replay: the hospital scenario (20,000 lines, seed 7) gives the same ids, rows and counts
as the reference in tests/golden/chu-20000-seed7.json.

The reference was written from the replay of the code before the top of the pipeline was rebuilt
(commit da21b89); it compares the columns that existed then, so new columns may be added without
touching it. A deliberate change of outputs (a parser that reads more, a new rule) rewrites it
with `.venv/bin/python tests/golden/digest.py write` in the same commit, which says why.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from golden.digest import replay_digest
from pipelines.cli import main
from pipelines.scenario.chu import generate_chu

REFERENCE = Path(__file__).with_name("golden") / "chu-20000-seed7.json"


def replay_scenario(tmp: Path) -> tuple[Path, str]:
    """Generate the scenario and replay it as the reference was made -> (output folder, root)."""
    scenario, out = tmp / "scen", tmp / "out"
    generate_chu(scenario, events=20_000, seed=7)
    code = main(["replay", str(scenario), "--out", str(out), "--timezone", "Europe/Paris",
                 "--inventory", str(scenario / "inventory.yml"),
                 "--threat-list", f"tor-exits={scenario / 'tor-exits.txt'}",
                 "--reference-time", "2026-11-28T12:00:00+00:00"])
    assert code == 0
    return out, str(scenario) + "/"


@pytest.mark.slow
def test_replay_of_the_scenario_matches_the_reference(tmp_path: Path):
    reference = json.loads(REFERENCE.read_text())
    columns = {name: table["columns"] for name, table in reference["tables"].items()}
    digest = replay_digest(*replay_scenario(tmp_path), columns=columns)
    assert digest["counts"] == reference["counts"]
    for name, table in reference["tables"].items():
        assert digest["tables"][name]["rows"] == table["rows"], name
        assert digest["tables"][name]["ids"] == table["ids"], name
        assert digest["tables"][name]["content"] == table["content"], name
