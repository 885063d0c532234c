"""Stream assembly without Beam (pipelines/incidents/reassembly.py): whatever the release grid,
the arrival order, the batching and the lateness (within the horizon), the final incidents are
those of `assemble(all rows)`, ids and content; ids a late signal changed are closed into their
successor; revisions count up; rows beyond the horizon are assembled where they arrive and
counted; memory is bounded by the horizon."""
from __future__ import annotations

import dataclasses
import pickle
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from incident_rows import (ATTACKER, PHISH_SENDER, TOR_EXIT, VICTIM_MAILBOX, campaign, inventory,
                           noise, signal)
from pipelines.incidents.assembly import assemble, incident_id, latest_revisions
from pipelines.incidents.policy import AssemblyPolicy
from pipelines.incidents.reassembly import Reassembler, reassemble
from pipelines.incidents.times import to_ms

MINUTE = 60_000


@pytest.fixture(scope="module")
def inv(tmp_path_factory):
    return inventory(tmp_path_factory.mktemp("inventory"))


def content(record: dict) -> dict:
    """A record without its delivery bookkeeping (revision; new or updated)."""
    out = {k: v for k, v in record.items() if k not in ("incident.revision", "incident.status")}
    out["merged"] = record["incident.status"] == "merged"
    return out


def at(minute: float) -> int:
    return to_ms(signal("dmarc", minute)["@timestamp"])


def stream(rows, delays, step_ms, inv, policy=AssemblyPolicy(), seed=0, pickled=False):
    """What the Beam shell does: every `step_ms` of event time, release (in a random order) the
    rows that have arrived (time + delay) and are older than the release time; the engine goes
    through pickle between releases when asked. Returns every published record, in order."""
    rnd = random.Random(seed)
    arrival = {r["signal.id"]: to_ms(r["@timestamp"]) + delays.get(r["signal.id"], 0) for r in rows}
    pending = sorted(rows, key=lambda r: arrival[r["signal.id"]])
    engine, out = Reassembler(inv, policy), []
    now = (min(arrival.values()) // step_ms + 1) * step_ms
    while pending:
        due = [r for r in pending if arrival[r["signal.id"]] < now]
        pending = pending[len(due):]
        rnd.shuffle(due)
        out += engine.release(due, now)
        if pickled:
            engine = pickle.loads(pickle.dumps(engine)).attach(inv)
        now += step_ms
    out += engine.release([], engine.quiet_at() + 1)
    assert engine.empty
    return out


def assert_same_final_incidents(published: list[dict], expected: list[dict]) -> None:
    """The stream's latest revisions are the replay's (ids and content, merged ones included);
    any other id is closed ("merged") into an incident of the replay, or withdrawn (None)."""
    final = {r["incident.id"]: r for r in latest_revisions(published)}
    replay = {r["incident.id"]: r for r in expected}
    assert {i: content(final[i]) for i in replay if i in final} == {i: content(r) for i, r in replay.items()}
    for incident in set(final) - set(replay):
        assert final[incident]["incident.status"] == "merged", final[incident]["incident.title"]
        assert final[incident]["incident.merged_into"] in set(replay) | {None}
    # revisions of an id count up from 1, one at a time; the first is new (or merged)
    seen: dict[str, int] = {}
    for record in published:
        incident = record["incident.id"]
        assert record["incident.revision"] == seen.get(incident, 0) + 1
        assert (record["incident.status"] in ("new", "merged")) == (incident not in seen) or \
            record["incident.status"] == "merged"
        seen[incident] = record["incident.revision"]


ACCOUNTS = ["cfernandez2", "nlouis2", "dg", "pmartin", "admin", None]
ADDRESSES = [ATTACKER, TOR_EXIT, "91.200.12.3", "162.142.125.7", "10.20.3.4", None]
RECIPIENTS = [VICTIM_MAILBOX, "p.martin@chu-exemple.fr", "x@gmail.com"]
RULE_KEYS = ["vpn-fail", "vpn-abroad", "vpn-night", "vpn-anonymizer", "lure", "dmarc", "web-probe",
             "web-sqli", "web-tool", "bulk", "lookalike"]

random_signal = st.builds(
    lambda rule, minute, user, address, to, n: signal(
        rule, minute, sid=f"sig-{n:04d}", source_ip=address, user_name=user,
        email_from_address=[PHISH_SENDER] if rule in ("lure", "dmarc", "lookalike") else None,
        email_to_address=[to] if rule in ("lure", "dmarc", "bulk", "lookalike") else None),
    st.sampled_from(RULE_KEYS), st.integers(0, 900), st.sampled_from(ACCOUNTS),
    st.sampled_from(ADDRESSES), st.sampled_from(RECIPIENTS), st.integers(0, 9999))
WINDOW = AssemblyPolicy(window_seconds=2 * 3600)  # short enough for incidents to close


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(random_signal, min_size=1, max_size=40, unique_by=lambda r: r["signal.id"]),
       late=st.lists(st.integers(0, 115), max_size=40), step_minutes=st.sampled_from([1, 7, 60, 180]),
       seed=st.integers(0, 1000), pickled=st.booleans())
