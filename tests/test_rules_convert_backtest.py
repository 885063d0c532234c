"""`vigie rules convert` (Sigma -> Lucene, ES|QL, EQL through Vigie's pipeline; sigma-cli with
the vigie_ecs plugin gives the same query) and `vigie rules backtest` over a small replay."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import main as vigie
from pipelines.commands.rules import rules_main
from pipelines.detection.pipeline import pipeline_path

WEB_RULE = """\
title: Test SQL injection from a scripted client
id: 0b8f0d4e-6c7e-4b7a-9d0e-3f5c2a1b9e01
status: test
description: Test rule.
author: Vigie tests
date: 2026-11-28
tags:
    - attack.initial-access
    - attack.t1190
logsource:
    category: webserver
detection:
    selection:
        cs-uri-query|contains: 'union'
        c-useragent|contains: 'sqlmap'
        cs-method: 'GET'
    filter:
        sc-status: 404
    condition: selection and not filter
level: high
"""
KEYWORD_RULE = WEB_RULE.replace("0b8f0d4e-6c7e-4b7a-9d0e-3f5c2a1b9e01",
                                "0b8f0d4e-6c7e-4b7a-9d0e-3f5c2a1b9e02").replace(
    """    selection:
        cs-uri-query|contains: 'union'
        c-useragent|contains: 'sqlmap'
        cs-method: 'GET'
    filter:
        sc-status: 404
    condition: selection and not filter""", """    keywords:
        - 'etc/passwd'
    condition: keywords""")
VPN_RULE = WEB_RULE.replace("0b8f0d4e-6c7e-4b7a-9d0e-3f5c2a1b9e01",
                            "0b8f0d4e-6c7e-4b7a-9d0e-3f5c2a1b9e03").replace(
    "category: webserver", "category: vpn").replace(
    """    selection:
        cs-uri-query|contains: 'union'
        c-useragent|contains: 'sqlmap'
        cs-method: 'GET'
    filter:
        sc-status: 404
    condition: selection and not filter""", """    selection:
        event.outcome: failure
    condition: selection""")
VPN_TITLE = "Test SQL injection from a scripted client"
UNKNOWN_MODIFIER_RULE = WEB_RULE.replace("cs-uri-query|contains:", "cs-uri-query|containz:").replace(
    "0b8f0d4e-6c7e-4b7a-9d0e-3f5c2a1b9e01", "0b8f0d4e-6c7e-4b7a-9d0e-3f5c2a1b9e04")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# convert
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target, shapes", [
    ("lucene", ["url.query:*union*", "user_agent.original:*sqlmap*", "http.response.status_code:404"]),
    ("esql", ['url.query like "*union*"', 'user_agent.original like "*sqlmap*"',
              "http.response.status_code==404"]),
    ("eql", ['url.query:"*union*"', 'user_agent.original:"*sqlmap*"',
             "http.response.status_code:404"]),
])
def test_convert_maps_the_webserver_taxonomy_to_ecs(tmp_path, capsys, target, shapes):
    rule = write(tmp_path, "sqli.yml", WEB_RULE)
    assert rules_main(["convert", "--target", target, str(rule)]) == 0
    query = capsys.readouterr().out
    for shape in shapes:
        assert shape in query, (shape, query)
    for taxonomy in ("cs-uri-query", "c-useragent", "cs-method", "sc-status"):
        assert taxonomy not in query


def test_convert_sends_keywords_to_the_raw_message(tmp_path, capsys):
    rule = write(tmp_path, "keywords.yml", KEYWORD_RULE)
    assert rules_main(["convert", "--target", "lucene", str(rule)]) == 0
    assert capsys.readouterr().out.strip() == r"event.original:*etc\/passwd*"


def test_a_broken_rule_is_one_line_naming_its_file_and_the_others_still_convert(tmp_path, capsys):
    folder = tmp_path / "rules"
    write(folder, "good.yml", WEB_RULE)
    write(folder, "good.tests.yml", "cases: []\n")  # a rule's test file, not a rule
    bad_yaml = write(folder, "bad_yaml.yml", "title: x\n  detection: [\n")
    bad_modifier = write(folder, "bad_modifier.yml", UNKNOWN_MODIFIER_RULE)
    assert rules_main(["convert", "--target", "lucene", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "url.query:*union*" in captured.out
    failures = [line for line in captured.err.splitlines() if ": " in line and "converted" not in line]
    assert len(failures) == 2, captured.err
    assert sum(str(bad_yaml) in line for line in failures) == 1
    assert sum(str(bad_modifier) in line and "containz" in line for line in failures) == 1
    assert "1 rule(s) converted to lucene, 2 failed" in captured.err


BASE_RULE = VPN_RULE.replace("title: ", "name: test_vpn_failure\ntitle: ", 1)
CORRELATION_RULE = """\
title: Test Burst Of VPN Failures
id: 0b8f0d4e-6c7e-4b7a-9d0e-3f5c2a1b9e09
name: test_vpn_failure_burst
status: test
correlation:
    type: event_count
    rules:
        - test_vpn_failure
    group-by:
        - user.name
    timespan: 10m
    condition:
        gte: 5
