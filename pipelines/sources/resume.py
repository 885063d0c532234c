"""Where a restarted stream starts reading: rewind the consumer group to rebuild the lost state.

A live job keeps state that no offset records: mail lines waiting for the rest of their message,
the previous login of each account, signals not yet assembled into incidents. When the job
stops (SIGTERM, a crash, a redeploy) on a runner without checkpoints (Prism), that state is
gone, while the consumer group's committed offsets say the records behind it were read. So
before a job starts, each partition the group has read is rewound to the first record whose
timestamp (the line's event time, set by the shipper) is at most `rewind_ms` before the
earliest "last record read" among the group's partitions. Everything after that point is read
again: events, signals and incidents come out with the same ids (pipelines.model), so
Elasticsearch upserts them and incident revisions continue (pipelines/stream.py); the state
rebuilt is exact for any message, login pair or incident that spans less than the rewind.
Offsets only ever move back; partitions the group never committed start at their beginning.

Events and dead letters are named by the ids of their batch, and the records read again come in
other batches: so the rows an earlier run already wrote from the records read again are listed
before the job starts (`written_ids`, by their Kafka coordinates) and left out of the restarted
job's Parquet files (`without_written`): no event or dead letter is stored twice.

    plan_rewind(committed, last_times, offsets_at, rewind_ms) -> {partition: offset}   (pure)
    rewind_group(bootstrap, group, topics, rewind_ms) -> RewindReport   (reads and commits)
    start_offsets(report) -> {partition: offset}; written_ids(out, topics, starts) -> WrittenIds
    without_written((name, table), ids, column) -> (name, table)   (pure)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from pipelines.errors import VigieError
from pipelines.services import kafka_topics

if TYPE_CHECKING:
    import pyarrow as pa

Partition = tuple[str, int]


def plan_rewind(committed: Mapping[Partition, int], last_times: Mapping[Partition, int],
                offsets_at: Callable[[int], Mapping[Partition, int]], rewind_ms: int) -> tuple[dict[Partition, int], int | None]:
    """New committed offsets (only those that move back) and the event time they rewind to.

    committed: the group's next offset per partition (partitions without a commit left out);
    last_times: timestamp (ms) of the last record read (committed - 1) per partition;
    offsets_at(t): per partition, the first offset whose timestamp is >= t (or the end)."""
    if not last_times:
        return {}, None
    since = min(last_times.values()) - rewind_ms
    targets = offsets_at(since)
    moved = {tp: min(offset, targets.get(tp, offset)) for tp, offset in committed.items()}
    return {tp: o for tp, o in moved.items() if o < committed[tp]}, since


@dataclass
class RewindReport:
    """What the rewind did: per partition (old, new) offsets, and the event time it went back to."""

    moved: dict[Partition, tuple[int, int]] = field(default_factory=dict)
    since_ms: int | None = None
    committed: dict[Partition, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        """Records that will be read again."""
        return sum(old - new for old, new in self.moved.values())


def _consumer(bootstrap: str, group: str):
    kafka = kafka_topics._kafka()
    return kafka, kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                  "enable.auto.commit": False, "log_level": 3})


def rewind_group(bootstrap: str, group: str, topics: list[str], rewind_ms: int,
                 timeout_s: float = 15.0, retry_s: float = 60.0) -> RewindReport:
    """Rewind `group` on `topics` (see the module docstring); VigieError when Kafka fails.
    Errors Kafka calls retriable (a group coordinator that a fresh broker is still electing:
    "Not coordinator") are retried for `retry_s`."""
    kafka = kafka_topics._kafka()
    deadline = time.monotonic() + retry_s
    while True:
        try:
            return _rewind_once(bootstrap, group, topics, rewind_ms, timeout_s)
        except kafka.KafkaException as error:
            if not error.args[0].retriable() or time.monotonic() > deadline:
                raise VigieError(f"Kafka at {bootstrap}: could not rewind consumer group {group!r} "
                                 f"({error.args[0].str()})") from None
            time.sleep(1.0)


def _rewind_once(bootstrap: str, group: str, topics: list[str], rewind_ms: int,
                 timeout_s: float) -> RewindReport:
    """One attempt of rewind_group; Kafka's errors raised as they come."""
    kafka, consumer = _consumer(bootstrap, group)
    report = RewindReport()
    try:
        partitions = []
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
            partitions += [kafka.TopicPartition(topic, p) for p in sorted(meta.partitions)]
        committed = {(tp.topic, tp.partition): tp.offset
                     for tp in consumer.committed(partitions, timeout=timeout_s) if tp.offset > 0}
        report.committed = dict(committed)
        last_times = {}
        for (topic, partition), offset in committed.items():
            consumer.assign([kafka.TopicPartition(topic, partition, offset - 1)])
            message = consumer.poll(timeout_s)
            if message is not None and not message.error():
                last_times[(topic, partition)] = message.timestamp()[1]

        def offsets_at(since_ms: int) -> dict[Partition, int]:
            wanted = [kafka.TopicPartition(t, p, max(0, since_ms)) for t, p in committed]
            found = consumer.offsets_for_times(wanted, timeout=timeout_s)
            ends = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=timeout_s)[1]
                    for tp in wanted}
            return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else ends[(tp.topic, tp.partition)]
                    for tp in found}

        moved, report.since_ms = plan_rewind(committed, last_times, offsets_at, rewind_ms)
        if moved:
            consumer.commit(offsets=[kafka.TopicPartition(t, p, o) for (t, p), o in moved.items()],
                            asynchronous=False)
        report.moved = {tp: (committed[tp], o) for tp, o in moved.items()}
    finally:
        consumer.close()
    return report


