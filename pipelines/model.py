"""Source-agnostic records every room shares: where a line came from, and the one dead-letter builder.

`Origin` says where something came from: a file and a byte offset, a Kafka record (topic,
partition, offset, and the shipper's file and offset when its headers carry them), a document on
its way to Elasticsearch, or an incident on its way to a destination.

`dead_letters(n, stage=..., reason=..., ...)` builds a table of `n` dead-letter rows conforming
to schemas/deadletters.yml from columns or scalars (a scalar is repeated on every row); it is the
only place dead letters are made, whatever the step (read, detect, parse, index, deliver).

The event-id contract (README, "Event ids"):
- a line read from a file: the file's key (16 hex chars, blake2b of its first 64 KiB once
  decompressed) followed by the line's byte offset (16 hex chars);
- a Kafka record whose headers carry the shipper's file key and byte offset: the same id as that
  line replayed from the file, so replay and live detection give the same ids;
- a Kafka record without them: blake2b-128 of topic, partition, offset and the line itself
  (`stream_event_id`), stable across restarts of the job.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from pipelines.schema import dead_letter_schema

FILE, KAFKA, INDEX, DELIVERY = "file", "kafka", "index", "delivery"


@dataclass(frozen=True)
class Origin:
    """Where a line, a document or an incident came from (see the module docstring)."""

    kind: str  # FILE, KAFKA, INDEX or DELIVERY
    path: str | None = None
    offset: int | None = None
    topic: str | None = None
    partition: int | None = None

    def columns(self) -> dict[str, Any]:
        """The origin.* columns of a dead letter (scalars)."""
        return {"origin.kind": self.kind, "origin.path": self.path, "origin.offset": self.offset,
                "origin.topic": self.topic, "origin.partition": self.partition}


def stream_event_id(topic: str, partition: int, offset: int, line: bytes) -> str:
    """Event id of a Kafka record that carries no file origin: 32 hex chars of blake2b over its
    coordinates and its content."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{topic}\x00{partition}\x00{offset}\x00".encode())
    digest.update(line)
    return digest.hexdigest()


def _column(value: Any, n: int, arrow_type: pa.DataType) -> pa.Array:
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if isinstance(value, np.ndarray):
        value = pa.array(value)
    if isinstance(value, pa.Array):
        if len(value) != n:
            raise ValueError(f"dead-letter column has {len(value)} rows, expected {n}")
        return value if value.type == arrow_type else value.cast(arrow_type)
    if isinstance(value, list):
        return pa.array(value, arrow_type)
    return pa.repeat(pa.scalar(value, arrow_type), n) if value is not None else pa.nulls(n, arrow_type)


def dead_letters(n: int, **columns: Any) -> pa.Table:
    """`n` dead-letter rows. Keyword names are the schema's with '.' written '_' (origin_path=...);
    each value is an array of n values or a scalar for every row. `raw_text` defaults to `raw`
    decoded with backslash escapes, `written_at` to now, `lines` to 1."""
    schema = dead_letter_schema()
    given = {name.replace("_", ".", 1) if name.startswith("origin_") else name: value
             for name, value in columns.items()}
    unknown = set(given) - set(schema.names)
    if unknown:
        raise KeyError(f"not dead-letter fields (schemas/deadletters.yml): {sorted(unknown)}")
    if n == 0:
        return schema.empty_table()
    given.setdefault("lines", 1)
    given.setdefault("written_at", dt.datetime.now(dt.timezone.utc))
    if "raw_text" not in given and given.get("raw") is not None:
        raw = given["raw"]
        values = raw.to_pylist() if isinstance(raw, (pa.Array, pa.ChunkedArray)) else (
            raw if isinstance(raw, list) else [raw] * n)
        given["raw_text"] = [v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else v
                             for v in values]
    return pa.Table.from_arrays([_column(given.get(f.name), n, f.type) for f in schema], schema=schema)


def with_origin(origin: Origin) -> dict[str, Any]:
    """Keyword arguments of `dead_letters` for one origin (scalars)."""
    return {k.replace(".", "_", 1): v for k, v in origin.columns().items()}
