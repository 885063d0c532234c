"""Batch replay of archived logs: plan -> Beam pipeline -> Parquet + summary.json (wiring only).

`run_replay(inputs, argv)` validates the output folder, compiles the Sigma rules, plans the
input slices, builds and runs the pipeline (ParseLogs -> StitchMessages -> WriteEvents ->
DetectSigma -> WriteSignals, WriteDeadLetters, CountLines), then writes DIR/summary.json, whose
per-dataset counts must balance:
lines_read == lines_in_events + lines_dead_lettered + lines_skipped.
With --es-url, the cluster is checked and the templates installed before the output folder is
touched, events and signals are also indexed (IndexEvents / IndexSignals), and
events + signals == documents_sent == documents_indexed + documents_dead_lettered.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.detection.engine import RuleSet
from pipelines.detection.loader import load_rules
from pipelines.errors import VigieError
from pipelines.sources.ingest import ReadSettings
from pipelines.options import VigieOptions
from pipelines.sources.plan import plan_inputs
from pipelines.schema import FAMILIES
from pipelines.resources import data_dir
from pipelines.sinks.parquet import (DEAD_LETTER_DIR, EVENTS_DIR, SIGNALS_DIR, write_dead_letters,
                                     write_events, write_signals)
from pipelines.transforms.detect import DetectSigma
from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks import es_cluster
from pipelines.transforms.index import IndexDocuments
from pipelines.transforms.enrich import DetectImpossibleTravel, EnrichEvents
from pipelines.enrichment.enrich import Enricher, build_enricher
from pipelines.correlation.travel import TRAVEL_RULE
from pipelines.transforms.ingest import (COUNTS, DEAD_LETTERS, EVENTS, FRAGMENTS, CountLines,
                                         ParseLogs, StitchMessages, WriteTablesFn)

COUNTERS = ("lines_read", "lines_in_events", "lines_dead_lettered", "lines_skipped",
            "events", "dead_letters", "signals", "incidents")
OUTPUT_PARTS = (EVENTS_DIR, DEAD_LETTER_DIR, SIGNALS_DIR, "incidents", "summary.json", "_counts.json")
COUNTS_FILE = "_counts.json"
# FnApiRunner's mode when the user names no runner (see with_default_runner and the README).
RUNNING_MODE = "in_memory"


def prepare_output(out: str, inputs: list[str]) -> Path:
    """Create or clear the output folder; refuse one that holds something other than Vigie output."""
    folder = Path(out).resolve()
    for item in inputs:
        item_path = Path(item).resolve()
        if item_path.is_dir() and (folder == item_path or item_path in folder.parents):
            raise VigieError(f"--out {out} is inside the input folder {item}; choose another --out")
    if folder.exists() and not folder.is_dir():
        raise VigieError(f"--out {out} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / "summary.json").exists():
            raise VigieError(f"--out {out} is not empty and holds no earlier Vigie output; "
                             "choose an empty or new folder")
        for part in OUTPUT_PARTS:
            target = folder / part
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _checked_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise VigieError(f"unknown --timezone {name!r}; use an IANA name such as Europe/Paris or UTC") from None
    return name


def _checked_reference(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise VigieError(f"--reference-time {value!r} is not an ISO time (e.g. 2026-11-28T00:00:00+01:00)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def with_default_runner(argv: list[str]) -> list[str]:
    """Beam flags with an explicit runner (FnApiRunner, see RUNNING_MODE) unless one is given.

    Refuses `--direct_running_mode=multi_threading`: with it, Beam 2.75's FnApiRunner corrupts
    the data of grouping steps when bundles run in parallel (seen here as lost lines, process
    crashes and runaway memory), which would break Vigie's promise that no line is lost.
    """
    flags = list(argv)
    for i, arg in enumerate(flags):
        value = arg.split("=", 1)[1] if "=" in arg else (flags[i + 1] if i + 1 < len(flags) else "")
        if arg.split("=", 1)[0] == "--direct_running_mode" and value == "multi_threading":
            raise VigieError("--direct_running_mode=multi_threading is refused: Beam's FnApiRunner "
                             "loses grouped data in that mode; use in_memory or multi_processing")
    names = {a.split("=", 1)[0] for a in flags if a.startswith("--")}
    if "--runner" not in names:
        flags.append("--runner=FnApiRunner")
        if "--direct_running_mode" not in names:
            flags.append(f"--direct_running_mode={RUNNING_MODE}")
    return flags


def build_pipeline(pipeline: beam.Pipeline, slices, settings: ReadSettings, out: str,
                   stitch_gap_seconds: int, ruleset: RuleSet | None,
                   enricher: Enricher | None = None, travel: DetectImpossibleTravel | None = None,
                   es: es_cluster.EsSettings | None = None) -> None:
    """Wire the replay pipeline onto `pipeline` (no detection when `ruleset` is None, no
    enrichment when `enricher` is None, impossible travel only with both enrichment and `travel`;
    events and signals are also indexed into Elasticsearch when `es` is given)."""
    parsed = pipeline | "ParseLogs" >> ParseLogs(slices, settings)
    stitched = parsed[FRAGMENTS] | "StitchMessages" >> StitchMessages(stitch_gap_seconds)
    counts = [parsed[COUNTS],
              parsed[DEAD_LETTERS] | "WriteDeadLetters" >> beam.ParDo(WriteTablesFn(write_dead_letters, out))]
    # Parsed and stitched events go through two instances of the same steps rather than a
    # Flatten: that keeps each in the stage that produced it (a Flatten of two stages makes the
    # batch runner buffer every event table of the run before writing).
    for label, events in (("", parsed[EVENTS]), ("Stitched", stitched)):
        if enricher is not None:
            events = events | f"Enrich{label}Events" >> EnrichEvents(enricher)
            if travel is not None and not label:  # VPN logins are never stitched
                signals = events | "DetectImpossibleTravel" >> travel
                counts.append(signals | "WriteTravelSignals" >> beam.ParDo(WriteTablesFn(write_signals, out)))
                if es is not None:
                    counts.append(signals | "IndexTravelSignals" >> IndexDocuments(es, es_sink.SIGNALS, out))
        counts.append(events | f"Write{label}Events" >> beam.ParDo(WriteTablesFn(write_events, out)))
        if es is not None:
            counts.append(events | f"Index{label}Events" >> IndexDocuments(es, es_sink.EVENTS, out))
        if ruleset is not None:
            signals = events | f"Detect{label}Sigma" >> DetectSigma(ruleset)
            counts.append(signals | f"Write{label}Signals" >> beam.ParDo(WriteTablesFn(write_signals, out)))
            if es is not None:
                counts.append(signals | f"Index{label}Signals" >> IndexDocuments(es, es_sink.SIGNALS, out))
    tuple(counts) | "CountLines" >> CountLines(os.path.join(out, COUNTS_FILE))


def compile_rules(paths: list[str] | None) -> RuleSet:
    """The rules to evaluate: the given files/folders, or the shipped detections/."""
    return load_rules([Path(p) for p in paths] if paths else [data_dir("detections")])


def dataset_counts(rows: list[dict]) -> tuple[dict, dict, Counter]:
    """Counter rows of the pipeline -> (datasets section of summary.json, skipped reasons,
    signals per rule id)."""
    counts: dict[str, Counter] = {}
    skipped: dict[str, dict[str, int]] = {}
    per_rule: Counter = Counter()
    for row in rows:
        family, counter, value = row["family"], row["counter"], row["value"]
        if counter.startswith("skipped: "):
            skipped.setdefault(family, {})[counter[len("skipped: "):]] = value
        elif counter.startswith("rule: "):
            per_rule[counter[len("rule: "):]] += value
        else:
            counts.setdefault(family, Counter())[counter] += value
    families = list(FAMILIES) + sorted(f for f in counts if f not in FAMILIES)
    datasets = {f: {c: counts.get(f, Counter()).get(c, 0) for c in COUNTERS} for f in families}
    datasets["total"] = {c: sum(datasets[f][c] for f in families) for c in COUNTERS}
    return datasets, skipped, per_rule


def rules_section(ruleset: RuleSet | None, per_rule: Counter) -> dict:
    """summary.json's account of the rules: loaded, skipped with reasons, signals per rule."""
    if ruleset is None:
        return {"detection": "off (--no-detect)"}
    return {
        "loaded": len(ruleset.rules),
        "skipped": [{"path": str(s.path), "title": s.title, "reason": s.reason}
                    for s in ruleset.skipped if not s.deferred],
        "deferred": [{"path": str(s.path), "title": s.title, "reason": s.reason}
                     for s in ruleset.skipped if s.deferred],
        "signals_per_rule": {r.id: {"title": r.title, "level": r.level, "signals": per_rule.get(r.id, 0)}
                             for r in sorted(ruleset.rules, key=lambda r: (-per_rule.get(r.id, 0), r.title))},
    }


