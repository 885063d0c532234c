"""The scenario's clock: the evening's date, zone and window, and times in epoch milliseconds.

Times inside the scenario are integers, epoch milliseconds; this module turns local wall-clock
times into them and renders them for truth.json and for the log formats (cached per second: a
few thousand distinct seconds serve 200,000 lines).
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

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@functools.lru_cache(maxsize=None)
def wall(sec: int) -> tuple[dt.datetime, str]:
    """Local wall-clock time of an epoch second, with its UTC offset as '+0100'."""
    local = dt.datetime.fromtimestamp(sec, TZ)
    minutes = int(local.utcoffset().total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return local, f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


@functools.lru_cache(maxsize=None)
def syslog_time(sec: int) -> str:
    """'Nov 27 19:02:11' (local, no year)."""
    d, _ = wall(sec)
    return f"{_MONTHS[d.month - 1]} {d.day:2d} {d:%H:%M:%S}"


@functools.lru_cache(maxsize=None)
def apache_time(sec: int) -> str:
    """'27/Nov/2026:19:02:11 +0100'."""
    d, offset = wall(sec)
    return f"{d.day:02d}/{_MONTHS[d.month - 1]}/{d.year}:{d:%H:%M:%S} {offset}"


@functools.lru_cache(maxsize=None)
def local_time(sec: int) -> str:
    """'2026-11-27 19:02:11' (local, no zone: Exim)."""
    return f"{wall(sec)[0]:%Y-%m-%d %H:%M:%S}"


@functools.lru_cache(maxsize=None)
def utc_time(sec: int) -> str:
    """'2026-11-27 18:02:11' (UTC: IIS)."""
    return f"{dt.datetime.fromtimestamp(sec, dt.timezone.utc):%Y-%m-%d %H:%M:%S}"


@functools.lru_cache(maxsize=None)
def asa_time(sec: int) -> str:
    """'Nov 27 2026 19:02:11' (local)."""
    d, _ = wall(sec)
    return f"{_MONTHS[d.month - 1]} {d.day:02d} {d.year} {d:%H:%M:%S}"


@functools.lru_cache(maxsize=None)
def fortigate_time(sec: int) -> tuple[str, str]:
    """('date=2026-11-27 time=19:02:11', '+0100')."""
    d, offset = wall(sec)
    return f"date={d:%Y-%m-%d} time={d:%H:%M:%S}", offset


def iso_utc(ms: int) -> str:
    """ISO 8601 UTC to the second, for truth.json."""
    return f"{dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}"
