"""Correlation test files: `correlation_x.tests.yml` beside `correlation_x.yml`, timelines of
detections and the correlation results they must (or must not) produce.

In: Detections (loader.load_detections) and the test files beside its correlation rule files.
Out: `run_correlation_tests(detections)` -> CaseResult per case (`vigie rules test`);
`correlation_findings(paths)` -> 'FILE: problem' lines (`vigie rules check`: correlation rules
that do not load, test files that are not in the format or name unknown rules). pySigma's
SigmaHQ validators, which `vigie rules check` already runs on every parsed rule, cover the
`correlation_` file-name prefix, the group-by of count and temporal types and the two rules of
temporal types.

Format (fixed):

    start: 2026-11-27T18:00:00+01:00   # optional: offsets count from here (default 2026-01-01Z)
    cases:
      - name: five failures then a foreign login
        lateness: 0s                     # optional: allowed lateness of the simulated stream
        timeline:                        # what the detections produced, at offsets
          - {at: 0s, rule: vpn_login_failure, user.name: jdupont, repeat: 5, every: 30s}
          - {at: 4m, rule: vpn_login_from_unusual_country, user.name: jdupont}
          - at: 5m                       # a raw log line, through the parser and every rule
            line: 'date=2026-11-27 time=19:12:45 devname=... action="ssl-login-fail" ...'
            format: fortigate
          - at: 6m                       # an ECS event (event.dataset required), every rule
            event: {event.dataset: vpn.fortigate, event.action: vpn-login-failure, ...}
          - {at: 1m, rule: vpn_login_failure, user.name: jdupont, arrives: 20m}  # late
        expect:                          # exactly these results ([] : must not fire)
          - {rule: vpn_password_guessing_then_foreign_login, group: {user.name: jdupont},
             at: 4m, count: 1}
        late: 1                          # optional: how many signals came too late

- A `rule:` entry is a signal of that rule (a base rule or built-in detection, by name or id);
  its other keys are signal fields (schemas/signals.yml names). `repeat`/`every` make a burst.
- `line:`/`lines:` + `format:` and `event:` entries are evaluated by every loaded base rule;
  `at` then replaces the event time (without `at`, a line keeps its own time).
- `arrives` (default: `at`) is when an entry reaches the pipeline: entries are fed in arrival
  order and the watermark follows the arrivals minus `lateness`, so an entry arriving after
  the watermark passed its time is late (counted, not correlated).
- `expect` must match exactly the results of the file's top correlation rules (those no other
  rule of the file refers to), plus the results of any rule a matcher names (an intermediate
  rule of a chain is checked only when named). A matcher's `group` may give some of the
  group-by values (a mapping, or a list in group-by order); `at` the completing time; `value`
  the aggregated value; `count` (default 1) how many such results.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from pipelines.correlation.builtins import BUILTINS
from pipelines.correlation.engine import CorrelationEngine
from pipelines.correlation.loader import Detections, load_detections
from pipelines.correlation.model import CorrelationRule
from pipelines.correlation.routing import timestamp_ms, to_datetime
from pipelines.detection.engine import detect
from pipelines.authoring.rule_tests import (CaseError, CaseResult, event_table, parsed_events,
                                            tests_path_for)
from pipelines.errors import VigieError
from pipelines.schema import signal_fields

DEFAULT_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
FILE_KEYS = {"start", "cases"}
CASE_KEYS = {"name", "timeline", "expect", "late", "lateness"}
ENTRY_KEYS = {"at", "arrives", "rule", "repeat", "every", "line", "lines", "format", "event"}
MATCHER_KEYS = {"rule", "group", "at", "count", "value"}
UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(value: Any, what: str) -> int:
    """'30s', '10m', '1h', '250ms', 0 or a number of seconds -> ms."""
    if isinstance(value, bool):
        raise VigieError(f"{what}: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        return int(round(value * 1000))
    text = str(value).strip()
    for unit in sorted(UNITS_MS, key=len, reverse=True):
        if text.endswith(unit) and text[:-len(unit)].strip().replace(".", "", 1).isdigit():
            return int(round(float(text[:-len(unit)]) * UNITS_MS[unit]))
    raise VigieError(f"{what}: {value!r} is not a duration (e.g. 30s, 10m, 1h)")


def _start(value: Any, what: str) -> dt.datetime:
    if value is None:
        return DEFAULT_START
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise VigieError(f"{what}: {value!r} is not an ISO 8601 time") from exc
    if not isinstance(value, dt.datetime):
        raise VigieError(f"{what}: {value!r} is not a time")
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def read_correlation_tests(path: Path) -> tuple[dt.datetime, list[dict]]:
    """A correlation test file -> (start, cases); VigieError saying what is wrong."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VigieError(f"cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise VigieError(f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(content, dict) or not isinstance(content.get("cases"), list):
        raise VigieError("expected a mapping with a `cases:` list")
    unknown = set(content) - FILE_KEYS
    if unknown:
        raise VigieError(f"unknown key(s) {sorted(unknown)} (expected start, cases)")
    start = _start(content.get("start"), "start")
    for k, case in enumerate(content["cases"], 1):
        _check_case(case, k)
    return start, content["cases"]


def _check_case(case: Any, k: int) -> None:
    where = f"case {k}"
    if not isinstance(case, dict):
        raise VigieError(f"{where} is not a mapping")
    where = f"case {k} ({case.get('name', 'unnamed')})"
    unknown = set(case) - CASE_KEYS
    if unknown:
        raise VigieError(f"{where}: unknown key(s) {sorted(unknown)} "
                         f"(expected {', '.join(sorted(CASE_KEYS))})")
    if not isinstance(case.get("timeline"), list) or not isinstance(case.get("expect", []), list):
        raise VigieError(f"{where}: needs a `timeline:` list and an `expect:` list")
    if "expect" not in case:
        raise VigieError(f"{where}: needs `expect:` (a list; [] when nothing may fire)")
    duration_ms(case.get("lateness", 0), f"{where}: lateness")
    fields = signal_fields()
    for n, entry in enumerate(case["timeline"], 1):
        at = f"{where}, timeline entry {n}"
        if not isinstance(entry, dict):
            raise VigieError(f"{at} is not a mapping")
        kinds = [key for key in ("rule", "line", "lines", "event") if key in entry]
        if len(kinds) != 1:
            raise VigieError(f"{at} needs exactly one of `rule:`, `line:`, `lines:`, `event:`")
        if kinds[0] == "rule":
            extra = [key for key in entry if key not in ENTRY_KEYS and key not in fields]
            if extra:
                raise VigieError(f"{at}: {', '.join(map(repr, extra))} not a signal field "
                                 "(schemas/signals.yml) nor an entry key")
        else:
            extra = set(entry) - ENTRY_KEYS
            if extra:
                raise VigieError(f"{at}: unknown key(s) {sorted(extra)}")
            if kinds[0] != "event" and "format" not in entry:
                raise VigieError(f"{at} gives a log line but no `format:`")
        for key in ("at", "arrives", "every"):
            if key in entry:
                duration_ms(entry[key], f"{at}: {key}")
        if "at" not in entry and kinds[0] in ("rule", "event"):
            raise VigieError(f"{at} needs `at:` (an offset such as 2m)")
    for n, matcher in enumerate(case.get("expect") or [], 1):
        at = f"{where}, expect {n}"
        if not isinstance(matcher, dict) or "rule" not in matcher:
            raise VigieError(f"{at} needs `rule:` (a correlation rule name or id)")
        extra = set(matcher) - MATCHER_KEYS
        if extra:
            raise VigieError(f"{at}: unknown key(s) {sorted(extra)}")


# --- running -----------------------------------------------------------------------------------

@dataclass
class _Entry:
    arrives: int
    order: int
    signals: list[dict]


def _digest(*parts: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


class _Case:
    """Runs one case against loaded detections."""

    def __init__(self, detections: Detections, tests_path: Path, start: dt.datetime, case: dict):
        self.d = detections
        self.path = tests_path
        self.start_ms = timestamp_ms(start)
        self.case = case
        self.name = str(case.get("name") or "unnamed")
        base = {}
        for rule in detections.ruleset.rules:
            base[rule.id] = rule
            if rule.name:
                base[rule.name] = rule
        self.base = base
        self.correlations = {}
        for rule in detections.correlations.rules:
            self.correlations[rule.id] = rule
            if rule.name:
                self.correlations[rule.name] = rule

    def _rule_signal(self, entry: dict, n: int) -> list[dict]:
        ref = str(entry["rule"])
        rule = self.base.get(ref)
        builtin = BUILTINS.get(ref) or next((b for b in BUILTINS.values() if b.rule_id == ref), None)
        if rule is None and builtin is None:
            raise CaseError(f"timeline rule {ref!r} is no loaded base rule nor built-in detection")
        rule_id, title = (rule.id, rule.title) if rule else (builtin.rule_id, builtin.title)
        fields = signal_fields()
        values = {}
        for key, value in entry.items():
            if key in ENTRY_KEYS:
                continue
            if fields[key].array and value is not None and not isinstance(value, list):
                value = [value]
            values[key] = value
        at = self.start_ms + duration_ms(entry["at"], "at")
        every = duration_ms(entry.get("every", 0), "every")
        out = []
        for r in range(int(entry.get("repeat", 1))):
            sid = _digest(str(self.path), self.name, str(n), str(r))
            signal = {"signal.id": sid, "rule.id": rule_id, "rule.name": title,
                      "event.kind": "signal", "@timestamp": to_datetime(at + r * every),
                      "event.id": f"{self.name}#{n}.{r}", "event.dataset": "test",
                      "log.file.path": str(self.path), "log.offset": n}
            signal.update(values)
            out.append(signal)
        return out

    def _event_signals(self, entry: dict, n: int) -> list[dict]:
        source = f"{self.path.name}#{self.name}#{n}"
        if "event" in entry:
            values = dict(entry["event"] or {})
            dataset = values.pop("event.dataset", None)
            if not dataset:
                raise CaseError("an `event:` entry needs event.dataset")
            events = event_table(values, str(dataset), source)
        else:
            lines = entry.get("lines", [entry.get("line")])
            if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
                raise CaseError("`line:` must be a string and `lines:` a list of strings")
            events = parsed_events(lines, str(entry["format"]), source)
        if "at" in entry:
            at = to_datetime(self.start_ms + duration_ms(entry["at"], "at"))
            events = events.set_column(events.schema.get_field_index("@timestamp"), "@timestamp",
                                       pa.array([at] * events.num_rows,
                                                events.schema.field("@timestamp").type))
        return detect(self.d.ruleset, events).to_pylist()

    def _timeline(self) -> list[_Entry]:
        entries = []
        for n, entry in enumerate(self.case["timeline"], 1):
            signals = (self._rule_signal(entry, n) if "rule" in entry
                       else self._event_signals(entry, n))
            if "arrives" in entry:
                arrives = self.start_ms + duration_ms(entry["arrives"], "arrives")
            elif signals:
                arrives = max(timestamp_ms(s["@timestamp"]) for s in signals)
            else:
                arrives = self.start_ms + duration_ms(entry.get("at", 0), "at")
            entries.append(_Entry(arrives, n, signals))
        return sorted(entries, key=lambda e: (e.arrives, e.order))

    def run(self, tested: list[CorrelationRule]) -> tuple[bool, str]:
        lateness = duration_ms(self.case.get("lateness", 0), "lateness")
        engine = CorrelationEngine(self.d.correlations)
        results, late = [], []
        for entry in self._timeline():
            step = engine.advance(entry.signals, entry.arrives - lateness - 1)
            results += step.results
            late += step.late
        results += engine.flush().results
        return self._compare(tested, results, late)

    def _matcher_rule(self, matcher: dict) -> CorrelationRule:
        rule = self.correlations.get(str(matcher["rule"]))
        if rule is None:
            raise CaseError(f"expected rule {matcher['rule']!r} is no loaded correlation rule")
        return rule

    def _matches(self, matcher: dict, rule: CorrelationRule, row: dict) -> bool:
        if row["rule.id"] != rule.id:
            return False
        group = matcher.get("group")
        if group is not None:
            values = dict(zip(row["vigie.correlation.group_by.fields"],
                              row["vigie.correlation.group_by.values"]))
            wanted = group if isinstance(group, dict) else dict(zip(rule.group_by, group))
            if any(values.get(k) != str(v) for k, v in wanted.items()):
                return False
        if "at" in matcher and timestamp_ms(row["@timestamp"]) != \
                self.start_ms + duration_ms(matcher["at"], "at"):
            return False
        if "value" in matcher and row["vigie.correlation.value"] != float(matcher["value"]):
            return False
        return True

    def _shown(self, row: dict) -> str:
        offset = (timestamp_ms(row["@timestamp"]) - self.start_ms) / 1000
        return (f"{row['vigie.rule.name'] or row['rule.id']} "
                f"{dict(zip(row['vigie.correlation.group_by.fields'], row['vigie.correlation.group_by.values']))} "
                f"at {offset:g}s (value {row['vigie.correlation.value']:g})")

    def _compare(self, tested: list[CorrelationRule], results: list[dict],
                 late: list[dict]) -> tuple[bool, str]:
        matchers = [(m, self._matcher_rule(m)) for m in self.case.get("expect") or []]
        inner = {s.rule_id for r in tested for s in r.sources}
        checked = {r.id for r in tested if r.id not in inner} | {r.id for _, r in matchers}
        remaining = [row for row in results if row["rule.id"] in checked]
        problems = []
        for matcher, rule in matchers:
            want = int(matcher.get("count", 1))
            found = [row for row in remaining if self._matches(matcher, rule, row)][:want]
            for row in found:
                remaining.remove(row)
            if len(found) < want:
                problems.append(f"expected {want} result(s) of {rule.ref} "
                                f"{ {k: v for k, v in matcher.items() if k != 'rule'} }, "
                                f"got {len(found)}")
        if remaining:
            problems.append("unexpected: " + "; ".join(self._shown(r) for r in remaining))
        if "late" in self.case and len(late) != int(self.case["late"]):
            problems.append(f"expected {self.case['late']} late signal(s), got {len(late)}")
        return not problems, "; ".join(problems)


def correlation_tests_path_for(rule_path: Path) -> Path:
    """`correlation_x.yml` -> `correlation_x.tests.yml`."""
    return tests_path_for(rule_path)


def run_correlation_tests(detections: Detections) -> list[CaseResult]:
    """Every case of every test file beside a loaded correlation rule file, and a FAIL for a
    test file whose correlation rules do not load."""
    by_file: dict[str, list[CorrelationRule]] = {}
    for rule in detections.correlations.rules:
        by_file.setdefault(rule.path, []).append(rule)
    results: list[CaseResult] = []
    broken = {str(s.path) for s in detections.correlations.skipped}
    for path_text in sorted(set(by_file) | broken):
        tests_path = correlation_tests_path_for(Path(path_text))
        if not tests_path.is_file():
            continue
        if path_text in broken:
            results.append(CaseResult(tests_path, "file", "correlation rules", False,
                                      "a correlation rule of this file does not load"))
            if path_text not in by_file:
                continue
        try:
            start, cases = read_correlation_tests(tests_path)
        except VigieError as exc:
            results.append(CaseResult(tests_path, "file", "invalid test file", False, str(exc)))
            continue
        for k, case in enumerate(cases, 1):
            name = str(case.get("name") or f"case {k}")
            kind = "fires" if case.get("expect") else "silent"
            try:
                ok, detail = _Case(detections, tests_path, start, case).run(by_file[path_text])
            except (CaseError, VigieError) as exc:
                ok, detail = False, str(exc)
            results.append(CaseResult(tests_path, kind, name, ok, detail))
    return results


def correlation_findings(paths: list[Path]) -> list[tuple[str, str]]:
    """`vigie rules check` for correlations: (file, problem) for every correlation rule that
    will not load and every timeline test file that cannot be read."""
    detections = load_detections(paths)
    findings = [(str(s.path), (f"rule {s.title!r}: " if s.title else "") + s.reason)
                for s in detections.correlations.skipped]
    files = sorted({r.path for r in detections.correlations.rules}
                   | {str(s.path) for s in detections.correlations.skipped})
    for path_text in files:
        tests_path = correlation_tests_path_for(Path(path_text))
        if not tests_path.is_file():
            continue
        try:
            read_correlation_tests(tests_path)
        except VigieError as exc:
            findings.append((str(tests_path), str(exc)))
    return findings
