"""Correlation test files (pipelines/correlation/rule_tests.py): the shipped timelines pass, a
wrong expectation fails with a useful line, a file not in the format is a finding, and
`vigie rules test|check` run them."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from pipelines.correlation.loader import load_detections
from pipelines.correlation.rule_tests import (correlation_findings, read_correlation_tests,
                                              run_correlation_tests)
from pipelines.commands.rules import rules_main
from pipelines.errors import VigieError

DETECTIONS = Path(__file__).parent.parent / "detections"
SHIPPED = DETECTIONS / "correlations" / "correlation_vpn_password_guessing_then_foreign_login.yml"


def test_every_shipped_correlation_case_passes():
    results = run_correlation_tests(load_detections([DETECTIONS]))
    assert len(results) >= 12
    assert [r.line() for r in results if not r.ok] == []
    assert {r.expect for r in results} == {"fires", "silent"}


@pytest.fixture()
def copied(tmp_path: Path) -> Path:
    shutil.copy(SHIPPED, tmp_path / SHIPPED.name)
    return tmp_path


def write_tests(folder: Path, text: str) -> Path:
    path = folder / SHIPPED.name.replace(".yml", ".tests.yml")
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_wrong_expectation_fails_and_says_what_came(copied: Path):
    write_tests(copied, """\
        cases:
          - name: expects a result that does not come
            timeline:
              - {at: 0s, rule: vpn_login_failure_personal_account, user.name: jdupont, repeat: 5, every: 10s}
              - {at: 2m, rule: vpn_login_from_unusual_country, user.name: jdupont}
            expect:
              - {rule: vpn_password_guessing_then_foreign_login, group: {user.name: jdupont}, at: 3m}
          - name: expects silence but it fires
            timeline:
              - {at: 0s, rule: vpn_login_failure_personal_account, user.name: jdupont, repeat: 5, every: 10s}
              - {at: 2m, rule: vpn_login_from_unusual_country, user.name: jdupont}
            expect: []
          - name: names an unknown rule
            timeline:
              - {at: 0s, rule: no_such_rule, user.name: jdupont}
            expect: []
        """)
    results = run_correlation_tests(load_detections([copied]))
    assert [r.ok for r in results] == [False, False, False]
    assert "expected 1 result(s) of vpn_password_guessing_then_foreign_login" in results[0].detail
    assert "unexpected: vpn_password_guessing_then_foreign_login {'user.name': 'jdupont'} at 120s" \
        in results[1].detail
    assert "no_such_rule" in results[2].detail


@pytest.mark.parametrize("text, fragment", [
    ("cases: 3\n", "expected a mapping with a `cases:` list"),
    ("cases:\n  - {name: x, timeline: []}\n", "needs `expect:`"),
    ("cases:\n  - {name: x, timeline: [{at: 0s, rule: a, nonsense.field: 1}], expect: []}\n",
     "'nonsense.field' not a signal field"),
    ("cases:\n  - {name: x, timeline: [{at: soon, rule: a}], expect: []}\n", "is not a duration"),
    ("cases:\n  - {name: x, timeline: [{line: 'x'}], expect: []}\n", "no `format:`"),
    ("cases:\n  - {name: x, timeline: [], expect: [{group: {}}]}\n", "needs `rule:`"),
])
def test_a_file_not_in_the_format_is_a_finding(copied: Path, text: str, fragment: str):
    path = write_tests(copied, text)
    with pytest.raises(VigieError, match=".*"):
        read_correlation_tests(path)
    findings = correlation_findings([copied])
    assert len(findings) == 1 and fragment in findings[0][1] and findings[0][0] == str(path)


def test_vigie_rules_test_and_check_run_the_timelines(copied: Path, capsys):
    shutil.copy(SHIPPED.with_name(SHIPPED.name.replace(".yml", ".tests.yml")), copied)
    assert rules_main(["test", str(copied)]) == 0
    out = capsys.readouterr().out
    assert "fires: five failures then a foreign login of the same account" in out
    assert rules_main(["check", str(copied)]) == 0
