"""Conformance: Vigie's engine vs pySigma's SQLite backend (Zircolite's engine), rule by rule.

Rules: the 45 SigmaHQ web rules (../shared/data/sigmahq/rules/web) and every project rule
(detections/rules). Events: the generated hospital scenario (135,000 lines, seed 7: more than
100,000 events after mail stitching) plus the real logs of ../shared/data/logs (the Apache
access log, fail2ban's mail, web and VPN samples), all through `vigie replay` and read back
from its Parquet output; then, so that nearly every rule fires somewhere, the events of the
project rules' test files (hits and near misses) and one witness event per rule built from its
condition, as written and upper-cased (most SigmaHQ rules never fire on the corpus).

Both sides get the same rules through the same processing pipeline (vigie_pipeline()) and the
same events, and each rule sees only the datasets its log source routes to. Our side:
`detect()`. SQLite side, built the way Zircolite builds its table:
- one in-memory table `events`, a column per ECS field the rules use (dotted names, quoted),
  text columns declared COLLATE NOCASE (Sigma string equality is case-insensitive), numbers as
  INTEGER/REAL, times as ISO 8601 text, booleans as 'true'/'false';
- list fields (email.to.address, ...) are stored as JSON arrays; for each rule a view joins
  `json_each` on the list fields the rule uses, so the backend's query sees one row per element
  (an empty or missing list: one row with NULL) and an event is a hit when any of its rows is;
- REGEXP, which SQLite leaves to the application, is registered as the specification defines
  `re`: an unanchored search (Python `re.search`; the engine runs RE2, and the rules' patterns
  use only syntax both read alike).
Hit sets (event ids) must be identical per rule, except for the rules of KNOWN_DEVIATIONS, where
the SQLite backend departs from the specification: for those the test asserts the stated
direction (and that the deviation still shows, so the table cannot go stale). The events above
show no deviation, so a few hand-written ECS events (PROBES) are added where the backend's
known departures (ASCII-only case folding, string-prefix CIDR, no list type) meet a rule.
What needs no probe: keywords are bound to event.original by the pipeline (the backend itself
refuses unbound keywords); REGEXP is registered unanchored (registered with re.match, every
`re` rule would silently turn into a prefix match); `null` and NOT over a missing field are
handled by the backend (IS NULL, COALESCE); |cased would use GLOB, which is right.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import re
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pytest
from sigma.backends.sqlite import sqliteBackend
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators, SigmaCIDRExpression, SigmaCompareExpression, SigmaExists, SigmaExpansion,
    SigmaNumber, SigmaString,
)

from pipelines.cli import main as vigie
from pipelines.detection.engine import RuleSet, accepts, detect
from pipelines.detection.loader import load_rules, parse_rule_file, rule_files
from pipelines.detection.pipeline import route, vigie_pipeline
from pipelines.authoring import rule_tests
from pipelines.errors import VigieError
from pipelines.resources import data_dir
from pipelines.schema import event_schema
from pipelines.scenario.chu import generate_chu

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SIGMAHQ_WEB = SHARED / "sigmahq" / "rules" / "web"
PROJECT_RULES = data_dir("detections") / "rules"
RULE_FOLDERS = [PROJECT_RULES, SIGMAHQ_WEB]
APACHE_LOG = SHARED / "logs" / "apache-elastic-examples" / "apache_logs"
FAIL2BAN = SHARED / "logs" / "fail2ban"
# fail2ban's sample files the parsers read, by format. Their `# failJSON` comment lines keep
# format detection from choosing, so the format is forced (the comments become dead letters).
# fail2ban's samples are Zurich wall-clock times of 2004-2005 (syslog lines carry no year).
FAIL2BAN_FILES = {
    "postfix": ["mail/postfix"],
    "exim": ["mail/exim", "mail/exim-spam"],
    "apache_combined": ["web/apache-badbots", "web/apache-fakegooglebot", "web/apache-pass",
                        "web/nginx-bad-request", "web/nginx-botsearch", "web/php-url-fopen",
                        "web/traefik-auth"],
    "squid": ["web/squid"],
    "openvpn": ["vpn/openvpn"],
}
FAIL2BAN_FLAGS = ["--timezone", "Europe/Zurich", "--reference-time", "2005-08-15T00:00:00Z"]
GENERATED_LINES, SEED, MIN_GENERATED_EVENTS = 135_000, 7, 100_000
SIGMAHQ_RULES = 45

pytestmark = pytest.mark.skipif(not SIGMAHQ_WEB.is_dir() or not APACHE_LOG.is_file()
                                or not FAIL2BAN.is_dir(),
                                reason=f"reference data not found under {SHARED} "
                                       "(clone the project beside ../shared)")


@dataclass(frozen=True)
class Deviation:
    """How the SQLite backend departs from the specification on one rule, and why ours doesn't.

    kind: "sqlite_misses" (SQLite's hits are a strict subset of ours), "sqlite_extra" (a strict
    superset) or "sqlite_refuses" (the backend cannot convert a rule our engine evaluates)."""

    kind: str
    why: str


# Rule title -> the deviation (each shown by one of the PROBES below).
KNOWN_DEVIATIONS: dict[str, Deviation] = {
    "Mail Subject Typical of Payroll, Password or Shared-Document Lures": Deviation(
        "sqlite_misses",
        "SQLite's LIKE (and NOCASE) fold case for ASCII letters only, so 'RÉINITIALISER VOTRE' "
        "does not contain 'réinitialiser votre' for the backend. Sigma strings are "
        "case-insensitive whatever the script; the engine uses RE2's Unicode case folding."),
    "Inbound Mail Claiming the Hospital's Own Domain": Deviation(
        "sqlite_extra",
        "The backend writes |cidr as text prefixes (LIKE '10.%'), so an address in another "
        "notation, here the IPv4-mapped form ::ffff:10.20.30.40 that dual-stack servers log, "
        "is not inside 10.0.0.0/8 and the internal-client filter lets the event through. The "
        "engine compares addresses as numbers (an IPv4-mapped address is its IPv4 address, as "
        "in Elasticsearch's ip type)."),
    "Mail From a Look-Alike of the Hospital's Domain": Deviation(
        "sqlite_extra",
        "SQLite has no list type: the backend's query sees a list field one element per row, "
        "so it asks whether one sender both looks alike and is not the hospital's. The rule "
        "(and Elasticsearch, and the engine) apply each field condition to all the values: "
        "some sender looks alike AND no sender is the hospital's; an envelope naming both a "
        "look-alike and the real domain is not a hit."),
}

# Hand-written events, each where one known departure of the SQLite backend meets a rule.
WRITTEN_EVENT_TIME = "2026-11-27T17:30:00+00:00"
PROBES = [
    {"event.id": "probe-unicode-case", "event.dataset": "mail.postfix", "event.module": "mail",
     "email.direction": "inbound", "email.from.address": ["it-support@exemple-livraison.fr"],
     "email.subject": "RÉINITIALISER VOTRE ACCÈS MESSAGERIE"},
    {"event.id": "probe-ipv4-mapped", "event.dataset": "mail.postfix", "event.module": "mail",
     "email.direction": "inbound", "email.from.address": ["paie@chu-exemple.fr"],
     "source.ip": "::ffff:10.20.30.40"},
    {"event.id": "probe-list-field", "event.dataset": "mail.exim", "event.module": "mail",
     "email.direction": "inbound",
     "email.from.address": ["paie@chu-exernple.fr", "paie@chu-exemple.fr"]},
]


def rule_test_events() -> pa.Table:
    """The events of every project rule's test file (match and no_match cases: each rule's
    hits and near misses), with ids of their own; a case that cannot be built is left out
    (`vigie rules test` reports it)."""
    tables = []
    for rule in load_rules([PROJECT_RULES]).rules:
        path = rule_tests.tests_path_for(Path(rule.path))
        for k, (expect, case) in enumerate(rule_tests.read_cases(path) if path.is_file() else []):
            try:
                events = rule_tests.case_events(case, rule, "case")
            except VigieError:
                continue
            ids = pa.array([f"test-{rule.id}-{expect}-{k}-{row}" for row in range(events.num_rows)])
            tables.append(events.set_column(events.schema.get_field_index("event.id"), "event.id", ids))
    return pa.concat_tables(tables, promote_options="permissive")


def witness_value(value: Any) -> Any:
    """A value that satisfies one Sigma value (wildcards as 'x'), or None when none is made up
    (regular expressions, field references, null, absence)."""
    if isinstance(value, SigmaExpansion):
        return witness_value(value.values[0])
    if isinstance(value, SigmaString):
        return "".join(part if isinstance(part, str) else "x" for part in value.s)
    if isinstance(value, SigmaCompareExpression):
        step = {CompareOperators.GT: 1, CompareOperators.LT: -1}.get(value.op, 0)
        return value.number.number + step
    if isinstance(value, SigmaNumber):
        return value.number
    if isinstance(value, SigmaCIDRExpression):
        return str(value.network.network_address + 1)
    if isinstance(value, SigmaExists) and value.exists:
        return "x"
    return None


def witness(tree: Any) -> dict[str, Any]:
    """Field values meant to satisfy a condition tree: every part of an AND, the first
    alternative of an OR, nothing for a NOT (its fields stay missing); two strings for one
    field are joined by a space."""
    if isinstance(tree, ConditionOR):
        return witness(tree.args[0])
    if isinstance(tree, ConditionAND):
        merged: dict[str, Any] = {}
        for part in map(witness, tree.args):
            for name, value in part.items():
                both_text = isinstance(merged.get(name), str) and isinstance(value, str)
                merged[name] = f"{merged[name]} {value}" if both_text else merged.get(name, value)
        return merged
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        value = witness_value(tree.value)
        return {} if value is None else {tree.field: value}
    return {}


def typed(name: str, value: Any, schema: pa.Schema) -> Any:
    """`value` made to fit the field's Arrow type (None when it cannot)."""
    ftype = schema.field(name).type
    if pa.types.is_list(ftype):
        element = typed_scalar(value, ftype.value_type)
        return None if element is None else [element]
    return typed_scalar(value, ftype)


