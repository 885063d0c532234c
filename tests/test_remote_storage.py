"""`vigie replay` with inputs and outputs on an object store (gs:// on Dataflow).

Cloud Storage is out of reach here, so the object store is `objstore://` (tests/objstore_fs.py:
a Beam FileSystem with an object store's semantics, loaded with --beam_plugins as users load
their own): everything Vigie reads and writes there goes through Beam's FileSystems, as gs://
would. The replay of a scenario from and to the store must give what the local replay gives.
"""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipelines import storage
from pipelines.cli import main
from pipelines.errors import VigieError
from pipelines.sinks.output_folder import OutputFolder
from pipelines.sources.plan import EARLIER_OUTPUT, HIDDEN, NOT_A_LOG, expand_inputs

PLUGIN = ["--beam_plugins", "objstore_fs"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch) -> Path:
    """The store's root folder (objstore://KEY is ROOT/KEY), with the plugin loaded."""
    root = tmp_path / "store"
    root.mkdir()
    monkeypatch.setenv("VIGIE_OBJSTORE_ROOT", str(root))
    monkeypatch.setenv(storage.PLUGINS_VARIABLE, "")  # restored after the test
    storage.load_plugins(["objstore_fs"])
    return root


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scenario")
    assert main(["generate", "--out", str(folder), "--events", "2000", "--seed", "3"]) == 0
    # A rotated, compressed copy of a log: read through the store, found to repeat the plain one.
    with open(folder / "web" / "www-access.log", "rb") as plain:
        (folder / "web" / "www-access.log.1.gz").write_bytes(gzip.compress(plain.read()))
    return folder


def ids(out: Path, folder: str, column: str) -> set[str]:
    return set(ds.dataset(out / folder, format="parquet", partitioning="hive")
               .to_table(columns=[column])[column].to_pylist())


def incidents(out: Path, logs: str, placeholder: str) -> list:
    """The incident records, with the logs' folder named `placeholder` and lists sorted."""
    def same(value):
        if isinstance(value, str):
            return value.replace(logs, placeholder)
        if isinstance(value, list):
            return sorted((same(v) for v in value), key=json.dumps)
        if isinstance(value, dict):
            return {k: same(v) for k, v in value.items()}
        return value
    return [same(json.loads(line)) for line in (out / "incidents" / "incidents.jsonl").read_text().splitlines()]


def relative_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_replay_from_and_to_an_object_store_matches_the_local_replay(store: Path, scenario: Path,
                                                                     tmp_path: Path):
    shutil.copytree(scenario, store / "bucket" / "logs")
    flags = ["--inventory", str(scenario / "inventory.yml"), "--split-bytes", "20000"]
    assert main(["replay", str(scenario), "--out", str(tmp_path / "local"), *flags]) == 0
    assert main(["replay", "objstore://bucket/logs", "--out", "objstore://bucket/runs/1",
                 *flags, *PLUGIN]) == 0

    local, remote = tmp_path / "local", store / "bucket" / "runs" / "1"
    assert relative_files(remote) == relative_files(local)
    for folder, column in (("events", "event.id"), ("signals", "signal.id")):
        assert ids(remote, folder, column) == ids(local, folder, column)
    remote_summary = json.loads((remote / "summary.json").read_text())
    local_summary = json.loads((local / "summary.json").read_text())
    assert remote_summary["balanced"] is True
    assert remote_summary["datasets"] == local_summary["datasets"]
    assert remote_summary["written"] == local_summary["written"]
    assert remote_summary["written"]["signals"] > 0
    assert remote_summary["out"] == "objstore://bucket/runs/1"
    gz = next(f for f in remote_summary["files"] if f["path"].endswith(".gz"))
    assert gz["duplicate"]["of"] == "objstore://bucket/logs/web/www-access.log"
    # The incidents are the same but for the paths of the lines they cite.
    remote_incidents = incidents(remote, "objstore://bucket/logs", "LOGS")
    assert remote_incidents == incidents(local, str(scenario), "LOGS")
    assert remote_incidents and all(r["incident.id"].startswith("inc-") for r in remote_incidents)
    left_out = {(s["path"], s["reason"]) for s in remote_summary["skipped_inputs"]}
    assert ("objstore://bucket/logs/truth.json", NOT_A_LOG) in left_out


def test_a_remote_out_that_holds_files_is_refused(store: Path, capsys):
    (store / "bucket" / "logs").mkdir(parents=True)
    (store / "bucket" / "logs" / "a.log").write_text("x\n")
    (store / "bucket" / "runs" / "1").mkdir(parents=True)
    (store / "bucket" / "runs" / "1" / "summary.json").write_text("{}\n")
    code = main(["replay", "objstore://bucket/logs", "--out", "objstore://bucket/runs/1", *PLUGIN])
    assert code == 2
    assert "already holds files" in capsys.readouterr().err
    assert (store / "bucket" / "runs" / "1" / "summary.json").read_text() == "{}\n"


