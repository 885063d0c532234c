"""TheHive handoff against a TheHive-format receiver on 127.0.0.1.

TheHive 5 cannot run here; tests/handoff_receivers.TheHiveStandIn implements the part of its API
v1 Vigie uses with TheHive's rules (creation refused for an existing type + source + sourceRef,
query, update, observables, procedures). It stands in for TheHive: it is not TheHive.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from handoff_receivers import TheHiveStandIn
from incident_helpers import CAMPAIGN_ID, WEB_ID, both, load
from pipelines.errors import VigieError
from pipelines.sinks.delivery import RetryPolicy
from pipelines.sinks.handoff.run import deliver_incidents, render_for_handoff
from pipelines.sinks.handoff.thehive import TheHiveDestination, alert_from_incident, observables, procedures

API_KEY = "thehive-key-52c1e0-never-shown"
FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05, budget_seconds=5)


@pytest.fixture
def hive():
    h = TheHiveStandIn(API_KEY).start()
    yield h
    h.stop()


def test_alert_format():
    item = render_for_handoff(load("campaign"), "fr")
    alert = alert_from_incident(item)
    assert (alert["type"], alert["source"], alert["sourceRef"]) == ("vigie-incident", "vigie", CAMPAIGN_ID)
    assert alert["severity"] == 4 and alert["tlp"] == 2 and alert["pap"] == 2
    assert alert["title"].startswith("[Vigie] Campagne d'attaque") and alert["description"] == item.markdown
    assert alert["date"] == 1795802849000   # detected_at, epoch ms
    for tag in ("vigie", "vigie:kind=campaign", "vigie:severity=critical", "vigie:service=mail",
                "vigie:service=remote-access", "attack.initial-access", "attack.t1566.001"):
        assert tag in alert["tags"], tag
    obs = {(o["dataType"], o["data"]): o for o in observables(load("campaign"))}
    assert obs[("ip", "45.137.21.9")]["ioc"] is True and "external" in obs[("ip", "45.137.21.9")]["tags"]
    assert obs[("ip", "10.212.134.200")]["ioc"] is False and "internal" in obs[("ip", "10.212.134.200")]["tags"]
    assert obs[("domain", "chu-exemple-rh.fr")]["ioc"] is True
    assert obs[("mail", "paie@chu-exemple-rh.fr")]["ioc"] is True
    assert obs[("mail", "claire.bernard@chu-exemple.fr")]["ioc"] is False
    assert obs[("other", "c.bernard")]["tags"][-1] == "account" and ("hostname", "fgt-chu-01") in obs
    procs = procedures(load("campaign"))
    assert [p["patternId"] for p in procs] == ["T1566.001", "T1110", "T1133", "T1078"]
    assert procs[0] == {"patternId": "T1566.001", "tactic": "initial-access", "occurDate": 1795799112000,
                        "description": "Inbound HTML attachment from a look-alike domain failing DMARC"}


def test_each_incident_is_one_alert_across_two_sends(hive: TheHiveStandIn, tmp_path: Path):
    dest = TheHiveDestination(hive.url, API_KEY, timeout=5)
    dest.check()
    first = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    second = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    assert first.delivered[dest.key] == 2 and second.skipped[dest.key] == 2
    assert hive.creates == 2 and hive.updates == 0 and hive.refused_creates == 0
    alerts = hive.by_source_ref()
    assert set(alerts) == {CAMPAIGN_ID, WEB_ID}
    assert len(alerts[CAMPAIGN_ID]["procedures"]) == 4 and len(alerts[WEB_ID]["procedures"]) == 4
    assert len(alerts[CAMPAIGN_ID]["observables"]) == len(observables(load("campaign")))


def test_a_new_revision_updates_the_alert_instead_of_creating_a_second(hive: TheHiveStandIn, tmp_path: Path):
    dest = TheHiveDestination(hive.url, API_KEY, timeout=5)
    small = load("campaign")
    small["incident.revision"], small["incident.severity"] = 1, 3
    small["incident.entities"]["source_ips"] = ["45.137.21.9"]
    small["incident.attack_chain"] = small["incident.attack_chain"][:1]
    deliver_incidents([small], tmp_path, [dest], policy=FAST)
    result = deliver_incidents([load("campaign")], tmp_path, [dest], policy=FAST)
    assert "updated alert" in result.lines[0]
    assert hive.creates == 1 and hive.updates == 1 and len(hive.alerts) == 1
    alert = hive.by_source_ref()[CAMPAIGN_ID]
    assert alert["severity"] == 4 and alert["status"] == "Updated" and "lastSyncDate" in alert
    assert ("ip", "10.212.134.200") in {(o["dataType"], o["data"]) for o in alert["observables"]}
    assert [p["patternId"] for p in alert["procedures"]] == ["T1566.001", "T1110", "T1133", "T1078"]


def test_without_the_ledger_a_re_send_still_updates_rather_than_duplicates(hive: TheHiveStandIn, tmp_path: Path):
    dest = TheHiveDestination(hive.url, API_KEY, timeout=5)
    deliver_incidents(both(), tmp_path / "run1", [dest], policy=FAST)
    deliver_incidents(both(), tmp_path / "run2", [dest], policy=FAST)   # another DIR: no ledger
    assert hive.creates == 2 and hive.updates == 2 and len(hive.alerts) == 2
    assert all(len(a["procedures"]) == 4 for a in hive.alerts.values())      # no duplicated procedures


def test_create_refused_because_it_appeared_meanwhile_becomes_an_update(hive: TheHiveStandIn, tmp_path: Path):
    dest = TheHiveDestination(hive.url, API_KEY, timeout=5)
    deliver_incidents([load("web-attack")], tmp_path / "a", [dest], policy=FAST)
    hive.hide_from_search = 1      # the look-up misses it, as if another sender created it just now
    result = deliver_incidents([load("web-attack")], tmp_path / "b", [dest], policy=FAST)
    assert result.delivered[dest.key] == 1 and hive.refused_creates == 1 and hive.updates == 1
    assert len(hive.alerts) == 1


def test_thehive_failing_then_recovering_loses_nothing(hive: TheHiveStandIn, tmp_path: Path):
    dest = TheHiveDestination(hive.url, API_KEY, timeout=5)
    hive.fail_status = 500
    failed = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    assert failed.dead_lettered[dest.key] == 2 and not hive.alerts
    hive.fail_status = None
    again = deliver_incidents([], tmp_path, [dest], policy=FAST)
    assert again.redelivered[dest.key] == 2 and set(hive.by_source_ref()) == {CAMPAIGN_ID, WEB_ID}
    assert deliver_incidents(both(), tmp_path, [dest], policy=FAST).skipped[dest.key] == 2
    assert hive.creates == 2


def test_check_reports_a_refused_key_and_an_unreachable_server(hive: TheHiveStandIn):
    with pytest.raises(VigieError, match="refused the API key"):
        TheHiveDestination(hive.url, "wrong-key", timeout=5).check()
    hive.stop()
    with pytest.raises(VigieError, match="unreachable"):
        TheHiveDestination(hive.url, API_KEY, timeout=2).check()
    hive.start()
