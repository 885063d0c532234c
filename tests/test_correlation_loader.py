"""Correlation rule files -> CorrelationSet (pipelines/correlation/loader.py): resolution by
name and id against the given paths, the shipped rules and the built-ins; chaining; aliases;
generate; level and emission; one-line problems naming the file, the other rules still load."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipelines.correlation.builtins import BUILTINS
from pipelines.correlation.loader import load_detections
from pipelines.correlation.model import Emission
from pipelines.detection.signals import event_columns
from pipelines.schema import schemas, signal_fields

FAILURE_ID = "ef5cf214-5d7b-4cfe-a07c-3c9e9e327a5c"  # shipped vpn_login_failure
FOREIGN_ID = "8d3f6b2e-41c7-4e59-b0a4-7e2c19f5d6a3"  # shipped vpn_login_from_unusual_country
TRAVEL_ID = "5f0c1a52-7d4e-4b8a-9a61-3c2e8f7d9b10"

BASE = """\
title: Web Error
id: 11111111-2222-4333-8444-555555555555
name: web_error
status: experimental
author: tests
tags: [attack.t1190]
logsource: {category: webserver}
detection:
    sel: {http.response.status_code: 500}
    condition: sel
level: low
"""


def correlation(body: str, *, title: str = "Corr", rule_id: str = "aaaaaaaa-0000-4000-8000-000000000001",
                name: str | None = "corr", level: str | None = "high", extra: str = "") -> str:
    head = f"title: {title}\nid: {rule_id}\n" + (f"name: {name}\n" if name else "")
    tail = f"level: {level}\n" if level else ""
    return head + extra + "correlation:\n" + textwrap.indent(textwrap.dedent(body), "    ") + tail


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_references_resolve_by_name_and_id_in_given_shipped_and_builtin_rules(tmp_path: Path):
    write(tmp_path, "web_error.yml", BASE)
    write(tmp_path, "correlation_a.yml", correlation(f"""\
        type: event_count
        rules: [web_error, {FAILURE_ID}, impossible_travel, vpn_login_from_unusual_country]
        group-by: [source.ip]
        timespan: 10m
        condition: {{gte: 3}}
        """))
    detections = load_detections([tmp_path])
    (rule,) = detections.correlations.rules
    assert [s.rule_id for s in rule.sources] == [
        "11111111-2222-4333-8444-555555555555", FAILURE_ID, TRAVEL_ID, FOREIGN_ID]
    assert [s.kind for s in rule.sources] == ["sigma", "sigma", "builtin", "sigma"]
    # The shipped rules it needs are pulled into the rule set so that their signals exist.
    assert {r.id for r in detections.ruleset.rules} >= {FAILURE_ID, FOREIGN_ID}
    assert rule.timespan_ms == 600_000 and rule.chain_level == 1


def test_the_builtin_registry_matches_the_travel_detection():
    try:
        from pipelines.correlation.travel import TRAVEL_RULE
    except ImportError:
        from pipelines.enrichment.travel import TRAVEL_RULE
    travel = BUILTINS["impossible_travel"]
    assert (travel.rule_id, travel.title, travel.level, list(travel.tags)) == (
        TRAVEL_RULE["rule.id"], TRAVEL_RULE["rule.name"], TRAVEL_RULE["rule.level"],
        TRAVEL_RULE["rule.tags"])


def test_chains_aliases_extended_conditions_and_generate(tmp_path: Path):
    write(tmp_path, "web_error.yml", BASE)
    write(tmp_path, "correlation_chain.yml", correlation("""\
        type: temporal_ordered
        rules: [burst, vpn_login_from_unusual_country]
        group-by: [account]
        aliases:
            account:
                burst: who
                vpn_login_from_unusual_country: user.name
        timespan: 30m
        """, name="top", level="critical", rule_id="aaaaaaaa-0000-4000-8000-000000000002")
        + "---\n" + correlation("""\
        type: event_count
        rules: [vpn_login_failure]
        group-by: [who]
        aliases:
            who:
                vpn_login_failure: user.name
        timespan: 10m
        condition: {gte: 5}
        vigie: {emit: every, suppress: 0s}
        """, name="burst", level=None, rule_id="aaaaaaaa-0000-4000-8000-000000000003")
        + "---\n" + correlation("""\
        type: temporal
        group-by: [source.ip]
        timespan: 5m
        condition: web_error and not impossible_travel
        generate: true
        """, name="ext", rule_id="aaaaaaaa-0000-4000-8000-000000000004"))
    detections = load_detections([tmp_path])
    assert detections.correlations.skipped == []
    rules = {r.name: r for r in detections.correlations.rules}
    assert [r.name for r in detections.correlations.rules][-1] == "top"  # by chain level
    top, burst, ext = rules["top"], rules["burst"], rules["ext"]
    assert top.chain_level == 2 and burst.chain_level == 1
    assert [s.fields for s in top.sources] == [("who",), ("user.name",)]
    assert burst.sources[0].fields == ("user.name",)
    assert burst.emission == Emission("every", 0) and top.emission is None
    assert ext.expression == ("and", (("rule", 0), ("not", ("rule", 1))))
    # generate: burst and the foreign-login rule feed only `top` (generate: false) ...
    assert burst.building_block and not top.building_block
    blocks = {r.name for r in detections.ruleset.rules if r.building_block}
    assert "vpn_login_from_unusual_country" in blocks and "vpn_login_failure" in blocks
    # ... while web_error feeds `ext`, which generates.
    assert "web_error" not in blocks


PROBLEMS = {
    "unknown reference": ("""\
        type: event_count
        rules: [no_such_rule]
        group-by: [source.ip]
        timespan: 10m
        condition: {gte: 3}
        """, "rule reference 'no_such_rule' matches no rule"),
    "group-by not carried": ("""\
        type: event_count
        rules: [web_error]
        group-by: [url.query]
        timespan: 10m
        condition: {gte: 3}
        """, "group-by field 'url.query' on rule 'web_error': signals do not carry it"),
    "non-numeric sum": ("""\
        type: value_sum
        rules: [web_error]
        group-by: [source.ip]
        timespan: 10m
        condition: {gte: 3, field: user.name}
        """, "value_sum field 'user.name' on rule 'web_error': it is keyword, not a number"),
    "percentile missing": ("""\
        type: value_percentile
        rules: [web_error]
        group-by: [source.ip]
        timespan: 10m
        condition: {gte: 3, field: http.response.bytes}
        """, "value_percentile needs `percentile:`"),
    "alias incomplete": ("""\
        type: temporal
        rules: [web_error, vpn_login_failure]
        group-by: [ip]
        aliases: {ip: {web_error: source.ip}}
        timespan: 10m
        """, "alias 'ip' does not say which field of rule 'vpn_login_failure' holds it"),
    "typo in correlation": ("""\
        type: event_count
        rules: [web_error]
        group_by: [source.ip]
        timespan: 10m
        condition: {gte: 3}
        """, "unknown key(s) in correlation: group_by"),
    "temporal twice": ("""\
        type: temporal
        rules: [web_error, web_error]
        group-by: [source.ip]
        timespan: 10m
        """, "lists the same rule twice"),
    "bad emission": ("""\
        type: event_count
        rules: [web_error]
        group-by: [source.ip]
        timespan: 10m
        condition: {gte: 3}
        vigie: {emit: sometimes}
        """, "vigie.emit 'sometimes'"),
    "chained group-by not carried": ("""\
        type: event_count
        rules: [good]
        group-by: [user.name]
        timespan: 10m
        condition: {gte: 2}
        """, "the results of correlation 'good' carry only its group-by names (source.ip)"),
}


def test_a_broken_correlation_is_one_line_naming_the_file_and_the_others_load(tmp_path: Path):
    write(tmp_path, "web_error.yml", BASE)
    write(tmp_path, "correlation_good.yml", correlation("""\
        type: event_count
        rules: [web_error]
        group-by: [source.ip]
        timespan: 10m
        condition: {gte: 3}
        """, name="good"))
    for k, (label, (body, _)) in enumerate(PROBLEMS.items(), 10):
        write(tmp_path, f"correlation_{label.replace(' ', '_')}.yml",
              correlation(body, name=None, rule_id=f"aaaaaaaa-0000-4000-8000-0000000000{k}"))
    detections = load_detections([tmp_path])
    assert [r.name for r in detections.correlations.rules] == ["good"]
    messages = {s.path.name: str(s) for s in detections.correlations.skipped}
    for label, (_, fragment) in PROBLEMS.items():
        name = f"correlation_{label.replace(' ', '_')}.yml"
        assert fragment in messages[name] and name in messages[name], messages[name]
        assert "\n" not in messages[name]


def test_a_chain_to_a_broken_correlation_and_a_cycle_are_reported(tmp_path: Path):
    write(tmp_path, "correlation_cycle.yml", correlation("""\
        type: event_count
        rules: [two]
        group-by: [source.ip]
        timespan: 10m
        condition: {gte: 1}
        """, name="one", rule_id="aaaaaaaa-0000-4000-8000-000000000021") + "---\n" + correlation("""\
        type: event_count
        rules: [one]
        group-by: [source.ip]
        timespan: 10m
        condition: {gte: 1}
        """, name="two", rule_id="aaaaaaaa-0000-4000-8000-000000000022"))
    skipped = load_detections([tmp_path]).correlations.skipped
    assert len(skipped) == 2 and all("reference cycle" in s.reason for s in skipped)


def test_duplicate_ids_and_missing_ids(tmp_path: Path):
    write(tmp_path, "web_error.yml", BASE)
    body = """\
        type: event_count
        rules: [web_error]
        group-by: [source.ip]
        timespan: 10m
        condition: {gte: 3}
        """
    write(tmp_path, "correlation_a.yml", correlation(body, name="a"))
    write(tmp_path, "correlation_b.yml", correlation(body, name="b"))
    write(tmp_path, "correlation_c.yml", "title: No id\ncorrelation:\n" + textwrap.indent(
        textwrap.dedent(body), "    "))
    skipped = {s.path.name: s.reason for s in load_detections([tmp_path]).correlations.skipped}
    assert "duplicate rule id" in skipped["correlation_b.yml"]
    assert "no id" in skipped["correlation_c.yml"]


def test_the_shipped_correlations_load():
    detections = load_detections([Path(__file__).parent.parent / "detections"])
    assert detections.correlations.skipped == []
    assert {r.name for r in detections.correlations.rules} >= {
        "vpn_password_guessing", "vpn_password_guessing_then_foreign_login",
        "mail_account_mass_mailing"}
    assert all(r.name for r in detections.ruleset.rules), "every shipped base rule has a name:"


def test_signals_carry_every_signals_yml_event_field():
    events = schemas().fields
    expected = [n for n in signal_fields() if n in events and n != "event.kind"
                and not n.startswith(("rule.", "signal."))]  # the signal's own, never the event's
    assert list(event_columns()) == expected
    for name in ("source.ip", "user.name", "email.to.address", "destination.ip",
                 "http.response.bytes", "vigie.mail.recipient_count", "source.bytes"):
        assert name in expected


@pytest.mark.parametrize("field", ["vigie.correlation.window.start", "vigie.correlation.signal_ids",
                                   "vigie.correlation.value", "vigie.building_block"])
def test_result_fields_are_in_the_signal_schema(field):
    assert field in signal_fields()
