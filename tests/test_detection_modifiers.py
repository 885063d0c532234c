"""Truth tables for every Sigma value modifier and condition feature of the detection engine.

Each test writes a rule's detection inline as YAML, builds a small Arrow table of events and
asserts exactly which rows match. `hits()` also checks that the answer does not depend on how
the engine stores the batch: the same rows must match in a large repetitive copy of the table
(dictionary-encoded domains), and in a table cut into many chunks.
"""
from __future__ import annotations

import base64
import datetime as dt
import math
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest
from sigma.collection import SigmaCollection

from pipelines.detection.compiler import UnsupportedRule
from pipelines.detection.engine import CompiledRule, match_rule
from pipelines.detection.loader import compile_sigma_rule
from pipelines.detection.matchers import SAMPLE_SIZE
from pipelines.detection.pipeline import vigie_pipeline
from pipelines.schema import event_schema

RULE = """\
title: Truth table
id: 5d1f6a52-0000-4000-8000-000000000001
status: test
level: low
logsource:
    {logsource}
detection:
{detection}
"""
WEB = "category: webserver"
MAIL = "category: mail"


def compile_detection(detection: str, logsource: str = WEB) -> CompiledRule:
    """A rule with this detection block (YAML) -> CompiledRule (through the Vigie pipeline)."""
    text = RULE.format(logsource=logsource, detection=textwrap.indent(textwrap.dedent(detection), "    "))
    rule = SigmaCollection.from_yaml(text).rules[0]
    assert not rule.errors, rule.errors
    return compile_sigma_rule(rule, Path("truth_table.yml"), vigie_pipeline())


def events(rows: list[dict], dataset: str = "web.apache_combined",
           schema: pa.Schema | None = None) -> pa.Table:
    """Flat dotted ECS rows -> an event table (missing fields null)."""
    return pa.Table.from_pylist([{"event.dataset": dataset, **row} for row in rows],
                                schema=schema or event_schema())


def hits(detection: str, rows: list[dict], logsource: str = WEB,
         dataset: str = "web.apache_combined", schema: pa.Schema | None = None,
         layouts: bool = True) -> list[int]:
    """Indices of the rows the rule matches (checked to be the same in other layouts)."""
    rule = compile_detection(detection, logsource)
    table = events(rows, dataset, schema)
    found = match_rule(rule, table).tolist()
    if layouts:
        copies = math.ceil(2 * SAMPLE_SIZE / len(rows))
        big = pa.concat_tables([table] * copies)
        assert match_rule(rule, big).tolist() == [k * len(rows) + i for k in range(copies) for i in found]
        chunked = pa.Table.from_batches(table.to_batches(max_chunksize=2))
        assert match_rule(rule, chunked).tolist() == found
    return found


def paths(*values: str | None) -> list[dict]:
    return [{"url.path": v} for v in values]


def queries(*values: str | None) -> list[dict]:
    return [{"url.query": v} for v in values]


# ---------------------------------------------------------------------------------------------
# Strings: case, wildcards, escapes
# ---------------------------------------------------------------------------------------------

def test_plain_value_is_a_case_insensitive_whole_value_match():
    rows = paths("/admin", "/ADMIN", "/admin/x", "x/admin", None, "/Admin", "")
    assert hits("sel:\n    url.path: /Admin\ncondition: sel", rows) == [0, 1, 5]


def test_case_insensitivity_covers_non_ascii_letters():
    assert hits("sel:\n    url.path: /café\ncondition: sel", paths("/CAFÉ", "/cafe")) == [0]


def test_wildcards_star_and_question_mark():
    rows = paths("/abxc", "/a123bxc", "/abc", "/abxxc", "/A-B-C", "/a\nb\nc", "x/abxc")
    assert hits("sel:\n    url.path: '/a*b?c'\ncondition: sel", rows) == [0, 1, 4, 5]


def test_lone_star_matches_any_value_but_not_null():
    assert hits("sel:\n    url.path: '*'\ncondition: sel", paths("x", "", None)) == [0, 1]


def test_empty_string_matches_only_the_empty_value():
    assert hits("sel:\n    url.path: ''\ncondition: sel", paths("", "x", None)) == [0]


