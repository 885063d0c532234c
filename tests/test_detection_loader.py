"""Rule loading: broken rules are skipped with a reason naming the file while the good ones
load; routing of log sources to datasets; picklable rule sets; signals."""
from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sigma.collection import SigmaCollection

from pipelines.detection.engine import detect, match_rule
from pipelines.detection.loader import load_rules, rule_files
from pipelines.detection.pipeline import route, vigie_pipeline
from pipelines.detection.signals import signal_id
from pipelines.errors import VigieError
from pipelines.schema import event_schema, signal_schema

SHARED_SIGMAHQ = Path(__file__).resolve().parents[2] / "shared" / "data" / "sigmahq" / "rules"


def rule_yaml(detection: str, logsource: str = "category: webserver", rule_id: str | None = None,
              title: str = "A rule") -> str:
    """A complete rule around a detection block."""
    head = f"title: {title}\n"
    if rule_id != "":
        head += f"id: {rule_id or '6a1c8a3e-1b2c-4d5e-8f90-0123456789ab'}\n"
    return (head + "status: test\nlevel: high\nauthor: Vigie tests\ntags:\n    - attack.t1190\n"
            f"logsource:\n    {logsource}\ndetection:\n"
            + textwrap.indent(textwrap.dedent(detection), "    ") + "\n")


GOOD = "sel:\n    cs-uri-query|contains: 'union select'\ncondition: sel"
BROKEN = {
    "invalid_yaml.yml": "title: [unclosed\ndetection: {",
    "unknown_modifier.yml": rule_yaml("sel:\n    url.query|sometimes: x\ncondition: sel",
                                      rule_id="6a1c8a3e-0000-4d5e-8f90-000000000001"),
    "unknown_field.yml": rule_yaml("sel:\n    url.querry: x\ncondition: sel",
                                   rule_id="6a1c8a3e-0000-4d5e-8f90-000000000002"),
    "bad_regex.yml": rule_yaml("sel:\n    url.query|re: 'admin(?=x)'\ncondition: sel",
                               rule_id="6a1c8a3e-0000-4d5e-8f90-000000000003"),
    "invalid_python_regex.yml": rule_yaml("sel:\n    url.query|re: 'a(b'\ncondition: sel",
                                          rule_id="6a1c8a3e-0000-4d5e-8f90-000000000004"),
    "unmapped_cookie.yml": rule_yaml("sel:\n    cs-cookie|contains: x\ncondition: sel",
                                     rule_id="6a1c8a3e-0000-4d5e-8f90-000000000005"),
    "missing_placeholder.yml": rule_yaml("sel:\n    url.path|expand: '%nowhere%'\ncondition: sel",
                                         rule_id="6a1c8a3e-0000-4d5e-8f90-000000000006"),
    "unrouted.yml": rule_yaml(GOOD, logsource="category: process_creation",
                              rule_id="6a1c8a3e-0000-4d5e-8f90-000000000007"),
    "bad_condition.yml": rule_yaml("sel:\n    url.query: x\ncondition: sel and undefined_one",
                                   rule_id="6a1c8a3e-0000-4d5e-8f90-000000000008"),
    "no_id.yml": rule_yaml(GOOD, rule_id=""),
    "mail_field_in_web_rule.yml": rule_yaml("sel:\n    email.subject: x\ncondition: sel",
                                            rule_id="6a1c8a3e-0000-4d5e-8f90-000000000009"),
}
EXPECTED_REASON = {
    "invalid_yaml.yml": "invalid YAML",
    "unknown_modifier.yml": "Unknown modifier",
    "unknown_field.yml": "'url.querry' is not in the web schema",
    "bad_regex.yml": "not supported by RE2",
    "invalid_python_regex.yml": "Regular expression",
    "unmapped_cookie.yml": "cs-cookie has no field",
    "missing_placeholder.yml": "nowhere",
    "unrouted.yml": "routes to no Vigie dataset",
    "bad_condition.yml": "undefined_one",
    "no_id.yml": "has no id",
    "mail_field_in_web_rule.yml": "'email.subject' is not in the web schema",
}


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "detections"
    (folder / "rules" / "web").mkdir(parents=True)
    (folder / "rules" / "web" / "good.yml").write_text(rule_yaml(GOOD), encoding="utf-8")
    for name, text in BROKEN.items():
        (folder / "rules" / "web" / name).write_text(text, encoding="utf-8")
    return folder


def test_broken_rules_are_skipped_with_a_reason_naming_the_file(rules_dir: Path):
    ruleset = load_rules([rules_dir])
    assert [Path(r.path).name for r in ruleset.rules] == ["good.yml"]
    reasons = {s.path.name: str(s) for s in ruleset.skipped}
    assert set(reasons) == set(BROKEN)
    for name, fragment in EXPECTED_REASON.items():
        assert name in reasons[name] and fragment in reasons[name], reasons[name]
        assert not any(s.deferred for s in ruleset.skipped)


def test_files_that_are_not_rules_are_ignored(rules_dir: Path):
    (rules_dir / "rules" / "web" / "good.tests.yml").write_text("match: []\n", encoding="utf-8")
    (rules_dir / "pipelines").mkdir()
    (rules_dir / "pipelines" / "vigie_ecs.yml").write_text("name: x\n", encoding="utf-8")
    (rules_dir / "rules" / "web" / "notes.txt").write_text("x", encoding="utf-8")
    names = {p.name for p in rule_files([rules_dir])}
    assert names == {"good.yml", *BROKEN}


def test_missing_path_is_a_user_error(tmp_path: Path):
    with pytest.raises(VigieError, match="no such file or folder"):
        load_rules([tmp_path / "absent"])


