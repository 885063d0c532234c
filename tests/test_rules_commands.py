"""`vigie rules check|test|new` (and the convert/backtest dispatch) through rules_main, on
temporary folders of good and bad rules: exit codes and one-line messages."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipelines.commands.rules import DISABLED_VALIDATORS, rules_main

WEB_RULE = """\
title: SQL Injection Union Select
id: 0b7f5d0e-8f43-4c1e-9a55-3a0e4c2b9d11
status: experimental
description: Detects UNION SELECT in the query string of a web request.
author: Vigie tests
date: 2026-11-27
tags:
    - attack.initial-access
    - attack.t1190
logsource:
    category: webserver
detection:
    selection:
        cs-uri-query|contains: 'union%20select'
    condition: selection
falsepositives:
    - Unknown
level: high
"""
WEB_TESTS = """\
match:
  - name: union select in query
    line: '203.0.113.7 - - [27/Nov/2026:19:02:11 +0100] "GET /recherche?q=1%27%20UNION%20SELECT%201,2-- HTTP/1.1" 200 512 "-" "sqlmap/1.8"'
    format: apache_combined
  - name: as an ECS event
    event: {url.query: "id=1 union%20select password", event.dataset: web.apache_combined}
no_match:
  - name: ordinary search
    line: '203.0.113.8 - - [27/Nov/2026:19:03:00 +0100] "GET /recherche?q=urgences HTTP/1.1" 200 812 "-" "Mozilla/5.0"'
    format: apache_combined
"""
MAIL_RULE = """\
title: Mail From Look-Alike Domain
id: 7d0c1e52-2f7a-4d8b-9c3e-5a6b7c8d9e0f
status: experimental
description: Detects mail whose envelope sender uses a look-alike of the hospital's domain.
author: Vigie tests
date: 2026-11-27
tags:
    - attack.initial-access
    - attack.t1566.001
logsource:
    category: mail
detection:
    selection:
        email.from.address|endswith: '@chu-exemple-rh.fr'
    condition: selection
falsepositives:
    - Unknown
level: high
"""
H = "Nov 27 18:05:11 mx1"
MAIL_TESTS = f"""\
match:
  - name: a stitched postfix message from the look-alike domain
    format: postfix
    lines:
      - '{H} postfix/smtpd[2001]: 4F3A21C0042: client=mail.chu-exemple-rh.fr[198.51.100.9]'
      - '{H} postfix/qmgr[1500]: 4F3A21C0042: from=<paie@chu-exemple-rh.fr>, size=48213, nrcpt=1 (queue active)'
      - '{H} postfix/smtp[2003]: 4F3A21C0042: to=<jdupont@chu-exemple.fr>, relay=mbox.chu-exemple.fr[10.0.0.5]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 ok)'
      - '{H} postfix/qmgr[1500]: 4F3A21C0042: removed'
no_match:
  - name: mail from the real domain
    event: {{email.from.address: rh@chu-exemple.fr}}
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write(tmp_path / "good", {
        "rules/web/web_sqli_union_select.yml": WEB_RULE,
        "rules/web/web_sqli_union_select.tests.yml": WEB_TESTS,
        "rules/mail/mail_lookalike_sender.yml": MAIL_RULE,
        "rules/mail/mail_lookalike_sender.tests.yml": MAIL_TESTS,
        "pipelines/not_a_rule.yml": "name: whatever\n",
    })


def run(capsys, *argv: str) -> tuple[int, list[str], list[str]]:
    code = rules_main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------

def test_check_passes_on_good_rules(good: Path, capsys):
    code, out, err = run(capsys, "check", str(good))
    assert code == 0, out + err
    assert out == ["vigie rules check: 2 rule file(s): 0 error(s) (will not load or not written yet), "
                   "0 warning(s) (style)"]


