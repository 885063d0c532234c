"""StitchMessages in Beam: batch (FnApiRunner) and streaming (TestStream on BundleBasedDirectRunner)
give the same stitched events; in streaming a message is emitted when the watermark passes its
last fragment time + gap; output names do not depend on how the fragments were bundled; a late
fragment is emitted as a message of its own, never dropped.
"""
from __future__ import annotations

import datetime as dt
import json
import random

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.test_stream import TestStream as EventStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window

from pipelines.parsing.base import STITCH_KEY
from pipelines.parsing.stitch import cut_sessions, late_rows, rows_to_table, stitch_fragments
from pipelines.transforms.stitch import StitchMessages
from test_stitch_columns import random_fragments

GAP = 600
UTC = dt.timezone.utc


def batch_options() -> PipelineOptions:
    return PipelineOptions(["--runner=FnApiRunner"])


def streaming_options() -> PipelineOptions:
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    return options


def canonical(row: dict) -> str:
    return json.dumps(row, sort_keys=True, default=repr)


def event_rows(named: tuple[str, pa.Table]) -> list[str]:
    """(name, events) -> one canonical text per stitched event."""
    return [canonical(row) for row in named[1].to_pylist()]


def times_ms(table: pa.Table) -> np.ndarray:
    return pc.cast(table.column("@timestamp"), pa.int64()).to_numpy()


def closing_times(fragments: pa.Table) -> dict[str, int]:
    """Stitched event id -> the time its message closes (last fragment time + gap, in ms)."""
    sessions = cut_sessions(fragments, GAP)
    events = []
    for session in range(sessions.count):
        part = fragments.filter(pa.array(sessions.ids == session))
        events.append((stitch_fragments(part, GAP).column("event.id")[0].as_py(), int(sessions.closes[session])))
    return dict(events)


@pytest.fixture(scope="module")
def fragments() -> pa.Table:
    return random_fragments(random.Random(42), messages=50)


@pytest.fixture(scope="module")
def expected(fragments: pa.Table) -> list[str]:
    return [canonical(row) for row in stitch_fragments(fragments, GAP).to_pylist()]


def small_tables(fragments: pa.Table, rng: random.Random, size: int = 7) -> list[pa.Table]:
    """The fragments in time order, cut into tables of about `size` rows."""
    ordered = fragments.take(pa.array(np.argsort(times_ms(fragments), kind="stable")))
    tables, start = [], 0
    while start < ordered.num_rows:
        step = rng.randint(1, 2 * size)
        tables.append(ordered.slice(start, step))
        start += step
    return tables


def test_batch_gives_the_events_of_the_pure_function(fragments, expected):
    rng = random.Random(1)
    with BeamPipeline(options=batch_options()) as p:
        out = (p | beam.Create(small_tables(fragments, rng), reshuffle=False)
               | StitchMessages(GAP, shards=4)
               | beam.FlatMap(event_rows))
        assert_that(out, equal_to(expected))


def names_of(tables: list[pa.Table], shards: int) -> set[tuple[str, tuple[str, ...]]]:
    names: list = []
    with BeamPipeline(options=batch_options()) as p:
        _ = (p | beam.Create(tables, reshuffle=False) | StitchMessages(GAP, shards=shards)
             | beam.Map(lambda named: names.append((named[0], tuple(named[1].column("event.id").to_pylist())))))
    return set(names)


def test_batch_names_do_not_depend_on_the_bundling(fragments):
    rng = random.Random(2)
    one = names_of([fragments], 4)
    assert one == names_of(list(reversed(small_tables(fragments, rng))), 4)
    assert one == names_of(small_tables(fragments, rng, size=3), 4)


def arrival(tables: list[pa.Table], order: str, rng: random.Random) -> list[pa.Table]:
    """The tables in an arrival order: time order, reversed within blocks, or shuffled."""
    if order == "in time order":
        return tables
    if order == "reversed in blocks of five":
        return [t for i in range(0, len(tables), 5) for t in reversed(tables[i:i + 5])]
    return rng.sample(tables, len(tables))


def stream_of(tables: list[pa.Table], end_ms: int) -> EventStream:
    """Each table timestamped with its earliest time; after each one the watermark goes to the
    earliest time still to come (no table is ever late), then past every message's close."""
    starts = [int(times_ms(t).min()) for t in tables]
    stream, watermark = EventStream(), None
    for i, (table, start) in enumerate(zip(tables, starts)):
        stream = stream.add_elements([window.TimestampedValue(table, start / 1000)])
        later = min(starts[i + 1:], default=end_ms)
        if watermark is None or later > watermark:
            stream, watermark = stream.advance_watermark_to(later / 1000), later
    # advance past the last close first: output fired only at infinity escapes assert_that
    return stream.advance_watermark_to(end_ms / 1000 + 1).advance_watermark_to_infinity()


