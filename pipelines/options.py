"""VigieOptions: every runtime flag of Vigie's pipelines, documented, in one place.

The `vigie` command line builds its parsers from this class, and Beam workers receive the same
options, so a flag is declared once. Beam's own flags (--runner, --direct_num_workers, ...) pass
through untouched.
"""
from __future__ import annotations

import argparse
import functools
import os

from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.errors import VigieError


class VigieOptions(PipelineOptions):
    """Flags of `vigie replay` and `vigie stream`."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        add_elasticsearch_flags(parser)
        parser.add_argument("--out", help="Output folder: events/, deadletter/, summary.json.")
        parser.add_argument("--format", dest="log_format", default=None,
                            help="Force one log format for every input (e.g. apache_combined, "
                                 "postfix, fortigate) instead of detecting it per file.")
        parser.add_argument("--timezone", default="UTC",
                            help="IANA zone of timestamps written without an offset (syslog, "
                                 "Exim), e.g. Europe/Paris. Default: UTC.")
        parser.add_argument("--reference-time", dest="reference_time", default=None,
                            help="ISO time near the end of the logs, used to infer the year of "
                                 "syslog timestamps. Default: each file's modification time.")
        parser.add_argument("--split-bytes", dest="split_bytes", type=int, default=64 * 1024 * 1024,
                            help="Plain files larger than this are read as parallel byte ranges.")
        parser.add_argument("--batch-bytes", dest="batch_bytes", type=int, default=8 * 1024 * 1024,
                            help="Bytes of log read into one Arrow batch.")
        parser.add_argument("--max-line-bytes", dest="max_line_bytes", type=int, default=64 * 1024,
                            help="Longer lines are dead-lettered instead of parsed.")
        parser.add_argument("--rules", action="append", default=None,
                            help="Sigma rule file or folder (repeatable). Default: the rules "
                                 "shipped in detections/.")
        parser.add_argument("--no-detect", dest="no_detect", action="store_true",
                            help="Only ingest: evaluate no Sigma rule.")
        parser.add_argument("--stitch-gap-seconds", dest="stitch_gap_seconds", type=int, default=3600,
                            help="Lines of one mail message further apart than this (event time) "
                                 "are stitched into separate events.")
        # Enrichment (pipelines/enrichment/, README "Enrichment").
        parser.add_argument("--no-enrich", dest="no_enrich", action="store_true",
                            help="Leave the geo, ASN, threat-list and inventory fields empty.")
        parser.add_argument("--geoip-city-db", dest="geoip_city_db", default=None,
                            help="MaxMind DB file for countries, cities and coordinates "
                                 "(GeoLite2-City/-Country, DB-IP City/Country Lite). Default: "
                                 "countries only, from the offline iptocc data.")
        parser.add_argument("--geoip-asn-db", dest="geoip_asn_db", default=None,
                            help="MaxMind DB file for AS numbers and organisations (GeoLite2-ASN, "
                                 "DB-IP ASN Lite).")
        parser.add_argument("--threat-list", dest="threat_lists", action="append", default=None,
                            help="File of addresses/CIDR blocks, one a line, as PATH (named after "
                                 "the file) or NAME=PATH (repeatable); matches go to vigie.threat.lists.")
        parser.add_argument("--inventory", action="append", default=None,
                            help="The hospital's inventory (YAML, or CSV of accounts or assets; "
                                 "repeatable): roles, admin/service/disabled accounts, asset "
                                 "criticality, usual countries.")
        parser.add_argument("--travel-max-speed-kmh", dest="travel_max_speed_kmh", type=float,
                            default=900.0,
                            help="Impossible travel: faster than this between two VPN logins of "
                                 "one account raises a signal.")
        parser.add_argument("--travel-gap-hours", dest="travel_gap_hours", type=float, default=24.0,
                            help="Impossible travel: logins of one account further apart than "
                                 "this (event time) are not compared.")
        # Incident handoff (pipelines/sinks/handoff/; the same flags as `vigie incidents send`).
        from pipelines.sinks.handoff.settings import add_arguments as add_handoff_flags
        add_handoff_flags(parser)
        add_stream_flags(parser)


def add_stream_flags(parser) -> None:
    """`vigie stream`'s own flags (docs/live-detection.md)."""
    g = parser.add_argument_group("live detection (vigie stream)")
    g.add_argument("--source", default=None,
                   help="kafka://HOST:PORT/TOPIC[,TOPIC] (one topic per log format, or the record "
                        "header vigie.format) or dir:PATH (a folder watched for new files).")
    g.add_argument("--group", default="vigie-stream",
                   help="Kafka consumer group: its committed offsets are where a restarted job "
                        "resumes (after rewinding --rewind-minutes).")
    g.add_argument("--topic-format", dest="topic_formats", action="append", default=None,
                   help="TOPIC=FORMAT: the format of a topic's lines when neither the topic's "
                        "name nor a vigie.format header says it (repeatable).")
    g.add_argument("--expansion-service", dest="expansion_service", default=None,
                   help="HOST:PORT of Beam's Java expansion service for Kafka IO. Default: "
                        "127.0.0.1:$VIGIE_EXPANSION_PORT (8097), started by make beam-java-start.")
    g.add_argument("--out-of-order-seconds", dest="out_of_order_seconds", type=float, default=30.0,
                   help="Bounded out-of-orderness: how far (event time) a line may come behind "
                        "the latest line of its partition and still count as on time; every "
                        "stateful step waits this much more before it settles.")
    g.add_argument("--window-seconds", dest="window_seconds", type=int, default=300,
                   help="Signals are written to Parquet per event-time window of this length.")
    g.add_argument("--late-signal-hours", dest="late_signal_hours", type=float, default=24.0,
                   help="How long after its window closed a late signal is still merged into "
                        "the window's Parquet file (signals of stitched mail come a session gap "
                        "late).")
    g.add_argument("--release-seconds", dest="release_seconds", type=int, default=60,
                   help="Incidents: signals are released to assembly on this event-time grid.")
    g.add_argument("--rewind-minutes", dest="rewind_minutes", type=float, default=None,
                   help="On restart, read again this much event time before where the last run "
                        "stopped, to rebuild the state it held (default: the stitching gap + the "
                        "impossible-travel gap + the out-of-orderness).")
    g.add_argument("--status-seconds", dest="status_seconds", type=float, default=30.0,
                   help="Write the live counters (log line and OUT/stream/status.json) this often.")
    g.add_argument("--stop-when-idle", dest="stop_when_idle", type=float, default=None,
                   help="Stop (exit 0) once everything in Kafka was read and no counter moved "
                        "for this many seconds (catch-up runs, tests).")
    g.add_argument("--watch-seconds", dest="watch_seconds", type=float, default=5.0,
                   help="dir: sources: how often the folder is listed.")


