"""Every shipped rule's test cases (detections/**/*.tests.yml), one pytest case each, and the
rule checks of `vigie rules check detections/` (a rule that will not load fails here)."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.authoring import rule_tests
from pipelines.cli import main
from pipelines.detection.loader import load_rules

DETECTIONS = Path(__file__).resolve().parents[1] / "detections"
RULESET = load_rules([DETECTIONS])


def _cases():
    for rule in RULESET.rules:
        tests_path = rule_tests.tests_path_for(Path(rule.path))
        if tests_path.is_file():
            for k, (expect, case) in enumerate(rule_tests.read_cases(tests_path), 1):
                name = case.get("name") or f"#{k}"
                yield pytest.param(rule, tests_path, expect, case, f"{tests_path.name}#{k}",
                                   id=f"{Path(rule.path).stem}:{expect}:{name}")


def test_every_shipped_rule_loads_and_has_test_cases():
    problems = [str(s) for s in RULESET.skipped if not s.deferred]
    assert not problems, problems
    untested = [rule.path for rule in RULESET.rules if not rule_tests.tests_path_for(Path(rule.path)).is_file()]
    assert not untested, f"rules without a .tests.yml beside them: {untested}"


@pytest.mark.parametrize("rule, tests_path, expect, case, case_id", list(_cases()))
def test_shipped_rule_case(rule, tests_path, expect, case, case_id):
    result = rule_tests.run_case(rule, tests_path, expect, case, case_id)
    assert result.ok, result.line()


def test_rules_check_passes_on_the_shipped_detections(capsys):
    assert main(["rules", "check", str(DETECTIONS)]) == 0, capsys.readouterr()
