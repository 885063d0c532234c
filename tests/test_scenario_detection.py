"""The generated hospital scenario, replayed end to end: every attack step raises signals, and
no high or critical signal points at background traffic."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipelines.cli import main
from pipelines.scenario.chu import generate_chu
from pipelines.scenario.chu.truth import line_origins


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("chu")
    scenario, out = root / "scenario", root / "out"
    generate_chu(scenario, events=20_000, seed=11)
    assert main(["replay", str(scenario), "--out", str(out), "--timezone", "Europe/Paris"]) == 0
    return scenario, out, json.loads((out / "summary.json").read_text())


def step_of_event(scenario: Path) -> dict[tuple[str, int], str]:
    """(file, byte offset of a line) -> the attack step that wrote it."""
    truth = json.loads((scenario / "truth.json").read_text())
    return {origin: step["id"] for step in truth["attack_steps"]
            for origin in line_origins(scenario, step["lines"])}


def test_every_attack_step_raises_signals_and_high_signals_are_all_attack(replayed):
    scenario, out, summary = replayed
    steps = step_of_event(scenario)
    signals = ds.dataset(out / "signals", format="parquet").to_table(
        columns=["rule.name", "rule.level", "rule.author", "log.file.path", "log.offset"]).to_pylist()
    per_step: Counter = Counter()
    background_high = Counter()
    for signal in signals:
        step = steps.get((str(Path(signal["log.file.path"]).resolve()), signal["log.offset"]))
        if step:
            per_step[step] += 1
        elif signal["rule.level"] in ("high", "critical"):
            background_high[signal["rule.name"]] += 1
    truth = json.loads((scenario / "truth.json").read_text())
    assert set(per_step) == {s["id"] for s in truth["attack_steps"]}, per_step
    assert not background_high, background_high
    assert all(s["rule.author"] for s in signals)
    assert summary["datasets"]["total"]["signals"] == len(signals)
    assert summary["rules"]["loaded"] >= 30 and not summary["rules"]["skipped"]
    fired = {v["title"] for v in summary["rules"]["signals_per_rule"].values() if v["signals"]}
    assert {"SQL Injection - UNION SELECT in Request", "Mail With a Risky Attachment Type"} <= fired


def test_signal_ids_are_deterministic(replayed, tmp_path):
    scenario, out, _ = replayed
    again = tmp_path / "again"
    assert main(["replay", str(scenario), "--out", str(again), "--timezone", "Europe/Paris"]) == 0

    def ids(folder: Path) -> list[str]:
        return sorted(ds.dataset(folder / "signals", format="parquet").to_table(columns=["signal.id"])["signal.id"].to_pylist())

    assert ids(out) == ids(again)
