"""Column-wise stitching gives the events of the per-row stitching it replaced, whatever the split.

The reference is the per-row code of the previous version (tests/stitch_reference.py). Inputs:
random fragments that exercise every rule (keys cut into several messages by the gap, rotated
files, nulls, empty lists, repeats, per-attempt lists, failure reasons, directions, non-mail
modules, several lines per fragment) and the fragments the parsers make of the hospital
scenario's Postfix and Exim logs. The new raw-bytes rule has a test of its own.
"""
from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import stitch_reference as reference
from pipelines.parsing.base import STITCH_KEY
from pipelines.parsing.stitch import (concat_fragments, rows_to_table, shard_fragments, stitch_closed,
                                      stitch_fragments)

UTC = dt.timezone.utc
GAP = 600
START = dt.datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
SORT = [("@timestamp", "ascending"), ("event.id", "ascending")]
# The per-row code kept the first raw value; the new rule joins them (tested on its own below).
NOT_COMPARED = ("vigie.line.raw",)


def reference_stitch(table: pa.Table, gap: float) -> pa.Table:
    """The per-row stitching: rows grouped by key, cut at gaps in event time, merged one by one."""
    by_key: dict[str, list[dict]] = {}
    for key, row in reference.fragments_to_rows(table):
        by_key.setdefault(key, []).append(row)
    messages = []
    for key, rows in by_key.items():
        rows.sort(key=lambda r: r["@timestamp"])
        run = [rows[0]]
        for row in rows[1:]:
            if (row["@timestamp"] - run[-1]["@timestamp"]).total_seconds() >= gap:
                messages.append(reference.stitch_message(run, key))
                run = []
            run.append(row)
        messages.append(reference.stitch_message(run, key))
    return reference.rows_to_table(messages).sort_by(SORT)


def comparable(table: pa.Table) -> pa.Table:
    return table.drop_columns([c for c in NOT_COMPARED if c in table.column_names])


def assert_same_events(expected: pa.Table, actual: pa.Table) -> None:
    expected, actual = comparable(expected), comparable(actual)
    assert actual.schema == expected.schema
    for name in expected.column_names:
        assert actual.column(name).to_pylist() == expected.column(name).to_pylist(), name


def random_fragments(rng: random.Random, messages: int = 60) -> pa.Table:
    """Fragments of `messages` keys with every kind of value the merge rules treat apart."""
    relays = ["none", "local", "mx[10.0.0.5]:25", "gmail[142.250.1.27]:25", "mx1[private/dovecot-lmtp]",
              "", "[fd00::25]:25", "[2001:db8::1]:25", "dovecot_lmtp"]
    statuses = ["sent", "deferred", "bounced", "rejected", "expired", "suppressed"]
    people = ["a@chu.example.fr", "b@chu.example.fr", "x@example.net", "y@example.org"]
    rows, offsets = [], {"/var/log/mail.log.1": 50_000, "/var/log/mail.log": 0}
    for m in range(messages):
        key = f"mx{rng.randint(1, 2)}/Q{m:05d}"
        t = START + dt.timedelta(seconds=rng.randint(0, 7200), milliseconds=rng.randint(0, 999))
        module = "mail" if rng.random() < 0.9 else "vpn"
        for _ in range(rng.randint(1, 9)):
            t += dt.timedelta(seconds=rng.choice([0, 0, 1, 5, 60, 300, GAP - 1, GAP, GAP + 30]))
            path = rng.choice(list(offsets))
            offsets[path] += rng.randint(1, 300)
            row = {"@timestamp": t, "event.id": f"{'ab' * 8}{offsets[path]:016x}", STITCH_KEY: key,
                   "event.kind": "event", "event.module": module, "event.dataset": f"{module}.test",
                   "log.file.path": path, "log.offset": offsets[path],
                   "event.original": rng.choice([f"line {offsets[path]}", None, ""]),
                   "vigie.lines": rng.choice([1, 1, 1, 2, None])}
            if rng.random() < 0.5:
                row["email.to.address"] = rng.choice([[], rng.sample(people, rng.randint(1, 3))])
            if rng.random() < 0.3:
                row["email.from.address"] = [rng.choice(people)]
            if rng.random() < 0.5:
                n = rng.randint(1, 2)
                row["vigie.mail.status"] = [rng.choice(statuses) for _ in range(n)]
                row["vigie.mail.relay"] = [rng.choice(relays) for _ in range(n)]
                row["event.reason"] = rng.choice([None, "", "250 ok", "550 no such user", "timed out"])
            if rng.random() < 0.4:
                row["related.ip"] = rng.sample(["10.0.0.5", "203.0.113.7", "198.51.100.2"], rng.randint(0, 2))
            for name, values in (("email.direction", [None, "", "inbound", "outbound", "outbound"]),
                                 ("email.local_id", [None, "", f"Q{m:05d}"]),
                                 ("event.action", [None, "client", "delivery"]),
                                 ("event.outcome", [None, "success", "failure"]),
                                 ("vigie.mail.size", [None, 10, 2000]),
                                 ("source.ip", [None, "203.0.113.7"]),
                                 ("event.category", [None, ["email"], ["email", "network"]]),
                                 ("vigie.line.invalid_utf8", [None, None, None, True])):
                if rng.random() < 0.4:
                    row[name] = rng.choice(values)
            rows.append(row)
    rng.shuffle(rows)
    table = rows_to_table(rows)
    return table.append_column(STITCH_KEY, pa.array([r[STITCH_KEY] for r in rows], pa.string()))


