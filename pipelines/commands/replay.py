"""`vigie replay INPUT... --out DIR [flags]`: archived logs -> Parquet (+ Elasticsearch), summary.json.

Everything that can be wrong is checked before anything is touched: flags and their values, the
runner, the timezone, the rules, the enrichment sources, the Elasticsearch cluster, the inputs.
The run writes beside --out and its output replaces the earlier one only when it succeeded
(sinks/output_folder.py); counters must balance and match what was written, or the run fails
loudly. Exit status: 0 done; 2 bad input; 3 done, but some documents could not be indexed
(the summary says which command sends them again); 1 a Vigie bug.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import storage
from pipelines.correlation.travel import TRAVEL_RULE
from pipelines.enrichment.enrich import Enricher, build_enricher
from pipelines.errors import VigieError
from pipelines.options import VigieOptions, split_argv, vigie_options, with_default_runner
from pipelines.replay import run_replay_pipeline
from pipelines.resources import data_dir
from pipelines.sinks import es_cluster
from pipelines.sinks.output_folder import OutputFolder
from pipelines.sinks.parquet import DEAD_LETTER_DIR, EVENTS_DIR, SIGNALS_DIR, parquet_files
from pipelines.sources.ingest import ReadSettings
from pipelines.sources.plan import Plan, plan_inputs
from pipelines.summary import (RunCounts, dead_letter_section, index_unbalanced, rules_counts,
                               skipped_section, unbalanced)
from pipelines.reports.render import render_reports
from pipelines.sinks.handoff.run import deliver_incidents, summary_lines
from pipelines.sinks.handoff.settings import destinations_from, retry_policy
from pipelines.sinks.handoff.ledger import LEDGER_NAME
from pipelines.sinks.incidents import INCIDENTS_DIR, incidents_path, read_incidents
from pipelines.summary import incident_index_unbalanced
from pipelines.transforms.analyse import AnalysisSettings, IncidentSettings, TravelSettings

if TYPE_CHECKING:  # the Sigma tooling is imported only when rules are compiled (not with --no-detect)
    from pipelines.correlation.loader import Detections

EXIT_UNDELIVERED = 3
REPORT_LANGUAGES = ["fr", "en"]
DUPLICATE = "duplicate: the same line is in another input, read there"
EXAMPLES_PER_CAUSE = 3


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


def compile_rules(paths: list[str] | None) -> Detections:
    """The rules to evaluate: the given files/folders (their correlation rules resolved against
    them and the shipped rules), or the shipped detections/. Rules given on purpose that load
    nothing at all are an error, not a silent run without detection."""
    from pipelines.correlation.loader import load_detections
    detections = load_detections([Path(p) for p in paths] if paths else [data_dir("detections")])
    ruleset = detections.ruleset
    if paths and not ruleset.rules and not ruleset.skipped and not detections.correlations.rules:
        raise VigieError(f"no Sigma rule found in {', '.join(paths)}; give rule files or folders "
                         "(or --no-detect to only ingest)")
    return detections


def add_duplicates(counts: RunCounts, plan: Plan) -> None:
    """Count the lines of inputs that other inputs also hold: read, skipped as duplicates."""
    for info in plan.files:
        if info.overlap is None or not info.overlap.lines:
            continue
        n = info.overlap.lines
        for name in ("lines_read", "lines_skipped", "lines_duplicate"):
            counts.datasets.setdefault(info.family, Counter())[name] += n
        counts.skipped.setdefault(info.family, Counter())[DUPLICATE] += n
        counts.files.setdefault(info.path, Counter())["lines_read"] += n


def _read_columns(folder: Path | str, columns: list[str]) -> list[dict]:
    """The rows of every Parquet file below `folder`, `columns` only, file by file in order."""
    rows: list[dict] = []
    for path in parquet_files(folder):
        with storage.open_read(path) as handle:
            rows.extend(pq.read_table(handle, columns=columns).to_pylist())
    return rows


def written_rows(out: Path | str) -> dict[str, int]:
    """Rows actually in the output's Parquet files (from their metadata), per kind (incident
    deliveries that failed are the handoff's own count)."""
    def rows(name: str, where=None) -> int:
        folder = storage.join(out, name)
        if where is None:
            total = 0
            for path in parquet_files(folder):
                with storage.open_read(path) as handle:
                    total += pq.ParquetFile(handle).metadata.num_rows
            return total
        return sum(1 for row in _read_columns(folder, ["stage"]) if where(row["stage"]))
    return {"events": rows(EVENTS_DIR), "signals": rows(SIGNALS_DIR),
            "dead_letters": rows(DEAD_LETTER_DIR, lambda stage: stage not in ("index", "deliver")),
            "documents_dead_lettered": rows(DEAD_LETTER_DIR, lambda stage: stage == "index")}


