"""`vigie rules check|test|new|convert|backtest`: the detection engineer's commands.

In: the words after `vigie rules`. Out: an exit code; findings and results on stdout, one per
line, naming the file; user errors as one line `vigie: ...` on stderr, never a traceback.

- `check [PATH...]` (default: the shipped detections/): every rule loads (YAML, pySigma
  parsing, the Vigie pipeline, a routed log source, every field in the schema of the routed
  family, RE2-compatible regexes, a unique id), passes pySigma's validators (core and SigmaHQ,
  minus DISABLED_VALIDATORS), carries an ATT&CK tag, and its test file (if any) is readable;
  correlation rules load (pipelines/correlation/loader.py) and their timeline test files are
  in the format (pipelines/correlation/rule_tests.py).
  Exit 1 on any finding.
- `test [PATH...]`: runs the `<rule>.tests.yml` files (rule_tests.py) and the correlation
  timelines beside correlation rule files (pipelines/correlation/rule_tests.py); `ok`/`FAIL`
  per case; exit 1 on any FAIL (a rule or correlation rule that does not load is a FAIL).
- `new DATASET NAME`: scaffolds detections/rules/DATASET/NAME.yml and its test file.
- `convert`, `backtest`: provided by pipelines/detection/convert.py and backtest.py.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import re
import sys
import uuid
from pathlib import Path
from typing import Callable

from pipelines.errors import VigieError
from pipelines.resources import data_dir

# pySigma validators `check` does not run, and why.
DISABLED_VALIDATORS: dict[str, str] = {
    "attacktag": "downloads the MITRE ATT&CK catalogue at run time (checks must work offline); "
                 "tag_format and namespace_tag still check the tags' form",
    "d3_fendtag": "downloads the MITRE D3FEND catalogue at run time",
    "sigmahq_tags_techniques_without_tactics": "downloads the MITRE ATT&CK catalogue at run time",
    "sigmahq_fieldname_cast": "downloads SigmaHQ's taxonomy; Vigie checks fields against schemas/",
    "sigmahq_invalid_fieldname": "downloads SigmaHQ's taxonomy; Vigie checks fields against schemas/",
    "sigmahq_redundant_field": "downloads SigmaHQ's taxonomy",
    "sigmahq_logsource_unknown": "downloads SigmaHQ's taxonomy, which does not know Vigie's own "
                                 "log sources (mail, vpn); Vigie checks that the log source routes",
    "sigmahq_filename_convention": "downloads SigmaHQ's file-name patterns; Vigie's folders name "
                                   "the family",
    "sigmahq_filename_prefix": "downloads SigmaHQ's file-name patterns",
}
FAMILY_TEMPLATES = {
    "web": {"logsource": "category: webserver", "field": "cs-uri-query|contains",
            "event_field": "url.query", "tactic": "initial-access", "technique": "t1190",
            "no_match": "q=hello"},
    "mail": {"logsource": "category: mail", "field": "email.subject|contains",
             "event_field": "email.subject", "tactic": "initial-access", "technique": "t1566.001",
             "no_match": "Ordre du jour"},
    "vpn": {"logsource": "category: vpn", "field": "user.name|startswith",
            "event_field": "user.name", "tactic": "initial-access", "technique": "t1133",
            "no_match": "jdupont"},
}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors become VigieError (one line, no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise VigieError(f"{self.prog.removeprefix('vigie ')}: {message}")


def _extension(command: str) -> object:
    """The module providing `vigie rules convert|backtest` (pipelines/authoring/<command>.py)."""
    if command == "convert":
        from pipelines.authoring import convert
        return convert
    from pipelines.authoring import backtest
    return backtest


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `vigie rules` parser; the arguments of convert/backtest are only loaded when that
    command is the one being run (`command`)."""
    parser = _Parser(prog="vigie rules", description="Write, check and test Sigma rules.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    check = sub.add_parser("check", help="validate rules: pySigma validators, fields vs schemas/")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help="rule files or folders (default: the shipped detections/)")
    test = sub.add_parser("test", help="run the rules' .tests.yml files")
    test.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                      help="rule files or folders (default: the shipped detections/)")
    new = sub.add_parser("new", help="scaffold a rule and its test file")
    new.add_argument("dataset", choices=sorted(FAMILY_TEMPLATES), metavar="DATASET",
                     help="log family: web, mail or vpn")
    new.add_argument("name", metavar="NAME", help="file name without .yml (a-z, 0-9, _)")
    new.add_argument("--detections", type=Path, default=None,
                     help="the detections/ folder to write into (default: the shipped one)")
    for name, text in (("convert", "convert rules to a SIEM query language"),
                       ("backtest", "evaluate a rule over archived Parquet events")):
        extra = sub.add_parser(name, help=text)
        if command == name:
            getattr(_extension(name), f"add_{name}_arguments")(extra)
    return parser