def typed_scalar(value: Any, ftype: pa.DataType) -> Any:
    """`value` as an integer or a string for such a type (None otherwise)."""
    if pa.types.is_integer(ftype):
        return int(value) if str(value).lstrip("-").isdigit() else None
    if pa.types.is_string(ftype):
        return str(value)
    return None


def witness_events(rules: dict[str, SigmaRule], datasets: list[str]) -> pa.Table:
    """For every rule, an event built from its condition (`witness`) in the first archived
    dataset it routes to, and the same event with its text upper-cased. Hit or not, both sides
    must agree on them; they reach the rules the corpus never triggers (most SigmaHQ rules)."""
    schema, rows = event_schema(), []
    for rule_id, rule in rules.items():
        routed = [d for d in datasets if accepts(tuple(route(rule)), d)]
        try:
            processed = copy.deepcopy(rule)
            vigie_pipeline().apply(processed)
        except SigmaError:
            continue
        typed_values = {name: typed(name, value, schema) for name, value in
                        witness(processed.detection.parsed_condition[0].parsed).items()
                        if name in schema.names}
        values = {name: value for name, value in typed_values.items() if value is not None}
        for variant, text in (("as-written", str), ("upper-cased", str.upper)):
            row = {name: [text(v) for v in value] if isinstance(value, list) else
                   text(value) if isinstance(value, str) else value for name, value in values.items()}
            rows.append({"@timestamp": dt.datetime.fromisoformat(WRITTEN_EVENT_TIME), "event.kind": "event",
                         "event.original": f"witness of {rule.title}", **row,
                         "event.id": f"witness-{rule_id}-{variant}",
                         "event.dataset": routed[0] if routed else None,
                         "event.module": routed[0].split(".")[0] if routed else None})
    return pa.Table.from_pylist(rows, schema=schema)


