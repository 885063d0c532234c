"""Impossible travel: two successful VPN logins of one account too far apart for the time
between them.

In: enriched event tables (`logins_from_events` keeps successful VPN logins from public
addresses with a known location) and, per account, its logins in any order. Out: `TravelPair`s
(`impossible_travel`, which sorts by event time itself) and signal rows (`travel_signals`,
schemas/signals.yml, deterministic ids, both events as evidence).

Locations are the GeoIP City coordinates when the event has them (precision "city"), else the
country's centroid (precision "country", see centroids.py); a pair is judged at the coarser of
its two precisions. Consecutive logins (in event time) are compared; a pair is impossible when
the speed it needs exceeds `max_speed_kmh` (default: an airliner, 900 km/h) and the distance
exceeds `min_distance_km` (absorbs the imprecision of GeoIP and of centroids). Logins within
one country at country precision are never a pair.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.detection.signals import signal_id
from pipelines.correlation.centroids import CENTROIDS
from pipelines.schema import signal_schema

LOGIN_ACTIONS = ("vpn-login-success", "vpn-session-start")
DEFAULT_MAX_SPEED_KMH = 900.0
DEFAULT_MIN_DISTANCE_KM = 300.0
EARTH_RADIUS_KM = 6371.0088
TRAVEL_RULE = {
    "rule.id": "5f0c1a52-7d4e-4b8a-9a61-3c2e8f7d9b10",
    "rule.name": "Impossible Travel Between Two VPN Logins of One Account",
    "rule.level": "high",
    "rule.status": "experimental",
    "rule.author": "Vigie project",
    "rule.description": ("Two successful VPN logins of the same account from places farther apart "
                         "than an airliner could cover in the time between them: the credential "
                         "is used by someone else (or through an anonymiser)."),
    "rule.references": [],
    "rule.tags": ["attack.initial-access", "attack.t1078", "attack.t1133"],
}
LOGIN_COLUMNS = ("event.id", "@timestamp", "user.name", "source.ip", "source.geo.country_iso_code",
                 "source.geo.location", "event.dataset", "log.file.path", "log.offset",
                 "observer.hostname")


@dataclass(frozen=True)
class Login:
    """One successful login, as much of it as travel needs (timestamp: ms since the epoch, UTC)."""

    event_id: str
    timestamp: int
    user: str
    ip: str | None
    country: str | None
    lat: float | None = None
    lon: float | None = None
    dataset: str | None = None
    path: str | None = None
    offset: int | None = None
    observer: str | None = None

    def location(self) -> tuple[float, float, str] | None:
        """(lat, lon, precision) or None when neither city coordinates nor a centroid exist."""
        if self.lat is not None and self.lon is not None:
            return self.lat, self.lon, "city"
        centroid = CENTROIDS.get(self.country or "")
        return (centroid[0], centroid[1], "country") if centroid else None


@dataclass(frozen=True)
class TravelPair:
    """Two consecutive logins of one account that no journey explains."""

    first: Login
    second: Login
    distance_km: float
    speed_kmh: float
    precision: str


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def impossible_travel(logins: Iterable[Login], max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
                      min_distance_km: float = DEFAULT_MIN_DISTANCE_KM) -> list[TravelPair]:
    """The impossible pairs among one account's logins, given in any order (sorted here by
    event time, then event id, so the answer never depends on arrival order)."""
    located = [(login, login.location()) for login in logins]
    located = sorted(((l, loc) for l, loc in located if loc is not None),
                     key=lambda item: (item[0].timestamp, item[0].event_id))
    pairs = []
    for (a, (lat1, lon1, p1)), (b, (lat2, lon2, p2)) in zip(located, located[1:]):
        precision = "city" if p1 == p2 == "city" else "country"
        if precision == "country" and a.country == b.country:
            continue
        km = distance_km(lat1, lon1, lat2, lon2)
        if km <= min_distance_km:
            continue
        hours = (b.timestamp - a.timestamp) / 3_600_000
        speed = math.inf if hours <= 0 else km / hours
        if speed > max_speed_kmh:
            pairs.append(TravelPair(a, b, km, speed, precision))
    return pairs


def logins_from_events(table: pa.Table) -> list[Login]:
    """Successful VPN logins of named accounts from public addresses with a known country."""
    needed = set(LOGIN_COLUMNS) | {"event.action", "event.outcome", "vigie.source.internal"}
    if table.num_rows == 0 or not needed <= set(table.column_names):
        return []
    mask = pc.and_(pc.and_(pc.is_in(table["event.action"], pa.array(LOGIN_ACTIONS)),
                           pc.equal(table["event.outcome"], "success")),
                   pc.and_(pc.and_(pc.is_valid(table["user.name"]), pc.invert(pc.fill_null(table["vigie.source.internal"], True))),
                           pc.is_valid(table["source.geo.country_iso_code"])))
    rows = table.filter(pc.fill_null(mask, False)).select(list(LOGIN_COLUMNS)).to_pylist()
    out = []
    for r in rows:
        location = r["source.geo.location"] or {}
        out.append(Login(r["event.id"], int(r["@timestamp"].timestamp() * 1000), r["user.name"],
                         r["source.ip"], r["source.geo.country_iso_code"], location.get("lat"),
                         location.get("lon"), r["event.dataset"], r["log.file.path"], r["log.offset"],
                         r["observer.hostname"]))
    return out


def travel_signals(pairs: list[TravelPair]) -> pa.Table:
    """Signal rows (schemas/signals.yml) for impossible pairs: the later login is the matched
    event; both are in vigie.evidence.event_ids; id from the rule id and both event ids."""
    schema = signal_schema()
    rows = []
    for pair in pairs:
        a, b = pair.first, pair.second
        row = dict(TRAVEL_RULE)
        row.update({
            "signal.id": signal_id(TRAVEL_RULE["rule.id"], f"{a.event_id}+{b.event_id}"),
            "@timestamp": b.timestamp, "event.kind": "signal", "event.id": b.event_id,
            "event.dataset": b.dataset, "log.file.path": b.path, "log.offset": b.offset,
            "source.ip": b.ip, "user.name": b.user, "observer.hostname": b.observer,
            "vigie.evidence.event_ids": [a.event_id, b.event_id],
            "vigie.evidence.log_paths": [a.path, b.path],
            "vigie.evidence.log_offsets": [a.offset, b.offset],
            "vigie.travel.distance_km": round(pair.distance_km, 1),
            "vigie.travel.speed_kmh": round(pair.speed_kmh, 1) if math.isfinite(pair.speed_kmh) else None,
            "vigie.travel.precision": pair.precision,
            "vigie.travel.countries": [a.country, b.country],
        })
        rows.append(row)
    if not rows:
        return schema.empty_table()
    columns = {f.name: [r.get(f.name) for r in rows] for f in schema}
    columns["@timestamp"] = pa.array(columns["@timestamp"], pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    return pa.Table.from_arrays([pa.array(columns[f.name], f.type) if f.name != "@timestamp"
                                 else columns[f.name].cast(f.type) for f in schema], schema=schema)


def settle_logins(history: list[Login], due: Iterable[Login], gap_ms: int,
                  max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
                  min_distance_km: float = DEFAULT_MIN_DISTANCE_KM) -> tuple[list[TravelPair], list[Login]]:
    """Judge logins whose time has come (a stream's watermark passed them) against the account's
    recent settled logins -> (impossible pairs, the history to keep).

    Consecutive located logins (event time, then id) less than `gap_ms` apart are compared, as
    event-time sessions of that gap would group them; only pairs involving a due login are
    judged (the others were judged before). The history kept is the settled located logins
    within `gap_ms` of the latest one. Given every login of an account at once (history
    empty), the pairs are exactly those `impossible_travel` finds in each session."""
    due = [login for login in due if login.location() is not None]
    fresh = {(login.timestamp, login.event_id) for login in due}
    merged = sorted({(l.timestamp, l.event_id): l for l in [*history, *due]}.values(),
                    key=lambda l: (l.timestamp, l.event_id))
    pairs = []
    for a, b in zip(merged, merged[1:]):
        if b.timestamp - a.timestamp >= gap_ms:
            continue
        if (a.timestamp, a.event_id) in fresh or (b.timestamp, b.event_id) in fresh:
            pairs += impossible_travel([a, b], max_speed_kmh, min_distance_km)
    latest = merged[-1].timestamp if merged else 0
    return pairs, [l for l in merged if latest - l.timestamp < gap_ms]
