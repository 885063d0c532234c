"""Times of incident records: event times as integer milliseconds since the epoch (UTC) inside,
ISO 8601 UTC strings with milliseconds and a "Z" outside ("2026-11-27T17:42:05.123Z").

In: datetimes (naive ones are UTC), ISO strings, or integer milliseconds. Out: milliseconds, or
the ISO string. A value that is none of these raises ValueError: no time is guessed.
"""
from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(value: Any) -> int:
    """A signal's time (datetime, ISO 8601 string or integer milliseconds) -> epoch ms (UTC)."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(round(value))
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        value = dt.datetime.fromisoformat(text)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    raise ValueError(f"not a time: {value!r}")


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds -> "YYYY-MM-DDTHH:MM:SS.mmmZ" (None stays None)."""
    if ms is None:
        return None
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def add_months(ms: int, months: int) -> int:
    """The same wall-clock time (UTC) `months` calendar months later; the day is clamped to the
    end of a shorter month (31 January + 1 month = 28 or 29 February)."""
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return to_ms(moment.replace(year=year, month=month, day=day))
