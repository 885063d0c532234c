"""The shipped web rules on the project's labelled corpora (tests/data/web_attacks) and on the
real Apache log of ../shared: recall on scanner traffic, false positives on benign traffic.

The measurement is bench/web_detection_recall.py's (python bench/web_detection_recall.py -v
prints the figures and the missed or flagged lines)."""
from __future__ import annotations

import importlib.util
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from pipelines.detection.loader import load_rules
from pipelines.resources import data_dir

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO / "tests" / "data" / "web_attacks"
REAL_APACHE = REPO.parent / "shared" / "data" / "logs" / "apache-elastic-examples" / "apache_logs"
PHP_URL_FOPEN = REPO.parent / "shared" / "data" / "logs" / "fail2ban" / "web" / "php-url-fopen"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


recall = _load("web_detection_recall", REPO / "bench" / "web_detection_recall.py")


@pytest.fixture(scope="module")
def ruleset():
    rules = load_rules([data_dir("detections") / "rules"])
    assert not [s for s in rules.skipped if not s.deferred]
    return rules


def outcome(name: str, ruleset):
    lines, labels = recall.read_corpus(CORPORA / name)
    return recall.evaluate(name, lines, labels, ruleset)


def test_committed_corpora_are_what_the_generators_write():
    scanners = _load("make_scanner_corpus", CORPORA / "make_scanner_corpus.py")
    log, labels = scanners.render(scanners.build())
    assert (CORPORA / "scanners" / "access.log").read_text(encoding="utf-8") == log
    assert (CORPORA / "scanners" / "labels.jsonl").read_text(encoding="utf-8") == labels
    benign = _load("make_benign_corpus", CORPORA / "make_benign_corpus.py")
    assert (CORPORA / "benign" / "access.log").read_text(encoding="utf-8") == benign.render()


def test_scanner_traffic_recall(ruleset):
    """>= 90 % of the payload lines raise a signal without counting the rules that only read
    the tool's name in the User-Agent (scanners change it); every family >= 90 %."""
    result = outcome("scanners", ruleset)
    assert result.events == len(result.lines)
    payload = [k for k, label in enumerate(result.labels) if label["payload"]]
    assert len(payload) >= 300
    missed = [result.lines[k] for k in payload if not result.hit(k, payload_rules_only=True)]
    assert len(missed) <= 0.1 * len(payload), missed
    families = defaultdict(list)
    for k in payload:
        families[result.labels[k]["family"]].append(result.hit(k, payload_rules_only=True))
    weak = {family: sum(hits) / len(hits) for family, hits in families.items() if sum(hits) < 0.9 * len(hits)}
    assert not weak, weak


def test_benign_traffic_false_positives(ruleset):
    """Tricky-but-benign site traffic: under 0.1 % of the lines with a signal."""
    result = outcome("benign", ruleset)
    assert result.events == len(result.lines) >= 5000
    flagged = [result.lines[k] for k in range(len(result.lines)) if result.hit(k)]
    assert len(flagged) < 0.001 * len(result.lines), flagged


def test_crs_regression_requests_do_not_lose_ground(ruleset):
    """The OWASP CRS regression requests (fragments written to unit-test a WAF's regular
    expressions, harder than scanner traffic): the recall measured when the corpus was added
    is a floor, per paranoia level."""
    result = outcome("crs", ruleset)
    assert result.events == len(result.lines)
    per_level = defaultdict(list)
    for k, label in enumerate(result.labels):
        per_level[label["paranoia"]].append(result.hit(k, payload_rules_only=True))
    found = {level: sum(hits) / len(hits) for level, hits in per_level.items()}
    assert found[1] >= 0.32 and found[2] >= 0.25, found


@pytest.mark.skipif(not REAL_APACHE.is_file(), reason=f"real Apache log not found at {REAL_APACHE} "
                    "(clone the project beside ../shared)")
def test_real_benign_apache_log_raises_no_signal(ruleset):
    lines = REAL_APACHE.read_text(encoding="utf-8").splitlines()
    result = recall.evaluate("apache", lines, [{} for _ in lines], ruleset)
    assert result.events >= 9990
    flagged = [result.lines[k] for k in range(len(lines)) if result.hit(k)]
    assert not flagged, flagged


@pytest.mark.skipif(not PHP_URL_FOPEN.is_file(), reason=f"fail2ban samples not found at {PHP_URL_FOPEN} "
                    "(clone the project beside ../shared)")
def test_real_remote_file_inclusion_line(ruleset):
    """fail2ban's php-url-fopen sample: a real RFI attempt (URL ending in ?) from 2009."""
    lines = [x for x in PHP_URL_FOPEN.read_text(encoding="utf-8").splitlines() if x and not x.startswith("#")]
    result = recall.evaluate("php-url-fopen", lines, [{} for _ in lines], ruleset)
    rfi = {rule.id for rule in ruleset.rules if rule.title.startswith("Remote File Inclusion")}
    assert all(fired & rfi for fired in result.rules_per_line), result.rules_per_line
