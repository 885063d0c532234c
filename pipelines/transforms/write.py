"""Writing a run's outputs: Parquet files of events, signals and dead letters, and Elasticsearch.

WriteTables: (name, Arrow table) -> files written by a sink of sinks/parquet.py, its counts as
Beam metrics (pipelines/summary.py). SignalTables: signal rows (dicts, per-event timestamped)
-> (name, table) grouped by dataset and UTC day (and by window in streaming), so that the same
signals always give the same files. WriteOutputs wires them for what AnalyseEvents produces
(replay and stream share it): incidents go to DIR/incidents/incidents.jsonl (the final revision
of each in a bounded run, every revision appended in streaming) and, with Elasticsearch, to
vigie-incidents-default by id (the revision is the document's version).
"""
from __future__ import annotations

import datetime as dt
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import apache_beam as beam
from apache_beam.metrics import Metrics
import pyarrow as pa
from apache_beam.transforms import trigger, window

from pipelines.schema import signal_schema
from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks import es_cluster
from pipelines.sinks.parquet import upsert_signals, write_dead_letters, write_events, write_signals
from pipelines.sources.resume import without_written
from pipelines.summary import count
from pipelines.transforms.analyse import signal_parts
from pipelines.transforms.coders import typed_as_named_tables
from pipelines.incidents.assembly import latest_revisions
from pipelines.transforms.incidents import WriteIncidents
from pipelines.transforms.index import DEAD_LETTERS, IndexDocuments
from pipelines.transforms.naming import named_by_ids

Writer = Callable[[pa.Table, str, str], "Counter"]  # noqa: F821 - collections.Counter


class WriteTablesFn(beam.DoFn):
    """(name, table) -> files written by `writer` under the output folder; counts as metrics.

    `background`: each table is written by a thread of the DoFn's own while the next element is
    being computed (Parquet encoding releases the GIL, so a second core takes it), at most
    IN_FLIGHT tables at a time; the bundle does not finish before every file is written, and a
    failed write fails the bundle as it would have. Counts are taken on this thread."""

    IN_FLIGHT = 2

    def __init__(self, writer: Writer, out_dir: str, background: bool = False):
        self.writer = writer
        self.out_dir = out_dir
        self.background = background
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque = deque()

    def setup(self):
        if self.background:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-write")

    def start_bundle(self):
        self._pending = deque()

    def process(self, element):
        name, table = element
        if self._pool is None:
            self._count(self.writer(table, self.out_dir, name))
            return
        self._pending.append(self._pool.submit(self.writer, table, self.out_dir, name))
        while len(self._pending) > self.IN_FLIGHT:
            self._count(self._pending.popleft().result())

    def finish_bundle(self):
        while self._pending:
            self._count(self._pending.popleft().result())

    def teardown(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    @staticmethod
    def _count(counts) -> None:
        for (section, *key), n in counts.items():
            count(section, *key, n=n)

    def __getstate__(self):  # the pool and the pending writes stay in the process that made them
        state = dict(self.__dict__)
        state["_pool"], state["_pending"] = None, deque()
        return state


class WriteTables(beam.PTransform):
    """Named tables -> Parquet files (events, signals or dead letters, by `writer`);
    `background`: see WriteTablesFn."""

    def __init__(self, writer: Writer, out_dir: str, background: bool = False):
        super().__init__()
        self.writer = writer
        self.out_dir = out_dir
        self.background = background

    def expand(self, tables):
        return tables | "Write" >> beam.ParDo(WriteTablesFn(self.writer, self.out_dir, self.background))


def rows_to_signal_table(rows: list[dict]) -> pa.Table:
    """Signal rows (signals.yml names) -> a signal table, sorted by signal id."""
    table = pa.Table.from_pylist(sorted(rows, key=lambda r: r["signal.id"]), schema=signal_schema())
    return table


def _day_key(row: dict) -> tuple[str, str]:
    stamp = row.get("@timestamp")
    day = stamp.astimezone(dt.timezone.utc).strftime("%Y-%m-%d") if stamp else "undated"
    return f"{row.get('event.dataset') or 'unknown'}|{day}", row


def _named_group(element, window_=beam.DoFn.WindowParam):
    key, rows = element
    dataset, day = key.split("|", 1)
    start = getattr(window_, "start", None)
    suffix = "" if isinstance(window_, window.GlobalWindow) else f"-{int(start.micros // 1_000_000)}"
    return f"signals-{dataset}-{day}{suffix}", rows_to_signal_table(list(rows))


class SignalTables(beam.PTransform):
    """Signal rows -> (name, signal table) per dataset and UTC day; in streaming, per fixed
    event-time window of `window_seconds` too (the table is written when the window closes).
    Signals that come after their window closed (those of stitched messages come a session gap
    after their time) make late panes of that window, under the same name, for
    `allowed_lateness_s` after it closed: the streaming writer (sinks/parquet.py:
    upsert_signals) merges them into the window's file by signal id."""

    def __init__(self, window_seconds: int | None = None, allowed_lateness_s: int = 0):
        super().__init__()
        self.window_seconds = window_seconds
        self.allowed_lateness_s = allowed_lateness_s

    def expand(self, rows):
        if self.window_seconds:
            rows = rows | "SignalWindows" >> beam.WindowInto(
                window.FixedWindows(self.window_seconds),
                trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                accumulation_mode=trigger.AccumulationMode.DISCARDING,
                allowed_lateness=self.allowed_lateness_s)
        tables = (rows
                  | "KeyByDatasetDay" >> beam.Map(_day_key)
                  | "GroupByDatasetDay" >> beam.GroupByKey()
                  | "ToTable" >> beam.Map(_named_group))
        return typed_as_named_tables(tables)


class BatchSignals(beam.PTransform):
    """Signal rows -> (name, table) batches as they come (for Elasticsearch: low latency; the
    documents' _id makes the batching irrelevant to the result)."""

    def expand(self, rows):
        return typed_as_named_tables(
            rows
            | "InGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=5000)
            | "ToTable" >> beam.Map(lambda batch: named_by_ids(rows_to_signal_table(batch), "signals",
                                                               "signal.id")))


def _count_incidents(counts: dict) -> None:
    for name, n in counts.items():
        count("incidents", name, n=n)


def _count_late(_row) -> None:
    count("incidents", "late_signals")


class IndexIncidents(beam.PTransform):
    """Incident records -> Elasticsearch by id; in a bounded run only each final revision is sent
    (`final`), in streaming every revision (the index keeps the highest)."""

    def __init__(self, es: es_cluster.EsSettings, final: bool):
        super().__init__()
        self.es = es
        self.final = final

    def expand(self, records):
        if self.final:
            records = (records
                       | "IncidentsToGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
                       | "KeyById" >> beam.Map(lambda r: (r["incident.id"], r))
                       | "LatestRevision" >> beam.CombinePerKey(lambda rs: latest_revisions(rs)[0])
                       | "DropIds" >> beam.Values())
        return (records
                | "InGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
                | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=500)
                | "Name" >> beam.Map(lambda batch: ("incidents", batch))
                | "Index" >> IndexDocuments(self.es, es_sink.INCIDENTS))


