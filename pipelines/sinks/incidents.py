"""Incident records -> DIR/incidents/incidents.jsonl, and back; records <-> Arrow (pure, no Beam).

How incidents.jsonl holds updates:
- batch (replay): one line per incident, its final revision (`write_incidents` keeps the
  highest incident.revision per incident.id), ordered by detection time then id, written to a
  temporary file and renamed, so a reader never sees half a file;
- streaming: every revision is appended as it is emitted (`append_incidents`), so the file is
  a log of updates (on an object store, which cannot append: one object per revision under
  incidents/revisions/);
- readers (`read_incidents`) apply one rule to both: the highest incident.revision per
  incident.id wins. A merged incident's last line has status "merged" and names its survivor.
Lines are JSON with every non-ASCII character escaped (log content is attacker-controlled:
no raw control or bidirectional characters reach a terminal that shows the file).

`records_to_table` / `table_to_records` convert records to the Arrow schema generated from
schemas/incidents.yml (times become timestamps) and back, losslessly.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa

from pipelines import storage
from pipelines.errors import VigieError
from pipelines.incidents.assembly import latest_revisions
from pipelines.incidents.times import iso, to_ms
from pipelines.schema import OBJECT, Field, incident_fields, incident_schema

INCIDENTS_DIR = "incidents"
INCIDENTS_FILE = "incidents.jsonl"
REVISIONS_DIR = "revisions"  # a live job's revisions on an object store, one object each


def incidents_path(out_dir: str | os.PathLike) -> Path | str:
    """DIR/incidents/incidents.jsonl of an output folder (its URL when DIR is remote)."""
    if storage.is_remote(out_dir):
        return storage.join(out_dir, INCIDENTS_DIR, INCIDENTS_FILE)
    return Path(out_dir) / INCIDENTS_DIR / INCIDENTS_FILE


def incident_line(record: dict) -> str:
    """One record -> one JSON line (with its newline)."""
    return json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n"


def _final_order(record: dict) -> tuple:
    return record.get("incident.detected_at") or "", record["incident.id"]


def write_incidents(path: str | os.PathLike, records: Iterable[dict]) -> int:
    """Batch: write the final revision of each incident, one line each (replacing the file
    atomically); returns the number of lines written."""
    final = sorted(latest_revisions(records), key=_final_order)
    if storage.is_remote(path):  # an object appears whole when written
        storage.write_bytes(path, "".join(incident_line(r) for r in final).encode("ascii"))
        return len(final)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    with open(temporary, "w", encoding="ascii", newline="\n") as handle:
        handle.writelines(incident_line(r) for r in final)
    os.replace(temporary, target)
    return len(final)


def revision_object(path: str, record: dict) -> str:
    """Where an object store keeps one streamed revision: beside incidents.jsonl, under
    revisions/<incident.id>-<revision>.json (written again, the same object)."""
    return storage.join(storage.parent(path), REVISIONS_DIR,
                        f"{record['incident.id']}-{int(record['incident.revision']):08d}.json")


def append_incidents(path: str | os.PathLike, records: Iterable[dict]) -> int:
    """Streaming: append each record (revision) as a line and flush; returns how many. On an
    object store, which cannot append, each revision is an object of its own instead
    (`revision_object`); readers take both forms."""
    lines = [(r, incident_line(r)) for r in records]
    if storage.is_remote(path):
        for record, line in lines:
            storage.write_bytes(revision_object(str(path), record), line.encode("ascii"))
        return len(lines)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if lines:
        with open(target, "a", encoding="ascii", newline="\n") as handle:
            handle.writelines(line for _, line in lines)
            handle.flush()
            os.fsync(handle.fileno())
    return len(lines)


def incident_lines(path: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """(where, line) of every record of an incidents.jsonl, or on an object store of the
    revision objects beside it when the file is not there (a live job's output)."""
    if storage.is_remote(path) and not storage.exists(path):
        for item in storage.match(storage.join(storage.parent(str(path)), REVISIONS_DIR, "*.json")):
            for line in storage.read_bytes(item).decode("utf-8").splitlines():
                yield item, line
        return
    with io.TextIOWrapper(storage.open_read(path), encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            yield f"{path} line {number}", line


def read_incidents(path: str | os.PathLike, include_merged: bool = True) -> list[dict]:
    """The incidents of an incidents.jsonl (batch or streaming): the highest revision per
    incident.id, ordered by detection time then id; without the merged ones if asked. A line
    that is not an incident record raises VigieError naming the file and line."""
    records = []
    for where, line in incident_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("incident.id"), str) \
                    or not isinstance(record.get("incident.revision"), int):
                raise ValueError("no incident.id and incident.revision")
        except ValueError as exc:
            raise VigieError(f"{where}: not an incident record ({exc})") from None
        records.append(record)
    final = sorted(latest_revisions(records), key=_final_order)
    return [r for r in final if include_merged or r.get("incident.status") != "merged"]


def incident_counts(records: Iterable[dict]) -> dict[str, int]:
    """summary.json's count of final records: incidents (not merged away) and merged ones.
    An incident counts once, whatever datasets it touches."""
    final = latest_revisions(records)
    merged = sum(1 for r in final if r.get("incident.status") == "merged")
    return {"incidents": len(final) - merged, "incidents_merged": merged}


# --- Arrow --------------------------------------------------------------------------------------


def _to_arrow_value(field: Field, value: Any) -> Any:
    if value is None:
        return None
    if field.array:
        return [_to_arrow_scalar(field, v) for v in value]
    return _to_arrow_scalar(field, value)


def _to_arrow_scalar(field: Field, value: Any) -> Any:
    if value is None:
        return None
    if field.type == OBJECT:
        return {c.name: _to_arrow_value(c, value.get(c.name)) for c in field.children}
    if field.type == "date":
        return dt.datetime.fromtimestamp(to_ms(value) / 1000, tz=dt.timezone.utc)
    return value


def _from_arrow_value(field: Field, value: Any) -> Any:
    if value is None:
        return None
    if field.array:
        return [_from_arrow_scalar(field, v) for v in value]
    return _from_arrow_scalar(field, value)


def _from_arrow_scalar(field: Field, value: Any) -> Any:
    if value is None:
        return None
    if field.type == OBJECT:
        return {c.name: _from_arrow_value(c, value.get(c.name)) for c in field.children}
    if field.type == "date":
        return iso(to_ms(value))
    return value


def records_to_table(records: Iterable[dict]) -> pa.Table:
    """Incident records -> an Arrow table of incident_schema() (keys outside the schema are an
    error: the schema is the contract)."""
    fields = incident_fields()
    rows = []
    for record in records:
        unknown = sorted(set(record) - set(fields))
        if unknown:
            raise VigieError(f"incident {record.get('incident.id')}: keys {unknown} are not in "
                             "schemas/incidents.yml")
        rows.append({name: _to_arrow_value(f, record.get(name)) for name, f in fields.items()})
    return pa.Table.from_pylist(rows, schema=incident_schema())


def table_to_records(table: pa.Table) -> list[dict]:
    """An Arrow table of incident_schema() -> records as record.py builds them."""
    fields = incident_fields()
    return [{name: _from_arrow_value(fields[name], row[name]) for name in table.column_names}
            for row in table.to_pylist()]
