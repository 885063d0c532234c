"""Detection benchmark: Vigie's engine vs a per-event evaluator vs pySigma's SQLite backend.

Events: BENCH_EVENTS (default 1,000,000) Apache combined access lines of the generated
hospital scenario (`generate_chu`, seeds 1, 2, ...: its www-access.log, a public web site with
visitors, bots, scanners and the attack steps), parsed with the project's `apache_combined`
parser into Arrow tables (the parse is not timed). Distinct lines, not one file repeated: the
engine works on the distinct values of repetitive columns, and a repeated file would flatter it.

Rules: the project's rules (detections/rules) and the 45 SigmaHQ web rules
(../shared/data/sigmahq/rules/web), loaded by the project's loader; each side evaluates the rules
routed to web.apache_combined, the dataset of these events.

Run side by side, same events, same rules:
  (a) engine     `detect()` over Arrow batches of 65,536 events;
  (b) per-event  for each event dict, for each rule, the pySigma condition tree (after the
                 project's pipeline) evaluated with Python `re` and `str` operations;
  (c) sqlite     pySigma's SQLite backend through the project's pipeline, one query per rule
                 over an in-memory table (the insert is reported, not timed).
Each side runs in its own forked process, which shares the loaded events: its peak resident
memory (getrusage through wait4) is its own, the events included. Hit counts must agree per
rule (a mismatch table is printed otherwise). Prints events/s, the ratios to the targets
(engine >= 10x SQLite, >= 5x per-event), peak memory and the untimed setup. Usage:
python bench/bench_detection.py  (BENCH_EVENTS=100000 to run smaller; the generated lines are
cached in $TMPDIR/vigie-bench-web). Linux only (fork, /proc).
"""
from __future__ import annotations

import copy
import ipaddress
import json
import os
import pickle
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sigma.backends.sqlite import sqliteBackend  # noqa: E402
from sigma.conditions import (  # noqa: E402
    ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT, ConditionOR,
)
from sigma.rule import SigmaRule  # noqa: E402
from sigma.types import (  # noqa: E402
    CompareOperators, SigmaBool, SigmaCasedString, SigmaCIDRExpression, SigmaCompareExpression,
    SigmaExists, SigmaExpansion, SigmaFieldReference, SigmaNull, SigmaNumber,
    SigmaRegularExpression, SigmaRegularExpressionFlag, SigmaString, SigmaTimestampPart,
    SpecialChars,
)

from pipelines.detection.engine import RuleSet, accepts, detect  # noqa: E402
from pipelines.detection.loader import load_rules, parse_rule_file, rule_files  # noqa: E402
from pipelines.detection.pipeline import vigie_pipeline  # noqa: E402
from pipelines.sources.ingest import ReadSettings, parse_slice  # noqa: E402
from pipelines.sources.plan import plan_inputs  # noqa: E402
from pipelines.resources import data_dir  # noqa: E402
from pipelines.scenario.chu import generate_chu  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
BATCH_ROWS = 65_536
DATASET = "web.apache_combined"
SIGMAHQ_WEB = REPO.parent / "shared" / "data" / "sigmahq" / "rules" / "web"
CACHE = Path(tempfile.gettempdir()) / "vigie-bench-web"
# generate_chu(events=N) writes about 0.36 N lines to web/www-access.log
SCENARIO_LINES = 1_000_000
TARGET_VS_SQLITE, TARGET_VS_PER_EVENT = 10.0, 5.0


