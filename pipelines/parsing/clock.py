"""Which occurrence of a repeated wall-clock time a line means, decided per file in file order.

When daylight saving ends, local times of one hour occur twice (Paris, 2026-10-25: 02:00-02:59
first in summer time, then again in winter time). A log written in local time without an offset
(syslog, Exim, some VPN products) cannot say which; the file's order can: once the clock goes
back, the repeated times are the second occurrence until the repeated hour is over.

Parsers read every local time as its first occurrence and set event.timezone to the zone they
read it in. `settle_fall_back(tables, clock)` then revisits, in file order (log.offset), the rows
whose time is ambiguous in their zone, carrying a `WallClock` from batch to batch of the same
file so that the answer does not depend on how the file was cut into batches: an ambiguous time
is the second occurrence when the file already went back, i.e. some earlier line of the file
showed a wall time later than it by more than `JITTER_MS` (lines of a busy log are a little out
of order). A file that crosses a fall-back transition is never cut into parallel slices
(sources/plan.py), so every batch of it passes through one clock.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

JITTER_MS = 60_000
TS = pa.timestamp("ms", tz="UTC")


@dataclass
class WallClock:
    """File-order state: the latest wall time seen (ms, naive local) and whether the file is
    inside the repeated hour after the clock went back."""

    latest_wall: int | None = None
    went_back: bool = False


def _walls(timestamps: pa.Array, zone: str) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """UTC timestamps read in `zone` -> (naive wall ms, earliest and latest UTC readings)."""
    wall = pc.local_timestamp(timestamps.cast(pa.timestamp("ms", tz=zone)))
    earliest = pc.assume_timezone(wall, timezone=zone, ambiguous="earliest", nonexistent="earliest")
    latest = pc.assume_timezone(wall, timezone=zone, ambiguous="latest", nonexistent="earliest")
    return np.asarray(wall.cast(pa.int64()), dtype=np.int64), earliest.cast(TS), latest.cast(TS)


def _settle_zone(stamps: pa.Array, zone: str, clock: WallClock) -> pa.Array:
    """Timestamps of rows read in `zone`, in file order -> the same with each ambiguous one
    turned into its second occurrence where the file went back (updates `clock`)."""
    walls, earliest, latest = _walls(stamps, zone)
    ambiguous = np.asarray(pc.not_equal(earliest, latest), dtype=bool)
    if not ambiguous.any():
        if len(walls):
            top = int(walls.max())
            clock.latest_wall = top if clock.latest_wall is None else max(clock.latest_wall, top)
            clock.went_back = False  # past (or before) the repeated hour
        return stamps
    second = np.zeros(len(walls), dtype=bool)
    for i, wall in enumerate(walls.tolist()):
        if ambiguous[i]:
            if clock.latest_wall is not None and wall < clock.latest_wall - JITTER_MS:
                clock.went_back = True
            second[i] = clock.went_back
        else:
            clock.went_back = False
        clock.latest_wall = wall if clock.latest_wall is None else max(clock.latest_wall, wall)
    return pc.if_else(pa.array(second), latest, earliest)


def settle_fall_back(tables: list[pa.Table | None], clock: WallClock) -> list[pa.Table | None]:
    """Event / fragment tables of one batch of one file -> the same tables with repeated local
    times resolved in file order (see the module docstring). Tables without local times are
    returned as they are."""
    if _only_utc(tables, clock):
        return tables
    pieces = []
    for k, table in enumerate(tables):
        if table is None or not table.num_rows or "event.timezone" not in table.column_names:
            continue
        local = pc.indices_nonzero(pc.is_valid(table["event.timezone"]))
        if len(local):
            pieces.append(pa.table({
                "ts": table["@timestamp"].take(local).cast(TS), "zone": table["event.timezone"].take(local),
                "table": pa.repeat(pa.scalar(k, pa.int32()), len(local)), "row": local.cast(pa.int64()),
                "offset": table["log.offset"].take(local).fill_null(0)}))
    if not pieces:
        return tables
    view = pa.concat_tables(pieces).sort_by([("offset", "ascending")])  # file order (stable)
    settled = view["ts"].combine_chunks()
    for zone in pc.unique(view["zone"]).to_pylist():
        mine = pc.indices_nonzero(pc.equal(view["zone"], zone))
        fixed = _settle_zone(settled.take(mine), zone, clock)
        spread = np.full(len(view), -1, dtype=np.int64)
        spread[np.asarray(mine)] = np.arange(len(mine))
        settled = pc.if_else(pa.array(spread >= 0), fixed.take(pa.array(np.maximum(spread, 0))), settled)
    out = list(tables)
    owner = np.asarray(view["table"].combine_chunks())
    rows = np.asarray(view["row"].combine_chunks())
    for k in np.unique(owner).tolist():
        table = out[k]
        index = np.full(table.num_rows, -1, dtype=np.int64)
        index[rows[owner == k]] = np.flatnonzero(owner == k)
        position = table.schema.get_field_index("@timestamp")
        field = table.schema.field(position)
        new = pc.if_else(pa.array(index >= 0), settled.take(pa.array(np.maximum(index, 0))),
                         table["@timestamp"].combine_chunks().cast(TS))
        out[k] = table.set_column(position, field, new.cast(field.type))
    return out


UTC_NAMES = frozenset({"UTC", "Etc/UTC"})  # zones whose clock never goes back


def _only_utc(tables: list[pa.Table | None], clock: WallClock) -> bool:
    """When every local time of the batch was read in UTC, nothing is ambiguous: move the clock
    past the batch as _settle_zone would (latest wall time, not inside a repeated hour) and say
    so; False (clock untouched) when some other zone, or a null time, needs the full pass."""
    latest = None
    for table in tables:
        if table is None or not table.num_rows or "event.timezone" not in table.column_names:
            continue
        zones = table["event.timezone"]
        if zones.null_count == len(zones):
            continue
        if not set(pc.unique(zones).drop_null().to_pylist()) <= UTC_NAMES:
            return False
        stamps = table["@timestamp"].filter(pc.is_valid(zones))
        if stamps.null_count or stamps.type != TS:
            return False
        top = pc.max(stamps.cast(pa.int64())).as_py()
        latest = top if latest is None else max(latest, top)
    if latest is not None:
        clock.latest_wall = latest if clock.latest_wall is None else max(clock.latest_wall, latest)
        clock.went_back = False
    return True