def _detections_dir() -> Path:
    """The shipped detections/ folder."""
    try:
        return data_dir("detections")
    except FileNotFoundError as exc:
        raise VigieError(str(exc)) from exc


def _default_paths(paths: list[Path]) -> list[Path]:
    return paths or [_detections_dir()]


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------

def _issue_text(issue: object) -> str:
    """A pySigma validation issue -> 'description (details) [severity]'."""
    details = ", ".join(f"{f.name}={getattr(issue, f.name)}" for f in dataclasses.fields(issue)
                        if f.name not in ("rules", "severity", "description"))
    severity = getattr(issue, "severity", None)
    return (f"{issue.description}" + (f" ({details})" if details else "")
            + (f" [{severity.name.lower()}]" if severity is not None else ""))


def validator_findings(rules: list, path_of: Callable[[object], Path]) -> list[str]:
    """pySigma validators (minus DISABLED_VALIDATORS) over parsed rules -> 'FILE: issue' lines."""
    from sigma.plugins import InstalledSigmaPlugins
    plugins = InstalledSigmaPlugins.autodiscover(include_backends=False, include_pipelines=False)
    findings: list[str] = []
    for name, validator_class in sorted(plugins.validators.items()):
        if name in DISABLED_VALIDATORS:
            continue
        validator = validator_class()
        try:
            issues = [i for rule in rules for i in validator.validate(rule)] + validator.finalize()
        except Exception as exc:  # noqa: BLE001 - a validator's own failure is not a finding
            print(f"vigie rules check: validator {name} could not run: {exc}", file=sys.stderr)
            continue
        for issue in issues:
            for rule in issue.rules:
                findings.append(f"{path_of(rule)}: {_issue_text(issue)} [{name}]")
    return findings


def check_findings(paths: list[Path]) -> tuple[int, list[str]]:
    """Rule files and folders -> (number of rule files, findings 'FILE: problem')."""
    from sigma.correlations import SigmaCorrelationRule
    from sigma.rule import SigmaRule
    from pipelines.correlation.rule_tests import correlation_findings
    from pipelines.detection.loader import build_ruleset, parse_rule_file, rule_files
    from pipelines.authoring.rule_tests import is_correlation_tests, read_cases, tests_path_for
    files = rule_files(paths)
    if not files:
        raise VigieError(f"no Sigma rule files in {', '.join(map(str, paths))}")
    parsed = [parse_rule_file(path) for path in files]
    ruleset = build_ruleset(parsed)
    findings = [str(s) for s in ruleset.skipped if not s.deferred]
    path_of = {id(rule): p.path for p in parsed for rule in p.rules}
    rules = [rule for p in parsed for rule in p.rules]
    findings += validator_findings(rules, lambda rule: path_of.get(id(rule), "?"))
    findings += [f"{path_of[id(rule)]} (rule {rule.title!r}): no ATT&CK tag (attack.*)"
                 for rule in rules if isinstance(rule, SigmaRule)
                 and not any(str(tag).startswith("attack.") for tag in rule.tags or ())]
    with_correlations = {p.path for p in parsed
                         if any(isinstance(rule, SigmaCorrelationRule) for rule in p.rules)}
    for path in files:
        tests = tests_path_for(path)
        if tests.is_file() and path not in with_correlations and not is_correlation_tests(tests):
            try:
                read_cases(tests)
            except VigieError as exc:
                findings.append(f"{tests}: {exc}")
    findings += correlation_findings(paths)
    return len(files), findings


def run_check(paths: list[Path]) -> int:
    """`vigie rules check`: print the findings; 1 when there are any."""
    count, findings = check_findings(_default_paths(paths))
    for finding in findings:
        print(finding)
    print(f"vigie rules check: {count} rule file(s), {len(findings)} finding(s)")
    return 1 if findings else 0


# ---------------------------------------------------------------------------------------------
# test
# ---------------------------------------------------------------------------------------------