def say(message: str) -> None:
    """A progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------

def access_logs(n_lines: int) -> list[Path]:
    """Generated www-access.log files (seeds 1, 2, ...) holding at least `n_lines` lines."""
    files, total, seed = [], 0, 1
    while total < n_lines:
        folder = CACHE / f"chu-{SCENARIO_LINES}-seed{seed}"
        log = folder / "web" / "www-access.log"
        if not (folder / "truth.json").is_file():  # written last: the scenario is complete
            say(f"  generating the hospital scenario, seed {seed} (cached in {folder})")
            generate_chu(folder, events=SCENARIO_LINES, seed=seed)
        files.append(log)
        with log.open("rb") as f:
            total += sum(1 for _ in f)
        seed += 1
    return files


def parse_access_logs(paths: list[Path], n_events: int) -> pa.Table:
    """The first `n_events` events the apache_combined parser makes of `paths`."""
    slices = plan_inputs([str(p) for p in paths], "apache_combined", split_bytes=1 << 40).slices
    parts, count = [], 0
    for piece in slices:
        for out in parse_slice(piece, ReadSettings()):
            if out.events is not None:
                parts.append(out.events)
                count += out.events.num_rows
            if count >= n_events:
                return pa.concat_tables(parts).slice(0, n_events)
    return pa.concat_tables(parts)


def batches_of(table: pa.Table, rows: int = BATCH_ROWS) -> list[pa.Table]:
    """The table cut into contiguous batches of `rows` events (zero-copy slices)."""
    return [table.slice(start, rows) for start in range(0, table.num_rows, rows)]


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

def rule_paths() -> list[Path]:
    """Every rule file: the project's, then the SigmaHQ web rules when ../shared is present."""
    paths = [data_dir("detections") / "rules"]
    return paths + ([SIGMAHQ_WEB] if SIGMAHQ_WEB.is_dir() else [])


def sigma_rules(paths: list[Path]) -> dict[str, SigmaRule]:
    """Rule id -> the pySigma rule as written (parsed by the project's loader, not processed)."""
    return {str(rule.id): rule for path in rule_files(paths)
            for rule in parse_rule_file(path).rules if isinstance(rule, SigmaRule)}


def processed(rule: SigmaRule) -> SigmaRule:
    """A copy of the rule with the project's pipeline applied (ECS fields, keywords bound)."""
    result = copy.deepcopy(rule)
    vigie_pipeline().apply(result)
    return result


def fields_of_rule(rule: SigmaRule) -> set[str]:
    """Every event field a processed rule's conditions read."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, ConditionFieldEqualsValueExpression):
            found.add(node.field)
            if isinstance(node.value, SigmaFieldReference):
                found.add(node.value.field)
        for child in getattr(node, "args", []):
            walk(child)
    for condition in rule.detection.parsed_condition:
        walk(condition.parsed)
    return found


# ---------------------------------------------------------------------------------------------
# (b) The per-event evaluator: pySigma condition tree, Python re/str, one event dict at a time
# ---------------------------------------------------------------------------------------------

Event = dict[str, Any]
Test = Callable[[Any, Any], bool]  # (one field value, never a list; its lowercase form) -> match?
Predicate = Callable[[Event, Event], bool]  # (event, its lowercase form) -> match?

_RE_FLAGS = {SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
             SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
             SigmaRegularExpressionFlag.DOTALL: re.DOTALL}
_COMPARE = {CompareOperators.LT: float.__lt__, CompareOperators.LTE: float.__le__,
            CompareOperators.GT: float.__gt__, CompareOperators.GTE: float.__ge__}


def as_text(value: Any) -> str:
    """A field value as the text a string comparison sees (true/false for booleans)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def folded(value: Any) -> Any:
    """The lowercase form of a field value (strings and list elements), computed once per event."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return [folded(x) for x in value]
    return value


def string_test(value: SigmaString) -> Test:
    """Whole-value, case-insensitive (unless cased) match of a Sigma string with wildcards:
    plain str operations for equals/startswith/endswith/contains, `re` for the other shapes."""
    cased = isinstance(value, SigmaCasedString)
    norm = (lambda s: s) if cased else str.lower
    text_of: Callable[[Any, Any], str] = (
        (lambda v, f: as_text(v)) if cased
        else (lambda v, f: f if f.__class__ is str else as_text(v).lower()))
    parts = value.s
    multi = SpecialChars.WILDCARD_MULTI
    if all(isinstance(p, str) for p in parts):
        text = norm("".join(parts))
        return lambda v, f: text_of(v, f) == text
    if len(parts) == 2 and parts[0] is multi and isinstance(parts[1], str):
        text = norm(parts[1])
        return lambda v, f: text_of(v, f).endswith(text)
    if len(parts) == 2 and parts[1] is multi and isinstance(parts[0], str):
        text = norm(parts[0])
        return lambda v, f: text_of(v, f).startswith(text)
    if len(parts) == 3 and parts[0] is multi and parts[2] is multi and isinstance(parts[1], str):
        text = norm(parts[1])
        return lambda v, f: text in text_of(v, f)
    pattern = "".join(".*" if p is multi else "." if p is SpecialChars.WILDCARD_SINGLE else re.escape(p)
                      for p in parts)
    compiled = re.compile(pattern, re.DOTALL | (0 if cased else re.IGNORECASE))
    return lambda v, f: compiled.fullmatch(as_text(v)) is not None


def regex_test(value: SigmaRegularExpression) -> Test:
    """Unanchored search of the rule's regular expression with its i/m/s flags."""
    flags = 0
    for flag in value.flags:
        flags |= _RE_FLAGS[flag]
    compiled = re.compile(str(value.regexp), flags)
    return lambda v, f: compiled.search(as_text(v)) is not None


