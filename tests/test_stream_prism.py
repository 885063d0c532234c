"""`vigie stream` on Prism against a real Kafka broker: the live job finds what `vigie replay`
finds on the same lines, with the same ids, across a stop in the middle of the stream.

The hospital scenario (a few thousand lines) is generated and replayed once. Its first half (by
event time) is shipped to a 3-partition topic with the project's shipper, together with garbage
records (no headers, or a format header over bytes that are no log line); `vigie stream` runs as
a separate process and is stopped with SIGTERM as soon as it has written its first outputs; the
second half is shipped while it is down; a second `vigie stream` (same consumer group, same
output folder) runs until it is idle. Then:
- events, signals (with the Sigma correlation results) and incidents (highest revision per id,
  with the signals that make them up) are the replay's, none missing, none stored twice;
- the same in Elasticsearch: every event, signal and incident of the output folder is indexed
  under its id, each incident at its highest revision (the document's version);
- every garbage record is one dead letter carrying its topic, partition and offset, once (an
  empty record is a blank line: skipped, not a dead letter);
- a broker that does not answer is one line on stderr and exit status 2.

Run alone with:  .venv/bin/python -m pytest -q tests/test_stream_prism.py   (or -m streaming)
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from elasticsearch import Elasticsearch

from pipelines import storage
from pipelines.commands.es import verify
from pipelines.commands.stream import output_places
from pipelines.scenario.chu import generate_chu
from pipelines.services import kafka
from pipelines.services.kafka_topics import Record, create_topics, produce
from pipelines.sinks.es_cluster import settings_from
from pipelines.sinks.incidents import incidents_path, read_incidents
from pipelines.indices import INCIDENTS_INDEX
from pipelines.sources.shipper import ship
from streaming_services import expansion_address, kafka_broker, prism_binary  # noqa: F401

pytestmark = pytest.mark.streaming

REPO = Path(__file__).resolve().parents[1]
VIGIE = [sys.executable, "-m", "pipelines.cli"]
EVENTS, SEED = 3000, 7
JOB_TIMEOUT_S = 420
GARBAGE = [b"\x00\x01\x02 not a log line \xff\xfe", b"", b"{\"json\": \"is not a log format\"}",
           b"GET / HTTP/1.1 but no more", b"\x89PNG\r\n\x1a\n" + bytes(range(40))]


def vigie(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*VIGIE, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def column(out: Path, folder: str, name: str) -> list:
    """One column of every Parquet file under out/folder (dot-files are not data)."""
    files = sorted(str(p) for p in (out / folder).rglob("*.parquet") if not p.name.startswith("."))
    if not files:
        return []
    return ds.dataset(files, format="parquet").to_table(columns=[name])[name].to_pylist()


def middle_ms(replay: Path) -> int:
    """The event time (ms) halfway between the replay's first and last events."""
    times = column(replay, "events", "@timestamp")
    return int((min(times).timestamp() + max(times).timestamp()) / 2 * 1000)


def latest_incidents(out: Path | str) -> dict[str, dict]:
    return {r["incident.id"]: r for r in read_incidents(incidents_path(out))}


def incident_view(record: dict) -> tuple:
    """What must agree between replay and stream (status and revision are the stream's own)."""
    signals = [s["signal.id"] for s in record.get("incident.signals") or []]
    return (record.get("incident.merged_into"), record.get("incident.signal_count"),
            tuple(sorted(signals)), record.get("incident.severity"), record.get("incident.title"))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> dict:
    """The generated scenario, its replay, and the analysis flags both commands take."""
    root = tmp_path_factory.mktemp("stream-prism")
    logs = root / "scenario"
    generate_chu(logs, events=EVENTS, seed=SEED, progress=lambda m: None)
    truth = json.loads((logs / "truth.json").read_text())
    flags = ["--timezone", truth["timezone"], "--inventory", str(logs / "inventory.yml"),
             "--threat-list", f"tor-exits={logs / 'tor-exits.txt'}"]
    replay = root / "replay"
    done = vigie("replay", str(logs), "--out", str(replay), *flags, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"root": root, "logs": logs, "replay": replay, "flags": flags, "timezone": truth["timezone"]}


