"""`vigie rules check|test|new|convert|backtest`: the detection engineer's commands.

In: the words after `vigie rules`. Out: an exit code; findings and results on stdout, one per
line, naming the file; user errors as one line `vigie: ...` on stderr, never a traceback.

- `check [PATH...] [--strict]` (default: the shipped detections/; pipelines/authoring/rule_check.py):
  `error` lines for rules that will not load or still hold CHANGE-ME placeholders and for test
  files that cannot be read; `warning` lines for style (pySigma's validators, a missing ATT&CK
  tag). Exit 0 without errors (warnings allowed), 1 with errors (or warnings under --strict).
- `test [PATH...]`: runs the `<rule>.tests.yml` files (rule_tests.py) and the timelines beside
  correlation rules (pipelines/correlation/rule_tests.py); `ok`/`FAIL` per case. Exit 0 every
  case passed, 1 a case failed or a rule does not load, 3 no case ran (no rule has a test file).
- `new DATASET NAME`: scaffolds detections/rules/DATASET/NAME.yml and its test file
  (pipelines/authoring/scaffold.py); both fail check and test until the CHANGE-ME are written.
- `convert`, `backtest`: pipelines/authoring/convert.py and backtest.py.

Every command: 2 for bad input (a missing path, a path without rule files, a bad flag).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from pathlib import Path

from pipelines.authoring.rule_check import DISABLED_VALIDATORS, check
from pipelines.authoring.scaffold import FAMILY_TEMPLATES, NAME_RE, rule_template
from pipelines.errors import VigieError
from pipelines.resources import data_dir

__all__ = ["DISABLED_VALIDATORS", "rules_main", "build_parser"]
NOTHING_TESTED = 3


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
    check_cmd = sub.add_parser("check", help="validate rules: errors (will not load, not written yet) "
                                             "and style warnings")
    check_cmd.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                           help="rule files or folders (default: the shipped detections/)")
    check_cmd.add_argument("--strict", action="store_true", help="style warnings fail the check too (exit 1)")
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

def run_check(paths: list[Path], strict: bool = False) -> int:
    """`vigie rules check`: print the findings, errors first; 1 with errors (or, with --strict,
    warnings), else 0."""
    try:
        report = check(_default_paths(paths), warn=lambda m: print(f"vigie rules check: {m}", file=sys.stderr))
    except VigieError as exc:
        raise VigieError(f"rules check: {exc}") from None
    for finding in report.findings:
        print(finding.line())
    errors, warnings = len(report.errors), len(report.warnings)
    print(f"vigie rules check: {report.files} rule file(s): {errors} error(s) (will not load or not "
          f"written yet), {warnings} warning(s) (style)" + (", --strict" if strict else ""))
    return 1 if errors or (strict and warnings) else 0


# ---------------------------------------------------------------------------------------------
# test
# ---------------------------------------------------------------------------------------------

def run_test(paths: list[Path]) -> int:
    """`vigie rules test`: print ok/FAIL per case; 1 when any case fails or a rule does not
    load, 3 when no case ran at all (no loaded rule has a test file), else 0."""
    from pipelines.authoring.convert import require_rule_files
    from pipelines.authoring.rule_tests import run_rule_tests, tests_path_for
    from pipelines.correlation.loader import load_detections
    from pipelines.correlation.rule_tests import run_correlation_tests
    paths = _default_paths(paths)
    try:
        require_rule_files(paths)
    except VigieError as exc:
        raise VigieError(f"rules test: {exc}") from None
    detections = load_detections(paths)
    ruleset = detections.ruleset
    failures = 0
    for skipped in ruleset.skipped + detections.correlations.skipped:
        if not getattr(skipped, "deferred", False):
            print(f"FAIL {skipped}: the rule does not load")
            failures += 1
    results = run_rule_tests(ruleset) + run_correlation_tests(detections)
    for result in results:
        print(result.line())
    failures += sum(not r.ok for r in results)
    untested = sum(not tests_path_for(Path(rule.path)).is_file() for rule in ruleset.rules)
    print(f"vigie rules test: {sum(r.ok for r in results)} passed, {failures} failed, "
          f"{untested} rule(s) without a test file")
    if failures:
        return 1
    if not results:
        print(f"vigie: rules test: no test case ran: none of the {len(ruleset.rules)} loaded rule(s) "
              "has a .tests.yml file beside it (`vigie rules new` scaffolds one)", file=sys.stderr)
        return NOTHING_TESTED
    return 0


# ---------------------------------------------------------------------------------------------
# new
# ---------------------------------------------------------------------------------------------

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
            return run_check(args.paths, args.strict)
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