def written_mismatches(written: dict[str, int], total: dict[str, int]) -> list[str]:
    """What was written that differs from what was counted."""
    return [f"{name}: {n:,} rows written, {total.get(name, 0):,} counted"
            for name, n in written.items() if n != total.get(name, 0)]


def dead_letter_examples(out: Path | str) -> dict[tuple[str, str], list[dict]]:
    """A few dead letters of each cause: where they came from and what is particular to them."""
    examples: dict[tuple[str, str], list[dict]] = {}
    columns = ["stage", "reason", "detail", "origin.path", "origin.offset"]
    for row in _read_columns(storage.join(out, DEAD_LETTER_DIR), columns):
        found = examples.setdefault((row["stage"], row["reason"]), [])
        if len(found) < EXAMPLES_PER_CAUSE:
            found.append({"origin.path": row["origin.path"], "origin.offset": row["origin.offset"],
                          "detail": row["detail"]})
    return examples


def rules_section(detections: Detections | None, counts: RunCounts) -> dict:
    """summary.json's account of the rules: loaded, skipped with reasons, signals per rule, and
    the correlation rules with their results and the signals that reached them late."""
    if detections is None:
        return {"detection": "off (--no-detect)"}
    ruleset, correlations = detections.ruleset, detections.correlations
    per_rule = rules_counts(counts, [r.id for r in ruleset.rules])
    return {
        "correlations": {
            "loaded": len(correlations.rules),
            "skipped": [{"path": str(s.path), "title": s.title, "reason": s.reason} for s in correlations.skipped],
            "results_per_rule": {r.ref: int(counts.correlation.get(f"results/{r.ref}", 0)) for r in correlations.rules},
            "late_signals": int(counts.correlation.get("late_signals", 0)),
        },
        "loaded": len(ruleset.rules),
        "skipped": [{"path": str(s.path), "title": s.title, "reason": s.reason}
                    for s in ruleset.skipped if not getattr(s, "deferred", False)],
        "deferred": [{"path": str(s.path), "title": s.title, "reason": s.reason}
                     for s in ruleset.skipped if getattr(s, "deferred", False)],
        "signals_per_rule": {r.id: {"title": r.title, "level": r.level, "signals": per_rule[r.id]}
                             for r in sorted(ruleset.rules, key=lambda r: (-per_rule[r.id], r.title))},
    }


def files_section(plan: Plan, counts: RunCounts, timezone: str, reference: dt.datetime | None) -> list[dict]:
    """Per input file: format, what was read and how its times were read."""
    out = []
    for f in plan.files:
        c = counts.files.get(f.path, Counter())
        ref = reference or dt.datetime.fromtimestamp(storage.modified(f.path), dt.timezone.utc)
        entry = {"path": f.path, "format": f.format_name, "family": f.family, "bytes": f.size,
                 "compressed": f.compressed, "detection_score": round(f.detection_score, 3),
                 "lines_read": int(c.get("lines_read", 0)), "lines_parsed": int(c.get("lines_parsed", 0)),
                 "zoneless_lines": int(c.get("zoneless_lines", 0))}
        if entry["zoneless_lines"]:
            entry["read_in_timezone"] = timezone
            entry["year_from"] = ("--reference-time " if reference else "file modification time ") + ref.isoformat()
        if f.overlap is not None:
            entry["duplicate"] = {"of": f.overlap.of_path, "lines": f.overlap.lines,
                                  "read_from_offset": f.overlap.read_from}
        out.append(entry)
    return out


