"""StitchMessages: tables of fragments (the lines of one mail message, keyed) -> stitched events.

Fragments are grouped by stitch key in event-time session windows (gap `gap_seconds`), so
replay and streaming group the same lines the same way; parsing/stitch.py does the merging.
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms import window

from pipelines.parsing import stitch
from pipelines.transforms.naming import named_by_ids


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


