"""Per-rule test files: `<rule>.tests.yml` beside `<rule>.yml`, run against the compiled rule.

Format (fixed):

    match:            # each case must produce a signal for the rule
      - name: union select in query
        line: '203.0.113.7 - - [27/Nov/2026:19:02:11 +0100] "GET /?q=1 UNION SELECT 1 HTTP/1.1" 200 5 "-" "x"'
        format: apache_combined
      - name: as an ECS event
        event: {url.query: "id=1 union select password", event.dataset: web.apache_combined}
    no_match:         # each case must NOT produce a signal
      - ...

`event:` gives flat dotted ECS fields (missing ones are null; a scalar for a list field is a
one-element list; event.dataset defaults to the first dataset the rule routes to, a family
route meaning its first format). `line:` (or `lines:`, a list) is parsed by the project's
parser of `format` with ParseContext(timezone="Europe/Paris"); the fragments of a stitched
format (postfix, exim) are stitched into messages first. A match case passes when at least one
of its events matches; a no_match case when none does. A case that still holds the scaffold's
CHANGE-ME placeholder fails without running: it is not written yet. When a rule file holds
several rules, its test file's cases run against each of them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from pipelines.authoring.scaffold import PLACEHOLDER, placeholders
from pipelines.detection.engine import CompiledRule, RuleSet, match_rule
from pipelines.errors import VigieError
from pipelines.parsing import ALL_FORMATS, format_by_name, stitch
from pipelines.parsing.base import LineBatch, ParseContext
from pipelines.schema import event_schema

TEST_TIMEZONE = "Europe/Paris"
EXPECTATIONS = ("match", "no_match")
CASE_SOURCES = ("event", "line", "lines")


class CaseError(VigieError):
    """A test case that cannot be run as written (unknown field, unknown format, ...)."""


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one test case of one rule."""

    tests_path: Path
    expect: str  # match | no_match, or "file" for a test file that cannot be read
    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        """One output line: `ok   FILE: match: NAME` or `FAIL FILE: ...: why`."""
        status = "ok  " if self.ok else "FAIL"
        detail = f": {self.detail}" if self.detail else ""
        return f"{status} {self.tests_path}: {self.expect}: {self.name}{detail}"


def tests_path_for(rule_path: Path) -> Path:
    """`x.yml` -> `x.tests.yml` (and `x.yaml` -> `x.tests.yaml`)."""
    return rule_path.with_name(f"{rule_path.stem}.tests{rule_path.suffix}")