def finish_incidents(staging: Path | str, final: Path | str, destinations: list,
                     values: argparse.Namespace, counts: RunCounts,
                     say: Callable[[str], None]) -> dict:
    """After the pipeline: render the incidents' reports (French and English) and hand the
    incidents to the configured destinations; summary.json's `incidents` section. On an object
    store the reports and the handoff's ledger are written in a local folder, then uploaded."""
    records = read_incidents(incidents_path(staging))
    live = [r for r in records if r.get("incident.status") != "merged"]
    with tempfile.TemporaryDirectory(prefix="vigie-finish-") as scratch:
        work = Path(scratch) if storage.is_remote(staging) else Path(staging)
        reports = render_reports(records, work, REPORT_LANGUAGES) if records else []
        section = {"incidents": int(counts.incidents.get("incidents", 0)),
                   "merged": int(counts.incidents.get("incidents_merged", 0)),
                   "late_signals": int(counts.incidents.get("late_signals", 0)),
                   "file": str(incidents_path(final)),
                   "index": storage.join(final, "incidents", "index.html") if records else None,
                   "reports": [storage.join(final, *p.relative_to(work).parts) for p in reports],
                   "list": [{"id": r["incident.id"], "title": r.get("incident.title"),
                             "severity": r.get("incident.severity_label"), "kind": r.get("incident.kind")}
                            for r in sorted(live, key=lambda r: (-(r.get("incident.severity") or 0), r["incident.id"]))]}
        if destinations:
            # Deliveries already made from the output this run replaces are facts: keep the
            # ledger, so that replaying a case again does not send its incidents again (a
            # remote --out is always new: there is no earlier ledger).
            earlier = Path(storage.local(final)) / INCIDENTS_DIR / LEDGER_NAME
            if not storage.is_remote(final) and earlier.is_file():
                shutil.copy2(earlier, work / INCIDENTS_DIR / LEDGER_NAME)
            result = deliver_incidents(live, work, destinations, policy=retry_policy(values), say=say)
            section["handoff"] = {"delivered": sum(result.delivered.values()),
                                  "already_delivered": sum(result.skipped.values()),
                                  "dead_lettered": sum(result.dead_lettered.values()),
                                  "lines": summary_lines(result, destinations)}
        if storage.is_remote(staging):
            storage.upload_tree(work, str(staging))
    return section


def replay_help() -> str:
    """`vigie replay --help`."""
    parser = argparse.ArgumentParser(prog="vigie replay", usage="vigie replay INPUT... --out DIR [flags]",
                                     description="Replay archived logs (files, folders, globs, .gz) "
                                                 "into Parquet. Beam flags (--runner, ...) pass through.")
    VigieOptions._add_argparse_args(parser)
    return parser.format_help()


