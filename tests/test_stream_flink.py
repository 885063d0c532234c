"""`vigie stream --runner FlinkRunner`: the live job on the local Flink session cluster finds what
`vigie replay` finds in the same files.

A small generated hospital scenario (3,000 lines) is shipped to a topic of its own with
`vigie ship` (headers carry each line's file key and offset, so the stream's event ids are the
replay's), then `vigie stream` runs on the cluster with Flink checkpoints every 5 s and
`--stop-when-idle`: the command reads the job's live counters, its settled-time gauge and every
operator's input watermark from Flink's REST API (Beam's Flink job server reports no metrics
until a job ends), waits until no counter and no incident revision has moved for a while, stops,
and cancels the job on the cluster. Its events, signals and incidents must be the replay's: the
same ids, and each incident's last revision the replay's incident; the consumer group must have
committed everything; no job may be left running on the cluster.

The command gives the job two Flink runner options of its own (pipelines/services/flink.py,
LIVE_JOB_FLAGS): bundles finished before each checkpoint (else a checkpoint during the Kafka
read's first bundle could keep the partitions to read buffered for ever: the reader never
started) and closed after 100 ms (each round of due timers of a stateful step is one bundle, and
a stage emits no watermark until its due timers are done: at the default 1 s the correlation
stage held every downstream watermark back for minutes). Its idle check waits for every
operator's watermark, one that has none yet included.

The versions shown working together here: the Python SDK 2.75.0 (the pipeline and its LOOPBACK
workers), Beam's Java expansion service and worker pool 2.73.0 (Kafka IO) and Beam's Flink job
server 2.62.0 on Flink 1.19.0.

Marked `streaming` (tests/conftest.py); the fixtures start Kafka, the Java services and the
Flink cluster when they are not running, and stop what they started.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import apache_beam
import pyarrow.dataset as ds
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.cli import main
from pipelines.commands.stream import flink_safe
from pipelines.commands.stream_metrics import FlinkRestMetrics, flink_rest_url
from pipelines.options import split_argv
from pipelines.scenario.chu import generate_chu
from pipelines.services import beam_java, flink, kafka_topics

from streaming_services import expansion_address, flink_cluster, kafka_broker  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
SCENARIO_EVENTS = 3_000
IDLE_S = 20  # incident revisions came every ~5 s on the loaded machine: 20 s of quiet is a margin
STREAM_TIMEOUT_S = 240  # the command normally stops by itself 1.5 minutes after it starts
VOLATILE = ("incident.revision", "incident.status")  # a stream revises, a replay writes once


# ---- pure parts: no server -------------------------------------------------------------------

def test_flink_metric_names_decode_to_beam_namespaces():
    namespaces = ("vigie.stream", "vigie.datasets", "vigie.files")
    assert flink.decode_metric("[1]TrackSettled/Settled.vigie_stream_settled_ms", namespaces) == \
        ("[1]TrackSettled/Settled", "vigie.stream", "settled_ms")
    assert flink.decode_metric("[22]{ReadUnits__AnalyseEvents}.vigie_datasets_web/lines_read", namespaces) == \
        ("[22]{ReadUnits__AnalyseEvents}", "vigie.datasets", "web/lines_read")
    assert flink.decode_metric("[2]Op.numRecordsIn", namespaces) is None
    assert flink.decode_metric("[2]Op.vigie_stream_", namespaces) is None


def test_rest_metrics_answer_like_a_runner():
    rows = [("a", "vigie.datasets", "web/lines_read", 10, 10), ("b", "vigie.datasets", "web/lines_read", 5, 5),
            ("a", "vigie.stream", "settled_ms", 3, 2), ("a", "vigie.stream", "records", 15, 15)]
    results = FlinkRestMetrics(rows).query(MetricsFilter().with_namespace("vigie.stream"))
    assert [(m.key.metric.name, m.attempted) for m in results["counters"]] == [("records", 15)]
    assert [(m.key.metric.name, m.attempted.value) for m in results["gauges"]] == [("settled_ms", 2)]
    assert sum(m.attempted for m in FlinkRestMetrics(rows).query()["counters"]) == 30


def test_only_a_flink_cluster_is_asked_through_rest():
    def url(*flags):
        return flink_rest_url(PipelineOptions(list(flags)))
    assert url("--runner=FlinkRunner", "--flink_master=127.0.0.1:8081") == "http://127.0.0.1:8081"
    assert url("--runner=FlinkRunner", "--flink_master=[local]") is None
    assert url("--runner=PrismRunner") is None


def test_stream_accepts_the_flink_flags():
    inputs, flags = split_argv(["--source", "kafka://h:1/t", *flink_flags_example()], "stream")
    assert not inputs and "--checkpointing_interval=5000" in flags


def test_a_live_job_gets_the_flink_options_it_needs_unless_given():
    base = flink_flags_example()
    flags = flink_safe(base)
    assert flags[:len(base)] == base
    assert "--finish_bundle_before_checkpointing" in flags and "--max_bundle_time_mills=100" in flags
    assert flink_safe(base + ["--max_bundle_time_mills=500"]).count("--max_bundle_time_mills=500") == 1
    assert not [f for f in flink_safe(base + ["--max_bundle_time_mills=500"]) if f.endswith("=100")]
    assert flink_safe(["--runner=PrismRunner"]) == ["--runner=PrismRunner"]
    # checkpoints every 5 s unless given (without any the TaskManager's heap fills: flink.py)
    given = flink_safe(["--runner=FlinkRunner", "--checkpointing_interval=60000"])
    assert [f for f in given if f.startswith("--checkpointing_interval")] == ["--checkpointing_interval=60000"]
    assert "--checkpointing_interval=5000" in flink_safe(["--runner=FlinkRunner"])
    # the options are the Flink runner's own: the command line accepts them
    assert split_argv(["--source", "kafka://h:1/t", *flags], "stream")[1] == ["--source", "kafka://h:1/t", *flags]


def test_an_operator_without_a_watermark_is_not_settled():
    minimum, maximum = str(-(1 << 63)), str((1 << 63) - 1)
    assert flink.watermark_ms(minimum) == flink.NO_WATERMARK
    assert flink.watermark_ms("-9.223372036854776E18") == flink.NO_WATERMARK  # Flink's float text
    assert flink.watermark_ms(maximum) == (1 << 63) - 1 and flink.watermark_ms("n/a") is None
    rows = [{"id": "[15]{AnalyseEvents__WriteOutputs}.currentInputWatermark", "min": "1796547342000"},
            {"id": "[15]{AnalyseEvents__WriteOutputs}.currentOutputWatermark", "min": minimum},
            {"id": "ToKeyedWorkItem.currentInputWatermark", "min": minimum},
            {"id": "currentInputWatermark", "min": "0"}]  # the vertex's own, not an operator's
    marks = flink.lowest_watermarks(rows)
    assert marks == {"[15]{AnalyseEvents__WriteOutputs}": 1796547342000,
                     "ToKeyedWorkItem": flink.NO_WATERMARK}
    # a stage whose timers keep firing emits no watermark: downstream operators have none yet
    assert not flink.watermarks_past(marks, 1_795_900_000_000)
    assert flink.watermarks_past({"a": 1_796_000_000_000, "b": (1 << 63) - 1}, 1_795_900_000_000)
    assert not flink.watermarks_past({"a": 1_796_000_000_000, "b": None}, 1_795_900_000_000)
    assert not flink.watermarks_past({}, 0)


def flink_flags_example() -> list[str]:
    return ["--runner=FlinkRunner", "--flink_master=127.0.0.1:8081", "--checkpointing_interval=5000"]


# ---- the live job on the cluster ---------------------------------------------------------------

def scenario_flags(scenario: Path) -> list[str]:
    """The flags both runs share (as the golden replay sets them)."""
    return ["--timezone", "Europe/Paris", "--inventory", str(scenario / "inventory.yml"),
            "--threat-list", f"tor-exits={scenario / 'tor-exits.txt'}"]


REFERENCE_TIME = ["--reference-time", "2026-11-28T12:00:00+00:00"]


def ids(out: Path, name: str, key: str) -> list[str]:
    folder = out / name
    if not folder.is_dir():
        return []
    partitioning = "hive" if name == "events" else None
    return sorted(ds.dataset(folder, format="parquet", partitioning=partitioning).to_table(columns=[key])[key].to_pylist())


def last_revisions(out: Path) -> dict[str, dict]:
    """Each incident's last revision, without the fields a stream's revisions change."""
    found: dict[str, dict] = {}
    path = out / "incidents" / "incidents.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        record = json.loads(line)
        known = found.get(record["incident.id"])
        if known is None or record["incident.revision"] >= known["incident.revision"]:
            found[record["incident.id"]] = record
    return {key: {k: v for k, v in record.items() if k not in VOLATILE} for key, record in found.items()}


def wait_for_group_coordinator(bootstrap: str, group: str, topic: str, timeout_s: float = 60) -> None:
    """A fresh broker answers `Not coordinator` to a new group's first requests while it
    creates its offsets topic; the stream's restart check would take that for an error."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            kafka_topics.committed_offsets(bootstrap, group, topic)
            return
        except Exception:  # noqa: BLE001 - KafkaException of a coordinator not ready yet
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> tuple[Path, Path]:
    """The generated scenario and its local replay."""
    root = tmp_path_factory.mktemp("flink-stream")
    folder, out = root / "scen", root / "replay"
    generate_chu(folder, events=SCENARIO_EVENTS, seed=7)
    inputs = [str(folder / family) for family in ("mail", "web", "vpn")]
    assert main(["replay", *inputs, "--out", str(out), *scenario_flags(folder), *REFERENCE_TIME]) == 0
    return folder, out


