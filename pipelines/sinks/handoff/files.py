"""Files destination: what works when nothing else does (no network, a USB key, a share).

In: a Rendered incident. Out, in the folder: `incidents.jsonl` (one line per incident revision,
appended once), and `<incident.id>.r<revision>.json`, `.<lang>.html` and `.<lang>.md`. Files are
written through a temporary name and renamed, so a reader never sees half a file; writing the
same revision again rewrites the same files and adds no second JSONL line.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import orjson

from pipelines.errors import VigieError
from pipelines.reports.view import file_stem
from pipelines.sinks.delivery import DeliveryError
from pipelines.sinks.handoff.base import Rendered

JSONL = "incidents.jsonl"


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _has_line(jsonl: Path, incident_id: str, revision: int) -> bool:
    if not jsonl.is_file():
        return False
    with jsonl.open("rb") as fh:
        for line in fh:
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if row.get("incident.id") == incident_id and row.get("incident.revision") == revision:
                return True
    return False


@dataclass
class FilesDestination:
    """Writes incident records and reports into `folder` (see the module docstring)."""

    folder: Path
    kind: str = "files"

    @property
    def key(self) -> str:
        return f"files {Path(self.folder).resolve()}"

    def secrets(self) -> Iterable[str]:
        return []

    def check(self) -> None:
        """The folder exists (or can be made) and is writable."""
        try:
            Path(self.folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VigieError(f"cannot create the handoff folder {self.folder}: {exc.strerror}") from None
        if not os.access(self.folder, os.W_OK):
            raise VigieError(f"the handoff folder {self.folder} is not writable")

    def deliver(self, item: Rendered) -> str:
        folder = Path(self.folder)
        stem = f"{file_stem(item.record)}.r{item.revision}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _atomic_write(folder / f"{stem}.json", item.record_json() + b"\n")
            _atomic_write(folder / f"{stem}.{item.lang}.html", item.html.encode("utf-8"))
            _atomic_write(folder / f"{stem}.{item.lang}.md", item.markdown.encode("utf-8"))
            jsonl = folder / JSONL
            if not _has_line(jsonl, item.incident_id, item.revision):
                with jsonl.open("ab") as fh:
                    fh.write(orjson.dumps(item.record, option=orjson.OPT_SORT_KEYS) + b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as exc:
            raise DeliveryError(f"files {folder}: {exc.strerror or exc}", transient=False,
                                cause="write failed") from None
        return f"{stem}.json"
