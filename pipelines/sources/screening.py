"""Screening raw lines before parsing: blank lines are skipped, over-long lines dead-lettered,
and the rest decoded into a `LineBatch` for the source's parser.

Lines that are not valid UTF-8 (an exploit's binary payload, a Latin-1 log) are NOT set aside:
each invalid byte is written as a backslash escape (b"\\xe9" -> "\\\\xe9", like Apache's own
escaping), so that parsers read the line and rules see the attack, and the exact bytes travel
with the line (LineBatch.raw -> vigie.line.raw, flag vigie.line.invalid_utf8).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.model import dead_letters
from pipelines.parsing.base import LineBatch, StreamOrigin, no_dead_letters
from pipelines.sources.units import UnitBatch

TOO_LONG = "line exceeds --max-line-bytes"


@dataclass
class ScreenedBatch:
    """What screening made of a UnitBatch."""

    batch: LineBatch  # decodable, non-blank lines within the length limit
    dead_letters: pa.Table
    skipped: dict[str, int]


def line_batch(unit: UnitBatch, text: pa.StringArray, invalid_raw: pa.BinaryArray | None) -> LineBatch:
    """The decoded lines of a unit batch as the parsers' LineBatch (every line)."""
    origin = unit.origin
    stream = (StreamOrigin(origin.topic, origin.partition, unit.record_offsets)
              if origin.topic is not None else None)
    return LineBatch(path=origin.path, file_key=origin.file_key, lines=text, offsets=unit.offsets,
                     raw=invalid_raw, ids=unit.ids, stream=stream)


def screen_lines(raw: UnitBatch, max_line_bytes: int) -> ScreenedBatch:
    """Skip blank lines, dead-letter over-long ones, decode the rest (see module docstring)."""
    n = len(raw.lines)
    lengths = np.asarray(pc.binary_length(raw.lines), dtype=np.int64) if n else np.zeros(0, np.int64)
    too_long = lengths > max_line_bytes
    valid_utf8 = _utf8_mask(raw.lines)
    text, invalid_raw = _decoded(raw.lines, valid_utf8)
    blank = np.zeros(n, dtype=bool)
    if n:
        all_space = np.asarray(pc.utf8_is_space(text).fill_null(False), dtype=bool)
        blank = ~too_long & ((lengths == 0) | all_space)
    keep_idx = np.flatnonzero(~too_long & ~blank)
    long_idx = np.flatnonzero(too_long)
    every = line_batch(raw, text, invalid_raw)
    batch = every if len(keep_idx) == n else every.take(keep_idx)
    dead = no_dead_letters()
    if len(long_idx):
        part = every.take(long_idx)
        dead = dead_letters(
            len(long_idx), stage="read", reason=f"{TOO_LONG} {max_line_bytes}",
            detail=[f"{lengths[i]:,} bytes" for i in long_idx], family=raw.origin.family,
            format=raw.origin.format_name, id=part.event_ids(),
            raw=raw.lines.take(pa.array(long_idx)), raw_text=part.lines, **part.origin_columns())
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


def _decoded(lines: pa.BinaryArray, valid: np.ndarray) -> tuple[pa.StringArray, pa.BinaryArray | None]:
    """Lines as text (invalid bytes as backslash escapes) and, when some were invalid, their
    exact bytes (null where the line was valid)."""
    if valid.all():
        return lines.view(pa.string()), None
    bad = np.flatnonzero(~valid)
    escaped = [None] * len(lines)
    for i, value in zip(bad.tolist(), lines.take(pa.array(bad)).to_pylist()):
        escaped[i] = value.decode("utf-8", "backslashreplace")
    mask = pa.array(valid)
    # Where the line is valid the view is valid text; elsewhere the escaped form is taken.
    text = pc.if_else(mask, lines.view(pa.string()), pa.array(escaped, pa.string()))
    return text, pc.if_else(mask, pa.scalar(None, pa.binary()), lines)
