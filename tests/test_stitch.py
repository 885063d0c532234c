"""Stitching fragments into one event: generic merge rules, mail rules, table round trips."""
from __future__ import annotations

import datetime as dt
import hashlib
import random

import pyarrow as pa
import pytest

from pipelines.parsing.base import STITCH_KEY
from pipelines.parsing.stitch import (
    fragments_to_rows, mail_direction, mail_outcome, relay_is_internal, rows_to_table,
    stitch_key_of, stitch_message,
)
from pipelines.schema import event_schema

UTC = dt.timezone.utc
KEY = "mx1/4F3A21C0042"


def fragment(offset: int, second: int, path: str = "/var/log/mail.log", **fields) -> dict:
    """A fragment row with the columns every parser sets, plus `fields`."""
    row = {
        "@timestamp": dt.datetime(2026, 11, 27, 18, 2, second, tzinfo=UTC),
        "event.id": f"{'0' * 16}{offset:016x}",
        "event.kind": "event",
        "event.module": "mail",
        "event.dataset": "mail.postfix",
        "event.original": f"line at {offset}",
        "log.file.path": path,
        "log.offset": offset,
        "vigie.lines": 1,
    }
    row.update(fields)
    return row


MESSAGE = [
    fragment(100, 11, **{"event.action": "client", "source.ip": "203.0.113.7", "email.direction": "inbound",
                         "related.ip": ["203.0.113.7"], "event.category": ["email"]}),
    fragment(200, 11, **{"event.action": "message-id", "email.message_id": "a@b", "event.category": ["email"]}),
    fragment(300, 12, **{"email.from.address": ["x@example.net"], "vigie.mail.size": 10,
                         "event.category": ["email"]}),
    fragment(400, 13, **{"email.to.address": ["a@chu.example.fr"], "vigie.mail.status": ["deferred"],
                         "vigie.mail.relay": ["none"], "event.reason": "connection timed out",
                         "event.outcome": "unknown", "related.ip": ["203.0.113.7"]}),
    fragment(500, 14, **{"email.to.address": ["a@chu.example.fr"], "vigie.mail.status": ["deferred"],
                         "vigie.mail.relay": ["none"], "event.reason": "connection timed out"}),
    fragment(600, 15, **{"email.to.address": ["a@chu.example.fr"], "vigie.mail.status": ["sent"],
                         "vigie.mail.relay": ["mx[10.0.0.5]:25"], "event.reason": "250 ok",
                         "destination.ip": "10.0.0.5", "related.ip": ["10.0.0.5"]}),
    fragment(700, 15, **{"email.to.address": ["b@chu.example.fr"], "vigie.mail.status": ["bounced"],
                         "vigie.mail.relay": ["mx[10.0.0.5]:25"], "event.reason": "550 no such user"}),
]


def test_merge_rules():
    msg = stitch_message(MESSAGE, KEY)
    assert msg["@timestamp"] == dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC)
    assert msg["event.original"] == "\n".join(f"line at {o}" for o in range(100, 800, 100))
    assert (msg["log.offset"], msg["log.file.path"], msg["vigie.lines"]) == (100, "/var/log/mail.log", 7)
    # address lists without repeats, per-attempt lists with them
    assert msg["email.to.address"] == ["a@chu.example.fr", "b@chu.example.fr"]
    assert msg["related.ip"] == ["203.0.113.7", "10.0.0.5"]
    assert msg["event.category"] == ["email"]
    assert msg["vigie.mail.status"] == ["deferred", "deferred", "sent", "bounced"]
    assert msg["vigie.mail.relay"] == ["none", "none", "mx[10.0.0.5]:25", "mx[10.0.0.5]:25"]
    # scalars: first non-null in order
    assert (msg["email.message_id"], msg["vigie.mail.size"], msg["destination.ip"]) == ("a@b", 10, "10.0.0.5")
    # mail rules
    assert msg["event.action"] == "message"
    assert msg["event.outcome"] == "failure"
    assert msg["event.reason"] == "550 no such user"
    assert msg["email.direction"] == "inbound"
    assert msg["event.kind"] == "event"
    assert STITCH_KEY not in msg


def test_event_id_is_deterministic_and_independent_of_input_order():
    shuffled = MESSAGE[:]
    random.Random(7).shuffle(shuffled)
    first_id = MESSAGE[0]["event.id"]
    expected = hashlib.blake2b(f"{KEY}\x00{first_id}".encode(), digest_size=16).hexdigest()
    assert stitch_message(shuffled, KEY) == stitch_message(MESSAGE, KEY)
    assert stitch_message(MESSAGE, KEY)["event.id"] == expected
    assert stitch_message(MESSAGE, "mx2/4F3A21C0042")["event.id"] != expected


def test_key_read_from_the_rows_when_not_given():
    rows = [dict(r, **{STITCH_KEY: KEY}) for r in MESSAGE]
    assert stitch_key_of(rows[0]) == KEY
    assert stitch_message(rows)["event.id"] == stitch_message(MESSAGE, KEY)["event.id"]
    assert STITCH_KEY not in stitch_message(rows)


def test_message_across_a_rotated_file_is_ordered_by_file_then_offset():
    # the message starts near the end of mail.log.1 and ends at the start of mail.log
    old = [fragment(9_000, 58, "/var/log/mail.log.1", **{"event.action": "client"}),
           fragment(9_100, 59, "/var/log/mail.log.1")]
    new = [fragment(0, 59, "/var/log/mail.log", **{"vigie.mail.status": ["sent"]}),
           fragment(120, 59, "/var/log/mail.log")]
    msg = stitch_message(new + old, KEY)
    assert msg["event.original"] == "line at 9000\nline at 9100\nline at 0\nline at 120"
    assert (msg["log.file.path"], msg["log.offset"]) == ("/var/log/mail.log.1", 9_000)
    assert msg["vigie.lines"] == 4


