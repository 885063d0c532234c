"""EnrichEvents and DetectImpossibleTravel: the Beam shell of pipelines/enrichment/.

EnrichEvents: (name, events table) -> (name, enriched table). The Enricher is loaded on the
driver (so a bad database, list or inventory fails before the run) and shipped with the DoFn;
each DoFn instance keeps its per-address caches across the batches it processes.

DetectImpossibleTravel: enriched (name, events) -> (name, signals). Successful VPN logins are
keyed by account and grouped in event-time session windows (gap `gap_hours`), then sorted by
event time inside the group, so batch replay and streaming compare the same consecutive
pairs whatever the arrival order. Two consecutive logins further apart than the gap are never
compared; with the default of 24 hours that loses nothing, since at 900 km/h any two places on
Earth are less than 23 hours apart. In streaming, an account's window closes (and its pairs
are judged) when the watermark passes its last login plus the gap.
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms import window

from pipelines.enrichment.enrich import Enricher
from pipelines.correlation.travel import (DEFAULT_MAX_SPEED_KMH, DEFAULT_MIN_DISTANCE_KM,
                                         impossible_travel, logins_from_events, travel_signals)
from pipelines.transforms.coders import typed_as_named_tables
from pipelines.transforms.naming import named_by_ids


class EnrichEventsFn(beam.DoFn):
    """One event batch -> the same batch with the enrichment columns filled."""

    def __init__(self, enricher: Enricher):
        self.enricher = enricher

    def process(self, element):
        name, events = element
        yield name, self.enricher.enrich(events)


class EnrichEvents(beam.PTransform):
    """(name, events) batches -> (name, enriched events) batches."""

    def __init__(self, enricher: Enricher):
        super().__init__()
        self.enricher = enricher

    def expand(self, events):
        return typed_as_named_tables(events | "EnrichBatch" >> beam.ParDo(EnrichEventsFn(self.enricher)))


def _keyed_logins(element):
    """(name, events) -> (account, Login) stamped with the login's event time (seconds)."""
    _, events = element
    for login in logins_from_events(events):
        yield window.TimestampedValue((login.user.lower(), login), login.timestamp / 1000)


class DetectImpossibleTravel(beam.PTransform):
    """Enriched (name, events) -> (name, signals) of impossible travel (see the module doc)."""

    def __init__(self, max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
                 min_distance_km: float = DEFAULT_MIN_DISTANCE_KM, gap_hours: float = 24.0):
        super().__init__()
        self.max_speed_kmh = max_speed_kmh
        self.min_distance_km = min_distance_km
        self.gap_seconds = int(gap_hours * 3600)

    def expand(self, events):
        max_speed, min_km = self.max_speed_kmh, self.min_distance_km
        signals = (events
                   | "KeyLoginsByAccount" >> beam.FlatMap(_keyed_logins)
                   | "LoginSessions" >> beam.WindowInto(window.Sessions(self.gap_seconds))
                   | "GroupLoginsByAccount" >> beam.GroupByKey()
                   | "JudgeTravel" >> beam.MapTuple(
                       lambda _, logins: travel_signals(impossible_travel(logins, max_speed, min_km)))
                   | "KeepSignals" >> beam.Filter(lambda table: table.num_rows > 0)
                   | "TravelToGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
                   | "NameTravelSignals" >> beam.Map(named_by_ids, "travel", "signal.id"))
        return typed_as_named_tables(signals)
