"""Counters of a run, as Beam metrics while it runs and as summary.json's sections after it.

Steps count with `count(section, key..., n=n)` (a Beam metric counter in namespace
`vigie.<section>`, so the counts also show while a streaming job runs); after a batch run
`RunCounts.from_metrics(result)` reads them back (committed values, summed over steps) into
typed fields. This module is the only place that names counters and decodes metric names.

Sections:
- datasets:  per family (mail, web, vpn, unknown): DATASET_COUNTERS
- skipped:   per family: lines skipped per reason
- rules:     signals per rule id
- deadletters: letters per (stage, reason)
- files:     per input path: lines_read, lines_parsed (into events or fragments), zoneless_lines
             (lines whose timestamps carried no zone and were read in --timezone)
- index:     per family: INDEX_COUNTERS (Elasticsearch)
- correlation: late_signals, results per correlation rule id
- incidents: incidents (counted once, not per dataset), incidents_merged, late_signals

The balance every run must show (`unbalanced`): per family,
lines_read == lines_in_events + lines_dead_lettered + lines_skipped (lines_duplicate, the lines
of an input that another input also holds, are a part of lines_skipped); with Elasticsearch,
events + signals == documents_sent == documents_indexed + documents_dead_lettered.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

FAMILIES = ("mail", "web", "vpn")
DATASET_COUNTERS = ("lines_read", "lines_in_events", "lines_dead_lettered", "lines_skipped",
                    "lines_duplicate", "events", "dead_letters", "signals", "incidents")
INDEX_COUNTERS = ("documents_sent", "documents_indexed", "documents_dead_lettered", "index_retries")
SECTIONS = ("datasets", "skipped", "rules", "deadletters", "files", "index", "correlation",
            "incidents")
SEPARATOR = "/"
INCIDENT_FAMILY = "incident"  # family of the incident documents' index counters


def metric_value(committed, attempted, live: bool = False) -> int:
    """One counter's value. After a run: the committed value (else the attempted one). While a
    job runs (`live`): the larger of the two, because runners differ: Flink's attempted value is
    cumulative, while Prism 2.75 reports as attempted the values of its latest bundles only and
    keeps the running total in committed (preferring attempted showed 37 signals of 306 written)."""
    if live:
        return int(max(committed or 0, attempted or 0))
    return int((committed if committed is not None else attempted) or 0)


def count(section: str, *key: str, n: int = 1) -> None:
    """Add `n` to the counter `key` of `section` (a Beam metric; call inside a DoFn)."""
    if section not in SECTIONS:
        raise ValueError(f"unknown counter section {section!r}")
    if n:
        Metrics.counter(f"vigie.{section}", SEPARATOR.join(key)).inc(int(n))


def count_all(section: str, counts: Mapping[tuple[str, ...], int]) -> None:
    """count() for every (key tuple -> n) of `counts`."""
    for key, n in counts.items():
        count(section, *key, n=n)


@dataclass
class RunCounts:
    """Every counter of a run, typed (see the module docstring)."""

    datasets: dict[str, Counter] = field(default_factory=dict)
    skipped: dict[str, Counter] = field(default_factory=dict)
    rules: Counter = field(default_factory=Counter)
    deadletters: Counter = field(default_factory=Counter)  # (stage, reason) -> letters
    files: dict[str, Counter] = field(default_factory=dict)  # path -> counter -> n
    index: dict[str, Counter] = field(default_factory=dict)
    correlation: Counter = field(default_factory=Counter)
    incidents: Counter = field(default_factory=Counter)

    def add(self, section: str, key: tuple[str, ...], n: int) -> None:
        """Add `n` to one counter, decoded from its section and key."""
        if section in ("datasets", "skipped", "index"):
            family, name = key[0], SEPARATOR.join(key[1:])
            getattr(self, section).setdefault(family, Counter())[name] += n
        elif section == "files":  # key: (counter, path): paths hold the separator
            self.files.setdefault(SEPARATOR.join(key[1:]), Counter())[key[0]] += n
        elif section == "deadletters":
            self.deadletters[(key[0], SEPARATOR.join(key[1:]))] += n
        else:
            getattr(self, section)[SEPARATOR.join(key)] += n

    @classmethod
    def from_metrics(cls, result: Any, attempted: bool = False) -> "RunCounts":
        """The committed counters of a finished Beam pipeline result (`attempted`: the values
        so far, for a job still running; `result` may also be a MetricResults)."""
        counts = cls()
        metrics = result.metrics() if hasattr(result, "metrics") else result
        for metric in metrics.query(MetricsFilter())["counters"]:
            namespace = metric.key.metric.namespace
            if not namespace.startswith("vigie."):
                continue
            section = namespace[len("vigie."):]
            if section in SECTIONS:
                counts.add(section, tuple(metric.key.metric.name.split(SEPARATOR, 1)),
                           metric_value(metric.committed, metric.attempted, attempted))
        return counts

    def families(self) -> list[str]:
        """The families to report: mail, web, vpn, then any other seen (unknown); incident
        documents (INCIDENT_FAMILY) are reported apart (`incident_documents`)."""
        seen = (set(self.datasets) | set(self.skipped) | set(self.index)) - {INCIDENT_FAMILY}
        return list(FAMILIES) + sorted(f for f in seen if f not in FAMILIES)

    def datasets_section(self) -> dict[str, dict[str, int]]:
        """summary.json's `datasets`: DATASET_COUNTERS (+ INDEX_COUNTERS when indexing) per
        family and in total. Incidents are counted once, in total."""
        names = DATASET_COUNTERS + (INDEX_COUNTERS if self.index else ())
        out = {}
        for family in self.families():
            values = Counter(self.datasets.get(family, Counter()))
            values.update(self.index.get(family, Counter()))
            out[family] = {name: int(values.get(name, 0)) for name in names}
        out["total"] = {name: sum(out[f][name] for f in self.families()) for name in names}
        out["total"]["incidents"] = int(self.incidents.get("incidents", 0))
        return out

    def incident_documents(self) -> dict[str, int] | None:
        """Elasticsearch counters of incident documents (None without indexing)."""
        if not self.index:
            return None
        values = self.index.get(INCIDENT_FAMILY, Counter())
        return {name: int(values.get(name, 0)) for name in INDEX_COUNTERS}


def unbalanced(datasets: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Families (and total) whose line counts do not balance."""
    return [name for name, c in datasets.items()
            if c["lines_read"] != c["lines_in_events"] + c["lines_dead_lettered"] + c["lines_skipped"]]