def test_check_reports_every_problem_one_line_each_with_the_file(good: Path, capsys):
    write(good, {
        "rules/web/broken_yaml.yml": "title: [oops\n",
        "rules/web/unknown_field.yml": WEB_RULE.replace("cs-uri-query|contains", "cs-uri-querry")
                                              .replace("0b7f5d0e", "1b7f5d0e"),
        "rules/web/title_dot.yml": WEB_RULE.replace("Union Select", "Union Select.")
                                          .replace("0b7f5d0e", "2b7f5d0e"),
        "rules/web/no_attack.yml": WEB_RULE.replace("    - attack.initial-access\n    - attack.t1190\n",
                                                    "    - cve.2021-44228\n")
                                          .replace("0b7f5d0e", "3b7f5d0e"),
        "rules/web/bad_tests.yml": WEB_RULE.replace("0b7f5d0e", "4b7f5d0e"),
        "rules/web/bad_tests.tests.yml": "match:\n  - name: no event\n",
    })
    code, out, err = run(capsys, "check", str(good))
    assert code == 1
    findings = out[:-1]
    assert out[-1].startswith("vigie rules check: 7 rule file(s): 3 error(s) (will not load or not written yet), ")
    errors = {"broken_yaml.yml": "will not load: invalid YAML",
              "unknown_field.yml": "will not load: rule 'SQL Injection Union Select': field 'cs-uri-querry' "
                                   "is not in the web schema",
              "bad_tests.tests.yml": "test file will not run: match case 1 needs exactly one of"}
    warnings = {"title_dot.yml": "[sigmahq_title_end, pySigma severity ", "no_attack.yml": "has no ATT&CK tag"}
    for severity, expected in (("error  ", errors), ("warning", warnings)):
        for name, fragment in expected.items():
            assert any(line.startswith(f"{severity} {good}") and name in line and fragment in line
                       for line in findings), (name, findings)
    severities = [line.split()[0] for line in findings]
    assert severities == ["error"] * 3 + ["warning"] * (len(findings) - 3)  # errors first
    assert "Traceback" not in "\n".join(out + err)


def test_style_warnings_alone_pass_unless_strict(good: Path, capsys):
    write(good, {"rules/web/title_dot.yml": WEB_RULE.replace("Union Select", "Union Select.")
                                                    .replace("0b7f5d0e", "2b7f5d0e")})
    code, out, err = run(capsys, "check", str(good))
    assert code == 0 and out[0].startswith("warning ") and "sigmahq_title_end" in out[0]
    assert out[-1].endswith("0 error(s) (will not load or not written yet), 1 warning(s) (style)")
    code, out, err = run(capsys, "check", "--strict", str(good))
    assert code == 1 and out[-1].endswith("1 warning(s) (style), --strict")


@pytest.mark.parametrize("command", ["check", "test"])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys, good: Path, command: str):
    code, out, err = run(capsys, command, str(tmp_path / "absent"))
    assert (code, out) == (2, [])
    assert err == [f"vigie: rules {command}: no such rule file or folder: {tmp_path / 'absent'}"]
    write(tmp_path / "empty", {"only.tests.yml": WEB_TESTS, "pipelines/vigie_ecs.yml": "name: x\n"})
    for paths in ([tmp_path / "empty"], [good, tmp_path / "empty"]):
        code, out, err = run(capsys, command, *map(str, paths))
        assert (code, out) == (2, [])
        assert len(err) == 1 and err[0].startswith(f"vigie: rules {command}: no Sigma rule file in "
                                                   f"{tmp_path / 'empty'}"), err


def test_disabled_validators_say_why():
    assert "attacktag" in DISABLED_VALIDATORS
    assert all(reason for reason in DISABLED_VALIDATORS.values())


# ---------------------------------------------------------------------------------------------
# test
# ---------------------------------------------------------------------------------------------

def test_test_runs_event_line_and_stitched_cases(good: Path, capsys):
    code, out, err = run(capsys, "test", str(good))
    assert code == 0, out + err
    assert sum(line.startswith("ok   ") for line in out) == 5
    assert any("mail_lookalike_sender.tests.yml: match: a stitched postfix message" in line for line in out)
    assert out[-1] == "vigie rules test: 5 passed, 0 failed, 0 rule(s) without a test file"


def test_test_fails_on_a_wrong_expectation(good: Path, capsys):
    tests = good / "rules/web/web_sqli_union_select.tests.yml"
    tests.write_text(WEB_TESTS + "  - name: wrongly expected not to match\n"
                     "    event: {url.query: 'x union%20select y'}\n", encoding="utf-8")
    code, out, err = run(capsys, "test", str(good))
    assert code == 1
    [fail] = [line for line in out if line.startswith("FAIL")]
    assert "web_sqli_union_select.tests.yml: no_match: wrongly expected not to match: a signal was raised" in fail
    assert "url.query='x union%20select y'" in fail


def test_test_reports_bad_cases_and_broken_rules(good: Path, capsys):
    write(good, {
        "rules/web/web_sqli_union_select.tests.yml": WEB_TESTS.replace("apache_combined\n  - name: as",
                                                                       "apache_bogus\n  - name: as"),
        "rules/web/broken.yml": "title: [oops\n",
    })
    code, out, err = run(capsys, "test", str(good))
    assert code == 1
    fails = [line for line in out if line.startswith("FAIL")]
    assert any("broken.yml" in line and "invalid YAML" in line for line in fails)
    assert any("unknown format 'apache_bogus'" in line for line in fails)


