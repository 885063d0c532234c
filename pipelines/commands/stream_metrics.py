"""The counters of a running live job, as `vigie stream` shows them in its status lines.

In: a running job's result (Prism, or Flink through its REST API, where Beam's job server has no
metrics until the job ends). Out: RunCounts and the source's own metrics (`live_counts`), then
the flat fields of one status line (`status_fields`).
"""
from __future__ import annotations

import datetime as dt

from apache_beam.metrics.cells import GaugeData, GaugeResult
from apache_beam.metrics.execution import MetricKey, MetricResult
from apache_beam.metrics.metric import MetricResults, MetricsFilter
from apache_beam.metrics.metricbase import MetricName
from apache_beam.options.pipeline_options import FlinkRunnerOptions, PipelineOptions
from apache_beam.portability.api import beam_job_api_pb2
from apache_beam.runners.portability.portable_runner import PortableMetrics

from pipelines.services import flink
from pipelines.summary import SECTIONS, RunCounts, metric_value


# The source's gauges (the other metrics of Vigie's namespaces are counters).
GAUGES = {("vigie.stream", "latest_ms"), ("vigie.stream", "settled_ms"),
          ("vigie.stream", "latest_record_ms")}
NAMESPACES = ("vigie.stream",) + tuple(f"vigie.{section}" for section in SECTIONS)


class FlinkRestMetrics(MetricResults):
    """Beam metrics of a running Flink job as Flink's REST API reports them
    (flink.job_metrics rows), queried like any runner's metrics: counters summed over
    subtasks, gauges their highest value; attempted and committed alike."""

    def __init__(self, rows: list[tuple[str, str, str, float, float]]):
        self.rows = rows

    def query(self, filter=None):  # noqa: A002 - Beam's name
        counters, gauges = [], []
        for operator, namespace, name, total, top in self.rows:
            key = MetricKey(operator, MetricName(namespace, name))
            if not self.matches(filter, key):
                continue
            if (namespace, name) in GAUGES:
                gauge = GaugeResult(GaugeData(int(top)))
                gauges.append(MetricResult(key, gauge, gauge))
            else:
                counters.append(MetricResult(key, int(total), int(total)))
        return {self.COUNTERS: counters, self.DISTRIBUTIONS: [], self.GAUGES: gauges,
                self.STRINGSETS: [], self.BOUNDED_TRIES: [], self.HISTOGRAMS: []}


def flink_rest_url(options: PipelineOptions) -> str | None:
    """The REST endpoint of the Flink cluster a FlinkRunner job goes to (None for other
    runners and for the runner's embedded `[local]`/`[auto]` clusters)."""
    if options.get_all_options()["runner"] not in ("FlinkRunner", "Flink"):
        return None
    master = options.view_as(FlinkRunnerOptions).flink_master or ""
    if not master or master.startswith("["):
        return None
    return master if "://" in master else f"http://{master}"


def live_metrics(result, flink_rest: str | None = None):
    """The job's metrics as they are now. A portable job's result (Prism, Flink) keeps the first
    answer it got, so its job service is asked again each time; Beam's Flink job server has no
    metrics until a job ends, so a job on a Flink cluster is asked through Flink's REST API."""
    service, job_id = getattr(result, "_job_service", None), getattr(result, "_job_id", None)
    if flink_rest and job_id is not None:
        flink_job = flink.running_job(flink_rest, job_id)
        if flink_job is not None:
            return FlinkRestMetrics(flink.job_metrics(flink_rest, flink_job, NAMESPACES))
    if service is None or job_id is None:
        return result.metrics()
    answer = service.GetJobMetrics(beam_job_api_pb2.GetJobMetricsRequest(job_id=job_id), timeout=30)
    return PortableMetrics(answer)


def stream_values(metrics) -> dict:
    """The source's own metrics (namespace vigie.stream): records, heartbeats (counters) and
    latest_ms / settled_ms (gauges: the latest line time read, and the time up to which every
    line has gone through every stateful step)."""
    found: dict = {}
    results = metrics.query(MetricsFilter().with_namespace("vigie.stream"))
    for metric in results["counters"]:
        value = metric_value(metric.committed, metric.attempted, live=True)
        found[metric.key.metric.name] = found.get(metric.key.metric.name, 0) + value
    for metric in results["gauges"]:
        for value in (metric.attempted, metric.committed):
            if value is not None and value.value is not None:
                name = metric.key.metric.name
                found[name] = max(found.get(name, 0), int(value.value))
    return found


def live_counts(result, flink_rest: str | None = None) -> tuple[RunCounts | None, dict]:
    """The job's counters as they are now (attempted values) and the source's metrics; None
    and {} when the runner gives none."""
    try:
        metrics = live_metrics(result, flink_rest)
        return RunCounts.from_metrics(metrics, attempted=True), stream_values(metrics)
    except Exception:  # noqa: BLE001 - a runner without live metrics: the status says so
        return None, {}


def status_fields(counts: RunCounts | None, source_values: dict) -> dict:
    """The counters of a status line."""
    if counts is None:
        return {"counters": "not available from this runner while the job runs"}
    total = counts.datasets_section()["total"]
    fields = {name: total.get(name, 0) for name in
              ("lines_read", "lines_in_events", "lines_dead_lettered", "lines_skipped", "events",
               "dead_letters", "signals")}
    fields["late_signals"] = int(counts.incidents.get("late_signals", 0))
    fields["late_logins"] = int(counts.correlation.get("late_logins", 0))
    fields["late_correlation_signals"] = int(counts.correlation.get("late_signals", 0))
    if counts.index:
        fields.update({name: total.get(name, 0) for name in
                       ("documents_sent", "documents_indexed", "documents_dead_lettered", "index_retries")})
    for name in ("records", "heartbeats", "rows_already_written"):
        fields[name] = int(source_values.get(name, 0))
    for name in ("latest_ms", "settled_ms"):
        if name in source_values:
            fields[name.replace("_ms", "")] = iso_time(source_values[name])
            fields[name] = source_values[name]
    return fields


def iso_time(ms: int | None) -> str | None:
    """Milliseconds since the epoch -> ISO text in UTC (None stays None)."""
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat()
