"""Planning a replay: inputs as given -> the files to read, their slices, what is not read.

`plan_inputs` expands paths (files, folders walked recursively, globs), checks each file can be
read, detects its format (or takes `--format`), finds inputs that repeat another's lines
(sources/duplicates.py), and cuts plain files into byte ranges (gzip files stay whole). Entries
of walked folders that are not read (hidden, an earlier Vigie output, a scenario's answer key,
unreadable) are listed with the reason; a path named on the command line that cannot be read
is an error.
"""
from __future__ import annotations

import datetime as dt
import glob
import json
import os
import stat
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines import storage
from pipelines.errors import VigieError
from pipelines.parsing import detect_format, format_by_name
from pipelines.parsing.base import LineBatch, LogFormat, ParseContext
from pipelines.sources.duplicates import Candidate, Overlap, find_overlaps
from pipelines.sources.files import (HEAD_BYTES, FileSlice, content_chunks, file_key, read_head,
                                     w3c_directives)

SAMPLE_LINES = 200
# A scenario's answer key, inventory and anonymiser list: files that sit beside logs.
NOT_LOGS = {"truth.json", "inventory.yml", "tor-exits.txt"}


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
    overlap: Overlap | None = None  # lines it shares with another input (not read again)

    @property
    def read_from(self) -> int:
        """Byte offset where reading starts (-1: nothing to read, the whole file is a duplicate)."""
        return self.overlap.read_from if self.overlap else 0


@dataclass(frozen=True)
class SkippedInput:
    """An entry of a walked folder that is not read, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """What a replay reads: the files, their slices, and what it leaves out and why."""

    files: list[InputFile]
    slices: list[FileSlice]
    skipped: list[SkippedInput] = field(default_factory=list)


HIDDEN = "hidden (its name starts with '.')"
EARLIER_OUTPUT = "an earlier Vigie output folder (its summary.json says so)"
NOT_A_LOG = "a scenario's answer key, inventory or list, not a log"
EARLIER_SUMMARY = "the summary.json of an earlier Vigie run"


def _vigie_summary(path: str) -> bool:
    """True when `path` is the summary.json of a Vigie run."""
    try:
        summary = json.loads(storage.read_bytes(path))
    except (OSError, ValueError, VigieError):
        return False
    return isinstance(summary, dict) and summary.get("command") in ("replay", "stream") and "datasets" in summary


def _vigie_output(folder: str) -> bool:
    """True when `folder` holds the summary.json of a Vigie run."""
    return _vigie_summary(storage.join(folder, "summary.json"))


def _unreadable(path: str) -> str | None:
    """Why a file found in a folder cannot be read (None when it can)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "unreadable: a symbolic link to nothing" if os.path.islink(path) else "unreadable: gone"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a pipe, socket or device)"
    if not os.access(path, os.R_OK):
        return "unreadable: permission denied"
    return None


def _walk(folder: str, files: list[str], skipped: list[SkippedInput]) -> None:
    """Files of `folder` (recursively, sorted) into `files`; what is left out into `skipped`."""
    for root, dirs, names in os.walk(folder):
        kept_dirs = []
        for d in sorted(dirs):
            path = os.path.join(root, d)
            if d.startswith("."):
                skipped.append(SkippedInput(path, HIDDEN))
            elif _vigie_output(path):
                skipped.append(SkippedInput(path, EARLIER_OUTPUT))
            else:
                kept_dirs.append(d)
        dirs[:] = kept_dirs
        for name in sorted(names):
            path = os.path.join(root, name)
            reason = (HIDDEN if name.startswith(".") else
                      NOT_A_LOG if name in NOT_LOGS else
                      EARLIER_SUMMARY if name == "summary.json" and _vigie_summary(path) else
                      _unreadable(path))
            if reason:
                skipped.append(SkippedInput(path, reason))
            else:
                files.append(path)