def is_correlation_tests(path: Path) -> bool:
    """True for a correlation test file (a mapping with `cases:`), which sits beside a file
    holding correlation rules and is run by pipelines/correlation/rule_tests.py."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(content, dict) and "cases" in content


def read_cases(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """A test file -> (expectation, case) pairs; VigieError (saying what, not where) when it
    is not in the format."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VigieError(f"cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise VigieError(f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(content, dict) or not content:
        raise VigieError("expected a mapping with `match:` and/or `no_match:` lists")
    unknown = set(content) - set(EXPECTATIONS)
    if unknown:
        raise VigieError(f"unknown key(s) {sorted(unknown)} (expected match, no_match)")
    cases = []
    for expect in EXPECTATIONS:
        entries = content.get(expect) or []
        if not isinstance(entries, list):
            raise VigieError(f"`{expect}` must be a list of cases")
        for k, case in enumerate(entries, 1):
            sources = [s for s in CASE_SOURCES if isinstance(case, dict) and s in case]
            if not isinstance(case, dict) or len(sources) != 1:
                raise VigieError(f"{expect} case {k} needs exactly one of "
                                 "`event:`, `line:` or `lines:`")
            if sources[0] != "event" and "format" not in case:
                raise VigieError(f"{expect} case {k} gives a log line but no `format:`")
            cases.append((expect, case))
    return cases


def default_dataset(rule: CompiledRule) -> str:
    """The first dataset the rule routes to (a family route: its first known format)."""
    entry = rule.datasets[0]
    if "." in entry:
        return entry
    return next((f.dataset for f in ALL_FORMATS if f.family == entry), entry)


def _timestamp(value: Any) -> dt.datetime:
    """A YAML timestamp (datetime or ISO string) -> an aware UTC datetime."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise CaseError(f"@timestamp {value!r} is not an ISO 8601 time") from exc
    if not isinstance(value, dt.datetime):
        raise CaseError(f"@timestamp {value!r} is not a time")
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def event_table(values: dict[str, Any], dataset: str, event_id: str) -> pa.Table:
    """Flat dotted ECS fields -> a one-row event table (missing fields null)."""
    schema = event_schema()
    row: dict[str, Any] = {"event.id": event_id, "event.dataset": dataset,
                           "event.module": dataset.split(".")[0]}
    for name, value in values.items():
        if name not in schema.names:
            raise CaseError(f"unknown field {name!r} (not in schemas/fields.yml)")
        ftype = schema.field(name).type
        if pa.types.is_list(ftype) and value is not None and not isinstance(value, list):
            value = [value]
        if pa.types.is_timestamp(ftype) and value is not None:
            value = _timestamp(value)
        row[name] = value
    try:
        return pa.Table.from_pylist([row], schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise CaseError(f"a value does not fit its field's type: {exc}") from exc


def parsed_events(lines: list[str], format_name: str, source: str) -> pa.Table:
    """Raw log lines -> events, through the parser of `format_name` (and stitching)."""
    fmt = format_by_name(format_name)
    if fmt is None:
        known = ", ".join(f.name for f in ALL_FORMATS)
        raise CaseError(f"unknown format {format_name!r} (known: {known})")
    sizes = np.array([len(line.encode("utf-8")) + 1 for line in lines], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    batch = LineBatch(source, "0" * 16, pa.array(lines, pa.string()), offsets)
    result = fmt.parse(batch, ParseContext(timezone=TEST_TIMEZONE))
    tables = [result.events]
    if result.fragments is not None and result.fragments.num_rows:
        grouped: dict[str, list[dict]] = {}
        for key, row in stitch.fragments_to_rows(result.fragments):
            grouped.setdefault(key, []).append(row)
        tables.append(stitch.rows_to_table(
            [stitch.stitch_message(rows, key) for key, rows in grouped.items()]))
    events = pa.concat_tables(tables)
    if not events.num_rows:
        reasons = sorted(set(result.dead_letters.column("reason").to_pylist())) or ["skipped"]
        raise CaseError(f"the {format_name} parser made no event of it: {'; '.join(reasons)}")
    return events


def case_events(case: dict[str, Any], rule: CompiledRule, case_id: str) -> pa.Table:
    """The events of one test case."""
    if "event" in case:
        if not isinstance(case["event"], dict):
            raise CaseError("`event:` must be a mapping of flat dotted ECS fields")
        values = dict(case["event"])
        dataset = values.pop("event.dataset", None) or default_dataset(rule)
        return event_table(values, dataset, case_id)
    lines = case.get("lines", [case.get("line")])
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise CaseError("`line:` must be a string and `lines:` a list of strings")
    return parsed_events(lines, str(case["format"]), case_id)


def _shown(events: pa.Table, rule: CompiledRule) -> str:
    """The values the rule reads in the first event, for a failure message."""
    row = events.slice(0, 1).to_pylist()[0]
    return ", ".join(f"{name}={row.get(name)!r}" for name in rule.fields)


def run_case(rule: CompiledRule, tests_path: Path, expect: str, case: dict[str, Any],
             case_id: str) -> CaseResult:
    """Run one case of one rule."""
    name = str(case.get("name") or case_id)
    unwritten = placeholders(case)
    if unwritten:
        return CaseResult(tests_path, expect, name, False,
                          f"not written yet: replace {PLACEHOLDER} in {', '.join(unwritten)} with a "
                          "real log line or event")
    try:
        events = case_events(case, rule, case_id)
    except CaseError as exc:
        return CaseResult(tests_path, expect, name, False, str(exc))
    matched = len(match_rule(rule, events)) > 0
    if matched == (expect == "match"):
        return CaseResult(tests_path, expect, name, True)
    detail = "no signal" if expect == "match" else "a signal was raised"
    return CaseResult(tests_path, expect, name, False, f"{detail} ({_shown(events, rule)})")


def run_rule_tests(ruleset: RuleSet) -> list[CaseResult]:
    """Every case of every test file beside a loaded rule, in rule order."""
    results: list[CaseResult] = []
    for rule in ruleset.rules:
        tests_path = tests_path_for(Path(rule.path))
        if not tests_path.is_file():
            continue
        if is_correlation_tests(tests_path):
            continue  # a correlation timeline file (pipelines/correlation/rule_tests.py)
        try:
            cases = read_cases(tests_path)
        except VigieError as exc:
            results.append(CaseResult(tests_path, "file", "invalid test file", False, str(exc)))
            continue
        for k, (expect, case) in enumerate(cases, 1):
            results.append(run_case(rule, tests_path, expect, case, f"{tests_path.name}#{k}"))
    return results
