"""The streaming stack end to end on real services: Kafka 4.4 (KRaft), Beam's Java expansion
service and worker pool (2.73), Prism (2.75) and a Flink 1.19 session cluster through Beam's
Flink job server (2.62), driven by the Python SDK 2.75.

Each Beam job reads a bounded number of records with `ReadFromKafka(with_metadata=True)` through
the project's expansion service, maps them in Python and writes one JSON file per element (named
by partition and offset), so the assertions are per element and exact; committed consumer-group
offsets are read back from the broker. Run alone with:

    .venv/bin/python -m pytest -q tests/test_streaming_stack.py      (or -m streaming)
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.io.kafka import ReadFromKafka
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain

from pipelines.services import beam_java, expansion, flink, java_workers, kafka, process, prism
from pipelines.services.kafka_topics import (Record, committed_offsets, consume, create_topics,
                                             end_offsets, produce)
from streaming_services import expansion_address, flink_cluster, kafka_broker, prism_binary  # noqa: F401

pytestmark = pytest.mark.streaming

BASE_MS = 1_780_000_000_000  # event time of the first record (CreateTime, set by the producer)
GAP_S = 5                    # the stateful job's event-time timer fires this long after a key's last record
KEYS = ("alice", "bob", "carol")


def hospital_records(count: int, first: int = 0) -> list[Record]:
    """`count` log-shipper-like records: key = account, headers = file origin, one second apart."""
    return [Record(value=f"vpn login failed for {KEYS[i % 3]} #{i}".encode(),
                   key=KEYS[i % 3].encode(),
                   headers=(("log.file.path", b"/var/log/vpn.log"),
                            ("log.offset", str(100 * i).encode())),
                   timestamp_ms=BASE_MS + 1000 * i)
            for i in range(first, first + count)]


def new_topic(broker: kafka.Broker, partitions: int = 2) -> str:
    name = f"vigie-test-{uuid.uuid4().hex[:8]}"
    create_topics(broker.bootstrap, {name: partitions})
    return name


# ---- the Beam side: plain functions and DoFns (they run in this process: LOOPBACK) ----------

def record_to_dict(record) -> dict:
    """A Kafka record with metadata (a Beam Row from the Java side) as plain data, mapped."""
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset,
            "timestamp": record.timestamp, "key": record.key.decode(),
            "value": record.value.decode().upper(),
            "headers": [[h.key, h.value.decode()] for h in (record.headers or [])]}


class WriteJsonFn(beam.DoFn):
    """Write each element to FOLDER/<name>.json atomically (an idempotent side effect)."""

    def __init__(self, folder: str, name_of):
        self.folder = folder
        self.name_of = name_of

    def process(self, element):
        path = os.path.join(self.folder, f"{self.name_of(element)}.json")
        with open(path + ".tmp", "w") as handle:
            json.dump(element, handle)
        os.replace(path + ".tmp", path)


class CollectUntilQuietFn(beam.DoFn):
    """Keyed state + an event-time timer: gather a key's records and emit them together once the
    watermark passes GAP_S seconds after the key's latest record (a miniature correlation)."""

    SEEN = userstate.BagStateSpec("seen", beam.coders.PickleCoder())
    LATEST = userstate.ReadModifyWriteStateSpec("latest", beam.coders.VarIntCoder())
    QUIET = userstate.TimerSpec("quiet", TimeDomain.WATERMARK)

    def process(self, element, timestamp=beam.DoFn.TimestampParam,
                seen=beam.DoFn.StateParam(SEEN), latest=beam.DoFn.StateParam(LATEST),
                quiet=beam.DoFn.TimerParam(QUIET)):
        key, record = element
        seen.add(record)
        newest = max(record["timestamp"], latest.read() or 0)
        latest.write(newest)
        quiet.set(newest / 1000 + GAP_S)

    @userstate.on_timer(QUIET)
    def flush(self, key=beam.DoFn.KeyParam, fired=beam.DoFn.TimestampParam,
              seen=beam.DoFn.StateParam(SEEN), latest=beam.DoFn.StateParam(LATEST)):
        records = sorted(seen.read(), key=lambda r: r["timestamp"])
        seen.clear()
        latest.clear()
        yield {"key": key, "fired_ms": int(fired.micros // 1000),
               "offsets": [[r["partition"], r["offset"]] for r in records],
               "values": [r["value"] for r in records]}


def read_kafka(bootstrap: str, topic: str, group: str, count: int, address: str):
    return ReadFromKafka(
        consumer_config={"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest"},
        topics=[topic], with_metadata=True, max_num_records=count,
        commit_offset_in_finalize=True, timestamp_policy=ReadFromKafka.create_time_policy,
        expansion_service=address)


def run_read_job(flags: list[str], bootstrap: str, topic: str, group: str, count: int,
                 address: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with beam.Pipeline(options=PipelineOptions(flags)) as pipeline:
        _ = (pipeline
             | "ReadLogs" >> read_kafka(bootstrap, topic, group, count, address)
             | "ToDicts" >> beam.Map(record_to_dict)
             | "WriteJson" >> beam.ParDo(WriteJsonFn(str(out),
                                                     lambda r: f"{r['partition']}-{r['offset']}")))


def run_stateful_job(flags: list[str], bootstrap: str, topic: str, group: str, count: int,
                     address: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with beam.Pipeline(options=PipelineOptions(flags)) as pipeline:
        _ = (pipeline
             | "ReadLogs" >> read_kafka(bootstrap, topic, group, count, address)
             | "ToDicts" >> beam.Map(record_to_dict)
             | "ByAccount" >> beam.Map(lambda r: (r["key"], r))
             | "CollectUntilQuiet" >> beam.ParDo(CollectUntilQuietFn())
             | "WriteJson" >> beam.ParDo(WriteJsonFn(str(out), lambda r: r["key"])))


def outputs(folder: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in folder.glob("*.json")}


def assert_read_outputs(folder: Path, topic: str, produced: list[Record],
                        coordinates: list[tuple[int, int]]) -> None:
    """Exactly one output per produced record, with its partition/offset, key, headers, event
    time, and the value mapped in Python."""
    got = outputs(folder)
    assert len(got) == len(produced)
    for record, (partition, offset) in zip(produced, coordinates):
        assert got[f"{partition}-{offset}"] == {
            "topic": topic, "partition": partition, "offset": offset,
            "timestamp": record.timestamp_ms, "key": record.key.decode(),
            "value": record.value.decode().upper(),
            "headers": [[k, v.decode()] for k, v in record.headers]}


def assert_stateful_outputs(folder: Path, produced: list[Record],
                            coordinates: list[tuple[int, int]]) -> None:
    """One output per key, fired by the event-time timer GAP_S after the key's last record,
    holding every record of that key in event-time order."""
    got = outputs(folder)
    assert sorted(got) == sorted(KEYS)
    for key in KEYS:
        mine = [(r, c) for r, c in zip(produced, coordinates) if r.key.decode() == key]
        assert got[key]["values"] == [r.value.decode().upper() for r, _ in mine]
        assert got[key]["offsets"] == [list(c) for _, c in mine]
        assert got[key]["fired_ms"] == mine[-1][0].timestamp_ms + GAP_S * 1000


# ---- (a) Kafka alone -----------------------------------------------------------------------

def test_kafka_round_trip_keeps_keys_headers_and_timestamps(kafka_broker):
    topic = new_topic(kafka_broker)
    produced = hospital_records(40)
    coordinates = produce(kafka_broker.bootstrap, topic, produced)
    assert sorted(coordinates) == sorted(set(coordinates))
    back = consume(kafka_broker.bootstrap, topic, len(produced))
    by_coordinates = {(r.partition, r.offset): r for r in back}
    for record, where in zip(produced, coordinates):
        got = by_coordinates[where]
        assert (got.key, got.value, got.headers, got.timestamp_ms) == \
            (record.key, record.value, record.headers, record.timestamp_ms)
    ends = end_offsets(kafka_broker.bootstrap, topic)
    assert sum(ends.values()) == 40 and set(ends) == {0, 1}


def test_kafka_listens_on_loopback_only(kafka_broker):
    listening = process.listening_addresses(kafka_broker.pid)
    assert listening and all(host == "127.0.0.1" for host, _ in listening), listening


# ---- (b) Prism ------------------------------------------------------------------------------

def test_prism_reads_kafka_with_metadata_and_commits_offsets(kafka_broker, expansion_address,
                                                             prism_binary, tmp_path):
    topic, group = new_topic(kafka_broker), f"vigie-{uuid.uuid4().hex[:6]}"
    produced = hospital_records(30)
    coordinates = produce(kafka_broker.bootstrap, topic, produced)
    flags = prism.prism_options(streaming=True, binary=prism_binary)

    run_read_job(flags, kafka_broker.bootstrap, topic, group, 30, expansion_address, tmp_path / "first")
    assert_read_outputs(tmp_path / "first", topic, produced, coordinates)
    assert committed_offsets(kafka_broker.bootstrap, group, topic) == end_offsets(kafka_broker.bootstrap, topic)

    # The same consumer group resumes from its committed offsets: only the new records come.
    more = hospital_records(12, first=30)
    more_coordinates = produce(kafka_broker.bootstrap, topic, more)
    run_read_job(flags, kafka_broker.bootstrap, topic, group, 12, expansion_address, tmp_path / "second")
    assert_read_outputs(tmp_path / "second", topic, more, more_coordinates)
    assert committed_offsets(kafka_broker.bootstrap, group, topic) == end_offsets(kafka_broker.bootstrap, topic)


def test_prism_stateful_dofn_with_event_time_timer(kafka_broker, expansion_address, prism_binary,
                                                   tmp_path):
    topic, group = new_topic(kafka_broker), f"vigie-{uuid.uuid4().hex[:6]}"
    produced = hospital_records(24)
    coordinates = produce(kafka_broker.bootstrap, topic, produced)
    run_stateful_job(prism.prism_options(streaming=True, binary=prism_binary),
                     kafka_broker.bootstrap, topic, group, 24, expansion_address, tmp_path)
    assert_stateful_outputs(tmp_path, produced, coordinates)


# ---- (c) Flink session cluster through Beam's Flink job server ------------------------------

# Checkpoints every 2 s; with checkpointing, a bounded Kafka read only ends once idle sources are
# shut down (a live stream keeps the default, -1).
CHECKPOINTED = ["--checkpointing_interval=2000", "--shutdown_sources_after_idle_ms=5000"]


@pytest.fixture
def flink_flags(flink_cluster, monkeypatch) -> list[str]:
    """FlinkRunner flags for the session cluster; the job server JVM gets the Java 17 flags."""
    monkeypatch.setenv("JDK_JAVA_OPTIONS", flink.runner_env({})["JDK_JAVA_OPTIONS"])
    return flink.runner_options(flink_cluster, streaming=True)


def test_flink_reads_kafka_with_checkpoints_and_commits_offsets(kafka_broker, expansion_address,
                                                                flink_flags, flink_cluster, tmp_path):
    topic, group = new_topic(kafka_broker), f"vigie-{uuid.uuid4().hex[:6]}"
    produced = hospital_records(30)
    coordinates = produce(kafka_broker.bootstrap, topic, produced)
    flags = flink_flags + CHECKPOINTED
    jobs_before = flink.finished_jobs(flink_cluster)
    run_read_job(flags, kafka_broker.bootstrap, topic, group, 30, expansion_address, tmp_path)
    assert_read_outputs(tmp_path, topic, produced, coordinates)
    assert committed_offsets(kafka_broker.bootstrap, group, topic) == end_offsets(kafka_broker.bootstrap, topic)
    assert len(flink.finished_jobs(flink_cluster)) == len(jobs_before) + 1  # ran on the cluster


def test_flink_stateful_dofn_with_event_time_timer(kafka_broker, expansion_address, flink_flags,
                                                   tmp_path):
    topic, group = new_topic(kafka_broker), f"vigie-{uuid.uuid4().hex[:6]}"
    produced = hospital_records(24)
    coordinates = produce(kafka_broker.bootstrap, topic, produced)
    # No checkpointing here: after a bounded read whose idle sources are shut down, the timers'
    # output once came out empty (docs/streaming-stack.md, caveats).
    run_stateful_job(flink_flags, kafka_broker.bootstrap, topic, group, 24, expansion_address, tmp_path)
    assert_stateful_outputs(tmp_path, produced, coordinates)


# ---- (d) start/stop cycles on ports of their own leave nothing behind -----------------------

def assert_gone(pids: list[int], ports: list[int]) -> None:
    for pid in pids:
        assert process.group_pids(pid) == [], f"process group {pid} left processes behind"
    for port in ports:
        assert not process.port_in_use(port), f"port {port} still answers"


def test_kafka_stop_start_cycle_keeps_data_and_leaves_no_process(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIE_KAFKA_DIR", str(tmp_path / "kafka"))
    spec = kafka.BrokerSpec(port=19092)
    broker = kafka.start_broker(spec)
    first_pid = broker.pid
    try:
        topic = new_topic(broker, partitions=1)
        produce(broker.bootstrap, topic, hospital_records(3))
        assert kafka.stop_broker(spec.port) and not kafka.is_running(spec.port)
        assert_gone([first_pid], [spec.port, spec.quorum_port])
        assert not kafka.stop_broker(spec.port)  # a second stop finds nothing
        broker = kafka.start_broker(spec)         # the same folder: the records survive
        assert [r.value for r in consume(broker.bootstrap, topic, 3)] == \
            [r.value for r in hospital_records(3)]
    finally:
        kafka.stop_broker(spec.port)
    assert_gone([broker.pid], [spec.port, spec.quorum_port])


def test_java_services_stop_start_cycle_leaves_no_process(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIE_BEAM_DIR", str(tmp_path / "beam"))
    workers_port, expansion_port = 19000, 18097
    try:
        pids = [java_workers.start_worker_pool(workers_port),
                expansion.start_expansion_service(expansion_port, workers_port)]
        for pid in pids:
            listening = process.listening_addresses(pid)
            assert listening and all(host == "127.0.0.1" for host, _ in listening), listening
        assert expansion.stop_expansion_service(expansion_port)
        assert java_workers.stop_worker_pool(workers_port)
        assert_gone(pids, [workers_port, expansion_port])
    finally:
        expansion.stop_expansion_service(expansion_port)
        java_workers.stop_worker_pool(workers_port)


def test_flink_stop_start_cycle_leaves_no_process(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIE_FLINK_DIR", str(tmp_path / "flink"))
    spec = flink.ClusterSpec(rest_port=18081)
    try:
        for _ in range(2):
            cluster = flink.start_cluster(spec)
            assert flink.registered_taskmanagers(cluster.rest_url) == 1
            for pid in cluster.pids:
                listening = process.listening_addresses(pid)
                assert listening and all(host == "127.0.0.1" for host, _ in listening), listening
            assert flink.stop_cluster(spec.rest_port) and not flink.is_running(spec.rest_port)
            assert_gone(list(cluster.pids), list(spec.ports.values()))
    finally:
        flink.stop_cluster(spec.rest_port)


def test_java_services_share_one_cached_classpath():
    """The expansion service and worker pool resolve once; the launcher is compiled once."""
    from pipelines.services.classpath import resolve_classpath
    jars = resolve_classpath(beam_java.CLASSPATH)
    names = {jar.parent.parent.name for jar in jars}
    assert {"beam-sdks-java-io-kafka", "beam-sdks-java-harness", "kafka-clients", "jamm"} <= names
    assert not any("/io/confluent/" in str(jar) for jar in jars)