def number(v: Any) -> float | None:
    """A field value as a number, or None when it is not one."""
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def compare_test(op: CompareOperators, limit: float) -> Test:
    """Numeric comparison with `limit` (strings holding a number count as that number)."""
    compare = _COMPARE[op]
    return lambda v, f: (n := number(v)) is not None and compare(n, limit)


def equals_number_test(limit: float) -> Test:
    """A plain number: numeric equality on numbers, textual equality on strings."""
    text = str(int(limit)) if float(limit).is_integer() else str(limit)
    return lambda v, f: v == text if isinstance(v, str) else number(v) == limit


def cidr_test(value: SigmaCIDRExpression) -> Test:
    """The value is an address inside the network (IPv4-mapped IPv6 counts as IPv4)."""
    network = value.network

    def inside(v: Any, f: Any) -> bool:
        try:
            address = ipaddress.ip_address(str(v))
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.version == network.version and address in network
    return inside


def part_test(value: SigmaTimestampPart) -> Test:
    """Equality of a date's minute/hour/day/week/month/year (UTC, ISO week)."""
    getter = {"MINUTE": lambda d: d.minute, "HOUR": lambda d: d.hour, "DAY": lambda d: d.day,
              "WEEK": lambda d: d.isocalendar()[1], "MONTH": lambda d: d.month,
              "YEAR": lambda d: d.year}[value.timestamp_part.name]
    return lambda v, f: hasattr(v, "year") and getter(v) == value.number


def value_test(value: Any) -> Test:
    """The test one Sigma value (after modifiers) applies to one field value."""
    if isinstance(value, SigmaExpansion):
        tests = [value_test(v) for v in value.values]
        return lambda v, f: any(t(v, f) for t in tests)
    if isinstance(value, SigmaString):
        return string_test(value)
    if isinstance(value, SigmaRegularExpression):
        return regex_test(value)
    if isinstance(value, SigmaCIDRExpression):
        return cidr_test(value)
    if isinstance(value, SigmaCompareExpression):
        return compare_test(value.op, float(value.number.number))
    if isinstance(value, SigmaTimestampPart):
        return part_test(value)
    if isinstance(value, SigmaNumber):
        return equals_number_test(float(value.number))
    if isinstance(value, SigmaBool):
        text = str(value.boolean).lower()
        return lambda v, f: as_text(v).lower() == text
    raise ValueError(f"value type {type(value).__name__} is not handled by the per-event evaluator")


def present(v: Any) -> bool:
    """The field has a value (a list: at least one non-null element)."""
    return any(x is not None for x in v) if isinstance(v, list) else v is not None


