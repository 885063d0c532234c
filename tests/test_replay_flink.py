"""`vigie replay --runner FlinkRunner`: the batch replay on the local Flink session cluster gives
what the local replay (FnApiRunner) gives, and the flags that take it there are accepted.

The cluster test runs the Python SDK (apache-beam 2.75.0) against Beam's Flink job server
2.62.0 (Flink 1.19.0): the skew docs/streaming-stack.md and deploy/flink/README.md state. The
scenario is small (3,000 lines) so that the module stays within a few minutes on a busy 2-core
machine: most of a small Flink job is the job server staging its jars.

Marked `streaming` (tests/conftest.py): `make test` runs it; so do `-m streaming` and naming this
file. Its fixtures start the Flink cluster when it is not running and stop what they started.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import apache_beam
import pytest

from golden.digest import replay_digest
from pipelines.cli import main
from pipelines.errors import VigieError
from pipelines.options import FLINK_FLAGS, named_runner, split_argv
from pipelines.scenario.chu import generate_chu
from pipelines.services import flink
from pipelines.services.classpath import resolve_classpath

from streaming_services import flink_cluster  # noqa: F401 - a fixture

SCENARIO_EVENTS = 3_000


def scenario_flags(scenario: Path) -> list[str]:
    """The replay's flags for the generated scenario (as the golden replay sets them)."""
    return ["--timezone", "Europe/Paris", "--inventory", str(scenario / "inventory.yml"),
            "--threat-list", f"tor-exits={scenario / 'tor-exits.txt'}",
            "--reference-time", "2026-11-28T12:00:00+00:00"]


def inputs(scenario: Path) -> list[str]:
    """The scenario's log folders (not its answer key and reference files)."""
    return [str(scenario / family) for family in ("mail", "web", "vpn")]


def incident_records(out: Path) -> list[dict]:
    """Every incident revision the run wrote, in a stable order."""
    lines = (out / "incidents" / "incidents.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return sorted(records, key=lambda r: (r["incident.id"], r.get("incident.revision", 0)))


# ---- flags: no server ------------------------------------------------------------------------

def test_flink_runner_flags_are_accepted_only_with_the_flink_runner():
    words = ["in.log", "--runner", "FlinkRunner", "--checkpointing_interval=5000",
             "--shutdown_sources_after_idle_ms", "1000", "--object_reuse", "other.log"]
    assert named_runner(words) == "FlinkRunner"
    inputs_, flags = split_argv(words, "replay")
    assert inputs_ == ["in.log", "other.log"]
    assert flags == words[1:4] + ["--shutdown_sources_after_idle_ms", "1000", "--object_reuse"]
    with pytest.raises(VigieError, match="unknown flag --checkpointing_interval"):
        split_argv(["in.log", "--runner=PrismRunner", "--checkpointing_interval=5000"], "replay")
    with pytest.raises(VigieError, match="unknown flag --checkpointing_intervall"):
        split_argv(["--runner=Flink", "--checkpointing_intervall=5000"], "stream")


def test_a_misspelt_flink_flag_is_one_line_and_exit_2(capsys, tmp_path):
    assert main(["replay", str(tmp_path), "--out", str(tmp_path / "out"), "--runner=FlinkRunner",
                 "--checkpointing_intervall=5"]) == 2
    assert capsys.readouterr().err == ("vigie: unknown flag --checkpointing_intervall "
                                       "(see `vigie replay --help`)\n")


@pytest.mark.streaming
def test_flink_flags_are_the_options_the_job_server_declares():
    """FLINK_FLAGS lists every option of the runner's FlinkPipelineOptions (read from the jar
    with javap), with the name Beam's portable runner gives it (camelCase -> snake_case)."""
    jar = next(j for j in resolve_classpath(flink.CLASSPATH)
               if j.name == f"beam-runners-flink-{flink.FLINK_MAJOR}-{flink.BEAM_FLINK_VERSION}.jar")
    shown = subprocess.run(["javap", "-cp", str(jar), "org.apache.beam.runners.flink.FlinkPipelineOptions"],
                           capture_output=True, text=True, check=True).stdout
    declared = {}
    for line in shown.splitlines():
        words = line.strip().rstrip(");").split()
        if "abstract" not in words or not words[-1].endswith("("):
            continue
        getter = words[-1][:-1]
        camel = getter[3:] if getter.startswith("get") else getter[2:]
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel).lstrip("_")
        declared[f"--{snake}"] = words[-2].lower() not in ("boolean", "java.lang.boolean")
    python_side = {"--flink_master", "--parallelism"}  # Beam's Python FlinkRunnerOptions
    assert {k: v for k, v in declared.items() if k not in python_side} == FLINK_FLAGS


# ---- the replay on the cluster ---------------------------------------------------------------

@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("flink-replay") / "scen"
    generate_chu(folder, events=SCENARIO_EVENTS, seed=7)
    return folder


@pytest.mark.streaming
def test_replay_on_flink_matches_the_local_replay(scenario, flink_cluster, tmp_path, monkeypatch):
    assert apache_beam.__version__ == "2.75.0" and flink.BEAM_FLINK_VERSION == "2.62.0"  # the skew shown
    local, remote = tmp_path / "local", tmp_path / "flink"
    assert main(["replay", *inputs(scenario), "--out", str(local), *scenario_flags(scenario)]) == 0
    monkeypatch.setenv("JDK_JAVA_OPTIONS", flink.runner_env({})["JDK_JAVA_OPTIONS"])
    jobs_before = set(flink.finished_jobs(flink_cluster))
    flags = flink.runner_options(flink_cluster, streaming=False)
    assert main(["replay", *inputs(scenario), "--out", str(remote), *scenario_flags(scenario), *flags]) == 0
    assert len(set(flink.finished_jobs(flink_cluster)) - jobs_before) == 1  # it ran on the cluster

    summary = json.loads((remote / "summary.json").read_text())
    assert summary["runner"] == "FlinkRunner" and summary["balanced"]
    assert summary["datasets"]["total"]["lines_read"] == SCENARIO_EVENTS
    root = str(scenario) + "/"
    expected, got = replay_digest(local, root), replay_digest(remote, root)
    assert got["counts"] == expected["counts"]
    for name, table in expected["tables"].items():
        assert got["tables"][name]["rows"] == table["rows"], name
        assert got["tables"][name]["ids"] == table["ids"], name
        assert got["tables"][name]["content"] == table["content"], name
    assert expected["tables"]["signals"]["rows"] > 0
    incidents = incident_records(local)
    assert incidents and incident_records(remote) == incidents
    reports = sorted(p.name for p in (local / "incidents").iterdir())
    assert sorted(p.name for p in (remote / "incidents").iterdir()) == reports
