"""Shared helpers of the parser tests (not a test module): lines as the LineBatch one file's
reader would give, parsed with every line accounted for, the one event a line makes, and a
field-by-field comparison that names every mismatch."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipelines.parsing.base import LineBatch, LogFormat, ParseContext, ParseResult


def batch_of(lines: list[str], path: str = "test.log") -> LineBatch:
    """`lines` as read from one file: offsets are byte positions (one byte per terminator)."""
    sizes = np.array([len(line.encode("utf-8")) + 1 for line in lines], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if lines else np.zeros(0, np.int64)
    return LineBatch(path, "0" * 16, pa.array(lines, pa.string()), offsets)


def parse_checked(fmt: LogFormat, lines: list[str], ctx: ParseContext, path: str = "test.log") -> ParseResult:
    """Parse `lines`, and check that every line is accounted for exactly once."""
    result = fmt.parse(batch_of(lines, path), ctx)
    assert result.lines_accounted() == len(lines)
    return result


def first_event(fmt: LogFormat, line: str, ctx: ParseContext, path: str = "test.log") -> dict:
    """The event `line` makes, as a dict (the line must not be a dead letter)."""
    result = parse_checked(fmt, [line], ctx, path)
    assert result.dead_letters.num_rows == 0, result.dead_letters.column("reason").to_pylist()
    return result.events.to_pylist()[0]


def check(event: dict, expected: dict) -> None:
    """Every expected field has its value in `event`; the message lists all that differ."""
    mismatches = {k: (event[k], v) for k, v in expected.items() if event[k] != v}
    assert not mismatches, f"field: (got, expected) {mismatches}"
