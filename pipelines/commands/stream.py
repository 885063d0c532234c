"""`vigie stream --source kafka://HOST:PORT/TOPIC[,TOPIC] | dir:PATH --out DIR [flags]`: live
detection, the same analysis as `vigie replay` run as a streaming job (pipelines/stream.py).

Before anything runs: the flags, the runner (PrismRunner unless another streaming runner is
named), the rules and enrichment, the broker and its topics, the expansion service, the
Elasticsearch cluster (templates installed) and the handoff destinations are checked; a problem
is one line and exit 2. A restart rewinds the consumer group (sources/resume.py) so that the
state the stopped job held is rebuilt; incident revisions continue where it left them.

While the job runs, every --status-seconds: one structured log line (JSON, on stderr) and
DIR/stream/status.json with the job's state, its Beam counters (lines, events, dead letters,
signals, late signals, incidents, documents indexed) and the consumer group's lag; new incident
revisions are handed off to the configured destinations. Kafka unreachable or Elasticsearch
failing while it runs: one line when it starts and one when it ends; the job keeps running
(documents that cannot be indexed wait in DIR/deadletter for `vigie es backfill`).
SIGTERM or SIGINT: the job is cancelled and the command exits 0 (a restart resumes).
--stop-when-idle S: exit 0 once Kafka has nothing left to read and no counter moved for S s.
Exit 1 when the job fails.
"""
from __future__ import annotations

import argparse
import atexit
import datetime as dt
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineState

from pipelines.commands.replay import _checked_timezone, compile_rules
from pipelines.commands.stream_metrics import flink_rest_url, iso_time, live_counts, status_fields
from pipelines.enrichment.enrich import build_enricher
from pipelines import storage
from pipelines.errors import VigieError
from pipelines.options import (VigieOptions, named_runner, split_argv, vigie_options,
                              with_stream_runner)
from pipelines.services import expansion, flink, kafka_topics, process, prism
from pipelines.services.classpath import cache_root
from pipelines.sinks import es_cluster
from pipelines.sinks.handoff.run import deliver_incidents
from pipelines.sinks.handoff.settings import destinations_from, retry_policy
from pipelines.sinks.incidents import incident_lines, incidents_path, read_incidents
from pipelines.sources import kafka as ks
from pipelines.sources import resume
from pipelines.sources.ingest import ReadSettings
from pipelines.stream import FolderSource, KafkaSource, SignalWindows, settle_ms, start_stream
from pipelines.summary import RunCounts
from pipelines.transforms.analyse import AnalysisSettings, IncidentSettings, TravelSettings

STATE_DIR = "stream"
# Prism 2.75 splits slow bundles; a split hands a stateful step's remaining elements of a key
# back to the queue while the bundle still runs that key's timers, so two bundles of one key run
# at once (apache/beam#35771 is the same fault for timers) and the single-key incident assembly
# reads state a concurrent bundle is rewriting. This experiment turns Prism's splitting off.
PRISM_NO_SPLIT = "prism_disable_sdf_split"


def prism_safe(flags: list[str]) -> list[str]:
    """Beam flags with Prism's bundle splitting turned off when the runner is Prism."""
    runner = next((f.split("=", 1)[1] for f in flags if f.startswith("--runner=")), None)
    if runner is None:
        runner = next((flags[i + 1] for i, f in enumerate(flags[:-1]) if f == "--runner"), "")
    if runner.removesuffix("Runner") == "Prism" and f"--experiments={PRISM_NO_SPLIT}" not in flags:
        return flags + [f"--experiments={PRISM_NO_SPLIT}"]
    return flags


def flink_safe(flags: list[str]) -> list[str]:
    """Beam flags with the options a live job needs on Beam's Flink runner (flink.LIVE_JOB_FLAGS:
    bundles finished before checkpoints, short bundles) when the runner is Flink."""
    return flink.live_job_flags(flags) if named_runner(flags) == "FlinkRunner" else flags