def add_elasticsearch_flags(parser) -> None:
    """The Elasticsearch sink's flags (replay, stream and `vigie es` share them): where and how
    to connect, and how to send."""
    add_elasticsearch_connection_flags(parser, "Also index events and signals into this "
                                               "Elasticsearch (http(s)://HOST:PORT, no credentials in it).")
    parser.add_argument("--es-bulk-docs", dest="es_bulk_docs", type=int, default=1000,
                        help="At most this many documents per bulk request.")
    parser.add_argument("--es-bulk-bytes", dest="es_bulk_bytes", type=int, default=5 * 1024 * 1024,
                        help="At most about this many bytes per bulk request.")
    parser.add_argument("--es-concurrency", dest="es_concurrency", type=int, default=4,
                        help="Bulk requests in flight at once (per indexing step).")
    parser.add_argument("--es-retry-seconds", dest="es_retry_seconds", type=float, default=120.0,
                        help="How long a document may wait for retries (429, 5xx, connection "
                             "errors) before it is dead-lettered.")


def add_elasticsearch_connection_flags(parser, url_help: str) -> None:
    """Where the cluster is and how to authenticate (the sink, `vigie es` and `vigie hunt`).
    Secrets are never flags: $VIGIE_ES_API_KEY / $VIGIE_ES_PASSWORD or the files named below."""
    parser.add_argument("--es-url", dest="es_url", default=None, help=url_help)
    parser.add_argument("--es-api-key-file", dest="es_api_key_file", default=None,
                        help="File holding an API key (base64 id:key). Default: $VIGIE_ES_API_KEY.")
    parser.add_argument("--es-user", dest="es_user", default=None,
                        help="User for basic authentication; the password comes from "
                             "$VIGIE_ES_PASSWORD or --es-password-file.")
    parser.add_argument("--es-password-file", dest="es_password_file", default=None,
                        help="File holding the password of --es-user.")
    parser.add_argument("--es-ca-file", dest="es_ca_file", default=None,
                        help="PEM file of the CA that signed the cluster's HTTPS certificate.")


