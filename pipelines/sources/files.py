"""Input files -> planned slices -> batches of decoded lines (pure I/O, no Beam).

`plan_inputs` expands paths (files, folders, globs), checks each file can be read, detects its
format (or takes `--format`), and cuts plain files into byte ranges (gzip files stay whole).
`read_slice` reads one slice and yields `RawBatch`es: the lines that start inside the slice,
split on '\n' (a trailing '\r' is dropped), with their byte offsets. `screen_lines` then sets
aside what no parser should see: blank lines (skipped), lines longer than the limit and lines
that are not valid UTF-8 (dead letters), and hands the rest on as a `LineBatch`.
"""
from __future__ import annotations

import datetime as dt
import glob
import hashlib
import os
import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import VigieError
from pipelines.parsing import detect_format, format_by_name
from pipelines.parsing.base import LineBatch, LogFormat
from pipelines.schema import DEAD_LETTER_SCHEMA

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024  # read for the file key and format detection
SAMPLE_LINES = 200
# A scenario's answer key, inventory and anonymiser list, and a run summary.
NOT_LOGS = {"truth.json", "summary.json", "inventory.yml", "tor-exits.txt"}


@dataclass(frozen=True)
class FileSlice:
    """A byte range of one input file, with everything needed to read and parse it."""

    path: str
    file_key: str
    format_name: str | None  # None: format not recognised (its lines are dead-lettered)
    family: str  # mail, web, vpn or unknown
    start: int
    end: int  # exclusive; for gzip: -1 (whole file)
    compressed: bool
    # Every W3C `#Fields:` directive of the file: (byte offset, field names), in file order.
    w3c_directives: tuple[tuple[int, tuple[str, ...]], ...] = ()
    reference_time: dt.datetime | None = None

    @property
    def slice_id(self) -> str:
        """Deterministic name of this slice (used in output file names)."""
        return f"{self.file_key}-{max(self.start, 0):012x}"


@dataclass(frozen=True)
class InputFile:
    """One planned input file: what the plan found out about it."""

    path: str
    size: int
    compressed: bool
    file_key: str
    format_name: str | None
    family: str
    detection_score: float


class DamagedInput(Exception):
    """A compressed file whose data breaks off: what was read so far is kept."""

    def __init__(self, path: str, offset: int, detail: str):
        super().__init__(f"gzip data of {path} is damaged after {offset} bytes ({detail}); "
                         "the rest of the file could not be read")
        self.path = path
        self.offset = offset


@dataclass(frozen=True)
class RawBatch:
    """Lines of one slice as undecoded bytes + byte offsets (terminators removed)."""

    lines: pa.BinaryArray
    offsets: np.ndarray


def expand_inputs(inputs: list[str]) -> list[str]:
    """Paths, folders (walked recursively, sorted) and globs -> a sorted list of file paths.

    Raises VigieError naming the first input that does not exist. Hidden files and a
    scenario's truth.json, inventory.yml, tor-exits.txt / a run's summary.json are not logs and are left out of folders.
    """
    files: list[str] = []
    for item in inputs:
        matches = sorted(glob.glob(item)) if any(c in item for c in "*?[") else [item]
        if not matches or not all(os.path.exists(m) for m in matches):
            raise VigieError(f"input not found: {item} (check the path)")
        for match in matches:
            if os.path.isdir(match):
                for root, dirs, names in os.walk(match):
                    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                    files.extend(os.path.join(root, n) for n in sorted(names)
                                 if not n.startswith(".") and n not in NOT_LOGS)
            else:
                files.append(match)
    return list(dict.fromkeys(files))


def _read_head(path: str) -> tuple[bytes, bool]:
    """First HEAD_BYTES of the (decompressed) file, and whether it is gzip. A damaged gzip file
    gives what could be recovered (reading it dead-letters the damage)."""
    try:
        with open(path, "rb") as f:
            compressed = f.read(2) == GZIP_MAGIC
            if not compressed:
                f.seek(0)
                return f.read(HEAD_BYTES), False
        head = b""
        try:
            for chunk in decompressed_chunks(path):
                head += chunk
                if len(head) >= HEAD_BYTES:
                    break
        except DamagedInput:
            pass
        return head[:HEAD_BYTES], True
    except OSError as exc:
        raise VigieError(f"cannot read {path}: {exc.strerror or exc}") from exc


