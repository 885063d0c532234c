"""AssembleIncidents and WriteIncidents: the Beam shell of pipelines/incidents/.

AssembleIncidents: signal rows (dicts: Sigma signals and correlation results, schemas/
signals.yml names) -> incident records (dicts, INCIDENT_CONTRACT.md), each new revision as it
happens. Incidents link across any entity, so assembly is one global computation: every row
goes to one key, and a stateful DoFn buffers the rows and, on an event-time timer grid of
`release_seconds`, releases those older than the watermark minus `hold_seconds` to the pure
Reassembler (pipelines/incidents/reassembly.py), which assembles them in event-time order and
re-assembles exactly when a row arrives behind what was already released. So the final
incidents (ids and content) are those of `assemble(all rows)` on the batch runner (every element
of the key arrives before any timer fires, in any order) and in a stream (rows arrive as they
come, the watermark advances), whatever release_seconds, hold_seconds, arrival order and
bundling; only the number of intermediate revisions differs (docs/incidents-parity.md).
`release_seconds=None` releases everything in one go at the end of a bounded input (replay: one
revision per incident, cheapest: on the batch runner each grid step holding signals is one more
round of its timer loop, which re-reads the buffered rows; measured here, 5,663 signals of the
200,000-line scenario take ~7 s with None). hold_seconds costs latency and saves
recomputations: signals of windowed steps upstream (mail stitching emits a message a session
gap after its last line) arrive that much after their own time.

State (one key): the rows not yet released, the Reassembler pickled as bytes (its rows of one
campaign window, a few checkpoints, the Assembler, what was published per incident id), the
frontier released so far, the time the timer is set to. A timer fired when the Reassembler has
nothing left that a later row could need clears it.
Late rows (behind the frontier): released at the next grid step and re-assembled in their
place; a row more than a campaign window behind is assembled where it arrives and counted in
incident.late_signals (only such rows can make a stream differ from a replay). Every late row
also goes to the LATE_SIGNALS output (counted as late_signals in summary.json). Rows that cannot
be assembled (no signal.id, no readable @timestamp) go to the INVALID_SIGNALS output as (name,
dead-letter table) pairs (pipelines.model; stage "assemble"), for the dead-letter writer.
Metrics (namespace vigie.incidents): late_rows, recomputations, late_beyond_horizon.

WriteIncidents: records -> DIR/incidents/incidents.jsonl; mode "final" (batch: one line per
incident, its final revision) or "append" (streaming: every revision appended); see
pipelines/sinks/incidents.py for the reader's rule (highest revision per id).
"""
from __future__ import annotations

import hashlib
import json
import pickle

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.coders import BytesCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (BagStateSpec, ReadModifyWriteStateSpec, TimerSpec,
                                              on_timer)
from apache_beam.utils.timestamp import Timestamp

from pipelines.enrichment.inventory import Inventory
from pipelines.model import FILE, dead_letters
from pipelines.incidents.assembly import latest_revisions
from pipelines.incidents.facts import row_problem, slim_row
from pipelines.incidents.policy import AssemblyPolicy
from pipelines.incidents.reassembly import Reassembler
from pipelines.incidents.times import to_ms
from pipelines.sinks.incidents import append_incidents, incident_counts, incidents_path, write_incidents

INCIDENTS, LATE_SIGNALS, INVALID_SIGNALS = "incidents", "late_signals", "invalid_signals"
ASSEMBLY_KEY = "incidents"
DEAD_LETTER_STAGE, DEAD_LETTER_REASON = "assemble", "signal row cannot be assembled"
METRICS = "vigie.incidents"
# `release_seconds=None`: one grid step of a century, i.e. one release at the end of the input.
_ONE_RELEASE_MS = 100 * 365 * 86_400_000


