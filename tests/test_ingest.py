"""The per-slice hot path: W3C field lists follow the file across batches and slices."""
from __future__ import annotations

import datetime as dt

from pipelines.scenario import formats
from pipelines.sources.ingest import ReadSettings, parse_slice
from pipelines.sources.plan import plan_inputs

FIELDS_A = ("date", "time", "c-ip", "cs-method", "cs-uri-stem", "sc-status")
FIELDS_B = ("date", "time", "cs-method", "cs-uri-stem", "c-ip", "sc-status")


def _section(fields: tuple[str, ...], hour: int, net: str, prefix: str, status: int) -> str:
    """A W3C header for `fields`, then 400 entries from `net` for paths /<prefix><i> (UTC)."""
    start = dt.datetime(2026, 11, 27, hour, tzinfo=dt.timezone.utc)
    lines = formats.w3c_header(start, fields) + [
        formats.w3c(start.replace(second=i % 60), fields,
                    {"c-ip": f"{net}.{i % 200}", "cs-method": "GET", "cs-uri-stem": f"/{prefix}{i}",
                     "sc-status": status})
        for i in range(400)]
    return "".join(line + "\n" for line in lines)


def test_w3c_fields_change_between_batches_and_slices(tmp_path):
    path = tmp_path / "u_ex261127.log"
    path.write_text(_section(FIELDS_A, 19, "198.51.100", "a", 200)
                    + _section(FIELDS_B, 20, "203.0.113", "b", 404))
    slices = plan_inputs([str(path)], "w3c", split_bytes=9000).slices
    assert len(slices) > 2
    events = []
    for piece in slices:
        for out in parse_slice(piece, ReadSettings(batch_bytes=4000)):
            assert out.dead_letters is None
            events.extend(out.events.select(["url.path", "source.ip"]).to_pylist())
    assert len(events) == 800
    assert all(e["source.ip"].startswith("198.51.100.") for e in events if e["url.path"].startswith("/a"))
    assert all(e["source.ip"].startswith("203.0.113.") for e in events if e["url.path"].startswith("/b"))
