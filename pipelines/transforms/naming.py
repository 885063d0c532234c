"""Deterministic names for tables made inside the pipeline (stitched events, travel signals).

Tables travel as (name, table) pairs; a name built from the ids the table holds stays the same
from one run to the next, so the files written from it do too.
"""
from __future__ import annotations

import hashlib

import pyarrow as pa


def named_by_ids(table: pa.Table, prefix: str, id_column: str) -> tuple[str, pa.Table]:
    """table -> (`<prefix>-<digest of its ids in order>`, table)."""
    digest = hashlib.blake2b(digest_size=8)
    for value in table[id_column].to_pylist():
        digest.update(value.encode())
    return f"{prefix}-{digest.hexdigest()}", table