def test_a_fragment_carrying_several_lines_counts_them():
    msg = stitch_message([fragment(0, 1, **{"vigie.lines": 3}), fragment(10, 2)], KEY)
    assert msg["vigie.lines"] == 4


def test_non_mail_fragments_use_the_generic_rules_only():
    rows = [fragment(0, 1, **{"event.module": "vpn", "event.action": "login", "event.outcome": "success"}),
            fragment(10, 2, **{"event.module": "vpn", "event.action": "logout", "event.outcome": "failure"})]
    msg = stitch_message(rows, "gw/42")
    assert (msg["event.action"], msg["event.outcome"], msg.get("message")) == ("login", "success", None)


def test_no_fragments_is_a_programming_error():
    with pytest.raises(ValueError):
        stitch_message([], KEY)


@pytest.mark.parametrize("statuses, outcome", [
    ([], "unknown"),
    (["deferred"], "unknown"),
    (["deferred", "sent"], "success"),
    (["sent", "bounced"], "failure"),
    (["rejected"], "failure"),
    (["deferred", "expired"], "failure"),
    (["suppressed"], "unknown"),
])
def test_mail_outcome(statuses, outcome):
    assert mail_outcome(statuses) == outcome


@pytest.mark.parametrize("relay, internal", [
    ("gmail-smtp-in.l.google.com[142.250.1.27]:25", False),
    ("mx.chu.example.fr[10.0.0.5]:25", True),
    ("127.0.0.1[127.0.0.1]:10024", True),
    ("mx1.chu.example.fr[private/dovecot-lmtp]", True),
    ("[2a00:1450:4007:80c::201b]:25", False),  # documentation addresses (2001:db8::/32) are reserved: internal
    ("[fd00::25]:25", True),
    ("local", True),
    ("dovecot_lmtp", True),
    ("none", None),
    ("", None),
])
def test_relay_is_internal(relay, internal):
    assert relay_is_internal(relay) is internal


@pytest.mark.parametrize("origin, relays, direction", [
    ("inbound", ["local"], "inbound"),
    ("outbound", ["local", "mx[10.0.0.5]:25"], "internal"),
    ("outbound", ["local", "gmail[142.250.1.27]:25"], "outbound"),
    ("outbound", ["none"], "outbound"),
    ("outbound", [], "outbound"),
    (None, ["local"], "unknown"),
])
def test_mail_direction(origin, relays, direction):
    assert mail_direction(origin, relays) == direction


def test_table_round_trip():
    rows = [dict(r, **{STITCH_KEY: KEY if i < 4 else "mx1/OTHER"}) for i, r in enumerate(MESSAGE)]
    table = rows_to_table(MESSAGE).append_column(STITCH_KEY, pa.array([r[STITCH_KEY] for r in rows]))
    pairs = fragments_to_rows(table)
    assert [k for k, _ in pairs] == [KEY] * 4 + ["mx1/OTHER"] * 3
    assert all(STITCH_KEY not in row and set(row) <= set(event_schema().names) for _, row in pairs)
    assert "url.original" not in pairs[0][1]  # null in every row: left out
    by_key: dict[str, list[dict]] = {}
    for key, row in pairs:
        by_key.setdefault(key, []).append(row)
    stitched = rows_to_table(stitch_message(group, key) for key, group in by_key.items())
    assert stitched.schema == event_schema()
    assert stitched.num_rows == 2
    assert stitched.column("vigie.lines").to_pylist() == [4, 3]


def test_rows_to_table_drops_columns_outside_the_schema():
    table = rows_to_table([dict(MESSAGE[0], **{STITCH_KEY: KEY, "not.a.field": 1})])
    assert table.schema == event_schema() and table.num_rows == 1


def _sessions_one_by_one(times: list[float], gap: float) -> list[list[float]]:
    """Reference: merge the windows [t, t + gap) of every time, as Beam's Sessions does."""
    groups: list[list[float]] = []
    for t in sorted(times):
        if groups and t < groups[-1][-1] + gap:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


def test_session_runs_group_like_one_session_window_per_row():
    import datetime as dt
    import random

    from pipelines.parsing.stitch import session_runs

    rng = random.Random(5)
    gap = 100.0
    for _ in range(300):
        times = [float(rng.choice([rng.randint(0, 1000), rng.randint(0, 60)])) for _ in range(rng.randint(1, 12))]
        rows = [("k", {"@timestamp": dt.datetime.fromtimestamp(t, dt.timezone.utc), "n": i})
                for i, t in enumerate(times)]
        # Split the rows between two batches, as a slice boundary would, then merge every
        # marker's window like Beam: the groups must equal the one-window-per-row groups.
        cut = rng.randint(0, len(rows))
        windows = []
        for part in (rows[:cut], rows[cut:]):
            for _, markers, run in session_runs(part, gap):
                assert all(b - a < gap for a, b in zip(markers, markers[1:]))
                assert markers[0] == min(r["@timestamp"].timestamp() for r in run)
                assert markers[-1] == max(r["@timestamp"].timestamp() for r in run)
                windows.append((markers, [r["@timestamp"].timestamp() for r in run]))
        merged: list[tuple[float, float, list[float]]] = []
        for markers, run_times in sorted(windows):
            start, end = markers[0], markers[-1] + gap
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2] + run_times)
            else:
                merged.append((start, end, list(run_times)))
        assert [sorted(g) for _, _, g in merged] == _sessions_one_by_one(times, gap)