def file_key(head: bytes) -> str:
    """16 hex chars identifying a file by its first 64 KiB (survives moves and renames)."""
    return hashlib.blake2b(head, digest_size=8).hexdigest()


def sample_lines(head: bytes) -> list[str]:
    """Up to SAMPLE_LINES non-blank complete lines from the start of a file, decoded leniently."""
    text = head.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if len(head) == HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut by the head limit
    return [ln.rstrip("\r") for ln in lines if ln.strip()][:SAMPLE_LINES]


def inspect_file(path: str, forced_format: LogFormat | None) -> InputFile:
    """Read a file's head: its key, compression and format (forced or detected)."""
    head, compressed = _read_head(path)
    size = os.path.getsize(path)
    if forced_format is not None:
        fmt, score = forced_format, 1.0
    else:
        fmt, score = detect_format(sample_lines(head))
    return InputFile(path=path, size=size, compressed=compressed, file_key=file_key(head),
                     format_name=fmt.name if fmt else None,
                     family=fmt.family if fmt else "unknown", detection_score=score)


def w3c_directives(path: str, compressed: bool) -> list[tuple[int, tuple[str, ...]]]:
    """Every `#Fields:` directive of a W3C file: (byte offset, field names), in file order."""
    found = []
    for offset, line in _file_lines(path, compressed):
        if line.startswith(b"#Fields:"):
            names = line[len(b"#Fields:"):].decode("utf-8", "replace").split()
            found.append((offset, tuple(names)))
    return found


def _file_lines(path: str, compressed: bool) -> Iterator[tuple[int, bytes]]:
    """(byte offset, line) of a file in order; a damaged gzip file stops where it breaks."""
    if not compressed:
        offset = 0
        with open(path, "rb") as f:
            for line in f:
                yield offset, line
                offset += len(line)
        return
    offset, carry = 0, b""
    try:
        for chunk in decompressed_chunks(path):
            block = carry + chunk
            lines = block.split(b"\n")
            carry = lines.pop()
            for line in lines:
                yield offset, line + b"\n"
                offset += len(line) + 1
    except DamagedInput:
        pass
    if carry:
        yield offset, carry


def fields_in_force(directives: tuple[tuple[int, tuple[str, ...]], ...],
                    offset: int) -> tuple[str, ...] | None:
    """The W3C field list of the last `#Fields:` directive before byte `offset`, if any."""
    in_force = None
    for directive_offset, names in directives:
        if directive_offset >= offset:
            break
        in_force = names
    return in_force


def plan_slices(files: list[InputFile], split_bytes: int,
                reference_time: dt.datetime | None) -> list[FileSlice]:
    """Cut each file into byte ranges of about `split_bytes` (gzip and empty files: one slice)."""
    slices = []
    for info in files:
        ref = reference_time or dt.datetime.fromtimestamp(os.path.getmtime(info.path), dt.timezone.utc)
        directives = (w3c_directives(info.path, info.compressed)
                      if info.format_name == "w3c" else [])
        if info.compressed or info.size <= split_bytes:
            bounds = [(0, -1 if info.compressed else info.size)]
        else:
            cuts = list(range(0, info.size, split_bytes)) + [info.size]
            bounds = list(zip(cuts[:-1], cuts[1:]))
        for start, end in bounds:
            slices.append(FileSlice(
                path=info.path, file_key=info.file_key, format_name=info.format_name,
                family=info.family, start=start, end=end, compressed=info.compressed,
                w3c_directives=tuple(directives), reference_time=ref))
    return slices


def plan_inputs(inputs: list[str], forced_format: str | None, split_bytes: int,
                reference_time: dt.datetime | None = None) -> tuple[list[InputFile], list[FileSlice]]:
    """Inputs as given on the command line -> (files found, slices to read)."""
    fmt = None
    if forced_format:
        fmt = format_by_name(forced_format)
        if fmt is None:
            from pipelines.parsing import ALL_FORMATS
            raise VigieError(f"unknown --format {forced_format!r}; known formats: "
                             + ", ".join(f.name for f in ALL_FORMATS))
    paths = expand_inputs(inputs)
    if not paths:
        raise VigieError("no input files found in " + " ".join(inputs))
    files = [inspect_file(p, fmt) for p in paths]
    return files, plan_slices(files, split_bytes, reference_time)