def earlier_revisions(records) -> dict[str, tuple[int, int, str]]:
    """Incident records an earlier run wrote -> {incident.id: (highest revision, its
    signal_count, its status)}."""
    out: dict[str, tuple[int, int, str]] = {}
    for r in records:
        rev = int(r.get("incident.revision") or 0)
        current = out.get(r["incident.id"])
        if current is None or rev > current[0]:
            out[r["incident.id"]] = (rev, int(r.get("incident.signal_count") or 0),
                                     str(r.get("incident.status")))
    return out


def continued_revision(record: dict, earlier: Mapping[str, tuple[int, int, str]]) -> dict | None:
    """A record of a restarted job, numbered after what earlier runs wrote of its incident.

    The restarted job rebuilds incidents from the rewound records, so it first emits revisions
    that earlier runs already went past: a revision with fewer signals than the latest written
    (or as many, in the same status) is dropped; the others get the earlier highest revision
    added, so readers, Elasticsearch (external versions) and the handoff ledger, which keep the
    highest revision, take them."""
    prior = earlier.get(record.get("incident.id"))
    if prior is None:
        return record
    revision, signals, status = prior
    count = int(record.get("incident.signal_count") or 0)
    newly_merged = record.get("incident.status") == "merged" and status != "merged"
    if count < signals or (count == signals and not newly_merged):
        return None
    return {**record, "incident.revision": revision + int(record.get("incident.revision") or 1)}


@dataclass(frozen=True)
class WrittenIds:
    """Ids an earlier run already wrote of the records a restarted job reads again: events
    (event.id) and dead letters (id). The restarted job leaves those rows out of its Parquet
    files (Elasticsearch upserts them by _id anyway)."""

    events: frozenset = frozenset()
    dead_letters: frozenset = frozenset()

    def __bool__(self) -> bool:
        return bool(self.events or self.dead_letters)


def start_offsets(report: RewindReport) -> dict[Partition, int]:
    """Where the restarted job starts per partition the group committed: the rewound offset,
    else the committed one (a partition without a commit starts at 0)."""
    return {tp: report.moved[tp][1] if tp in report.moved else offset
            for tp, offset in report.committed.items()}


def _coordinates_at_or_after(table, starts: Mapping[Partition, int], topic_col: str,
                             partition_col: str, offset_col: str) -> list[str]:
    """Ids (first column) of rows whose Kafka coordinates are at or after the start offset of
    their partition (0 for a partition not in `starts`); rows without coordinates are left."""
    ids: list[str] = []
    rows = zip(*(table[c].to_pylist() for c in (table.column_names[0], topic_col, partition_col, offset_col)))
    for row_id, topic, partition, offset in rows:
        if row_id is None or topic is None or partition is None or offset is None:
            continue
        if offset >= starts.get((topic, int(partition)), 0):
            ids.append(row_id)
    return ids


def written_ids(out_dir: Path | str, topics: Iterable[str], starts: Mapping[Partition, int]) -> WrittenIds:
    """What earlier runs wrote to `out_dir` (local or on an object store) from records of
    `topics` at or after `starts` (the offsets the restarted job reads from): event ids from
    DIR/events, dead-letter ids from DIR/deadletter. Only those rows are held in memory, so the
    cost follows the rewind."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from pipelines import storage
    from pipelines.sinks.parquet import DEAD_LETTER_DIR, EVENTS_DIR, parquet_files

    topics = pa.array(list(topics), pa.string())

    def rows(folder: str, columns: list[str], topic_col: str) -> list[str]:
        found: list[str] = []
        for path in parquet_files(folder):
            with storage.open_read(path) as handle:
                parquet = pq.ParquetFile(handle)
                if topic_col not in parquet.schema_arrow.names:
                    continue
                table = parquet.read(columns=columns)
            # a file of lines read from files only has its topics all null (type null)
            table = table.filter(pc.is_in(table[topic_col].cast(pa.string()), value_set=topics))
            found.extend(_coordinates_at_or_after(table, starts, *columns[1:]))
        return found

    events = rows(storage.join(out_dir, EVENTS_DIR), ["event.id", "vigie.stream.topic",
                                                      "vigie.stream.partition", "vigie.stream.offset"],
                  "vigie.stream.topic")
    letters = rows(storage.join(out_dir, DEAD_LETTER_DIR), ["id", "origin.topic", "origin.partition",
                                                            "origin.offset"], "origin.topic")
    return WrittenIds(frozenset(events), frozenset(letters))


def without_written(element: tuple[str, "pa.Table"], ids: frozenset, column: str) -> tuple[str, "pa.Table"]:
    """(name, table) -> the same without the rows whose `column` is in `ids` (named as before:
    a retried bundle still overwrites its own file)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    name, table = element
    if not ids or table.num_rows == 0 or column not in table.column_names:
        return name, table
    keep = pc.invert(pc.is_in(table[column], value_set=pa.array(list(ids), pa.string())))
    return name, table.filter(keep)
