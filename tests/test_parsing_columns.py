"""The vectorised column helpers that replace copies and patterns by buffer arithmetic: each one
gives what the plain Arrow way (take, extract_regex, replace) gives, on any strings."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.parsing.columns import (blank, byte_at, drop_bytes, extract_some, head_bytes, ip_shaped,
                                       leading_bytes, list_of, per_distinct, placed, scatter)
from pipelines.parsing.mail.common import group
from pipelines.parsing.mail.exim import EXIM_KINDS
from pipelines.parsing.mail.kinds import literal_prefix
from pipelines.parsing.mail.postfix import POSTFIX_KINDS
from pipelines.parsing.mail.syslog import SYSLOG_HEADERS

TEXT = st.text(alphabet="ab:[] é\u202e1.", max_size=8)
TEXTS = st.lists(st.none() | TEXT, max_size=12)


def as_strings(values: list, sliced: bool) -> pa.Array:
    """An Arrow array of `values`, sliced off a longer one (non-zero offset) when asked."""
    return pa.array(["pad", None] + values, pa.string()).slice(2) if sliced else pa.array(values, pa.string())


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 12), st.lists(st.tuples(st.lists(st.integers(0, 11)), st.lists(st.none() | TEXT)),
                                    min_size=1, max_size=3), st.booleans())
def test_scatter_is_the_take_it_replaces(n, parts, sliced):
    arrays = []
    for rows, values in parts:
        rows = sorted({r for r in rows if r < n})
        values = (values * len(rows))[:len(rows)] if values else [None] * len(rows)
        arrays.append((np.array(rows, dtype=np.int64), as_strings(values, sliced)))
    rows = np.concatenate([r for r, _ in arrays])
    where = np.full(n, -1, dtype=np.int64)
    where[rows] = np.arange(len(rows))
    expected = pa.concat_arrays([v for _, v in arrays]).take(pa.array(where, mask=where < 0))
    got = scatter(n, arrays)
    got.validate(full=True)
    assert got.equals(expected)


def test_placed_keeps_other_types_and_empty_parts():
    assert placed(3, np.array([2]), pa.array([7])).to_pylist() == [None, None, 7]
    assert placed(2, np.zeros(0, np.int64), pa.array([], pa.string())).to_pylist() == [None, None]


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.data(), st.booleans())
def test_head_and_drop_bytes_cut_ascii_prefixes(values, data, sliced):
    counts = np.array([data.draw(st.integers(0, len(v) - len(v.lstrip("ab:[] 1."))))
                       if v is not None else 0 for v in values], dtype=np.int64)
    rows = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    nulled = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    texts = as_strings(values, sliced)
    heads = head_bytes(texts, counts, rows)
    rests = drop_bytes(texts, counts, nulled=nulled)
    heads.validate(full=True)
    rests.validate(full=True)
    assert heads.to_pylist() == [v[:c] if r and v is not None else None for v, c, r in zip(values, counts, rows)]
    assert rests.to_pylist() == [v[c:] if v is not None and not z else None
                                 for v, c, z in zip(values, counts, nulled)]


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.data())
def test_extract_some_reads_as_extract_regex(values, data):
    pattern = r"^(?P<x>a+)(?::(?P<y>[^\]]*)\])?"
    rows = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    texts = pa.array(values, pa.string())
    found = extract_some(texts, pattern, rows=rows)
    whole = pc.extract_regex(pc.if_else(pa.array(rows, pa.bool_()), texts, pa.scalar(None, pa.string())), pattern)
    for name in ("x", "y"):
        assert group(found, name).equals(group(whole, name))


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_per_distinct_values_are_computed_per_row(values):
    texts = pa.array(values, pa.string())
    assert per_distinct(texts, pc.utf8_upper).equals(pc.utf8_upper(texts))
    shaped = pc.if_else(pc.match_substring_regex(texts, r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$"),
                        texts, pa.scalar(None, pa.string()))
    assert ip_shaped(texts).equals(shaped)


def test_leading_bytes_pack_the_first_four_bytes():
    lead = leading_bytes(as_strings(["abcdef", "ab", "", None, "é"], sliced=True))
    assert lead[:3].tolist() == [0x61626364, 0x61620000, 0]
    assert lead[4] == int.from_bytes("é".encode() + b"\0\0", "big")


def test_literal_prefix_is_what_every_match_starts_with():
    assert literal_prefix(r"^client=(?P<h>\S+)") == "client="
    assert literal_prefix(r"^message-id=<?(?P<m>\S*)") == "message-id="  # '<' is optional
    assert literal_prefix(r"^ab+c") == "a"
    assert literal_prefix(r"^SPF\((?:x)\)") == "SPF"
    assert literal_prefix(r"^abc|def") == ""  # a top-level alternative need not start with abc
    assert literal_prefix(r"^a[|]b") == "a"
    assert literal_prefix(r"(?:x)abc") == ""  # not anchored
    # every kind of the mail tables: a prefix is a prefix of the pattern's own literal text
    for kind in POSTFIX_KINDS + EXIM_KINDS + SYSLOG_HEADERS:
        prefix = literal_prefix(kind.pattern)
        assert kind.pattern[1:].startswith(prefix), kind.action


def test_blank_is_no_character_but_re2_whitespace():
    lines = pa.array(["", " \t\r\n\f", "\v", " x", "x", "\x00", None, "\u2028"], pa.string())
    expected = ~np.asarray(pc.match_substring_regex(lines, r"\S").fill_null(False), dtype=bool)
    assert blank(lines).tolist() == expected.tolist() == [True, True, False, False, False, False, True, False]


def test_byte_at_reads_one_position():
    assert byte_at(pa.array(["abc", "a", None, "é"], pa.string()), 1).tolist() == [98, 0, 0, 0xA9]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.none() | TEXT, st.none() | TEXT, st.none() | TEXT), max_size=10))
def test_list_of_keeps_the_non_null_values_in_column_order(rows):
    columns = [pa.array([r[j] for r in rows], pa.string()) for j in range(3)]
    expected = [[v for v in r if v is not None] or None for r in rows]
    got = list_of(*columns)
    got.validate(full=True)
    assert got.to_pylist() == expected
