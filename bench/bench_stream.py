"""Live-detection benchmark: generated web events pushed into Kafka at steady rates, the live job
of `vigie stream` on Prism or on the local Flink cluster (BENCH_RUNNER=prism|flink), event-to-signal
latency and the highest rate sustained without lag.

What runs: the job `vigie stream` builds (pipelines/stream.py: ReadKafkaUnits | AnalyseEvents |
WriteOutputs, shipped rules, enrichment, correlation, incidents, Parquet outputs), started in
this process with Prism, or submitted to the project's Flink session cluster through Beam's Flink
job server with the runner options `vigie stream` adds (flink.LIVE_JOB_FLAGS), LOOPBACK either
way (the Python worker runs here), plus two taps on its outputs:
every event table (rows counted: the job's progress) and every signal row (the time it
exists), tapped per signal source as the Elasticsearch sink reads them (analyse.signal_parts).
The input is the Apache lines of a generated hospital scenario (benign browsing and the
attack's scans and injections, ~4 % of them raise a signal), re-stamped with the time they are
sent, sent as the shipper sends them (headers: format, a file key per partition, the line's
number as offset; CreateTime = the line's time).

Rates go up step by step (BENCH_RATES, events/s, each for BENCH_STEP_S seconds). Per step:
- event-to-signal latency p50 / p99 / max: from the moment the line is handed to the producer
  to the moment the job's detection produced its signal (processing time, wall clock);
- the job's lag (lines sent - lines that became events) each second; a rate is sustained when
  the lag does not grow over the step's last two thirds (slope < 2 % of the rate or 100 ev/s:
  progress is reported bundle by bundle, so the lag saw-tooths) and stays under 10 s worth of events over
  the last third;
- CPU seconds used per 1,000 events by this process (the job's Python worker), the Java worker
  pool (the Kafka read), Kafka, the runner (Prism; or Flink's JobManager, TaskManager and
  Beam's job server) and the producer (a process of its own, so that sending does not compete
  with the worker for this process's GIL).
The steps stop at the first rate whose lag does not drain within 45 s after it (on a shared
machine one stall can fail a step that the next one passes, so a failed step alone does not stop
the ladder). Bounded: BENCH_MAX_S seconds in all (default
300) and BENCH_MAX_EVENTS events. Servers that are not running are started (Kafka, the Java
worker pool and expansion service, the Flink cluster with BENCH_RUNNER=flink; ports from VIGIE_*
variables, docs/streaming-stack.md) and stopped at the end; those already running are left running.

    .venv/bin/python bench/bench_stream.py          (BENCH_RATES=1000,2500,5000 BENCH_STEP_S=30)
    BENCH_RUNNER=flink .venv/bin/python bench/bench_stream.py
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402

from pipelines.commands.stream import (analysis_settings, cancel_on_cluster, flink_safe, prism_safe,  # noqa: E402
                                      quiet_shutdown)
from pipelines.options import vigie_options, with_stream_runner  # noqa: E402
from pipelines.scenario.chu import generate_chu  # noqa: E402
from pipelines.services import (beam_java, expansion, flink, java_workers, kafka, kafka_topics,  # noqa: E402
                                prism, process)
from pipelines.sources import kafka as ks  # noqa: E402
from pipelines.stream import KafkaSource, SignalWindows, build_stream  # noqa: E402
from pipelines.transforms.analyse import signal_parts  # noqa: E402

RATES = [int(r) for r in os.environ.get("BENCH_RATES", "1000,2500,5000,10000,20000").split(",")]
STEP_S = float(os.environ.get("BENCH_STEP_S", "30"))
MAX_S = float(os.environ.get("BENCH_MAX_S", "300"))
MAX_EVENTS = int(os.environ.get("BENCH_MAX_EVENTS", "3000000"))
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "2"))
RUNNER = os.environ.get("BENCH_RUNNER", "prism").lower()
if RUNNER not in ("prism", "flink"):
    raise SystemExit(f"bench_stream: BENCH_RUNNER={RUNNER!r}: use prism or flink")
SCENARIO_EVENTS = 20_000
APACHE_TIME = re.compile(rb"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ---- pure helpers ---------------------------------------------------------------------------

def templates(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Apache lines -> (before the time, after the time) pairs, so a line is re-stamped by
    joining the two around a new time."""
    out = []
    for line in lines:
        found = APACHE_TIME.search(line)
        if found:
            out.append((line[:found.start()], line[found.end():].rstrip(b"\n")))
    return out


