"""AnalyseEvents: the one analysis graph that `vigie replay` and `vigie stream` share.

In: units of lines (planned file slices; Kafka record sets in streaming). Out, a dict:
- "events", "stitched_events": (name, enriched events table) — parsed lines and stitched mail
  messages, kept apart so that each is written by the stage that made it (a Flatten of two
  stages makes the batch runner buffer every event table of the run before writing);
- "signals": every signal as a dict, timestamped with its event time — Sigma rules on events and
  on the lines of dead letters (keyword rules), impossible travel, and the results of the Sigma
  correlation rules, which attach where every other signal source meets;
- "signals/<source>" (signal_parts()): the same signals, one PCollection per source (Sigma,
  StitchedSigma, DeadLetterKeywords, ImpossibleTravel, CorrelationResults) before any Flatten.
  Sinks that should see a signal as soon as it exists (Elasticsearch, the benchmark's tap) read
  these: on Prism a stage receives new input only when its producer's output watermark moves,
  and the output watermark of "signals" is held back by the correlation stage (a stateful step
  whose bundles hold it while they run), so a consumer of "signals" waited seconds for every
  Sigma signal (docs/live-detection.md, "Latency and throughput");
- "incidents": incident records (dicts, schemas/incidents.yml), each revision as it is made;
- "late_signals": signal rows that reached incident assembly after their time was settled;
- "dead_letters": (name, dead-letter table) of parsing, of signals that reached correlation after
  their window was judged (counted as late_signals) and of signal rows assembly refused.

    units -> ParseLines -> StitchMessages (fragments) -> EnrichEvents -> DetectSigma
                                                                      -> DetectImpossibleTravel
          dead letters -> DetectInDeadLetters
    signals -> CorrelateSignals -> (signals + correlation results) -> AssembleIncidents
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.transforms import window

from pipelines.correlation.model import CorrelationSet
from pipelines.correlation.results import late_reason
from pipelines.detection.engine import RuleSet
from pipelines.model import dead_letters
from pipelines.enrichment.enrich import Enricher
from pipelines.incidents.policy import AssemblyPolicy
from pipelines.sources.ingest import ReadSettings
from pipelines.transforms.detect import (DetectImpossibleTravel, DetectInDeadLetters, DetectSigma,
                                         SignalRows)
from pipelines.transforms.coders import typed_as_named_tables
from pipelines.transforms.correlate import LATE, RESULTS, CorrelateSignals
from pipelines.transforms.enrich import EnrichEvents
from pipelines.transforms.naming import named_by_ids
from pipelines.transforms.incidents import INCIDENTS, INVALID_SIGNALS, LATE_SIGNALS, AssembleIncidents
from pipelines.transforms.parse import DEAD_LETTERS, EVENTS, FRAGMENTS, ParseLines
from pipelines.transforms.stitch import StitchMessages


@dataclass(frozen=True)
class TravelSettings:
    """Impossible travel: the speed no journey reaches, the gap beyond which logins are not
    compared (event time), and in streaming how long after a login's time it is judged (the
    stream's bounded out-of-orderness)."""

    max_speed_kmh: float = 900.0
    gap_hours: float = 24.0
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class IncidentSettings:
    """Incident assembly: the policy (campaign window, thresholds) and how often a stream
    releases signals to it (None: once, at the end of a bounded input)."""

    policy: AssemblyPolicy = AssemblyPolicy()
    release_seconds: int | None = None
    hold_seconds: int = 0  # streaming: at least the stitching gap (see AssembleIncidents)


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything the analysis needs, loaded and checked on the driver before the run."""

    read: ReadSettings
    stitch_gap_seconds: int
    ruleset: RuleSet | None = None  # None: no detection (--no-detect)
    enricher: Enricher | None = None  # None: no enrichment (--no-enrich)
    travel: TravelSettings | None = None  # needs enrichment and detection
    incidents: IncidentSettings | None = None  # needs detection
    correlations: CorrelationSet | None = None  # Sigma correlation rules (needs detection)
    # Streaming: how far behind the watermark a correlation window is judged (signals of
    # stitched mail arrive a session gap after their time; more are late, see late_signals).
    allowed_lateness_seconds: float = 0.0
    total_units: int = 0  # for progress lines


SIGNAL_PART = "signals/"  # key prefix of the per-source signal PCollections (module docstring)


def signal_parts(analysed: dict[str, beam.PCollection]) -> dict[str, beam.PCollection]:
    """The per-source signal PCollections of AnalyseEvents' output, by source name ("signals/"
    keys); {"All": analysed["signals"]} when there are none (no detection)."""
    parts = {key[len(SIGNAL_PART):]: pcoll for key, pcoll in analysed.items()
             if key.startswith(SIGNAL_PART)}
    return parts or {"All": analysed["signals"]}


LATE_REASON = "signal arrived after its correlation window was judged (beyond the allowed lateness)"


def late_dead_letters(records: list[dict]) -> tuple[str, object]:
    """Late signals of correlation -> (name, dead-letter table): kept, with what they missed."""
    table = dead_letters(
        len(records), stage="correlate", reason=LATE_REASON, detail=[late_reason(r) for r in records],
        family=[(r.get("event.dataset") or "unknown").split(".")[0] for r in records],
        id=[f"{r.get('signal.id')}:{r.get('vigie.late.correlation_id')}" for r in records],
        raw=[json.dumps(r, default=str, sort_keys=True).encode() for r in records], lines=0,
        origin_kind="file", origin_path=[r.get("log.file.path") for r in records],
        origin_offset=[r.get("log.offset") for r in records])
    return named_by_ids(table, "late", "id")


class AnalyseEvents(beam.PTransform):
    """Units of lines -> {events, stitched_events, signals, dead_letters} (module docstring)."""

    def __init__(self, settings: AnalysisSettings):
        super().__init__()
        self.settings = settings

    def expand(self, units):
        s = self.settings
        parsed = units | "ParseLines" >> ParseLines(s.read, s.total_units)
        stitched = parsed[FRAGMENTS] | "StitchMessages" >> StitchMessages(s.stitch_gap_seconds)
        events = parsed[EVENTS]
        if s.enricher is not None:
            events = events | "EnrichEvents" >> EnrichEvents(s.enricher)
            stitched = stitched | "EnrichStitchedEvents" >> EnrichEvents(s.enricher)
        signal_tables = {}
        if s.ruleset is not None:
            signal_tables = {"Sigma": events | "DetectSigma" >> DetectSigma(s.ruleset),
                             "StitchedSigma": stitched | "DetectStitchedSigma" >> DetectSigma(s.ruleset),
                             "DeadLetterKeywords": parsed[DEAD_LETTERS]
                             | "DetectInDeadLetters" >> DetectInDeadLetters(s.ruleset)}
            if s.enricher is not None and s.travel is not None:  # VPN logins are never stitched
                signal_tables["ImpossibleTravel"] = events | "DetectImpossibleTravel" >> DetectImpossibleTravel(
                    s.travel.max_speed_kmh, gap_hours=s.travel.gap_hours,
                    delay_seconds=s.travel.delay_seconds)
        parts = {source: tables | f"{source}SignalRows" >> SignalRows()
                 for source, tables in signal_tables.items()}
        signals = (list(parts.values()) | "AllSignals" >> beam.Flatten() if parts
                   else units.pipeline | "NoSignals" >> beam.Create([]))
        dead = [parsed[DEAD_LETTERS]]
        if s.correlations is not None and s.correlations.rules:
            correlated = signals | "CorrelateSignals" >> CorrelateSignals(
                s.correlations, s.allowed_lateness_seconds)
            signals = (signals, correlated[RESULTS]) | "SignalsAndCorrelations" >> beam.Flatten()
            parts["CorrelationResults"] = correlated[RESULTS]
            dead.append(typed_as_named_tables(
                correlated[LATE]
                | "LateInGlobalWindow" >> beam.WindowInto(window.GlobalWindows())
                | "BatchLate" >> beam.BatchElements(min_batch_size=1, max_batch_size=1000)
                | "LateToDeadLetters" >> beam.Map(late_dead_letters)))
        out = {"events": events, "stitched_events": stitched, "signals": signals,
               "dead_letters": dead[0] if len(dead) == 1 else dead | "AllParseDeadLetters" >> beam.Flatten(),
               **{f"{SIGNAL_PART}{source}": part for source, part in parts.items()}}
        if s.incidents is not None:  # "incidents" and "late_signals" only when assembling
            inventory = s.enricher.inventory if s.enricher is not None else None
            assembled = signals | "AssembleIncidents" >> AssembleIncidents(
                inventory, s.incidents.policy, s.incidents.release_seconds, s.incidents.hold_seconds)
            out["incidents"], out["late_signals"] = assembled[INCIDENTS], assembled[LATE_SIGNALS]
            out["dead_letters"] = ((out["dead_letters"], assembled[INVALID_SIGNALS])
                                   | "AllAnalysisDeadLetters" >> beam.Flatten())
        return out
