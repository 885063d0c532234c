"""`vigie demo` ends with what the crisis cell gets: the correlation results that are alerts
(building blocks left out) and the incidents with their report pages."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.commands.demo import crisis_cell_lines


def test_alerts_and_incidents_with_their_reports(tmp_path: Path):
    signals = tmp_path / "signals"
    signals.mkdir()
    at = dt.datetime(2026, 11, 27, 18, 15, tzinfo=dt.timezone.utc)
    pq.write_table(pa.table({
        "@timestamp": pa.array([at, at, at], pa.timestamp("ms", tz="UTC")),
        "vigie.correlation.rule_name": [None, "vpn_failed_logins_then_foreign_login", "vpn_password_guessing"],
        "vigie.correlation.group_by.values": [None, ["jdupont"], ["admin"]],
        "vigie.building_block": [False, False, True],
    }), signals / "part.parquet")
    (tmp_path / "incidents").mkdir()
    (tmp_path / "incidents" / "inc-1.fr.html").write_text("<html></html>")
    summary = {"incidents": {"list": [{"id": "inc-1", "severity": "critical", "title": "Account takeover: jdupont"}]}}
    assert crisis_cell_lines(tmp_path, summary) == [
        "1 correlation result(s) among 3 signals",
        "  2026-11-27 18:15 UTC  vpn_failed_logins_then_foreign_login  (jdupont)",
        "1 incident(s)",
        "  [critical] Account takeover: jdupont",
        f"    report (fr): {tmp_path / 'incidents' / 'inc-1.fr.html'}",
    ]


def test_a_replay_without_signals_or_incidents_says_zero(tmp_path: Path):
    assert crisis_cell_lines(tmp_path, {}) == ["0 incident(s)"]
