"""Risk score (every part shown), severity on TheHive's 1-4 scale, ATT&CK tags, containment
actions per incident kind and notification deadlines from the detection time."""
from __future__ import annotations

import pytest

from incident_rows import ATTACKER, TOR_EXIT, inventory, signal
from pipelines.incidents.assembly import assemble
from pipelines.incidents.attack import parse_tags, tactic_rank
from pipelines.incidents.policy import AssemblyPolicy
from pipelines.incidents.response import Targets, containment_actions, notification_deadlines
from pipelines.incidents.scoring import Person, score_incident
from pipelines.incidents.times import add_months, iso, to_ms


@pytest.fixture(scope="module")
def inv(tmp_path_factory):
    return inventory(tmp_path_factory.mktemp("inventory"))


def parts(score) -> dict[str, float]:
    return {p["name"]: p["points"] for p in score.parts}


def test_parts_add_up_and_repeats_of_a_rule_count_once():
    score = score_incident(
        [("r1", "high", False), ("r1", "high", False), ("r2", "medium", False), ("r3", "low", False),
         ("c1", "high", True)],
        ["initial-access", "persistence", "credential-access"], ["mail", "remote-access"],
        [("vpn", "high"), ("dpi", "critical")],
        [Person("jadmin", admin=True), Person("dg", vip=True), Person("administrateur", admin=True, disabled=True)])
    assert parts(score) == {"rule-levels": 13.0, "correlations": 10.0, "tactics": 6.0, "services": 4.0,
                            "asset-criticality": 10.0, "admin-accounts": 16.0, "vip-accounts": 6.0,
                            "disabled-accounts": 10.0}
    assert score.total == sum(p["points"] for p in score.parts) == 75.0
    assert score.severity == 4 and score.label == "critical"
    details = {p["name"]: p["detail"] for p in score.parts}
    assert details["rule-levels"] == "3 rules: 1 high, 1 medium, 1 low"
    assert details["asset-criticality"] == "dpi (critical)"
    assert details["admin-accounts"] == "administrateur, jadmin"


@pytest.mark.parametrize("rules, assets, severity", [
    ([("r", "low", False)], [], 1),
    ([("r", "medium", False), ("s", "medium", False)], [("www", "high")], 2),   # 8 + 6 = 14
    ([("r", "high", False)], [], 2),                                            # floor for a high rule
    ([("r", "critical", False)], [], 3),                                        # floor for a critical rule
    ([("r", "high", False), ("s", "high", False), ("t", "high", False)], [("dpi", "critical")], 3),
])
def test_severity_bands_and_floors(rules, assets, severity):
    assert score_incident(rules, [], [], assets, []).severity == severity


def test_people_count_only_when_a_medium_or_higher_signal_involves_them(inv):
    # a scanner guessing the disabled built-in admin (low) adds nothing for people
    guesses = [signal("vpn-fail", i, source_ip=ATTACKER, user_name="administrateur") for i in range(3)]
    success = signal("vpn-abroad", 10, source_ip=ATTACKER, user_name="nlouis2")
    record = assemble(guesses + [success], inv)[0]
    names = {p["name"] for p in record["incident.score_parts"]}
    assert not names & {"admin-accounts", "disabled-accounts"}
    used = assemble([signal("vpn-abroad", 10, source_ip=ATTACKER, user_name="administrateur")], inv)[0]
    by_name = {p["name"]: p for p in used["incident.score_parts"]}
    assert by_name["disabled-accounts"]["detail"] == "administrateur"
    assert by_name["admin-accounts"]["points"] == 8.0
    assert used["incident.severity"] >= 3


def test_parse_tags_pairs_techniques_with_their_tactics():
    tags = parse_tags(["attack.initial-access", "attack.persistence", "attack.t1078", "attack.t1133",
                       "attack.defense_evasion", "attack.g0032", "cve.2021-44228", "attack.T1566.001"])
    assert tags.tactics == ("initial-access", "persistence", "defense-evasion")
    assert tags.techniques == ("T1078", "T1133", "T1566.001")
    assert ("initial-access", "T1566.001") in tags.pairs
    assert ("defense-evasion", "T1078") in tags.pairs and ("persistence", "T1133") in tags.pairs
    # a technique the rule's tactics do not cover goes with the rule's first tactic
    assert parse_tags(["attack.impact", "attack.t9999"]).pairs == (("impact", "T9999"),)
    # a technique alone brings its own tactic
    assert parse_tags(["attack.t1190"]).tactics == ("initial-access",)
    assert tactic_rank("reconnaissance") < tactic_rank("initial-access") < tactic_rank("impact")


def test_attack_chain_is_in_event_time_order(inv):
    rows = [signal("web-tool", 0, source_ip=TOR_EXIT), signal("web-sqli", 5, source_ip=TOR_EXIT),
            signal("web-shell", 9, source_ip=TOR_EXIT)]
    record = assemble(rows, inv)[0]
    chain = [(c["tactic"], c["technique"]) for c in record["incident.attack_chain"]]
    assert chain == [("reconnaissance", "T1595.002"), ("initial-access", "T1190"),
                     ("execution", "T1059.004"), ("persistence", "T1505.003")]
    assert record["incident.tactics"] == ["reconnaissance", "initial-access", "execution", "persistence"]
    assert record["incident.attack_chain"][1]["rule.name"] == "SQL Injection"


