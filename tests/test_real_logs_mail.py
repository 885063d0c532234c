"""Real Postfix and Exim lines (fail2ban's filter test logs) through the mail parsers.

Each file is fed whole, its `# ...` comment lines included: they must be the only dead letters
(blank lines are skipped), every other line must become an event or a fragment. fail2ban's
annotations (labels.jsonl: file, 1-based line, time, host) are then checked on the lines that
parsed: @timestamp equals `time` read as wall-clock time in fail2ban's test zone (CET/CEST,
Europe/Zurich), and source.ip equals `host`. Syslog years are inferred from a reference
time of 2005-08-15, which reproduces the years fail2ban assumes (its Dec 2004 lines stay in 2004).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from pipelines.parsing.base import LineBatch, ParseContext
from pipelines.parsing.mail import EXIM, POSTFIX

def _shared_folder() -> Path:
    """../shared beside this checkout; for a git worktree, beside the main checkout; or the
    folder named by VIGIE_SHARED."""
    repo = Path(__file__).resolve().parents[1]
    candidates = [repo.parent / "shared"]
    common = repo / ".git"
    if common.is_file():  # a worktree: ".git" names the main repository's git folder
        gitdir = Path(common.read_text().split(":", 1)[1].strip())
        candidates.append(gitdir.parents[2].parent / "shared")
    if os.environ.get("VIGIE_SHARED"):
        candidates.insert(0, Path(os.environ["VIGIE_SHARED"]))
    return next((c for c in candidates if c.is_dir()), candidates[0])


DATA = _shared_folder() / "data" / "logs" / "fail2ban"
ZURICH = ZoneInfo("Europe/Zurich")
CTX = ParseContext(timezone="Europe/Zurich", reference_time=dt.datetime(2005, 8, 15, tzinfo=dt.timezone.utc))

pytestmark = pytest.mark.skipif(not (DATA / "labels.jsonl").is_file(),
                                reason=f"fail2ban reference logs not found under {DATA}")

# (file, format, labelled lines whose time and/or host are checked): every annotation that
# carries a time or a host (postfix: 58 of 63, exim: 48 of 51, the others say only "match":
# false; exim-spam, Exim mainlog lines of spam filtering: 8 of 8).
FILES = [("mail/postfix", POSTFIX, 58), ("mail/exim", EXIM, 48), ("mail/exim-spam", EXIM, 8)]


def read_batch(relative: str) -> LineBatch:
    """A whole file as one LineBatch (utf-8, undecodable bytes replaced)."""
    raw = (DATA / relative).read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    offsets = np.concatenate([[0], np.cumsum([len(line) + 1 for line in lines])[:-1]]).astype(np.int64)
    text = [line.decode("utf-8", errors="replace") for line in lines]
    return LineBatch(str(DATA / relative), "0" * 16, pa.array(text, pa.string()), offsets)


def labels(relative: str) -> list[dict]:
    with open(DATA / "labels.jsonl", encoding="utf-8") as handle:
        return [r for r in map(json.loads, handle) if r["file"] == relative]


def label_time(text: str) -> dt.datetime:
    """fail2ban's wall-clock annotation (days may lack a leading zero) -> UTC."""
    y, mo, d, h, mi, s = map(int, re.fullmatch(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)", text).groups())
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=ZURICH).astimezone(dt.timezone.utc)


def rows_by_line(batch: LineBatch, result) -> dict[int, dict]:
    """Event and fragment rows keyed by their 1-based line number."""
    line_of = {int(offset): number for number, offset in enumerate(batch.offsets, start=1)}
    rows = result.events.to_pylist() + result.fragments.to_pylist()
    return {line_of[row["log.offset"]]: row for row in rows}


@pytest.mark.parametrize("relative, fmt, minimum", FILES)
def test_every_line_is_read_or_dead_lettered(relative, fmt, minimum):
    batch = read_batch(relative)
    result = fmt.parse(batch, CTX)
    assert result.lines_accounted() == len(batch)
    lines = batch.lines.to_pylist()
    comments = [i for i, line in enumerate(lines) if line.lstrip().startswith("#")]
    blanks = [i for i, line in enumerate(lines) if not line.strip()]
    dead_offsets = result.dead_letters.column("origin.offset").to_pylist()
    assert dead_offsets == [int(batch.offsets[i]) for i in comments]
    assert all(result.dead_letters.column("reason").to_pylist())
    assert result.skipped == {"blank line": len(blanks)}
    read = result.events.num_rows + result.fragments.num_rows
    assert read == len(lines) - len(comments) - len(blanks)


@pytest.mark.parametrize("relative, fmt, minimum", FILES)
def test_annotated_time_and_host(relative, fmt, minimum):
    batch = read_batch(relative)
    rows = rows_by_line(batch, fmt.parse(batch, CTX))
    checked, mismatches = 0, []
    for label in labels(relative):
        row = rows.get(label["line"])
        if row is None or not ({"time", "host"} & set(label)):
            continue
        got = {"time": row["@timestamp"], "host": row["source.ip"]}
        want = {"time": label_time(label["time"]) if "time" in label else got["time"],
                "host": label.get("host", got["host"])}
        if got != want:
            mismatches.append((label["line"], got, want))
        checked += 1
    assert mismatches == []
    assert checked >= minimum


def test_labelled_lines_are_all_read():
    for relative, fmt, _ in FILES:
        batch = read_batch(relative)
        rows = rows_by_line(batch, fmt.parse(batch, CTX))
        assert [lab["line"] for lab in labels(relative) if lab["line"] not in rows] == []


@pytest.mark.parametrize("relative, fmt, other", [("mail/postfix", POSTFIX, EXIM), ("mail/exim", EXIM, POSTFIX),
                                                  ("mail/exim-spam", EXIM, POSTFIX)])
def test_detection_on_real_lines(relative, fmt, other):
    sample = [line for line in read_batch(relative).lines.to_pylist()
              if line.strip() and not line.startswith("#")]
    assert fmt.detect(sample) >= 0.9
    assert other.detect(sample) == 0.0
