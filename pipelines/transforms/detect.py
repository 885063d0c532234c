"""Detections: Sigma rules on event batches, impossible travel, keyword rules on dead letters.

DetectSigma: (name, events table) -> (name, signals table). The RuleSet is compiled once on the
driver and shipped with the DoFn (it pickles to a few tens of KB and needs no pySigma on the
worker).

DetectInDeadLetters: (name, dead letters) -> (name, signals) of the keyword rules (rules that
read nothing but the raw line) on lines that could not become events: a line whose header
cannot be read still raises the signals its text calls for.

DetectImpossibleTravel: enriched (name, events) -> (name, signals). Successful VPN logins are
keyed by account; a stateful DoFn judges each login when the watermark passes its event time
plus `delay_seconds` (the stream's bounded out-of-orderness; 0 in replay) against the account's
previous logins in event-time order (correlation/travel.py: settle_logins), so an operator gets
the signal as soon as the second login is settled, not a session gap later. Consecutive logins
further apart than `gap_hours` are never compared (event-time sessions of that gap); with the
default of 24 hours that loses nothing, since at 900 km/h any two places on Earth are less than
23 hours apart. Batch replay (every login of an account arrives before its timer fires) and
streaming compare the same consecutive pairs whatever the arrival order. State per account: the
logins not yet settled and the settled ones within the gap, cleared one gap after the last. A
login older than one already settled came later than the delay allows: it is still judged
against its settled neighbours, and counted (vigie.correlation/late_logins).

SignalRows: (name, signals table) -> one dict per signal, timestamped with its event time: the
form in which every signal source meets (correlation attaches there).
"""
from __future__ import annotations

import pickle

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.coders import BytesCoder, VarIntCoder
from apache_beam.transforms import userstate, window
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.utils.timestamp import Timestamp

from pipelines.correlation.travel import (DEFAULT_MAX_SPEED_KMH, DEFAULT_MIN_DISTANCE_KM,
                                          logins_from_events, settle_logins, travel_signals)
from pipelines.summary import count
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
    """(name, events) -> (account, Login)."""
    _, events = element
    for login in logins_from_events(events):
        yield login.user.lower(), login


class JudgeTravelFn(beam.DoFn):
    """(account, Login) -> travel signal tables (see the module docstring). `early` (unbounded
    input): each login is judged when the watermark passes its time + delay; otherwise (replay)
    every login of the account is judged at once, by one timer at its latest login."""

    PENDING = userstate.BagStateSpec("pending", BytesCoder())          # pickled Logins not settled
    HISTORY = userstate.ReadModifyWriteStateSpec("history", BytesCoder())  # pickled settled Logins
    SETTLED = userstate.ReadModifyWriteStateSpec("settled_ms", VarIntCoder())
    JUDGE_AT = userstate.ReadModifyWriteStateSpec("judge_at_ms", VarIntCoder())
    JUDGE = userstate.TimerSpec("judge", TimeDomain.WATERMARK)
    EXPIRE = userstate.TimerSpec("expire", TimeDomain.WATERMARK)

    def __init__(self, max_speed_kmh: float, min_distance_km: float, gap_ms: int, delay_ms: int,
                 early: bool):
        self.max_speed_kmh = max_speed_kmh
        self.min_distance_km = min_distance_km
        self.gap_ms = gap_ms
        self.delay_ms = delay_ms
        self.early = early

    def _judge(self, history_state, due):
        blob = history_state.read()
        pairs, history = settle_logins(pickle.loads(blob) if blob else [], due, self.gap_ms,
                                       self.max_speed_kmh, self.min_distance_km)
        history_state.write(pickle.dumps(history, protocol=pickle.HIGHEST_PROTOCOL))
        table = travel_signals(pairs)
        if table.num_rows:
            yield named_by_ids(table, "travel", "signal.id")
        return history

    @staticmethod
    def _set(timer, at_state, at_ms: int) -> None:
        timer.set(Timestamp(micros=at_ms * 1000))
        at_state.write(at_ms)

    def process(self, element, pending=beam.DoFn.StateParam(PENDING),
                history=beam.DoFn.StateParam(HISTORY), settled=beam.DoFn.StateParam(SETTLED),
                judge_at=beam.DoFn.StateParam(JUDGE_AT), judge=beam.DoFn.TimerParam(JUDGE),
                expire=beam.DoFn.TimerParam(EXPIRE)):
        _, login = element
        done = settled.read()
        if done is not None and login.timestamp <= done:
            count("correlation", "late_logins")
            kept = yield from self._judge(history, [login])
            self._expire_after(expire, kept)
            return
        pending.add(pickle.dumps(login, protocol=pickle.HIGHEST_PROTOCOL))
        at, current = login.timestamp + self.delay_ms, judge_at.read()
        # early: the earliest pending login sets the timer; bounded: the latest (every login of
        # the account has arrived before any timer fires, so one firing judges them all)
        if current is None or (at < current if self.early else at > current):
            self._set(judge, judge_at, at)

    @userstate.on_timer(JUDGE)
    def on_judge(self, fired=beam.DoFn.TimestampParam, pending=beam.DoFn.StateParam(PENDING),
                 history=beam.DoFn.StateParam(HISTORY), settled=beam.DoFn.StateParam(SETTLED),
                 judge_at=beam.DoFn.StateParam(JUDGE_AT), judge=beam.DoFn.TimerParam(JUDGE),
                 expire=beam.DoFn.TimerParam(EXPIRE)):
        logins = [pickle.loads(blob) for blob in pending.read()]
        pending.clear()
        judge_at.clear()
        now = fired.micros // 1000 - self.delay_ms
        due = [l for l in logins if l.timestamp <= now]
        later = [l for l in logins if l.timestamp > now]
        for login in later:
            pending.add(pickle.dumps(login, protocol=pickle.HIGHEST_PROTOCOL))
        if later:
            self._set(judge, judge_at, min(l.timestamp for l in later) + self.delay_ms)
        settled.write(max(now, settled.read() or now))
        kept = yield from self._judge(history, due)
        self._expire_after(expire, kept)

    def _expire_after(self, expire, kept) -> None:
        if kept and self.early:
            expire.set(Timestamp(micros=(max(l.timestamp for l in kept) + self.gap_ms + self.delay_ms) * 1000))

    @userstate.on_timer(EXPIRE)
    def on_expire(self, history=beam.DoFn.StateParam(HISTORY), settled=beam.DoFn.StateParam(SETTLED),
                  judge_at=beam.DoFn.StateParam(JUDGE_AT)):
        if judge_at.read() is None:  # nothing pending: the next login is more than a gap away
            history.clear()
            settled.clear()


class DetectImpossibleTravel(beam.PTransform):
    """Enriched (name, events) -> (name, signals) of impossible travel (see the module doc)."""

    def __init__(self, max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
                 min_distance_km: float = DEFAULT_MIN_DISTANCE_KM, gap_hours: float = 24.0,
                 delay_seconds: float = 0):
        super().__init__()
        self.max_speed_kmh = max_speed_kmh
        self.min_distance_km = min_distance_km
        self.gap_ms = int(gap_hours * 3_600_000)
        self.delay_ms = int(delay_seconds * 1000)

    def expand(self, events):
        signals = (events
                   | "KeyLoginsByAccount" >> beam.FlatMap(_keyed_logins)
                   | "LoginsInGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
                   | "JudgeTravel" >> beam.ParDo(JudgeTravelFn(self.max_speed_kmh, self.min_distance_km,
                                                               self.gap_ms, self.delay_ms,
                                                               early=not events.is_bounded)))
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