def probe_events() -> pa.Table:
    """The PROBES as event rows (every other field null)."""
    rows = [{"@timestamp": dt.datetime.fromisoformat(WRITTEN_EVENT_TIME), "event.kind": "event",
             "event.original": f"hand-written probe {probe['event.id']}", **probe}
            for probe in PROBES]
    return pa.Table.from_pylist(rows, schema=event_schema())


@dataclass(frozen=True)
class Outcome:
    """One rule on both sides: hit event ids, or None with the reason the side refused it."""

    title: str
    ours: frozenset[str] | None
    ours_refusal: str | None
    sqlite: frozenset[str] | None
    sqlite_refusal: str | None


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Corpus:
    """The replayed events, and the folder of the generated scenario among their inputs."""

    events: pa.Table
    generated: Path


def replayed(inputs: list[Path], out: Path, flags: list[str]) -> pa.Table:
    """`vigie replay INPUTS --out OUT FLAGS`, its events read back from Parquet."""
    assert vigie(["replay", *map(str, inputs), "--out", str(out), *flags]) == 0
    table = pads.dataset(out / "events", format="parquet", partitioning="hive").to_table()
    return table.drop_columns([c for c in ("dataset", "date") if c in table.column_names])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    """The generated scenario and the real logs, replayed, read back from Parquet."""
    work = tmp_path_factory.mktemp("conformance")
    generate_chu(work / "chu", events=GENERATED_LINES, seed=SEED)
    parts = [replayed([work / "chu", APACHE_LOG], work / "replay", ["--timezone", "Europe/Paris"])]
    parts += [replayed([FAIL2BAN / f for f in files], work / f"fail2ban-{fmt}",
                       ["--format", fmt, *FAIL2BAN_FLAGS])
              for fmt, files in FAIL2BAN_FILES.items()]
    parts += [rule_test_events(), probe_events()]
    archived = sorted(set(d for part in parts for d in part["event.dataset"].drop_null().to_pylist()))
    parts.append(witness_events(written_rules(), archived))
    return Corpus(pa.concat_tables(parts, promote_options="permissive"), work / "chu")


