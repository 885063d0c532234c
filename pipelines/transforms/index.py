"""IndexDocuments: (name, Arrow table) -> Elasticsearch, a thin Beam shell over sinks/elasticsearch.py.

In: named event or signal tables. Out: count pairs ((family, counter), n) for CountLines
(documents_sent, documents_indexed, documents_dead_lettered, index_retries), and the documents that
finally failed written as dead letters to DIR/deadletter/index-<kind>-<batch>.parquet.

Bulk requests of one table are still in flight when the next table arrives (the parse of the next
slice overlaps the indexing of this one); every outcome is collected at the latest in
finish_bundle, so a bundle ends only when each of its documents is indexed or dead-lettered.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.transforms.window import GlobalWindows

from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks import es_cluster
from pipelines.sinks.parquet import DEAD_LETTER_DIR


def write_index_dead_letters(outcome: es_sink.BulkOutcome, out_dir: str, name: str) -> None:
    """The dead-letter rows of `outcome` -> DIR/deadletter/<name>.parquet (nothing when none)."""
    if not outcome.dead:
        return
    folder = Path(out_dir) / DEAD_LETTER_DIR
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(es_sink.dead_letter_table(outcome.dead), folder / f"{name}.parquet")


class IndexDocumentsFn(beam.DoFn):
    """(name, table) -> bulk requests through one BulkIndexer per DoFn instance; yields counts."""

    def __init__(self, settings: es_cluster.EsSettings, kind: str, out_dir: str):
        self.settings = settings
        self.kind = kind
        self.out_dir = out_dir
        self.indexer = None
        self.last_name = "batch"
        self.sequence = itertools.count()

    def setup(self):
        self.indexer = es_sink.BulkIndexer(es_cluster.connect(self.settings), self.settings)

    def _emit(self, outcome: es_sink.BulkOutcome):
        write_index_dead_letters(outcome, self.out_dir,
                                 f"index-{self.kind}-{self.last_name}-{next(self.sequence):04d}")
        return list(outcome.counts.items())

    def process(self, element):
        name, table = element
        self.last_name = name
        self.indexer.add(es_sink.documents(table, self.kind))
        yield from self._emit(self.indexer.take_done())

    def finish_bundle(self):
        for pair in self._emit(self.indexer.flush()):
            yield GlobalWindows.windowed_value(pair)

    def teardown(self):
        if self.indexer is not None:
            self.indexer.close()


class IndexDocuments(beam.PTransform):
    """Named event or signal tables -> Elasticsearch; output: count pairs for CountLines."""

    def __init__(self, settings: es_cluster.EsSettings, kind: str, out_dir: str):
        super().__init__()
        self.settings = settings
        self.kind = kind
        self.out_dir = out_dir

    def expand(self, tables):
        return tables | "Bulk" >> beam.ParDo(IndexDocumentsFn(self.settings, self.kind, self.out_dir))
