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

    plan_rewind(committed, last_times, offsets_at, rewind_ms) -> {partition: offset}   (pure)
    rewind_group(bootstrap, group, topics, rewind_ms) -> RewindReport   (reads and commits)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from pipelines.errors import VigieError
from pipelines.services import kafka_topics

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
                 timeout_s: float = 15.0) -> RewindReport:
    """Rewind `group` on `topics` (see the module docstring); VigieError when Kafka fails."""
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
    except kafka.KafkaException as error:
        raise VigieError(f"Kafka at {bootstrap}: could not rewind consumer group {group!r} "
                         f"({error.args[0].str()})") from None
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