class SkipWrittenFn(beam.DoFn):
    """(name, table) -> the same without rows an earlier run already wrote (a restarted stream,
    sources/resume.py: without_written); the rows left out are counted in
    vigie.stream/rows_already_written."""

    def __init__(self, ids: frozenset, column: str):
        self.ids = ids
        self.column = column
        self.skipped = Metrics.counter("vigie.stream", "rows_already_written")

    def process(self, element):
        name, table = element
        kept = without_written(element, self.ids, self.column)
        self.skipped.inc(table.num_rows - kept[1].num_rows)
        if kept[1].num_rows:
            yield kept


def skip_written(tables, label: str, ids: frozenset, column: str):
    """`tables` (name, table) without the rows whose `column` is in `ids` (nothing when `ids`
    is empty)."""
    if not ids:
        return tables
    return typed_as_named_tables(tables | label >> beam.ParDo(SkipWrittenFn(ids, column)))


class WriteOutputs(beam.PTransform):
    """What AnalyseEvents produced -> DIR/events, DIR/signals, DIR/incidents, DIR/deadletter (and
    Elasticsearch with `es`). Input: the dict of AnalyseEvents. `streaming`: signals written per
    event-time window of `window_seconds` (rewritten by late signals for `allowed_lateness_s`),
    incidents appended revision by revision. `written_events` / `written_dead_letters`: ids a
    restarted live job's earlier runs already wrote to Parquet, left out of its Parquet files
    only (Elasticsearch gets them again, by id: an earlier run may have written a row to
    Parquet and been stopped before its bulk request went out)."""

    def __init__(self, out_dir: str, es: es_cluster.EsSettings | None = None,
                 window_seconds: int | None = None, streaming: bool = False,
                 allowed_lateness_s: int = 0, written_events: frozenset = frozenset(),
                 written_dead_letters: frozenset = frozenset()):
        super().__init__()
        self.out_dir = out_dir
        self.es = es
        self.window_seconds = window_seconds
        self.streaming = streaming
        self.allowed_lateness_s = allowed_lateness_s
        self.written_events = written_events
        self.written_dead_letters = written_dead_letters

    def expand(self, analysed):
        out, es = self.out_dir, self.es
        dead_letters = [skip_written(analysed["dead_letters"], "SkipWrittenDeadLetters",
                                     self.written_dead_letters, "id")]
        for label in ("events", "stitched_events"):
            events = analysed[label]
            tag = label.title().replace("_", "")
            (skip_written(events, f"SkipWritten{tag}", self.written_events, "event.id")
             | f"Write{tag}" >> WriteTables(write_events, out, background=True))
            if es is not None:
                indexed = events | f"Index{tag}" >> IndexDocuments(es, es_sink.EVENTS)
                dead_letters.append(indexed[DEAD_LETTERS])
        signals = analysed["signals"]
        (signals | "SignalTables" >> SignalTables(self.window_seconds, self.allowed_lateness_s)
         | "WriteSignals" >> WriteTables(upsert_signals if self.streaming else write_signals, out))
        if es is not None:  # per source, not from `signals`: see analyse.signal_parts
            for source, part in signal_parts(analysed).items():
                indexed = (part | f"BatchSignals{source}" >> BatchSignals()
                           | f"IndexSignals{source}" >> IndexDocuments(es, es_sink.SIGNALS))
                dead_letters.append(indexed[DEAD_LETTERS])
        incidents = analysed.get("incidents")
        if incidents is not None:
            written = incidents | "WriteIncidents" >> WriteIncidents(out, "append" if self.streaming else "final")
            if not self.streaming:
                written | "CountIncidents" >> beam.Map(_count_incidents)
            analysed["late_signals"] | "CountLateSignals" >> beam.Map(_count_late)
            if es is not None:
                indexed = incidents | "IndexIncidents" >> IndexIncidents(es, final=not self.streaming)
                dead_letters.append(indexed[DEAD_LETTERS])
        (dead_letters | "AllDeadLetters" >> beam.Flatten()
         | "WriteDeadLetters" >> WriteTables(write_dead_letters, out))
        return analysed
