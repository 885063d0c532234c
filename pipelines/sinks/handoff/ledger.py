"""The delivery ledger: which revision of which incident reached which destination.

In: DIR/incidents/delivered.jsonl, one JSON line per successful delivery
{"destination", "incident.id", "incident.revision", "delivered_at", "detail"}. Out: `Ledger`,
which answers whether (destination, incident, revision) was delivered; a revision counts as
delivered when it or a later one was (a late re-send of an older revision is skipped). Lines
are appended and fsynced one by one, so a crash loses at most the line being written, and then
only causes one repeat, which the receivers recognise (idempotency key, Message-ID, sourceRef).
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import orjson

LEDGER_NAME = "delivered.jsonl"


class Ledger:
    """Append-only record of deliveries (see the module docstring)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._best: dict[tuple[str, str], int] = {}
        if self.path.is_file():
            with self.path.open("rb") as fh:
                for line in fh:
                    try:
                        row = orjson.loads(line)
                        key = (str(row["destination"]), str(row["incident.id"]))
                        rev = int(row["incident.revision"])
                    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                        continue  # a torn last line after a crash
                    self._best[key] = max(rev, self._best.get(key, 0))

    def delivered(self, destination: str, incident_id: str, revision: int) -> bool:
        """True when this revision, or a later one, reached `destination`."""
        return self._best.get((destination, incident_id), 0) >= revision

    def record(self, destination: str, incident_id: str, revision: int, detail: str = "") -> None:
        """Append one delivery and make it durable before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        row = {"destination": destination, "incident.id": incident_id, "incident.revision": revision,
               "delivered_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
               "detail": detail}
        with self.path.open("ab") as fh:
            fh.write(orjson.dumps(row) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        key = (destination, incident_id)
        self._best[key] = max(revision, self._best.get(key, 0))

    def count(self) -> int:
        """How many (destination, incident) pairs have a delivery."""
        return len(self._best)