level: low
"""


@pytest.mark.parametrize("target", ["lucene", "esql", "eql"])
def test_a_rule_a_correlation_references_converts_like_any_other(tmp_path, capsys, target):
    """pySigma's `generate: false` (the default) silences the rules a correlation references;
    convert prints them as if they were alone."""
    alone = write(tmp_path / "alone", "base.yml", BASE_RULE)
    assert rules_main(["convert", "--target", target, str(alone)]) == 0
    expected = capsys.readouterr().out.strip()
    assert expected
    folder = tmp_path / "with-correlation"
    write(folder, "base.yml", BASE_RULE)
    write(folder, "correlation_burst.yml", CORRELATION_RULE)
    code = rules_main(["convert", "--target", target, str(folder)])
    out, err = capsys.readouterr()
    assert expected in out
    if target == "lucene":  # the Lucene backend has no correlations: a note, not a failure
        assert code == 0 and out.strip() == expected
        assert "note: " in err and "does not apply to lucene" in err and "1 do not apply to lucene" in err
    else:
        assert code == 0 and len(out.strip()) > len(expected) and "2 rule(s) converted" in err


def test_convert_without_rules_or_references_is_not_a_success(tmp_path, capsys):
    only = write(tmp_path / "rules", "correlation_burst.yml", CORRELATION_RULE)
    assert rules_main(["convert", "--target", "lucene", str(only)]) == 1  # its base rule is not given
    capsys.readouterr()
    (tmp_path / "empty").mkdir()
    assert rules_main(["convert", "--target", "lucene", str(tmp_path / "empty")]) == 2
    assert capsys.readouterr().err.startswith(f"vigie: rules convert: no Sigma rule file in {tmp_path / 'empty'}")


def test_convert_writes_the_output_file(tmp_path, capsys):
    rule = write(tmp_path, "sqli.yml", WEB_RULE)
    out = tmp_path / "queries.esql"
    assert rules_main(["convert", "--target", "esql", str(rule), "--output", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text().startswith("from * metadata")


def test_convert_refuses_an_unknown_format_and_a_missing_path(tmp_path, capsys):
    rule = write(tmp_path, "sqli.yml", WEB_RULE)
    assert rules_main(["convert", "--target", "lucene", "--format", "splunk", str(rule)]) == 2
    assert rules_main(["convert", "--target", "lucene", str(tmp_path / "missing.yml")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(e.startswith("vigie: ") for e in errors)


def sigma_cli() -> str | None:
    """The sigma-cli executable beside this Python, if installed."""
    candidate = Path(sys.executable).parent / "sigma"
    return str(candidate) if candidate.exists() else shutil.which("sigma")


def sigma_convert(*args: str) -> str:
    done = subprocess.run([sigma_cli(), "convert", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(sigma_cli() is None, reason="sigma-cli is not installed")
def test_sigma_cli_with_the_pipeline_file_gives_our_query(tmp_path, capsys):
    rule = write(tmp_path, "sqli.yml", WEB_RULE)
    assert rules_main(["convert", "--target", "lucene", str(rule)]) == 0
    ours = capsys.readouterr().out.strip()
    assert sigma_convert("-t", "lucene", "-p", str(pipeline_path()), str(rule)) == ours


@pytest.mark.skipif(sigma_cli() is None or importlib.util.find_spec("sigma.pipelines.vigie") is None,
                    reason="the vigie_ecs pySigma plugin is not installed (pip install -e .)")
@pytest.mark.parametrize("target", ["lucene", "esql", "eql"])
def test_sigma_cli_with_the_vigie_ecs_plugin_gives_our_query(tmp_path, capsys, target):
    rule = write(tmp_path, "sqli.yml", WEB_RULE)
    assert rules_main(["convert", "--target", target, str(rule)]) == 0
    ours = capsys.readouterr().out.strip()
    assert sigma_convert("-t", target, "-p", "vigie_ecs", str(rule)) == ours


# ---------------------------------------------------------------------------------------------
# backtest
# ---------------------------------------------------------------------------------------------

def access_line(ip: str, user: str, when: str, target: str, status: int, agent: str) -> str:
    return f'{ip} - {user} [{when} +0000] "GET {target} HTTP/1.1" {status} 512 "-" "{agent}"'


BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SQLMAP = "sqlmap/1.8#stable (https://sqlmap.org)"
ACCESS_LOG = [
    *(access_line("192.0.2.10", "-", f"26/Nov/2026:09:{m:02d}:00", f"/page{m}.html", 200, BROWSER)
      for m in range(20)),
    access_line("203.0.113.9", "alice", "26/Nov/2026:10:00:00", "/s?q=1+union+select+1", 200, SQLMAP),
    access_line("203.0.113.9", "alice", "26/Nov/2026:10:00:05", "/s?q=1+UNION+select+2", 500, SQLMAP),
    access_line("203.0.113.9", "-", "26/Nov/2026:10:00:09", "/s?q=2+union+select+3", 200, SQLMAP),
    access_line("203.0.113.9", "-", "26/Nov/2026:10:00:12", "/gone?q=union", 404, SQLMAP),
    access_line("198.51.100.7", "-", "27/Nov/2026:23:59:58", "/s?id=1+union+all+select", 200, SQLMAP),
    access_line("192.0.2.10", "-", "27/Nov/2026:08:00:00", "/s?q=union+station", 200, BROWSER),
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """A `vigie replay` output of a small Apache access log."""
    work = tmp_path_factory.mktemp("backtest")
    log = write(work / "logs", "access.log", "\n".join(ACCESS_LOG) + "\n")
    assert vigie(["replay", str(log), "--out", str(work / "out")]) == 0
    return work / "out"


def test_backtest_reports_hits_times_entities_and_days(archive, tmp_path, capsys):
    rule = write(tmp_path, "sqli.yml", WEB_RULE)
    report = tmp_path / "report.json"
    assert rules_main(["backtest", str(rule), "--archive", str(archive), "--json", str(report)]) == 0
    text = capsys.readouterr().out
    assert "hits   4" in text
    assert "first  2026-11-26T10:00:00Z" in text and "last   2026-11-27T23:59:58Z" in text
    assert "source.ip: 203.0.113.9 (3), 198.51.100.7 (1)" in text
    assert "user.name: alice (2)" in text
    assert "2026-11-26  " + "#" * 40 + "  3" in text and "2026-11-27  " + "#" * 13 in text
    doc = json.loads(report.read_text())
    assert doc["rule"] == {"id": "0b8f0d4e-6c7e-4b7a-9d0e-3f5c2a1b9e01",
                           "title": "Test SQL injection from a scripted client",
                           "level": "high", "author": "Vigie tests"}
    assert (doc["hits"], doc["events_scanned"]) == (4, len(ACCESS_LOG))
    assert (doc["first"], doc["last"]) == ("2026-11-26T10:00:00Z", "2026-11-27T23:59:58Z")
    assert doc["hits_per_day"] == {"2026-11-26": 3, "2026-11-27": 1}
    assert doc["top_entities"]["source.ip"] == [{"value": "203.0.113.9", "hits": 3},
                                                {"value": "198.51.100.7", "hits": 1}]
    times = [hit["@timestamp"] for hit in doc["sample"]]
    assert len(times) == 4 and times == sorted(times)
    assert all(hit["event.dataset"] == "web.apache_combined" for hit in doc["sample"])


def test_backtest_reads_the_events_folder_too_and_only_routed_datasets(archive, tmp_path, capsys):
    web = write(tmp_path, "sqli.yml", WEB_RULE)
    assert rules_main(["backtest", str(web), "--archive", str(archive / "events")]) == 0
    assert "hits   4" in capsys.readouterr().out



def test_backtest_over_an_archive_without_the_rules_datasets_is_not_0_hits(archive, tmp_path, capsys):
    vpn = write(tmp_path, "vpn.yml", VPN_RULE)
    report = tmp_path / "vpn.json"
    assert rules_main(["backtest", str(vpn), "--archive", str(archive), "--json", str(report)]) == 3
    out, err = capsys.readouterr()
    why = ("the archive holds none of the datasets the rule applies to (vpn.*); it holds "
           "web.apache_combined")
    assert err.splitlines() == [f"vigie: rules backtest: nothing scanned for {VPN_TITLE!r}: {why}"]
    assert "nothing scanned: it holds none of the datasets the rule applies to (vpn.*)" in out
    assert "hits   0 (nothing was scanned)" in out
    doc = json.loads(report.read_text())
    assert (doc["events_scanned"], doc["hits"], doc["datasets"], doc["nothing_scanned"]) == (0, 0, [], why)


def test_backtest_takes_one_rule_file_not_a_folder(archive, tmp_path, capsys):
    assert rules_main(["backtest", str(tmp_path), "--archive", str(archive)]) == 2
    assert capsys.readouterr().err == f"vigie: rules backtest: {tmp_path} is a folder; backtest takes one rule file\n"


def test_backtest_of_a_broken_rule_names_the_file(archive, tmp_path, capsys):
    rule = write(tmp_path, "broken.yml", UNKNOWN_MODIFIER_RULE)
    assert rules_main(["backtest", str(rule), "--archive", str(archive)]) == 1
    err = capsys.readouterr().err
    assert str(rule) in err and "containz" in err


def test_backtest_without_an_archive_is_a_one_line_error(tmp_path, capsys):
    rule = write(tmp_path, "sqli.yml", WEB_RULE)
    assert rules_main(["backtest", str(rule), "--archive", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("vigie: rules backtest: ")