def unbalanced(datasets: dict) -> list[str]:
    """Names of the datasets whose line counts do not balance."""
    return [name for name, c in datasets.items()
            if c["lines_read"] != c["lines_in_events"] + c["lines_dead_lettered"] + c["lines_skipped"]]


def dead_letter_reasons(out: Path, top: int = 15) -> list[dict]:
    """The most frequent dead-letter reasons of a run, from DIR/deadletter/."""
    folder = out / DEAD_LETTER_DIR
    reasons: Counter = Counter()
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        for reason in pq.read_table(path, columns=["reason"])["reason"].to_pylist():
            reasons[reason] += 1
    return [{"reason": r, "count": n} for r, n in reasons.most_common(top)]


def run_replay(inputs: list[str], argv: list[str], say: Callable[[str], None] = print) -> dict:
    """Replay `inputs` with flags `argv` (Vigie's and Beam's); return the summary written."""
    flags = with_default_runner(argv)
    options = PipelineOptions(flags)
    vopts = options.view_as(VigieOptions)
    if not vopts.out:
        raise VigieError("replay needs --out DIR (where events/, deadletter/ and summary.json go)")
    for name in ("split_bytes", "batch_bytes", "max_line_bytes", "stitch_gap_seconds"):
        if getattr(vopts, name) <= 0:
            raise VigieError(f"--{name.replace('_', '-')} must be a positive number")
    timezone = _checked_timezone(vopts.timezone)
    reference = _checked_reference(vopts.reference_time)
    started = time.time()
    ruleset = None if vopts.no_detect else compile_rules(vopts.rules)
    enricher = None if vopts.no_enrich else build_enricher(
        vopts.geoip_city_db, vopts.geoip_asn_db, vopts.threat_lists, vopts.inventory)
    travel = None if enricher is None or ruleset is None else DetectImpossibleTravel(
        vopts.travel_max_speed_kmh, gap_hours=vopts.travel_gap_hours)
    # The cluster is checked (and the templates installed) before the output folder is touched:
    # an unreachable cluster leaves an earlier run's output as it was.
    es = es_cluster.settings_from_options(vopts)
    es_notes = es_cluster.prepare_cluster(es, say) if es else []
    out = prepare_output(vopts.out, inputs)
    plan = plan_inputs(inputs, vopts.log_format, vopts.split_bytes, reference)
    files, slices = plan.files, plan.slices
    planned = time.time()
    total_bytes = sum(f.size for f in files)
    say(f"vigie replay: {len(files)} file(s), {total_bytes / 1e6:.1f} MB, {len(slices)} slice(s)")
    for f in files:
        fmt = f.format_name or "NOT RECOGNISED (lines go to dead letters)"
        say(f"  {f.path}: {fmt} ({f.family})")
    if ruleset is not None:
        say(f"  {len(ruleset.rules)} Sigma rule(s) loaded" +
            "".join(f"\n  rule skipped: {s}" for s in ruleset.skipped if not s.deferred))
    if enricher is not None:
        say(f"  enrichment: {enricher.geo.description}" +
            "".join(f"\n  threat list {r.name}: {r.entries} entries, {r.bad_lines} bad line(s) ignored"
                    for r in enricher.list_reports) +
            (f"\n  inventory: {len(enricher.inventory.accounts)} account(s), "
             f"{len(enricher.inventory.assets)} asset(s)" if enricher.inventory else ""))
    settings = ReadSettings(batch_bytes=vopts.batch_bytes, max_line_bytes=vopts.max_line_bytes,
                            timezone=timezone)
    with beam.Pipeline(options=options) as pipeline:
        build_pipeline(pipeline, slices, settings, str(out), vopts.stitch_gap_seconds, ruleset,
                       enricher, travel, es)
    finished = time.time()
    rows = json.loads((out / COUNTS_FILE).read_text(encoding="utf-8"))
    (out / COUNTS_FILE).unlink()
    datasets, skipped, per_rule = dataset_counts(rows)
    es_unbalanced = es_sink.index_counts(rows, datasets) if es else []
    summary = {
        "command": "replay",
        "inputs": inputs,
        "out": str(out),
        "runner": options.get_all_options()["runner"],
        "options": {"timezone": timezone, "format": vopts.log_format,
                    "reference_time": reference.isoformat() if reference else "file modification time",
                    "split_bytes": vopts.split_bytes, "batch_bytes": vopts.batch_bytes,
                    "max_line_bytes": vopts.max_line_bytes,
                    "stitch_gap_seconds": vopts.stitch_gap_seconds},
        "started_at": dt.datetime.fromtimestamp(started, dt.timezone.utc).isoformat(),
        "timings_s": {"plan_and_compile_rules": round(planned - started, 3), "pipeline": round(finished - planned, 3),
                      "total": round(finished - started, 3)},
        "lines_per_second": round(datasets["total"]["lines_read"] / max(finished - started, 1e-9)),
        "files": [{"path": f.path, "format": f.format_name, "family": f.family, "bytes": f.size,
                   "compressed": f.compressed, "detection_score": round(f.detection_score, 3)}
                  for f in files],
        "datasets": datasets,
        "skipped_reasons": skipped,
        "dead_letter_reasons": dead_letter_reasons(out),
        "rules": rules_section(ruleset, per_rule),
        "enrichment": ({"enrichment": "off (--no-enrich)"} if enricher is None else
                       {**enricher.describe(), "impossible_travel_signals":
                        per_rule.get(TRAVEL_RULE["rule.id"], 0) if travel else "off (--no-detect)"}),
        "elasticsearch": ({**es.public(), "notes": es_notes} if es else "off (no --es-url)"),
        "balanced": not unbalanced(datasets) and not es_unbalanced,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if unbalanced(datasets):
        raise VigieError(f"line counts do not balance for {', '.join(unbalanced(datasets))} "
                         f"(see {out / 'summary.json'}); this is a Vigie bug, please report it")
    if es_unbalanced:
        raise VigieError(f"Elasticsearch document counts do not balance for {', '.join(es_unbalanced)} "
                         f"(see {out / 'summary.json'}); this is a Vigie bug, please report it")
    return summary
