"""Where the web rules look: the decoded fields through the whole rule path, the convention for a
User-Agent or Referer that was not sent, and the literal prefilter staying one pass."""
from __future__ import annotations

from pathlib import Path

import yaml

from pipelines.detection.engine import match_rule
from pipelines.detection.loader import load_rules
from pipelines.detection.matchers import NEEDLES_PER_PASS, needles_of, prefilter_patterns
from pipelines.detection.rule_tests import event_table, parsed_events, with_decoded
from pipelines.resources import data_dir

EMPTY_AGENT_RULE = {
    "title": "Request Without User-Agent (test)", "id": "0b0c7f3e-93c5-4a0e-8c63-0a4f2c8f5f11",
    "status": "test", "author": "Vigie project", "date": "2026-12-06", "level": "low",
    "description": "The SigmaHQ way of writing a request without User-Agent.",
    "tags": ["attack.command-and-control"],
    "detection": {"selection": {"c-useragent": ""}, "condition": "selection"},
}


def rule_with_logsource(tmp_path: Path, logsource: dict):
    path = tmp_path / "empty_agent.yml"
    path.write_text(yaml.safe_dump({**EMPTY_AGENT_RULE, "logsource": logsource}), encoding="utf-8")
    (rule,) = load_rules([path]).rules
    return rule


def apache(agent: str):
    return parsed_events([f'203.0.113.9 - - [27/Nov/2026:20:01:00 +0100] "GET / HTTP/1.1" 200 5 "-" {agent}'],
                         "apache_combined", "<test>")


def test_a_user_agent_that_was_not_sent_is_absent_and_empty_string_rules_match_it(tmp_path):
    rule = rule_with_logsource(tmp_path, {"category": "webserver"})
    assert len(match_rule(rule, apache('"-"'))) == 1
    assert len(match_rule(rule, apache('""'))) == 1
    assert len(match_rule(rule, apache('"curl/8.5.0"'))) == 0
    assert apache('"-"').column("user_agent.original").to_pylist() == [None]


def test_a_proxy_log_that_records_no_headers_does_not_fire_empty_header_rules(tmp_path):
    rule = rule_with_logsource(tmp_path, {"category": "proxy"})
    squid = parsed_events(["1795810000.123    250 10.20.14.33 TCP_MISS/200 4312 GET http://a.example/ - "
                           "HIER_DIRECT/192.0.2.1 text/html"], "squid", "<test>")
    assert len(match_rule(rule, squid)) == 0


def test_payload_rules_see_path_and_double_encoding_through_the_parser():
    rules = {r.title: r for r in load_rules([data_dir("detections") / "rules" / "web"]).rules}
    xss = rules["Cross-Site Scripting Probe in Request"]
    line = ('198.51.100.201 - - [27/Nov/2026:20:01:00 +0100] "GET /index.php/%253CScRiPt%253Ealert(1)'
            '%253C%252FScRiPt%253E HTTP/1.1" 404 512 "-" "Mozilla/5.0"')
    assert len(match_rule(xss, parsed_events([line], "apache_combined", "<test>"))) == 1
    traversal = rules["Path Traversal or Local File Read in Request"]
    for target in ("/static/..%252f..%252fetc%252fpasswd", "/scripts/..%c0%af../winnt/", "/x?f=..%5c..%5cboot.ini"):
        line = f'141.98.11.62 - - [27/Nov/2026:20:05:22 +0100] "GET {target} HTTP/1.1" 404 5 "-" "Mozilla/5.0"'
        assert len(match_rule(traversal, parsed_events([line], "apache_combined", "<test>"))) == 1, target
    # an `event:` test case that gives url.original only: the harness derives the decoded field
    event = with_decoded({"url.original": "/x?f=%252e%252e%252fetc%252fpasswd"})
    assert event["vigie.url.decoded"] == "/x?f=../etc/passwd"
    assert len(match_rule(traversal, event_table(event, "web.apache_combined", "x"))) == 1


def test_the_literals_on_the_decoded_target_fit_one_prefilter_pass():
    rules = load_rules([data_dir("detections") / "rules"]).rules
    needles = needles_of([r.condition for r in rules])
    assert len(prefilter_patterns(needles["vigie.url.decoded"])) == 1
    short = {n for n in needles["vigie.url.decoded"] if len(n) <= 3 and n.isascii() and n.isalnum()}
    assert not short, f"letters-only needles this short make most requests candidates: {short}"
    assert NEEDLES_PER_PASS >= 300