def _say_plan(say: Callable[[str], None], plan: Plan, detections: Detections | None, enricher: Enricher | None,
              timezone: str, reference: dt.datetime | None) -> None:
    total_bytes = sum(f.size for f in plan.files)
    say(f"vigie replay: {len(plan.files)} file(s), {total_bytes / 1e6:.1f} MB, {len(plan.slices)} slice(s); "
        f"local times read in {timezone}, their year from "
        + (f"--reference-time {reference.isoformat()}" if reference else "each file's modification time"))
    for f in plan.files:
        fmt = f.format_name or "NOT RECOGNISED (lines go to dead letters; --format forces one)"
        note = ""
        if f.overlap is not None and f.overlap.read_from < 0:
            note = f" - not read: all {f.overlap.lines:,} lines are in {f.overlap.of_path}"
        elif f.overlap is not None:
            note = (f" - its first {f.overlap.lines:,} lines are in {f.overlap.of_path}; "
                    f"read from byte {f.overlap.read_from:,}")
        say(f"  {f.path}: {fmt} ({f.family}){note}")
    for s in plan.skipped:
        say(f"  left out: {s.path}: {s.reason}")
    if detections is not None:
        ruleset, correlations = detections.ruleset, detections.correlations
        say(f"  {len(ruleset.rules)} Sigma rule(s) and {len(correlations.rules)} correlation rule(s) loaded" +
            "".join(f"\n  rule skipped: {s}" for s in ruleset.skipped + correlations.skipped
                    if not getattr(s, "deferred", False)))
    if enricher is not None:
        say(f"  enrichment: {enricher.geo.description}" +
            "".join(f"\n  threat list {r.name}: {r.entries} entries, {r.bad_lines} bad line(s) ignored"
                    for r in enricher.list_reports) +
            (f"\n  inventory: {len(enricher.inventory.accounts)} account(s), "
             f"{len(enricher.inventory.assets)} asset(s)" if enricher.inventory else ""))


