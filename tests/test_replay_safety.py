"""Nothing lost, nothing silent (issue "Nothing lost, nothing silent"): inputs that repeat each
other's lines, failed runs that must leave the earlier output as it was, inputs that cannot be
read as files, and what the console says about what was not read or not done."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from pipelines.commands import replay as replay_command
from test_replay import assert_balanced, run_cli, web_lines


def rows_in(folder: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in folder.rglob("*.parquet")) if folder.is_dir() else 0


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_snapshot_and_growth_keep_every_distinct_line_once(tmp_path: Path):
    day2 = [line + f" {i}" for i, line in enumerate(web_lines(7119))]
    logs = tmp_path / "case"
    logs.mkdir()
    (logs / "access.log.1-snapshot").write_text("\n".join(day2[:400]) + "\n")  # > 64 KiB
    (logs / "access.log").write_text("\n".join(day2) + "\n")
    out = tmp_path / "out"
    assert main(["replay", str(logs), "--out", str(out), "--no-detect"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert_balanced(summary)
    web = summary["datasets"]["web"]
    assert web["lines_read"] == 7519 and web["lines_duplicate"] == 400
    assert web["events"] == 7119 == rows_in(out / "events") == summary["written"]["events"]


def test_a_file_and_its_compressed_copy_are_read_once(tmp_path: Path):
    text = "\n".join(web_lines(3000)) + "\n"
    logs = tmp_path / "case"
    logs.mkdir()
    (logs / "access.log").write_text(text)
    (logs / "access.log.gz").write_bytes(gzip.compress(text.encode()))
    out = tmp_path / "out"
    assert main(["replay", str(logs), str(logs / "access.log"), "--out", str(out), "--no-detect"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["datasets"]["web"]["events"] == 3000 == rows_in(out / "events")
    assert summary["datasets"]["web"]["lines_duplicate"] == 3000


@pytest.fixture
def earlier_output(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "access.log").write_text("\n".join(web_lines(500)) + "\n")
    out = tmp_path / "case"
    assert main(["replay", str(logs), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("flags, message", [
    (["--runner", "NopeRunner"], "unknown --runner"),
    (["--travel-gap-hours", "0"], "--travel-gap-hours must be a positive number"),
    (["--batch-bytes", "lots"], "invalid int value"),
    (["--split-bytes"], "--split-bytes needs a value"),
    (["--timezone", "Mars/Olympus"], "unknown --timezone"),
    (["--rules", "EMPTY"], "no Sigma rule found"),
])
def test_a_refused_run_leaves_the_earlier_output_byte_identical(earlier_output: Path, tmp_path: Path,
                                                                 capsys, flags, message):
    before = tree_digest(earlier_output)
    (tmp_path / "EMPTY").mkdir()
    flags = [str(tmp_path / "EMPTY") if f == "EMPTY" else f for f in flags]
    code = main(["replay", str(tmp_path / "logs"), "--out", str(earlier_output), *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert tree_digest(earlier_output) == before


def test_a_run_that_fails_midway_leaves_the_earlier_output_byte_identical(earlier_output: Path,
                                                                           tmp_path: Path, monkeypatch, capsys):
    before = tree_digest(earlier_output)
    doomed = tmp_path / "logs" / "access.log"
    real_say = replay_command._say_plan

    def say_then_lose_the_input(*args, **kwargs):  # the file disappears between plan and read
        real_say(*args, **kwargs)
        doomed.unlink()
    monkeypatch.setattr(replay_command, "_say_plan", say_then_lose_the_input)
    code = main(["replay", str(tmp_path / "logs"), "--out", str(earlier_output)])
    err = capsys.readouterr().err
    # The failure happens inside a Beam worker; the user still gets one line, no traceback.
    assert code == 2 and f"cannot read {doomed}" in err and "Traceback" not in err, err
    assert tree_digest(earlier_output) == before
    assert not [p for p in earlier_output.parent.iterdir() if ".vigie-partial-" in p.name]


def test_pipes_and_devices_are_refused_in_one_line(tmp_path: Path):
    result = run_cli("replay", "/dev/stdin", "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "not a regular file" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_generate_and_demo_refuse_a_folder_that_is_not_theirs(tmp_path: Path, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "case.txt").write_text("do not overwrite")
    assert main(["generate", "--out", str(notes), "--events", "2000"]) == 2
    assert main(["demo", "--out", str(notes), "--events", "2000"]) == 2
    err = capsys.readouterr().err
    assert err.count("not empty") + err.count("holds more than") == 2
    assert (notes / "case.txt").read_text() == "do not overwrite"


def test_a_forced_format_that_fits_no_line_gets_a_hint_and_reasons_are_grouped(tmp_path: Path, capsys):
    log = tmp_path / "access.log"
    log.write_text("\n".join(web_lines(300)) + "\n")
    out = tmp_path / "out"
    assert main(["replay", str(log), "--out", str(out), "--format", "postfix", "--no-detect"]) == 0
    printed = capsys.readouterr().out
    assert "hint: no line of" in printed and "--format postfix" in printed
    summary = json.loads((out / "summary.json").read_text())
    causes = summary["dead_letter_reasons"]
    assert len(causes) == 1 and causes[0]["count"] == 300 and len(causes[0]["examples"]) == 3


def test_entries_left_out_of_a_folder_are_listed(tmp_path: Path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "access.log").write_text("\n".join(web_lines(20)) + "\n")
    (logs / ".access.log.swp").write_text("x\n")
    (logs / "dangling.log").symlink_to(tmp_path / "nowhere")
    old = tmp_path / "earlier"
    assert main(["replay", str(logs), "--out", str(old), "--no-detect"]) == 0
    (logs / "old-run").symlink_to(old, target_is_directory=True)
    assert main(["replay", str(logs), "--out", str(tmp_path / "out"), "--no-detect"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    reasons = {Path(s["path"]).name: s["reason"] for s in summary["skipped_inputs"]}
    assert reasons[".access.log.swp"].startswith("hidden")
    assert reasons["dangling.log"].startswith("unreadable")
    assert reasons["old-run"].startswith("an earlier Vigie output")
    assert "left out:" in capsys.readouterr().out
