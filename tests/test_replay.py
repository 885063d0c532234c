"""End-to-end `vigie replay` on the real Beam runner: outputs, balance, determinism, bad input."""
from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.dataset as ds
import pytest

from pipelines.cli import main
from pipelines.scenario import formats

PARIS = ZoneInfo("Europe/Paris")


def web_lines(count: int, start: int = 0) -> list[str]:
    """Apache combined lines numbered from `start`: one a second from 19:00, 250 clients."""
    return [formats.apache_combined(dt.datetime(2026, 11, 27, 19, i // 60 % 60, i % 60, tzinfo=PARIS),
                                    f"203.0.113.{i % 250}", "GET", f"/page/{i % 250}?q=1", 200,
                                    int(f"{i % 250}12"), "-", "Mozilla/5.0 (X11; Linux x86_64)")
            for i in range(start, start + count)]


def replay(inputs: list[Path], out: Path, *flags: str) -> dict:
    code = main(["replay", *map(str, inputs), "--out", str(out), *flags])
    assert code == 0
    return json.loads((out / "summary.json").read_text())


def assert_balanced(summary: dict) -> None:
    for name, c in summary["datasets"].items():
        assert c["lines_read"] == c["lines_in_events"] + c["lines_dead_lettered"] + c["lines_skipped"], name
    assert summary["balanced"] is True


@pytest.fixture
def bad_input_folder(tmp_path: Path) -> Path:
    """A folder with good lines and every kind of bad input the issue names."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "access.log").write_text("\n".join(web_lines(300)) + "\n")
    with gzip.open(folder / "access-old.log.gz", "wt") as f:
        f.write("\n".join(web_lines(120, start=300)) + "\n")
    rng = random.Random(3)
    (folder / "garbage.bin").write_bytes(bytes(rng.randrange(256) for _ in range(20_000)))
    (folder / "empty.log").write_bytes(b"")
    (folder / "notes.txt").write_text("shift handover notes\nnothing to report\n")  # text, no known format
    mixed = web_lines(40, start=500)
    mixed[5] = mixed[5][:37]  # truncated line
    mixed[9] = "   "  # a blank line
    body = "\n".join(mixed).encode() + b"\n"
    body += b'198.51.100.4 - - [27/Nov/2026:19:00:00 +0100] "GET /\xe9t\xe9 HTTP/1.1" 200 1 "-" "-"\n'  # latin-1
    body += b"A" * (1024 * 1024) + b"\n"  # a 1 MB line
    body += mixed[0].encode()[:60]  # truncated last line without newline
    (folder / "mixed.log").write_bytes(body)
    return folder


def test_replay_accounts_for_every_line_of_bad_input(bad_input_folder: Path, tmp_path: Path):
    out = tmp_path / "out"
    summary = replay([bad_input_folder], out)
    assert_balanced(summary)
    web = summary["datasets"]["web"]
    # 300 + 120 + 40 - truncated - blank + the latin-1 line + the truncated last line (its client
    # and time read: an event, tagged vigie.partial_parse) = 460 events; the rest are dead letters
    assert web["events"] == 460
    assert web["lines_skipped"] == 1
    assert web["lines_dead_lettered"] == 2  # truncated inside the time, 1 MB line
    unknown = summary["datasets"]["unknown"]
    assert unknown["lines_read"] > 0 and unknown["lines_dead_lettered"] + unknown["lines_skipped"] == unknown["lines_read"]
    assert unknown["events"] == 0
    dead = ds.dataset(out / "deadletter", format="parquet").to_table().to_pylist()
    reasons = " | ".join(sorted({d["reason"] for d in dead}))
    assert "--max-line-bytes" in reasons and "not recognised" in reasons
    events = ds.dataset(out / "events", format="parquet", partitioning="hive").to_table(
        filter=ds.field("vigie.line.invalid_utf8") == True).to_pylist()  # noqa: E712
    assert [(e["url.path"], e["vigie.line.raw"][-28:]) for e in events] == [
        ("/\\xe9t\\xe9", b'/\xe9t\xe9 HTTP/1.1" 200 1 "-" "-"')]
    assert all(d["origin.path"] and d["origin.offset"] is not None for d in dead)
    one_mb = [d for d in dead if "--max-line-bytes" in d["reason"]]
    assert len(one_mb[0]["raw"]) == 1024 * 1024  # the raw line is kept whole
    files = {f["path"].rsplit("/", 1)[-1]: f for f in summary["files"]}
    assert files["access-old.log.gz"]["compressed"] and files["empty.log"]["format"] is None
    partitions = sorted(p.relative_to(out / "events").parts[:2] for p in (out / "events").rglob("*.parquet"))
    assert partitions[0] == ("dataset=web.apache_combined", "date=2026-11-27")


def test_replay_twice_gives_identical_event_ids(tmp_path: Path):
    log = tmp_path / "access.log"
    log.write_text("\n".join(web_lines(2000)) + "\n")

    def ids(out: Path) -> list[str]:
        replay([log], out, "--split-bytes", "50000", "--batch-bytes", "20000")
        return sorted(ds.dataset(out / "events", format="parquet", partitioning="hive")
                      .to_table(columns=["event.id"])["event.id"].to_pylist())

    first, second = ids(tmp_path / "a"), ids(tmp_path / "b")
    assert first == second and len(set(first)) == 2000
    assert ids(tmp_path / "a") == first  # re-running into the same folder replaces, not duplicates


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "VIGIE_DEBUG": ""})


@pytest.mark.parametrize("args, message", [
    (["replay", "/no/such/file.log", "--out", "{tmp}/o"], "input not found: /no/such/file.log"),
    (["replay", "{log}", "--out", "{tmp}/o", "--no-such-flag"], "unknown flag --no-such-flag"),
    (["replay", "{log}", "--out", "{tmp}/o", "--timezone", "Mars/Olympus"], "unknown --timezone"),
    (["replay", "{log}", "--out", "{tmp}/o", "--format", "klingon"], "unknown --format"),
    (["replay", "{log}"], "replay needs --out"),
    (["replay", "/proc/self/mem", "--out", "{tmp}/o"], "cannot read /proc/self/mem"),
    (["replay", "{log}", "--out", "{tmp}"], "is not empty and holds no earlier Vigie output"),
])
def test_bad_invocations_get_one_line_and_nonzero_exit(tmp_path: Path, args, message):
    log = tmp_path / "a.log"
    log.write_text("\n".join(web_lines(3)) + "\n")
    result = run_cli(*[a.format(tmp=tmp_path, log=log) for a in args])
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_file_is_refused(tmp_path: Path):
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop reading (covered by /proc/self/mem)")
    log = tmp_path / "locked.log"
    log.write_text("x\n")
    log.chmod(0)
    result = run_cli("replay", str(log), "--out", str(tmp_path / "o"))
    assert result.returncode != 0 and "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_damaged_gzip_keeps_what_was_read_and_says_where_it_broke(tmp_path: Path):
    whole = gzip.compress(("\n".join(web_lines(3000)) + "\n").encode())
    log = tmp_path / "in" / "access.log.gz"
    log.parent.mkdir()
    log.write_bytes(whole[: len(whole) * 2 // 3])  # cut off: the stream ends without its trailer
    out = tmp_path / "out"
    summary = replay([log.parent], out, "--batch-bytes", "65536")
    assert_balanced(summary)
    web = summary["datasets"]["web"]
    assert 0 < web["events"] < 3000
    dead = ds.dataset(out / "deadletter", format="parquet").to_table().to_pylist()
    damaged = [d for d in dead if d["stage"] == "read"]
    assert len(damaged) == 1 and damaged[0]["lines"] == 0
    assert "damaged" in damaged[0]["reason"] and "truncated" in damaged[0]["detail"]
    assert len(dead) - 1 == web["lines_dead_lettered"] <= 1  # at most the line the cut went through


def test_batches_without_addresses_replay_with_enrichment_on(tmp_path: Path):
    """An Exim mainlog of local deliveries (no line carries an address) and Cisco firewall
    messages the parser does not classify used to stop the default replay with an IndexError in
    enrichment; they replay, every line accounted for."""
    logs = tmp_path / "in"
    logs.mkdir()
    (logs / "mainlog").write_text(
        "2026-11-28 10:00:00 1vXyZa-000abc-AB <= alice@chu.example U=alice P=local S=1234\n"
        "2026-11-28 10:00:01 1vXyZa-000abc-AB => bob <bob@chu.example> R=local_user T=mail_spool\n"
        "2026-11-28 10:00:01 1vXyZa-000abc-AB Completed\n")
    (logs / "asa.log").write_text(
        "Nov 28 10:00:01 fw1 %ASA-6-302013: Built outbound TCP connection 123 for "
        "outside:203.0.113.5/443 (203.0.113.5/443) to inside:10.1.2.3/51515 (198.51.100.7/51515)\n"
        "Nov 28 10:00:02 fw1 %ASA-4-106023: Deny tcp src outside:198.51.100.9/4444 dst "
        "inside:10.1.2.4/22 by access-group \"outside_access_in\" [0x0, 0x0]\n"
        "Nov 28 10:00:03 fw1 %FTD-2-106001: Inbound TCP connection denied from 192.0.2.1/1234 "
        "to 10.0.0.1/80 flags SYN  on interface outside\n")
    for name in ("mainlog", "asa.log"):
        summary = replay([logs / name], tmp_path / f"out-{name}")
        assert_balanced(summary)
        assert summary["datasets"]["total"]["lines_read"] == 3
        assert summary["datasets"]["total"]["events"] >= 1


@pytest.mark.parametrize("keep", [40_000, 0.3], ids=["first-40000-bytes", "70-percent-cut"])
def test_truncated_gzip_yields_every_line_zcat_recovers(tmp_path: Path, keep):
    """A cut .gz used to give 0 lines (its first 8 MiB read failed whole) or only whole batches;
    now every line a streaming decompressor recovers is read, with the default batch size."""
    rng = random.Random(5)
    lines = [line + f" {rng.random()}" for line in web_lines(120_000)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    cut = whole[: keep if isinstance(keep, int) else int(len(whole) * keep)]
    log = tmp_path / "in" / "access.log.gz"
    log.parent.mkdir()
    log.write_bytes(cut)
    recovered = subprocess.run(["zcat"], input=cut, capture_output=True).stdout
    expected = recovered.count(b"\n") + (0 if recovered.endswith(b"\n") else 1)
    summary = replay([log], tmp_path / "out", "--no-detect")
    assert_balanced(summary)
    assert summary["datasets"]["web"]["lines_read"] == expected > 1000
    dead = ds.dataset(tmp_path / "out" / "deadletter", format="parquet").to_table().to_pylist()
    breaks = [d["origin.offset"] for d in dead if d["stage"] == "read"]
    assert len(breaks) == 1 and 0 <= breaks[0] - len(recovered) <= 1  # where the data broke off
