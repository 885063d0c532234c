"""EnrichEvents: the Beam shell of pipelines/enrichment/.

(name, events table) -> (name, enriched table). The Enricher is loaded on the driver (so a bad
database, list or inventory fails before the run) and shipped with the DoFn; each DoFn instance
keeps its per-address caches across the batches it processes.
"""
from __future__ import annotations

import apache_beam as beam

from pipelines.enrichment.enrich import Enricher
from pipelines.transforms.coders import typed_as_named_tables


class EnrichEventsFn(beam.DoFn):
    """One event batch -> the same batch with the enrichment columns filled."""

    def __init__(self, enricher: Enricher):
        self.enricher = enricher

    def process(self, element):
        name, events = element
        yield name, self.enricher.enrich(events)


class EnrichEvents(beam.PTransform):
    """(name, events) batches -> (name, enriched events) batches."""

    def __init__(self, enricher: Enricher):
        super().__init__()
        self.enricher = enricher

    def expand(self, events):
        return typed_as_named_tables(events | "EnrichBatch" >> beam.ParDo(EnrichEventsFn(self.enricher)))