def random_split(table: pa.Table, rng: random.Random) -> list[pa.Table]:
    """The rows shuffled and cut into a random number of tables."""
    order = np.array(rng.sample(range(table.num_rows), table.num_rows), dtype=np.int64)
    cuts = sorted(rng.sample(range(1, table.num_rows), min(rng.randint(0, 6), table.num_rows - 1)))
    return [table.take(pa.array(part)) for part in np.split(order, cuts)]


@pytest.mark.parametrize("seed", range(12))
def test_random_fragments_give_the_events_of_the_per_row_stitching(seed: int):
    rng = random.Random(seed)
    table = random_fragments(rng)
    expected = reference_stitch(table, GAP)
    assert_same_events(expected, stitch_fragments(table, GAP))
    assert_same_events(expected, stitch_fragments(random_split(table, rng), GAP))


@pytest.mark.parametrize("seed", range(6))
def test_shards_and_watermark_cuts_give_the_same_events(seed: int):
    """Rows spread over shards (tables of a split pruned apart, as they cross the shuffle), and
    emitted as a watermark advances: the same messages."""
    rng = random.Random(100 + seed)
    table = random_fragments(rng, messages=40)
    expected = stitch_fragments(table, GAP)
    shards: dict[int, list[pa.Table]] = {}
    for part in random_split(table, rng):
        for shard, rows in shard_fragments(part, 4):
            shards.setdefault(shard, []).append(rows)
    by_shard = [stitch_fragments(tables, GAP) for tables in shards.values()]
    assert concat_fragments(by_shard).sort_by(SORT).equals(expected)
    # Rows arrive in time order; the watermark follows them: no row is late.
    stamps = pc.cast(table.column("@timestamp"), pa.int64()).to_numpy()
    bounds = sorted(rng.sample(stamps.tolist(), 8)) + [int(stamps.max()) + GAP * 1000]
    emitted, pending, fed = [], table.slice(0, 0), np.zeros(table.num_rows, dtype=bool)
    for until in bounds:
        arriving = (stamps <= until) & ~fed
        fed |= arriving
        done, pending, next_close = stitch_closed([pending, table.filter(pa.array(arriving))], GAP, until)
        emitted.append(done)
        assert (next_close is None) == (pending.num_rows == 0)
        assert next_close is None or next_close > until
    assert fed.all() and pending.num_rows == 0
    assert concat_fragments(emitted).sort_by(SORT).equals(expected)