def apache_time(epoch_s: float) -> bytes:
    """`[06/Dec/2026:07:01:02 +0000]` for a UTC time."""
    t = time.gmtime(epoch_s)
    return f"[{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000]".encode()


def percentiles(values: np.ndarray) -> dict[str, float | None]:
    """p50, p99 and max of `values` (ms), None when empty."""
    if len(values) == 0:
        return {"p50": None, "p99": None, "max": None}
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)),
            "max": float(values.max())}


def sustained(samples: list[tuple[float, int]], rate: int) -> tuple[bool, float, int]:
    """(t, lag) samples of one step -> (sustained, lag slope in events/s, final lag): the lag's
    least-squares slope over the step's last two thirds stays under 2 % of the rate or 100
    events/s (the job reports progress bundle by bundle, so the lag saw-tooths) and the lag over the last third
    stays under 10 s worth of events (a flat lag is a latency, a growing one a rate too high)."""
    if len(samples) < 4:
        return False, float("nan"), samples[-1][1] if samples else 0
    tail = samples[len(samples) // 3:]
    t = np.array([s[0] for s in tail])
    lag = np.array([s[1] for s in tail], dtype=float)
    slope = float(np.polyfit(t - t[0], lag, 1)[0]) if np.ptp(t) > 0 else 0.0
    last_third = [s[1] for s in samples[2 * len(samples) // 3:]]
    return slope < max(0.02 * rate, 100) and max(last_third) < 10 * rate, slope, samples[-1][1]


# ---- the job's taps (they run in this process: Prism's LOOPBACK worker) -------------------

class TapFn(beam.DoFn):
    """Appends one line per element to a file of its own under `folder`: for event tables
    "E rows now_ms", for signal rows "S offset now_ms" (offset = the line's number)."""

    def __init__(self, folder: str, kind: str):
        self.folder, self.kind = folder, kind

    def setup(self):
        self.file = open(Path(self.folder) / f"{self.kind}-{uuid.uuid4().hex}.tap", "a")

    def process(self, element):
        now = int(time.time() * 1000)
        if self.kind == "E":
            self.file.write(f"E {element[1].num_rows} {now}\n")
        elif element.get("log.offset") is not None:
            self.file.write(f"S {int(element['log.offset'])} {now}\n")

    def finish_bundle(self):
        self.file.flush()

    def teardown(self):
        self.file.close()


@dataclass
class Taps:
    """Reads the tap files incrementally: events processed, signals seen (offset -> ms)."""

    folder: Path
    positions: dict = field(default_factory=dict)
    events: int = 0
    signals: dict = field(default_factory=dict)

    def poll(self) -> None:
        for path in self.folder.glob("*.tap"):
            with open(path) as f:
                f.seek(self.positions.get(path, 0))
                chunk = f.read()
                end = chunk.rfind("\n") + 1
                self.positions[path] = self.positions.get(path, 0) + len(chunk[:end].encode())
            for line in chunk[:end].splitlines():
                kind, a, b = line.split()
                if kind == "E":
                    self.events += int(a)
                else:
                    self.signals.setdefault(int(a), int(b))


# ---- the producer -----------------------------------------------------------------------------

class Producer:
    """Sends re-stamped lines at a steady rate; remembers when each line was handed over (in
    `sent_ms`, shared with the bench's main process) and how many were (`sent`)."""

    def __init__(self, bootstrap: str, topic: str, lines: list[tuple[bytes, bytes]], sent_ms, sent):
        self.topic, self.lines = topic, lines
        self.producer = kafka_topics._kafka().Producer({
            "bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 10000,
            "queue.buffering.max.messages": 1_000_000, "log_level": 3})
        self.keys = [uuid.uuid4().hex[:16] for _ in range(PARTITIONS)]
        self.sent_ms = np.frombuffer(sent_ms, dtype=np.int64)
        self.shared_sent = sent
        self.sent = 0

    def send(self, count: int) -> None:
        now = time.time()
        stamp = apache_time(now)
        now_ms = int(now * 1000)
        for _ in range(count):
            if self.sent >= MAX_EVENTS:
                break
            i = self.sent
            before, after = self.lines[i % len(self.lines)]
            part = i % PARTITIONS
            headers = [(ks.HEADER_FORMAT, b"apache_combined"), (ks.HEADER_FILE_KEY, self.keys[part].encode()),
                       (ks.HEADER_OFFSET, str(i).encode()), (ks.HEADER_PATH, f"/bench/{part}.log".encode())]
            while True:
                try:
                    self.producer.produce(self.topic, value=before + stamp + after, partition=part,
                                          timestamp=now_ms, headers=headers)
                    break
                except BufferError:
                    self.producer.poll(0.01)
            self.sent_ms[i] = int(time.time() * 1000)
            self.sent += 1
        self.shared_sent.value = self.sent
        self.producer.poll(0)

    def run_at(self, rate: int, seconds: float) -> None:
        """Send `rate` lines/s for `seconds`."""
        start = time.monotonic()
        first = self.sent
        while (elapsed := time.monotonic() - start) < seconds and self.sent < MAX_EVENTS:
            due = int(rate * elapsed) - (self.sent - first)
            if due > 0:
                self.send(min(due, max(1, rate // 20)))
            else:
                time.sleep(0.005)
        self.producer.flush(30)


def producer_main(bootstrap: str, topic: str, lines, sent_ms, sent, commands, answers) -> None:
    """The producer's own process (so that sending does not take the job's Python worker's
    GIL): runs ("send", n) and ("rate", rate, seconds) commands until ("stop",)."""
    producer = Producer(bootstrap, topic, lines, sent_ms, sent)
    while True:
        command = commands.get()
        if command[0] == "stop":
            return
        if command[0] == "send":
            producer.send(command[1])
            producer.producer.flush(30)
        else:
            producer.run_at(command[1], command[2])
        answers.put("done")


class ProducerProcess:
    """The main process's handle on the producer process."""

    def __init__(self, bootstrap: str, topic: str, lines: list[tuple[bytes, bytes]]):
        context = multiprocessing.get_context("spawn")  # started before any gRPC thread exists
        self.sent_shared = context.RawArray("q", MAX_EVENTS)
        self.sent_count = context.RawValue("q", 0)
        self.sent_ms = np.frombuffer(self.sent_shared, dtype=np.int64)
        self.commands, self.answers = context.Queue(), context.Queue()
        self.process = context.Process(target=producer_main, daemon=True, args=(
            bootstrap, topic, lines, self.sent_shared, self.sent_count, self.commands, self.answers))
        self.process.start()

    @property
    def sent(self) -> int:
        return self.sent_count.value

    def send(self, count: int) -> None:
        self.commands.put(("send", count))
        self.answers.get(timeout=60)

    def run_at(self, rate: int, seconds: float, on_second) -> None:
        """Send `rate` lines/s for `seconds` (in the producer process), calling on_second()
        here about once a second."""
        self.commands.put(("rate", rate, seconds))
        while True:
            try:
                self.answers.get(timeout=1.0)
                return
            except queue.Empty:
                on_second()

    def stop(self) -> None:
        self.commands.put(("stop",))
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()


# ---- CPU of the processes involved ------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its waited-for children (0 when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children_running(marker: str) -> list[int]:
    """Processes started by this process whose command line holds `marker` (Prism: the SDK
    starts one per job; Beam's Flink job server jar)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid() and \
                    marker in (stat.parent / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def runner_pids() -> list[int]:
    """The runner's processes: Prism, or Flink's JobManager and TaskManager and the job server."""
    if RUNNER == "prism":
        return children_running("prism")
    folder = flink.ClusterSpec(rest_port=flink.default_port()).folder
    return [pid for pid in (process.running_pid(folder, role) for role in ("jobmanager", "taskmanager"))
            if pid] + children_running("job-server")


def cpu_by_part(broker_pid: int, producer_pid: int) -> dict[str, float]:
    """CPU seconds so far of this process (the job's Python worker), the Java worker pool, the
    broker, Prism and the producer."""
    workers = process.running_pid(beam_java.state_dir() / f"{java_workers.MODE}-{java_workers.default_port()}",
                                  java_workers.MODE)
    pids = {"python worker": [os.getpid()], "java workers (Kafka read)": [workers],
            "kafka": [broker_pid], RUNNER: runner_pids(), "producer": [producer_pid]}
    return {name: sum(cpu_seconds(p) for p in ps if p) for name, ps in pids.items()}


# ---- the run ---------------------------------------------------------------------------------

def start_services() -> tuple[kafka.Broker, list]:
    """Start Kafka and the Java services that are not running; the broker and the stop
    functions to call at the end."""
    stops = []
    if not kafka.is_running():
        stops.append(kafka.stop_broker)
    broker = kafka.start_broker()
    if not java_workers.is_running():
        stops.append(java_workers.stop_worker_pool)
    java_workers.start_worker_pool()
    if not expansion.is_running():
        stops.append(expansion.stop_expansion_service)
    expansion.start_expansion_service()
    if RUNNER == "flink":
        if not flink.is_running():
            stops.append(flink.stop_cluster)
        flink.start_cluster()
    return broker, stops


def scenario_lines(work: Path) -> list[tuple[bytes, bytes]]:
    logs = work / "scenario"
    if not (logs / "web" / "www-access.log").exists():
        generate_chu(logs, events=SCENARIO_EVENTS, seed=11, progress=lambda m: None)
    return templates((logs / "web" / "www-access.log").read_bytes().splitlines())


def start_job(bootstrap: str, topic: str, out: Path, taps: Path):
    values = vigie_options(["--out", str(out)], "stream")
    analysis = analysis_settings(values, "UTC")
    source = KafkaSource(ks.parse_source(f"kafka://{bootstrap}/{topic}"), f"bench-{topic}",
                         expansion.address(), ks.TopicFormats())
    if RUNNER == "flink":
        os.environ.update(flink.runner_env())  # the job server jar is started from this process
        flags = flink_safe(with_stream_runner(flink.runner_options(streaming=True), list))
    else:
        flags = prism_safe(with_stream_runner([], lambda: prism.prism_options(streaming=True)
                                              + ["--prism_log_level=warn"]))
    pipeline = beam.Pipeline(options=PipelineOptions(flags))
    analysed = build_stream(pipeline, source, analysis, str(out),
                            windows=SignalWindows(values.window_seconds, int(values.late_signal_hours * 3600)))
    for label in ("events", "stitched_events"):
        analysed[label] | f"Tap{label}" >> beam.ParDo(TapFn(str(taps), "E"))
    for source, part in signal_parts(analysed).items():  # what the Elasticsearch sink reads
        part | f"TapSignals{source}" >> beam.ParDo(TapFn(str(taps), "S"))
    return pipeline.run()


def main() -> int:
    began = time.monotonic()
    work = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="vigie-bench-stream-"))
    work.mkdir(parents=True, exist_ok=True)
    lines = scenario_lines(work)
    print(f"bench_stream on {RUNNER}: {len(lines):,} Apache lines of the generated scenario as templates; "
          f"rates {RATES} ev/s, {STEP_S:.0f} s each, {PARTITIONS} partition(s); work folder {work}", flush=True)
    broker, stops = start_services()
    bootstrap = broker.bootstrap
    result = producer = None
    try:
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        kafka_topics.create_topics(bootstrap, {topic: PARTITIONS})
        taps_dir = work / f"taps-{topic}"
        taps_dir.mkdir()
        taps = Taps(taps_dir)
        producer = ProducerProcess(bootstrap, topic, lines)
        result = start_job(bootstrap, topic, work / f"out-{topic}", taps_dir)
        # Warm-up: the job is up when lines sent come out as events.
        producer.send(200)
        deadline = time.monotonic() + 240
        while taps.events < producer.sent and time.monotonic() < deadline:
            time.sleep(1)
            taps.poll()
        if taps.events < producer.sent:
            raise SystemExit(f"bench_stream: the job did not process the warm-up lines within 240 s "
                             f"({taps.events} of {producer.sent}; state {result.state})")
        print(f"job up and warm after {time.monotonic() - began:.0f} s", flush=True)
        rows = []
        for rate in RATES:
            if time.monotonic() - began + STEP_S + 30 > MAX_S:
                print(f"  (time budget of {MAX_S:.0f} s reached: higher rates not tried)")
                break
            first = producer.sent
            samples: list[tuple[float, int]] = []
            cpu_before = cpu_by_part(broker.pid, producer.process.pid)
            step_start = time.monotonic()

            def sample():
                taps.poll()
                samples.append((time.monotonic() - step_start, producer.sent - taps.events))

            producer.run_at(rate, STEP_S, sample)
            sent = producer.sent - first
            achieved = sent / (time.monotonic() - step_start)
            ok, slope, final_lag = sustained(samples, rate)
            drain_deadline = time.monotonic() + 45
            while taps.events < producer.sent and time.monotonic() < drain_deadline:
                time.sleep(1)
                taps.poll()
            time.sleep(2)
            taps.poll()
            cpu_after = cpu_by_part(broker.pid, producer.process.pid)
            latency = np.array([ms - producer.sent_ms[o] for o, ms in taps.signals.items()
                                if first <= o < producer.sent], dtype=float)
            cpu = {k: cpu_after[k] - cpu_before.get(k, 0) for k in cpu_after}
            row = {"rate": rate, "sent_per_s": achieved, "sent": sent, "signals": len(latency),
                   **percentiles(latency), "lag_slope": slope, "final_lag": final_lag, "sustained": ok,
                   "drained": taps.events >= producer.sent, "cpu_per_1k": {k: 1000 * v / max(sent, 1) for k, v in cpu.items()}}
            rows.append(row)
            print(f"  {rate:>6,} ev/s asked, {achieved:>8,.0f} sent/s: signals {len(latency):>5}, "
                  f"event-to-signal p50 {_ms(row['p50'])} p99 {_ms(row['p99'])} max {_ms(row['max'])}; "
                  f"lag slope {slope:+.0f} ev/s, lag at end {final_lag:,} ({final_lag / rate:.1f} s) -> "
                  f"{'sustained' if ok else 'NOT sustained'}", flush=True)
            if not row["drained"]:  # not even caught up afterwards: higher rates cannot do better
                break
        print_table(rows)
    finally:
        if producer is not None:
            producer.stop()
        if result is not None:
            quiet_shutdown()
            try:
                if RUNNER == "flink":  # the job server stops waiting; the cluster must end the job
                    cancel_on_cluster(result, f"http://127.0.0.1:{flink.default_port()}")
                result.cancel()
            except Exception:  # noqa: BLE001 - the job may have ended
                pass
        for stop in reversed(stops):
            stop()
    print(f"bench_stream: done in {time.monotonic() - began:.0f} s")
    return 0


def _ms(value) -> str:
    return "   n/a" if value is None else f"{value / 1000:5.2f} s"


def print_table(rows: list[dict]) -> None:
    print("\nrate ev/s   sent/s   signals   p50      p99      max      lag slope  sustained   CPU s per 1k events (python worker / java / kafka / " + RUNNER + " / producer)")
    for r in rows:
        c = list(r["cpu_per_1k"].values())
        print(f"{r['rate']:>9,} {r['sent_per_s']:>8,.0f} {r['signals']:>9} {_ms(r['p50'])} {_ms(r['p99'])} "
              f"{_ms(r['max'])} {r['lag_slope']:>+9.0f}  {'yes' if r['sustained'] else 'NO':>9}   "
              + " / ".join(f"{v:.3f}" for v in c))
    best = [r["rate"] for r in rows if r["sustained"]]
    print(f"highest rate sustained without growing lag: {max(best):,} ev/s" if best
          else "no rate tried was sustained")


if __name__ == "__main__":
    sys.exit(main())
