"""Indexing into real Elasticsearch nodes, and what happens when things go wrong.

Each fault gets a node of its own (never the main node of `make test`, see es_nodes.py): a plain
node (two replays of the hospital scenario, a mapping rejection, a node killed in
the middle of a replay and started again, then `vigie es backfill`) and a node whose write pool
has one thread and a queue of one (real HTTP 429 bulk rejections).
"""
from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest
from elasticsearch import Elasticsearch

from es_nodes import own_node, port_of
from pipelines.cli import main
from pipelines.commands.es import verify
from pipelines.schema import event_schema
from pipelines.services import elasticsearch as es_service
from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks import es_cluster

VIGIE = str(Path(sys.executable).with_name("vigie"))
COMBINED = ('198.51.100.{a} - - [27/Nov/2026:{h:02d}:{m:02d}:{s:02d} +0100] "GET /page/{n}?q={n} HTTP/1.1" '
            '200 {n} "https://www.chu-exemple.fr/" "Mozilla/5.0 (X11; Linux x86_64)"\n')


def write_web_log(path: Path, count: int) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for n in range(count):
            sec = n // 20
            f.write(COMBINED.format(a=n % 250, h=17 + sec // 3600 % 6, m=sec // 60 % 60, s=sec % 60, n=n))
    return path


@pytest.fixture(scope="module")
def nodes():
    """Both nodes of this module, started side by side (each takes ~15 s), stopped at the end."""
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(2) as pool:
        plain, tiny = pool.map(lambda spec: stack.enter_context(own_node(**spec)), ({}, {"write_queue": 1}))
        yield {"plain": plain, "tiny_queue": tiny}


@pytest.fixture(scope="module")
def plain_node(nodes):
    return nodes["plain"]


@pytest.fixture(scope="module")
def tiny_queue_node(nodes):
    return nodes["tiny_queue"]


@pytest.fixture(scope="module")
def chu(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("chu") / "scenario"
    assert main(["generate", "--scenario", "chu", "--out", str(folder), "--events", "6000", "--seed", "3"]) == 0
    return folder


def wipe(node: es_service.Node) -> Elasticsearch:
    client = Elasticsearch(node.url)
    client.indices.delete(index="vigie-*", ignore_unavailable=True, allow_no_indices=True)
    return client


def replay(inputs: list[Path], out: Path, *flags: str) -> dict:
    assert main(["replay", *map(str, inputs), "--out", str(out), *flags]) == 0
    return json.loads((out / "summary.json").read_text())


def assert_exact(out: Path, node: es_service.Node) -> dict:
    """Every index holds exactly the archive's documents: same count, same ids (this node is the
    test's own, so an `other` document would be a duplicate)."""
    result = verify(out, es_cluster.settings_from(node.url))
    assert result and all(c["missing"] == 0 and c["other"] == 0 and c["archive"] == c["found"] == c["index"]
                          for c in result.values()), result
    return result


def test_unreachable_cluster_is_one_line_and_leaves_an_earlier_output_alone(plain_node, tmp_path, capfd):
    log = write_web_log(tmp_path / "access.log", 500)
    out = tmp_path / "out"
    replay([log], out, "--no-detect")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    capfd.readouterr()
    dead_url = f"http://127.0.0.1:{port_of(plain_node) + 200}"
    assert main(["replay", str(log), "--out", str(out), "--no-detect", "--es-url", dead_url]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == [f"vigie: Elasticsearch at {dead_url} is unreachable; start it (`make es-start`) or fix --es-url"]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    # The re-run against a reachable cluster repairs everything.
    wipe(plain_node)
    summary = replay([log], out, "--no-detect", "--es-url", plain_node.url)
    assert summary["datasets"]["total"]["documents_indexed"] == 500
    assert_exact(out, plain_node)


def test_two_replays_of_the_hospital_scenario_leave_the_archive_counts(plain_node, chu, tmp_path, capfd):
    client = wipe(plain_node)
    for run in ("first", "second"):
        summary = replay([chu], tmp_path / run, "--timezone", "Europe/Paris", "--es-url", plain_node.url)
        total = summary["datasets"]["total"]
        assert total["events"] > 4000 and total["signals"] > 50
        assert total["documents_sent"] == total["events"] + total["signals"] == total["documents_indexed"]
        assert total["documents_dead_lettered"] == 0 and summary["balanced"] is True
        result = assert_exact(tmp_path / run, plain_node)
    client.indices.refresh(index="vigie-*")
    assert client.count(index="vigie-events-*")["count"] == total["events"]
    assert client.count(index="vigie-signals-default")["count"] == total["signals"]
    incidents = summary["elasticsearch"]["incident_documents"]["documents_indexed"]
    assert incidents > 0
    assert sum(c["index"] for c in result.values()) == total["events"] + total["signals"] + incidents
    # A document lost behind Vigie's back: verify names it, backfill restores it.
    lost = next(iter(client.search(index="vigie-events-mail-*", size=1)["hits"]["hits"]))
    client.delete(index=lost["_index"], id=lost["_id"], refresh=True)
    capfd.readouterr()
    assert main(["es", "verify", str(tmp_path / "second"), "--es-url", plain_node.url]) == 1
    assert re.search(rf"{lost['_index']} +[\d,]+ +[\d,]+ +1 +0\n", capfd.readouterr().out)
    assert main(["es", "backfill", str(tmp_path / "second"), "--es-url", plain_node.url]) == 0
    assert main(["es", "verify", str(tmp_path / "second"), "--es-url", plain_node.url]) == 0


def test_a_document_the_mapping_rejects_is_dead_lettered_and_the_rest_of_its_bulk_indexed(plain_node, tmp_path, capfd):
    client = wipe(plain_node)
    settings = es_cluster.settings_from(plain_node.url)
    es_cluster.prepare_cluster(settings, say=lambda m: None)
    schema = event_schema()
    rows = [{**{n: None for n in schema.names}, "@timestamp": pa.scalar(0, pa.timestamp("ms", tz="UTC")).as_py(),
             "event.id": f"{i:032x}", "event.dataset": "web.apache_combined", "event.module": "web",
             "event.kind": "event", "source.ip": "not-an-ip" if i == 17 else f"192.0.2.{i}"} for i in range(40)]
    docs = es_sink.documents(pa.Table.from_pylist(rows, schema=schema), es_sink.EVENTS)
    outcome = es_sink.index_all(es_cluster.connect(settings), settings, [docs])
    assert outcome.counts[("web", "documents_indexed")] == 39
    assert outcome.counts[("web", "documents_dead_lettered")] == 1
    [dead] = outcome.dead
    assert dead["origin.path"] == f"vigie-events-web-apache_combined/{17:032x}"
    assert dead["stage"] == "index" and dead["reason"] == "HTTP 400 document_parsing_exception"
    assert "source.ip" in dead["detail"] and "not-an-ip" in dead["detail"]
    client.indices.refresh(index="vigie-events-*")
    assert client.count(index="vigie-events-*")["count"] == 39
    assert not client.exists(index="vigie-events-web-apache_combined", id=f"{17:032x}")
    # Sent again from the dead letters, it fails again and stays dead-lettered (exit 1).
    archive = tmp_path / "archive"
    (archive / "events").mkdir(parents=True)
    from pipelines.sinks.parquet import write_dead_letters
    write_dead_letters(es_sink.dead_letter_table(outcome.dead), str(archive), "index-events-batch-0000")
    capfd.readouterr()
    assert main(["es", "backfill", str(archive), "--es-url", plain_node.url, "--only-dead-letters"]) == 1
    assert "1 document(s) still failed" in capfd.readouterr().err
    assert [p.name for p in (archive / "deadletter").iterdir()] == ["index-backfill-0000.parquet"]


def test_node_killed_mid_replay_then_backfill_gives_exactly_the_archive(plain_node, tmp_path):
    client = wipe(plain_node)
    port = port_of(plain_node)
    log = write_web_log(tmp_path / "access.log", 60_000)
    out = tmp_path / "out"
    with open(tmp_path / "stderr", "w") as err:
        proc = subprocess.Popen([VIGIE, "replay", str(log), "--out", str(out), "--no-detect",
                                 "--es-url", plain_node.url, "--es-retry-seconds", "20",
                                 "--es-concurrency", "2"],
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if client.count(index="vigie-events-*", allow_no_indices=True)["count"] > 0:
                        break
                except Exception:  # noqa: BLE001 - index not there yet
                    pass
                time.sleep(0.2)
            assert proc.poll() is None, "the replay ended before any document was seen"
            es_service.kill_node(port)
            time.sleep(3)
            es_service.start_node(es_service.NodeSpec(port=port))
            code = proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
    summary = json.loads((out / "summary.json").read_text())
    total = summary["datasets"]["total"]
    stderr = (tmp_path / "stderr").read_text()
    # Documents that waited too long are dead letters: the run says how to recover, exit 3.
    if total["documents_dead_lettered"]:
        assert code == 3 and f"vigie es backfill {out}" in stderr, stderr[-2000:]
    else:
        assert code == 0, stderr[-2000:]
    assert total["events"] == 60_000 == total["documents_sent"]
    assert total["documents_indexed"] + total["documents_dead_lettered"] == 60_000
    assert total["index_retries"] + total["documents_dead_lettered"] > 0, "the kill went unnoticed"
    assert summary["balanced"] is True
    # Backfill from the Parquet archive: afterwards the index holds exactly the archive's events.
    done = subprocess.run([VIGIE, "es", "backfill", str(out), "--es-url", plain_node.url],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "60,000 document(s) sent" in done.stdout
    assert not list((out / "deadletter").glob("index-*.parquet")) if (out / "deadletter").exists() else True
    assert assert_exact(out, plain_node) == {"vigie-events-web-apache_combined":
                                             {"archive": 60_000, "found": 60_000, "index": 60_000, "missing": 0,
                                              "other": 0, "exists": True, "missing_ids": []}}


def test_real_bulk_rejections_are_retried_and_nothing_is_lost(tiny_queue_node, tmp_path):
    wipe(tiny_queue_node)
    log = write_web_log(tmp_path / "access.log", 20_000)
    summary = replay([log], tmp_path / "out", "--no-detect", "--es-url", tiny_queue_node.url,
                     "--es-concurrency", "8", "--es-bulk-docs", "100")
    total = summary["datasets"]["total"]
    assert total["index_retries"] > 0, "the write queue of one rejected nothing"
    assert total["documents_indexed"] == total["events"] == 20_000
    assert total["documents_dead_lettered"] == 0
    assert_exact(tmp_path / "out", tiny_queue_node)
