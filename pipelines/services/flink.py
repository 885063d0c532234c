"""A real Flink session cluster (one JobManager, one TaskManager) on 127.0.0.1, and Beam's Flink
job server as a "pathing jar" for `--flink_job_server_jar`, both from Maven artefacts.

The Maven registry serves neither a Flink distribution (flink-dist) nor Beam's Flink job server
jar; it serves Beam's Flink runner `beam-runners-flink-1.19`, which brings Flink 1.19's runtime.
That one classpath runs all three programs:

    job_server_jar() -> Path      a jar holding only a manifest (Main-Class: the project's
                                  launcher of FlinkJobServerDriver that binds 127.0.0.1, Class-Path:
                                  the resolved jars); Beam's Python FlinkRunner runs it
                                  with `java -jar` (JDK_JAVA_OPTIONS carries the Java 17 flags:
                                  see runner_env())
    start_cluster(ClusterSpec()) -> Cluster   StandaloneSessionClusterEntrypoint + TaskManagerRunner
                                  with a flink-conf.yaml that sets what Flink's shell scripts would
                                  compute (cores, every memory component, bind hosts); waits until
                                  the TaskManager is registered (REST /taskmanagers)
    stop_cluster(8081) -> bool    TaskManager, then JobManager, by pid
    runner_options(cluster) -> the Beam flags for a job on that cluster
    live_job_flags(flags) -> + the runner options a live job needs (LIVE_JOB_FLAGS)
    input_watermarks(rest, job) -> every operator's input watermark (the idle check)

Folder: /tmp/vigie-flink-<uid>/<rest port> ($VIGIE_FLINK_DIR), with conf/, logs, pids, tmp/,
checkpoints/. Command line (`make flink-start` / `make flink-stop`):
    python -m pipelines.services.flink start|stop|status|jar [--port P]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import VigieError
from pipelines.services import process
from pipelines.services.classpath import (ClasspathSpec, cache_root, classpath_string,
                                          resolve_classpath)
from pipelines.services.jvm import OPENS, java_binary, launcher_jar, pathing_jar

# Beam's Flink runner: the newest version whose modules the Maven registry serves together
# (2.70.0's runner jar is served but its beam-runners-java-job-service is not). Flink 1.19.0.
BEAM_FLINK_VERSION = "2.62.0"
FLINK_MAJOR = "1.19"
CLASSPATH = ClasspathSpec("beam-flink", (
    f"org.apache.beam:beam-runners-flink-{FLINK_MAJOR}:{BEAM_FLINK_VERSION}",
    "org.slf4j:jcl-over-slf4j:1.7.36",
    "org.slf4j:slf4j-simple:1.7.36",
), exclusions=("commons-logging:commons-logging",))
# Beam's FlinkJobServerDriver, started through the project's launcher so that its gRPC endpoints
# (job service, artifact staging, expansion) bind 127.0.0.1 (pipelines/services/java).
JOB_SERVER_LAUNCHER = "VigieFlinkJobServer"
JOBMANAGER_MAIN = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
TASKMANAGER_MAIN = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"
DEFAULT_PORT = 8081
# The JobManager's REST endpoint can take a minute and more to open on a busy 2-core machine.
START_TIMEOUT_S = 240


def default_port() -> int:
    """The JobManager's REST port: $VIGIE_FLINK_PORT or 8081."""
    return process.env_port("VIGIE_FLINK_PORT", DEFAULT_PORT)


def state_dir() -> Path:
    """Where clusters keep their folders: $VIGIE_FLINK_DIR or /tmp/vigie-flink-<uid>."""
    return Path(os.environ.get("VIGIE_FLINK_DIR") or f"/tmp/vigie-flink-{os.getuid()}")


@dataclass(frozen=True)
class ClusterSpec:
    """One session cluster. Other ports are derived from the REST port: RPC +42 (6123 for 8081),
    blob +43, TaskManager RPC +41, data +44. Memory in MiB."""
    rest_port: int = DEFAULT_PORT
    slots: int = 2
    cpu_cores: int = 2
    jm_heap_mb: int = 512
    tm_task_heap_mb: int = 1280  # a live job's heap peaked at 630-780 MiB between checkpoints
    tm_managed_mb: int = 256
    tm_network_mb: int = 128

    @property
    def folder(self) -> Path:
        return state_dir() / str(self.rest_port)

    @property
    def rpc_port(self) -> int:
        return self.rest_port - 1958  # 6123 for 8081

    @property
    def ports(self) -> dict[str, int]:
        return {"rest": self.rest_port, "jobmanager rpc": self.rpc_port,
                "taskmanager rpc": self.rpc_port - 1, "blob": self.rpc_port + 1,
                "taskmanager data": self.rpc_port + 2}


