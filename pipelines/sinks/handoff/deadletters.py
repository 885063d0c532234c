"""Incidents that could not be delivered, as rows of the project's dead-letter table.

In: what did not reach which destination, and why (`Undelivered`). Out: a dead-letter table
(schemas/deadletters.yml, built by `pipelines.model.dead_letters`) written as Parquet under
DIR/deadletter/ next to the replay's own dead letters, and the undelivered records read back for
`vigie incidents send`.

Row layout, decided in ONE place (`dead_letter_table`): stage "deliver"; reason = destination kind
and cause, worded the same for every letter of that cause ("webhook: HTTP 500", "smtp: SMTP 451",
"thehive: connection refused"); detail = the full message (secrets already scrubbed) with the
number of tries; family "incident" (an incident spans log families); format = destination kind;
id = "<incident.id>:<revision>" (the idempotency key); raw = the incident record as canonical JSON
(the handoff payload every destination renders from: enough to deliver it again); raw_text = raw
as text; origin.kind "delivery", origin.path = "<destination key>/<incident.id>"; lines = 0.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.model import DELIVERY, dead_letters
from pipelines.sinks.parquet import DEAD_LETTER_DIR, write_dead_letters

STAGE = "deliver"
FAMILY = "incident"


@dataclass(frozen=True)
class Undelivered:
    """One incident revision that did not reach one destination."""

    destination_kind: str
    destination_key: str
    incident_id: str
    revision: int
    cause: str           # short, the same for every failure of that kind ("HTTP 500")
    detail: str          # the full message, secrets scrubbed
    record_json: bytes   # the incident record, canonical JSON


def dead_letter_table(items: list[Undelivered]) -> pa.Table:
    """The dead-letter rows of undelivered incidents (see the module docstring for the layout)."""
    return dead_letters(
        len(items), stage=STAGE, lines=0, family=FAMILY, origin_kind=DELIVERY,
        reason=[f"{u.destination_kind}: {u.cause}"[:500] for u in items],
        detail=[u.detail[:2000] for u in items],
        format=[u.destination_kind for u in items],
        id=[f"{u.incident_id}:{u.revision}" for u in items],
        raw=[u.record_json for u in items],
        origin_path=[f"{u.destination_key}/{u.incident_id}" for u in items])


def write_delivery_dead_letters(items: list[Undelivered], out_dir: Path) -> Path | None:
    """Write them as one Parquet file DIR/deadletter/deliver-<time>-<digest>.parquet; its path."""
    if not items:
        return None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    digest = hashlib.sha256("\n".join(f"{u.destination_key}/{u.incident_id}:{u.revision}" for u in items)
                            .encode("utf-8", "surrogatepass")).hexdigest()[:12]
    name = f"{STAGE}-{stamp}-{digest}"
    write_dead_letters(dead_letter_table(items), str(out_dir), name)
    return Path(out_dir) / DEAD_LETTER_DIR / f"{name}.parquet"


def read_delivery_dead_letters(out_dir: Path) -> list[tuple[str, dict]]:
    """Every delivery dead letter under DIR/deadletter/ as (destination key, incident record), in
    the order written. Rows of other stages and unreadable records are ignored."""
    folder = Path(out_dir) / DEAD_LETTER_DIR
    found: list[tuple[str, dict]] = []
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        table = pq.read_table(path, columns=["stage", "raw", "origin.path"])
        table = table.filter(pc.equal(table["stage"], STAGE))
        for raw, origin in zip(table["raw"].to_pylist(), table["origin.path"].to_pylist()):
            try:
                record = orjson.loads(raw or b"")
            except orjson.JSONDecodeError:
                continue
            incident_id = str(record.get("incident.id") or "") if isinstance(record, dict) else ""
            if incident_id and origin and origin.endswith("/" + incident_id):
                found.append((origin[: -len(incident_id) - 1], record))
    return found
