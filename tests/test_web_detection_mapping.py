"""Where the web rules look: the decoded fields through the whole rule path, for every web
access format, and the literal prefilter staying one pass."""
from __future__ import annotations

from pathlib import Path

from pipelines.detection.engine import match_rule
from pipelines.detection.loader import load_rules
from pipelines.detection.matchers import NEEDLES_PER_PASS, needles_of, prefilter_patterns
from pipelines.authoring.rule_tests import event_table, parsed_events, with_decoded
from pipelines.resources import data_dir

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