def _walk_prefix(folder: str, files: list[str], skipped: list[SkippedInput]) -> None:
    """`_walk` for a folder on an object store (a prefix: every object under it, sorted)."""
    root = folder.rstrip("/")
    earlier_outputs: list[str] = []
    for path in storage.files_under(root):
        parts = path[len(root) + 1:].split("/")
        if any(path.startswith(prefix + "/") for prefix in earlier_outputs):
            continue
        hidden = next((i for i, part in enumerate(parts) if part.startswith(".")), None)
        if hidden is not None:
            left_out = storage.join(root, *parts[:hidden + 1])
            if not any(s.path == left_out for s in skipped):
                skipped.append(SkippedInput(left_out, HIDDEN))
            continue
        name = parts[-1]
        if name == "summary.json" and len(parts) > 1 and _vigie_summary(path):
            earlier = storage.parent(path)
            earlier_outputs.append(earlier)
            skipped.append(SkippedInput(earlier, EARLIER_OUTPUT))
            files[:] = [f for f in files if not f.startswith(earlier + "/")]
            continue
        reason = (NOT_A_LOG if name in NOT_LOGS else
                  EARLIER_SUMMARY if name == "summary.json" and _vigie_summary(path) else None)
        if reason:
            skipped.append(SkippedInput(path, reason))
        else:
            files.append(path)


def _expand_remote(item: str, files: list[str], skipped: list[SkippedInput]) -> None:
    """One input on an object store: a glob, an object, or a prefix walked as a folder."""
    if any(c in item for c in "*?["):
        matches = storage.match(item)
        if not storage.basename(item).startswith("."):  # as a shell's (and Python's) glob does
            matches = [m for m in matches if not storage.basename(m).startswith(".")]
        if not matches:
            raise VigieError(f"input not found: {item} (check the path)")
        files.extend(matches)
    elif storage.exists(item):
        files.append(item)
    elif storage.is_folder(item):
        if _vigie_output(item.rstrip("/")):
            raise VigieError(f"{item} is the output of an earlier Vigie run, not logs; "
                             "give the folder of the logs themselves")
        _walk_prefix(item, files, skipped)
    else:
        raise VigieError(f"input not found: {item} (check the path)")


def expand_inputs(inputs: list[str]) -> tuple[list[str], list[SkippedInput]]:
    """Paths, folders (walked recursively, sorted) and globs -> (file paths, entries left out).

    A path named on the command line (or matched by a glob) must exist and be a regular file or
    a folder: otherwise VigieError says what to do. Inside folders, hidden entries, earlier Vigie
    outputs, a scenario's helper files and unreadable entries are left out with their reason.
    """
    files: list[str] = []
    skipped: list[SkippedInput] = []
    for item in inputs:
        if storage.is_remote(item):
            _expand_remote(item, files, skipped)
            continue
        item = storage.local(item)
        matches = sorted(glob.glob(item)) if any(c in item for c in "*?[") else [item]
        if not matches or not all(os.path.exists(m) for m in matches):
            raise VigieError(f"input not found: {item} (check the path)")
        for match in matches:
            if os.path.isdir(match):
                if _vigie_output(match):
                    raise VigieError(f"{match} is the output of an earlier Vigie run, not logs; "
                                     "give the folder of the logs themselves")
                _walk(match, files, skipped)
            elif stat.S_ISREG(os.stat(match).st_mode):
                files.append(match)
            else:
                raise VigieError(f"{match} is not a regular file (a pipe or a device): Vigie reads "
                                 "files in parallel byte ranges; save the stream to a file first "
                                 "(or use `vigie stream` for live input)")
    return list(dict.fromkeys(files)), skipped


def sample_lines(head: bytes) -> list[str]:
    """Up to SAMPLE_LINES non-blank complete lines from the start of a file, decoded leniently."""
    text = head.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if len(head) == HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut by the head limit
    return [ln.rstrip("\r") for ln in lines if ln.strip()][:SAMPLE_LINES]


def inspect_file(path: str, forced_format: LogFormat | None) -> tuple[InputFile, bytes]:
    """Read a file's head -> (its key, compression and format (forced or detected), the head)."""
    head, compressed = read_head(path)
    size = storage.size(path)
    if forced_format is not None:
        fmt, score = forced_format, 1.0
    else:
        fmt, score = detect_format(sample_lines(head))
    info = InputFile(path=path, size=size, compressed=compressed, file_key=file_key(head),
                     format_name=fmt.name if fmt else None,
                     family=fmt.family if fmt else "unknown", detection_score=score)
    return info, head


def with_overlaps(files: list[InputFile], heads: dict[str, bytes]) -> list[InputFile]:
    """The files with the lines they share with other inputs marked (sources/duplicates.py)."""
    candidates = [Candidate(f.path, f.compressed, f.size, f.file_key, heads[f.path]) for f in files]
    overlaps = {o.path: o for o in find_overlaps(candidates, content_chunks)}
    return [replace(f, overlap=overlaps[f.path], file_key=overlaps[f.path].file_key or f.file_key)
            if f.path in overlaps else f for f in files]


