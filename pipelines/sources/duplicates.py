"""Lines that two inputs share: found at plan time, kept once, counted as duplicates.

An analyst's case folder often holds the same log twice: a snapshot and its later growth, a file
and its `.gz` copy, the same file under two names. Without care both would be read, their lines
would get the same event ids (ids rest on the first 64 KiB and the byte offset) and their
output files the same names, so one would silently overwrite the other.

In: the planned input files and the first 64 KiB of each (decompressed). Out: one `Overlap` per
input whose lines (all, or a leading part) are also in another input that is read:

- inputs whose heads are prefixes of one another form a lineage (a snapshot's head is a prefix
  of its growth's; a file and its copy have equal heads); other inputs are never compared;
- in a lineage the longest content is read whole (ties: a plain file before a compressed one,
  then the path); every other input is compared byte by byte with those kept: when its whole
  content is a prefix of one of them it is not read at all; when it departs from them after
  some lines, those lines are not read again and the rest is read from the start of the line
  where it departs; when it has the same 64 KiB head as a kept input, its own lines are read
  under a key derived from its content so that no id or output name can collide.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Overlap:
    """What to do with an input that shares lines with another one."""

    path: str
    of_path: str  # the input that is read and holds the same lines
    lines: int  # lines of `path` not read again (counted as duplicates)
    read_from: int  # byte offset where `path` is still read from; -1: nothing left to read
    file_key: str | None = None  # key to read the rest with, when it must differ from the file's


@dataclass(frozen=True)
class Candidate:
    """An input file as the duplicate search sees it."""

    path: str
    compressed: bool
    size: int  # bytes on disk
    file_key: str
    head: bytes


ContentReader = Callable[[str, bool], Iterator[bytes]]


def lineages(candidates: list[Candidate]) -> list[list[Candidate]]:
    """Groups of two or more inputs whose heads are prefixes of one another (sorted by head, a
    head that is a prefix of the next one's joins its group)."""
    ordered = sorted(candidates, key=lambda c: (c.head, c.path))
    groups: list[list[Candidate]] = []
    for candidate in ordered:
        if groups and candidate.head.startswith(groups[-1][-1].head) and groups[-1][-1].head:
            groups[-1].append(candidate)
        else:
            groups.append([candidate])
    return [g for g in groups if len(g) > 1]


def _length(candidate: Candidate, read: ContentReader) -> int:
    """Decompressed length of an input (its size on disk when it is plain)."""
    if not candidate.compressed:
        return candidate.size
    return sum(len(chunk) for chunk in read(candidate.path, True))


@dataclass(frozen=True)
class _Comparison:
    common: int  # bytes both contents start with
    whole: bool  # the compared input ends within the common part (it is a prefix)
    line_start: int  # start of the line in which the compared input departs (== common when whole)
    lines: int  # lines of the compared input before line_start (all of them when whole)


def _compare(a: Candidate, b: Candidate, read: ContentReader) -> _Comparison:
    """How far input `a` runs along input `b` (byte by byte, streaming both)."""
    a_chunks, b_chunks = read(a.path, a.compressed), read(b.path, b.compressed)
    a_buf = b_buf = b""
    common = lines = 0
    last_line_start = 0
    a_done = b_done = False
    ended_with_newline = True
    while True:
        if not a_buf and not a_done:
            a_buf = next(a_chunks, b"")
            a_done = not a_buf
        if not b_buf and not b_done:
            b_buf = next(b_chunks, b"")
            b_done = not b_buf
        if a_done:
            whole_lines = lines + (0 if ended_with_newline or common == 0 else 1)
            return _Comparison(common, True, common, whole_lines)
        n = min(len(a_buf), len(b_buf))
        if n == 0:  # b ended first: a is longer, it departs at b's end
            return _Comparison(common, False, last_line_start, lines)
        left = np.frombuffer(a_buf, np.uint8, n)
        right = np.frombuffer(b_buf, np.uint8, n)
        differ = np.flatnonzero(left != right)
        same = int(differ[0]) if len(differ) else n
        newlines = np.flatnonzero(left[:same] == 10)
        if len(newlines):
            lines += len(newlines)
            last_line_start = common + int(newlines[-1]) + 1
        if same:
            ended_with_newline = bool(left[same - 1] == 10)
        common += same
        if same < n:
            return _Comparison(common, False, last_line_start, lines)
        a_buf, b_buf = a_buf[n:], b_buf[n:]


def _derived_key(candidate: Candidate, read_from: int, read: ContentReader) -> str:
    """A key for an input that shares its head with a kept one: its head and the 64 KiB from
    where it is read (content only, so a moved file keeps its ids)."""
    digest = hashlib.blake2b(candidate.head, digest_size=8)
    digest.update(b"\x00departs\x00")
    seen = 0
    for chunk in read(candidate.path, candidate.compressed):
        lo = max(read_from - seen, 0)
        if lo < len(chunk):
            digest.update(chunk[lo:lo + 65536])
            break
        seen += len(chunk)
    return digest.hexdigest()


def find_overlaps(candidates: list[Candidate], read: ContentReader) -> list[Overlap]:
    """Every input whose lines are also in another input that is read (module docstring)."""
    overlaps = []
    for group in lineages(candidates):
        lengths = {c.path: _length(c, read) for c in group}
        order = sorted(group, key=lambda c: (-lengths[c.path], c.compressed, c.path))
        kept = [order[0]]
        for candidate in order[1:]:
            found = [(k, _compare(candidate, k, read)) for k in kept]
            best, comparison = max(found, key=lambda kc: (kc[1].whole, kc[1].line_start))
            if comparison.whole:
                overlaps.append(Overlap(candidate.path, best.path, comparison.lines, -1))
                continue
            key = None
            if any(candidate.file_key == k.file_key for k in kept):
                key = _derived_key(candidate, comparison.line_start, read)
            if comparison.lines or key:
                overlaps.append(Overlap(candidate.path, best.path, comparison.lines,
                                        comparison.line_start, key))
            kept.append(candidate)
    return overlaps
