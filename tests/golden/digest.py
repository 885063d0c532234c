"""Digest of a replay's outputs, to compare two versions of Vigie on the same scenario.

`replay_digest(out, root)` -> {"counts": per-dataset counters of summary.json, "tables": for
events, signals and dead letters: row count, digest of the sorted ids, digest of the sorted
rows over the columns listed in `columns`}. Paths are made relative to `root` (the scenario
folder) so that the digest does not depend on where the scenario was generated; the time a
dead letter was written is left out.

Run as a script to (re)write the reference of tests/test_golden_replay.py on purpose:
    .venv/bin/python tests/golden/digest.py write   # after a deliberate change of outputs
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pyarrow.dataset as ds

TABLES = {"events": ("event.id", "hive"), "signals": ("signal.id", None),
          "deadletter": ("origin.offset", None)}
PATH_COLUMNS = ("log.file.path", "origin.path")
VOLATILE = ("written_at",)
COUNTERS = ("lines_read", "lines_in_events", "lines_dead_lettered", "lines_skipped", "events",
            "dead_letters", "signals")


def _rows(out: Path, name: str, root: str, columns: list[str] | None) -> tuple[list[dict], list[str]]:
    folder = out / name
    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        return [], columns or []
    dataset = ds.dataset(folder, format="parquet", partitioning=TABLES[name][1])
    names = [c for c in dataset.schema.names if c not in VOLATILE and c not in ("dataset", "date")]
    if columns is not None:
        names = [c for c in columns if c in dataset.schema.names]
    rows = dataset.to_table(columns=names).to_pylist()
    for row in rows:
        for column in PATH_COLUMNS:
            if isinstance(row.get(column), str) and row[column].startswith(root):
                row[column] = row[column][len(root):]
    key = TABLES[name][0]
    rows.sort(key=lambda r: (str(r.get(key)), json.dumps(r, sort_keys=True, default=str)))
    return rows, names


def _digest(values) -> str:
    return hashlib.blake2b(json.dumps(values, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()


def replay_digest(out: Path, root: str, columns: dict[str, list[str]] | None = None) -> dict:
    """Counts and table digests of the replay output folder `out` (see the module docstring)."""
    summary = json.loads((out / "summary.json").read_text())
    counts = {family: {c: summary["datasets"][family][c] for c in COUNTERS}
              for family in ("mail", "web", "vpn", "total")}
    tables = {}
    for name, (key, _) in TABLES.items():
        rows, names = _rows(out, name, root, (columns or {}).get(name))
        tables[name] = {"rows": len(rows), "columns": names,
                        "ids": _digest(sorted(str(r.get(key)) for r in rows)), "content": _digest(rows)}
    return {"counts": counts, "tables": tables}


if __name__ == "__main__":
    reference = Path(__file__).with_name("chu-20000-seed7.json")
    if sys.argv[1:] == ["write"]:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/
        from test_golden_replay import replay_scenario  # noqa: E402
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            digest = replay_digest(*replay_scenario(Path(tmp)))
        reference.write_text(json.dumps(digest, indent=1) + "\n")
        print(f"wrote {reference}")
    else:
        print(__doc__)
