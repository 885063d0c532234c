"""Reading input files: byte ranges of plain files, gzip streams, lines with their offsets.

`read_slice(piece, batch_bytes)` reads one planned slice (sources/plan.py) and yields `RawBatch`es:
the lines that start inside the slice, split on '\n' (a trailing '\r' is dropped), undecoded,
with their byte offsets in the (decompressed) file. Gzip files are decompressed incrementally:
a damaged one yields every line recovered before the damage, then raises `DamagedInput`.
`read_head` and `content_chunks` serve the plan (format detection, file keys, duplicates).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines import storage
from pipelines.errors import VigieError
from pipelines.sources.units import LineOrigin, UnitBatch

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024  # read for the file key and format detection
GZIP_READ_BYTES = 256 * 1024  # compressed bytes fed to the decompressor at a time
CHUNK_BYTES = 1024 * 1024  # plain bytes read at a time by content_chunks


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

    @property
    def unit_id(self) -> str:
        """The slice as a unit of lines (sources/units.py): its slice id."""
        return self.slice_id

    def origin(self, first_offset: int = 0) -> LineOrigin:
        """How to read this slice's lines from byte `first_offset` on (W3C fields in force there)."""
        return LineOrigin(self.path, self.file_key, self.format_name, self.family,
                          fields_in_force(self.w3c_directives, first_offset), self.reference_time)

    def batches(self, settings) -> Iterator[UnitBatch]:
        """The slice's lines, about settings.batch_bytes at a time; a damaged compressed file
        ends them with a batch that says where it broke off (and carries no line)."""
        try:
            for raw in read_slice(self, settings.batch_bytes):
                first = int(raw.offsets[0]) if len(raw.offsets) else 0
                yield UnitBatch(raw.lines, raw.offsets, self.origin(first))
        except DamagedInput as exc:
            yield UnitBatch(pa.array([], pa.binary()), np.zeros(0, np.int64), self.origin(),
                            damaged=(exc.detail, exc.offset))


class DamagedInput(Exception):
    """A compressed file whose data breaks off: what was read so far is kept."""

    def __init__(self, path: str, offset: int, detail: str):
        self.detail = detail
        super().__init__(f"gzip data of {path} is damaged after {offset} bytes ({detail}); "
                         "the rest of the file could not be read")
        self.path = path
        self.offset = offset


@dataclass(frozen=True)
class RawBatch:
    """Lines of one slice as undecoded bytes + byte offsets (terminators removed)."""

    lines: pa.BinaryArray
    offsets: np.ndarray


def read_head(path: str) -> tuple[bytes, bool]:
    """First HEAD_BYTES of the (decompressed) file, and whether it is gzip. A damaged gzip file
    gives what could be recovered (reading it dead-letters the damage)."""
    try:
        with storage.open_read(path) as f:
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
        with storage.open_read(path) as f:
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


def content_chunks(path: str, compressed: bool) -> Iterator[bytes]:
    """A file's (decompressed) bytes in pieces; a damaged gzip file stops where it breaks."""
    if not compressed:
        with storage.open_read(path) as f:
            while chunk := f.read(CHUNK_BYTES):
                yield chunk
        return
    try:
        yield from decompressed_chunks(path)
    except DamagedInput:
        return


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
    """Yield the lines starting inside `piece`, about `batch_bytes` at a time. A file that can
    no longer be read (moved or deleted since the plan) is a VigieError naming it."""
    try:
        yield from _read_slice(piece, batch_bytes)
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise VigieError(f"cannot read {piece.path}: {exc.strerror or exc} (it changed after the "
                         "replay was planned)") from exc


def _read_slice(piece: FileSlice, batch_bytes: int) -> Iterator[RawBatch]:
    if piece.compressed:
        yield from _read_stream(piece, batch_bytes)
        return
    with storage.open_read(piece.path) as f:
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
    with storage.open_read(path) as f:
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
    pos, block, skip = 0, b"", max(piece.start, 0)  # bytes before `start` are read elsewhere
    try:
        for chunk in decompressed_chunks(piece.path):
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip, pos = chunk[dropped:], skip - dropped, pos + dropped
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