def test_any_release_grid_arrival_order_and_lateness_gives_the_replay_incidents(
        inv, rows, late, step_minutes, seed, pickled):
    # every row up to 115 minutes late (the horizon is the 2-hour window), in any order
    delays = {r["signal.id"]: d * MINUTE for r, d in zip(rows, late)}
    published = stream(rows, delays, step_minutes * MINUTE, inv, WINDOW, seed, pickled)
    assert_same_final_incidents(published, assemble(rows, inv, WINDOW))


@pytest.mark.parametrize("step_minutes", [1, 10, 60])
def test_the_scenario_with_its_mail_arriving_late(inv, step_minutes):
    # the stitched mail of the campaign arrives an hour and a half after its lines
    rows = campaign() + noise()
    delays = {r["signal.id"]: 90 * MINUTE for r in rows if r["event.dataset"] == "mail.postfix"}
    published = stream(rows, delays, step_minutes * MINUTE, inv)
    expected = assemble(rows, inv)
    assert_same_final_incidents(published, expected)
    assert len(published) > len(expected)  # revisions as the incident grew


def test_a_late_signal_that_changes_an_id_closes_the_old_one_into_the_new(inv):
    # the login from abroad opens an incident; the phishing that led to it (an hour earlier,
    # same account through the mailbox) arrives after it: in a replay the phishing is the
    # incident's first signal, and so gives the incident its id
    lure = signal("lure", 5, source_ip="91.200.12.3", email_from_address=[PHISH_SENDER],
                  email_to_address=[VICTIM_MAILBOX])
    login = signal("vpn-abroad", 70, source_ip=ATTACKER, user_name="cfernandez2")
    engine = Reassembler(inv)
    first = engine.release([login], at(71))
    assert [(r["incident.id"], r["incident.status"]) for r in first] == [(incident_id(login["signal.id"]), "new")]
    second = {r["incident.id"]: r for r in engine.release([lure], at(72))}
    new_id, old_id = incident_id(lure["signal.id"]), incident_id(login["signal.id"])
    assert second[new_id]["incident.status"] == "new" and second[new_id]["incident.signal_count"] == 2
    assert second[old_id]["incident.status"] == "merged" and second[old_id]["incident.revision"] == 2
    assert second[old_id]["incident.merged_into"] == new_id
    assert second[new_id]["incident.merged_from"] == []  # a function of the signals, as in a replay
    assert [content(r) for r in assemble([lure, login], inv)] == [content(second[new_id])]
    assert engine.recomputations == 1


