"""The replay pipeline (wiring only): planned file slices | AnalyseEvents | WriteOutputs.

`run_replay_pipeline(options, slices, analysis, out_dir, es)` builds the graph, runs it to the
end and returns the run's counters (pipelines/summary.py). Checking flags, planning, the output
folder and summary.json are the command's (pipelines/commands/replay.py).
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.sinks import es_cluster
from pipelines.sources.files import FileSlice
from pipelines.summary import RunCounts
from pipelines.transforms.analyse import AnalyseEvents, AnalysisSettings
from pipelines.transforms.write import WriteOutputs


def build_replay(pipeline: beam.Pipeline, slices: list[FileSlice], analysis: AnalysisSettings,
                 out_dir: str, es: es_cluster.EsSettings | None = None) -> None:
    """Wire the replay onto `pipeline`: slices spread over workers, analysed, written."""
    units = (pipeline
             | "CreateSlices" >> beam.Create(slices)
             | "SpreadSlices" >> beam.Reshuffle())
    analysed = units | "AnalyseEvents" >> AnalyseEvents(analysis)
    analysed | "WriteOutputs" >> WriteOutputs(out_dir, es)


def run_replay_pipeline(options: PipelineOptions, slices: list[FileSlice], analysis: AnalysisSettings,
                        out_dir: str, es: es_cluster.EsSettings | None = None) -> RunCounts:
    """Build and run the replay; the committed counters of the finished run."""
    pipeline = beam.Pipeline(options=options)
    build_replay(pipeline, slices, analysis, out_dir, es)
    result = pipeline.run()
    result.wait_until_finish()
    return RunCounts.from_metrics(result)