def count_from(table: pa.Table, folder: Path) -> int:
    """Events read from files under `folder`."""
    prefix = str(folder) + "/"
    return sum(1 for p in table["log.file.path"].to_pylist() if p and p.startswith(prefix))


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------



def written_rules() -> dict[str, SigmaRule]:
    """Rule id -> the rule as written (parsed by the project's loader, pipeline not applied)."""
    return {str(rule.id): rule for path in rule_files(RULE_FOLDERS)
            for rule in parse_rule_file(path).rules if isinstance(rule, SigmaRule)}


# ---------------------------------------------------------------------------------------------
# The SQLite side
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def regexp(pattern: str, value: Any) -> bool:
    """SQLite's `value REGEXP pattern` as the Sigma specification defines `re`: unanchored."""
    return value is not None and _compiled(pattern).search(str(value)) is not None


def is_list(arrow_type: pa.DataType) -> bool:
    return pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)


def declaration(arrow_type: pa.DataType) -> str:
    """SQLite column type: numbers as such, text (and anything else) case-insensitive."""
    if pa.types.is_integer(arrow_type):
        return "INTEGER"
    if pa.types.is_floating(arrow_type):
        return "REAL"
    if is_list(arrow_type):
        return "TEXT"  # a JSON array, exploded per rule by json_each
    return "TEXT COLLATE NOCASE"


