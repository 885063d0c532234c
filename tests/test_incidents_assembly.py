"""Incident assembly without Beam: one incident across mail, VPN and web through the
mailbox -> account link, no gluing through shared infrastructure or popular keys, suppression,
the opening threshold, merges, the campaign window, duplicates and late signals, and (with
hypothesis) the same incidents whatever the arrival order and however signals are released."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_rows import (ATTACKER, PHISH_SENDER, TOR_EXIT, VICTIM_MAILBOX, campaign, inventory,
                           noise, signal)
from pipelines.incidents.assembly import Assembler, assemble, incident_id, latest_revisions
from pipelines.incidents.policy import AssemblyPolicy
from pipelines.incidents.times import to_ms


@pytest.fixture(scope="module")
def inv(tmp_path_factory):
    return inventory(tmp_path_factory.mktemp("inventory"))


def live(records):
    return [r for r in records if r["incident.status"] != "merged"]


def content(record: dict) -> dict:
    """A record without its delivery bookkeeping (revision; new/updated)."""
    out = {k: v for k, v in record.items() if k not in ("incident.revision", "incident.status")}
    out["merged"] = record["incident.status"] == "merged"
    return out


def signal_ids(record) -> set[str]:
    return {s["signal.id"] for s in record["incident.signals"]}


def test_phishing_vpn_from_abroad_and_mass_mailing_are_one_incident(inv):
    # the phishing server is not the address of the VPN login: only the mailbox links them
    phish = signal("lure", 5, source_ip="91.200.12.3", email_from_address=[PHISH_SENDER],
                   email_to_address=[VICTIM_MAILBOX])
    attachment = signal("attachment", 5, source_ip="91.200.12.3", email_from_address=[PHISH_SENDER],
                        email_to_address=[VICTIM_MAILBOX])
    vpn = signal("vpn-abroad", 70, source_ip=ATTACKER, user_name="CFernandez2")
    mass = signal("bulk", 200, source_ip="10.212.134.200", user_name="cfernandez2",
                  email_from_address=[VICTIM_MAILBOX], email_to_address=["a@gmail.com", "b@free.fr"])
    records = assemble([mass, vpn, attachment, phish], inv)
    assert len(records) == 1
    record = records[0]
    assert record["incident.kind"] == "campaign"
    assert record["incident.kinds"] == ["phishing", "account-takeover", "mass-mailing"]
    assert record["incident.services"] == ["mail", "remote-access"]
    assert record["incident.entities"]["accounts"] == ["cfernandez2"]
    assert VICTIM_MAILBOX in record["incident.entities"]["mailboxes"]
    assert record["incident.entities"]["external_recipients"] == ["a@gmail.com", "b@free.fr"]
    # two medium mail rules of one tactic do not open it; the login from abroad (high) does,
    # and the phishing before it joins as the incident's beginning
    assert record["incident.detected_at"] == "2026-11-27T18:10:00.000Z"
    assert record["incident.first_seen"] == "2026-11-27T17:05:00.000Z"
    assert record["incident.id"] == incident_id(sorted([phish, attachment], key=lambda r: r["signal.id"])[0]["signal.id"])


def test_without_the_mailbox_link_the_phishing_stays_apart(inv):
    phish = signal("lookalike", 5, source_ip="91.200.12.3", email_from_address=[PHISH_SENDER],
                   email_to_address=["unknown.person@chu-exemple.fr"])
    vpn = signal("vpn-abroad", 70, source_ip=ATTACKER, user_name="cfernandez2")
    assert len(assemble([phish, vpn], inv)) == 2


def test_the_scenario_campaign_is_one_incident_and_the_noise_none(inv):
    records = assemble(campaign() + noise(), inv)
    survivors = live(records)
    assert len(survivors) == 1
    record = survivors[0]
    assert signal_ids(record) <= {r["signal.id"] for r in campaign()}
    assert record["incident.signal_count"] == len(campaign())
    assert set(record["incident.entities"]["source_ips"]) == {ATTACKER, TOR_EXIT, "10.212.134.200"}
    # the web attack opened first on its own (Tor exit), then the attacker's server joined it
    # to the campaign: it is merged into the older incident, which names it
    merged = [r for r in records if r["incident.status"] == "merged"]
    assert len(merged) == 1 and merged[0]["incident.merged_into"] == record["incident.id"]
    assert record["incident.merged_from"] == [merged[0]["incident.id"]]
    assert {a["id"] for a in record["incident.actions"]} >= {
        "reset-accounts", "cut-remote-access", "block-addresses", "block-sender-domain",
        "quarantine-messages", "take-website-offline", "preserve-evidence"}
    assert record["incident.severity"] == 4


def test_noise_alone_opens_nothing(inv):
    # scanners rattling the VPN and probing the site from 30 addresses, all day: low signals
    assert assemble(noise(), inv) == []
    many = [signal("vpn-fail", i, source_ip=f"162.142.125.{i % 50}", user_name="admin") for i in range(300)]
    assert assemble(many, inv) == []


@pytest.mark.parametrize("rules, opens", [
    (["vpn-night"], False),                                   # one medium rule
    (["vpn-night", "vpn-night"], False),                      # the same medium rule twice
    (["lure", "attachment"], False),                          # two medium rules, one tactic
    (["vpn-night", "vpn-anonymizer"], True),                  # two medium rules, two tactics
    (["vpn-abroad"], True),                                   # one high signal
    (["brute-then-success"], True),                           # a medium correlation result
    (["many-failures", "vpn-fail", "vpn-fail"], False),       # a low correlation result
])
def test_opening_threshold(inv, rules, opens):
    rows = [signal(rule, 10 + i, source_ip=ATTACKER, user_name="nlouis2",
                   email_from_address=[PHISH_SENDER] if rule in ("lure", "attachment") else None)
            for i, rule in enumerate(rules)]
    assert bool(assemble(rows, inv)) is opens


def test_suppression_same_rule_same_entity_joins_the_open_incident(inv):
    rows = [signal("web-tool", i, source_ip=TOR_EXIT) for i in range(100)]
    records = assemble(rows, inv)
    assert len(records) == 1
    record = records[0]
    assert record["incident.signal_count"] == 100
    assert record["incident.rules"] == [{
        "rule.id": "rule-web-tool", "rule.name": "Web Attack Tool User-Agent", "rule.level": "high",
        "vigie.correlation.type": None, "count": 100, "first_seen": "2026-11-27T17:00:00.000Z",
        "last_seen": "2026-11-27T18:39:00.000Z"}]
    cap = AssemblyPolicy().max_signals_per_rule
    assert len(record["incident.signals"]) == cap and record["incident.signals_omitted"] == 100 - cap
    # the listed ones are the first in event time
    assert [s["@timestamp"] for s in record["incident.signals"]][:2] == [
        "2026-11-27T17:00:00.000Z", "2026-11-27T17:01:00.000Z"]


def test_after_the_campaign_window_the_same_entity_opens_a_new_incident(inv):
    window_minutes = AssemblyPolicy().window_seconds / 60
    first = [signal("web-tool", 0, source_ip=TOR_EXIT), signal("web-tool", 10, source_ip=TOR_EXIT)]
    later = signal("web-tool", 10 + window_minutes + 1, source_ip=TOR_EXIT)
    just_in = signal("web-tool", 10 + window_minutes, source_ip=TOR_EXIT)
    assert len(assemble(first + [later], inv)) == 2
    assert len(assemble(first + [just_in], inv)) == 1


def test_shared_infrastructure_does_not_glue_unrelated_incidents(inv):
    rows = [
        # two unrelated VPN logins from abroad, both written by the same gateway
        signal("vpn-abroad", 10, source_ip="45.10.10.10", user_name="nlouis2"),
        signal("vpn-abroad", 20, source_ip="46.20.20.20", user_name="pmartin"),
        # mail from two unrelated outside senders through the same relay, to the same person,
        # from the hospital's own relay address and from an internal address
        signal("lookalike", 30, source_ip="10.10.0.25", email_from_address=["a@evil-one.example"],
               email_to_address=["directeur.general@chu-exemple.fr"]),
        signal("lookalike", 40, source_ip="192.168.4.4", email_from_address=["b@evil-two.example"],
               email_to_address=["directeur.general@chu-exemple.fr"]),
        # the web server's own (internal-network) address as the destination of a proxy hit
        signal("proxy-script", 50, source_ip="10.20.3.4", destination_ip="193.51.24.10"),
        signal("proxy-script", 55, source_ip="10.20.9.9", destination_ip="193.51.24.10"),
    ]
    records = assemble(rows, inv)
    assert len(records) == 6, [r["incident.title"] for r in records]


def test_low_web_probes_do_not_join_through_the_web_site(inv):
    attack = [signal("web-sqli", 10 + i, source_ip=ATTACKER) for i in range(2)] + [
        signal("web-shell", 15, source_ip="91.200.12.3")]
    probes = [signal("web-probe", 12, source_ip="162.142.125.9")]
    records = assemble(attack + probes, inv)
    assert len(records) == 1
    assert "162.142.125.9" not in records[0]["incident.entities"]["source_ips"]
    # two exploitation attempts on the same site from different addresses: one incident
    assert set(records[0]["incident.entities"]["source_ips"]) == {ATTACKER, "91.200.12.3"}


def test_a_popular_public_address_stops_linking(inv):
    # a provider's mail server relays flagged mail of many senders: it links none of them
    provider = "209.85.220.41"
    rows = [signal("lookalike", i, source_ip=provider, email_from_address=[f"s{i}@gmail.com"],
                   email_to_address=["p.martin@chu-exemple.fr"]) for i in range(6)]
    records = assemble(rows, inv)
    # the first senders are glued until the address has been seen with 3 distinct senders;
    # from then on each sender's mail is an incident of its own
    glued = AssemblyPolicy().hub_senders_per_address - 1
    assert len(records) == 1 + (6 - glued)


def test_dictionary_accounts_of_scanners_stop_linking(inv):
    rows = [signal("vpn-fail", i, source_ip=f"162.142.125.{i}", user_name="admin") for i in range(10)]
    rows.append(signal("vpn-abroad", 30, source_ip=ATTACKER, user_name="admin"))
    records = assemble(rows, inv)
    assert len(records) == 1
    assert records[0]["incident.entities"]["source_ips"] == [ATTACKER]


def test_mail_to_the_same_person_does_not_link_unrelated_senders(inv):
    rows = [signal("lure", 5, source_ip="91.200.12.3", email_from_address=[PHISH_SENDER],
                   email_to_address=["p.martin@chu-exemple.fr"]),
            signal("attachment", 6, source_ip="91.200.12.3", email_from_address=[PHISH_SENDER],
                   email_to_address=["p.martin@chu-exemple.fr"]),
            signal("vpn-abroad", 8, source_ip="91.200.12.3", user_name="nlouis2"),
            signal("dmarc", 9, source_ip="193.252.22.140", email_from_address=["news@lettre.example"],
                   email_to_address=["p.martin@chu-exemple.fr"])]
    records = assemble(rows, inv)
    assert len(records) == 1
    assert "news@lettre.example" not in records[0]["incident.entities"]["mailboxes"]


def test_a_correlation_result_links_its_member_signals(inv):
    a = signal("vpn-night", 10, source_ip="45.1.1.1", user_name="nlouis2")
    b = signal("vpn-anonymizer", 20, source_ip="46.2.2.2", user_name="svc-backup")
    corr = signal("brute-then-success", 25)
    corr["vigie.correlation.signal_ids"] = [a["signal.id"], b["signal.id"]]
    records = assemble([a, b, corr], inv)
    assert len(records) == 1
    assert records[0]["incident.signal_count"] == 3
    assert records[0]["incident.signals"][-1]["vigie.correlation.type"] == "temporal_ordered"
    assert {p["name"] for p in records[0]["incident.score_parts"]} >= {"correlations", "service-accounts"}


def test_merge_keeps_the_first_detected_id_and_emits_the_other_as_merged(inv):
    web = [signal("web-tool", 0, source_ip=TOR_EXIT)]
    vpn = [signal("vpn-abroad", 30, source_ip=ATTACKER, user_name="nlouis2")]
    both = [signal("web-shell", 60, source_ip=ATTACKER)]  # same site as the Tor scan, same address as the VPN
    assembler = Assembler(inv)
    assembler.add_all(web + vpn)
    first = assembler.flush()
    assert [r["incident.status"] for r in first] == ["new", "new"]
    web_id = next(r["incident.id"] for r in first if "web.apache_combined" in r["incident.datasets"])
    vpn_id = next(r["incident.id"] for r in first if r["incident.id"] != web_id)
    assembler.add_all(both)
    second = {r["incident.id"]: r for r in assembler.flush()}
    assert second[vpn_id]["incident.status"] == "merged"
    assert second[vpn_id]["incident.merged_into"] == web_id and second[vpn_id]["incident.revision"] == 2
    assert second[web_id]["incident.status"] == "updated" and second[web_id]["incident.merged_from"] == [vpn_id]
    assert second[web_id]["incident.signal_count"] == 3
    assert assembler.flush() == []  # nothing changed since
    assert assembler.open_incidents() == [web_id]


def test_duplicates_are_ignored_and_ids_are_deterministic(inv):
    rows = campaign()
    once = assemble(rows, inv)
    twice = assemble(rows + [dict(r) for r in rows[:10]], inv)
    assert once == twice
    assert all(r["incident.id"].startswith("inc-") and len(r["incident.id"]) == 28 for r in once)


def test_a_late_signal_is_assembled_and_counted(inv):
    assembler = Assembler(inv)
    assembler.add_all([signal("web-tool", 10, source_ip=TOR_EXIT), signal("web-tool", 20, source_ip=TOR_EXIT)])
    assembler.flush()
    assembler.add(signal("web-sqli", 5, source_ip=TOR_EXIT))
    record = assembler.flush()[0]
    assert record["incident.late_signals"] == 1 and record["incident.signal_count"] == 3
    assert record["incident.first_seen"] == "2026-11-27T17:05:00.000Z"
    assert assembler.late == 1


def test_memory_is_one_window_of_groups_and_retain_ms_of_ids(inv):
    assembler = Assembler(inv)
    assembler.add_all(campaign() + noise())
    assert assembler.groups
    end = max(to_ms(r["@timestamp"]) for r in campaign() + noise())
    assembler.advance(end + AssemblyPolicy().window_ms + 1)
    assert not assembler.groups and not assembler.owner and not assembler.partners
    # what a stream's recomputation needs to follow identities stays a while longer
    assert assembler.seen and assembler.closed and assembler.retain_ms == 2 * AssemblyPolicy().window_ms
    assembler.advance(end + assembler.retain_ms + 1)
    assert not (assembler.seen or assembler.forward or assembler.retired or assembler.closed)


def test_arrival_order_does_not_matter(inv):
    rows = campaign() + noise()
    expected = assemble(rows, inv)
    for seed in range(3):
        shuffled = list(rows)
        random.Random(seed).shuffle(shuffled)
        assert assemble(shuffled, inv) == expected


def release_in_chunks(rows, cuts, inv, order_seed, policy=AssemblyPolicy()):
    """What the Beam shell does: at each cut (a watermark), release the rows before it, in
    any arrival order, flush the revisions, advance; keep the latest revision per id."""
    assembler, out, pending = Assembler(inv, policy), [], list(rows)
    random.Random(order_seed).shuffle(pending)
    for cut in sorted(cuts) + [None]:
        due = [r for r in pending if cut is None or to_ms(r["@timestamp"]) < cut]
        pending = [r for r in pending if r not in due]
        assembler.add_all(due)
        out += assembler.flush()
        if cut is not None:
            assembler.advance(cut)
    return latest_revisions(out)


ACCOUNTS = ["cfernandez2", "nlouis2", "dg", "pmartin", "admin", None]
ADDRESSES = [ATTACKER, TOR_EXIT, "91.200.12.3", "162.142.125.7", "10.20.3.4", None]
RECIPIENTS = [VICTIM_MAILBOX, "p.martin@chu-exemple.fr", "x@gmail.com"]
RULE_KEYS = ["vpn-fail", "vpn-abroad", "vpn-night", "vpn-anonymizer", "lure", "dmarc", "web-probe",
             "web-sqli", "web-tool", "bulk"]

random_signal = st.builds(
    lambda rule, minute, user, address, to, n: signal(
        rule, minute, sid=f"sig-{n:04d}", source_ip=address, user_name=user,
        email_from_address=[PHISH_SENDER] if rule in ("lure", "dmarc") else None,
        email_to_address=[to] if rule in ("lure", "dmarc", "bulk") else None),
    st.sampled_from(RULE_KEYS), st.integers(0, 900), st.sampled_from(ACCOUNTS),
    st.sampled_from(ADDRESSES), st.sampled_from(RECIPIENTS), st.integers(0, 9999))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(random_signal, min_size=1, max_size=40, unique_by=lambda r: r["signal.id"]),
       cuts=st.lists(st.integers(0, 960), max_size=6), order_seed=st.integers(0, 1000))
def test_release_in_any_chunks_and_order_gives_the_same_incidents(inv, rows, cuts, order_seed):
    window = AssemblyPolicy(window_seconds=2 * 3600)  # short enough for incidents to close
    expected = [content(r) for r in assemble(rows, inv, window)]
    cut_ms = [to_ms(signal("dmarc", c)["@timestamp"]) for c in cuts]
    chunked = [content(r) for r in release_in_chunks(rows, cut_ms, inv, order_seed, window)]
    assert chunked == expected


def test_release_in_chunks_matches_on_the_scenario(inv):
    rows = campaign() + noise()
    expected = [content(r) for r in assemble(rows, inv)]
    cuts = [to_ms(signal("dmarc", m)["@timestamp"]) for m in range(0, 400, 7)]
    assert [content(r) for r in release_in_chunks(rows, cuts, inv, 5)] == expected
