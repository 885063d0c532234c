"""Counters as Beam metrics, read back into typed sections, and the balance checks (summary.py)."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.summary import RunCounts, count, index_unbalanced, unbalanced


def test_metrics_of_a_run_come_back_typed_and_summed_over_steps():
    def step(x):
        count("datasets", "web", "lines_read", n=x)
        count("skipped", "web", "blank line")
        count("files", "lines_read", "/logs/a b/access.log", n=x)
        count("deadletters", "read", "line exceeds --max-line-bytes 10")
        count("rules", "rule-1", n=2)
        return x

    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    numbers = pipeline | beam.Create([1, 2, 3])
    numbers | "StepA" >> beam.Map(step)
    numbers | "StepB" >> beam.Map(step)
    result = pipeline.run()
    result.wait_until_finish()
    counts = RunCounts.from_metrics(result)
    assert counts.datasets["web"]["lines_read"] == 12
    assert counts.skipped["web"]["blank line"] == 6
    assert counts.files["/logs/a b/access.log"]["lines_read"] == 12
    assert counts.deadletters[("read", "line exceeds --max-line-bytes 10")] == 6
    assert counts.rules["rule-1"] == 12


def test_datasets_section_and_balances():
    counts = RunCounts()
    counts.add("datasets", ("web", "lines_read"), 10)
    counts.add("datasets", ("web", "lines_in_events"), 8)
    counts.add("datasets", ("web", "lines_skipped"), 2)
    counts.add("datasets", ("web", "events"), 8)
    counts.add("datasets", ("vpn", "lines_read"), 3)
    counts.add("datasets", ("vpn", "lines_in_events"), 2)
    counts.add("incidents", ("incidents",), 4)
    section = counts.datasets_section()
    assert list(section) == ["mail", "web", "vpn", "total"]
    assert section["total"]["lines_read"] == 13 and section["total"]["incidents"] == 4
    assert unbalanced(section) == ["vpn", "total"]
    assert index_unbalanced(section) == []  # no indexing: nothing to balance
    for family, sent, indexed, dead in (("web", 8, 7, 1), ("vpn", 0, 0, 0)):
        counts.add("index", (family, "documents_sent"), sent)
        counts.add("index", (family, "documents_indexed"), indexed)
        counts.add("index", (family, "documents_dead_lettered"), dead)
    counts.add("datasets", ("vpn", "events"), 2)
    assert index_unbalanced(counts.datasets_section()) == ["vpn", "total"]


def test_live_counter_takes_the_larger_of_committed_and_attempted():
    from pipelines.summary import metric_value
    assert metric_value(306, 54, live=True) == 306      # Prism: attempted is its latest bundles
    assert metric_value(None, 40, live=True) == 40      # a runner that gives attempted only
    assert metric_value(306, 54) == 306 and metric_value(None, 7) == 7 and metric_value(None, None) == 0
