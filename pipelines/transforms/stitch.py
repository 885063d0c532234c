"""StitchMessages: tables of fragments (the lines of mail messages, keyed) -> stitched events.

The same transform serves replay (bounded input) and streaming (unbounded input):

    fragment tables -> ShardFragments: (shard, rows of the table whose stitch key hashes there)
                    -> StitchShards (StitchShardFn, stateful per shard): buffer the rows; emit
                       the messages the watermark has closed, stitched column-wise
                    -> (name, events table)

Sessions are cut and merged by parsing/stitch on whole Arrow tables: Python never runs per
fragment. A message is the fragments of one key whose event times chain with gaps below
`gap_seconds` (event-time session windows); it closes at its last fragment time + gap.
- Unbounded input: an event-time timer per shard fires when the watermark reaches the earliest
  closing time among the buffered messages; the closed ones are emitted (timestamped with that
  time) and the timer is set to the next closing time. State: the fragments of messages not yet
  closed (about `gap_seconds` of traffic per shard), the next closing time and the latest one
  emitted. Late data: a fragment earlier than a closing time already emitted in its shard came
  behind the watermark; it is not dropped but stitched with whatever is still open (alone, when
  its message is already out: a message of its own, with an id of its own), emitted at the next
  firing, and counted (Beam counter stitch/late_fragments).
- Bounded input (replay): the batch runner processes every element of a shard before any timer
  fires, so nothing is emitted early: one end-of-input timer per shard stitches all of its
  fragments at once. State: every fragment of the run until the end of input (Arrow, as the
  parser made them), then one shard at a time is stitched and released.
Both paths group by the same rule, so a replay emits the messages a stream would (late data
apart). Output names are derived from the stitched ids (tables sorted by time then id, cut
every MAX_ROWS rows), so the same lines give the same names whatever the bundling.
"""
from __future__ import annotations

from typing import Iterator

import apache_beam as beam
import pyarrow as pa
from apache_beam.coders import VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate, window
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.utils.timestamp import Timestamp

from pipelines.parsing import stitch
from pipelines.transforms.coders import ArrowTableCoder, typed_as_named_tables
from pipelines.transforms.naming import named_by_ids

SHARDS = 16
MAX_ROWS = 50_000
SHARD_TABLE = beam.typehints.Tuple[int, pa.Table]


def named_chunks(events: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """Stitched events (sorted) -> (name from their ids, table) per MAX_ROWS rows."""
    for start in range(0, events.num_rows, MAX_ROWS):
        yield named_by_ids(events.slice(start, MAX_ROWS), "stitched", "event.id")


class StitchShardFn(beam.DoFn):
    """(shard, fragments table) -> (name, stitched events) when their messages close (see the
    module docstring; `early`: emit as the watermark closes messages, for unbounded input)."""

    FRAGMENTS = userstate.BagStateSpec("fragments", ArrowTableCoder())
    NEXT_CLOSE = userstate.ReadModifyWriteStateSpec("next_close_ms", VarIntCoder())
    CLOSED_UNTIL = userstate.ReadModifyWriteStateSpec("closed_until_ms", VarIntCoder())
    END_OF_INPUT = userstate.TimerSpec("end_of_input", TimeDomain.WATERMARK)
    CLOSE = userstate.TimerSpec("close", TimeDomain.WATERMARK)

    def __init__(self, gap_seconds: float, early: bool):
        self.gap_seconds = gap_seconds
        self.early = early
        self.messages = Metrics.counter("stitch", "messages")
        self.late = Metrics.counter("stitch", "late_fragments")

    def process(self, element: tuple[int, pa.Table],
                fragments=beam.DoFn.StateParam(FRAGMENTS),
                next_close=beam.DoFn.StateParam(NEXT_CLOSE),
                closed_until=beam.DoFn.StateParam(CLOSED_UNTIL),
                end_of_input=beam.DoFn.TimerParam(END_OF_INPUT),
                close=beam.DoFn.TimerParam(CLOSE)):
        _, table = element
        fragments.add(table)
        end_of_input.set(window.GlobalWindow().max_timestamp())
        if not self.early:
            return
        self.late.inc(stitch.late_rows(table, closed_until.read()))
        # The table's own sessions close no later than the merged ones will: an early firing
        # is harmless (it re-reads the state and sets the timer again), a late one cannot be.
        first = int(stitch.cut_sessions(table, self.gap_seconds).closes.min())
        current = next_close.read()
        if current is None or first < current:
            next_close.write(first)
            close.set(Timestamp(micros=first * 1000))

    @userstate.on_timer(CLOSE)
    def on_close(self, fired=beam.DoFn.TimestampParam,
                 fragments=beam.DoFn.StateParam(FRAGMENTS),
                 next_close=beam.DoFn.StateParam(NEXT_CLOSE),
                 closed_until=beam.DoFn.StateParam(CLOSED_UNTIL),
                 close=beam.DoFn.TimerParam(CLOSE)):
        """Streaming: the watermark passed `fired` -> (name, events) of the messages closed by
        then; the open ones stay in state and the timer moves to the next closing time."""
        tables = list(fragments.read())
        next_close.clear()
        if not tables:  # the end-of-input timer came first (a stream that ends)
            return
        until = fired.micros // 1000
        events, still_open, next_ms = stitch.stitch_closed(tables, self.gap_seconds, until)
        fragments.clear()
        if still_open.num_rows:
            fragments.add(still_open)
            next_close.write(next_ms)
            close.set(Timestamp(micros=next_ms * 1000))
        closed_until.write(max(until, closed_until.read() or until))
        self.messages.inc(events.num_rows)
        yield from named_chunks(events)

    @userstate.on_timer(END_OF_INPUT)
    def on_end_of_input(self, fragments=beam.DoFn.StateParam(FRAGMENTS),
                        next_close=beam.DoFn.StateParam(NEXT_CLOSE)):
        """End of input -> (name, events) of every message still in the shard's state."""
        tables = list(fragments.read())
        fragments.clear()
        next_close.clear()
        if tables:
            events = stitch.stitch_fragments(tables, self.gap_seconds)
            self.messages.inc(events.num_rows)
            yield from named_chunks(events)


class StitchMessages(beam.PTransform):
    """Fragment tables -> (name, events table) of stitched messages (module docstring).

    `shards`: how many groups the stitch keys are hashed into (the parallelism of stitching,
    and in streaming how much state one timer firing re-reads).
    """

    def __init__(self, gap_seconds: int, shards: int = SHARDS):
        super().__init__()
        self.gap_seconds = gap_seconds
        self.shards = shards

    def expand(self, fragments):
        if fragments.element_type in (None, beam.typehints.Any):
            fragments.element_type = pa.Table  # so that the Arrow coder sizes and encodes them
        sharded = (fragments
                   | "ShardFragments" >> beam.FlatMap(stitch.shard_fragments, self.shards)
                   .with_output_types(SHARD_TABLE))
        stitched = sharded | "StitchShards" >> beam.ParDo(
            StitchShardFn(self.gap_seconds, early=not fragments.is_bounded))
        return typed_as_named_tables(stitched)
