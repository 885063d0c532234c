"""The hospital scenario replayed through the whole graph: the correlation results that are
alerts are exactly the ones truth.json expects (`expected_correlations`, derived by the scenario
package from what the attack does), each made of the attack's own lines; no result at all, alert
or building block, comes from the background alone (the Internet's scanners failing VPN logins
all evening, probing /.env, staff mistyping passwords, newsletters failing DMARC)."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from pipelines.cli import main
from pipelines.correlation.loader import load_detections
from pipelines.resources import data_dir
from pipelines.scenario.chu import generate_chu
from pipelines.scenario.chu.truth import line_origins

# (events, seed): the golden replay's size and seed; another evening whose scanners guess
# 'administrator' five times in ten minutes; and `vigie demo`'s full evening (200,000 lines),
# whose scanners did that 164 times before vpn_password_guessing counted only failures of the
# hospital's own accounts (vpn_login_failure_personal_account).
CASES = [(20_000, 7), (20_000, 11), (200_000, 7)]
Origin = tuple[str, int]  # (resolved log.file.path, log.offset)
Key = tuple[str, tuple[tuple[str, str], ...]]  # (rule name, sorted group-by (field, value))

COLUMNS = ["signal.id", "@timestamp", "rule.id", "rule.name", "vigie.rule.name", "vigie.building_block",
           "log.file.path", "log.offset", "vigie.correlation.rule_name",
           "vigie.correlation.group_by.fields", "vigie.correlation.group_by.values",
           "vigie.correlation.signal_ids"]
# Signals that stand for two lines (impossible travel) name both (added on main).
EVIDENCE_COLUMNS = ["vigie.evidence.log_paths", "vigie.evidence.log_offsets"]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-seed{c[1]}")
def replayed(request, tmp_path_factory) -> tuple[Path, Path]:
    """Generate the scenario and replay it as `vigie demo` does (its inventory, which the
    phishing and foreign-login rules need, and its Tor list) -> (scenario, output folder)."""
    events, seed = request.param
    root = tmp_path_factory.mktemp(f"chu-{events}-{seed}")
    scenario, out = root / "scenario", root / "out"
    generate_chu(scenario, events=events, seed=seed)
    truth = json.loads((scenario / "truth.json").read_text(encoding="utf-8"))
    assert main(["replay", str(scenario), "--out", str(out), "--timezone", truth["timezone"],
                 "--inventory", str(scenario / "inventory.yml"),
                 "--threat-list", f"tor-exits={scenario / 'tor-exits.txt'}"]) == 0
    return scenario, out


def read_signals(out: Path) -> dict[str, dict[str, Any]]:
    """Every signal row of a replay (base signals and correlation results), by signal.id."""
    dataset = ds.dataset(out / "signals", format="parquet")
    columns = COLUMNS + [c for c in EVIDENCE_COLUMNS if c in dataset.schema.names]
    return {row["signal.id"]: row for row in dataset.to_table(columns=columns).to_pylist()}


def is_result(row: dict[str, Any]) -> bool:
    """A correlation result (not a base rule's or a built-in detection's signal)."""
    return row["vigie.correlation.rule_name"] is not None


def result_key(row: dict[str, Any]) -> Key:
    """(rule name, group-by) of a correlation result."""
    group = zip(row["vigie.correlation.group_by.fields"], row["vigie.correlation.group_by.values"])
    return row["vigie.correlation.rule_name"], tuple(sorted(group))


def expected_key(expected: dict[str, Any]) -> Key:
    """(rule name, group-by) of one of truth.json's expected_correlations."""
    return expected["rule"], tuple(sorted(expected["group_by"].items()))


