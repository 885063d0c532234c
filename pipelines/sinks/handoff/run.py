"""Deliver incident records to every destination, exactly once per revision, losing nothing.

In: incident records (any number of revisions), the run's output folder DIR, the destinations,
a retry policy, the report language and display timezone. Out: a HandoffResult (counts per
destination and the lines to show), with these effects:
- each destination gets the latest revision of each incident unless the ledger
  (DIR/incidents/delivered.jsonl) says it already has that revision or a later one;
- a failure is retried with exponential backoff within the destination's budget, then written
  as a dead letter (DIR/deadletter/deliver-*.parquet, stage "deliver", the record as payload);
- the dead letters of earlier runs are delivered again to their destination when it is
  configured now (the ledger skips those that made it meanwhile);
- an incident that some destination could not take is also written to the fallback folder
  DIR/incidents/outbox/ (files: JSONL, HTML, Markdown), so the crisis cell can read it anyway.
Every message is scrubbed of the destinations' secrets before it is shown or stored.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from pipelines.reports import i18n
from pipelines.reports.render import (DEFAULT_TZ, INCIDENTS_DIR, display_timezone, latest_revisions,
                                      render_incident_html, render_incident_markdown)
from pipelines.reports.view import localised_title
from pipelines.sinks.delivery import RetryBudget, RetryPolicy
from pipelines.sinks.handoff.base import Rendered, scrub
from pipelines.sinks.handoff.deadletters import (Undelivered, read_delivery_dead_letters,
                                                  write_delivery_dead_letters)
from pipelines.sinks.handoff.files import FilesDestination
from pipelines.sinks.handoff.ledger import LEDGER_NAME, Ledger

OUTBOX = "outbox"


@dataclass
class HandoffResult:
    """What a handoff did, per destination key."""

    delivered: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    dead_lettered: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)
    redelivered: Counter = field(default_factory=Counter)   # of which came from dead letters
    waiting: Counter = field(default_factory=Counter)       # dead letters of destinations not configured now
    dead_letter_file: Path | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Always 0 by construction: every attempt ends delivered, skipped or dead-lettered."""
        return 0


def _rev(record: dict) -> int:
    try:
        return int(record.get("incident.revision") or 1)
    except (TypeError, ValueError):
        return 1


def render_for_handoff(record: dict, lang: str, tz: str = DEFAULT_TZ) -> Rendered:
    """One record with its HTML and Markdown reports in `lang`, ready for every destination."""
    zone = display_timezone(tz)
    return Rendered(record=record, incident_id=str(record.get("incident.id")), revision=_rev(record), lang=lang,
                    title=localised_title(record, lang), html=render_incident_html(record, lang, zone, [lang]),
                    markdown=render_incident_markdown(record, lang, zone))


def _items_for(destination_key: str, records: list[dict], dead: list[tuple[str, dict]]) -> list[tuple[dict, bool]]:
    """The latest revision per incident among the records and this destination's dead letters,
    each flagged True when that revision was dead-lettered for this destination before."""
    mine = [r for k, r in dead if k == destination_key]
    dead_keys = {(str(r.get("incident.id")), _rev(r)) for r in mine}
    best: dict[str, dict] = {}
    for record in records + mine:
        key = str(record.get("incident.id"))
        if key not in best or _rev(record) > _rev(best[key]):
            best[key] = record
    return [(r, (str(r.get("incident.id")), _rev(r)) in dead_keys) for r in best.values()]