def run_replay(inputs: list[str], argv: list[str], say: Callable[[str], None] = print) -> dict:
    """Replay `inputs` with flags `argv` (Vigie's and Beam's); return the summary written."""
    values = vigie_options(argv, "replay")
    with_default_runner(argv)  # a wrong runner is refused before anything else
    if not values.out:
        raise VigieError("replay needs --out DIR (where events/, deadletter/ and summary.json go)")
    if not inputs:
        raise VigieError("replay needs at least one input file or folder: vigie replay INPUT... --out DIR")
    timezone = _checked_timezone(values.timezone)
    reference = _checked_reference(values.reference_time)
    started = time.time()
    detections = None if values.no_detect else compile_rules(values.rules)
    ruleset = detections.ruleset if detections else None
    enricher = None if values.no_enrich else build_enricher(
        values.geoip_city_db, values.geoip_asn_db, values.threat_lists, values.inventory)
    travel = (TravelSettings(values.travel_max_speed_kmh, values.travel_gap_hours)
              if enricher is not None and ruleset is not None else None)
    destinations = destinations_from(values)  # checked (files, secrets) before the run
    # The cluster is checked (and the templates installed) and the inputs planned before the
    # output folder is touched: a failure leaves an earlier run's output as it was.
    es = es_cluster.settings_from_options(values)
    es_notes = es_cluster.prepare_cluster(es, say) if es else []
    storage.configure(PipelineOptions(argv))  # --beam_plugins filesystems, before any path is read
    plan = plan_inputs(inputs, values.log_format, values.split_bytes, reference, timezone)
    options = PipelineOptions(with_default_runner(argv, sum(f.size for f in plan.files)))
    folder = OutputFolder.prepare(values.out, inputs)
    planned = time.time()
    _say_plan(say, plan, detections, enricher, timezone, reference)
    analysis = AnalysisSettings(
        read=ReadSettings(batch_bytes=values.batch_bytes, max_line_bytes=values.max_line_bytes,
                          timezone=timezone),
        stitch_gap_seconds=values.stitch_gap_seconds, ruleset=ruleset, enricher=enricher,
        travel=travel, incidents=IncidentSettings() if ruleset is not None else None,
        correlations=detections.correlations if detections else None,
        total_units=len(plan.slices))
    try:
        counts = run_replay_pipeline(options, plan.slices, analysis, str(folder.staging), es)
        add_duplicates(counts, plan)
        incidents = (finish_incidents(folder.staging, folder.final, destinations, values, counts, say)
                     if ruleset is not None else {"incidents": "off (--no-detect)"})
        finished = time.time()
        datasets = counts.datasets_section()
        written = written_rows(folder.staging)
        mismatches = written_mismatches(written, {**datasets["total"], "documents_dead_lettered":
                                                  datasets["total"].get("documents_dead_lettered", 0)
                                                  + (counts.incident_documents() or {}).get("documents_dead_lettered", 0)})
        if es and ruleset is not None and incident_index_unbalanced(
                counts, counts.incidents.get("incidents", 0) + counts.incidents.get("incidents_merged", 0)):
            mismatches.append(f"incident documents do not balance: {counts.incident_documents()}")
        summary = {
            "command": "replay",
            "inputs": inputs,
            "out": str(folder.final),
            "runner": options.get_all_options()["runner"],
            "running_mode": {k: options.get_all_options().get(k) for k in ("direct_running_mode", "direct_num_workers")},
            "options": {"timezone": timezone, "format": values.log_format,
                        "reference_time": reference.isoformat() if reference else "file modification time",
                        "split_bytes": values.split_bytes, "batch_bytes": values.batch_bytes,
                        "max_line_bytes": values.max_line_bytes,
                        "stitch_gap_seconds": values.stitch_gap_seconds},
            "started_at": dt.datetime.fromtimestamp(started, dt.timezone.utc).isoformat(),
            "timings_s": {"plan_and_compile_rules": round(planned - started, 3),
                          "pipeline": round(finished - planned, 3), "total": round(finished - started, 3)},
            "lines_per_second": round(datasets["total"]["lines_read"] / max(finished - started, 1e-9)),
            "files": files_section(plan, counts, timezone, reference),
            "skipped_inputs": [{"path": s.path, "reason": s.reason} for s in plan.skipped],
            "datasets": datasets,
            "skipped_reasons": skipped_section(counts),
            "dead_letter_reasons": dead_letter_section(counts, dead_letter_examples(folder.staging)),
            "rules": rules_section(detections, counts),
            "enrichment": ({"enrichment": "off (--no-enrich)"} if enricher is None else
                           {**enricher.describe(), "impossible_travel_signals":
                            counts.rules.get(TRAVEL_RULE["rule.id"], 0) if travel else "off (--no-detect)"}),
            "incidents": incidents,
            "elasticsearch": ({**es.public(), "notes": es_notes, "incident_documents": counts.incident_documents()}
                              if es else "off (no --es-url)"),
            "written": written,
            "balanced": not unbalanced(datasets) and not index_unbalanced(datasets) and not mismatches,
        }
        storage.write_bytes(storage.join(folder.staging, "summary.json"),
                            (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    except BaseException:
        folder.abandon()
        raise
    problems = ([f"line counts do not balance for {', '.join(unbalanced(datasets))}"] if unbalanced(datasets) else []) + \
        ([f"Elasticsearch document counts do not balance for {', '.join(index_unbalanced(datasets))}"]
         if index_unbalanced(datasets) else []) + mismatches
    folder.commit()
    if problems:
        raise VigieError("; ".join(problems) + f" (see {storage.join(folder.final, 'summary.json')}); "
                         "this is a Vigie bug, please report it", exit_code=1)
    return summary


def print_summary(summary: dict, say: Callable[[str], None] = print) -> None:
    """A short table of a replay's counts, what was set aside, and where its outputs are."""
    out = summary["out"]
    say(f"vigie replay: done in {summary['timings_s']['total']:.1f} s "
        f"({summary['lines_per_second']:,} lines/s)")
    say(f"  {'dataset':<8}{'lines':>10}{'events':>10}{'in events':>11}{'dead':>8}{'skipped':>9}{'duplicate':>10}")
    for name, c in summary["datasets"].items():
        say(f"  {name:<8}{c['lines_read']:>10,}{c['events']:>10,}{c['lines_in_events']:>11,}"
            f"{c['lines_dead_lettered']:>8,}{c['lines_skipped']:>9,}{c['lines_duplicate']:>10,}")
    rules = summary.get("rules", {})
    if "loaded" in rules:
        firing = [v for v in rules["signals_per_rule"].values() if v["signals"]]
        say(f"  {summary['datasets']['total']['signals']:,} signals from {len(firing)} of "
            f"{rules['loaded']} rules" + (f" ({len(rules['skipped'])} skipped)" if rules["skipped"] else ""))
    for cause in summary["dead_letter_reasons"]:
        example = cause["examples"][0] if cause["examples"] else {}
        where = f" (e.g. {example.get('origin.path')} at {example.get('origin.offset')})" if example else ""
        say(f"  set aside: {cause['count']:,} x {cause['stage']}: {cause['reason']}{where}")
    forced = summary["options"]["format"]
    for f in summary["files"]:
        if forced and f["lines_read"] and not f["lines_parsed"]:
            say(f"  hint: no line of {f['path']} fits --format {forced}; leave --format out to "
                "detect the format, or pick another")
    for s in summary["skipped_inputs"]:
        say(f"  left out: {s['path']}: {s['reason']}")
    incidents = summary.get("incidents", {})
    if isinstance(incidents.get("list"), list):
        say(f"  {len(incidents['list'])} incident(s)" + (f" (+{incidents['merged']} merged into them)"
                                                        if incidents.get("merged") else ""))
        for item in incidents["list"]:
            say(f"    [{item['severity']}] {item['title']} ({item['id']})")
        if incidents.get("index"):
            say(f"  incident reports: {incidents['index']} (and one page per incident, fr and en)")
        for line in incidents.get("handoff", {}).get("lines", []):
            say(line)
    say(f"  events:       {out}/events/ (Parquet, dataset=/date= partitions)")
    say(f"  signals:      {out}/signals/")
    say(f"  dead letters: {out}/deadletter/")
    say(f"  summary:      {out}/summary.json")
    es = summary.get("elasticsearch")
    if isinstance(es, dict):
        t = summary["datasets"]["total"]
        say(f"  elasticsearch: {es['url']}: {t['documents_indexed']:,} documents indexed, "
            f"{t['documents_dead_lettered']:,} dead-lettered, {t['index_retries']:,} retries")


def undelivered_note(summary: dict) -> str | None:
    """The lines that tell the operator how to recover what the run could not deliver (None
    when everything was delivered)."""
    notes = []
    es = summary.get("elasticsearch")
    if isinstance(es, dict):
        dead = summary["datasets"]["total"].get("documents_dead_lettered", 0) + \
            (es.get("incident_documents") or {}).get("documents_dead_lettered", 0)
        if dead:
            notes.append(f"vigie: {dead:,} document(s) could not be indexed into {es['url']} and wait in "
                         f"{summary['out']}/deadletter/; when the cluster is healthy run "
                         f"`vigie es backfill {summary['out']} --es-url {es['url']} --only-dead-letters`")
    handoff = summary.get("incidents", {}).get("handoff") if isinstance(summary.get("incidents"), dict) else None
    if handoff and handoff["dead_lettered"]:
        notes.append(f"vigie: {handoff['dead_lettered']} incident deliveries failed and wait in "
                     f"{summary['out']}/deadletter/; run `vigie incidents send {summary['out']}` with the "
                     "same destination flags when the receivers are back")
    return "\n".join(notes) or None


def main(argv: list[str]) -> int:
    """`vigie replay` (see the module docstring)."""
    if "--help" in argv or "-h" in argv:
        print(replay_help())
        return 0
    inputs, flags = split_argv(argv, "replay")
    summary = run_replay(inputs, flags, say=lambda m: print(m, file=sys.stderr))
    print_summary(summary)
    note = undelivered_note(summary)
    if note:
        print(note, file=sys.stderr)
        return EXIT_UNDELIVERED
    return 0

