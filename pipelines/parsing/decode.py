"""Percent-decoding of request targets and URL-valued headers, over whole Arrow string arrays.

Web servers log the request target as the client sent it: `%3Cscript%3E`, `union+select`,
`%252e%252e%252f`. The application reads it decoded, so rules that look for payloads need the
decoded text. `decode_request` gives it, vectorised over the flat bytes of the array (numpy; no
per-row Python except for the rare values that decode to invalid UTF-8):

1. first pass, as the server and the application's framework decode a request: `+` is a space
   after the first `?` (in the query; in the path it stays a plus), `%XX` is the byte XX, IIS's
   `%uXXXX` is the character U+XXXX;
2. second pass, as an application that decodes its input once more does (the reason
   double-encoding works as an evasion): `%XX` and `%uXXXX` again, `+` left alone. A value with
   no escape left after the first pass comes out of the second unchanged.

Bytes that do not form UTF-8 after decoding are read the way a vulnerable server reads them:
the overlong forms of `.`, `/` and `\\` (`%c0%ae`, `%c0%af`, `%c1%9c`, ...) become those
characters (the classic IIS traversal), anything else invalid becomes U+FFFD. A `%` not
followed by two hex digits is kept as it is. HTML entities are not decoded: `&` separates query
parameters, and no payload family in the project's corpora needs it.

In: a string (or large string) array, nulls allowed. Out: a string array of the same length,
null where the input is null.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Which fields are decoded into which: the request target and the Referer header (a URL).
# The User-Agent is not a URL: clients do not encode it and applications read it raw.
DECODED_FIELDS = {"url.original": "vigie.url.decoded",
                  "http.request.referrer": "vigie.referrer.decoded"}

_PERCENT, _PLUS, _QUESTION, _SPACE = ord("%"), ord("+"), ord("?"), ord(" ")
_HEX_VALUE = np.full(256, -1, dtype=np.int16)
for _k, _c in enumerate(b"0123456789abcdef"):
    _HEX_VALUE[_c] = _k
    _HEX_VALUE[ord(chr(_c).upper())] = _k
_U = (ord("u"), ord("U"))
# Overlong UTF-8 (invalid, but decoded by old servers) of the characters a traversal needs.
_OVERLONG = ((b"\xc0\xae", b"."), (b"\xe0\x80\xae", b"."), (b"\xc0\xaf", b"/"),
             (b"\xe0\x80\xaf", b"/"), (b"\xc1\x9c", b"\\"), (b"\xc1\x1c", b"\\"),
             (b"\xc0\x80", b"\x00"))


def decode_request(values: pa.Array) -> pa.Array:
    """URLs as logged -> as the application reads them: decoded twice (see the module doc).
    Only the values holding a `%` or a `+` are worked on (a value without either is the same
    after both passes); the others, most of any log, are copied as they are."""
    values = _as_string(values)
    rows = _rows_with(values, ("%", "+"))
    if not len(rows):
        return values
    if len(rows) > len(values) // _SPLICE_RATIO:
        return _decode_all(_decode_all(values, True), False)
    some = values.take(pa.array(rows, pa.int64()))
    return _splice(values, rows, _decode_all(_decode_all(some, True), False))


def decoded_columns(columns: Mapping[str, object]) -> dict[str, pa.Array]:
    """The decoded fields (DECODED_FIELDS) of the URL-valued columns present in `columns`."""
    return {target: decode_request(columns[source]) for source, target in DECODED_FIELDS.items()
            if isinstance(columns.get(source), (pa.Array, pa.ChunkedArray))}


def percent_decode(values: pa.Array, plus_in_query: bool = False) -> pa.Array:
    """One pass of `%XX` / `%uXXXX` decoding (and `+` as space after the first `?` when
    `plus_in_query`); values without any of those characters come back unchanged."""
    values = _as_string(values)
    rows = _rows_with(values, ("%", "+") if plus_in_query else ("%",))
    if not len(rows):
        return values
    if len(rows) > len(values) // _SPLICE_RATIO:
        return _decode_all(values, plus_in_query)
    some = values.take(pa.array(rows, pa.int64()))
    return _splice(values, rows, _decode_all(some, plus_in_query))


# Above one value in this many to decode, decoding every value beats splicing the few in.
_SPLICE_RATIO = 32


def _as_string(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One string array (chunks combined, large strings and other types cast)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if pa.types.is_string(values.type) else values.cast(pa.string())


def _rows_with(values: pa.Array, marks: tuple[str, ...]) -> np.ndarray:
    """Positions (ascending) of the values that contain any of `marks` (one ASCII character
    each): one scan of the array's bytes."""
    offsets, data = _flat(values)
    hit = data == ord(marks[0])
    for mark in marks[1:]:
        hit |= data == ord(mark)
    rows = np.searchsorted(offsets, np.flatnonzero(hit), side="right") - 1
    if len(rows):
        rows = rows[np.concatenate([[True], rows[1:] != rows[:-1]])]
    return rows