# ---------------------------------------------------------------------------------------------
# Reading a slice
# ---------------------------------------------------------------------------------------------

def lines_of(block: bytes, base_offset: int) -> RawBatch:
    """Complete lines of `block` (which ends at a line end or at EOF) -> RawBatch.

    The Arrow array views `block` without copying it; the '\n' and a '\r' before it are
    then sliced off each value.
    """
    if not block:
        return RawBatch(pa.array([], pa.binary()), np.zeros(0, np.int64))
    if not block.endswith(b"\n"):
        block += b"\n"  # last line of a file without a final newline
    buf = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.empty(len(newlines), dtype=np.int64)
    starts[0] = 0
    starts[1:] = newlines[:-1] + 1
    bounds = np.append(starts, len(block)).astype(np.int32)
    raw = pa.Array.from_buffers(pa.binary(), len(starts), [None, pa.py_buffer(bounds), pa.py_buffer(block)])
    lines = pc.binary_slice(raw, 0, -1)
    ends_with_cr = buf[np.maximum(newlines - 1, 0)] == 13
    ends_with_cr &= newlines > starts
    if ends_with_cr.any():
        lines = pc.if_else(pa.array(ends_with_cr), pc.binary_slice(lines, 0, -1), lines)
    return RawBatch(lines, starts + base_offset)


def read_slice(piece: FileSlice, batch_bytes: int) -> Iterator[RawBatch]:
    """Yield the lines starting inside `piece`, about `batch_bytes` at a time."""
    if piece.compressed:
        yield from _read_stream(piece, batch_bytes)
        return
    with open(piece.path, "rb") as f:
        pos = piece.start
        if pos > 0:
            # A line that began before `start` belongs to the previous slice.
            f.seek(pos - 1)
            if f.read(1) != b"\n":
                rest = f.readline()
                pos += len(rest)
        f.seek(pos)
        while pos < piece.end:
            block = f.read(min(batch_bytes, piece.end - pos))
            if not block:
                return
            if not block.endswith(b"\n"):
                block += f.readline()  # finish the last line, even past `end`
            yield lines_of(block, pos)
            pos += len(block)


GZIP_READ_BYTES = 256 * 1024  # compressed bytes fed to the decompressor at a time