@pytest.mark.parametrize("pattern, rows, expected", [
    (r"'a\*b'", ["a*b", "A*B", "axb", r"a\*b"], [0, 1]),            # \* is a literal star
    (r"'a\?b'", ["a?b", "axb"], [0]),                                # \? is a literal ?
    (r"'a\\*'", ["a\\", "a\\xyz", "axyz"], [0, 1]),                  # \\ is one backslash, then *
    (r"'a\b'", ["a\\b", "ab"], [0]),                                 # \ before a plain char stays
    (r"'c:\windows\*'", ["C:\\WINDOWS*", "c:\\windows\\x"], [0]),    # so \* here is a literal *
])
def test_escapes(pattern, rows, expected):
    assert hits(f"sel:\n    url.path: {pattern}\ncondition: sel", paths(*rows)) == expected


def test_regex_metacharacters_in_values_are_literal():
    rows = paths("/a.b(c)[d]+$^|{1}", "/aXb(c)[d]+$^|{1}")
    assert hits("sel:\n    url.path: '/a.b(c)[d]+$^|{1}'\ncondition: sel", rows) == [0]


def test_contains_startswith_endswith():
    rows = queries("id=1 UNION SELECT 2", "unionselect", None, "union select")
    assert hits("sel:\n    url.query|contains: 'union select'\ncondition: sel", rows) == [0, 3]
    rows = paths("/admin/x", "/Admin", "x/admin")
    assert hits("sel:\n    url.path|startswith: /admin\ncondition: sel", rows) == [0, 1]
    rows = paths("a.PHP", "a.php5", ".php")
    assert hits("sel:\n    url.path|endswith: .php\ncondition: sel", rows) == [0, 2]


def test_contains_with_a_wildcard_inside():
    rows = queries("x select a from y", "from select", "selectfrom")
    assert hits("sel:\n    url.query|contains: 'select*from'\ncondition: sel", rows) == [0, 2]


def test_cased_keeps_the_case():
    assert hits("sel:\n    url.path|cased: /Admin\ncondition: sel", paths("/Admin", "/admin")) == [0]
    rows = paths("/x/Admin/y", "/x/admin/y")
    assert hits("sel:\n    url.path|contains|cased: Admin\ncondition: sel", rows) == [0]


def test_numbers_and_booleans_as_values():
    rows = [{"http.response.status_code": 200}, {"http.response.status_code": 404}, {}]
    assert hits("sel:\n    http.response.status_code: 404\ncondition: sel", rows) == [1]
    # a number against a string field compares the text
    assert hits("sel:\n    url.query: 404\ncondition: sel", queries("404", "0404", "404.0")) == [0]
    # a string against a number field compares the number's text
    rows = [{"http.response.status_code": 404}, {"http.response.status_code": 403}]
    assert hits("sel:\n    http.response.status_code: '40*'\ncondition: sel", rows) == [0, 1]
    assert hits("sel:\n    url.query: true\ncondition: sel", queries("true", "TRUE", "yes")) == [0, 1]


# ---------------------------------------------------------------------------------------------
# Lists, maps, all
# ---------------------------------------------------------------------------------------------

def test_list_is_or_and_all_is_and():
    assert hits("sel:\n    url.path: [/a, /b]\ncondition: sel", paths("/a", "/B", "/c")) == [0, 1]
    rows = queries("union select", "select 1 union", "union")
    assert hits("sel:\n    url.query|contains|all: [union, select]\ncondition: sel", rows) == [0, 1]


def test_map_is_and():
    rows = [{"url.path": "/a", "http.request.method": "POST"},
            {"url.path": "/a", "http.request.method": "GET"},
            {"url.path": "/b", "http.request.method": "POST"}]
    assert hits("sel:\n    url.path: /a\n    http.request.method: post\ncondition: sel", rows) == [0]


def test_list_of_maps_is_or():
    detection = """\
sel:
    - url.path: /a
    - http.request.method: POST
condition: sel
"""
    rows = [{"url.path": "/a"}, {"http.request.method": "POST"}, {"url.path": "/b"}]
    assert hits(detection, rows) == [0, 1]


# ---------------------------------------------------------------------------------------------
# Encodings: windash, base64, base64offset, wide / utf16
# ---------------------------------------------------------------------------------------------

def test_windash():
    rows = queries("cmd -exec x", "cmd /exec", "cmd \u2013exec", "cmd \u2014exec", "cmd \u2015exec",
                   "cmd exec", "cmd _exec")
    assert hits("sel:\n    url.query|windash|contains: ' -exec'\ncondition: sel", rows) == [0, 1, 2, 3, 4]


