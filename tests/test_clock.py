"""Repeated local times at the end of daylight saving are settled per file, in file order, the
same for every batch and slice size (parsing/clock.py, sources/plan.py)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings, strategies as st

from pipelines.parsing.clock import WallClock, settle_fall_back
from pipelines.parsing.base import parse_local
from pipelines.sources.ingest import ReadSettings, parse_slice
from pipelines.sources.plan import plan_inputs

UTC = dt.timezone.utc
PARIS = "Europe/Paris"
# Paris, 2026-10-25: 02:00-02:59 happens twice (CEST = UTC+2, then CET = UTC+1).
WALLS = ["01:50", "02:10", "02:50", "02:05", "02:55", "03:10"]
EXPECTED = [dt.datetime(2026, 10, 24, 23, 50, tzinfo=UTC), dt.datetime(2026, 10, 25, 0, 10, tzinfo=UTC),
            dt.datetime(2026, 10, 25, 0, 50, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, 5, tzinfo=UTC),
            dt.datetime(2026, 10, 25, 1, 55, tzinfo=UTC), dt.datetime(2026, 10, 25, 2, 10, tzinfo=UTC)]


def local_table(walls: list[str], first_offset: int = 0) -> pa.Table:
    stamps = parse_local(pa.array([f"2026-10-25 {w}:00" for w in walls]), "%Y-%m-%d %H:%M:%S", PARIS)
    return pa.table({"@timestamp": stamps, "event.timezone": [PARIS] * len(walls),
                     "log.offset": pa.array(range(first_offset, first_offset + len(walls)), pa.int64())})


def test_second_pass_is_read_as_the_second_occurrence_even_after_a_later_first_pass_time():
    [settled] = settle_fall_back([local_table(WALLS)], WallClock())
    assert settled["@timestamp"].to_pylist() == EXPECTED  # 02:55 after 02:50: still the second pass


def test_the_clock_carries_the_decision_across_batches_and_tables():
    clock = WallClock()
    got = []
    for part in range(len(WALLS)):  # one line per batch, alternating events and fragments
        tables = [None, local_table(WALLS[part:part + 1], part)] if part % 2 else [local_table(WALLS[part:part + 1], part), None]
        got += [t for t in settle_fall_back(tables, clock) if t is not None][0]["@timestamp"].to_pylist()
    assert got == EXPECTED


def test_rows_read_with_their_own_offset_are_left_alone():
    table = local_table(WALLS).set_column(1, "event.timezone", pa.nulls(len(WALLS), pa.string()))
    [settled] = settle_fall_back([table], WallClock())
    assert settled["@timestamp"].equals(table["@timestamp"])


ASA = "Oct 25 {wall}:{sec:02d} fw1 %ASA-6-113004: AAA user authentication Successful : server = 10.0.0.1 : user = u{n}\n"


def clock_change_log(path: Path, per_minute: int) -> list[dt.datetime]:
    """A firewall log crossing the fall-back hour in file order; returns each line's true time."""
    lines, truth = [], []
    start = dt.datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 01:30 CEST
    for minute in range(0, 120, max(1, 60 // per_minute)):  # 01:30 CEST .. 02:29 CET
        when = start + dt.timedelta(minutes=minute)
        wall = when.astimezone(dt.timezone(dt.timedelta(hours=2 if when < dt.datetime(2026, 10, 25, 1, tzinfo=UTC) else 1)))
        lines.append(ASA.format(wall=wall.strftime("%H:%M"), sec=0, n=minute))
        truth.append(when)
    path.write_text("".join(lines))
    return truth


def read_times(path: Path, split_bytes: int, batch_bytes: int) -> list[dt.datetime]:
    plan = plan_inputs([str(path)], None, split_bytes, dt.datetime(2026, 11, 1, tzinfo=UTC), PARIS)
    rows = []
    for piece in plan.slices:
        for out in parse_slice(piece, ReadSettings(batch_bytes=batch_bytes, timezone=PARIS)):
            if out.events is not None:
                rows += out.events.select(["log.offset", "@timestamp"]).to_pylist()
    return [r["@timestamp"] for r in sorted(rows, key=lambda r: r["log.offset"])]


@settings(max_examples=25, deadline=None)
@given(split_bytes=st.integers(200, 20_000), batch_bytes=st.integers(120, 6_000),
       per_minute=st.sampled_from([1, 2, 6]))
def test_clock_change_file_gives_the_same_correct_times_for_every_batch_and_split_size(
        tmp_path_factory, split_bytes, batch_bytes, per_minute):
    path = tmp_path_factory.mktemp("dst") / "asa.log"
    truth = clock_change_log(path, per_minute)
    os.utime(path, (1_800_000_000, 1_800_000_000))
    assert read_times(path, split_bytes, batch_bytes) == truth


def test_a_file_crossing_the_clock_change_is_not_cut_into_slices(tmp_path: Path):
    path = tmp_path / "asa.log"
    clock_change_log(path, 6)
    plan = plan_inputs([str(path)], None, 500, dt.datetime(2026, 11, 1, tzinfo=UTC), PARIS)
    assert len(plan.slices) == 1
    assert len(plan_inputs([str(path)], None, 500, dt.datetime(2026, 11, 1, tzinfo=UTC), "UTC").slices) > 1