def _splice(values: pa.Array, rows: np.ndarray, replacements: pa.Array) -> pa.Array:
    """`values` with values[rows[k]] replaced by replacements[k] (ascending rows, a few): the
    unchanged runs between them are copied whole."""
    offsets, data = _flat(values)
    new_offsets_of, new_data = _flat(replacements)
    lengths = np.diff(offsets)
    lengths[rows] = np.diff(new_offsets_of)
    out_offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_offsets[1:])
    out = np.empty(int(out_offsets[-1]), dtype=np.uint8)
    starts = np.concatenate([[0], rows + 1])
    ends = np.concatenate([rows, [len(values)]])
    for start, end in zip(starts.tolist(), ends.tolist()):
        if end > start:
            out[out_offsets[start]:out_offsets[end]] = data[offsets[start]:offsets[end]]
    for k, row in enumerate(rows.tolist()):
        out[out_offsets[row]:out_offsets[row + 1]] = new_data[new_offsets_of[k]:new_offsets_of[k + 1]]
    validity = values.buffers()[0] if values.null_count and values.offset == 0 else None
    spliced = pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(out_offsets), pa.py_buffer(out),
                                               validity, values.null_count if validity else 0)
    if values.null_count and validity is None:
        spliced = pc.if_else(values.is_valid(), spliced, pa.scalar(None, pa.large_string()))
    return spliced.cast(pa.string())


def _decode_all(values: pa.Array, plus_in_query: bool) -> pa.Array:
    """percent_decode of every value."""
    offsets, data = _flat(values)
    out, owner_of = data.copy(), _owner(offsets, len(data))
    if plus_in_query:
        out[_in_query(data, offsets, owner_of) & (data == _PLUS)] = _SPACE
    keep = np.ones(len(data), dtype=bool)
    high = _decode_hex(data, offsets, owner_of, out, keep)
    high |= _decode_unicode(data, offsets, owner_of, out, keep)
    removed = np.concatenate([[0], np.cumsum(~keep)])
    new_offsets = (offsets - removed[offsets]).astype(np.int64)
    decoded = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(values), [None, pa.py_buffer(new_offsets), pa.py_buffer(out[keep])])
    result = _as_text(decoded, np.flatnonzero(high))
    if values.null_count:
        result = pc.if_else(values.is_valid(), result, pa.scalar(None, pa.string()))
    return result


