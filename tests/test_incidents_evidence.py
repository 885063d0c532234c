"""Incident evidence resolves to raw lines: every pointer has event.id, log.file.path and
log.offset, including the events a multi-event signal rests on (impossible travel, correlation
results), whose lines come from vigie.evidence.log_paths / log_offsets (pure, no Beam)."""
from __future__ import annotations

import pytest

from incident_rows import ATTACKER, PHISH_SENDER, VICTIM_MAILBOX, inventory, signal
from pipelines.incidents.assembly import assemble
from pipelines.incidents.facts import evidence_pointers, signal_facts

VPN_LOG = "/logs/vpn/fortigate.log"


@pytest.fixture(scope="module")
def inv(tmp_path_factory):
    return inventory(tmp_path_factory.mktemp("inventory"))


def travel(minute: float, earlier: tuple[str, int], later: tuple[str, int], **lists) -> dict:
    """An impossible-travel signal as pipelines/correlation/travel.py writes it: the later
    login is its event, both logins are its evidence (lists overridable)."""
    row = signal("vpn-abroad", minute, source_ip=ATTACKER, user_name="cfernandez2",
                 event_id=later[0])
    row.update({"log.file.path": VPN_LOG, "log.offset": later[1],
                "vigie.evidence.event_ids": [earlier[0], later[0]],
                "vigie.evidence.log_paths": [VPN_LOG, VPN_LOG],
                "vigie.evidence.log_offsets": [earlier[1], later[1]]})
    row.update({f"vigie.evidence.{k}": v for k, v in lists.items()})
    return row


def pointers(record: dict) -> dict[str, tuple]:
    return {e["event.id"]: (e["log.file.path"], e["log.offset"], e["event.dataset"])
            for e in record["incident.evidence"]}


def assert_resolvable(records: list[dict]) -> None:
    for record in records:
        for entry in record["incident.evidence"]:
            assert entry["event.id"] and entry["log.file.path"] and entry["log.offset"] is not None, entry


# --- one signal row -> its evidence pointers ---------------------------------------------------

def test_pointers_come_from_the_parallel_lists():
    row = travel(70, ("login-a", 1200), ("login-b", 5400))
    assert evidence_pointers(row) == (("login-a", VPN_LOG, 1200), ("login-b", VPN_LOG, 5400))
    facts = signal_facts(row)
    assert facts.evidence_event_ids == ("login-a", "login-b")
    assert facts.evidence_origins == ((VPN_LOG, 1200), (VPN_LOG, 5400))


def test_lists_of_another_length_are_not_trusted_but_the_own_event_still_resolves():
    row = travel(70, ("login-a", 1200), ("login-b", 5400), log_paths=[VPN_LOG], log_offsets=[1200])
    assert evidence_pointers(row) == (("login-a", None, None), ("login-b", VPN_LOG, 5400))


def test_ids_only_the_own_event_resolves_from_the_row_and_ids_count_once():
    row = signal("vpn-abroad", 70, event_id="b")
    row.update({"log.offset": 99, "vigie.evidence.event_ids": ["a", "b", "a", " "]})
    assert evidence_pointers(row) == (("a", None, None), ("b", row["log.file.path"], 99))
    assert signal_facts(row).evidence_event_ids == ("a", "b")


def test_a_null_line_in_the_lists_falls_back_to_the_own_event():
    row = travel(70, ("login-a", 1200), ("login-b", 5400), log_paths=[VPN_LOG, None],
                 log_offsets=[1200, None])
    assert evidence_pointers(row)[1] == ("login-b", VPN_LOG, 5400)


def test_a_signal_without_evidence_lists_has_no_pointers():
    assert evidence_pointers(signal("lure", 5)) == ()


# --- assembled incidents ----------------------------------------------------------------------

def test_impossible_travel_points_at_both_logins(inv):
    phish = signal("lure", 5, source_ip="91.200.12.3", email_from_address=[PHISH_SENDER],
                   email_to_address=[VICTIM_MAILBOX])
    row = travel(70, ("login-a", 1200), ("login-b", 5400))
    (record,) = assemble([phish, row], inv)
    found = pointers(record)
    assert found["login-a"] == (VPN_LOG, 1200, "vpn.fortigate")
    assert found["login-b"] == (VPN_LOG, 5400, "vpn.fortigate")
    assert found[phish["event.id"]] == (phish["log.file.path"], phish["log.offset"], "mail.postfix")
    assert_resolvable([record])


def test_a_correlation_result_points_through_to_its_members_events(inv):
    a = signal("vpn-night", 10, source_ip="45.1.1.1", user_name="nlouis2")
    b = signal("vpn-anonymizer", 20, source_ip="46.2.2.2", user_name="svc-backup")
    # a member travel signal (not assembled itself): its earlier login is known only through
    # the result's lists
    corr = signal("brute-then-success", 25, event_id=b["event.id"])
    corr.update({"log.file.path": b["log.file.path"], "log.offset": b["log.offset"],
                 "vigie.correlation.signal_ids": [a["signal.id"], "travel-signal", b["signal.id"]],
                 "vigie.evidence.event_ids": [a["event.id"], "login-a", "login-b", b["event.id"]],
                 "vigie.evidence.log_paths": [a["log.file.path"], VPN_LOG, VPN_LOG, b["log.file.path"]],
                 "vigie.evidence.log_offsets": [a["log.offset"], 1200, 5400, b["log.offset"]]})
    (record,) = assemble([a, b, corr], inv)
    found = pointers(record)
    assert set(found) == {a["event.id"], b["event.id"], "login-a", "login-b"}
    assert found["login-a"] == (VPN_LOG, 1200, "vpn.fortigate")
    assert found["login-b"] == (VPN_LOG, 5400, "vpn.fortigate")
    assert found[a["event.id"]] == (a["log.file.path"], a["log.offset"], "vpn.fortigate")
    assert_resolvable([record])


def test_an_event_cited_without_its_line_takes_it_from_another_signal(inv):
    # an older stored signal cites login-a by id only; a later one gives its line
    older = travel(70, ("login-a", 1200), ("login-b", 5400), log_paths=None, log_offsets=None)
    later = travel(80, ("login-a", 1200), ("login-c", 7000))
    records = assemble([older, later], inv)
    assert len(records) == 1
    found = pointers(records[0])
    assert found["login-a"] == (VPN_LOG, 1200, "vpn.fortigate")
    assert_resolvable(records)


def test_an_event_no_signal_locates_keeps_its_id_and_a_null_line(inv):
    row = travel(70, ("login-a", 1200), ("login-b", 5400), log_paths=None, log_offsets=None)
    phish = signal("lure", 5, source_ip="91.200.12.3", email_from_address=[PHISH_SENDER],
                   email_to_address=[VICTIM_MAILBOX])
    (record,) = assemble([phish, row], inv)
    assert pointers(record)["login-a"] == (None, None, "vpn.fortigate")  # not invented
    assert pointers(record)["login-b"] == (VPN_LOG, 5400, "vpn.fortigate")


def test_evidence_does_not_depend_on_the_order_signals_come_in(inv):
    older = travel(70, ("login-a", 1200), ("login-b", 5400), log_paths=None, log_offsets=None)
    later = travel(80, ("login-a", 1200), ("login-c", 7000))
    assert assemble([older, later], inv) == assemble([later, older], inv)