@pytest.mark.streaming
def test_stream_on_flink_finds_what_the_replay_finds(scenario, kafka_broker, expansion_address,
                                                      flink_cluster, tmp_path):
    assert apache_beam.__version__ == "2.75.0"  # the skew this test shows working
    assert (beam_java.BEAM_JAVA_VERSION, flink.BEAM_FLINK_VERSION) == ("2.73.0", "2.62.0")
    folder, replayed = scenario
    topic, group = f"flink-scen-{uuid.uuid4().hex[:8]}", f"flink-{uuid.uuid4().hex[:8]}"
    inputs = [str(folder / family) for family in ("mail", "web", "vpn")]
    assert main(["ship", *inputs, "--to", f"kafka://{kafka_broker.bootstrap}/{topic}", "--partitions", "2",
                 "--timezone", "Europe/Paris", *REFERENCE_TIME]) == 0

    wait_for_group_coordinator(kafka_broker.bootstrap, group, topic)
    out = tmp_path / "live"
    command = [sys.executable, "-m", "pipelines.cli", "stream",
               "--source", f"kafka://{kafka_broker.bootstrap}/{topic}", "--group", group,
               "--out", str(out), *scenario_flags(folder), "--expansion-service", expansion_address,
               "--status-seconds", "5", "--stop-when-idle", str(IDLE_S),
               *flink.runner_options(flink_cluster, streaming=True), "--checkpointing_interval=5000"]
    env = flink.runner_env(dict(os.environ, PYTHONPATH=str(REPO)))
    signals, incidents = ids(replayed, "signals", "signal.id"), last_revisions(replayed)
    assert signals and incidents
    ends = kafka_topics.end_offsets(kafka_broker.bootstrap, topic)

    started = time.monotonic()
    job = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, start_new_session=True)
    try:
        log, _ = job.communicate(timeout=STREAM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        job.send_signal(signal.SIGTERM)  # the command cancels its job, on the cluster too
        log, _ = job.communicate(timeout=120)
        pytest.fail(f"vigie stream did not stop within {STREAM_TIMEOUT_S} s:\n{log[-3000:]}")
    finally:
        if job.poll() is None:
            job.kill()
    took = time.monotonic() - started
    assert job.returncode == 0, log[-3000:]
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    stopping = [e for e in events if e["event"] == "stopping"]
    assert stopping and stopping[0]["reason"] == "idle", log[-3000:]
    assert any(e["event"] == "cancelled" for e in events), "the job was not cancelled on the cluster"
    stopped = events[-1]
    assert stopped["event"] == "stopped", log[-3000:]
    # the live counters came from Flink's REST API while the job ran
    assert stopped["records"] == SCENARIO_EVENTS and stopped["lines_read"] == SCENARIO_EVENTS, stopped
    assert stopped["signals"] == len(signals) and stopped["lag"] == 0, stopped
    with urllib.request.urlopen(f"{flink_cluster.rest_url}/jobs/overview", timeout=10) as answer:
        overview = json.load(answer)
    assert not [j for j in overview["jobs"] if j["state"] not in flink.ENDED], overview  # nothing left running

    assert ids(out, "events", "event.id") == ids(replayed, "events", "event.id")
    assert ids(out, "signals", "signal.id") == signals
    assert last_revisions(out) == incidents
    assert kafka_topics.committed_offsets(kafka_broker.bootstrap, group, topic) == ends
    print(f"vigie stream on Flink: stopped by itself {took:.0f} s after it started")
