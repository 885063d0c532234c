"""Inputs that share lines are read once: snapshot + growth, a file + its .gz copy, the same file
twice, and two files that start alike then depart (sources/duplicates.py, sources/plan.py)."""
from __future__ import annotations

import gzip
import random
from pathlib import Path

from pipelines.sources.plan import plan_inputs

LINE = ('203.0.113.{a} - - [27/Nov/2026:19:{m:02d}:{s:02d} +0100] "GET /page/{n}?q={r} HTTP/1.1" '
        '200 {n} "-" "Mozilla/5.0 (X11; Linux x86_64)"\n')


def lines(count: int, seed: int = 1, start: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [LINE.format(a=i % 250, m=(i // 60) % 60, s=i % 60, n=i, r=rng.randrange(10**6))
            for i in range(start, start + count)]


def by_path(plan) -> dict[str, object]:
    return {Path(f.path).name: f for f in plan.files}


def test_snapshot_and_growth_keep_every_distinct_line_once(tmp_path: Path):
    day2 = lines(7119)
    (tmp_path / "day1.log").write_text("".join(day2[:400]))  # > 64 KiB: same head as day 2
    (tmp_path / "day2.log").write_text("".join(day2))
    plan = plan_inputs([str(tmp_path)], None, 1 << 30)
    files = by_path(plan)
    assert files["day1.log"].overlap.lines == 400 and files["day1.log"].read_from == -1
    assert files["day2.log"].overlap is None
    assert [Path(s.path).name for s in plan.slices] == ["day2.log"]


def test_a_small_snapshot_whose_head_is_shorter_is_still_found(tmp_path: Path):
    day2 = lines(2000)
    (tmp_path / "a-snapshot.log").write_text("".join(day2[:50]))  # a few KiB only
    (tmp_path / "b-full.log").write_text("".join(day2))
    files = by_path(plan_inputs([str(tmp_path)], None, 1 << 30))
    assert files["a-snapshot.log"].overlap.lines == 50
    assert files["a-snapshot.log"].overlap.of_path.endswith("b-full.log")


def test_a_file_and_its_gzip_copy_are_read_once_the_plain_one(tmp_path: Path):
    text = "".join(lines(3000))
    (tmp_path / "access.log").write_text(text)
    (tmp_path / "access.log.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "copy-of-access.log").write_text(text)
    plan = plan_inputs([str(tmp_path)], None, 1 << 30)
    files = by_path(plan)
    assert [Path(s.path).name for s in plan.slices] == ["access.log"]
    assert files["access.log.gz"].overlap.lines == files["copy-of-access.log"].overlap.lines == 3000


def test_files_that_start_alike_then_depart_get_distinct_keys(tmp_path: Path):
    common = lines(1000)  # well over 64 KiB: both heads are equal
    (tmp_path / "a.log").write_text("".join(common + lines(300, seed=2, start=1000)))
    (tmp_path / "b.log").write_text("".join(common + lines(200, seed=3, start=1000)))
    plan = plan_inputs([str(tmp_path)], None, 1 << 30)
    files = by_path(plan)
    assert files["a.log"].overlap is None  # the longer one is read whole
    b = files["b.log"]
    assert b.overlap.lines == 1000 and b.read_from == len("".join(common).encode())
    assert b.file_key != files["a.log"].file_key
    assert {Path(s.path).name: s.start for s in plan.slices} == {"a.log": 0, "b.log": b.read_from}