def stream_command(broker: kafka.Broker, topic: str, out: Path | str, flags: list[str], expansion: str,
                   group: str, *extra: str) -> list[str]:
    return [*VIGIE, "stream", "--source", f"kafka://{broker.bootstrap}/{topic}", "--out", str(out),
            "--group", group, "--expansion-service", expansion, "--status-seconds", "2", *flags, *extra]


def wait_for_outputs(job: subprocess.Popen, out: Path, timeout_s: float) -> None:
    """Until the job has written events (or ended, or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and job.poll() is None:
        if any((out / "events").rglob("*.parquet")):
            return
        time.sleep(0.5)
    err = job.communicate(timeout=60)[1][-3000:] if job.poll() is not None else ""
    raise AssertionError(f"the first job wrote no event within {timeout_s:.0f} s "
                         f"(exit {job.poll()}) {err}")


def run_with_a_restart(scenario: dict, broker: kafka.Broker, command: list[str], topic: str,
                       out: Path, extra_records=(), env: dict | None = None) -> list:
    """Ship the first half of the scenario (and `extra_records`) to `topic`, run `command` until
    it has written events, stop it with SIGTERM, ship the second half, run it again until idle;
    the (partition, offset) each of `extra_records` was written at."""
    middle = middle_ms(scenario["replay"])
    address = f"kafka://{broker.bootstrap}/{topic}"
    first = ship([str(scenario["logs"])], address, timezone=scenario["timezone"], until_ms=middle,
                 say=lambda m: None)
    written = produce(broker.bootstrap, topic, list(extra_records)) if extra_records else []
    job = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env)
    try:
        wait_for_outputs(job, out, JOB_TIMEOUT_S)
        job.send_signal(signal.SIGTERM)  # in the middle: the first half is not all written yet
        _, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, err[-3000:]
    assert '"event": "stopping", "reason": "SIGTERM"' in err

    second = ship([str(scenario["logs"])], address, timezone=scenario["timezone"], since_ms=middle,
                  say=lambda m: None)
    assert sum(first.records.values()) + sum(second.records.values()) > EVENTS * 0.95
    done = subprocess.run(command + ["--stop-when-idle", "15"], cwd=REPO, capture_output=True,
                          text=True, timeout=JOB_TIMEOUT_S, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"event": "resume"' in done.stderr  # the group was rewound
    return written


def assert_same_as_replay(out: Path, replay: Path, out_url: str | None = None) -> dict[str, dict]:
    """Events, signals (with correlation results) and incidents of the live output (its files
    in `out`; `out_url`: the --out the incidents are read from, when not `out`) are the
    replay's, none missing, none stored twice; the live incidents by id."""
    for folder, name in (("events", "event.id"), ("signals", "signal.id")):
        found, expected = column(out, folder, name), column(replay, folder, name)
        assert len(found) == len(set(found)), f"{folder}: {len(found) - len(set(found))} stored twice"
        assert set(found) == set(expected), (f"{folder}: {len(set(expected) - set(found))} missing, "
                                             f"{len(set(found) - set(expected))} not in the replay")
    results = [r for r in column(replay, "signals", "vigie.correlation.type") if r]
    assert results, "the replay found no Sigma correlation result to compare"
    # Incidents: same ids, same make-up (the replay's final record vs the stream's latest revision).
    live, replayed = latest_incidents(out_url or out), latest_incidents(replay)
    assert live and set(live) == set(replayed)
    assert {k: incident_view(v) for k, v in live.items()} == {k: incident_view(v) for k, v in replayed.items()}
    return live