@pytest.mark.parametrize("order", ["in time order", "reversed in blocks of five", "shuffled"])
def test_streaming_gives_the_events_of_the_batch_runner(fragments, expected, order):
    rng = random.Random(3)
    tables = arrival(small_tables(fragments, rng), order, rng)
    end = int(times_ms(fragments).max()) + GAP * 1000
    with BeamPipeline(options=streaming_options()) as p:
        out = (p | stream_of(tables, end) | StitchMessages(GAP, shards=4) | beam.FlatMap(event_rows))
        assert_that(out, equal_to(expected))


def test_streaming_emits_each_message_when_the_watermark_passes_its_close(fragments):
    """In time order, every message comes out of the timer set at its own close time."""
    rng = random.Random(4)
    closes = closing_times(fragments)
    end = max(closes.values())
    with BeamPipeline(options=streaming_options()) as p:
        out = (p | stream_of(small_tables(fragments, rng), end) | StitchMessages(GAP, shards=4)
               | beam.FlatMap(lambda named, at=beam.DoFn.TimestampParam:
                              [(event_id, at.micros // 1000) for event_id in named[1].column("event.id").to_pylist()]))
        assert_that(out, equal_to(sorted(closes.items())))


def test_a_late_fragment_becomes_a_message_of_its_own_and_is_counted():
    start = dt.datetime(2026, 11, 27, 18, 0, tzinfo=UTC)

    def table(offset: int, seconds: int) -> pa.Table:
        row = {"@timestamp": start + dt.timedelta(seconds=seconds), "event.id": f"{offset:032x}",
               "event.module": "mail", "log.file.path": "/var/log/mail.log", "log.offset": offset,
               "event.original": f"line {offset}", "vigie.lines": 1, "vigie.mail.status": ["sent"]}
        return rows_to_table([row]).append_column(STITCH_KEY, pa.array(["mx1/LATE"]))

    on_time = [table(0, 0), table(10, 5)]
    late = table(20, 8)  # belongs to the message, arrives after the watermark closed it
    t0 = start.timestamp()
    stream = (EventStream()
              .add_elements([window.TimestampedValue(t, t0) for t in on_time])
              .advance_watermark_to(t0 + 5 + GAP + 1)
              .add_elements([window.TimestampedValue(late, t0 + 8)])
              .advance_watermark_to(t0 + 8 + GAP + 1)
              .advance_watermark_to_infinity())
    with BeamPipeline(options=streaming_options()) as p:
        out = (p | stream | StitchMessages(GAP, shards=2)
               | beam.FlatMap(lambda named: [(e["log.offset"], e["vigie.lines"]) for e in named[1].to_pylist()]))
        assert_that(out, equal_to([(0, 2), (20, 1)]))
    # What StitchShardFn counts as stitch/late_fragments (the BundleBasedDirectRunner reports
    # only the first bundle's metrics of a stateful DoFn, so the count is checked here).
    closed_until = int((start.timestamp() + 5 + GAP) * 1000)
    assert late_rows(late, closed_until) == 1 and late_rows(table(30, 700), closed_until) == 0


class _Bag:
    """In-memory bag state (the DoFn's methods called directly)."""

    def __init__(self, items=()):
        self.items = list(items)

    def read(self):
        return self.items

    def add(self, item):
        self.items.append(item)

    def clear(self):
        self.items = []


class _Cell:
    """In-memory read-modify-write state, or timer."""

    def __init__(self):
        self.value = None

    def read(self):
        return self.value

    def write(self, value):
        self.value = value

    def set(self, at):
        self.value = at

    def clear(self):
        self.value = None


def test_a_close_timer_after_the_end_of_input_finds_nothing_to_do(fragments):
    from apache_beam.utils.timestamp import Timestamp

    from pipelines.transforms.stitch import StitchShardFn

    fn = StitchShardFn(GAP, early=True)
    bag, next_close, closed_until, close = _Bag([fragments]), _Cell(), _Cell(), _Cell()
    flushed = list(fn.on_end_of_input(fragments=bag, next_close=next_close))
    assert sum(t.num_rows for _, t in flushed) == stitch_fragments(fragments, GAP).num_rows
    assert list(fn.on_close(fired=Timestamp(micros=2 ** 60), fragments=bag, next_close=next_close,
                            closed_until=closed_until, close=close)) == []
