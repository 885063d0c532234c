"""IndexDocuments: (name, Arrow table) -> Elasticsearch, a thin Beam shell over sinks/elasticsearch.py.

In: named event or signal tables, or named lists of incident records. Out (tagged DEAD_LETTERS): the documents that finally failed,
as (name, dead-letter table) for the run's one dead-letter writer; named by a digest of their
ids, so a retried bundle that fails the same documents writes the same file. Counters
(documents_sent, documents_indexed, documents_dead_lettered, index_retries per family) are Beam
metrics (pipelines/summary.py).

Bulk requests of one table are still in flight when the next table arrives (the parse of the next
slice overlaps the indexing of this one); every outcome is collected at the latest in
finish_bundle, so a bundle ends only when each of its documents is indexed or dead-lettered.
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks import es_cluster
from pipelines.summary import count
from pipelines.transforms.coders import typed_as_named_tables
from pipelines.transforms.naming import named_by_ids

DEAD_LETTERS, DONE = "dead_letters", "done"


class IndexDocumentsFn(beam.DoFn):
    """(name, table) -> bulk requests through one BulkIndexer per DoFn instance."""

    def __init__(self, settings: es_cluster.EsSettings, kind: str):
        self.settings = settings
        self.kind = kind
        self.indexer = None

    def setup(self):
        self.indexer = es_sink.BulkIndexer(es_cluster.connect(self.settings), self.settings)

    def _settle(self, outcome: es_sink.BulkOutcome):
        """Count an outcome; its dead letters as a tagged (name, table), if any."""
        for (family, counter), n in outcome.counts.items():
            count("index", family, counter, n=n)
        if outcome.dead:
            table = es_sink.dead_letter_table(outcome.dead)
            yield pvalue.TaggedOutput(DEAD_LETTERS, named_by_ids(table, f"index-{self.kind}", "id"))

    def process(self, element):
        _, payload = element  # an event or signal table, or a list of incident records
        self.indexer.add(es_sink.incident_documents(payload) if self.kind == es_sink.INCIDENTS
                         else es_sink.documents(payload, self.kind))
        yield from self._settle(self.indexer.take_done())

    def finish_bundle(self):
        for output in self._settle(self.indexer.flush()):
            yield pvalue.TaggedOutput(output.tag, GlobalWindows.windowed_value(output.value))

    def teardown(self):
        if self.indexer is not None:
            self.indexer.close()


class IndexDocuments(beam.PTransform):
    """Named event or signal tables -> Elasticsearch; output tagged DEAD_LETTERS."""

    def __init__(self, settings: es_cluster.EsSettings, kind: str):
        super().__init__()
        self.settings = settings
        self.kind = kind

    def expand(self, tables):
        outputs = tables | "Bulk" >> beam.ParDo(IndexDocumentsFn(self.settings, self.kind)).with_outputs(
            DEAD_LETTERS, main=DONE)
        typed_as_named_tables(outputs[DEAD_LETTERS])
        return outputs
