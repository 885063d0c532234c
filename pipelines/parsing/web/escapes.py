"""Server escaping inside log fields, undone as the server meant it.

Apache httpd (access log fields, error log messages), ModSecurity (v2 `[msg "..."]` values, v3's
`\\xHH`) and nginx (`escape=default`) write what a client sent with C-style escapes:
- Apache `ap_escape_logitem`: `\\"` for a quote, `\\\\` for a backslash, `\\b \\n \\r \\t \\v`, and
  `\\xhh` for every other byte that is not printable ASCII (so UTF-8 text is written byte by byte);
- nginx: `\\xHH` for `"`, `\\`, bytes below 0x20 and from 0x7f.
`unescape` reads one such string back into the bytes the client sent and decodes them as UTF-8;
bytes that are not UTF-8 come out as `\\xNN` text (Python's backslashreplace, the same convention
as the line screening uses for raw lines that are not UTF-8), so a field always holds a valid
string and a value without escapes comes back unchanged. An unknown escape (`\\q`) is kept as
written.

`split_on_quotes` splits lines on their unescaped double quotes (a `\\"` stays inside its field).
Python runs only on the rare values and lines that contain a backslash (once per distinct value).
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import indices
from pipelines.parsing.web.columns import Pieces, as_pieces, rows_containing

_ESCAPE = re.compile(rb"\\(?:x([0-9A-Fa-f]{2})|([\\\"bnrtv]))")
_SIMPLE = {b"\\": b"\\", b'"': b'"', b"b": b"\b", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
_QUOTE_OR_ESCAPE = re.compile(r'"|\\.', re.S)


def _byte(match: re.Match) -> bytes:
    hex_digits, simple = match.groups()
    return bytes((int(hex_digits, 16),)) if hex_digits else _SIMPLE[simple]


def unescape(text: str) -> str:
    """One logged value -> the text the client sent (see the module docstring)."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_byte, text.encode("utf-8")).decode("utf-8", "backslashreplace")


def unescape_column(values: pa.Array, candidates: np.ndarray | None = None) -> pa.Array:
    """`unescape` applied to every value that contains a backslash (nulls stay null).

    `candidates` (a boolean mask, e.g. the lines holding a backslash) bounds the rows looked at.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if len(values) == 0 or (candidates is not None and not candidates.any()):
        return values
    has = pc.fill_null(pc.match_substring(values, "\\"), False)
    if candidates is not None:
        has = pc.and_(has, pa.array(candidates))
    rows = indices(has)
    if not len(rows):
        return values
    encoded = pc.dictionary_encode(values.take(pa.array(rows)))
    decoded = pa.array([unescape(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return pc.replace_with_mask(values, has, decoded.take(encoded.indices))


def backslash_rows(lines: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """(lines holding a backslash, lines holding a backslash followed by a double quote): one
    numpy scan of the batch's text."""
    n = len(lines)
    any_escape, escaped_quote = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    data = lines.buffers()[2]
    if n == 0 or data is None:
        return any_escape, escaped_quote
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    offsets = np.frombuffer(lines.buffers()[1], dtype=width)[lines.offset:lines.offset + n + 1]
    chars = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
    slashes = np.flatnonzero(chars == 92)
    if not len(slashes):
        return any_escape, escaped_quote
    any_escape[np.searchsorted(offsets, slashes + offsets[0], side="right") - 1] = True
    before_quote = slashes[slashes + 1 < len(chars)]
    before_quote = before_quote[chars[before_quote + 1] == 34]
    escaped_quote[np.searchsorted(offsets, before_quote + offsets[0], side="right") - 1] = True
    return any_escape, escaped_quote


def _split_quotes(text: str) -> list[str]:
    """One line split on its unescaped double quotes."""
    pieces, start = [], 0
    for match in _QUOTE_OR_ESCAPE.finditer(text):
        if match.group() == '"':
            pieces.append(text[start:match.start()])
            start = match.end()
    pieces.append(text[start:])
    return pieces


def split_on_quotes(lines: pa.StringArray, escaped_quote: np.ndarray | None = None) -> Pieces:
    """Each line split on its unescaped double quotes (`\\"` stays inside its piece, as written).
    `escaped_quote`: the lines holding `\\"` when known (backslash_rows)."""
    plain = pc.split_pattern(lines, '"')
    if escaped_quote is None:
        escaped_quote = rows_containing(lines, b'\\"')
    escaped = indices(escaped_quote)
    if not len(escaped):
        return as_pieces(plain)
    texts = lines.take(pa.array(escaped)).to_pylist()
    fixed = pa.array([_split_quotes(t) for t in texts], pa.list_(pa.string()))
    position = np.arange(len(lines), dtype=np.int64)
    position[escaped] = len(lines) + np.arange(len(escaped))
    return as_pieces(pa.concat_arrays([plain, fixed]).take(pa.array(position)))