def test_actions_per_kind():
    targets = Targets(used_accounts=("cfernandez2",), senders=("paie@chu-exemple-rh.fr", "x@gmail.com"),
                      sending_mailboxes=("christophe.fernandez@chu-exemple.fr",), public_ips=(ATTACKER,),
                      web_sites=("site-public-www",), evidence=("/logs/web/www-access.log",),
                      web_techniques=("T1505.003",))
    phishing = {a["id"]: a["targets"] for a in containment_actions(("phishing",), 2, (), targets)}
    # a freemail sender is blocked by address, never its provider's domain
    assert phishing["block-sender-domain"] == ["chu-exemple-rh.fr", "x@gmail.com"]
    assert phishing["quarantine-messages"] == ["paie@chu-exemple-rh.fr", "x@gmail.com"]
    assert set(phishing) == {"block-sender-domain", "quarantine-messages", "block-addresses", "preserve-evidence"}
    takeover = {a["id"]: a["targets"] for a in containment_actions(("account-takeover",), 3, (), targets)}
    assert takeover["reset-accounts"] == takeover["cut-remote-access"] == ["cfernandez2"]
    assert "suspend-telework" not in takeover
    critical = [a["id"] for a in containment_actions(("account-takeover", "mass-mailing"), 4, ("impact",), targets)]
    assert critical == ["disconnect-workstations", "cut-remote-access", "suspend-telework", "reset-accounts",
                        "block-addresses", "preserve-evidence", "quarantine-messages"]
    web = {a["id"]: a["targets"] for a in containment_actions(("web-attack",), 3, (), targets)}
    assert web["take-website-offline"] == ["site-public-www"]
    probing = Targets(public_ips=(TOR_EXIT,), web_sites=("site-public-www",), web_techniques=("T1190",))
    assert "take-website-offline" not in {a["id"] for a in containment_actions(("web-attack",), 2, (), probing)}


def test_deadlines_from_detection_time():
    detected = to_ms("2026-11-27T17:05:43.123Z")
    deadlines = {d["id"]: d["due"] for d in notification_deadlines(detected, 3, personal_data=True)}
    assert deadlines == {
        "health-serious-incident": "2026-11-27T17:05:43.123Z",
        "nis2-early-warning": "2026-11-28T17:05:43.123Z",
        "nis2-notification": "2026-11-30T17:05:43.123Z",
        "gdpr-breach": "2026-11-30T17:05:43.123Z",
        "nis2-final-report": "2026-12-27T17:05:43.123Z",
    }
    order = [d["id"] for d in notification_deadlines(detected, 3, personal_data=True)]
    assert order == ["health-serious-incident", "nis2-early-warning", "gdpr-breach", "nis2-notification",
                     "nis2-final-report"]
    assert all(d["basis"] for d in notification_deadlines(detected, 3, True))
    # below the reporting severity only the GDPR deadline can remain
    assert [d["id"] for d in notification_deadlines(detected, 2, personal_data=True)] == ["gdpr-breach"]
    assert notification_deadlines(detected, 2, personal_data=False) == []
    outside_health = AssemblyPolicy(health_sector=False)
    assert "health-serious-incident" not in {d["id"] for d in notification_deadlines(detected, 4, False, outside_health)}


def test_a_month_later_is_clamped_to_the_end_of_a_short_month():
    assert iso(add_months(to_ms("2027-01-31T10:00:00Z"), 1)) == "2027-02-28T10:00:00.000Z"
    assert iso(add_months(to_ms("2028-01-31T10:00:00Z"), 1)) == "2028-02-29T10:00:00.000Z"
    assert iso(add_months(to_ms("2026-12-15T23:59:59.999Z"), 1)) == "2027-01-15T23:59:59.999Z"


def test_personal_data_decides_the_gdpr_deadline(inv):
    probe = assemble([signal("web-tool", 0, source_ip=TOR_EXIT)], inv)[0]
    assert "gdpr-breach" not in {d["id"] for d in probe["incident.deadlines"]}
    takeover = assemble([signal("vpn-abroad", 0, source_ip=ATTACKER, user_name="nlouis2")], inv)[0]
    assert "gdpr-breach" in {d["id"] for d in takeover["incident.deadlines"]}
    portal = signal("web-tool", 0, source_ip=TOR_EXIT, url_domain="portail.chu-exemple.fr")
    portal["log.file.path"] = "/logs/web/portail.log"
    record = assemble([portal], inv)[0]
    assert {"name": "portail-patients", "criticality": "high"} in record["incident.entities"]["assets"]
    assert "gdpr-breach" in {d["id"] for d in record["incident.deadlines"]}


def test_times_accept_datetimes_strings_and_milliseconds():
    assert to_ms("2026-11-27T17:00:00Z") == to_ms("2026-11-27T18:00:00+01:00") == 1795798800000
    assert iso(1795798800123) == "2026-11-27T17:00:00.123Z"
    with pytest.raises(ValueError):
        to_ms(True)
