"""The hospital scenario end to end: `vigie replay` (with its inventory and threat list) produces
the incidents truth.json expects — two linked incidents or one merged campaign, matched by their
steps and entities — with evidence pointers that resolve to the attack's raw lines (the events
of multi-event signals, impossible travel and correlation results, included), and no incident
from the background traffic."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.scenario.chu import generate_chu
from pipelines.scenario.chu.truth import line_origins
from pipelines.sinks.incidents import incidents_path, read_incidents


@pytest.fixture(scope="module", params=[7, 11], ids=["seed7", "seed11"])
def replayed(request, tmp_path_factory) -> tuple[Path, Path, dict]:
    base = tmp_path_factory.mktemp(f"chu{request.param}")
    scenario, out = base / "scenario", base / "out"
    generate_chu(scenario, events=20_000, seed=request.param)
    assert main(["replay", str(scenario), "--out", str(out), "--timezone", "Europe/Paris",
                 "--inventory", str(scenario / "inventory.yml"),
                 "--threat-list", f"tor-exits={scenario / 'tor-exits.txt'}"]) == 0
    return scenario, out, json.loads((scenario / "truth.json").read_text())


def attack_origins(scenario: Path, truth: dict) -> dict[tuple[str, int], str]:
    """(log.file.path, log.offset) of every attack line -> its step id."""
    out = {}
    for step in truth["attack_steps"]:
        for path, offset in line_origins(scenario, step["lines"]):
            out[(path, offset)] = step["id"]
    return out


def step(truth: dict, step_id: str) -> dict:
    return next(s for s in truth["attack_steps"] if s["id"] == step_id)


def test_the_expected_incidents_and_nothing_from_the_background(replayed):
    scenario, out, truth = replayed
    records = read_incidents(incidents_path(out))
    live = [r for r in records if r["incident.status"] != "merged"]
    attack = attack_origins(scenario, truth)
    expected_steps = {s for incident in truth["expected_incidents"] for s in incident["steps"]}
    covered: set[str] = set()
    for record in live:
        evidence = [(e["log.file.path"], e["log.offset"]) for e in record["incident.evidence"]]
        on_attack = [attack[pointer] for pointer in evidence if pointer in attack]
        # every incident stands on attack lines: none is opened by background traffic alone
        assert on_attack, f"incident {record['incident.id']} has no evidence on an attack line"
        covered |= set(on_attack)
    # two linked incidents, or one campaign holding both
    assert 1 <= len(live) <= len(truth["expected_incidents"])
    assert covered >= expected_steps - {"web-scan"}, covered  # a scan alone is only context
    # the accounts are the attack's: the phished mailbox owner who sent the mass mailing is
    # named, and no background account is
    accounts = {a for record in live for a in record["incident.entities"]["accounts"]}
    users = {u for incident in truth["expected_incidents"] for u in incident["entities"]["users"]}
    (victim,) = step(truth, "mass-mailing")["entities"]["users"]
    assert victim in accounts and accounts <= users, accounts - users
    # the attacker's server (the phishing's source) is named
    addresses = {ip for record in live for ip in record["incident.entities"]["source_ips"]}
    assert set(step(truth, "phishing")["entities"]["source_ips"]) <= addresses
    expected_severity = {incident["severity"] for incident in truth["expected_incidents"]}
    assert {record["incident.severity_label"] for record in live} & expected_severity


def test_the_impossible_travel_evidence_points_at_the_victims_own_login(replayed):
    # the victim's own tunnel from home is no attack line: an incident points at it only
    # through the impossible-travel signal's evidence (its earlier login)
    scenario, out, truth = replayed
    own = {origin for context in truth["context"] for origin in line_origins(scenario, context["lines"])}
    evidence = {(e["log.file.path"], e["log.offset"])
                for record in read_incidents(incidents_path(out), include_merged=False)
                for e in record["incident.evidence"]}
    assert own & evidence


def test_evidence_pointers_resolve_to_the_raw_line(replayed):
    _, out, _ = replayed
    records = read_incidents(incidents_path(out))
    assert records
    for record in records:
        assert record["incident.evidence"], record["incident.id"]
        for pointer in record["incident.evidence"]:
            path, offset = pointer["log.file.path"], pointer["log.offset"]
            assert pointer["event.id"] and pointer["event.dataset"] and path and offset is not None, pointer
            with open(path, "rb") as f:
                if offset:
                    f.seek(offset - 1)
                    assert f.read(1) == b"\n", (path, offset)  # the start of a line
                line = f.readline().decode("utf-8", "replace")
            assert line.strip(), (path, offset)
            if pointer.get("event.original"):
                assert line.rstrip("\n") == pointer["event.original"].split("\n")[0]