# ---------------------------------------------------------------------------------------------
# Command lines: splitting, checking, the default runner
# ---------------------------------------------------------------------------------------------

# FnApiRunner's mode when the user names no runner (see with_default_runner and the README).
RUNNING_MODE = "in_memory"
# Runners Beam's Python SDK can run here or submit to (the name given to --runner).
KNOWN_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner",
                 "PrismRunner", "PortableRunner", "FlinkRunner", "SparkRunner", "DataflowRunner",
                 "InteractiveRunner")
POSITIVE = ("split_bytes", "batch_bytes", "max_line_bytes", "stitch_gap_seconds",
            "travel_max_speed_kmh", "travel_gap_hours", "es_bulk_docs", "es_bulk_bytes",
            "es_concurrency", "es_retry_seconds", "handoff_timeout", "window_seconds",
            "late_signal_hours", "release_seconds", "status_seconds", "stop_when_idle",
            "watch_seconds")
NOT_NEGATIVE = ("out_of_order_seconds", "rewind_minutes")
# Runners that can run a live (unbounded) job; `vigie stream` uses Prism when none is named.
STREAM_RUNNERS = ("PrismRunner", "FlinkRunner", "PortableRunner", "DataflowRunner", "SparkRunner")


class CommandParser(argparse.ArgumentParser):
    """argparse whose usage errors become VigieError (one line `vigie: <command>: ...`, exit 2)
    instead of a usage block; every `vigie` command parses with it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise VigieError(f"{self.prog.removeprefix('vigie ')}: {message} (see `{self.prog} --help`)")


@functools.lru_cache(maxsize=None)
def pipeline_flags() -> dict[str, bool]:
    """Every flag of Beam's PipelineOptions subclasses, VigieOptions included -> takes a value."""
    parser = argparse.ArgumentParser(add_help=False)

    def add(cls):
        for sub in cls.__subclasses__():
            try:
                sub._add_argparse_args(parser)
            except argparse.ArgumentError:
                pass  # a flag declared by two option classes
            add(sub)
    add(PipelineOptions)
    return {opt: action.nargs != 0 for action in parser._actions for opt in action.option_strings}


# The Java options of Beam's Flink runner (FlinkPipelineOptions of beam-runners-flink-1.19
# 2.62.0, the job server pipelines/services/flink.py builds): Beam's Python FlinkRunner knows
# none of them beforehand; it asks the job server for them when it submits a job. Name -> takes
# a value (the runner's boolean options are bare switches).
FLINK_FLAGS: dict[str, bool] = {f"--{name}": True for name in (
    "max_parallelism", "checkpointing_interval", "checkpointing_mode",
    "checkpoint_timeout_millis", "min_pause_between_checkpoints", "num_concurrent_checkpoints",
    "shutdown_sources_after_idle_ms", "number_of_execution_retries", "job_check_interval_in_secs",
    "execution_retry_delay", "state_backend_factory", "state_backend", "state_backend_storage_path",
    "max_bundle_size", "max_bundle_time_mills", "latency_tracking_interval",
    "auto_watermark_interval", "execution_mode_for_batch", "savepoint_path",
    "report_checkpoint_duration", "flink_conf_dir", "file_input_split_max_size_m_b")} | {
    f"--{name}": False for name in (
    "fail_on_checkpointing_errors", "finish_bundle_before_checkpointing",
    "unaligned_checkpoint_enabled", "force_unaligned_checkpoint_enabled", "attached_mode",
    "object_reuse", "operator_chaining", "disable_metrics", "externalized_checkpoints_enabled",
    "retain_externalized_checkpoints_on_cancellation", "allow_non_restored_state",
    "auto_balance_write_files_sharding_enabled", "re_iterable_group_by_key_result",
    "faster_copy", "enable_stable_input_drain")}


def named_runner(words: list[str]) -> str | None:
    """The runner `words` name with --runner (`FlinkRunner` for `Flink`), else None."""
    for i, word in enumerate(words):
        if word.startswith("--runner="):
            value = word.split("=", 1)[1]
        elif word == "--runner" and i + 1 < len(words):
            value = words[i + 1]
        else:
            continue
        return value.removesuffix("Runner") + "Runner"
    return None