def deliver_incidents(incidents: list[dict], out_dir: Path, destinations: list, *,
                      policy: RetryPolicy | None = None, lang: str = "fr", tz: str = DEFAULT_TZ,
                      say: Callable[[str], None] = lambda line: None, fallback: bool = True,
                      budgets: dict[str, RetryBudget] | None = None) -> HandoffResult:
    """Hand every incident to every destination (see the module docstring).

    `out_dir` is the run's output folder DIR (ledger under DIR/incidents/, dead letters under
    DIR/deadletter/). `budgets` may carry RetryBudgets per destination key (tests pass clocks)."""
    lang = i18n.checked_lang(lang)
    out_dir = Path(out_dir)
    policy = policy or RetryPolicy()
    budgets = {} if budgets is None else budgets
    secrets: list[str] = [s for d in destinations for s in d.secrets() if s]
    ledger = Ledger(out_dir / INCIDENTS_DIR / LEDGER_NAME)
    records = latest_revisions(incidents)
    dead = read_delivery_dead_letters(out_dir)
    result = HandoffResult()
    rendered: dict[tuple[str, int], Rendered] = {}
    rows: list[Undelivered] = []
    needs_fallback: dict[tuple[str, int], dict] = {}

    def show(line: str) -> None:
        line = scrub(line, secrets)
        result.lines.append(line)
        say(line)

    def item_of(record: dict) -> Rendered:
        key = (str(record.get("incident.id")), _rev(record))
        if key not in rendered:
            rendered[key] = render_for_handoff(record, lang, tz)
        return rendered[key]

    def hand(destination, record: dict, from_dead: bool) -> bool:
        item = item_of(record)
        dkey = destination.key
        if ledger.delivered(dkey, item.incident_id, item.revision):
            result.skipped[dkey] += 1
            return True
        budget = budgets.setdefault(dkey, RetryBudget(policy))
        before = budget.retries
        attempt = budget.run(lambda: destination.deliver(item))
        result.retries[dkey] += budget.retries - before
        if attempt.ok:
            ledger.record(dkey, item.incident_id, item.revision, scrub(str(attempt.value or ""), secrets))
            result.delivered[dkey] += 1
            if from_dead:
                result.redelivered[dkey] += 1
            show(f"  {dkey}: {item.incident_id} r{item.revision} delivered ({attempt.value})")
            return True
        detail = scrub(f"{attempt.error} (after {attempt.tries} tr{'y' if attempt.tries == 1 else 'ies'}"
                       f"{'' if attempt.transient else ', not retryable'})", secrets)
        rows.append(Undelivered(destination.kind, dkey, item.incident_id, item.revision,
                                scrub(attempt.cause, secrets), detail, item.record_json()))
        result.dead_lettered[dkey] += 1
        show(f"  {dkey}: {item.incident_id} r{item.revision} NOT delivered, dead-lettered: {detail}")
        return False

    for destination in destinations:
        for record, from_dead in _items_for(destination.key, records, dead):
            if not hand(destination, record, from_dead) and destination.kind != "files":
                needs_fallback[(str(record.get("incident.id")), _rev(record))] = record
    configured = {d.key for d in destinations}
    for key, record in dead:
        if key not in configured and not ledger.delivered(key, str(record.get("incident.id")), _rev(record)):
            result.waiting[key] += 1
    if fallback and needs_fallback:
        outbox = FilesDestination(out_dir / INCIDENTS_DIR / OUTBOX)
        show(f"  {len(needs_fallback)} incident(s) also written to the fallback folder {outbox.folder}")
        for record in needs_fallback.values():
            hand(outbox, record, False)
    result.dead_letter_file = write_delivery_dead_letters(rows, out_dir)
    return result


def summary_lines(result: HandoffResult, destinations: Iterable) -> list[str]:
    """One line per destination: delivered, already there, dead-lettered, retries."""
    lines = []
    keys = [d.key for d in destinations] + [k for k in result.delivered if k not in {d.key for d in destinations}]
    for key in dict.fromkeys(keys):
        lines.append(f"  {key}: {result.delivered[key]} delivered"
                     + (f" ({result.redelivered[key]} from dead letters)" if result.redelivered[key] else "")
                     + f", {result.skipped[key]} already delivered, {result.dead_lettered[key]} dead-lettered, "
                     f"{result.retries[key]} retries")
    for key, n in result.waiting.items():
        lines.append(f"  {n} dead letter(s) wait for a destination not configured now: {key}")
    if result.dead_letter_file:
        lines.append(f"  dead letters: {result.dead_letter_file}")
    return lines