def field_predicate(name: str, value: Any) -> Predicate:
    """field = value for one event: any element of a list matches; null/missing never does."""
    if isinstance(value, SigmaNull):
        return lambda e, low: not present(e.get(name))
    if isinstance(value, SigmaExists):
        wanted = value.exists
        return lambda e, low: present(e.get(name)) == wanted
    if isinstance(value, SigmaFieldReference):
        return fieldref_predicate(name, value)
    test = value_test(value)

    def check(e: Event, low: Event) -> bool:
        v = e.get(name)
        if isinstance(v, list):
            return any(x is not None and test(x, f) for x, f in zip(v, low[name]))
        return v is not None and test(v, low[name])
    return check


def fieldref_predicate(name: str, ref: SigmaFieldReference) -> Predicate:
    """The field equals (starts/ends with) another field of the same event, case-insensitively."""
    def values(v: Any) -> list[str]:
        return [as_text(x).lower() for x in (v if isinstance(v, list) else [v]) if x is not None]

    def check(e: Event, low: Event) -> bool:
        others = values(e.get(ref.field))
        for mine in values(e.get(name)):
            for other in others:
                if ((ref.starts and mine.startswith(other)) or (ref.ends and mine.endswith(other))
                        or (not ref.starts and not ref.ends and mine == other)):
                    return True
        return False
    return check


def tree_predicate(tree: Any) -> Predicate:
    """A pySigma condition tree (fields bound by the pipeline) -> a predicate on event dicts."""
    if isinstance(tree, ConditionAND):
        children = [tree_predicate(a) for a in tree.args]
        return lambda e, low: all(c(e, low) for c in children)
    if isinstance(tree, ConditionOR):
        children = [tree_predicate(a) for a in tree.args]
        return lambda e, low: any(c(e, low) for c in children)
    if isinstance(tree, ConditionNOT):
        child = tree_predicate(tree.args[0])
        return lambda e, low: not child(e, low)
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        return field_predicate(tree.field, tree.value)
    raise ValueError(f"condition element {type(tree).__name__} is not handled")


def rule_predicate(rule: SigmaRule) -> Predicate:
    """A processed rule's condition(s), ORed, as one predicate."""
    conditions = [tree_predicate(c.parsed) for c in rule.detection.parsed_condition]
    return lambda e, low: any(c(e, low) for c in conditions)


def run_per_event(predicates: dict[str, Predicate], dict_batches: Iterable[list[Event]]) -> Counter:
    """Hits per rule id: every event against every rule, one at a time."""
    hits: Counter = Counter()
    for events in dict_batches:
        for event in events:
            low = {name: folded(value) for name, value in event.items()}
            for rule_id, matches in predicates.items():
                if matches(event, low):
                    hits[rule_id] += 1
    return hits


# ---------------------------------------------------------------------------------------------
# (c) pySigma's SQLite backend on SQLite
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def sqlite_regexp(pattern: str, value: Any) -> bool:
    """SQLite's `value REGEXP pattern`: an unanchored search, as the Sigma specification says."""
    return value is not None and _regex(pattern).search(str(value)) is not None


def sql_type(arrow_type: pa.DataType) -> str:
    """The SQLite column declaration for an Arrow type (text collates case-insensitively)."""
    if pa.types.is_integer(arrow_type):
        return "INTEGER"
    if pa.types.is_floating(arrow_type):
        return "REAL"
    return "TEXT COLLATE NOCASE"


