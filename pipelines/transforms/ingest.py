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
from pipelines.sources.files import FileSlice
from pipelines.transforms.coders import typed_as_named_tables
from pipelines.transforms.stitch import StitchMessages  # noqa: F401 (re-exported for replay.py)

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
