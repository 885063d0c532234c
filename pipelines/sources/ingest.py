"""One unit of lines (a file slice, a set of Kafka records) -> events, fragments, dead letters
and line counts (pure, no Beam).

This is the whole per-unit hot path, the same for every source: the unit gives its raw lines
batch by batch (sources/units.py), each batch is screened and parsed by its source's parser.
Counts are keyed (family, counter) with the counter names of summary.json. A parser that fails
on a batch (a bug, never expected) does not stop the run: the batch's lines are dead-lettered
with the error as the reason.
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
from pipelines.sources.screening import screen_lines
from pipelines.sources.units import LineOrigin, LineUnit, UnitBatch
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
    path: str = ""  # the file (or stream partition) the batch's lines came from


def _unrecognised(batch, origin: LineOrigin) -> ParseResult:
    """Every line of a source whose format was not recognised becomes a dead letter."""
    reason = ("log format not recognised (pass --format to force one)" if origin.topic is None else
              "log format not known for this topic (name it with --topic-format or the record "
              "header vigie.format)")
    dead = build_dead_letters(batch, np.arange(len(batch)), reason, None, family=origin.family,
                              stage="detect")
    return ParseResult(events=None, dead_letters=dead)


def parse_unit(unit: LineUnit, settings: ReadSettings) -> Iterator[SliceOutput]:
    """Read and parse one unit; yield one SliceOutput per batch of lines, in source order. One
    WallClock per file goes from batch to batch, so repeated local times are settled in file
    order."""
    clocks: dict[str, WallClock] = {}
    for batch in unit.batches(settings):
        origin = batch.origin
        if batch.damaged is not None:
            yield SliceOutput(dead_letters=damaged_input_letter(origin, *batch.damaged), path=origin.path)
            continue
        fmt = format_by_name(origin.format_name) if origin.format_name else None
        yield parse_batch(batch, settings, fmt, clocks.setdefault(origin.clock_key, WallClock()))


def parse_slice(piece, settings: ReadSettings) -> Iterator[SliceOutput]:
    """A planned file slice through parse_unit (kept for callers that name slices)."""
    return parse_unit(piece, settings)


DAMAGED = "compressed input is damaged: the rest of the file could not be read"


def damaged_input_letter(origin: LineOrigin, detail: str, offset: int) -> pa.Table:
    """A dead letter (carrying no line) saying where a damaged compressed file broke off."""
    return dead_letters(1, stage="read", reason=DAMAGED, detail=detail, family=origin.family,
                        format=origin.format_name, raw=b"", raw_text="", lines=0,
                        **with_origin(Origin(FILE, origin.path, offset)))


def parse_batch(raw: UnitBatch, settings: ReadSettings, fmt: LogFormat | None,
                clock: WallClock | None = None) -> SliceOutput:
    """Screen and parse one raw batch of a unit (see the module docstring); `clock` carries the
    file-order state of local times from the previous batch of the same file."""
    origin = raw.origin
    out = SliceOutput(path=origin.path)
    out.counts[(origin.family, "lines_read")] += len(raw.lines)
    screened = screen_lines(raw, settings.max_line_bytes)
    for reason, n in screened.skipped.items():
        out.counts[(origin.family, "lines_skipped")] += n
        out.counts[(origin.family, f"skipped: {reason}")] += n
    batch = screened.batch
    dead_parts = [screened.dead_letters]
    if len(batch):
        if fmt is None:
            result = _unrecognised(batch, origin)
        else:
            ctx = ParseContext(timezone=settings.timezone, w3c_fields=origin.w3c_fields,
                               **({"reference_time": origin.reference_time} if origin.reference_time else {}))
            try:
                result = fmt.parse(batch, ctx)
            except Exception as exc:  # noqa: BLE001 - a parser bug must not lose lines
                reason = f"parser {fmt.name} failed on this batch: {type(exc).__name__}: {exc}"
                result = ParseResult(events=None, dead_letters=build_dead_letters(
                    batch, np.arange(len(batch)), reason, fmt, stage="parse"))
        for reason, n in result.skipped.items():
            out.counts[(origin.family, "lines_skipped")] += n
            out.counts[(origin.family, f"skipped: {reason}")] += n
        events, fragments = settle_fall_back([result.events, result.fragments], clock or WallClock())
        out.events = events if events is not None and events.num_rows else None
        out.fragments = fragments if fragments is not None and fragments.num_rows else None
        dead_parts.append(result.dead_letters)
    dead = pa.concat_tables([d for d in dead_parts if d is not None and d.num_rows] or [dead_parts[0]])
    out.dead_letters = dead if dead.num_rows else None
    return out