def run_test(paths: list[Path]) -> int:
    """`vigie rules test`: print ok/FAIL per case; 1 when any case fails or a rule does not load."""
    from pipelines.authoring.rule_tests import run_rule_tests, tests_path_for
    from pipelines.correlation.loader import load_detections
    from pipelines.correlation.rule_tests import run_correlation_tests
    detections = load_detections(_default_paths(paths))
    ruleset = detections.ruleset
    failures = 0
    for skipped in ruleset.skipped + detections.correlations.skipped:
        if not skipped.deferred:
            print(f"FAIL {skipped}: the rule does not load")
            failures += 1
    results = run_rule_tests(ruleset) + run_correlation_tests(detections)
    for result in results:
        print(result.line())
    failures += sum(not r.ok for r in results)
    untested = sum(not tests_path_for(Path(rule.path)).is_file() for rule in ruleset.rules)
    print(f"vigie rules test: {sum(r.ok for r in results)} passed, {failures} failed, "
          f"{untested} rule(s) without a test file")
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------
# new
# ---------------------------------------------------------------------------------------------

def rule_template(family: str, name: str, today: dt.date, rule_id: str) -> tuple[str, str]:
    """The YAML of a new rule of `family` and of its test file."""
    t = FAMILY_TEMPLATES[family]
    title = " ".join(word.capitalize() for word in name.split("_") if word)
    dataset = {"web": "web.apache_combined", "mail": "mail.postfix", "vpn": "vpn.openvpn"}[family]
    rule = f"""title: {title}
id: {rule_id}
status: experimental
description: CHANGE-ME - what this rule detects, and why it matters during an attack on the hospital.
references:
    - https://CHANGE-ME.example/advisory-or-write-up
author: CHANGE-ME (your name)
date: {today.isoformat()}
tags:
    - attack.{t['tactic']}  # CHANGE-ME: the ATT&CK tactic
    - attack.{t['technique']}  # CHANGE-ME: the ATT&CK technique
logsource:
    {t['logsource']}
detection:
    selection:
        {t['field']}: 'CHANGE-ME'
    condition: selection
falsepositives:
    - Unknown
level: medium
"""
    tests = f"""# Test cases of {name}.yml, run by `vigie rules test`. Give an ECS event (`event:`) or a raw
# log line with its format (`line:` + `format:`, e.g. format: apache_combined).
match:
  - name: CHANGE-ME an event the rule must flag
    event: {{{t['event_field']}: "CHANGE-ME", event.dataset: {dataset}}}
no_match:
  - name: CHANGE-ME an ordinary event
    event: {{{t['event_field']}: "{t['no_match']}", event.dataset: {dataset}}}
"""
    return rule, tests


def run_new(family: str, name: str, detections: Path | None) -> int:
    """`vigie rules new`: write the rule and its test file; refuse to overwrite."""
    if not NAME_RE.match(name):
        raise VigieError(f"rule name {name!r}: use lowercase letters, digits and _ (no .yml)")
    folder = (detections or _detections_dir()) / "rules" / family
    rule_path, tests_path = folder / f"{name}.yml", folder / f"{name}.tests.yml"
    for path in (rule_path, tests_path):
        if path.exists():
            raise VigieError(f"{path} already exists; not overwriting it")
    rule, tests = rule_template(family, name, dt.date.today(), str(uuid.uuid4()))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        rule_path.write_text(rule, encoding="utf-8")
        tests_path.write_text(tests, encoding="utf-8")
    except OSError as exc:
        raise VigieError(f"cannot write into {folder}: {exc.strerror or exc}") from exc
    print(f"vigie rules new: wrote {rule_path} and {tests_path}")
    return 0


# ---------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------

def rules_main(argv: list[str]) -> int:
    """`vigie rules ...` -> exit code (user errors: one line `vigie: ...` on stderr)."""
    try:
        command = next((word for word in argv if not word.startswith("-")), None)
        args = build_parser(command).parse_args(argv)
        if args.command == "check":
            return run_check(args.paths)
        if args.command == "test":
            return run_test(args.paths)
        if args.command == "new":
            return run_new(args.dataset, args.name, args.detections)
        return int(getattr(_extension(args.command), f"run_{args.command}")(args) or 0)
    except VigieError as exc:
        print(f"vigie: {exc}", file=sys.stderr)
        return exc.exit_code
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
