"""Incidents that could not be delivered, as rows of the project's dead-letter table.

In: the destination, the incident and why it failed. Out: rows of
`pipelines.schema.DEAD_LETTER_SCHEMA` written as Parquet under DIR/deadletter/ (next to the
replay's own dead letters), and back again for `vigie incidents send`.

Row layout, built in ONE place (`delivery_dead_letter`, the function to adapt when the schema
moves to schemas/ and an `Origin`): stage "deliver"; reason (secrets already scrubbed); family
"incident"; format = destination kind (webhook, thehive, smtp, files); raw = the incident record
as canonical JSON (the handoff payload every destination renders from: enough to deliver again);
raw_text = the destination's own request as text (webhook body, TheHive alert, MIME message),
for people to read what was attempted; origin.path = "<destination key>#<incident.id>";
origin.offset = the incident revision; lines = 0; written_at = now (UTC).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.schema import DEAD_LETTER_SCHEMA
from pipelines.sinks.parquet import DEAD_LETTER_DIR, write_dead_letters

STAGE = "deliver"
FAMILY = "incident"
RAW_TEXT_LIMIT = 4 * 1024 * 1024


def delivery_dead_letter(destination_kind: str, destination_key: str, incident_id: str, revision: int,
                         reason: str, record_json: bytes, attempted: bytes,
                         written_at: dt.datetime | None = None) -> dict:
    """One dead-letter row for an incident revision that did not reach a destination."""
    return {"stage": STAGE, "reason": reason[:2000], "family": FAMILY, "format": destination_kind,
            "raw": record_json, "raw_text": attempted[:RAW_TEXT_LIMIT].decode("utf-8", "replace"),
            "origin.path": f"{destination_key}#{incident_id}", "origin.offset": int(revision), "lines": 0,
            "written_at": written_at or dt.datetime.now(dt.timezone.utc)}


def write_delivery_dead_letters(rows: list[dict], out_dir: Path) -> Path | None:
    """Write rows as one Parquet file DIR/deadletter/deliver-<time>-<digest>.parquet; its path."""
    if not rows:
        return None
    table = pa.Table.from_pylist(rows, schema=DEAD_LETTER_SCHEMA)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    digest = hashlib.sha256(b"".join(r["origin.path"].encode() + str(r["origin.offset"]).encode()
                                     for r in rows)).hexdigest()[:12]
    name = f"{STAGE}-{stamp}-{digest}"
    write_dead_letters(table, str(out_dir), name)
    return Path(out_dir) / DEAD_LETTER_DIR / f"{name}.parquet"


def read_delivery_dead_letters(out_dir: Path) -> list[tuple[str, dict]]:
    """Every delivery dead letter under DIR/deadletter/ as (destination key, incident record),
    in the order written. Rows of other stages and unreadable records are ignored."""
    folder = Path(out_dir) / DEAD_LETTER_DIR
    found: list[tuple[str, dict]] = []
    for path in sorted(folder.glob(f"{STAGE}-*.parquet")) if folder.is_dir() else []:
        table = pq.read_table(path, columns=["stage", "raw", "origin.path"])
        for stage, raw, origin in zip(table["stage"].to_pylist(), table["raw"].to_pylist(),
                                      table["origin.path"].to_pylist()):
            if stage != STAGE or not raw or not origin:
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("incident.id"):
                found.append((origin.rpartition("#")[0], record))
    return found