def test_an_unknown_scheme_says_what_to_install(tmp_path: Path, capsys):
    code = main(["replay", "nosuchfs://bucket/logs", "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no filesystem for nosuchfs://" in err and "--beam_plugins" in err
    assert not (tmp_path / "out").exists()


def test_a_plugin_that_does_not_import_is_one_line(tmp_path: Path, capsys):
    code = main(["replay", str(tmp_path), "--out", str(tmp_path / "out"), "--beam_plugins", "no_such_module"])
    assert code == 2
    assert "--beam_plugins no_such_module: cannot import it" in capsys.readouterr().err


def test_a_remote_folder_is_walked_as_a_local_one(store: Path):
    logs = store / "bucket" / "logs"
    for name in ("web/a.log", "web/.hidden/b.log", "web/.c.log", "inventory.yml", "old/run/x.log"):
        (logs / name).parent.mkdir(parents=True, exist_ok=True)
        (logs / name).write_text("line\n")
    (logs / "old" / "run" / "summary.json").write_text(json.dumps({"command": "replay", "datasets": {}}))
    files, skipped = expand_inputs(["objstore://bucket/logs"])
    assert files == ["objstore://bucket/logs/web/a.log"]
    assert {(s.path, s.reason) for s in skipped} == {
        ("objstore://bucket/logs/web/.hidden", HIDDEN), ("objstore://bucket/logs/web/.c.log", HIDDEN),
        ("objstore://bucket/logs/inventory.yml", NOT_A_LOG),
        ("objstore://bucket/logs/old/run", EARLIER_OUTPUT)}
    assert expand_inputs(["objstore://bucket/logs/web/*.log"])[0] == ["objstore://bucket/logs/web/a.log"]


def test_an_abandoned_remote_output_leaves_nothing(store: Path):
    folder = OutputFolder.prepare("objstore://bucket/runs/2", ["objstore://bucket/logs"])
    assert folder.remote and folder.staging == folder.final == "objstore://bucket/runs/2"
    storage.write_bytes(storage.join(folder.staging, "events", "a.parquet"), b"x")
    storage.write_bytes(storage.join(folder.staging, "summary.json"), b"{}")
    assert storage.is_folder("objstore://bucket/runs/2")
    folder.abandon()
    assert storage.files_under("objstore://bucket/runs/2") == []
    assert not storage.is_folder("objstore://bucket/runs/2")


def test_the_live_job_keeps_its_own_state_on_its_machine(store: Path, tmp_path: Path, monkeypatch):
    from pipelines.commands.stream import output_places
    monkeypatch.setenv("VIGIE_CACHE_DIR", str(tmp_path / "cache"))
    out, state = output_places("objstore://bucket/live/")
    assert out == "objstore://bucket/live"
    assert state.parent == tmp_path / "cache" / "stream" and state.name
    assert output_places("objstore://bucket/live")[1] == state  # the same --out, the same state
    assert output_places("objstore://bucket/other")[1] != state
    local, local_state = output_places(str(tmp_path / "live"))
    assert local == tmp_path / "live" and local_state == tmp_path / "live" / "stream"
    (store / "bucket").mkdir()
    (store / "bucket" / "file").write_text("x")
    with pytest.raises(VigieError, match="is a file, not a folder"):
        output_places("objstore://bucket/file")


def test_streamed_incident_revisions_are_objects_of_their_own(store: Path):
    from pipelines.sinks.incidents import append_incidents, incidents_path, read_incidents
    path = incidents_path("objstore://bucket/live")
    first = {"incident.id": "inc-a", "incident.revision": 1, "incident.detected_at": "2026-11-27T19:00:00Z"}
    second = {**first, "incident.revision": 2, "incident.title": "grown"}
    assert append_incidents(path, [first]) == 1
    assert append_incidents(path, [second, first]) == 2  # a revision written again: same object
    objects = sorted(p.name for p in (store / "bucket" / "live" / "incidents" / "revisions").iterdir())
    assert objects == ["inc-a-00000001.json", "inc-a-00000002.json"]
    assert read_incidents(path) == [second]


def test_streamed_signals_are_added_once_per_window(store: Path):
    import pyarrow as pa
    from pipelines.schema import signal_schema
    from pipelines.sinks.parquet import upsert_signals
    rows = [{"signal.id": f"s{i}", "rule.id": "r1", "event.dataset": "web.access"} for i in range(3)]
    table = pa.Table.from_pylist(rows, schema=signal_schema())
    assert upsert_signals(table.slice(0, 2), "objstore://bucket/live", "w1")[("rules", "r1")] == 2
    assert upsert_signals(table, "objstore://bucket/live", "w1")[("rules", "r1")] == 1  # s2 only
    assert not upsert_signals(table, "objstore://bucket/live", "w1")  # nothing new
    folder = store / "bucket" / "live" / "signals"
    assert len(list(folder.glob("w1-*.parquet"))) == 2
    ids = ds.dataset(folder, format="parquet").to_table(columns=["signal.id"])["signal.id"].to_pylist()
    assert sorted(ids) == ["s0", "s1", "s2"]


def test_geoip_databases_are_read_from_the_store(store: Path, tmp_path: Path, capsys):
    from enrichment_dbs import write_dbs
    from pipelines.enrichment.geo import MaxMindGeo
    city, asn = write_dbs(tmp_path)
    (store / "bucket" / "geo").mkdir(parents=True)
    shutil.copy(city, store / "bucket" / "geo" / "city.mmdb")
    shutil.copy(asn, store / "bucket" / "geo" / "asn.mmdb")
    geo = MaxMindGeo("objstore://bucket/geo/city.mmdb", "objstore://bucket/geo/asn.mmdb")
    local = MaxMindGeo(city, asn)
    addresses = ["45.137.21.9", "2001:67c:2e8::15", "8.8.8.8"]
    assert geo.lookup_columns(addresses) == local.lookup_columns(addresses)
    assert geo.lookup_columns(["45.137.21.9"])["country"] == ["US"]
    code = main(["replay", str(tmp_path), "--out", str(tmp_path / "out"), *PLUGIN,
                 "--geoip-city-db", "objstore://bucket/geo/nothing.mmdb"])
    assert code == 2
    assert "--geoip-city-db objstore://bucket/geo/nothing.mmdb: no such file" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["es", "verify", "gs://bucket/run", "--es-url", "http://127.0.0.1:9"],
                                     ["incidents", "send", "gs://bucket/run"]])
def test_commands_that_read_an_output_ask_for_a_local_copy(command, capsys):
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "copy it here first" in err and err.count("\n") == 1