def test_base64():
    encoded = base64.b64encode(b"abc").decode()  # YWJj
    rows = queries(encoded, "x" + encoded, encoded.lower())
    # like every string match, base64 values are case-insensitive unless `cased`
    assert hits("sel:\n    url.query|base64: abc\ncondition: sel", rows) == [0, 2]
    assert hits("sel:\n    url.query|base64|contains: abc\ncondition: sel", rows) == [0, 1, 2]


def _b64_at_offsets(data: bytes) -> list[str]:
    return [base64.b64encode(b"x" * k + data + b"!").decode() for k in range(3)]


def test_base64offset_finds_the_value_at_any_offset():
    rows = queries(*_b64_at_offsets(b"http://evil"), base64.b64encode(b"hello").decode())
    assert hits("sel:\n    url.query|base64offset|contains: 'http://'\ncondition: sel", rows) == [0, 1, 2]


def test_wide_utf16be_utf16_with_base64offset():
    wide = _b64_at_offsets("cmd /c".encode("utf-16le"))
    big_endian = _b64_at_offsets("cmd /c".encode("utf-16be"))
    plain = _b64_at_offsets(b"cmd /c")
    rows = queries(*wide, *big_endian, *plain)
    assert hits("sel:\n    url.query|wide|base64offset|contains: 'cmd /c'\ncondition: sel", rows) == [0, 1, 2]
    assert hits("sel:\n    url.query|utf16be|base64offset|contains: 'cmd /c'\ncondition: sel", rows) == [3, 4, 5]
    # pySigma 1.5's utf16 puts the byte-order mark U+FEFF in the value as a character: its base64
    # holds the mark's UTF-8 bytes (EF BB BF), not UTF-16's FF FE. The engine matches the value
    # pySigma builds; a blob starts with the mark, so offset 0 is the case that occurs.
    pysigma_bom = base64.b64encode("\ufeff".encode("utf-8") + "cmd /c".encode("utf-16le")).decode()
    real_bom = base64.b64encode("cmd /c".encode("utf-16")).decode()
    rows = queries(pysigma_bom, real_bom)
    assert hits("sel:\n    url.query|utf16|base64offset|contains: 'cmd /c'\ncondition: sel", rows) == [0]


def test_wide_without_base64_matches_the_nul_interleaved_text():
    rows = queries("x" + "cmd".encode("utf-16le").decode("ascii") + "y", "cmd")
    assert hits("sel:\n    url.query|wide|contains: cmd\ncondition: sel", rows) == [0]


# ---------------------------------------------------------------------------------------------
# Regular expressions (RE2)
# ---------------------------------------------------------------------------------------------

def test_re_is_an_unanchored_case_sensitive_search():
    rows = queries("x&id=12", "ID=12", "id=12&")
    assert hits("sel:\n    url.query|re: 'id=\\d+$'\ncondition: sel", rows) == [0]
    assert hits("sel:\n    url.query|re|i: 'id=\\d+$'\ncondition: sel", rows) == [0, 1]


def test_re_multiline_and_dotall_flags():
    rows = [{"event.original": "ok\nERROR x"}, {"event.original": "a\nb"}]
    assert hits("sel:\n    event.original|re: '^ERROR'\ncondition: sel", rows) == []
    assert hits("sel:\n    event.original|re|m: '^ERROR'\ncondition: sel", rows) == [0]
    assert hits("sel:\n    event.original|re: 'a.b'\ncondition: sel", rows) == []
    assert hits("sel:\n    event.original|re|s: 'a.b'\ncondition: sel", rows) == [1]


def test_catastrophic_backtracking_pattern_finishes_with_the_right_answer():
    rows = queries("a" * 100_000 + "b", "aaaa", "b")
    assert hits("sel:\n    url.query|re: '(a+)+$'\ncondition: sel", rows, layouts=False) == [1]


def test_re_is_evaluated_only_where_the_rest_of_the_rule_holds():
    rows = [{"url.query": "x1", "http.request.method": "GET"},
            {"url.query": "x2", "http.request.method": "POST"},
            {"url.query": "y3", "http.request.method": "POST"}]
    detection = "sel:\n    http.request.method: POST\n    url.query|re: '^x'\ncondition: sel"
    assert hits(detection, rows) == [1]


