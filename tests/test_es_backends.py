"""Vigie's Lucene dialect (pipelines/detection/es_backends.py) against the real node: every
translated Sigma `re` pattern and case-insensitive string must select, among sample values, the
values Python's `re.search` (the Sigma specification's unanchored search) selects; and what
Lucene cannot express is refused with the reason, never approximated."""
from __future__ import annotations

import re
import uuid

import pytest
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaRegularExpressionFlag as Flag
from sigma.types import SigmaString

from pipelines.authoring.es_backends import _slashes, lucene_regex, string_regex

VALUES = ["id=1 UNION SELECT x", "id=1%20union%20select%201", "cmd=whoami", "x=1&cmd=id;",
          "cmd=identity", "path/../../etc/passwd", "a.b@evil.example", "ÉCOLE école", "Straße",
          "line one\nline two", "tab\there", "ends with .exe", "file.pdf.exe", "file.pdf", "é",
          "100% sure", "brackets [x] {y} <z> ~q #h @a &b \"quoted\"", "ipfs.io/x.y@z.com", ""]

# (pattern, flags): Sigma `re` values, as rules write them.
PATTERNS = [
    (r"union\s+select", {Flag.IGNORECASE}),
    (r"(?:^|&)cmd=(?:id|whoami)(?:;|$)", set()),
    (r"^cmd=", set()),
    (r"\.exe$", set()),
    (r"\.(?:pdf|docx?)\.exe$", {Flag.IGNORECASE}),
    (r"\.\./\.\./etc", set()),
    (r"@[a-z]+\.example", set()),
    (r"[^a-z_]union", {Flag.IGNORECASE}),
    (r"école", {Flag.IGNORECASE}),
    (r"one.line", set()),
    (r"one.line", {Flag.DOTALL}),
    (r"\d{3}%", set()),
    (r"<z> ~q #h @a &b \"quoted\"", set()),
    (r"tab\there", set()),
    (r"whoami\b", set()),
    (r"(?i)IPFS\.io/.+@.+\.[a-z]+", set()),
    (r"\w+\.exe", set()),
    (r"x{1,2}\]", set()),
]

STRINGS = ["*UNION*select*", "CMD=WHOAM?", "école*", "*.EXE", "*<z> ~q #h @a &b*", "100% sure"]


@pytest.fixture(scope="module")
def index(es_node):
    from elasticsearch import Elasticsearch
    client = Elasticsearch(es_node.url)
    name = f"hunttest-{uuid.uuid4().hex[:8]}-regex"
    client.indices.create(index=name, mappings={"properties": {"v": {"type": "keyword"}}},
                          settings={"number_of_replicas": 0})
    for i, value in enumerate(VALUES):
        client.index(index=name, id=str(i), document={"v": value})
    client.indices.refresh(index=name)
    yield client, name
    client.indices.delete(index=name)


def es_hits(index, regex: str) -> set[str]:
    client, name = index
    query = {"query_string": {"query": f"v:/{_slashes(regex)}/"}}
    explained = client.indices.validate_query(index=name, query=query, explain=True)
    assert "MatchNoDocsQuery" not in str(explained), explained
    return {VALUES[int(h["_id"])] for h in client.search(index=name, query=query, size=100)["hits"]["hits"]}


@pytest.mark.parametrize("pattern, flags", PATTERNS, ids=[p for p, _ in PATTERNS])
def test_translated_regex_selects_what_an_unanchored_search_selects(index, pattern, flags):
    python_flags = (re.I if Flag.IGNORECASE in flags else 0) | (re.S if Flag.DOTALL in flags else 0)
    expected = {v for v in VALUES if re.search(pattern, v, python_flags)}
    assert es_hits(index, lucene_regex(pattern, flags)) == expected


@pytest.mark.parametrize("value", STRINGS)
def test_strings_match_case_insensitively_as_whole_values(index, value):
    sigma = SigmaString(value)
    expected = {v for v in VALUES if re.fullmatch(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value), v, re.I | re.S)}
    assert expected, "the sample values must contain a match"
    assert es_hits(index, string_regex(sigma)) == expected


@pytest.mark.parametrize("pattern, reason", [
    (r"like\b.", "anchor"),
    (r"a(?=b)", "lookaround"),
    (r"(a)\1", "escape \\1"),
    (r"a^b", "anchor"),
    (r"a*+", "possessive"),
])
def test_what_lucene_cannot_express_is_refused_with_the_reason(pattern, reason):
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match=re.escape(reason)):
        lucene_regex(pattern)
