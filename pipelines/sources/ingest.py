"""One planned slice -> events, fragments, dead letters and line counts (pure, no Beam).

This is the whole per-slice hot path: read the slice (reading.py), screen lines, run the
file's parser batch by batch. Counts are keyed (family, counter) with the counter names of
summary.json. A parser that fails on a batch (a bug, never expected) does not stop the run: the
batch's lines are dead-lettered with the error as the reason.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pyarrow as pa

from pipelines.parsing import format_by_name
from pipelines.parsing.clock import WallClock, settle_fall_back
from pipelines.parsing.base import LogFormat, ParseContext, ParseResult, build_dead_letters
from pipelines.sources.files import DamagedInput, FileSlice, RawBatch, fields_in_force, read_slice
from pipelines.sources.screening import screen_lines
from pipelines.model import FILE, Origin, dead_letters, with_origin


@dataclass(frozen=True)
class ReadSettings:
    """How to read: batch size, line limit, timezone for local timestamps."""

    batch_bytes: int = 8 * 1024 * 1024
    max_line_bytes: int = 64 * 1024
    timezone: str = "UTC"


@dataclass
class SliceOutput:
    """What one batch of a slice produced."""

    events: pa.Table | None = None
    fragments: pa.Table | None = None
    dead_letters: pa.Table | None = None
    counts: Counter = field(default_factory=Counter)  # (family, counter) -> n


def _unrecognised(batch, piece: FileSlice) -> ParseResult:
    """Every line of a file whose format was not recognised becomes a dead letter."""
    reason = "log format not recognised (pass --format to force one)"
    dead = build_dead_letters(batch, np.arange(len(batch)), reason, None, family=piece.family,
                              stage="detect")
    return ParseResult(events=None, dead_letters=dead)


def parse_slice(piece: FileSlice, settings: ReadSettings) -> Iterator[SliceOutput]:
    """Read and parse one slice; yield one SliceOutput per batch of lines, in file order. One
    WallClock goes from batch to batch, so repeated local times are settled in file order."""
    fmt = format_by_name(piece.format_name) if piece.format_name else None
    clock = WallClock()
    for raw in _raw_batches(piece, settings):
        if isinstance(raw, DamagedInput):
            yield SliceOutput(dead_letters=damaged_input_letter(piece, raw))
        else:
            yield parse_batch(raw, piece, settings, fmt, clock)


def _raw_batches(piece: FileSlice, settings: ReadSettings) -> Iterator[RawBatch | DamagedInput]:
    """The slice's raw batches; a damaged compressed file ends them with the DamagedInput."""
    try:
        yield from read_slice(piece, settings.batch_bytes)
    except DamagedInput as exc:
        yield exc


DAMAGED = "compressed input is damaged: the rest of the file could not be read"


def damaged_input_letter(piece: FileSlice, exc: DamagedInput) -> pa.Table:
    """A dead letter (carrying no line) saying where a damaged compressed file broke off."""
    return dead_letters(1, stage="read", reason=DAMAGED, detail=exc.detail, family=piece.family,
                        format=piece.format_name, raw=b"", raw_text="", lines=0,
                        **with_origin(Origin(FILE, piece.path, exc.offset)))


def parse_batch(raw: RawBatch, piece: FileSlice, settings: ReadSettings,
                fmt: LogFormat | None, clock: WallClock | None = None) -> SliceOutput:
    """Screen and parse one raw batch of a slice (see the module docstring); `clock` carries the
    file-order state of local times from the previous batch of the same file."""
    out = SliceOutput()
    out.counts[(piece.family, "lines_read")] += len(raw.lines)
    screened = screen_lines(raw, piece, settings.max_line_bytes)
    for reason, n in screened.skipped.items():
        out.counts[(piece.family, "lines_skipped")] += n
        out.counts[(piece.family, f"skipped: {reason}")] += n
    batch = screened.batch
    dead_parts = [screened.dead_letters]
    if len(batch):
        if fmt is None:
            result = _unrecognised(batch, piece)
        else:
            first_offset = int(raw.offsets[0]) if len(raw.offsets) else 0
            ctx = ParseContext(timezone=settings.timezone,
                               w3c_fields=fields_in_force(piece.w3c_directives, first_offset),
                               **({"reference_time": piece.reference_time} if piece.reference_time else {}))
            try:
                result = fmt.parse(batch, ctx)
            except Exception as exc:  # noqa: BLE001 - a parser bug must not lose lines
                reason = f"parser {fmt.name} failed on this batch: {type(exc).__name__}: {exc}"
                result = ParseResult(events=None, dead_letters=build_dead_letters(
                    batch, np.arange(len(batch)), reason, fmt, stage="parse"))
        for reason, n in result.skipped.items():
            out.counts[(piece.family, "lines_skipped")] += n
            out.counts[(piece.family, f"skipped: {reason}")] += n
        events, fragments = settle_fall_back([result.events, result.fragments], clock or WallClock())
        out.events = events if events is not None and events.num_rows else None
        out.fragments = fragments if fragments is not None and fragments.num_rows else None
        dead_parts.append(result.dead_letters)
    dead = pa.concat_tables([d for d in dead_parts if d is not None and d.num_rows] or [dead_parts[0]])
    out.dead_letters = dead if dead.num_rows else None
    return out
