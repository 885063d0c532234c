"""Arrow tables -> Parquet files under a replay's output folder (pure, no Beam).

Events go to DIR/events/dataset=<event.dataset>/date=<UTC day>/<name>.parquet (Hive layout);
signals to DIR/signals/<name>.parquet; dead letters to DIR/deadletter/<name>.parquet. File names
are derived from the batch's deterministic name, so a retried bundle overwrites instead of
duplicating. Each writer returns what it wrote as counts keyed (section, key...) of
pipelines/summary.py (e.g. ("datasets", "web", "events")).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import storage
from pipelines.parsing.base import TS_TYPE


EVENTS_DIR = "events"
SIGNALS_DIR = "signals"
DEAD_LETTER_DIR = "deadletter"

def _write(table: pa.Table, folder: str, name: str) -> None:
    """Write folder/NAME.parquet whole or not at all (a job cancelled mid-write, as a stopped
    stream is, leaves no truncated file: readers skip the dot-file; on an object store the
    object appears when it is complete)."""
    if storage.is_remote(folder):
        with storage.create(storage.join(folder, f"{name}.parquet")) as handle:
            pq.write_table(table, handle, row_group_size=256 * 1024)
        return
    folder = Path(storage.local(folder))
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.{os.getpid()}.tmp"
    pq.write_table(table, partial, row_group_size=256 * 1024)
    os.replace(partial, folder / f"{name}.parquet")


def parquet_files(folder: str | os.PathLike) -> list[str]:
    """The data files below a folder of an output (local or on an object store), sorted:
    `.parquet` files whose names do not start with '.' or '_' (partial writes, markers)."""
    if not storage.is_folder(folder):
        return []
    return [p for p in storage.files_under(folder) if p.endswith(".parquet")
            and not storage.basename(p).startswith((".", "_"))]


def utc_days(timestamps: pa.ChunkedArray | pa.Array) -> pa.Array:
    """'YYYY-MM-DD' (UTC) of each timestamp, formatted once per distinct day (formatting every
    row cost ~2% of a replay)."""
    if isinstance(timestamps, pa.ChunkedArray):
        timestamps = timestamps.combine_chunks()
    if timestamps.type != TS_TYPE:
        return pc.strftime(timestamps, format="%Y-%m-%d")
    valid = np.asarray(timestamps.is_valid(), dtype=bool)
    day = np.floor_divide(np.asarray(timestamps.cast(pa.int64()).fill_null(0)), 86_400_000)
    distinct, which = np.unique(day, return_inverse=True)
    names = pc.strftime(pa.array(distinct * 86_400_000, pa.int64()).cast(TS_TYPE), format="%Y-%m-%d")
    return names.take(pa.array(which.ravel(), mask=~valid))


def write_events(table: pa.Table, out_dir: str, name: str) -> Counter:
    """Write an event table into the Hive-partitioned events folder; count what was written."""
    if table.num_rows == 0:
        return Counter()
    keys = pa.table({"dataset": table["event.dataset"], "date": utc_days(table["@timestamp"])})
    groups = keys.group_by(["dataset", "date"]).aggregate([]).to_pylist()
    for group in groups:
        dataset, day = group["dataset"], group["date"]
        whole = len(groups) == 1 and dataset is not None and day is not None
        part = table if whole else table.filter(  # one partition: no copy of every column
            pc.and_(pc.equal(keys["dataset"], dataset), pc.equal(keys["date"], day)))
        _write(part, storage.join(out_dir, EVENTS_DIR, f"dataset={dataset}", f"date={day}"), name)
    counts: Counter = Counter()
    per_family = table.group_by("event.module").aggregate([("vigie.lines", "sum"), ("event.id", "count")])
    for family, lines, events in zip(per_family["event.module"].to_pylist(),
                                     per_family["vigie.lines_sum"].to_pylist(),
                                     per_family["event.id_count"].to_pylist()):
        counts[("datasets", family, "events")] += events
        counts[("datasets", family, "lines_in_events")] += lines or 0
    return counts


def upsert_signals(table: pa.Table, out_dir: str, name: str) -> Counter:
    """Streaming: merge signals into DIR/signals/<name>.parquet by signal.id (a window's file
    takes its late signals, and a signal derived again after a restart is not stored twice);
    the file is replaced atomically, under a lock; only signals new to it are counted. On an
    object store: one more object per write instead (`_add_signal_object`)."""
    if table.num_rows == 0:
        return Counter()
    if storage.is_remote(out_dir):
        return _add_signal_object(table, storage.join(out_dir, SIGNALS_DIR), name)
    folder = Path(out_dir) / SIGNALS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.parquet"
    with open(folder / ".signals.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = pq.read_table(path) if path.exists() else None
        fresh = table
        if old is not None:
            fresh = table.filter(pc.invert(pc.is_in(table["signal.id"], value_set=old["signal.id"])))
            if fresh.num_rows == 0:
                return Counter()
            table = pa.concat_tables([old, fresh.cast(old.schema)])
        table = table.sort_by("signal.id")
        pq.write_table(table, folder / f".{name}.tmp", row_group_size=256 * 1024)
        os.replace(folder / f".{name}.tmp", path)
    return _signal_counts(fresh)


def _add_signal_object(table: pa.Table, folder: str, name: str) -> Counter:
    """`upsert_signals` on an object store, where nothing can be locked or rewritten in place:
    the window's signals not yet in any of its objects (NAME-*.parquet) become one more object,
    named by a digest of their ids (the same signals written again land on the same object)."""
    stored: set[str] = set()
    for path in storage.match(storage.join(folder, f"{name}-*.parquet")):
        with storage.open_read(path) as handle:
            stored.update(pq.read_table(handle, columns=["signal.id"])["signal.id"].to_pylist())
    fresh = table.filter(pc.invert(pc.is_in(table["signal.id"], value_set=pa.array(sorted(stored), pa.string())))) \
        if stored else table
    if fresh.num_rows == 0:
        return Counter()
    fresh = fresh.sort_by("signal.id")
    digest = hashlib.blake2b("\n".join(fresh["signal.id"].to_pylist()).encode(), digest_size=8).hexdigest()
    _write(fresh, folder, f"{name}-{digest}")
    return _signal_counts(fresh)


def _signal_counts(table: pa.Table) -> Counter:
    counts: Counter = Counter()
    per_rule = table.group_by(["event.dataset", "rule.id"]).aggregate([("signal.id", "count")])
    for dataset, rule_id, n in zip(per_rule["event.dataset"].to_pylist(), per_rule["rule.id"].to_pylist(),
                                   per_rule["signal.id_count"].to_pylist()):
        family = (dataset or "unknown").split(".", 1)[0]
        counts[("datasets", family, "signals")] += n
        counts[("rules", rule_id)] += n
    return counts


def write_dead_letters(table: pa.Table, out_dir: str, name: str) -> Counter:
    """Write dead letters to DIR/deadletter/<name>.parquet; count rows and lines per family (the
    Elasticsearch sink's letters, stage `index`, are counted by the sink) and per cause."""
    if table.num_rows == 0:
        return Counter()
    _write(table, storage.join(out_dir, DEAD_LETTER_DIR), name)
    counts: Counter = Counter()
    per_cause = table.group_by(["stage", "reason"]).aggregate([("lines", "count")])
    for stage, reason, rows in zip(per_cause["stage"].to_pylist(), per_cause["reason"].to_pylist(),
                                   per_cause["lines_count"].to_pylist()):
        counts[("deadletters", stage or "?", reason or "?")] += rows
    lines = table.filter(pc.not_equal(table["stage"], "index")) if table.num_rows else table
    per_family = lines.group_by("family").aggregate([("lines", "sum"), ("reason", "count")])
    for family, n_lines, rows in zip(per_family["family"].to_pylist(), per_family["lines_sum"].to_pylist(),
                                     per_family["reason_count"].to_pylist()):
        counts[("datasets", family or "unknown", "dead_letters")] += rows
        counts[("datasets", family or "unknown", "lines_dead_lettered")] += n_lines or 0
    return counts


def write_signals(table: pa.Table, out_dir: str, name: str) -> Counter:
    """Write signals to DIR/signals/<name>.parquet; count them per family and per rule."""
    if table.num_rows == 0:
        return Counter()
    _write(table, storage.join(out_dir, SIGNALS_DIR), name)
    counts: Counter = Counter()
    per_rule = table.group_by(["event.dataset", "rule.id"]).aggregate([("signal.id", "count")])
    for dataset, rule_id, n in zip(per_rule["event.dataset"].to_pylist(), per_rule["rule.id"].to_pylist(),
                                   per_rule["signal.id_count"].to_pylist()):
        family = (dataset or "unknown").split(".", 1)[0]
        counts[("datasets", family, "signals")] += n
        counts[("rules", rule_id)] += n
    return counts