def test_test_without_any_test_case_is_not_a_pass(good: Path, capsys):
    for tests in (good / "rules").rglob("*.tests.yml"):
        tests.unlink()
    code, out, err = run(capsys, "test", str(good))
    assert code == 3
    assert out == ["vigie rules test: 0 passed, 0 failed, 2 rule(s) without a test file"]
    assert err == ["vigie: rules test: no test case ran: none of the 2 loaded rule(s) has a .tests.yml "
                   "file beside it (`vigie rules new` scaffolds one)"]


def test_test_reports_an_unreadable_test_file(good: Path, capsys):
    write(good, {"rules/web/web_sqli_union_select.tests.yml": "match: [oops\n"})
    code, out, err = run(capsys, "test", str(good))
    assert code == 1
    assert any(line.startswith("FAIL") and "invalid test file" in line for line in out)


# ---------------------------------------------------------------------------------------------
# new
# ---------------------------------------------------------------------------------------------

FILLED_IN = {"web": ("union%20select", "id=1 union%20select 2"), "mail": ("Votre salaire", "RE: Votre salaire"),
             "vpn": ("svc-", "svc-backup")}


@pytest.mark.parametrize("family", ["web", "mail", "vpn"])
def test_new_scaffold_fails_check_and_test_until_it_is_filled_in(tmp_path: Path, capsys, family: str):
    code, out, err = run(capsys, "new", family, f"{family}_first_rule", "--detections", str(tmp_path))
    assert code == 0, err
    rule = tmp_path / "rules" / family / f"{family}_first_rule.yml"
    tests = rule.with_name(f"{family}_first_rule.tests.yml")
    assert rule.is_file() and tests.is_file()
    text = rule.read_text(encoding="utf-8")
    assert "status: experimental" in text and "attack." in text and "author:" in text
    # As scaffolded: both fail, and say what is not written yet.
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 1
    assert any(line.startswith(f"error   {rule}: not written yet: the rule still holds CHANGE-ME in ")
               and "description" in line and "detection.selection" in line for line in out), out
    assert any(line.startswith(f"error   {tests}: not written yet: the test file still holds CHANGE-ME")
               for line in out), out
    code, out, err = run(capsys, "test", str(tmp_path))
    assert code == 1
    fails = [line for line in out if line.startswith("FAIL")]
    assert len(fails) == 2 and all("not written yet: replace CHANGE-ME" in line for line in fails), out
    # Filled in: both pass.
    value, event_value = FILLED_IN[family]
    rule.write_text(text.replace("CHANGE-ME - what", "What").replace("https://CHANGE-ME.example/", "https://vigie.example/")
                    .replace("CHANGE-ME (your name)", "Vigie tests").replace("'CHANGE-ME'", repr(value)),
                    encoding="utf-8")
    tests.write_text(tests.read_text(encoding="utf-8").replace("holds CHANGE-ME", "holds a placeholder")
                     .replace("CHANGE-ME an", "an").replace('"CHANGE-ME"', f'"{event_value}"'), encoding="utf-8")
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 0, out + err
    code, out, err = run(capsys, "test", str(tmp_path))
    assert code == 0 and out[-1] == "vigie rules test: 2 passed, 0 failed, 0 rule(s) without a test file", out


def test_new_refuses_to_overwrite_and_bad_names(tmp_path: Path, capsys):
    assert run(capsys, "new", "web", "web_x", "--detections", str(tmp_path))[0] == 0
    code, out, err = run(capsys, "new", "web", "web_x", "--detections", str(tmp_path))
    assert code == 2 and len(err) == 1 and "already exists" in err[0]
    code, out, err = run(capsys, "new", "web", "Web X.yml", "--detections", str(tmp_path))
    assert code == 2 and err[0].startswith("vigie: rule name")
    code, out, err = run(capsys, "new", "dns", "x", "--detections", str(tmp_path))
    assert code == 2 and len(err) == 1 and "invalid choice" in err[0]


# ---------------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------------

def test_usage_errors_and_help(capsys):
    code, out, err = run(capsys, "frobnicate")
    assert code == 2 and len(err) == 1 and err[0].startswith("vigie: rules: ")
    code, out, err = run(capsys, "--help")
    assert code == 0 and any("check" in line for line in out)
