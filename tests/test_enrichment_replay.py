"""The hospital scenario replayed with enrichment: the attacker's VPN logins carry the foreign
country and ASN of the test GeoIP DB, internal addresses are internal, the inventory marks the
targeted accounts and assets, the unusual-country rule fires only on attack lines, the
impossible-travel signal links the victim's own login to the attacker's, and a run without any
database still gives countries."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from enrichment_dbs import write_dbs
from pipelines.cli import main
from pipelines.correlation.travel import TRAVEL_RULE
from pipelines.scenario import chu
from pipelines.scenario.chu.truth import line_origins

UNUSUAL_COUNTRY_RULE = "8d3f6b2e-41c7-4e59-b0a4-7e2c19f5d6a3"


def _line_keys(scenario: Path, refs: list[dict]) -> set[tuple[str, int]]:
    return set(line_origins(scenario, refs))


@pytest.fixture(scope="module")
def enriched(tmp_path_factory):
    root = tmp_path_factory.mktemp("chu-enriched")
    scenario, out = root / "scenario", root / "out"
    chu.generate_chu(scenario, events=20_000, seed=11)
    city, asn = write_dbs(root / "dbs")
    assert main(["replay", str(scenario), "--out", str(out), "--timezone", "Europe/Paris",
                 "--geoip-city-db", city, "--geoip-asn-db", asn,
                 "--inventory", str(scenario / "inventory.yml"),
                 "--threat-list", f"tor={scenario / 'tor-exits.txt'}"]) == 0
    events = ds.dataset(out / "events", format="parquet", partitioning="hive").to_table()
    signals = ds.dataset(out / "signals", format="parquet").to_table()
    truth = json.loads((scenario / "truth.json").read_text())
    return scenario, out, events, signals, truth


def test_attacker_vpn_logins_carry_country_and_asn(enriched):
    _, _, events, _, _ = enriched
    vpn = events.filter(pc.and_(pc.equal(events["event.module"], "vpn"),
                                pc.equal(events["source.ip"], chu.ATTACKER_SERVER))).to_pylist()
    assert vpn and len(vpn) >= 5
    for e in vpn:
        assert (e["source.geo.country_iso_code"], e["source.geo.city_name"]) == ("US", "Ashburn")
        assert (e["source.as.number"], e["source.as.organization.name"]) == (64500, "Example Bulletproof Hosting LLC")
        assert e["vigie.source.internal"] is False and e["network.direction"] == "inbound"
    tor = events.filter(pc.equal(events["source.ip"], chu.TOR_EXIT)).to_pylist()
    assert tor and all(e["vigie.threat.lists"] == ["tor"] and e["source.as.number"] == 64501 for e in tor)


def test_internal_addresses_are_marked_internal(enriched):
    _, _, events, _, _ = enriched
    internal = events.filter(pc.starts_with(events["source.ip"], "10."))
    assert internal.num_rows > 100
    assert pc.all(internal["vigie.source.internal"]).as_py()
    assert internal["source.geo.country_iso_code"].null_count == internal.num_rows
    public = events.filter(pc.starts_with(events["source.ip"], chu.HOME_NETS[0] + "."))
    assert set(public["source.geo.country_iso_code"].to_pylist()) == {"FR"}


def test_inventory_marks_targeted_accounts_and_assets(enriched):
    scenario, _, events, _, truth = enriched
    steps = {s["id"]: s for s in truth["attack_steps"]}
    targeted = set(steps["vpn-credential-use"]["entities"]["users"]) - {"administrateur"}
    rows = events.filter(pc.is_in(events["user.name"], __import__("pyarrow").array(sorted(targeted)))).to_pylist()
    assert {r["user.name"] for r in rows} == targeted
    assert all(r["vigie.user.known"] and r["user.roles"] in (["physician"], ["administrative"]) for r in rows)
    victim = steps["mass-mailing"]["entities"]["users"][0]
    assert {tuple(r["user.roles"]) for r in rows if r["user.name"] == victim} == {("physician",)}
    admin = events.filter(pc.equal(events["user.name"], "administrateur")).to_pylist()
    assert admin and all(r["vigie.user.disabled"] and r["vigie.user.admin"] for r in admin)
    web_attack = _line_keys(scenario, steps["web-exploitation"]["lines"])
    web = events.filter(pc.equal(events["event.dataset"], "web.apache_combined"))
    assets = {(str(Path(p).resolve()), o): a for p, o, a in zip(
        web["log.file.path"].to_pylist(), web["log.offset"].to_pylist(), web["vigie.asset.name"].to_pylist())}
    assert {assets[k] for k in web_attack} == {"site-public-www"}
    vpn_assets = set(events.filter(pc.equal(events["event.dataset"], "vpn.fortigate"))["vigie.asset.criticality"].to_pylist())
    assert vpn_assets <= {"high", "critical"} and "high" in vpn_assets


def test_unusual_country_rule_fires_only_on_the_attack(enriched):
    scenario, _, _, signals, truth = enriched
    attack = _line_keys(scenario, [r for s in truth["attack_steps"] for r in s["lines"]])
    hits = signals.filter(pc.equal(signals["rule.id"], UNUSUAL_COUNTRY_RULE)).to_pylist()
    assert hits
    assert all((str(Path(h["log.file.path"]).resolve()), h["log.offset"]) in attack for h in hits)
    assert {h["source.ip"] for h in hits} == {chu.ATTACKER_SERVER}


def test_impossible_travel_links_the_victims_login_to_the_attackers(enriched):
    scenario, out, events, signals, truth = enriched
    travel = signals.filter(pc.equal(signals["rule.id"], TRAVEL_RULE["rule.id"])).to_pylist()
    victim = truth["attack_steps"][4]["entities"]["users"][0]
    assert [(t["user.name"], t["source.ip"], t["vigie.travel.precision"]) for t in travel] == \
        [(victim, chu.ATTACKER_SERVER, "city")]
    first, second = travel[0]["vigie.evidence.event_ids"]
    by_id = {e["event.id"]: e for e in events.filter(pc.is_in(events["event.id"], __import__("pyarrow").array([first, second]))).to_pylist()}
    context = _line_keys(scenario, truth["context"][0]["lines"])
    assert (str(Path(by_id[first]["log.file.path"]).resolve()), by_id[first]["log.offset"]) in context
    assert by_id[first]["source.geo.city_name"] == "Lyon" and by_id[second]["source.geo.city_name"] == "Ashburn"
    attack = _line_keys(scenario, truth["attack_steps"][1]["lines"])
    assert (str(Path(travel[0]["log.file.path"]).resolve()), travel[0]["log.offset"]) in attack
    summary = json.loads((out / "summary.json").read_text())
    assert summary["enrichment"]["impossible_travel_signals"] == 1
    assert summary["enrichment"]["inventory"]["accounts"] > 100


def test_without_a_database_countries_come_from_the_offline_default(enriched, tmp_path):
    scenario = enriched[0]
    out = tmp_path / "offline"
    assert main(["replay", str(scenario / "vpn"), "--out", str(out), "--timezone", "Europe/Paris",
                 "--no-detect"]) == 0
    events = ds.dataset(out / "events", format="parquet", partitioning="hive").to_table()
    attacker = events.filter(pc.equal(events["source.ip"], chu.ATTACKER_SERVER))
    assert set(attacker["source.geo.country_iso_code"].to_pylist()) == {"US"}
    assert attacker["source.as.number"].null_count == attacker.num_rows
    summary = json.loads((out / "summary.json").read_text())
    assert summary["enrichment"]["geo"].startswith("offline default: iptocc")


def test_no_enrich_leaves_the_fields_empty(enriched, tmp_path):
    scenario = enriched[0]
    out = tmp_path / "plain"
    assert main(["replay", str(scenario / "vpn"), "--out", str(out), "--timezone", "Europe/Paris",
                 "--no-enrich", "--no-detect"]) == 0
    events = ds.dataset(out / "events", format="parquet", partitioning="hive").to_table()
    assert events["source.geo.country_iso_code"].null_count == events.num_rows


def test_bad_enrichment_input_exits_2(tmp_path, capsys):
    scenario = tmp_path / "logs"
    scenario.mkdir()
    (scenario / "a.log").write_text("x\n")
    bad = tmp_path / "inventory.yml"
    bad.write_text("assets: [{name: www, criticality: vital}]\n")
    assert main(["replay", str(scenario), "--out", str(tmp_path / "o1"), "--inventory", str(bad)]) == 2
    assert main(["replay", str(scenario), "--out", str(tmp_path / "o2"), "--geoip-city-db",
                 str(tmp_path / "missing.mmdb")]) == 2
    err = capsys.readouterr().err
    assert "criticality must be one of" in err and "--geoip-city-db" in err and "Traceback" not in err