@dataclass(frozen=True)
class Cluster:
    """A running session cluster: `master` is what --flink_master takes."""
    master: str
    rest_url: str
    folder: Path
    pids: tuple[int, int]


# Fixed sizes Flink's scripts would otherwise derive (MiB).
FRAMEWORK_HEAP, FRAMEWORK_OFF_HEAP, METASPACE, OVERHEAD = 128, 128, 256, 192
JM_OFF_HEAP, JM_METASPACE, JM_OVERHEAD = 128, 256, 192


def flink_conf(spec: ClusterSpec) -> dict[str, object]:
    """The flink-conf.yaml settings of a loopback session cluster (pure)."""
    folder = spec.folder
    ports = spec.ports
    return {
        "jobmanager.rpc.address": "127.0.0.1",
        "jobmanager.rpc.port": ports["jobmanager rpc"],
        "jobmanager.bind-host": "127.0.0.1",
        "rest.address": "127.0.0.1",
        "rest.bind-address": "127.0.0.1",
        "rest.port": ports["rest"],
        "blob.server.port": ports["blob"],
        "taskmanager.host": "127.0.0.1",
        "taskmanager.bind-host": "127.0.0.1",
        "taskmanager.rpc.port": ports["taskmanager rpc"],
        "taskmanager.data.port": ports["taskmanager data"],
        "metrics.internal.query-service.port": "0",
        "taskmanager.numberOfTaskSlots": spec.slots,
        "taskmanager.cpu.cores": spec.cpu_cores,
        "parallelism.default": 1,
        "jobmanager.memory.heap.size": f"{spec.jm_heap_mb}m",
        "jobmanager.memory.off-heap.size": f"{JM_OFF_HEAP}m",
        "jobmanager.memory.jvm-metaspace.size": f"{JM_METASPACE}m",
        "jobmanager.memory.jvm-overhead.min": f"{JM_OVERHEAD}m",
        "jobmanager.memory.jvm-overhead.max": f"{JM_OVERHEAD}m",
        "taskmanager.memory.framework.heap.size": f"{FRAMEWORK_HEAP}m",
        "taskmanager.memory.task.heap.size": f"{spec.tm_task_heap_mb}m",
        "taskmanager.memory.managed.size": f"{spec.tm_managed_mb}m",
        "taskmanager.memory.framework.off-heap.size": f"{FRAMEWORK_OFF_HEAP}m",
        "taskmanager.memory.task.off-heap.size": "0m",
        "taskmanager.memory.network.min": f"{spec.tm_network_mb}m",
        "taskmanager.memory.network.max": f"{spec.tm_network_mb}m",
        "taskmanager.memory.jvm-metaspace.size": f"{METASPACE}m",
        "taskmanager.memory.jvm-overhead.min": f"{OVERHEAD}m",
        "taskmanager.memory.jvm-overhead.max": f"{OVERHEAD}m",
        "io.tmp.dirs": str(folder / "tmp"),
        "web.tmpdir": str(folder / "tmp"),
        "blob.storage.directory": str(folder / "tmp"),
        "state.checkpoints.dir": (folder / "checkpoints").as_uri(),
        "state.savepoints.dir": (folder / "savepoints").as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        # The cluster's classpath already holds Beam's runner (it is the runner's classpath), and
        # the job server stages that same classpath with each job: load those classes once, from
        # the cluster's classpath, or a restarted job meets two copies of Beam's vendored gRPC.
        "classloader.resolve-order": "parent-first",
        "classloader.check-leaked-classloader": "false",
        "heartbeat.timeout": 120000,
        "akka.ask.timeout": "60 s",
        "web.submit.enable": "false",
        "web.cancel.enable": "true",
    }


def jvm_memory_flags(spec: ClusterSpec, role: str) -> list[str]:
    """The JVM sizes Flink's scripts would compute for the JobManager or TaskManager (pure)."""
    if role == "jobmanager":
        return [f"-Xms{spec.jm_heap_mb}m", f"-Xmx{spec.jm_heap_mb}m",
                f"-XX:MaxDirectMemorySize={JM_OFF_HEAP}m", f"-XX:MaxMetaspaceSize={JM_METASPACE}m"]
    heap = FRAMEWORK_HEAP + spec.tm_task_heap_mb
    direct = FRAMEWORK_OFF_HEAP + spec.tm_network_mb
    return [f"-Xms{heap}m", f"-Xmx{heap}m", f"-XX:MaxDirectMemorySize={direct}m",
            f"-XX:MaxMetaspaceSize={METASPACE}m"]