def origins(row: dict[str, Any], signals: dict[str, dict[str, Any]]) -> set[Origin]:
    """The raw lines a signal stands for: its own line, the lines its evidence names, and for a
    correlation result those of every signal it is made of, down the chain."""
    found: set[Origin] = set()
    pending, seen = [row], set()
    while pending:
        current = pending.pop()
        if current["signal.id"] in seen:
            continue
        seen.add(current["signal.id"])
        if is_result(current):
            for signal_id in current["vigie.correlation.signal_ids"]:
                assert signal_id in signals, f"{current['rule.name']}: unknown signal {signal_id}"
                pending.append(signals[signal_id])
            continue
        found.add((str(Path(current["log.file.path"]).resolve()), current["log.offset"]))
        paths = current.get("vigie.evidence.log_paths") or []
        offsets = current.get("vigie.evidence.log_offsets") or []
        found.update((str(Path(p).resolve()), o) for p, o in zip(paths, offsets))
    return found


def attack_steps_by_line(scenario: Path, truth: dict[str, Any]) -> dict[Origin, str]:
    """(file, byte offset of a line) -> the attack step that wrote it."""
    return {origin: step["id"] for step in truth["attack_steps"]
            for origin in line_origins(scenario, step["lines"])}


def utc(text: str) -> dt.datetime:
    """truth.json's ISO 8601 UTC time (to the second) as an aware datetime."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_truth_expects_shipped_rules_grouped_as_they_group(replayed):
    """Every expected correlation names a shipped correlation rule and its group-by field."""
    scenario, _ = replayed
    truth = json.loads((scenario / "truth.json").read_text(encoding="utf-8"))
    rules = {r.name: r for r in load_detections([data_dir("detections")]).correlations.rules}
    expected = truth["expected_correlations"]
    assert len(expected) == len({expected_key(e) for e in expected}) == 9
    for e in expected:
        assert e["rule"] in rules, e["rule"]
        assert list(e["group_by"]) == list(rules[e["rule"]].group_by), e["rule"]
        assert e["incident"] in {i["id"] for i in truth["expected_incidents"]}


def test_every_expected_correlation_is_found_once_from_its_steps(replayed):
    """Each expected (rule, entity) gives exactly one result, completed within its steps' time
    span, whose evidence holds lines of every attack step it names."""
    scenario, out = replayed
    truth = json.loads((scenario / "truth.json").read_text(encoding="utf-8"))
    signals = read_signals(out)
    step_of = attack_steps_by_line(scenario, truth)
    results: dict[Key, list[dict[str, Any]]] = {}
    for row in signals.values():
        if is_result(row):
            results.setdefault(result_key(row), []).append(row)
    for e in truth["expected_correlations"]:
        found = results.get(expected_key(e), [])
        assert len(found) == 1, (e["rule"], e["group_by"], len(found))
        row = found[0]
        assert not row["vigie.building_block"], e["rule"]
        assert utc(e["start"]) <= row["@timestamp"] < utc(e["end"]) + dt.timedelta(seconds=1), \
            (e["rule"], row["@timestamp"], e["start"], e["end"])
        steps = {step_of[o] for o in origins(row, signals) if o in step_of}
        assert steps == set(e["steps"]), (e["rule"], sorted(steps), e["steps"])


def test_no_correlation_result_beyond_the_expected_and_none_from_background_alone(replayed):
    """The alerts among the results are exactly the expected ones, and every result holds attack
    lines: none, not even a building block, is made of background lines alone. And the background is
    loud: most base signals are its own, VPN failures among them."""
    scenario, out = replayed
    truth = json.loads((scenario / "truth.json").read_text(encoding="utf-8"))
    signals = read_signals(out)
    step_of = attack_steps_by_line(scenario, truth)
    results = [row for row in signals.values() if is_result(row)]
    alerts = [row for row in results if not row["vigie.building_block"]]
    assert Counter(result_key(row) for row in alerts) == \
        Counter(expected_key(e) for e in truth["expected_correlations"])
    background_only = [row for row in results if not origins(row, signals) & step_of.keys()]
    assert not [row["vigie.correlation.rule_name"] for row in background_only]
    base = [row for row in signals.values() if not is_result(row)]
    noise = [row for row in base if not origins(row, signals) & step_of.keys()]
    assert len(noise) > len(base) / 2, (len(noise), len(base))
    assert sum(1 for row in noise if "VPN" in row["rule.name"]) >= 50