def decompressed_chunks(path: str) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file (every member of a multi-member file), in pieces.

    Decompression is incremental, so everything before damage is yielded: a truncated file
    or corrupt data ends the pieces with DamagedInput (its offset is in decompressed bytes),
    after every byte the decompressor could recover (what `zcat` prints).
    """
    produced = 0
    decompressor, fed = zlib.decompressobj(wbits=31), False
    with open(path, "rb") as f:
        while data := f.read(GZIP_READ_BYTES):
            while data:
                if not fed and not data.strip(b"\x00"):
                    break  # zero padding after the last member, as gzip tools allow
                fed = True
                try:
                    chunk = decompressor.decompress(data)
                except zlib.error as exc:
                    raise DamagedInput(path, produced, f"corrupt compressed data ({exc})") from exc
                if chunk:
                    produced += len(chunk)
                    yield chunk
                if not decompressor.eof:
                    break
                data = decompressor.unused_data  # the next member of `cat a.gz b.gz`
                decompressor, fed = zlib.decompressobj(wbits=31), False
    rest = decompressor.flush() if fed else b""
    if rest:
        produced += len(rest)
        yield rest
    if fed and not decompressor.eof:
        raise DamagedInput(path, produced, "the compressed data ends early: the file is truncated")


def _read_stream(piece: FileSlice, batch_bytes: int) -> Iterator[RawBatch]:
    """Whole-file streaming read (gzip): carry the partial last line to the next block; a
    damaged file yields every line recovered before the damage, then raises DamagedInput."""
    pos, block = 0, b""
    try:
        for chunk in decompressed_chunks(piece.path):
            block += chunk
            if len(block) < batch_bytes:
                continue
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                continue
            yield lines_of(block[:cut], pos)
            pos += cut
            block = block[cut:]
    except DamagedInput:
        if block:
            yield lines_of(block, pos)
        raise
    if block:
        yield lines_of(block, pos)


# ---------------------------------------------------------------------------------------------
# Screening lines before parsing
# ---------------------------------------------------------------------------------------------

@dataclass
class ScreenedBatch:
    """What screening made of a RawBatch."""

    batch: LineBatch  # decodable, non-blank lines within the length limit
    dead_letters: pa.Table
    skipped: dict[str, int]


def screen_lines(raw: RawBatch, piece: FileSlice, max_line_bytes: int) -> ScreenedBatch:
    """Set aside blank, over-long and non-UTF-8 lines; decode the rest (see module docstring)."""
    lengths = np.asarray(pc.binary_length(raw.lines), dtype=np.int64) if len(raw.lines) else np.zeros(0, np.int64)
    too_long = lengths > max_line_bytes
    valid_utf8 = _utf8_mask(raw.lines)
    text = raw.lines.view(pa.string())
    blank = np.zeros(len(lengths), dtype=bool)
    if len(lengths):
        candidates = valid_utf8 & ~too_long
        all_space = np.asarray(pc.utf8_is_space(pc.if_else(pa.array(candidates), text, pa.scalar("x")))
                               .fill_null(False), dtype=bool)
        blank = candidates & ((lengths == 0) | all_space)
    keep = valid_utf8 & ~too_long & ~blank
    dead_parts = []
    for mask, reason in ((too_long, f"line exceeds --max-line-bytes {max_line_bytes}"),
                         (~valid_utf8 & ~too_long, "line is not valid UTF-8")):
        idx = np.flatnonzero(mask)
        if len(idx):
            dead_parts.append(_screen_dead_letters(raw, idx, lengths, reason, piece))
    keep_idx = np.flatnonzero(keep)
    lines = text if len(keep_idx) == len(lengths) else text.take(pa.array(keep_idx))
    batch = LineBatch(path=piece.path, file_key=piece.file_key, lines=lines,
                      offsets=raw.offsets[keep_idx])
    dead = pa.concat_tables(dead_parts) if dead_parts else DEAD_LETTER_SCHEMA.empty_table()
    n_blank = int(blank.sum())
    return ScreenedBatch(batch, dead, {"blank line": n_blank} if n_blank else {})


def _utf8_mask(lines: pa.BinaryArray) -> np.ndarray:
    """True where a line is valid UTF-8 (whole-batch check first; per line only if it fails)."""
    n = len(lines)
    try:
        lines.view(pa.string()).validate(full=True)
        return np.ones(n, dtype=bool)
    except pa.ArrowInvalid:
        pass
    mask = np.ones(n, dtype=bool)
    for i, value in enumerate(lines.to_pylist()):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            mask[i] = False
    return mask


def _screen_dead_letters(raw: RawBatch, idx: np.ndarray, lengths: np.ndarray, reason: str,
                         piece: FileSlice) -> pa.Table:
    """Dead letters for lines screened out: raw bytes kept whole, readable text when possible."""
    n = len(idx)
    raw_values = raw.lines.take(pa.array(idx))
    texts = [v.decode("utf-8", errors="replace") if v is not None else None
             for v in raw_values.to_pylist()]
    reasons = [f"{reason} ({lengths[i]} bytes)" for i in idx]
    now = dt.datetime.now(dt.timezone.utc)
    return pa.Table.from_arrays([
        pa.array(["read"] * n), pa.array(reasons), pa.array([piece.family] * n),
        pa.array([piece.format_name] * n, pa.string()), raw_values, pa.array(texts, pa.string()),
        pa.array([piece.path] * n), pa.array(raw.offsets[idx], pa.int64()),
        pa.array(np.ones(n, np.int32)), pa.array([now] * n, pa.timestamp("ms", tz="UTC")),
    ], schema=DEAD_LETTER_SCHEMA)
