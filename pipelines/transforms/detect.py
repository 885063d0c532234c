"""Detections: Sigma rules on event batches, impossible travel, keyword rules on dead letters.

DetectSigma: (name, events table) -> (name, signals table). The RuleSet is compiled once on the
driver and shipped with the DoFn (it pickles to a few tens of KB and needs no pySigma on the
worker).

DetectInDeadLetters: (name, dead letters) -> (name, signals) of the keyword rules (rules that
read nothing but the raw line) on lines that could not become events: a line whose header
cannot be read still raises the signals its text calls for.

DetectImpossibleTravel: enriched (name, events) -> (name, signals). Successful VPN logins are
keyed by account and grouped in event-time session windows (gap `gap_hours`), then sorted by
event time inside the group, so batch replay and streaming compare the same consecutive
pairs whatever the arrival order. Two consecutive logins further apart than the gap are never
compared; with the default of 24 hours that loses nothing, since at 900 km/h any two places on
Earth are less than 23 hours apart. In streaming, an account's window closes (and its pairs
are judged) when the watermark passes its last login plus the gap.

SignalRows: (name, signals table) -> one dict per signal, timestamped with its event time: the
form in which every signal source meets (correlation attaches there).
"""
from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.transforms import window

from pipelines.correlation.travel import (DEFAULT_MAX_SPEED_KMH, DEFAULT_MIN_DISTANCE_KM,
                                          impossible_travel, logins_from_events, travel_signals)
from pipelines.detection.engine import RuleSet, detect
from pipelines.schema import event_schema
from pipelines.transforms.coders import typed_as_named_tables
from pipelines.transforms.naming import named_by_ids

KEYWORD_FIELDS = frozenset({"event.original"})


class DetectSigmaFn(beam.DoFn):
    """Evaluate every rule on one event batch; emit the batch's signals when there are any."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset

    def process(self, element):
        name, events = element
        signals = detect(self.ruleset, events)
        if signals.num_rows:
            yield name, signals


class DetectSigma(beam.PTransform):
    """(name, events) batches -> (name, signals) batches."""

    def __init__(self, ruleset: RuleSet):
        super().__init__()
        self.ruleset = ruleset

    def expand(self, events):
        return typed_as_named_tables(events | "EvaluateRules" >> beam.ParDo(DetectSigmaFn(self.ruleset)))


def keyword_rules(ruleset: RuleSet) -> RuleSet:
    """The rules that read nothing but the raw line (Sigma keywords): the ones that can judge a
    line that did not become an event."""
    return RuleSet(rules=[r for r in ruleset.rules if r.fields and set(r.fields) <= KEYWORD_FIELDS])


def dead_letters_as_events(letters: pa.Table) -> pa.Table:
    """Dead letters that carry a line -> minimal events (id, dataset, raw line, origin)."""
    lines = letters.filter(pc.and_(pc.greater(letters["lines"], 0), pc.is_valid(letters["format"])))
    n = lines.num_rows
    dataset = pc.binary_join_element_wise(lines["family"], lines["format"], ".")
    given = {"event.id": lines["id"], "event.dataset": dataset, "event.module": lines["family"],
             "event.original": lines["raw_text"], "log.file.path": lines["origin.path"],
             "log.offset": lines["origin.offset"], "event.kind": pa.repeat(pa.scalar("event"), n)}
    schema = event_schema()
    return pa.Table.from_arrays([given[f.name].cast(f.type) if f.name in given else pa.nulls(n, f.type)
                                 for f in schema], schema=schema)


class DetectInDeadLettersFn(beam.DoFn):
    """Keyword rules on the lines of one dead-letter table."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset

    def process(self, element):
        name, letters = element
        events = dead_letters_as_events(letters)
        if events.num_rows:
            signals = detect(self.ruleset, events)
            if signals.num_rows:
                yield f"deadletter-{name}", signals


class DetectInDeadLetters(beam.PTransform):
    """(name, dead letters) -> (name, signals) of the keyword rules."""

    def __init__(self, ruleset: RuleSet):
        super().__init__()
        self.ruleset = keyword_rules(ruleset)

    def expand(self, letters):
        return typed_as_named_tables(letters | "EvaluateKeywordRules" >> beam.ParDo(
            DetectInDeadLettersFn(self.ruleset)))


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


def signal_rows(element):
    """(name, signals table) -> each signal as a dict, timestamped with its event time."""
    _, table = element
    for row in table.to_pylist():
        stamp = row.get("@timestamp")
        yield window.TimestampedValue(row, stamp.timestamp() if stamp else 0)


class SignalRows(beam.PTransform):
    """(name, signals table) batches -> per-event timestamped signal rows."""

    def expand(self, tables):
        return tables | "ToRows" >> beam.FlatMap(signal_rows)