JOB = {"started": False}  # whether this process started a job (see exit_now)
TERMINAL = {PipelineState.DONE, PipelineState.FAILED, PipelineState.CANCELLED,
            PipelineState.DRAINED, PipelineState.STOPPED}


def stream_help() -> str:
    """`vigie stream --help`."""
    parser = argparse.ArgumentParser(
        prog="vigie stream", usage="vigie stream --source kafka://HOST:PORT/TOPIC[,TOPIC] | dir:PATH --out DIR [flags]",
        description="Live detection: the analysis of `vigie replay` as a streaming job on Prism "
                    "(default) or Flink (--runner FlinkRunner --flink_master HOST:PORT ...).")
    VigieOptions._add_argparse_args(parser)
    return parser.format_help()


def log(event: str, **fields) -> None:
    """One structured log line (JSON) on stderr."""
    record = {"ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "event": event, **fields}
    print(json.dumps(record, default=str), file=sys.stderr, flush=True)


def parse_source(values: argparse.Namespace) -> ks.KafkaAddress | str:
    """--source -> a KafkaAddress or a folder path; VigieError when missing or malformed."""
    text = values.source
    if not text:
        raise VigieError("stream needs --source kafka://HOST:PORT/TOPIC[,TOPIC] or --source dir:PATH")
    if text.startswith("dir:"):
        folder = text[len("dir:"):]
        if not folder or not Path(folder).is_dir():
            raise VigieError(f"--source {text}: {folder or '(empty)'} is not a folder")
        return folder
    return ks.parse_source(text)


def check_kafka(address: ks.KafkaAddress, timeout_s: float = 10.0) -> dict[str, int]:
    """The topics' partition counts; VigieError (one line) when the broker does not answer or a
    topic does not exist."""
    kafka = kafka_topics._kafka()
    admin = kafka.admin.AdminClient({"bootstrap.servers": address.bootstrap, "log_level": 0})
    try:
        topics = admin.list_topics(timeout=timeout_s).topics
    except kafka.KafkaException as error:
        raise VigieError(f"Kafka at {address.bootstrap} does not answer ({error.args[0].str()}); "
                         "is the broker running and reachable? (make kafka-start)") from None
    missing = [t for t in address.topics if t not in topics]
    if missing:
        raise VigieError(f"topic(s) {', '.join(missing)} do not exist on {address.bootstrap}; create "
                         "them (or ship to them: vigie ship FILES --to kafka://HOST:PORT)")
    return {t: len(topics[t].partitions) for t in address.topics}


def check_expansion(address: str) -> None:
    """VigieError when nothing listens at the expansion service's address."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not process.port_in_use(int(port), host or "127.0.0.1"):
        raise VigieError(f"Beam's Java expansion service does not answer at {address}; start it "
                         "(make beam-java-start) or name it with --expansion-service HOST:PORT")


def analysis_settings(values: argparse.Namespace, timezone: str) -> AnalysisSettings:
    """The analysis of `vigie replay`, with the stream's event-time delays: impossible travel
    judged the out-of-orderness after a login; incidents released on a grid, and correlation
    windows judged, a stitching gap + the out-of-orderness behind the watermark (signals of
    stitched mail come a session gap after their time)."""
    detections = None if values.no_detect else compile_rules(values.rules)
    ruleset = detections.ruleset if detections else None
    enricher = None if values.no_enrich else build_enricher(
        values.geoip_city_db, values.geoip_asn_db, values.threat_lists, values.inventory)
    delay = values.out_of_order_seconds
    travel = (TravelSettings(values.travel_max_speed_kmh, values.travel_gap_hours, delay)
              if enricher is not None and ruleset is not None else None)
    incidents = (IncidentSettings(release_seconds=values.release_seconds,
                                  hold_seconds=int(values.stitch_gap_seconds + delay))
                 if ruleset is not None else None)
    return AnalysisSettings(
        read=ReadSettings(batch_bytes=values.batch_bytes, max_line_bytes=values.max_line_bytes,
                          timezone=timezone),
        stitch_gap_seconds=values.stitch_gap_seconds, ruleset=ruleset, enricher=enricher,
        travel=travel, incidents=incidents,
        correlations=detections.correlations if detections else None,
        allowed_lateness_seconds=values.stitch_gap_seconds + delay)


def rewind_ms(values: argparse.Namespace) -> int:
    """How much event time a restart reads again (see --rewind-minutes)."""
    if values.rewind_minutes is not None:
        return int(values.rewind_minutes * 60_000)
    return int((values.stitch_gap_seconds + values.travel_gap_hours * 3600 + values.out_of_order_seconds) * 1000)


class Lock:
    """STATE/job.pid: one live job per output folder (a dead job's lock is taken over)."""

    def __init__(self, folder: Path, out: str):
        self.path = folder / "job.pid"
        self.out = out

    def take(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            try:
                pid = int(self.path.read_text().strip())
                os.kill(pid, 0)
                if pid != os.getpid():
                    raise VigieError(f"another vigie stream (pid {pid}) writes to {self.out}; "
                                     "stop it first or choose another --out")
            except (ValueError, ProcessLookupError):
                pass
        self.path.write_text(f"{os.getpid()}\n")

    def release(self) -> None:
        try:
            if self.path.read_text().strip() == str(os.getpid()):
                self.path.unlink()
        except OSError:
            pass


class Monitor:
    """Watches the running job: status lines, lag, outages, idleness, handoff."""

    def __init__(self, result, out: Path | str, source, values: argparse.Namespace, destinations: list,
                 es_url: str | None, say: Callable[[str], None], flink_rest: str | None = None,
                 settle_ms: int | None = None, state: Path | None = None):
        self.result, self.out, self.source, self.values = result, out, source, values
        self.state = state or Path(out) / STATE_DIR
        # The handoff's ledger and its dead letters: in the output, or beside the state when
        # the output is on an object store (they are appended to).
        self.handoff_dir = self.state if storage.is_remote(out) else Path(out)
        self.flink_rest, self.settle_ms = flink_rest, settle_ms
        self.last_live: tuple[RunCounts | None, dict] | None = None
        self.destinations, self.es_url, self.say = destinations, es_url, say
        self.kafka_down_since: float | None = None
        self.index_dead = 0
        self.last_fields: dict | None = None
        self.quiet_since = time.monotonic()
        self.started = time.monotonic()

    def lag(self) -> int | None:
        """Records not yet committed by the group, over every topic (None: unknown)."""
        if not isinstance(self.source, KafkaSource):
            return None
        address = self.source.address
        try:
            total = 0
            for topic in address.topics:
                ends = kafka_topics.end_offsets(address.bootstrap, topic, timeout_s=5)
                done = kafka_topics.committed_offsets(address.bootstrap, self.source.group, topic, timeout_s=5)
                total += sum(max(0, end - done.get(p, 0)) for p, end in ends.items())
        except (VigieError, Exception) as error:  # noqa: BLE001 - an outage, reported once
            if self.kafka_down_since is None:
                self.kafka_down_since = time.monotonic()
                log("kafka_unreachable", bootstrap=address.bootstrap, detail=str(error)[:200],
                    note="the job keeps running and reads on when the broker is back")
            return None
        if self.kafka_down_since is not None:
            log("kafka_back", bootstrap=address.bootstrap,
                after_s=round(time.monotonic() - self.kafka_down_since, 1))
            self.kafka_down_since = None
        return total

    def incidents(self) -> list[dict]:
        try:
            return read_incidents(incidents_path(self.out))
        except (OSError, ValueError):
            return []

    def tick(self) -> dict:
        """One status: log line, status.json, handoff; returns the fields."""
        state = job_state(self.result)
        counts, values = live_counts(self.result, self.flink_rest)
        if values:
            self.last_live = (counts, values)
        elif self.last_live is not None:  # a cancelled job's metrics are gone (Flink's REST API)
            counts, values = self.last_live
        fields = status_fields(counts, values)
        lag = self.lag()
        records = self.incidents()
        fields.update({"state": str(state), "lag": lag,
                       "incidents": sum(1 for r in records if r.get("incident.status") != "merged"),
                       # moves with every revision written, so idleness waits for the last one
                       "incident_revisions": sum(int(r.get("incident.revision") or 0) for r in records),
                       "uptime_s": round(time.monotonic() - self.started)})
        dead = fields.get("documents_dead_lettered", 0)
        if dead > self.index_dead:
            log("elasticsearch_failing", url=self.es_url, documents_dead_lettered=dead,
                note=f"the job keeps running; documents wait in {self.out}/deadletter: run "
                     f"`vigie es backfill {self.out} --es-url {self.es_url} --only-dead-letters` when it is back")
            self.index_dead = dead
        moved = {k: v for k, v in fields.items() if k not in ("uptime_s", "state", "lag")}
        if moved != self.last_fields:
            self.quiet_since = time.monotonic()
            self.last_fields = moved
        if self.destinations and records:
            live = [r for r in records if r.get("incident.status") != "merged"]
            handed = deliver_incidents(live, self.handoff_dir, self.destinations, policy=retry_policy(self.values),
                                       say=lambda m: log("handoff", detail=m))
            fields["handoff_delivered"] = sum(handed.delivered.values())
        log("status", **fields)
        status_dir = self.state
        status_dir.mkdir(parents=True, exist_ok=True)
        (status_dir / "status.tmp").write_text(json.dumps(fields, indent=2, default=str) + "\n")
        os.replace(status_dir / "status.tmp", status_dir / "status.json")
        return fields

    def idle(self, fields: dict) -> bool:
        """Everything read and nothing moving for --stop-when-idle seconds."""
        wait = self.values.stop_when_idle
        if not wait:
            return False
        caught_up = fields.get("lag") == 0 or not isinstance(self.source, KafkaSource)
        settled = fields.get("settled_ms", -1) >= fields.get("latest_ms", 0)
        if caught_up and settled and self.flink_rest:
            settled = self.flink_settled(fields.get("latest_ms", 0))
        return caught_up and settled and time.monotonic() - self.quiet_since >= wait

    def flink_settled(self, latest_ms: int) -> bool:
        """On a Flink cluster the settled-time gauge only tells that its own step's watermark
        passed; every operator's input watermark, chained operators included, must be past the
        latest line's time + the longest wait of a stateful step (`settle_ms`) before every
        timer has fired. An operator with no watermark yet is not settled: a stage whose timers
        keep firing holds every downstream watermark where it was (Long.MIN_VALUE at first)
        until no due timer is left."""
        job_id = getattr(self.result, "_job_id", None)
        flink_job = flink.running_job(self.flink_rest, job_id) if job_id else None
        if flink_job is None or self.settle_ms is None:
            return False
        return flink.watermarks_past(flink.input_watermarks(self.flink_rest, flink_job),
                                     latest_ms + self.settle_ms)


def run_stream(argv: list[str], say: Callable[[str], None] = print) -> int:
    """Check everything, start the job, watch it until it ends or is stopped; exit status."""
    values = vigie_options(argv, "stream")
    flags = flink_safe(prism_safe(with_stream_runner(
        argv, lambda: prism.prism_options(streaming=True) + ["--prism_log_level=warn"])))
    if not values.out:
        raise VigieError("stream needs --out DIR (where events/, signals/, incidents/ and deadletter/ go)")
    where = parse_source(values)
    timezone = _checked_timezone(values.timezone)
    options = PipelineOptions(flags)
    storage.configure(options)  # --beam_plugins filesystems, before --out is looked at
    out, state = output_places(values.out)
    analysis = analysis_settings(values, timezone)
    destinations = destinations_from(values)
    if destinations:
        retry_policy(values)
    es = es_cluster.settings_from_options(values)
    if isinstance(where, ks.KafkaAddress):
        formats = ks.TopicFormats.from_flags(values.topic_formats)
        partitions = check_kafka(where)
        service = values.expansion_service or expansion.address()
        check_expansion(service)
        source: KafkaSource | FolderSource = KafkaSource(where, values.group, service, formats)
    else:
        partitions = {}
        source = FolderSource(where, values.watch_seconds, timezone, values.log_format)
    es_notes = es_cluster.prepare_cluster(es, lambda m: log("elasticsearch", detail=m)) if es else []
    lock = Lock(state, str(out))
    lock.take()
    try:
        earlier = resume.earlier_revisions(_all_revisions(out))
        written = None
        if isinstance(source, KafkaSource):
            report = resume.rewind_group(where.bootstrap, values.group, list(where.topics), rewind_ms(values))
            written = resume.written_ids(out, where.topics, resume.start_offsets(report))
            if report.committed:
                log("resume", group=values.group, records_read_again=report.records,
                    since=iso_time(report.since_ms), partitions={f"{t}/{p}": [o, n] for (t, p), (o, n) in report.moved.items()})
            if written:
                log("already_written", events=len(written.events), dead_letters=len(written.dead_letters),
                    note="rows earlier runs wrote from the records read again: left out of the Parquet files")
        runner = options.get_all_options()["runner"]
        log("start", source=values.source, out=str(out), state=str(state), runner=runner, group=values.group
            if isinstance(source, KafkaSource) else None, partitions=partitions,
            out_of_order_seconds=values.out_of_order_seconds, es=es.public() if es else None,
            es_notes=es_notes, earlier_incidents=len(earlier))
        JOB["started"] = True
        windows = SignalWindows(values.window_seconds, int(values.late_signal_hours * 3600))
        result = start_stream(options, source, analysis, str(out), es, windows, earlier, written)
        return watch(result, out, source, values, destinations, es.url if es else None, say,
                     flink_rest_url(options), settle_ms(analysis, windows), state)
    finally:
        lock.release()


def output_places(out: str) -> tuple[Path | str, Path]:
    """--out -> (where the job writes, the local folder of the command's own state: its lock,
    status.json and the handoff's ledger). A local --out keeps its state in DIR/stream; an
    --out on an object store (written by the workers, one object per write) keeps it in
    Vigie's cache folder (~/.cache/vigie/stream/, $VIGIE_CACHE_DIR), in a folder named after
    the --out."""
    if storage.is_remote(out):
        name = hashlib.blake2b(out.rstrip("/").encode(), digest_size=6).hexdigest()
        if storage.exists(out.rstrip("/")):
            raise VigieError(f"--out {out} is a file, not a folder")
        return out.rstrip("/"), cache_root() / "stream" / name
    folder = Path(storage.local(out)).resolve()
    if folder.exists() and not folder.is_dir():
        raise VigieError(f"--out {out} exists and is not a folder")
    return folder, folder / STATE_DIR


def _all_revisions(out: Path | str) -> list[dict]:
    """Every incident record earlier runs wrote (all revisions)."""
    path = incidents_path(out)
    if not storage.is_remote(path) and not Path(path).exists():
        return []
    records = []
    for _, line in incident_lines(path):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "incident.id" in record:
            records.append(record)
    return records


def watch(result, out: Path | str, source, values: argparse.Namespace, destinations: list,
          es_url: str | None, say: Callable[[str], None], flink_rest: str | None = None,
          settle: int | None = None, state: Path | None = None) -> int:
    """Follow the running job (see the module docstring); the exit status."""
    stop = {"signal": None}

    def on_signal(number, _frame):
        stop["signal"] = signal.Signals(number).name

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    monitor = Monitor(result, out, source, values, destinations, es_url, say, flink_rest, settle, state)
    try:
        next_status = time.monotonic()
        while True:
            state = job_state(result)
            if state in TERMINAL or state == PipelineState.UNKNOWN:
                break
            if stop["signal"]:
                log("stopping", reason=stop["signal"], note="the job is cancelled; a restart resumes "
                    "from the consumer group (rewound to rebuild its state)")
                break
            if time.monotonic() >= next_status:
                fields = monitor.tick()
                next_status = time.monotonic() + values.status_seconds
                if monitor.idle(fields):
                    log("stopping", reason="idle", idle_s=values.stop_when_idle)
                    break
            time.sleep(0.5)
        state = job_state(result)
        if state not in TERMINAL:
            quiet_shutdown()
            try:
                result.cancel()
            except Exception as error:  # noqa: BLE001 - cancelling a job that just ended
                log("cancel_failed", detail=str(error)[:200])
            cancel_on_cluster(result, flink_rest)
            _wait_terminal(result, 60)
        fields = monitor.tick()
        if job_state(result) == PipelineState.FAILED:
            raise VigieError("the streaming job failed (see the runner's log; set VIGIE_DEBUG=1 "
                             "for Beam's messages)", exit_code=1)
        if state == PipelineState.UNKNOWN and not stop["signal"]:
            raise VigieError("Beam's job service stopped answering while the job ran (was its "
                             "process killed?); the job was cancelled where the runner allows it",
                             exit_code=1)
        log("stopped", **fields)
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def job_state(result) -> PipelineState:
    """The job's state; UNKNOWN when the runner's job service no longer answers (a Ctrl-C in
    a terminal also reaches the job server the SDK started, in the same process group)."""
    try:
        return result.state
    except Exception:  # noqa: BLE001 - gRPC errors of a job service that is gone
        return PipelineState.UNKNOWN


def cancel_on_cluster(result, flink_rest: str | None) -> None:
    """A job on a Flink cluster is cancelled there too (Beam's job server only stops watching
    it); a failure is logged, the command still stops."""
    job_id = getattr(result, "_job_id", None)
    if not flink_rest or job_id is None:
        return
    try:
        if flink.cancel_job(flink_rest, job_id):
            log("cancelled", flink=flink_rest, job=job_id)
    except VigieError as error:
        log("cancel_failed", detail=str(error)[:300])


def quiet_shutdown() -> None:
    """From here on, the job's in-process workers fail their last bundles as it is cancelled:
    Beam's and Prism's reports of it are noise, not news (the command's own lines are printed,
    not logged)."""
    logging.getLogger().setLevel(logging.CRITICAL)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.CRITICAL)
    threading.excepthook = lambda args: None


def _wait_terminal(result, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and job_state(result) not in (*TERMINAL, PipelineState.UNKNOWN):
        time.sleep(0.5)


def main(argv: list[str]) -> int:
    """`vigie stream` (see the module docstring)."""
    if "--help" in argv or "-h" in argv:
        print(stream_help())
        return 0
    inputs, flags = split_argv(argv, "stream")
    if inputs:
        raise VigieError(f"stream takes no input files ({inputs[0]}): name the source with --source")
    try:
        code = run_stream(flags, say=lambda m: print(m, file=sys.stderr))
    except VigieError as error:
        if not JOB["started"]:
            raise
        print(f"vigie: {error}", file=sys.stderr)
        code = error.exit_code
    if JOB["started"]:
        exit_now(code)
    return code


def exit_now(code: int) -> None:
    """End the process once a job ran in it: the job is cancelled and every output it wrote is
    whole (files are replaced atomically, incident lines appended whole), but the gRPC servers
    and threads Beam leaves behind (LOOPBACK worker pool, Prism's channels) can make the
    interpreter's own shutdown abort ("terminate called without an active exception", status
    -6), which would turn a clean stop into a crash. The exit handlers still run first: Beam's
    stops the Prism process it started (skipping them left Prism running)."""
    try:
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