# ---------------------------------------------------------------------------------------------
# cidr
# ---------------------------------------------------------------------------------------------

def ips(*values: str | None) -> list[dict]:
    return [{"source.ip": v} for v in values]


def test_cidr_ipv4():
    rows = ips("10.1.2.3", "11.0.0.1", "100.0.0.1", "10.0.0.256", "::ffff:10.1.2.3", "not-an-ip",
               None, "010.1.2.3", "10.255.255.255")
    assert hits("sel:\n    source.ip|cidr: 10.0.0.0/8\ncondition: sel", rows) == [0, 4, 8]


def test_cidr_ipv4_not_on_an_octet_boundary():
    rows = ips("192.168.4.1", "192.168.7.255", "192.168.8.0", "192.168.3.255")
    assert hits("sel:\n    source.ip|cidr: 192.168.4.0/22\ncondition: sel", rows) == [0, 1]


def test_cidr_ipv6():
    rows = ips("2001:db8::1", "2001:0DB8:0000::abcd", "2001:db9::1", "10.0.0.1", "::ffff:10.0.0.1",
               "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
    assert hits("sel:\n    source.ip|cidr: '2001:db8::/32'\ncondition: sel", rows) == [0, 1, 5]
    rows = ips("2001:db8::1", "2001:db8::", "2001:db8::2")
    assert hits("sel:\n    source.ip|cidr: '2001:db8::/127'\ncondition: sel", rows) == [0, 1]


def test_cidr_list_and_list_typed_column():
    rows = ips("10.9.9.9", "fd12::1", "8.8.8.8")
    assert hits("sel:\n    source.ip|cidr: [10.0.0.0/8, 'fd00::/8']\ncondition: sel", rows) == [0, 1]
    rows = [{"related.ip": ["8.8.8.8", "10.0.0.1"]}, {"related.ip": ["8.8.8.8"]}, {"related.ip": None}]
    assert hits("sel:\n    related.ip|cidr: 10.0.0.0/8\ncondition: sel", rows) == [0]


# ---------------------------------------------------------------------------------------------
# exists, null, missing columns, list-typed columns
# ---------------------------------------------------------------------------------------------

def test_exists():
    rows = [{"user.name": "x"}, {"user.name": None}, {"user.name": ""}]
    assert hits("sel:\n    user.name|exists: true\ncondition: sel", rows) == [0, 2]
    assert hits("sel:\n    user.name|exists: false\ncondition: sel", rows) == [1]


def test_null_matches_a_null_value_not_an_empty_string():
    rows = [{"user.name": "x"}, {"user.name": None}, {"user.name": ""}]
    assert hits("sel:\n    user.name: null\ncondition: sel", rows) == [1]


def test_missing_column_reads_as_null():
    schema = pa.schema([("event.dataset", pa.string()), ("url.path", pa.string())])
    rows = paths("/a", "/b")
    assert hits("sel:\n    user.name: null\ncondition: sel", rows, schema=schema) == [0, 1]
    assert hits("sel:\n    user.name|exists: true\ncondition: sel", rows, schema=schema) == []
    detection = "sel:\n    url.path: /a\nfilter:\n    user.name: root\ncondition: sel and not filter"
    assert hits(detection, rows, schema=schema) == [0]


MAIL_ROWS = [{"email.to.address": ["a@x.fr", "BOSS@chu-exemple.fr"]}, {"email.to.address": ["a@x.fr"]},
             {"email.to.address": None}, {"email.to.address": []}, {"email.to.address": [None]}]


def mail_hits(detection: str, rows: list[dict] = MAIL_ROWS) -> list[int]:
    return hits(detection, rows, logsource=MAIL, dataset="mail.postfix")


def test_list_column_matches_when_any_element_matches():
    assert mail_hits("sel:\n    email.to.address: boss@chu-exemple.fr\ncondition: sel") == [0]
    assert mail_hits("sel:\n    email.to.address|endswith: '@x.fr'\ncondition: sel") == [0, 1]
    # negation: no element matches (null and empty lists included)
    assert mail_hits("sel:\n    email.to.address: boss@chu-exemple.fr\ncondition: not sel") == [1, 2, 3, 4]


def test_list_column_null_means_no_value_at_all():
    # null, an empty list and a list of nulls hold no value
    assert mail_hits("sel:\n    email.to.address: null\ncondition: sel") == [2, 3, 4]
    assert mail_hits("sel:\n    email.to.address|exists: true\ncondition: sel") == [0, 1]


# ---------------------------------------------------------------------------------------------
# fieldref, comparisons, expand, neq, date parts
# ---------------------------------------------------------------------------------------------

def test_fieldref_equality_is_case_insensitive():
    rows = [{"url.path": "/A", "url.query": "/a"}, {"url.path": "/a", "url.query": "/b"},
            {}, {"url.path": "/a"}]
    assert hits("sel:\n    url.path|fieldref: url.query\ncondition: sel", rows) == [0]


def test_fieldref_startswith_endswith_contains():
    rows = [{"user_agent.original": "curl/7.1", "url.query": "CURL"},
            {"user_agent.original": "x curl", "url.query": "curl"},
            {"user_agent.original": "a curl b", "url.query": "curl"}]
    assert hits("sel:\n    user_agent.original|fieldref|startswith: url.query\ncondition: sel", rows) == [0]
    assert hits("sel:\n    user_agent.original|fieldref|endswith: url.query\ncondition: sel", rows) == [1]
    assert hits("sel:\n    user_agent.original|fieldref|contains: url.query\ncondition: sel", rows) == [0, 1, 2]


def test_comparisons_on_a_number_column():
    rows = [{"http.response.status_code": c} for c in (200, 404, 500, None)]
    for modifier, expected in (("gt", [2]), ("gte", [1, 2]), ("lt", [0]), ("lte", [0, 1])):
        assert hits(f"sel:\n    http.response.status_code|{modifier}: 404\ncondition: sel", rows) == expected


def test_comparisons_on_strings_that_hold_numbers():
    rows = queries("11", "9", "10.5", "abc", " 12 ", "1e2", None, "10")
    assert hits("sel:\n    url.query|gt: 10\ncondition: sel", rows) == [0, 2, 4, 5]
    assert hits("sel:\n    url.query|lte: 10\ncondition: sel", rows) == [1, 7]


def test_expand_uses_the_pipeline_placeholders():
    rows = paths("/admin/x", "/wp-login.php?x", "/home", "/ADMIN")
    assert hits("sel:\n    url.path|expand: '%admin_paths%'\ncondition: sel", rows) == [0, 1, 3]


def test_neq_is_a_negated_match():
    rows = [{"http.request.method": m} for m in ("GET", "get", "POST", None, "HEAD")]
    # like `not`, neq holds where the field is missing
    assert hits("sel:\n    http.request.method|neq: GET\ncondition: sel", rows) == [2, 3, 4]
    assert hits("sel:\n    http.request.method|neq: [GET, HEAD]\ncondition: sel", rows) == [2, 3]


def test_date_part_modifiers_are_utc():
    when = dt.datetime(2026, 11, 27, 18, 5, 30, tzinfo=dt.timezone.utc)
    rows = [{"@timestamp": when}, {"@timestamp": when - dt.timedelta(minutes=6)}, {"@timestamp": None}]
    week = when.isocalendar().week
    for modifier, value, expected in (("minute", 5, [0]), ("hour", 18, [0]), ("hour", 17, [1]),
                                      ("day", 27, [0, 1]), ("week", week, [0, 1]),
                                      ("month", 11, [0, 1]), ("year", 2026, [0, 1])):
        detection = f"sel:\n    '@timestamp|{modifier}': {value}\ncondition: sel"
        assert hits(detection, rows) == expected, modifier
    assert hits("sel:\n    '@timestamp|minute|lt': 10\ncondition: sel", rows) == [0]
    assert hits("sel:\n    '@timestamp|hour|lt': 18\ncondition: sel", rows) == [1]


def test_date_part_modifier_on_a_field_that_is_not_a_date_is_refused():
    with pytest.raises(UnsupportedRule, match="hour modifier needs a date field"):
        compile_detection("sel:\n    url.path|hour: 3\ncondition: sel")


# ---------------------------------------------------------------------------------------------
# Conditions: 1 of / all of, not, keywords
# ---------------------------------------------------------------------------------------------

SELECTIONS = """\
selection_a:
    url.path: /a
selection_b:
    http.request.method: POST
filter_x:
    user.name: root
condition: {condition}
"""
SELECTION_ROWS = [{"url.path": "/a", "http.request.method": "POST"},
                  {"url.path": "/a", "http.request.method": "GET"},
                  {"url.path": "/b", "http.request.method": "POST", "user.name": "root"},
                  {"url.path": "/b", "http.request.method": "GET"}]


@pytest.mark.parametrize("condition, expected", [
    ("1 of selection_*", [0, 1, 2]),
    ("all of selection_*", [0]),
    ("1 of them", [0, 1, 2]),
    ("all of them", []),
    ("1 of selection_* and not 1 of filter_*", [0, 1]),
    ("selection_a or (selection_b and not filter_x)", [0, 1]),
    ("not selection_a", [2, 3]),
])
def test_condition_expressions(condition, expected):
    assert hits(SELECTIONS.format(condition=condition), SELECTION_ROWS) == expected


def test_keywords_search_the_raw_line_case_insensitively():
    detection = """\
keywords:
    - 'union select'
    - 'sqlmap*/1.'
condition: keywords
"""
    rows = [{"event.original": 'GET /?q=1 UNION SELECT 2 "x"'}, {"event.original": "SQLMap/1.8"},
            {"event.original": "benign"}, {"event.original": None}]
    assert hits(detection, rows) == [0, 1]


def test_keywords_with_all():
    detection = "keywords:\n    '|all':\n        - union\n        - select\ncondition: keywords"
    rows = [{"event.original": "select x union"}, {"event.original": "union only"}]
    assert hits(detection, rows) == [0]


def test_keywords_and_fields_together():
    detection = """\
sel:
    http.request.method: GET
keywords:
    - '../'
condition: sel and keywords
"""
    rows = [{"http.request.method": "GET", "event.original": "GET /../../etc/passwd"},
            {"http.request.method": "POST", "event.original": "POST /../x"},
            {"http.request.method": "GET", "event.original": "GET /index.html"}]
    assert hits(detection, rows) == [0]


# ---------------------------------------------------------------------------------------------
# Routing
# ---------------------------------------------------------------------------------------------

def test_rules_only_see_the_datasets_their_log_source_routes_to():
    detection = "sel:\n    c-uri|contains: evil\ncondition: sel"
    rule = compile_detection(detection, logsource="category: proxy")
    table = pa.concat_tables([events(paths(None), "web.apache_combined"),
                              events(paths(None), "web.squid"),
                              events(paths(None), None)])
    table = table.set_column(table.schema.get_field_index("url.original"), "url.original",
                             pa.array(["/evil"] * 3))
    assert match_rule(rule, table).tolist() == [1]
    mail_rule = compile_detection("sel:\n    email.subject|contains: facture\ncondition: sel", MAIL)
    table = pa.concat_tables([events([{"email.subject": "Facture"}], d)
                              for d in ("mail.postfix", "mail.exim", "web.apache_combined")])
    assert match_rule(mail_rule, table).tolist() == [0, 1]


# ---------------------------------------------------------------------------------------------
# Coverage of pySigma's modifiers
# ---------------------------------------------------------------------------------------------

def test_regex_flag_long_names():
    rows = [{"event.original": "ok\nERROR x"}, {"event.original": "A\nB"}]
    assert hits("sel:\n    event.original|re|multiline: '^ERROR'\ncondition: sel", rows) == [0]
    assert hits("sel:\n    event.original|re|dotall|ignorecase: 'a.b'\ncondition: sel", rows) == [1]


# Every modifier pySigma knows, and the tests above that cover it. A pySigma upgrade that adds
# one fails here until the engine and a truth table cover it.
COVERED_MODIFIERS = {
    "all", "neq", "base64", "base64offset", "cased", "cidr", "contains", "startswith", "endswith",
    "exists", "expand", "fieldref", "gt", "gte", "lt", "lte", "re", "i", "ignorecase", "m",
    "multiline", "s", "dotall", "wide", "utf16", "utf16be", "windash", "minute", "hour", "day",
    "week", "month", "year",
}


def test_every_pysigma_modifier_is_covered():
    from sigma.modifiers import modifier_mapping
    assert set(modifier_mapping) == COVERED_MODIFIERS
    # the specification's utf16le is not a pySigma 1.5 modifier (`wide` is the same encoding):
    # a rule using it is skipped as an unknown modifier
    text = RULE.format(logsource=WEB, detection="    sel:\n        url.query|utf16le: x\n    condition: sel")
    assert "Unknown modifier" in str(SigmaCollection.from_yaml(text, collect_errors=True).rules[0].errors[0])
