"""PTransforms of the ingest stage: ParseLogs, StitchMessages, WriteTablesFn, CountLines.

Elements are Arrow tables (thousands of events), keyed by a deterministic batch name where a
file is written from them. Counts are ((family, counter), n) pairs.
"""
from __future__ import annotations

import itertools
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Callable

import apache_beam as beam
import pyarrow as pa
from apache_beam import pvalue
from apache_beam.transforms import window

from pipelines.sources.ingest import ReadSettings, parse_slice
from pipelines.parsing import stitch
from pipelines.sources.files import FileSlice
from pipelines.transforms.coders import typed_as_named_tables
from pipelines.transforms.naming import named_by_ids

LOG = logging.getLogger("vigie")

EVENTS, FRAGMENTS, DEAD_LETTERS, COUNTS = "events", "fragments", "dead_letters", "counts"
# Slices parsed so far in this process (progress lines only; on a cluster each worker counts its own).
_SLICES_DONE = itertools.count(1)


class ParseSliceFn(beam.DoFn):
    """FileSlice -> (name, events table), fragments tables, (name, dead letters), counts."""

    def __init__(self, settings: ReadSettings, total_slices: int):
        self.settings = settings
        self.total_slices = total_slices

    def process(self, piece: FileSlice):
        for number, out in enumerate(parse_slice(piece, self.settings)):
            name = f"{piece.slice_id}-{number:05d}"
            if out.events is not None:
                yield pvalue.TaggedOutput(EVENTS, (name, out.events))
            if out.fragments is not None:
                yield pvalue.TaggedOutput(FRAGMENTS, out.fragments)
            if out.dead_letters is not None:
                yield pvalue.TaggedOutput(DEAD_LETTERS, (name, out.dead_letters))
            for key, n in out.counts.items():
                yield pvalue.TaggedOutput(COUNTS, (key, n))
        end = "end" if piece.end < 0 else f"{piece.end:,}"
        LOG.info("  [%d/%d] parsed %s bytes %s..%s", next(_SLICES_DONE), self.total_slices,
                 piece.path, f"{piece.start:,}", end)


class ParseLogs(beam.PTransform):
    """Planned slices -> tagged outputs events / fragments / dead_letters / counts."""

    def __init__(self, slices: list[FileSlice], settings: ReadSettings):
        super().__init__()
        self.slices = slices
        self.settings = settings

    def expand(self, pbegin):
        outputs = (pbegin
                   | "CreateSlices" >> beam.Create(self.slices)
                   | "SpreadSlices" >> beam.Reshuffle()
                   | "ParseSlice" >> beam.ParDo(ParseSliceFn(self.settings, len(self.slices))).with_outputs(
                       EVENTS, FRAGMENTS, DEAD_LETTERS, COUNTS))
        typed_as_named_tables(outputs[EVENTS])
        typed_as_named_tables(outputs[DEAD_LETTERS])
        return outputs


def _timestamped_runs(table, gap_seconds: int):
    """A fragments table -> (key, rows) at the run's first time, and (key, []) at its other
    marker times (see stitch.session_runs)."""
    for key, markers, rows in stitch.session_runs(stitch.fragments_to_rows(table), gap_seconds):
        yield window.TimestampedValue((key, rows), markers[0])
        for marker in markers[1:]:
            yield window.TimestampedValue((key, []), marker)


class StitchMessages(beam.PTransform):
    """Fragment tables -> (name, events table) of stitched messages.

    Fragments are grouped by stitch key in event-time session windows (gap `gap_seconds`), so
    replay and streaming group the same lines the same way.
    """

    def __init__(self, gap_seconds: int):
        super().__init__()
        self.gap_seconds = gap_seconds

    def expand(self, fragments):
        return (fragments
                | "ToKeyedRuns" >> beam.FlatMap(_timestamped_runs, self.gap_seconds)
                | "SessionsByEventTime" >> beam.WindowInto(window.Sessions(self.gap_seconds))
                | "GroupByStitchKey" >> beam.GroupByKey()
                | "StitchMessage" >> beam.MapTuple(
                    lambda key, runs: stitch.stitch_message([row for run in runs for row in run], key))
                | "BackToGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
                | "BatchRows" >> beam.BatchElements(min_batch_size=1000, max_batch_size=50_000)
                | "RowsToTable" >> beam.Map(stitch.rows_to_table)
                | "NameBatch" >> beam.Map(named_by_ids, "stitched", "event.id"))


class WriteTablesFn(beam.DoFn):
    """(name, Arrow table) -> files written by `writer` (a sink of sinks/parquet.py: events,
    signals or dead letters) under the output folder; yields the counts it returns."""

    def __init__(self, writer: Callable[[pa.Table, str, str], Counter], out_dir: str):
        self.writer = writer
        self.out_dir = out_dir

    def process(self, element):
        name, table = element
        yield from self.writer(table, self.out_dir, name).items()


def _write_counts(counts: dict, path: str) -> None:
    rows = [{"family": family, "counter": counter, "value": value}
            for (family, counter), value in sorted(counts.items())]
    Path(path).write_text(json.dumps(rows, indent=1), encoding="utf-8")


class CountLines(beam.PTransform):
    """Count pairs from every stage -> one JSON file of totals at `path`."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def expand(self, count_pcolls):
        return (count_pcolls
                | "FlattenCounts" >> beam.Flatten()
                | "GlobalCountWindow" >> beam.WindowInto(window.GlobalWindows())
                | "SumPerCounter" >> beam.CombinePerKey(sum)
                | "AllCounters" >> beam.combiners.ToDict()
                | "WriteCounts" >> beam.Map(_write_counts, self.path))