def split_argv(words: list[str], command: str) -> tuple[list[str], list[str]]:
    """Command-line words -> (inputs, flags); an unknown flag is refused in one line. With
    --runner FlinkRunner the Flink runner's own options (FLINK_FLAGS) are flags too."""
    known = pipeline_flags()
    if named_runner(words) == "FlinkRunner":
        known = {**FLINK_FLAGS, **known}
    inputs, flags, i = [], [], 0
    while i < len(words):
        arg = words[i]
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            if name not in known:
                raise VigieError(f"unknown flag {name} (see `vigie {command} --help`)")
            flags.append(arg)
            if "=" not in arg and known[name]:
                if i + 1 >= len(words):
                    raise VigieError(f"{name} needs a value (see `vigie {command} --help`)")
                flags.append(words[i + 1])
                i += 1
        else:
            inputs.append(arg)
        i += 1
    return inputs, flags


def vigie_options(flags: list[str], command: str) -> argparse.Namespace:
    """Vigie's own flags of `flags` parsed and checked (Beam's are left to Beam): a wrong type
    or a value out of range is one line naming the flag, before anything is touched."""
    parser = CommandParser(prog=f"vigie {command}", add_help=False)
    VigieOptions._add_argparse_args(parser)
    values, _ = parser.parse_known_args(flags)
    for name in POSITIVE:
        if getattr(values, name) is not None and getattr(values, name) <= 0:
            raise VigieError(f"--{name.replace('_', '-')} must be a positive number, "
                             f"not {getattr(values, name):g}")
    for name in NOT_NEGATIVE:
        if getattr(values, name) is not None and getattr(values, name) < 0:
            raise VigieError(f"--{name.replace('_', '-')} cannot be negative, not {getattr(values, name):g}")
    return values


def _flag_values(flags: list[str]) -> dict[str, str]:
    """`--name=value` and `--name value` Beam flags -> {"--name": "value"}."""
    values = {}
    for i, arg in enumerate(flags):
        if arg.startswith("--"):
            name, _, value = arg.partition("=")
            values[name] = value if "=" in arg else (flags[i + 1] if i + 1 < len(flags) else "")
    return values


def with_stream_runner(argv: list[str], default_runner_flags) -> list[str]:
    """Beam flags for a live job: --streaming, and a runner that runs unbounded sources (the
    batch runners cannot). `default_runner_flags()` gives Prism's flags when none is named."""
    flags = list(argv)
    runner = _flag_values(flags).get("--runner")
    if runner is None:
        flags += [f for f in default_runner_flags() if f != "--streaming"]
    elif runner.removesuffix("Runner") + "Runner" not in STREAM_RUNNERS:
        raise VigieError(f"--runner {runner} cannot run a live job (it reads unbounded sources in "
                         f"batch); use one of {', '.join(STREAM_RUNNERS[:2])} (default PrismRunner)")
    if "--streaming" not in flags:
        flags.append("--streaming")
    return flags


# Inputs at least this large are replayed on every core by default (see with_default_runner).
PARALLEL_FROM_BYTES = 256 * 1024 * 1024


def with_default_runner(argv: list[str], input_bytes: int = 0) -> list[str]:
    """Beam flags with an explicit runner unless one is given: Beam's FnApiRunner, `in_memory`
    for inputs under PARALLEL_FROM_BYTES (starting worker processes costs seconds), else
    `multi_processing` with one worker per core (README, "Runner", has the figures).

    Refuses a runner Beam does not know, and `--direct_running_mode=multi_threading`: with it,
    Beam 2.75's FnApiRunner corrupts the data of grouping steps when bundles run in parallel
    (seen here as lost lines, process crashes and runaway memory), which would break Vigie's
    promise that no line is lost.
    """
    flags = list(argv)
    values = _flag_values(flags)
    if values.get("--direct_running_mode") == "multi_threading":
        raise VigieError("--direct_running_mode=multi_threading is refused: Beam's FnApiRunner "
                         "loses grouped data in that mode; use in_memory or multi_processing")
    runner = values.get("--runner")
    if runner is not None and runner.removesuffix("Runner") + "Runner" not in KNOWN_RUNNERS:
        raise VigieError(f"unknown --runner {runner!r}; use one of " + ", ".join(KNOWN_RUNNERS[:7]))
    if runner is None:
        flags.append("--runner=FnApiRunner")
        if "--direct_running_mode" not in values:
            parallel = input_bytes >= PARALLEL_FROM_BYTES and (os.cpu_count() or 1) > 1
            flags.append(f"--direct_running_mode={'multi_processing' if parallel else RUNNING_MODE}")
            if parallel and "--direct_num_workers" not in values:
                flags.append(f"--direct_num_workers={os.cpu_count()}")
    return flags
