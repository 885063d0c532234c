"""Screening raw lines before parsing: blank lines skipped, over-long lines dead-lettered, the
rest decoded into a `LineBatch` for the file's parser.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import LineBatch
from pipelines.schema import DEAD_LETTER_SCHEMA
from pipelines.sources.files import FileSlice, RawBatch


@dataclass
class ScreenedBatch:
    """What screening made of a RawBatch."""

    batch: LineBatch  # decodable, non-blank lines within the length limit
    dead_letters: pa.Table
    skipped: dict[str, int]


def screen_lines(raw: RawBatch, piece: FileSlice, max_line_bytes: int) -> ScreenedBatch:
    """Set aside blank, over-long and non-UTF-8 lines; decode the rest (see module docstring)."""
    lengths = np.asarray(pc.binary_length(raw.lines), dtype=np.int64) if len(raw.lines) else np.zeros(0, np.int64)
    too_long = lengths > max_line_bytes
    valid_utf8 = _utf8_mask(raw.lines)
    text = raw.lines.view(pa.string())
    blank = np.zeros(len(lengths), dtype=bool)
    if len(lengths):
        candidates = valid_utf8 & ~too_long
        all_space = np.asarray(pc.utf8_is_space(pc.if_else(pa.array(candidates), text, pa.scalar("x")))
                               .fill_null(False), dtype=bool)
        blank = candidates & ((lengths == 0) | all_space)
    keep = valid_utf8 & ~too_long & ~blank
    dead_parts = []
    for mask, reason in ((too_long, f"line exceeds --max-line-bytes {max_line_bytes}"),
                         (~valid_utf8 & ~too_long, "line is not valid UTF-8")):
        idx = np.flatnonzero(mask)
        if len(idx):
            dead_parts.append(_screen_dead_letters(raw, idx, lengths, reason, piece))
    keep_idx = np.flatnonzero(keep)
    lines = text if len(keep_idx) == len(lengths) else text.take(pa.array(keep_idx))
    batch = LineBatch(path=piece.path, file_key=piece.file_key, lines=lines,
                      offsets=raw.offsets[keep_idx])
    dead = pa.concat_tables(dead_parts) if dead_parts else DEAD_LETTER_SCHEMA.empty_table()
    n_blank = int(blank.sum())
    return ScreenedBatch(batch, dead, {"blank line": n_blank} if n_blank else {})


def _utf8_mask(lines: pa.BinaryArray) -> np.ndarray:
    """True where a line is valid UTF-8 (whole-batch check first; per line only if it fails)."""
    n = len(lines)
    try:
        lines.view(pa.string()).validate(full=True)
        return np.ones(n, dtype=bool)
    except pa.ArrowInvalid:
        pass
    mask = np.ones(n, dtype=bool)
    for i, value in enumerate(lines.to_pylist()):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            mask[i] = False
    return mask


def _screen_dead_letters(raw: RawBatch, idx: np.ndarray, lengths: np.ndarray, reason: str,
                         piece: FileSlice) -> pa.Table:
    """Dead letters for lines screened out: raw bytes kept whole, readable text when possible."""
    n = len(idx)
    raw_values = raw.lines.take(pa.array(idx))
    texts = [v.decode("utf-8", errors="replace") if v is not None else None
             for v in raw_values.to_pylist()]
    reasons = [f"{reason} ({lengths[i]} bytes)" for i in idx]
    now = dt.datetime.now(dt.timezone.utc)
    return pa.Table.from_arrays([
        pa.array(["read"] * n), pa.array(reasons), pa.array([piece.family] * n),
        pa.array([piece.format_name] * n, pa.string()), raw_values, pa.array(texts, pa.string()),
        pa.array([piece.path] * n), pa.array(raw.offsets[idx], pa.int64()),
        pa.array(np.ones(n, np.int32)), pa.array([now] * n, pa.timestamp("ms", tz="UTC")),
    ], schema=DEAD_LETTER_SCHEMA)