def sql_value(v: Any) -> Any:
    """A Python value as stored in SQLite: ISO text for times, JSON for lists, text booleans."""
    if isinstance(v, list):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if hasattr(v, "isoformat"):
        return v.isoformat().replace("+00:00", "Z")
    return v


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_sqlite(batches: list[pa.Table], columns: list[str]) -> sqlite3.Connection:
    """An in-memory SQLite table `logs` holding `columns` of the events (missing ones as NULL)."""
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, sqlite_regexp, deterministic=True)
    schema = batches[0].schema
    stored = [c for c in columns if c in schema.names]
    declared = [f"{quote(c)} {sql_type(schema.field(c).type) if c in stored else 'TEXT COLLATE NOCASE'}"
                for c in columns]
    db.execute(f"CREATE TABLE logs ({', '.join(declared)})")
    insert = (f"INSERT INTO logs ({', '.join(map(quote, stored))}) "
              f"VALUES ({', '.join('?' for _ in stored)})")
    for batch in batches:
        db.executemany(insert, zip(*[[sql_value(v) for v in batch[c].to_pylist()] for c in stored]))
    db.commit()
    return db


def sqlite_queries(rules: dict[str, SigmaRule]) -> tuple[dict[str, str], dict[str, str]]:
    """Rule id -> the SQLite query of the backend (pipeline applied); id -> why not converted."""
    queries, failures = {}, {}
    for rule_id, rule in rules.items():
        backend = sqliteBackend(processing_pipeline=vigie_pipeline())
        try:
            (queries[rule_id],) = backend.convert_rule(copy.deepcopy(rule))
        except Exception as exc:  # noqa: BLE001 - any backend refusal is reported per rule
            failures[rule_id] = f"{type(exc).__name__}: {exc}"
    return queries, failures


def run_sqlite(db: sqlite3.Connection, queries: dict[str, str]) -> Counter:
    """Hits per rule id: each rule's query counted over the whole table."""
    return Counter({rule_id: db.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]
                    for rule_id, query in queries.items()})


# ---------------------------------------------------------------------------------------------
# (a) The engine; running each evaluator in its own process; the report
# ---------------------------------------------------------------------------------------------

def run_engine(ruleset: RuleSet, batches: list[pa.Table]) -> Counter:
    """Hits per rule id: detect() over each Arrow batch."""
    hits: Counter = Counter()
    for batch in batches:
        hits.update(detect(ruleset, batch)["rule.id"].to_pylist())
    return hits


@dataclass(frozen=True)
class Phase:
    """One evaluator's run: hits per rule, the timed seconds, the untimed preparation (events
    to dicts, SQLite insert) and the peak resident memory of the process that ran it."""

    name: str
    hits: Counter
    seconds: float
    setup_seconds: float
    peak_mib: float


Work = Callable[[], tuple[Counter, float, float]]  # -> (hits, setup seconds, timed seconds)


def timed(setup: Callable[[], Any], run: Callable[[Any], Counter]) -> tuple[Counter, float, float]:
    """Prepare (untimed), then run on what was prepared (timed)."""
    start = time.perf_counter()
    prepared = setup()
    middle = time.perf_counter()
    hits = run(prepared)
    return hits, middle - start, time.perf_counter() - middle


def in_child(name: str, work: Work) -> Phase:
    """Run `work` in a forked child (it shares the loaded events), so that each evaluator's
    peak memory is its own: the child's maximum resident set, from wait4."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        with os.fdopen(write_end, "wb") as out:
            pickle.dump(work(), out)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as source:
        hits, setup_seconds, seconds = pickle.load(source)
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise RuntimeError(f"the {name} phase failed (status {status})")
    return Phase(name, hits, seconds, setup_seconds, usage.ru_maxrss / 1024)


def current_mib() -> float:
    """Resident memory of this process now, in MiB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def mismatches(rule_ids: Iterable[str], phases: list[Phase]) -> list[tuple[str, list[int]]]:
    """(rule id, hits per phase) for every rule whose hit counts differ between the phases."""
    rows = [(rule_id, [phase.hits[rule_id] for phase in phases]) for rule_id in rule_ids]
    return [(rule_id, counts) for rule_id, counts in rows if len(set(counts)) > 1]