def stored(value: Any) -> Any:
    """A value as the SQLite table holds it."""
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return value


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_table(events: pa.Table, columns: list[str]) -> sqlite3.Connection:
    """An in-memory database with the table `events` (the given columns that exist)."""
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, regexp, deterministic=True)
    names = [c for c in dict.fromkeys(["event.id", "event.dataset", *columns]) if c in events.column_names]
    db.execute(f"CREATE TABLE events ({', '.join(quote(c) + ' ' + declaration(events.schema.field(c).type) for c in names)})")
    insert = f"INSERT INTO events VALUES ({', '.join('?' for _ in names)})"
    for batch in events.select(names).to_batches(65_536):
        db.executemany(insert, zip(*[[stored(v) for v in batch.column(i).to_pylist()]
                                     for i in range(batch.num_columns)]))
    return db


def rule_view(name: str, fields: list[str], datasets: list[str], schema: pa.Schema) -> str:
    """A view of `events` for one rule: its routed datasets, one row per list element."""
    columns, joins = ['t."event.id"'], []
    for k, field in enumerate(f for f in fields if f != "event.id"):
        if field not in schema.names:
            columns.append(f"NULL AS {quote(field)}")
        elif is_list(schema.field(field).type):
            joins.append(f"LEFT JOIN json_each(t.{quote(field)}) j{k}")
            columns.append(f"j{k}.value COLLATE NOCASE AS {quote(field)}")
        else:
            columns.append(f"t.{quote(field)}")
    routed = ", ".join("'" + d.replace("'", "''") + "'" for d in datasets) or "NULL"
    return (f"CREATE TEMP VIEW {name} AS SELECT {', '.join(columns)} FROM events t "
            f"{' '.join(joins)} WHERE t.\"event.dataset\" IN ({routed})")


@dataclass(frozen=True)
class SqliteRule:
    """A rule converted by pySigma's SQLite backend: its queries over the view, and fields."""

    view: str
    queries: list[str]
    fields: list[str]


def convert_for_sqlite(rule: SigmaRule, view: str) -> SqliteRule:
    """Convert (a copy of) the rule through the project's pipeline; raises when the backend
    cannot express it."""
    backend = sqliteBackend(processing_pipeline=vigie_pipeline(), table=view)
    processed = copy.deepcopy(rule)
    queries = backend.convert_rule(processed)
    return SqliteRule(view, queries, backend.required_fields(processed))


def sqlite_hits(db: sqlite3.Connection, converted: SqliteRule) -> frozenset[str]:
    """Event ids any of the rule's queries returns."""
    return frozenset(row[0] for query in converted.queries
                     for row in db.execute(f'SELECT DISTINCT "event.id" FROM ({query})'))


# ---------------------------------------------------------------------------------------------
# Both sides, rule by rule
# ---------------------------------------------------------------------------------------------

def our_hits(ruleset: RuleSet, events: pa.Table) -> dict[str, frozenset[str]]:
    """Rule id -> event ids of its signals (every loaded rule, hit or not)."""
    signals = detect(ruleset, events)
    found: dict[str, set[str]] = {rule.id: set() for rule in ruleset.rules}
    for rule_id, event_id in zip(signals["rule.id"].to_pylist(), signals["event.id"].to_pylist()):
        found[rule_id].add(event_id)
    return {rule_id: frozenset(ids) for rule_id, ids in found.items()}


@pytest.fixture(scope="module")
def outcomes(corpus) -> dict[str, Outcome]:
    """Rule id -> what each side made of the rule over the events."""
    events = corpus.events
    ruleset = load_rules(RULE_FOLDERS)
    ours = our_hits(ruleset, events)
    skipped = {s.title: s.reason for s in ruleset.skipped if s.title}
    archived = sorted(set(events["event.dataset"].drop_null().to_pylist()))
    written = written_rules()
    converted, refused = {}, {}
    for k, (rule_id, rule) in enumerate(written.items()):
        try:
            converted[rule_id] = convert_for_sqlite(rule, f"rule_{k}")
        except Exception as exc:  # noqa: BLE001 - a refusal is an outcome, compared below
            refused[rule_id] = f"{type(exc).__name__}: {exc}"
    db = sqlite_table(events, sorted({f for c in converted.values() for f in c.fields}))
    results = {}
    for rule_id, rule in written.items():
        sqlite_side = None
        if rule_id in converted:
            datasets = [d for d in archived if accepts(tuple(route(rule)), d)]
            db.execute(rule_view(converted[rule_id].view, converted[rule_id].fields, datasets, events.schema))
            sqlite_side = sqlite_hits(db, converted[rule_id])
        results[rule_id] = Outcome(rule.title, ours.get(rule_id), skipped.get(rule.title),
                                   sqlite_side, refused.get(rule_id))
    return results


