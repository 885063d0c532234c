"""`vigie rules check` findings: errors (the rule will not load, or is not written yet) apart from
warnings (style and quality, from pySigma's validators and Vigie's own conventions).

In: rule files and folders. Out: a CheckReport: the rule files found and one Finding per
problem, each naming its file. Errors: every problem the loader skips a rule for (YAML, pySigma
parsing, the Vigie pipeline, a log source that routes nowhere, a field outside the routed
family's schema, a regex RE2 cannot compile, a duplicate or missing id), CHANGE-ME placeholders
left in a rule or its test file, a test file that cannot be read. Warnings: pySigma's validators
(core and SigmaHQ, minus DISABLED_VALIDATORS, with the validator's own severity) and a rule
without an ATT&CK tag.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pipelines.authoring.convert import require_rule_files
from pipelines.authoring.scaffold import PLACEHOLDER, file_placeholders
from pipelines.errors import VigieError

ERROR, WARNING = "error", "warning"

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


@dataclass(frozen=True)
class Finding:
    """One problem of one file: `error` (will not load / not written yet) or `warning` (style)."""

    path: str
    severity: str
    text: str

    def line(self) -> str:
        """`error   FILE: text` or `warning FILE: text`."""
        return f"{self.severity:<7} {self.path}: {self.text}"


@dataclass(frozen=True)
class CheckReport:
    """The rule files checked and the findings, errors first."""

    files: int
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]


def _issue_text(issue: object) -> str:
    """A pySigma validation issue -> 'description (details)'."""
    details = ", ".join(f"{f.name}={getattr(issue, f.name)}" for f in dataclasses.fields(issue)
                        if f.name not in ("rules", "severity", "description"))
    return f"{issue.description}" + (f" ({details})" if details else "")


def validator_findings(rules: list, path_of: Callable[[object], object],
                       warn: Callable[[str], None] = lambda message: None) -> list[Finding]:
    """pySigma validators (minus DISABLED_VALIDATORS) over parsed rules -> warnings, tagged with
    the validator and its own severity; a validator that itself fails is reported to `warn`."""
    from sigma.plugins import InstalledSigmaPlugins
    plugins = InstalledSigmaPlugins.autodiscover(include_backends=False, include_pipelines=False)
    findings: list[Finding] = []
    for name, validator_class in sorted(plugins.validators.items()):
        if name in DISABLED_VALIDATORS:
            continue
        validator = validator_class()
        try:
            issues = [i for rule in rules for i in validator.validate(rule)] + validator.finalize()
        except Exception as exc:  # noqa: BLE001 - a validator's own failure is not a finding
            warn(f"validator {name} could not run: {exc}")
            continue
        for issue in issues:
            severity = getattr(issue, "severity", None)
            tag = f"[{name}" + (f", pySigma severity {severity.name.lower()}" if severity is not None else "") + "]"
            for rule in issue.rules:
                findings.append(Finding(str(path_of(rule)), WARNING, f"style: {_issue_text(issue)} {tag}"))
    return findings


def placeholder_finding(path: Path, what: str) -> Finding | None:
    """An error when `path` still holds CHANGE-ME placeholders (`what`: rule or test file)."""
    keys = file_placeholders(path)
    if not keys:
        return None
    shown = ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
    return Finding(str(path), ERROR, f"not written yet: the {what} still holds {PLACEHOLDER} in {shown}")


def check(paths: list[Path], warn: Callable[[str], None] = lambda message: None) -> CheckReport:
    """Rule files and folders -> CheckReport (module docstring); VigieError when a path is
    missing or holds no rule file."""
    from sigma.rule import SigmaRule

    from pipelines.authoring.rule_tests import is_correlation_tests, read_cases, tests_path_for
    from pipelines.correlation.rule_tests import correlation_findings
    from pipelines.detection.loader import build_ruleset, parse_rule_file
    files = require_rule_files(paths)
    parsed = [parse_rule_file(path) for path in files]
    ruleset = build_ruleset(parsed)
    findings = [Finding(str(s.path), ERROR, "will not load: " + (f"rule {s.title!r}: " if s.title else "")
                        + s.reason) for s in ruleset.skipped if not getattr(s, "deferred", False)]
    for path in files:
        unfinished = placeholder_finding(path, "rule")
        if unfinished:
            findings.append(unfinished)
        tests = tests_path_for(path)
        if tests.is_file() and not is_correlation_tests(tests):  # timelines: correlation_findings
            try:
                read_cases(tests)
            except VigieError as exc:
                findings.append(Finding(str(tests), ERROR, f"test file will not run: {exc}"))
                continue
            unfinished = placeholder_finding(tests, "test file")
            if unfinished:
                findings.append(unfinished)
    path_of = {id(rule): p.path for p in parsed for rule in p.rules}
    rules = [rule for p in parsed for rule in p.rules]
    findings += validator_findings(rules, lambda rule: path_of.get(id(rule), "?"), warn)
    findings += [Finding(str(path_of[id(rule)]), WARNING, f"style: rule {rule.title!r} has no ATT&CK tag (attack.*)")
                 for rule in rules if isinstance(rule, SigmaRule)
                 and not any(str(tag).startswith("attack.") for tag in rule.tags or ())]
    findings += [Finding(path, ERROR, f"will not load: {problem}") for path, problem in correlation_findings(paths)]
    ordered = sorted(findings, key=lambda f: (f.severity != ERROR, f.path))
    return CheckReport(len(files), tuple(ordered))
