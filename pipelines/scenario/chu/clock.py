"""The scenario's clock: the evening's date, zone and window, and times in epoch milliseconds.

Times inside the scenario are integers, epoch milliseconds (cheap to draw, add and sort); this
module makes them from local wall-clock times, and turns them into the aware datetimes the log
line writers take (`moment`) and into truth.json's ISO 8601 UTC (`iso_utc`).
"""
from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

DATE = dt.date(2026, 11, 27)
TIMEZONE = "Europe/Paris"

TZ = ZoneInfo(TIMEZONE)
SECOND = 1_000
MINUTE = 60_000
HOUR = 3_600_000


def local_ms(hour: int, minute: int, second: int = 0) -> int:
    """Epoch milliseconds of a local wall-clock time on DATE."""
    return int(dt.datetime.combine(DATE, dt.time(hour, minute, second), TZ).timestamp()) * 1000


START_MS = local_ms(17, 0)
END_MS = local_ms(23, 0)
SCENARIO_START = dt.datetime.fromtimestamp(START_MS // 1000, dt.timezone.utc)
SCENARIO_END = dt.datetime.fromtimestamp(END_MS // 1000, dt.timezone.utc)


@functools.lru_cache(maxsize=None)
def _local_second(sec: int) -> dt.datetime:
    """The local time of an epoch second (a few thousand distinct seconds serve 200,000 lines)."""
    return dt.datetime.fromtimestamp(sec, TZ)


def moment(ms: int) -> dt.datetime:
    """Epoch milliseconds -> the aware local datetime the log line writers take."""
    second = _local_second(ms // 1000)
    return second.replace(microsecond=ms % 1000 * 1000) if ms % 1000 else second


def iso_utc(ms: int) -> str:
    """ISO 8601 UTC to the second, for truth.json."""
    return f"{dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}"