def test_stream_matches_replay_across_a_restart(scenario, kafka_broker, expansion_address,  # noqa: F811
                                                prism_binary, es_node, tmp_path):
    replay, flags = scenario["replay"], scenario["flags"]
    middle = middle_ms(replay)
    topic, group, out = f"chu-{uuid.uuid4().hex[:8]}", f"vigie-test-{uuid.uuid4().hex[:6]}", tmp_path / "live"
    create_topics(kafka_broker.bootstrap, {topic: 3})
    # Garbage among the first half: no headers at all, or a format header over a non-line.
    garbage = [Record(value=v, partition=i % 3, timestamp_ms=middle - 60_000,
                      headers=(() if i % 2 else (("vigie.format", b"apache_combined"),)))
               for i, v in enumerate(GARBAGE)]
    command = stream_command(kafka_broker, topic, out, flags, expansion_address, group, "--es-url", es_node.url)
    written = run_with_a_restart(scenario, kafka_broker, command, topic, out, garbage)
    # An empty record is a blank line (skipped with its reason, no dead letter).
    coordinates = {(topic, p, o) for (p, o), r in zip(written, garbage) if r.value}
    live = assert_same_as_replay(out, replay)

    # Garbage: one dead letter each, with the record's coordinates, never stored twice.
    letters = ds.dataset([str(p) for p in (out / "deadletter").rglob("*.parquet")], format="parquet").to_table(
        columns=["id", "origin.kind", "origin.topic", "origin.partition", "origin.offset"]).to_pylist()
    assert len({r["id"] for r in letters}) == len(letters)
    assert {(r["origin.topic"], r["origin.partition"], r["origin.offset"]) for r in letters} == coordinates
    assert {r["origin.kind"] for r in letters} == {"kafka"}
    status = json.loads((out / "stream" / "status.json").read_text())
    assert status["lag"] == 0

    # Elasticsearch: every event, signal and incident of the archive under its id (documents
    # are upserted by _id, so none is there twice), and each incident at its highest revision.
    for index, found in verify(out, settings_from(es_node.url)).items():
        assert found["exists"] and found["missing"] == 0, (index, found["missing_ids"][:5])
    client = Elasticsearch(es_node.url)
    try:
        for incident_id, record in live.items():
            document = client.get(index=INCIDENTS_INDEX, id=incident_id)
            assert document["_version"] == record["incident.revision"]
    finally:
        client.close()


def test_stream_to_an_object_store_across_a_restart(scenario, kafka_broker, expansion_address,  # noqa: F811
                                                    prism_binary, tmp_path, monkeypatch):
    """The same job writing to an object store (gs:// on Dataflow; here the test filesystem of
    tests/objstore_fs.py, loaded with --beam_plugins): one object per write, no lock, no append,
    and still the replay's events, signals and incidents, none stored twice across the restart."""
    store = tmp_path / "store"
    store.mkdir()
    env = {**os.environ, "VIGIE_OBJSTORE_ROOT": str(store),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "tests"), os.environ.get("PYTHONPATH")]))}
    topic, group = f"chu-{uuid.uuid4().hex[:8]}", f"vigie-test-{uuid.uuid4().hex[:6]}"
    create_topics(kafka_broker.bootstrap, {topic: 3})
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    command = stream_command(kafka_broker, topic, f"objstore://{bucket}/live", scenario["flags"],
                             expansion_address, group, "--beam_plugins", "objstore_fs")
    out = store / bucket / "live"
    run_with_a_restart(scenario, kafka_broker, command, topic, out, env=env)
    assert not list(out.rglob("incidents.jsonl")) and list((out / "incidents" / "revisions").glob("*.json"))
    assert not (out / "stream").exists()  # the command's own state stays on its machine
    monkeypatch.setenv("VIGIE_OBJSTORE_ROOT", str(store))
    storage.load_plugins(["objstore_fs"])  # the output is read through the store, as vigie does
    _, state = output_places(f"objstore://{bucket}/live")
    assert json.loads((state / "status.json").read_text())["lag"] == 0
    shutil.rmtree(state)
    assert_same_as_replay(out, scenario["replay"], f"objstore://{bucket}/live")


def test_kafka_unreachable_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = vigie("stream", "--source", f"kafka://127.0.0.1:{port}/web", "--out", str(tmp_path / "out"),
                 timeout=120)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "does not answer" in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()
