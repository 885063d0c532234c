"""ParseLines: units of lines (planned file slices, Kafka record sets: sources/units.py) -> parsed
tables.

A unit is read and parsed batch by batch in one DoFn call (sources/ingest.py), so that what a
file carries from line to line (W3C field lists, the daylight-saving clock) follows it in order.
Outputs, tagged: EVENTS (name, events table), FRAGMENTS (tables of lines to stitch),
DEAD_LETTERS (name, dead-letter table). Counters (lines read and skipped, per family and
reason; lines with zone-less timestamps per file) are Beam metrics (pipelines/summary.py).
Names are deterministic: the unit's id and the batch's number.
"""
from __future__ import annotations

import collections
import itertools
import logging
import uuid

import apache_beam as beam
import pyarrow.compute as pc
from apache_beam import pvalue

from pipelines.sources.ingest import ReadSettings, SliceOutput, parse_unit
from pipelines.sources.units import LineUnit
from pipelines.summary import count
from pipelines.transforms.coders import typed_as_named_tables

LOG = logging.getLogger("vigie")

EVENTS, FRAGMENTS, DEAD_LETTERS = "events", "fragments", "dead_letters"
# Slices parsed so far in this process (progress lines only; on a cluster each worker counts its own).
# Slices parsed so far, per run (a process may run several replays: tests, `vigie demo`).
_SLICES_DONE: dict[str, itertools.count] = collections.defaultdict(lambda: itertools.count(1))


def count_batch(out: SliceOutput, path: str) -> None:
    """Metrics of one parsed batch: its line counts and skip reasons per family; per file the
    lines read, the lines parsed (into events or fragments) and those read without a zone."""
    for (family, counter), n in out.counts.items():
        if counter.startswith("skipped: "):
            count("skipped", family, counter[len("skipped: "):], n=n)
        else:
            count("datasets", family, counter, n=n)
            if counter == "lines_read":
                count("files", "lines_read", path, n=n)
    for table in (out.events, out.fragments):
        if table is not None:
            count("files", "lines_parsed", path, n=pc.sum(table["vigie.lines"]).as_py() or 0)
            count("files", "zoneless_lines", path, n=table.num_rows - table["event.timezone"].null_count)


class ParseLinesFn(beam.DoFn):
    """A unit of lines -> tagged (name, events), fragments, (name, dead letters)."""

    def __init__(self, settings: ReadSettings, total_units: int):
        self.settings = settings
        self.total_units = total_units
        self.run = uuid.uuid4().hex  # travels with every copy of this DoFn: one progress count

    def process(self, piece: LineUnit):
        for number, out in enumerate(parse_unit(piece, self.settings)):
            name = f"{piece.unit_id}-{number:05d}"
            count_batch(out, out.path)
            if out.events is not None:
                yield pvalue.TaggedOutput(EVENTS, (name, out.events))
            if out.fragments is not None:
                yield pvalue.TaggedOutput(FRAGMENTS, out.fragments)
            if out.dead_letters is not None:
                yield pvalue.TaggedOutput(DEAD_LETTERS, (name, out.dead_letters))
        if self.total_units:  # a planned replay: one progress line per slice
            end = "end" if piece.end < 0 else f"{piece.end:,}"
            LOG.info("  [%d/%d] parsed %s bytes %s..%s", next(_SLICES_DONE[self.run]), self.total_units,
                     piece.path, f"{piece.start:,}", end)


class ParseLines(beam.PTransform):
    """Units of lines -> tagged outputs events / fragments / dead_letters."""

    def __init__(self, settings: ReadSettings, total_units: int):
        super().__init__()
        self.settings = settings
        self.total_units = total_units

    def expand(self, units):
        outputs = units | "ParseUnit" >> beam.ParDo(ParseLinesFn(self.settings, self.total_units)).with_outputs(
            EVENTS, FRAGMENTS, DEAD_LETTERS)
        typed_as_named_tables(outputs[EVENTS])
        typed_as_named_tables(outputs[DEAD_LETTERS])
        return outputs
