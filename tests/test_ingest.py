"""The per-slice hot path: W3C field lists follow the file across batches and slices."""
from __future__ import annotations

from pipelines.sources.ingest import ReadSettings, parse_slice
from pipelines.sources.plan import plan_inputs

HEADER_A = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time c-ip cs-method cs-uri-stem sc-status\n"
HEADER_B = "#Fields: date time cs-method cs-uri-stem c-ip sc-status\n"


def test_w3c_fields_change_between_batches_and_slices(tmp_path):
    first = "".join(f"2026-11-27 19:00:{i % 60:02d} 198.51.100.{i % 200} GET /a{i} 200\n" for i in range(400))
    second = "".join(f"2026-11-27 20:00:{i % 60:02d} GET /b{i} 203.0.113.{i % 200} 404\n" for i in range(400))
    path = tmp_path / "u_ex261127.log"
    path.write_text(HEADER_A + first + HEADER_B + second)
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
