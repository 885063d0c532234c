"""VPN parsers on real log lines: fail2ban's OpenVPN and SoftEther test logs.

A `# failJSON: {...}` comment annotates the next line; labels.jsonl lists the annotations as
{file, line (1-based), time, match, host}, the time being wall-clock time in Central Europe.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from pipelines.parsing import DETECTION_THRESHOLD, vpn
from pipelines.parsing.base import LineBatch, ParseContext

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


LOGS = _shared_folder() / "data" / "logs"
FAIL2BAN = LOGS / "fail2ban"
if not (FAIL2BAN / "labels.jsonl").is_file():
    pytest.skip(f"real log data not found at {FAIL2BAN} (../shared is absent)", allow_module_level=True)

LABEL_ZONE = ZoneInfo("Europe/Zurich")
# Syslog lines carry no year; fail2ban's annotations assume 2005.
CTX = ParseContext(timezone="Europe/Zurich", reference_time=dt.datetime(2005, 8, 15, tzinfo=dt.timezone.utc))


def read_batch(relative: str) -> tuple[LineBatch, list[str]]:
    """A file of the fail2ban corpus as one LineBatch (byte offsets of each line) and its lines."""
    raw = (FAIL2BAN / relative).read_bytes()
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    offsets = np.concatenate([[0], np.cumsum([len(c) + 1 for c in chunks])[:-1]]).astype(np.int64)
    lines = [c.decode("utf-8") for c in chunks]
    return LineBatch(str(FAIL2BAN / relative), "0" * 16, pa.array(lines, pa.string()), offsets), lines


def labels(relative: str) -> list[dict]:
    with open(FAIL2BAN / "labels.jsonl", encoding="utf-8") as f:
        return [label for label in map(json.loads, f) if label["file"] == relative]


def is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def test_openvpn_every_line_is_an_event_or_a_dead_lettered_comment():
    batch, lines = read_batch("vpn/openvpn")
    result = vpn.OPENVPN.parse(batch, CTX)
    assert result.lines_accounted() == len(lines)
    comments = [line for line in lines if is_comment(line)]
    log_lines = [line for line in lines if line.strip() and not is_comment(line)]
    assert result.events.column("event.original").to_pylist() == log_lines
    assert result.dead_letters.column("raw_text").to_pylist() == comments
    assert set(result.dead_letters.column("reason").to_pylist()) == {"openvpn: no syslog header or OpenVPN timestamp"}
    assert (len(log_lines), len(comments)) == (20, 8)


def test_openvpn_labelled_lines_have_the_annotated_time_and_address():
    batch, lines = read_batch("vpn/openvpn")
    events = {row["log.offset"]: row for row in vpn.OPENVPN.parse(batch, CTX).events.to_pylist()}
    checked = []
    for label in labels("vpn/openvpn"):
        assert lines[label["line"] - 2].startswith("# failJSON:"), label  # the comment above it
        event = events[int(batch.offsets[label["line"] - 1])]
        wall = dt.datetime.fromisoformat(label["time"]).replace(tzinfo=LABEL_ZONE)
        assert event["@timestamp"] == wall.astimezone(dt.timezone.utc), label
        assert event["source.ip"] == label["host"], label
        assert label["match"] and event["event.action"] in {"vpn-login-failure", "vpn-session-end"}, label
        checked.append(event["event.action"])
    assert len(checked) == 8
    assert checked.count("vpn-login-failure") == 4  # VERIFY ERROR, handshake, HMAC, bad password


def test_openvpn_file_is_detected_as_openvpn_only():
    _, lines = read_batch("vpn/openvpn")
    sample = [line for line in lines if line.strip()]
    scores = {fmt.name: fmt.detect(sample) for fmt in vpn.FORMATS}
    assert scores["openvpn"] >= DETECTION_THRESHOLD
    assert all(score == 0.0 for name, score in scores.items() if name != "openvpn"), scores


@pytest.mark.parametrize("fmt", vpn.FORMATS, ids=lambda f: f.name)
def test_softether_is_not_one_of_our_formats(fmt):
    batch, lines = read_batch("vpn/softethervpn")
    sample = [line for line in lines if line.strip()]
    assert fmt.detect(sample) < DETECTION_THRESHOLD
    result = fmt.parse(batch, CTX)
    assert result.lines_accounted() == len(lines)
    assert result.events.num_rows == 0
    assert result.dead_letters.column("raw_text").to_pylist() == sample
    assert all(reason.startswith(f"{fmt.name}: ") for reason in result.dead_letters.column("reason").to_pylist())
    assert len(labels("vpn/softethervpn")) == 2