def test_raw_bytes_of_a_message_with_a_line_that_was_not_utf8():
    rows = [{"@timestamp": START, "event.id": "a" * 32, "event.module": "mail", "log.file.path": "/m",
             "log.offset": 0, "event.original": "first line", "vigie.lines": 1},
            {"@timestamp": START, "event.id": "b" * 32, "event.module": "mail", "log.file.path": "/m",
             "log.offset": 11, "event.original": "caf\\xe9 line", "vigie.lines": 1,
             "vigie.line.raw": b"caf\xe9 line", "vigie.line.invalid_utf8": True},
            {"@timestamp": START, "event.id": "c" * 32, "event.module": "mail", "log.file.path": "/m",
             "log.offset": 21, "event.original": "d\u00e9j\u00e0 vu", "vigie.lines": 1},
            {"@timestamp": START, "event.id": "d" * 32, "event.module": "mail", "log.file.path": "/m",
             "log.offset": 40, "event.original": "other message", "vigie.lines": 1}]
    table = rows_to_table(rows).append_column(STITCH_KEY, pa.array(["mx/A"] * 3 + ["mx/B"]))
    events = {e["log.offset"]: e for e in stitch_fragments(table, GAP).to_pylist()}
    assert events[0]["vigie.line.invalid_utf8"] is True
    assert events[0]["vigie.line.raw"] == b"first line\ncaf\xe9 line\nd\xc3\xa9j\xc3\xa0 vu"
    assert events[0]["event.original"] == "first line\ncaf\\xe9 line\nd\u00e9j\u00e0 vu"
    assert events[40]["vigie.line.invalid_utf8"] is None and events[40]["vigie.line.raw"] is None


@pytest.fixture(scope="module")
def scenario_fragments(tmp_path_factory) -> pa.Table:
    """The fragments of the hospital scenario's mail logs (Postfix gateway, Exim relay)."""
    from pipelines.scenario.chu import generate_chu
    from pipelines.sources.ingest import ReadSettings, parse_slice
    from pipelines.sources.plan import plan_inputs

    folder = tmp_path_factory.mktemp("chu")
    generate_chu(folder, events=6_000, seed=3)
    slices = [s for s in plan_inputs([str(folder)], None, 64 * 1024 * 1024).slices if s.family == "mail"]
    tables = [out.fragments for piece in slices
              for out in parse_slice(piece, ReadSettings(timezone="Europe/Paris"))
              if out.fragments is not None and out.fragments.num_rows]
    assert len(tables) >= 2
    return concat_fragments(tables)


def test_scenario_mail_gives_the_events_of_the_per_row_stitching(scenario_fragments: pa.Table):
    datasets = set(scenario_fragments.column("event.dataset").to_pylist())
    assert datasets == {"mail.postfix", "mail.exim"}
    expected = reference_stitch(scenario_fragments, 3600)
    assert expected.num_rows > 100
    assert_same_events(expected, stitch_fragments(scenario_fragments, 3600))
    rng = random.Random(9)
    assert_same_events(expected, stitch_fragments(random_split(scenario_fragments, rng), 3600))


def test_scenario_mail_through_shards_gives_the_same_events(scenario_fragments: pa.Table):
    """Mail-only tables cross the shuffle without the columns the mail rules replace."""
    shards: dict[int, list[pa.Table]] = {}
    for part in random_split(scenario_fragments, random.Random(11)):
        for shard, rows in shard_fragments(part, 8):
            assert "message" not in rows.column_names and "url.original" not in rows.column_names
            shards.setdefault(shard, []).append(rows)
    stitched = concat_fragments([stitch_fragments(tables, 3600) for tables in shards.values()])
    assert stitched.sort_by(SORT).equals(stitch_fragments(scenario_fragments, 3600))
