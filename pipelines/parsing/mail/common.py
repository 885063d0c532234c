"""What the Postfix and Exim parsers share: prefix splitting, ISO timestamps, decoding of header
values, outcomes of delivery statuses, per-line direction, and the split into events, fragments,
dead letters and skips.
"""
from __future__ import annotations

import email.errors
import email.header
import re
import urllib.parse
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (STITCH_KEY, LineBatch, LogFormat, ParseContext, ParseResult, TS_TYPE,
                                    build_dead_letters, build_events, local_to_utc, no_dead_letters)
from pipelines.parsing.columns import NULL_STR, per_run, with_millis

NETWORK = ("email", "network")  # event.category of connection-level lines
IP_CHARS = r"[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*"

def take_prefix(texts: pa.Array, pattern: str) -> tuple[pa.StructArray, pa.Array]:
    """An anchored prefix pattern -> its groups, and the rest of each text after the prefix.

    The rest is null where the prefix does not match. It is cut off with a replace rather than
    captured with '(?P<rest>.*)', which costs several times more in RE2.
    """
    found = pc.extract_regex(texts, pattern)
    return found, pc.if_else(found.is_valid(), cut_prefix(texts, pattern), NULL_STR)


def cut_prefix(texts: pa.Array, pattern: str) -> pa.Array:
    """The rest of each text after the anchored prefix `pattern` (unchanged where it does not
    match): for texts already known to match it."""
    return pc.replace_substring_regex(texts, re.sub(r"\(\?P<\w+>", "(?:", pattern), "")


def group(found: pa.StructArray, name: str) -> pa.Array:
    """A named group of an extract_regex result: null where no match or the group is empty."""
    values = found.field(name)
    return pc.if_else(pc.and_(found.is_valid(), pc.not_equal(values, "")), values, NULL_STR)


def decode_words(text: str) -> str:
    """RFC 2047 encoded words (=?utf-8?B?...?=) -> text; anything undecodable stays as logged."""
    if "=?" not in text:
        return text
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        return text


def decode_rfc2231(text: str) -> str:
    """An RFC 2231 extended value (utf-8''na%C3%AFve.pdf) -> text."""
    charset, _, rest = text.partition("''")
    if not rest:
        return text
    try:
        return urllib.parse.unquote(rest, encoding=charset or "utf-8", errors="replace")
    except LookupError:
        return urllib.parse.unquote(rest)


def iso_timestamps(date_time: pa.Array, fraction: pa.Array, zone: pa.Array,
                   ctx: ParseContext) -> tuple[pa.Array, pa.Array]:
    """'YYYY-MM-DD HH:MM:SS', its fraction digits and zone ('', Z, +01:00, +0100) -> UTC.

    Returns (timestamps, read_locally): rows without a zone are read in ctx.timezone.
    """
    zone = pc.fill_null(zone, "")
    zoned = pc.not_equal(zone, "")
    if date_time.null_count == len(date_time):  # e.g. a batch of BSD syslog headers
        return pa.nulls(len(date_time), TS_TYPE), pc.invert(zoned)

    def seconds(rows: np.ndarray) -> pa.Array:
        take = pa.array(rows)
        stamp, offset, has_zone = date_time.take(take), zone.take(take), zoned.take(take)
        offset = pc.replace_substring(pc.replace_substring(offset, "Z", "+0000"), ":", "")
        with_zone = pc.strptime(pc.binary_join_element_wise(stamp, offset, ""),
                                format="%Y-%m-%d %H:%M:%S%z", unit="ms", error_is_null=True)
        naive = pc.strptime(pc.if_else(has_zone, NULL_STR, stamp), format="%Y-%m-%d %H:%M:%S",
                            unit="ms", error_is_null=True)
        return pc.if_else(has_zone, with_zone.cast(TS_TYPE), local_to_utc(naive, ctx.timezone))

    stamps = per_run(pc.binary_join_element_wise(date_time, zone, " "), seconds)
    return with_millis(stamps, fraction), pc.invert(zoned)


STATUS_OUTCOME = {"sent": "success", "deliverable": "success", "deferred": "unknown",
                  "bounced": "failure", "expired": "failure", "undeliverable": "failure",
                  "rejected": "failure"}
SPF_OUTCOME = {"pass": "success", "fail": "failure", "softfail": "failure"}


@dataclass(frozen=True)
class Split:
    """The rows a parser reads on: the kept rows of its batch, fragments first then events (each
    in log order), so that the two tables are slices of every column (no take per column)."""

    order: np.ndarray  # the batch row of each row read on
    fragments: int  # how many of them (first) are fragments

    @classmethod
    def of(cls, keep: np.ndarray, is_fragment: np.ndarray) -> "Split":
        fragment_rows = np.flatnonzero(keep & is_fragment)
        return cls(np.concatenate([fragment_rows, np.flatnonzero(keep & ~is_fragment)]),
                   len(fragment_rows))

    def take(self, values):
        """An Arrow array or a numpy array of the batch's rows -> the rows read on."""
        if isinstance(values, np.ndarray):
            return values[self.order]
        return values.take(pa.array(self.order))


def result(batch: LineBatch, fmt: LogFormat, split: Split, timestamps: pa.Array,
           columns: dict[str, pa.Array], stitch_keys: pa.Array,
           dead: list[tuple[np.ndarray, str]], skipped: int) -> ParseResult:
    """The analysed rows (`split`'s) into events and fragments; dead letters and skips."""
    fragment_count, count = split.fragments, len(split.order)

    def part(start: int, stop: int) -> dict[str, pa.Array]:
        return {name: col.slice(start, stop - start) for name, col in columns.items()}

    events = build_events(batch, split.order[fragment_count:], fmt,
                          timestamps.slice(fragment_count), part(fragment_count, count))
    fragments = build_events(batch, split.order[:fragment_count], fmt, timestamps.slice(0, fragment_count),
                             part(0, fragment_count),
                             extra={STITCH_KEY: stitch_keys.slice(0, fragment_count)})
    letters = [build_dead_letters(batch, rows, reason, fmt) for rows, reason in dead if len(rows)]
    return ParseResult(
        events=events,
        dead_letters=(pa.concat_tables(letters).sort_by("origin.offset") if letters
                      else no_dead_letters()),
        skipped={"blank line": skipped} if skipped else {},
        fragments=fragments,
    )


def email_like(values: pa.Array) -> pa.Array:
    """Values that look like a mail address (contain '@'), null otherwise."""
    return pc.if_else(pc.match_substring(values, "@"), values, NULL_STR)