def report(n: int, rules: str, baseline_mib: float, phases: list[Phase], refused: dict[str, str],
           titles: dict[str, str], compared: list[str]) -> int:
    """Print the figures and the hit comparison; 1 when hit counts differ."""
    print(f"\nDetection benchmark: {n:,} web events ({DATASET}, generated hospital scenario), "
          f"{rules}, {os.cpu_count()} cores; events loaded: {baseline_mib:,.0f} MiB resident")
    print(f"  {'evaluator':<32}{'seconds':>9}{'events/s':>12}{'peak RSS MiB':>14}"
          f"{'untimed setup s':>17}")
    for phase in phases:
        print(f"  {phase.name:<32}{phase.seconds:>9.2f}{n / phase.seconds:>12,.0f}"
              f"{phase.peak_mib:>14,.0f}{phase.setup_seconds:>17.2f}")
    engine, per_event, sqlite = phases
    for other, target in ((sqlite, TARGET_VS_SQLITE), (per_event, TARGET_VS_PER_EVENT)):
        ratio = other.seconds / engine.seconds
        print(f"  engine vs {other.name.split()[0]:<10} {ratio:7.1f}x (target >= {target:.0f}x) "
              f"{'ok' if ratio >= target else 'BELOW TARGET'}")
    print(f"  hits: {sum(engine.hits.values()):,} signals from {len(engine.hits)} rules")
    for rule_id, reason in refused.items():
        print(f"  the SQLite backend refused {titles[rule_id]!r}: {reason}")
    diff = mismatches(compared, phases)
    if not diff:
        print(f"  same hit counts per rule on all three sides ({len(compared)} rules compared)")
        return 0
    print(f"\n  HIT COUNTS DIFFER for {len(diff)} rule(s):")
    print(f"  {'rule':<60}" + "".join(f"{phase.name.split()[0]:>11}" for phase in phases))
    for rule_id, counts in diff:
        print(f"  {titles[rule_id][:58]:<60}" + "".join(f"{c:>11,}" for c in counts))
    return 1


def main() -> int:
    started = time.perf_counter()
    say(f"bench_detection: {EVENTS:,} Apache combined events of the generated hospital scenario")
    batches = batches_of(parse_access_logs(access_logs(EVENTS), EVENTS))
    n_events = sum(batch.num_rows for batch in batches)
    say(f"  parsed {n_events:,} events into {len(batches)} batches "
        f"({time.perf_counter() - started:.0f} s)")
    paths = rule_paths()
    ruleset = load_rules(paths)
    written = sigma_rules(paths)
    routed = {rule.id: processed(written[rule.id]) for rule in ruleset.rules
              if accepts(rule.datasets, DATASET)}
    predicates = {rule_id: rule_predicate(rule) for rule_id, rule in routed.items()}
    needed = sorted({f for rule in routed.values() for f in fields_of_rule(rule)} | {"event.id"})
    queries, refused = sqlite_queries({rule_id: written[rule_id] for rule_id in routed})
    baseline = current_mib()

    say("  (a) engine")
    engine = in_child("engine (detect on Arrow)", lambda: timed(
        lambda: None, lambda _: run_engine(ruleset, batches)))
    say("  (b) per-event")
    per_event = in_child("per-event (Python re/str)", lambda: timed(
        lambda: [b.select([c for c in needed if c in b.column_names]).to_pylist() for b in batches],
        lambda dicts: run_per_event(predicates, dicts)))
    say("  (c) sqlite")
    sqlite = in_child("sqlite (pySigma backend)", lambda: timed(
        lambda: load_sqlite(batches, needed), lambda db: run_sqlite(db, queries)))

    rules = (f"{len(ruleset.rules)} rules loaded ({len(ruleset.skipped)} skipped), "
             f"{len(routed)} routed to {DATASET}")
    compared = [rule_id for rule_id in routed if rule_id not in refused]
    titles = {rule_id: rule.title for rule_id, rule in routed.items()}
    return report(n_events, rules, baseline, [engine, per_event, sqlite], refused, titles,
                  compared)


if __name__ == "__main__":
    sys.exit(main())