def _local_times(info: InputFile, text: bytes, timezone: str, reference: dt.datetime) -> list[dt.datetime]:
    """Times the file's parser reads as local wall-clock times in `text` (whole lines)."""
    fmt = format_by_name(info.format_name) if info.format_name else None
    lines = [ln for ln in sample_lines(text) if ln]
    if fmt is None or not lines:
        return []
    batch = LineBatch(info.path, info.file_key, pa.array(lines, pa.string()), np.arange(len(lines)))
    try:
        events = fmt.parse(batch, ParseContext(timezone=timezone, reference_time=reference)).events
    except Exception:  # noqa: BLE001 - a sample the parser chokes on is read whole anyway
        return []
    if events is None or not events.num_rows:
        return []
    local = events.filter(pc.is_valid(events["event.timezone"]))
    return [t for t in local["@timestamp"].to_pylist() if t is not None]


def crosses_fall_back(info: InputFile, timezone: str, reference: dt.datetime) -> bool:
    """True when a plain file's local wall-clock times span the end of daylight saving in
    `timezone` (its first and last lines are read; such a file is not cut into slices, so that
    repeated times are settled in file order, see parsing/clock.py)."""
    if timezone in ("UTC", "Etc/UTC", "Z"):
        return False
    with storage.open_read(info.path) as f:
        f.seek(max(info.size - HEAD_BYTES, 0))
        tail = f.read()
        f.seek(0)
        head = f.read(HEAD_BYTES)
    if info.size > HEAD_BYTES:
        tail = tail[tail.find(b"\n") + 1:]  # the first line of the tail may be cut
    times = _local_times(info, head, timezone, reference) + _local_times(info, tail, timezone, reference)
    if len(times) < 2:
        return False
    zone = ZoneInfo(timezone)
    # Repeated times were read as their first occurrence, up to the size of the shift too early.
    day, last = min(times), max(times) + dt.timedelta(hours=2)
    offset = day.astimezone(zone).utcoffset()
    while day < last:
        day = min(day + dt.timedelta(hours=12), last)
        now = day.astimezone(zone).utcoffset()
        if now < offset:
            return True
        offset = now
    return False


def plan_slices(files: list[InputFile], split_bytes: int, reference_time: dt.datetime | None,
                timezone: str = "UTC") -> list[FileSlice]:
    """Cut each file into byte ranges of about `split_bytes` from where it is read (gzip and
    empty files, and files whose local times cross the end of daylight saving: one slice; a
    file whose every line is in another input: none)."""
    slices = []
    for info in files:
        if info.read_from < 0:
            continue
        ref = reference_time or dt.datetime.fromtimestamp(storage.modified(info.path), dt.timezone.utc)
        directives = (w3c_directives(info.path, info.compressed)
                      if info.format_name == "w3c" else [])
        first = info.read_from
        if info.compressed:
            bounds = [(first, -1)]
        elif info.size - first <= split_bytes or crosses_fall_back(info, timezone, ref):
            bounds = [(first, info.size)]
        else:
            cuts = list(range(first, info.size, split_bytes)) + [info.size]
            bounds = list(zip(cuts[:-1], cuts[1:]))
        for start, end in bounds:
            slices.append(FileSlice(
                path=info.path, file_key=info.file_key, format_name=info.format_name,
                family=info.family, start=start, end=end, compressed=info.compressed,
                w3c_directives=tuple(directives), reference_time=ref))
    return slices


def plan_inputs(inputs: list[str], forced_format: str | None, split_bytes: int,
                reference_time: dt.datetime | None = None, timezone: str = "UTC") -> Plan:
    """Inputs as given on the command line -> the Plan (files, slices, entries left out)."""
    fmt = None
    if forced_format:
        fmt = format_by_name(forced_format)
        if fmt is None:
            from pipelines.parsing import ALL_FORMATS
            raise VigieError(f"unknown --format {forced_format!r}; known formats: "
                             + ", ".join(f.name for f in ALL_FORMATS))
    paths, skipped = expand_inputs(inputs)
    if not paths:
        left_out = f" ({len(skipped)} entries left out, e.g. {skipped[0].path}: {skipped[0].reason})" if skipped else ""
        raise VigieError("no input files found in " + " ".join(inputs) + left_out)
    inspected = [inspect_file(p, fmt) for p in paths]
    files = with_overlaps([info for info, _ in inspected], {info.path: head for info, head in inspected})
    return Plan(files, plan_slices(files, split_bytes, reference_time, timezone), skipped)