def _flat(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's value offsets (int64, len n+1, starting where its data starts) and the
    bytes they index (uint8)."""
    n = len(values)
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=width)[values.offset:values.offset + n + 1]
    offsets = offsets.astype(np.int64)
    if buffers[2] is None or n == 0:
        return offsets - (offsets[0] if n else 0), np.zeros(0, dtype=np.uint8)
    data = np.frombuffer(buffers[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return offsets - offsets[0], data


def _owner(offsets: np.ndarray, size: int) -> np.ndarray:
    """For each byte, the index of the value it belongs to."""
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))[:size]


def _in_query(data: np.ndarray, offsets: np.ndarray, owner_of: np.ndarray) -> np.ndarray:
    """Per byte: true when it comes after the first `?` of its value."""
    question = np.flatnonzero(data == _QUESTION)
    first = np.full(len(offsets) - 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, owner_of[question], question)
    return np.arange(len(data)) > first[owner_of]


def _escapes(data: np.ndarray, offsets: np.ndarray, owner_of: np.ndarray, length: int) -> np.ndarray:
    """Positions of the `%` that open an escape of `length` bytes inside one value."""
    starts = np.flatnonzero(data == _PERCENT)
    ends = offsets[1:][owner_of[starts]]
    return starts[starts + length <= ends]


def _decode_hex(data: np.ndarray, offsets: np.ndarray, owner_of: np.ndarray, out: np.ndarray,
                keep: np.ndarray) -> np.ndarray:
    """`%XX` -> byte XX in `out` (the two digits dropped from `keep`); per value: whether a byte
    of 0x80 or more was produced (its UTF-8 must be checked)."""
    high = np.zeros(len(offsets) - 1, dtype=bool)
    at = _escapes(data, offsets, owner_of, 3)
    hi, lo = _HEX_VALUE[data[at + 1]], _HEX_VALUE[data[at + 2]]
    at, hi, lo = at[(hi >= 0) & (lo >= 0)], hi[(hi >= 0) & (lo >= 0)], lo[(hi >= 0) & (lo >= 0)]
    out[at] = (hi * 16 + lo).astype(np.uint8)
    keep[at + 1] = keep[at + 2] = False
    high[owner_of[at[hi >= 8]]] = True
    return high


def _decode_unicode(data: np.ndarray, offsets: np.ndarray, owner_of: np.ndarray, out: np.ndarray,
                    keep: np.ndarray) -> np.ndarray:
    """IIS `%uXXXX` -> the UTF-8 bytes of U+XXXX (surrogates -> U+FFFD) in place of the six
    bytes; per value: whether one was decoded."""
    high = np.zeros(len(offsets) - 1, dtype=bool)
    at = _escapes(data, offsets, owner_of, 6)
    at = at[np.isin(data[at + 1], _U)]
    digits = np.stack([_HEX_VALUE[data[at + k]] for k in range(2, 6)], axis=1) if len(at) else \
        np.zeros((0, 4), dtype=np.int16)
    valid = (digits >= 0).all(axis=1)
    at, digits = at[valid], digits[valid].astype(np.int64)
    if not len(at):
        return high
    cp = digits @ np.array([4096, 256, 16, 1], dtype=np.int64)
    cp[(cp >= 0xD800) & (cp < 0xE000)] = 0xFFFD
    size = np.where(cp < 0x80, 1, np.where(cp < 0x800, 2, 3))
    encoded = np.stack([
        np.where(size == 1, cp, np.where(size == 2, 0xC0 | (cp >> 6), 0xE0 | (cp >> 12))),
        np.where(size == 2, 0x80 | (cp & 0x3F), 0x80 | ((cp >> 6) & 0x3F)),
        0x80 | (cp & 0x3F)], axis=1).astype(np.uint8)
    for k in range(3):
        used = size > k
        out[at[used] + k] = encoded[used, k]
    for k in range(6):
        keep[at[size <= k] + k] = False
    high[owner_of[at]] = True
    return high


def _as_text(decoded: pa.LargeBinaryArray, suspects: np.ndarray) -> pa.Array:
    """Decoded bytes -> a string array; the `suspects` (values that gained non-ASCII bytes) are
    checked and, when they are not UTF-8, repaired one by one (see the module docstring)."""
    if len(suspects):
        chunk = decoded.take(pa.array(suspects, pa.int64()))
        try:
            chunk.cast(pa.large_string())
        except pa.ArrowInvalid:
            return _repaired(decoded, suspects, chunk)
    return decoded.cast(pa.large_string()).cast(pa.string())


def _repaired(decoded: pa.LargeBinaryArray, suspects: np.ndarray, chunk: pa.Array) -> pa.Array:
    """`decoded` as strings with the invalid UTF-8 of the `suspects` repaired."""
    fixed: list[str | None] = []
    broken: list[int] = []
    for position, raw in zip(suspects, chunk.to_pylist()):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            for overlong, plain in _OVERLONG:
                raw = raw.replace(overlong, plain)
            fixed.append(raw.decode("utf-8", "replace"))
            broken.append(int(position))
    mask = np.zeros(len(decoded), dtype=bool)
    mask[broken] = True
    cleared = pc.if_else(pa.array(mask), pa.scalar(b"", pa.large_binary()), decoded)
    text = cleared.cast(pa.large_string()).cast(pa.string())
    return pc.replace_with_mask(text, pa.array(mask), pa.array(fixed, pa.string()))