def job_server_jar() -> Path:
    """The pathing jar that runs Beam's Flink job server on 127.0.0.1 (built once per resolved
    classpath): Main-Class is the project's launcher, Class-Path its classes + the runner's jars."""
    jars = resolve_classpath(CLASSPATH)
    launcher = launcher_jar(jars, JOB_SERVER_LAUNCHER)
    target = (cache_root() / "jars" /
              f"beam-runners-flink-{FLINK_MAJOR}-job-server-{BEAM_FLINK_VERSION}-pathing.jar")
    return pathing_jar(jars, f"vigie.{JOB_SERVER_LAUNCHER}", target, extra=[launcher])


def runner_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a process that starts the job server jar: JDK_JAVA_OPTIONS gets the
    --add-opens flags (Beam's FlinkRunner runs `java -jar` without JVM flags)."""
    env = dict(os.environ if base is None else base)
    extra = " ".join(OPENS)
    env["JDK_JAVA_OPTIONS"] = f"{env.get('JDK_JAVA_OPTIONS', '')} {extra}".strip()
    return env


def runner_options(cluster: Cluster | None = None, streaming: bool = True) -> list[str]:
    """Beam flags that submit to `cluster` (or the default local one) through the job server."""
    master = cluster.master if cluster else f"127.0.0.1:{default_port()}"
    flags = ["--runner=FlinkRunner", f"--flink_master={master}",
             f"--flink_job_server_jar={job_server_jar()}", "--environment_type=LOOPBACK"]
    return flags + (["--streaming"] if streaming else [])


# What Beam's Flink runner (2.62) needs for Vigie's live job, given by `vigie stream` unless
# the command line sets them (live_job_flags):
# - finish_bundle_before_checkpointing: by default a checkpoint finishes the open bundle of each
#   stage inside its snapshot and keeps the bundle's output in the snapshot's buffer, flushed
#   only when the stage starts another bundle or gets another watermark. The Kafka read begins
#   with a stage that gets one element (the impulse) and then the final watermark: when a
#   checkpoint came while that first bundle ran (the Java harness takes seconds to start), its
#   output (the partitions to read) stayed in the buffer for ever, the final watermark went
#   on, and the reader never started. Finished before the checkpoint barrier, the output goes out.
# - max_bundle_time_mills=100: a stage runs its due timers one round per bundle (a timer that a
#   timer callback sets for a time already passed fires in the next bundle), a bundle holding only
#   timers closes after max_bundle_time_mills (1,000 ms by default), and the stage emits no
#   watermark while due timers keep coming. Vigie's stateful steps re-arm their timer to their
#   next pending event time (stitching's closing times, correlation's signal times, incident
#   releases), so a stream that is behind (catching up, a restart's rewind) costs one bundle per
#   pending time: about 150 rounds for the test scenario, minutes at 1 s each, with every
#   downstream watermark held back meanwhile (at 100 ms, under a minute).
# - checkpointing_interval=5000: without checkpoints the TaskManager's heap filled and it died
#   (768 MiB task heap: 30 MiB -> 940 MiB within a minute of the job starting, before a single
#   record was read, then OutOfMemoryError; bench/bench_stream.py with BENCH_RUNNER=flink, twice).
#   With checkpoints every 5 s the heap rose and fell between 70 and 630 MiB as the collector
#   reclaimed it; every 10 s it peaked at 780 MiB. Presumably what piles up is what the runner
#   keeps until a checkpoint completes (the Kafka read's bundle finalizations, which also commit
#   its offsets, are among it); without checkpoints that never comes. Not dug further.
LIVE_JOB_FLAGS = (("--finish_bundle_before_checkpointing", None), ("--max_bundle_time_mills", "100"),
                  ("--checkpointing_interval", "5000"))


def live_job_flags(flags: list[str]) -> list[str]:
    """`flags` (a FlinkRunner job's) + the LIVE_JOB_FLAGS they do not set already (pure)."""
    given = {flag.split("=", 1)[0] for flag in flags if flag.startswith("--")}
    return flags + [name if value is None else f"{name}={value}"
                    for name, value in LIVE_JOB_FLAGS if name not in given]


def _rest(url: str, timeout_s: float = 3) -> object | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return json.load(response)
    except (OSError, urllib.error.URLError, ValueError):
        return None


def registered_taskmanagers(rest_url: str) -> int:
    """How many TaskManagers the JobManager lists (0 when its REST endpoint does not answer)."""
    answer = _rest(f"{rest_url}/taskmanagers")
    return len(answer.get("taskmanagers", [])) if isinstance(answer, dict) else 0


def finished_jobs(cluster: Cluster) -> list[str]:
    """Ids of the jobs the cluster has finished (from its REST /jobs/overview)."""
    answer = _rest(f"{cluster.rest_url}/jobs/overview")
    jobs = answer.get("jobs", []) if isinstance(answer, dict) else []
    return [job["jid"] for job in jobs if job.get("state") == "FINISHED"]


# Flink job states after which a job does nothing more.
ENDED = ("FINISHED", "CANCELED", "FAILED", "SUSPENDED")


def running_job(rest_url: str, beam_job_id: str, states: tuple[str, ...] = ("RUNNING",)) -> str | None:
    """The Flink job id of the job Beam's job server submitted as `beam_job_id` (Beam names the
    Flink job after its job id without the `_<uuid>` tail) when it is in one of `states`."""
    answer = _rest(f"{rest_url}/jobs/overview")
    jobs = answer.get("jobs", []) if isinstance(answer, dict) else []
    name = beam_job_id.split("_", 1)[0]
    found = [job["jid"] for job in jobs if job.get("name") == name and job.get("state") in states]
    return found[0] if found else None


# Long.MIN_VALUE as Flink reports it: an operator that has had no input watermark yet.
NO_WATERMARK = -(1 << 63)
WATERMARK_METRIC = ".currentInputWatermark"


def watermark_ms(value: object) -> int | None:
    """A watermark value of Flink's REST API (a number or its text) -> ms, NO_WATERMARK for
    Long.MIN_VALUE (no watermark yet; the text may come back as a float), None when unreadable
    (pure)."""
    try:
        ms = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        try:
            ms = int(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return None
    return NO_WATERMARK if ms <= -(1 << 62) else ms


def lowest_watermarks(metrics: list[dict]) -> dict[str, int | None]:
    """Flink's aggregated subtask metrics of one vertex ({"id", "min"} rows) -> operator name ->
    its lowest input watermark over the subtasks (pure). Only operators with an input have the
    metric: sources are left out."""
    found: dict[str, int | None] = {}
    for row in metrics:
        name = str(row.get("id", ""))
        if name.endswith(WATERMARK_METRIC):
            found[name[:-len(WATERMARK_METRIC)]] = watermark_ms(row.get("min"))
    return found


def input_watermarks(rest_url: str, job_id: str) -> dict[str, int | None]:
    """Per operator of a running job, chained operators included: the lowest input watermark
    (ms) of its subtasks; NO_WATERMARK while it has had none (its upstream holds it back, as a
    stage whose timers keep firing does: Flink's runner emits a stage's watermark only once no
    due timer is left); None when Flink does not say. Sources have no input and are left out."""
    answer = _rest(f"{rest_url}/jobs/{job_id}")
    vertices = answer.get("vertices", []) if isinstance(answer, dict) else []
    marks: dict[str, int | None] = {}
    for vertex in vertices:
        base = f"{rest_url}/jobs/{job_id}/vertices/{vertex['id']}"
        listed = _rest(f"{base}/subtasks/metrics")
        if not isinstance(listed, list):  # Flink did not answer: not known
            marks[vertex["id"]] = None
            continue
        names = [m["id"] for m in listed if isinstance(m, dict)
                 and str(m.get("id", "")).endswith(WATERMARK_METRIC)]
        queryable = [name for name in names if "," not in name]  # Flink's list separator
        rows = _rest(f"{base}/subtasks/metrics?" + urllib.parse.urlencode(
            {"get": ",".join(queryable), "agg": "min"})) if queryable else []
        found = lowest_watermarks(rows if isinstance(rows, list) else [])
        for operator in (name[:-len(WATERMARK_METRIC)] for name in queryable):
            marks[f"{vertex['id']}/{operator}"] = found.get(operator)
        if len(queryable) < len(names):  # a name Flink cannot be asked for: the vertex's input
            values = [watermark_ms(item.get("value")) for item in _rest(f"{base}/watermarks") or []
                      if isinstance(item, dict)]
            if values:
                known = [v for v in values if v is not None]
                marks[f"{vertex['id']}/{vertex.get('name', '')}"] = (min(known) if len(known) == len(values)
                                                                    else None)
    return marks


def watermarks_past(marks: dict[str, int | None], target_ms: int) -> bool:
    """Whether every operator's input watermark is known and at or past `target_ms` (pure):
    an operator without a watermark yet, or one Flink did not report, is not."""
    return bool(marks) and all(mark is not None and mark >= target_ms for mark in marks.values())


def cancel_job(rest_url: str, beam_job_id: str, timeout_s: float = 60) -> bool:
    """Cancel on the cluster the job Beam submitted as `beam_job_id`, and wait until Flink has
    ended it; False when no such job was still going. Beam's Flink job server only stops
    waiting for a job it is asked to cancel: on a session cluster the job runs on (and, once
    the submitting process is gone, restarts over and over)."""
    states = ("INITIALIZING", "CREATED", "RUNNING", "FAILING", "CANCELLING", "RESTARTING",
              "RECONCILING")
    job = running_job(rest_url, beam_job_id, states)
    if job is None:
        return False
    request = urllib.request.Request(f"{rest_url}/jobs/{job}?mode=cancel", method="PATCH")
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except (OSError, urllib.error.URLError) as error:
        raise VigieError(f"Flink at {rest_url} did not cancel job {job}: {error}") from None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = _rest(f"{rest_url}/jobs/{job}")
        if isinstance(answer, dict) and answer.get("state") in ENDED:
            return True
        time.sleep(1)
    raise VigieError(f"Flink at {rest_url} has not ended job {job} {timeout_s:.0f} s after it was "
                     "cancelled; see its REST API (/jobs/overview)")


def decode_metric(metric_id: str, namespaces: tuple[str, ...]) -> tuple[str, str, str] | None:
    """A Beam metric as Flink's REST API names it, `<operator>.<namespace>_<name>` with every
    dot of the namespace and name turned into `_` -> (operator, namespace, name), for one of
    `namespaces`; None for Flink's own metrics (pure). Dots of a name come back as `_`."""
    operator, _, metric = metric_id.rpartition(".")
    for namespace in sorted(namespaces, key=len, reverse=True):
        prefix = namespace.replace(".", "_") + "_"
        if metric.startswith(prefix) and len(metric) > len(prefix):
            return operator, namespace, metric[len(prefix):]
    return None


def job_metrics(rest_url: str, job_id: str, namespaces: tuple[str, ...],
                chunk: int = 25) -> list[tuple[str, str, str, float, float]]:
    """The Beam metrics of `namespaces` a running Flink job reports, summed and maxed over the
    subtasks of each operator: (operator, namespace, name, sum, max). Beam's Flink job server
    answers GetJobMetrics only once a job has ended; Flink's REST API has them live. Names with
    a comma (Flink's separator in queries) are left out."""
    answer = _rest(f"{rest_url}/jobs/{job_id}")
    vertices = [v["id"] for v in answer.get("vertices", [])] if isinstance(answer, dict) else []
    found = []
    for vertex in vertices:
        base = f"{rest_url}/jobs/{job_id}/vertices/{vertex}/subtasks/metrics"
        listed = _rest(base)
        ids = {m["id"]: decode_metric(m["id"], namespaces) for m in listed or [] if isinstance(m, dict)}
        wanted = [i for i, decoded in ids.items() if decoded and "," not in i]
        for start in range(0, len(wanted), chunk):
            query = urllib.parse.urlencode({"get": ",".join(wanted[start:start + chunk]), "agg": "sum,max"})
            for value in _rest(f"{base}?{query}") or []:
                decoded = ids.get(value.get("id"))
                if decoded and "sum" in value:
                    found.append((*decoded, float(value["sum"]), float(value.get("max", value["sum"]))))
    return found


def _command(spec: ClusterSpec, role: str, main: str, classpath: str) -> list[str]:
    return [str(java_binary()), *jvm_memory_flags(spec, role), *OPENS,
            f"-Dlog.file={spec.folder / (role + '.log')}",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-cp", classpath, main, "--configDir", str(spec.folder / "conf"),
            "-D", f"vigie.role={role}-{spec.rest_port}"]


def start_cluster(spec: ClusterSpec | None = None, fresh: bool = False,
                  timeout_s: float = START_TIMEOUT_S) -> Cluster:
    """Start the cluster (or find it running); return once a TaskManager is registered."""
    spec = spec or ClusterSpec(rest_port=default_port())
    folder = spec.folder
    rest_url = f"http://127.0.0.1:{spec.rest_port}"
    running = [process.running_pid(folder, role) for role in ("jobmanager", "taskmanager")]
    if all(running):
        _wait_registered(spec, rest_url, timeout_s)
        return Cluster(f"127.0.0.1:{spec.rest_port}", rest_url, folder, tuple(running))  # type: ignore[arg-type]
    if any(running):
        stop_cluster(spec.rest_port)  # half a cluster: start again cleanly
    for name, port in spec.ports.items():
        if process.port_in_use(port):
            raise VigieError(f"port {port} (Flink {name}) is taken by another program; stop it or "
                             "set VIGIE_FLINK_PORT to another REST port (the others follow it)")
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
    for sub in ("conf", "tmp", "checkpoints", "savepoints"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "conf" / "flink-conf.yaml").write_text(
        "# Written by pipelines/services/flink.py for one local Vigie session cluster.\n"
        + "".join(f"{key}: {value}\n" for key, value in flink_conf(spec).items()))
    classpath = classpath_string(resolve_classpath(CLASSPATH))
    pids = []
    for role, main in (("jobmanager", JOBMANAGER_MAIN), ("taskmanager", TASKMANAGER_MAIN)):
        pids.append(process.spawn(_command(spec, role, main, classpath), folder, role,
                                  marker=f"vigie.role={role}-{spec.rest_port}"))
    try:
        _wait_registered(spec, rest_url, timeout_s)
    except VigieError:
        stop_cluster(spec.rest_port)
        raise
    return Cluster(f"127.0.0.1:{spec.rest_port}", rest_url, folder, (pids[0], pids[1]))


def _wait_registered(spec: ClusterSpec, rest_url: str, timeout_s: float) -> None:
    folder = spec.folder

    def alive() -> bool:
        return all(process.running_pid(folder, role) for role in ("jobmanager", "taskmanager"))

    process.wait_for(lambda: registered_taskmanagers(rest_url) > 0, timeout_s,
                     f"Flink session cluster at {rest_url} (JobManager REST + a registered "
                     "TaskManager)", folder / "jobmanager.log", alive=alive, interval_s=1)


def stop_cluster(rest_port: int | None = None, grace_s: float = 30) -> bool:
    """Stop the TaskManager then the JobManager; False if neither was running."""
    folder = ClusterSpec(rest_port=rest_port or default_port()).folder
    stopped = [process.stop(folder, role, grace_s) for role in ("taskmanager", "jobmanager")]
    return any(stopped)


def is_running(rest_port: int | None = None) -> bool:
    """Whether both processes of our cluster on `rest_port` are alive."""
    folder = ClusterSpec(rest_port=rest_port or default_port()).folder
    return all(process.running_pid(folder, role) for role in ("jobmanager", "taskmanager"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.services.flink",
                                     description="Start, stop or inspect the local Flink cluster; "
                                                 "`jar` prints the job server jar's path.")
    parser.add_argument("action", choices=("start", "stop", "status", "jar"))
    parser.add_argument("--port", type=int, default=None,
                        help="REST port (default $VIGIE_FLINK_PORT or 8081)")
    parser.add_argument("--fresh", action="store_true", help="wipe the cluster's folder first")
    args = parser.parse_args(argv)
    try:
        port = args.port or default_port()
        if args.action == "start":
            started = time.monotonic()
            print(f"starting Flink {FLINK_MAJOR} on 127.0.0.1:{port}; the JobManager's REST endpoint "
                  f"can take a minute or two to open on a busy machine (waiting up to "
                  f"{START_TIMEOUT_S} s)", flush=True)
            cluster = start_cluster(ClusterSpec(rest_port=port), fresh=args.fresh)
            print(f"Flink session cluster ready at {cluster.rest_url} "
                  f"({time.monotonic() - started:.1f} s, pids {cluster.pids[0]} {cluster.pids[1]}); "
                  f"folder {cluster.folder}")
        elif args.action == "stop":
            print(f"Flink cluster on port {port} stopped" if stop_cluster(port)
                  else f"no Vigie Flink cluster was running on port {port}")
        elif args.action == "jar":
            print(job_server_jar())
        else:
            running = is_running(port) and registered_taskmanagers(f"http://127.0.0.1:{port}") > 0
            print(f"Flink cluster on port {port}: {'running' if running else 'not running'}")
            return 0 if running else 1
    except VigieError as error:
        print(f"vigie: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