class AssembleIncidentsFn(beam.DoFn):
    """("incidents", signal row) -> incident records (see the module docstring)."""

    # State values are pickled by hand and kept as bytes: Beam's state cache measures the deep
    # size of the Python objects it holds, which for a Reassembler costs more than assembling.
    ARRIVED = BagStateSpec("arrived", BytesCoder())              # pickled (ms, row) not yet released
    BACKLOG = ReadModifyWriteStateSpec("backlog", BytesCoder())  # pickled sorted [(ms, row)] kept back
    ENGINE = ReadModifyWriteStateSpec("engine", BytesCoder())    # pickled Reassembler
    RELEASED = ReadModifyWriteStateSpec("released", VarIntCoder())  # rows before it are released
    TIMER_AT = ReadModifyWriteStateSpec("timer_at", VarIntCoder())
    RELEASE = TimerSpec("release", TimeDomain.WATERMARK)

    def __init__(self, inventory: Inventory | None, policy: AssemblyPolicy, step_ms: int,
                 hold_ms: int = 0):
        self.inventory = inventory
        self.policy = policy
        self.step_ms = step_ms
        self.hold_ms = hold_ms
        self.late_rows = Metrics.counter(METRICS, "late_rows")
        self.recomputations = Metrics.counter(METRICS, "recomputations")
        self.beyond_horizon = Metrics.counter(METRICS, "late_beyond_horizon")

    def _load(self, state, frontier: int | None) -> Reassembler:
        blob = state.read()
        if blob:
            return pickle.loads(blob).attach(self.inventory)
        return Reassembler(self.inventory, self.policy, frontier=frontier)

    @staticmethod
    def _save(state, value) -> None:
        state.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def _schedule(self, timer, timer_at, at_ms: int) -> None:
        """Set the release timer to `at_ms` unless it is already set earlier."""
        current = timer_at.read()
        if current is None or at_ms < current:
            timer.set(Timestamp(micros=at_ms * 1000))
            timer_at.write(at_ms)

    def _boundary(self, ms: int) -> int:
        return (ms // self.step_ms + 1) * self.step_ms

    def process(self, element, arrived=beam.DoFn.StateParam(ARRIVED),
                released=beam.DoFn.StateParam(RELEASED), timer_at=beam.DoFn.StateParam(TIMER_AT),
                timer=beam.DoFn.TimerParam(RELEASE)):
        _, row = element
        ms = to_ms(row["@timestamp"])
        arrived.add(pickle.dumps((ms, row), protocol=pickle.HIGHEST_PROTOCOL))
        done = released.read()
        if done is not None and ms < done:
            # Late: event time was already released past it; re-assembled at the next step.
            self.late_rows.inc()
            yield pvalue.TaggedOutput(LATE_SIGNALS, row)
            self._schedule(timer, timer_at, self._boundary(done + self.hold_ms))
        else:
            self._schedule(timer, timer_at, self._boundary(ms + self.hold_ms))

    @on_timer(RELEASE)
    def release(self, fired=beam.DoFn.TimestampParam, arrived=beam.DoFn.StateParam(ARRIVED),
                backlog=beam.DoFn.StateParam(BACKLOG), engine_state=beam.DoFn.StateParam(ENGINE),
                released=beam.DoFn.StateParam(RELEASED), timer_at=beam.DoFn.StateParam(TIMER_AT),
                timer=beam.DoFn.TimerParam(RELEASE)):
        now = fired.micros // 1000 - self.hold_ms  # rows older than this are released
        kept_back = backlog.read()
        waiting = sorted((pickle.loads(kept_back) if kept_back else [])
                         + [pickle.loads(blob) for blob in arrived.read()],
                         key=lambda item: (item[0], str(item[1].get("signal.id"))))
        due = [row for ms, row in waiting if ms < now]
        kept = [(ms, row) for ms, row in waiting if ms >= now]
        engine = self._load(engine_state, released.read())
        recomputed, beyond = engine.recomputations, engine.beyond_horizon
        yield from engine.release(due, now)
        self.recomputations.inc(engine.recomputations - recomputed)
        self.beyond_horizon.inc(engine.beyond_horizon - beyond)
        released.write(max(now, released.read() or now))
        arrived.clear()
        timer_at.clear()
        if kept:
            self._save(backlog, kept)
            self._schedule(timer, timer_at, self._boundary(kept[0][0] + self.hold_ms))
        else:
            backlog.clear()
        if engine.empty:
            engine_state.clear()
        else:
            self._save(engine_state, engine)
            if not kept:  # forget the state when nothing later can need it
                self._schedule(timer, timer_at, self._boundary(engine.quiet_at() + self.hold_ms))


def invalid_signal(row: object, problem: str) -> tuple[str, object]:
    """A row that cannot be assembled -> (name, one-row dead-letter table): the row as JSON in
    raw, the problem in detail, its file and offset as origin when it has them."""
    raw = json.dumps(row, default=str, sort_keys=True).encode("utf-8")
    fields = row if isinstance(row, dict) else {}
    dataset = str(fields.get("event.dataset") or "")
    path, offset = fields.get("log.file.path"), fields.get("log.offset")
    table = dead_letters(1, stage=DEAD_LETTER_STAGE, reason=DEAD_LETTER_REASON, detail=problem,
                         family=dataset.split(".", 1)[0] or "unknown", id=fields.get("signal.id"),
                         raw=raw, lines=0, origin_kind=FILE if path else None, origin_path=path,
                         origin_offset=offset if isinstance(offset, int) else None)
    return f"invalid-signals-{hashlib.blake2b(raw, digest_size=8).hexdigest()}", table


@beam.typehints.with_output_types(tuple[str, dict])
class CheckSignalRowFn(beam.DoFn):
    """Signal row -> ("incidents", slim row) stamped with its @timestamp, or INVALID_SIGNALS
    (name, dead-letter table) when it cannot be assembled."""

    def process(self, row):
        problem = row_problem(row)
        if problem is not None:
            yield pvalue.TaggedOutput(INVALID_SIGNALS, invalid_signal(row, problem))
            return
        yield window.TimestampedValue((ASSEMBLY_KEY, slim_row(row)), to_ms(row["@timestamp"]) / 1000)


class AssembleIncidents(beam.PTransform):
    """Signal rows (dicts, any windowing; each is re-stamped with its own @timestamp) -> a dict
    of PCollections: INCIDENTS (incident records, every revision as it is made), LATE_SIGNALS
    (rows that arrived after their event time was released; re-assembled in their place, or,
    more than a campaign window behind, where they arrive) and INVALID_SIGNALS ((name,
    dead-letter table) of rows without signal.id or a readable @timestamp).

    inventory: links mailboxes to accounts, weighs people and assets (None: names as written).
    release_seconds: grid of the release timer in event time (streaming latency after the
      watermark); None releases once at the end of a bounded input (replay). The final
      incidents do not depend on it.
    hold_seconds: how far behind the watermark rows are released: signals of windowed steps
      upstream (mail stitching emits a message a session gap after its last line) reach the
      assembler that much after their own time; holding them back saves recomputations and
      revisions, at the cost of latency. The final incidents do not depend on it.
    """

    def __init__(self, inventory: Inventory | None = None, policy: AssemblyPolicy = AssemblyPolicy(),
                 release_seconds: int | None = 60, hold_seconds: int = 0):
        super().__init__()
        self.inventory = inventory
        self.policy = policy
        self.step_ms = _ONE_RELEASE_MS if release_seconds is None else max(1, int(release_seconds * 1000))
        self.hold_ms = int(hold_seconds * 1000)

    def expand(self, signals):
        checked = (signals
                   | "CheckSignalRows" >> beam.ParDo(CheckSignalRowFn()).with_outputs(
                       INVALID_SIGNALS, main="rows"))
        assembled = (checked.rows
                     | "SignalsToGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
                     | "AssembleSignals" >> beam.ParDo(
                         AssembleIncidentsFn(self.inventory, self.policy, self.step_ms,
                                             self.hold_ms)).with_outputs(
                             LATE_SIGNALS, main=INCIDENTS))
        return {INCIDENTS: assembled[INCIDENTS], LATE_SIGNALS: assembled[LATE_SIGNALS],
                INVALID_SIGNALS: checked[INVALID_SIGNALS]}


def _latest(records) -> dict:
    return latest_revisions(records)[0]


class AppendIncidentsFn(beam.DoFn):
    """Records -> lines appended to incidents.jsonl at the end of each bundle."""

    def __init__(self, path: str):
        self.path = path

    def start_bundle(self):
        self.pending = []

    def process(self, record):
        self.pending.append(record)

    def finish_bundle(self):
        append_incidents(self.path, self.pending)
        self.pending = []


class WriteIncidents(beam.PTransform):
    """Incident records -> DIR/incidents/incidents.jsonl.

    mode "final" (bounded input): one line per incident, its highest revision; the output is
      one dict {"incidents": n, "incidents_merged": m} (incidents count once, whatever datasets
      they touch).
    mode "append" (streaming): every record appended as it comes (a single local file: run the
      sink on one worker); no output.
    """

    def __init__(self, out_dir: str, mode: str = "final"):
        super().__init__()
        if mode not in ("final", "append"):
            raise ValueError(f"WriteIncidents mode must be 'final' or 'append', not {mode!r}")
        self.path = str(incidents_path(out_dir))
        self.mode = mode

    def expand(self, records):
        path = self.path
        if self.mode == "append":
            return records | "AppendIncidents" >> beam.ParDo(AppendIncidentsFn(path))

        def write(final: list[dict]) -> dict:
            write_incidents(path, final)
            return incident_counts(final)

        return (records
                | "IncidentsToGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
                | "KeyById" >> beam.Map(lambda r: (r["incident.id"], r))
                | "LatestRevision" >> beam.CombinePerKey(_latest)
                | "DropIds" >> beam.Values()
                | "AllIncidents" >> beam.combiners.ToList()
                | "WriteIncidentsJsonl" >> beam.Map(write))
