"""DetectSigma: (name, events table) -> (name, signals table), with the compiled RuleSet.

The RuleSet is compiled once on the driver and shipped with the DoFn (it pickles to a few tens
of KB and needs no pySigma on the worker). The same transform serves replay and streaming.
"""
from __future__ import annotations

import apache_beam as beam

from pipelines.detection.engine import RuleSet, detect


class DetectSigmaFn(beam.DoFn):
    """Evaluate every rule on one event batch; emit the batch's signals when there are any."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset

    def process(self, element):
        name, events = element
        signals = detect(self.ruleset, events)
        if signals.num_rows:
            yield name, signals


class DetectSigma(beam.PTransform):
    """(name, events) batches -> (name, signals) batches."""

    def __init__(self, ruleset: RuleSet):
        super().__init__()
        self.ruleset = ruleset

    def expand(self, events):
        return events | "EvaluateRules" >> beam.ParDo(DetectSigmaFn(self.ruleset))