def test_an_incident_whose_signals_no_longer_make_one_is_withdrawn(inv):
    # two medium findings of different tactics from one address open an incident; then the
    # earlier failures of 20 accounts from that address arrive: the address is shared (a hub),
    # links nothing, and neither finding opens an incident alone
    night = signal("vpn-night", 100, source_ip="45.9.9.9", user_name="nlouis2")
    anonymiser = signal("vpn-anonymizer", 101, source_ip="45.9.9.9", user_name="pmartin")
    failures = [signal("vpn-fail", 50 + i, source_ip="45.9.9.9", user_name=f"user{i}") for i in range(20)]
    assert assemble(failures + [night, anonymiser], inv) == []
    engine = Reassembler(inv)
    opened = engine.release([night, anonymiser], at(102))
    assert [r["incident.status"] for r in opened] == ["new"]
    closed = engine.release(failures, at(103))
    assert [(r["incident.id"], r["incident.status"], r["incident.merged_into"]) for r in closed] == [
        (opened[0]["incident.id"], "merged", None)]


def test_rows_beyond_the_horizon_are_assembled_where_they_arrive_and_counted(inv):
    # a 2-hour window, a 1-hour horizon; the scan's incident has closed when the shell access
    # from its address arrives, 146 minutes late: it opens an incident of its own, counted late
    scan = [signal("web-tool", m, source_ip=TOR_EXIT) for m in (0, 10, 20)]
    login = signal("vpn-abroad", 150, source_ip=ATTACKER, user_name="nlouis2")
    shell = signal("web-shell", 5, source_ip=TOR_EXIT)
    policy = dataclasses.replace(WINDOW, late_horizon_seconds=3600)
    engine = Reassembler(inv, policy)
    out = engine.release(scan, at(21)) + engine.release([login], at(151)) + engine.release([shell], at(152))
    final = latest_revisions(out)
    assert sorted((r["incident.signal_count"], r["incident.late_signals"]) for r in final) == [(1, 0), (1, 1), (3, 0)]
    assert engine.beyond_horizon == 1 and engine.recomputations == 0
    # with a 3-hour horizon it is re-assembled in its place, as a replay does
    policy = dataclasses.replace(WINDOW, late_horizon_seconds=3 * 3600)
    engine = Reassembler(inv, policy)
    out = engine.release(scan, at(21)) + engine.release([login], at(151)) + engine.release([shell], at(152))
    assert_same_final_incidents(out, assemble(scan + [shell, login], inv, policy))
    assert engine.beyond_horizon == 0 and engine.recomputations == 1


def test_duplicates_within_the_horizon_change_nothing(inv):
    # a retried bundle delivers signals again, the earliest of them 4 hours late
    rows = campaign()
    once = reassemble([(rows, at(250))], inv)
    again = reassemble([(rows, at(250)), ([dict(r) for r in rows[:10]], at(251))], inv)
    assert again == once


def test_one_release_is_the_replay(inv):
    rows = campaign() + noise()
    published = reassemble([(rows, at(10_000))], inv)
    assert published == assemble(rows, inv)  # revisions and statuses included


def test_memory_is_bounded_by_the_horizon(inv):
    # a day of background, a signal a minute: the log keeps one horizon and a checkpoint step
    policy = AssemblyPolicy()
    engine = Reassembler(inv, policy)
    horizon_minutes = policy.late_horizon_ms // MINUTE
    step_minutes = engine.checkpoint_ms // MINUTE
    for minute in range(24 * 60):
        engine.release([signal("vpn-fail", minute, source_ip=f"162.142.125.{minute % 200}",
                               user_name=f"guess{minute % 7}")], at(minute + 1))
        assert len(engine.log) <= horizon_minutes + step_minutes + 1
        assert len(engine.checkpoints) <= horizon_minutes // step_minutes + 2
    assert len(engine.assembler.seen) <= engine.retain_ms // MINUTE + 1
    engine.release([], engine.quiet_at() + 1)
    assert engine.empty
