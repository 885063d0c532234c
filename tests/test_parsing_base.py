"""Shared parser helpers: ids, year inference, daylight saving, impossible dates."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from pipelines.parsing.base import ParseContext, as_list, event_ids, parse_local, parse_syslog, parse_zoned

UTC = dt.timezone.utc


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_event_ids_are_file_key_then_offset():
    ids = event_ids("0123456789abcdef", np.array([0, 255, 2 ** 40])).to_pylist()
    assert ids == ["0123456789abcdef0000000000000000", "0123456789abcdef00000000000000ff",
                   "0123456789abcdef0000010000000000"]


def test_as_list_keeps_nulls():
    assert as_list(pa.array(["a", None, "b"])).to_pylist() == [["a"], None, ["b"]]


def test_syslog_year_survives_new_year():
    ctx = ParseContext(timezone="Europe/Paris", reference_time=utc(2027, 1, 2, 8, 0))
    got = parse_syslog(pa.array(["Dec 31 23:59:00", "Jan  1 00:01:00"]), ctx).to_pylist()
    assert got == [utc(2026, 12, 31, 22, 59), utc(2026, 12, 31, 23, 1)]


def test_spring_forward_gap_does_not_fail():
    got = parse_local(pa.array(["2026-03-29 02:30:00"]), "%Y-%m-%d %H:%M:%S", "Europe/Paris").to_pylist()
    assert got[0] is not None


def test_impossible_dates_are_null_not_rolled_over():
    ctx = ParseContext(timezone="UTC", reference_time=utc(2026, 12, 1))
    assert parse_syslog(pa.array(["Feb 30 10:00:00", "Nov 31 10:00:00", "Nov 30 10:00:00"]), ctx).to_pylist() == [
        None, None, utc(2026, 11, 30, 10)]
    zoned = parse_zoned(pa.array(["31/Apr/2026:10:00:00 +0200", "30/Apr/2026:10:00:00 +0200"]), "%d/%b/%Y:%H:%M:%S %z")
    assert zoned.to_pylist() == [None, utc(2026, 4, 30, 8)]