def test_correlation_rules_are_left_to_the_correlation_loader_and_duplicate_ids_skipped(tmp_path: Path):
    (tmp_path / "a.yml").write_text(rule_yaml(GOOD, title="first"), encoding="utf-8")
    (tmp_path / "b.yml").write_text(rule_yaml(GOOD, title="second"), encoding="utf-8")
    (tmp_path / "c.yml").write_text(textwrap.dedent("""\
        title: Many failures
        id: 0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b
        correlation:
            type: event_count
            rules: [first]
            group-by: [source.ip]
            timespan: 5m
            condition: {gte: 10}
        """), encoding="utf-8")
    ruleset = load_rules([tmp_path])
    assert [r.title for r in ruleset.rules] == ["first"]
    skipped = {s.path.name: s for s in ruleset.skipped}
    assert "duplicate rule id" in skipped["b.yml"].reason and "a.yml" in skipped["b.yml"].reason
    assert "c.yml" not in skipped  # pipelines/correlation/loader.py loads it


def test_a_file_with_several_rules_loads_each(tmp_path: Path):
    text = rule_yaml(GOOD, title="one") + "---\n" + rule_yaml(
        "sel:\n    url.path: /x\ncondition: sel", rule_id="6a1c8a3e-0000-4d5e-8f90-0000000000ff", title="two")
    (tmp_path / "two.yml").write_text(text, encoding="utf-8")
    assert sorted(r.title for r in load_rules([tmp_path]).rules) == ["one", "two"]


@pytest.mark.parametrize("logsource, expected", [
    ("category: webserver", {"web.apache_combined", "web.apache_common", "web.w3c"}),
    ("category: proxy", {"web.squid"}),
    ("product: apache", {"web.apache_combined", "web.apache_common"}),
    ("service: nginx", {"web.apache_combined", "web.apache_common"}),
    ("{category: webserver, product: iis}", {"web.w3c"}),
    ("category: mail", {"mail"}),
    ("{category: mail, product: postfix}", {"mail.postfix"}),
    ("category: vpn", {"vpn"}),
    ("{category: vpn, product: fortigate}", {"vpn.fortigate"}),
    ("category: process_creation", set()),
])
def test_routing_by_log_source(logsource: str, expected: set[str]):
    rule = SigmaCollection.from_yaml(rule_yaml(GOOD, logsource=logsource)).rules[0]
    assert route(rule) == frozenset(expected)


def test_the_pipeline_maps_the_web_taxonomy_and_keywords():
    text = rule_yaml("sel:\n    c-useragent: x\n    cs-uri-stem: /a\n    sc-status: 404\n"
                     "keywords: [boom]\ncondition: sel and keywords")
    rule = SigmaCollection.from_yaml(text).rules[0]
    vigie_pipeline().apply(rule)
    fields = {item.field for detection in rule.detection.detections.values()
              for item in detection.detection_items}
    assert fields == {"user_agent.original", "url.path", "http.response.status_code", "event.original"}


def test_ruleset_pickles_and_evaluates_the_same(rules_dir: Path):
    ruleset = load_rules([rules_dir])
    table = pa.Table.from_pylist([{"event.dataset": "web.apache_combined", "url.query": q, "event.id": str(k)}
                                  for k, q in enumerate(["a UNION select b", "nothing"])],
                                 schema=event_schema())
    again = pickle.loads(pickle.dumps(ruleset))
    assert detect(again, table).equals(detect(ruleset, table))
    assert match_rule(again.rules[0], table).tolist() == [0]


def test_signals_carry_rule_metadata_event_and_entities(rules_dir: Path):
    ruleset = load_rules([rules_dir])
    rows = [{"event.dataset": "web.apache_combined", "event.id": "e1", "url.query": "1 union select 2",
             "source.ip": "203.0.113.7", "url.domain": "www.chu-exemple.fr", "log.offset": 42},
            {"event.dataset": "web.apache_combined", "event.id": "e2", "url.query": "q=hello"}]
    signals = detect(ruleset, pa.Table.from_pylist(rows, schema=event_schema()))
    assert signals.schema == signal_schema()
    [signal] = signals.to_pylist()
    rule = ruleset.rules[0]
    assert signal["signal.id"] == signal_id(rule.id, "e1") and len(signal["signal.id"]) == 32
    assert (signal["rule.id"], signal["rule.name"], signal["rule.level"], signal["rule.author"]) == \
        (rule.id, "A rule", "high", "Vigie tests")
    assert signal["rule.tags"] == ["attack.t1190"]
    assert (signal["event.id"], signal["source.ip"], signal["url.domain"], signal["log.offset"]) == \
        ("e1", "203.0.113.7", "www.chu-exemple.fr", 42)
    assert signal["event.kind"] == "signal"


def test_detect_on_an_empty_table_gives_no_signals(rules_dir: Path):
    ruleset = load_rules([rules_dir])
    assert detect(ruleset, event_schema().empty_table()).num_rows == 0


def test_sigmahq_web_rules_load(tmp_path: Path):
    if not SHARED_SIGMAHQ.is_dir():
        pytest.skip(f"SigmaHQ reference rules not found at {SHARED_SIGMAHQ}")
    ruleset = load_rules([SHARED_SIGMAHQ / "web"])
    # one SigmaHQ web rule reads cs-cookie, which access logs do not record
    assert len(ruleset.rules) == 44
    assert [s.path.name for s in ruleset.skipped] == ["proxy_hktl_cobalt_strike_malleable_c2_requests.yml"]
    assert all(rule.author for rule in ruleset.rules)
    assert np.all([len(r.datasets) > 0 for r in ruleset.rules])
