"""What a restarted stream does before it starts (pipelines/sources/resume.py), without Kafka:
where each partition is rewound to, which rows an earlier run already wrote of the records read
again, and how they are left out; incident revisions numbered after the earlier run's."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.sources.resume import (RewindReport, WrittenIds, continued_revision, plan_rewind,
                                      start_offsets, without_written, written_ids)


def test_rewind_goes_back_from_the_earliest_partition_and_never_forward():
    committed = {("t", 0): 100, ("t", 1): 50}
    last = {("t", 0): 10_000, ("t", 1): 4_000}
    asked = []

    def offsets_at(since):
        asked.append(since)
        return {("t", 0): 80, ("t", 1): 60}  # partition 1's target is past its commit

    moved, since = plan_rewind(committed, last, offsets_at, rewind_ms=1_000)
    assert asked == [3_000] and since == 3_000
    assert moved == {("t", 0): 80}


def test_start_offsets_are_rewound_else_committed():
    report = RewindReport(moved={("t", 0): (100, 80)}, committed={("t", 0): 100, ("t", 1): 50})
    assert start_offsets(report) == {("t", 0): 80, ("t", 1): 50}


def _events(ids, topic, partitions, offsets):
    return pa.table({"event.id": ids, "vigie.stream.topic": topic, "vigie.stream.partition": partitions,
                     "vigie.stream.offset": offsets})


def test_written_ids_are_those_at_or_after_the_start_offsets(tmp_path):
    folder = tmp_path / "events" / "dataset=web.apache_combined" / "date=2026-11-27"
    folder.mkdir(parents=True)
    pq.write_table(_events(["a", "b", "c", "d", "e"], ["t", "t", "t", "t", "other"], [0, 0, 1, 1, 0],
                           [5, 9, 0, 3, 100]), folder / "events-1.parquet")
    pq.write_table(_events(["f"], [None], [None], [None]), folder / "events-2.parquet")  # from a file
    (tmp_path / "deadletter").mkdir()
    pq.write_table(pa.table({"id": ["x", "y"], "origin.topic": ["t", "t"], "origin.partition": [0, 2],
                             "origin.offset": [4, 7]}), tmp_path / "deadletter" / "dl-1.parquet")
    # partition 0 restarts at 9, partition 1 was never committed (0), partition 2 at 8
    found = written_ids(tmp_path, ["t"], {("t", 0): 9, ("t", 2): 8})
    assert found.events == {"b", "c", "d"}
    assert found.dead_letters == set()
    assert written_ids(tmp_path, ["t"], {("t", 0): 0, ("t", 2): 0}).dead_letters == {"x", "y"}


def test_written_ids_of_an_empty_folder(tmp_path):
    assert not written_ids(tmp_path, ["t"], {})
    assert not WrittenIds()


def test_without_written_keeps_the_name_and_the_other_rows():
    table = pa.table({"event.id": ["a", "b", "c"], "n": [1, 2, 3]})
    name, kept = without_written(("events-abc", table), frozenset({"b"}), "event.id")
    assert name == "events-abc" and kept["event.id"].to_pylist() == ["a", "c"]
    assert without_written(("e", table), frozenset(), "event.id")[1] is table


def test_continued_revision_after_an_earlier_run():
    earlier = {"inc-1": (4, 10, "updated")}
    assert continued_revision({"incident.id": "inc-2", "incident.revision": 1}, earlier)["incident.revision"] == 1
    assert continued_revision({"incident.id": "inc-1", "incident.revision": 2, "incident.signal_count": 9,
                               "incident.status": "updated"}, earlier) is None
    grown = continued_revision({"incident.id": "inc-1", "incident.revision": 3, "incident.signal_count": 12,
                                "incident.status": "updated"}, earlier)
    assert grown["incident.revision"] == 7