def index_unbalanced(datasets: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Families whose Elasticsearch document counts do not balance (empty without indexing)."""
    return [name for name, c in datasets.items() if "documents_sent" in c and not (
        c["events"] + c["signals"] == c["documents_sent"]
        == c["documents_indexed"] + c["documents_dead_lettered"])]


def incident_index_unbalanced(counts: RunCounts, incidents_sent: int) -> bool:
    """True when the incident documents do not balance: every incident record sent is indexed
    or dead-lettered (and as many were sent as the run made)."""
    c = counts.incident_documents()
    return c is not None and not (incidents_sent == c["documents_sent"]
                                  == c["documents_indexed"] + c["documents_dead_lettered"])


def skipped_section(counts: RunCounts) -> dict[str, dict[str, int]]:
    """summary.json's `skipped_reasons`: per family, lines skipped per reason."""
    return {family: dict(sorted(reasons.items())) for family, reasons in sorted(counts.skipped.items())}


def dead_letter_section(counts: RunCounts, examples: Mapping[tuple[str, str], list[dict]]) -> list[dict]:
    """summary.json's `dead_letter_reasons`: every cause (stage, reason) with its count and a few
    examples (origin and detail), most frequent first."""
    return [{"stage": stage, "reason": reason, "count": n, "examples": examples.get((stage, reason), [])}
            for (stage, reason), n in sorted(counts.deadletters.items(), key=lambda kv: (-kv[1], kv[0]))]


def rules_counts(counts: RunCounts, rule_ids: Iterable[str]) -> dict[str, int]:
    """Signals per rule id, every given rule listed (0 when it did not fire)."""
    return {rule_id: int(counts.rules.get(rule_id, 0)) for rule_id in rule_ids}