def difference(outcome: Outcome) -> str | None:
    """The kind of disagreement between the sides (None when they agree)."""
    if outcome.ours is None and outcome.sqlite is None:
        return None  # both refuse the rule (e.g. a taxonomy field Vigie cannot serve)
    if outcome.ours is None:
        return "engine_refuses"
    if outcome.sqlite is None:
        return "sqlite_refuses"
    if outcome.ours == outcome.sqlite:
        return None
    if outcome.sqlite < outcome.ours:
        return "sqlite_misses"
    if outcome.sqlite > outcome.ours:
        return "sqlite_extra"
    return "both_differ"


def describe(outcome: Outcome) -> str:
    """One line for a failure message: the rule and both sides' results."""
    def side(hits, refusal):
        return f"refused ({refusal})" if hits is None else f"{len(hits)} hits"
    only_ours = sorted((outcome.ours or frozenset()) - (outcome.sqlite or frozenset()))[:3]
    only_sqlite = sorted((outcome.sqlite or frozenset()) - (outcome.ours or frozenset()))[:3]
    return (f"{outcome.title}: ours {side(outcome.ours, outcome.ours_refusal)}, sqlite "
            f"{side(outcome.sqlite, outcome.sqlite_refusal)}; only ours e.g. {only_ours}, "
            f"only sqlite e.g. {only_sqlite}")


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------

def test_corpus_is_large_enough_and_includes_the_real_logs(corpus):
    assert count_from(corpus.events, corpus.generated) >= MIN_GENERATED_EVENTS
    assert count_from(corpus.events, SHARED / "logs" / "apache-elastic-examples") > 9_900
    assert count_from(corpus.events, FAIL2BAN) > 100


def test_every_rule_is_compared(outcomes):
    assert len(rule_files([SIGMAHQ_WEB])) == SIGMAHQ_RULES
    assert len(outcomes) >= SIGMAHQ_RULES + 30
    titles = [o.title for o in outcomes.values()]
    assert len(titles) == len(set(titles)), "rule titles must be unique (deviations are keyed by title)"


def test_hit_sets_are_identical_except_documented_deviations(outcomes):
    undocumented = [describe(o) + f" [{difference(o)}]" for o in outcomes.values()
                    if difference(o) and o.title not in KNOWN_DEVIATIONS]
    assert not undocumented, "engine and SQLite backend disagree:\n" + "\n".join(undocumented)


def test_documented_deviations_show_in_the_stated_direction(outcomes):
    by_title = {o.title: o for o in outcomes.values()}
    wrong = [f"{title}: expected {d.kind}, observed {difference(by_title[title]) or 'no difference'}"
             + (f" — {describe(by_title[title])}" if title in by_title else "")
             for title, d in KNOWN_DEVIATIONS.items()
             if title not in by_title or difference(by_title[title]) != d.kind]
    assert not wrong, "KNOWN_DEVIATIONS is stale:\n" + "\n".join(wrong)


def test_the_comparison_is_not_vacuous(outcomes):
    """Nearly every rule fires on both sides (corpus, rule tests, witnesses), so an agreement
    means something."""
    evaluated = [o for o in outcomes.values() if o.ours is not None and o.sqlite is not None]
    silent = sorted(o.title for o in evaluated if not (o.ours and o.sqlite))
    assert len(silent) <= len(evaluated) // 10, f"rules that never fire: {silent}"
