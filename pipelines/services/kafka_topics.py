"""Talk to a Kafka broker from Python (confluent-kafka, i.e. librdkafka): create and delete
topics, produce records with keys and headers, read them back, and read a consumer group's
committed offsets. Used by the tests and by whoever feeds a local broker.

    create_topics(bootstrap, {"web": 2}) -> None       (idempotent; waits until they exist)
    produce(bootstrap, topic, [Record(...)]) -> [(partition, offset)]
    consume(bootstrap, topic, count, timeout_s) -> [Record]   (from the beginning, no group commit)
    committed_offsets(bootstrap, group, topic) -> {partition: next offset to read}
    end_offsets(bootstrap, topic) -> {partition: high watermark}
"""
from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass, field
from typing import Iterable

from pipelines.errors import VigieError

TIMEOUT_S = 30


def _kafka():
    try:
        import confluent_kafka
        import confluent_kafka.admin
    except ImportError:  # pragma: no cover - requirements-dev.txt installs it
        raise VigieError("the Python Kafka client is missing; run `make venv` "
                         "(requirements-dev.txt pins confluent-kafka)") from None
    return confluent_kafka


@dataclass(frozen=True)
class Record:
    """One Kafka record; partition/offset are filled in by consume() (None when producing,
    unless `partition` chooses one)."""
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = field(default=())
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None


def create_topics(bootstrap: str, partitions: dict[str, int], timeout_s: float = TIMEOUT_S) -> None:
    """Create `partitions` ({topic: partition count}, replication 1); existing topics are kept."""
    kafka = _kafka()
    admin = kafka.admin.AdminClient({"bootstrap.servers": bootstrap})
    wanted = [kafka.admin.NewTopic(name, num_partitions=count, replication_factor=1)
              for name, count in partitions.items()]
    for name, future in admin.create_topics(wanted, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            raise VigieError(f"Kafka at {bootstrap} did not answer within {timeout_s} s; is it "
                             "running? (make kafka-start)") from None
        except kafka.KafkaException as error:
            if error.args[0].code() != kafka.KafkaError.TOPIC_ALREADY_EXISTS:
                raise VigieError(f"Kafka at {bootstrap} did not create topic {name!r} "
                                 f"({error.args[0].str()})") from None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=timeout_s).topics
        if all(name in topics and len(topics[name].partitions) == count
               for name, count in partitions.items()):
            return
        time.sleep(0.2)
    raise VigieError(f"topics {sorted(partitions)} did not appear on {bootstrap} in {timeout_s} s")


def delete_topics(bootstrap: str, names: Iterable[str], timeout_s: float = TIMEOUT_S) -> None:
    """Delete topics (missing ones are ignored)."""
    kafka = _kafka()
    admin = kafka.admin.AdminClient({"bootstrap.servers": bootstrap})
    for name, future in admin.delete_topics(list(names), request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            raise VigieError(f"Kafka at {bootstrap} did not answer within {timeout_s} s") from None
        except kafka.KafkaException as error:
            if error.args[0].code() != kafka.KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise VigieError(f"Kafka did not delete topic {name!r} ({error.args[0].str()})") from None


def produce(bootstrap: str, topic: str, records: Iterable[Record],
            timeout_s: float = TIMEOUT_S) -> list[tuple[int, int]]:
    """Produce `records` in order (idempotent producer, acks=all); return (partition, offset) of
    each, in the same order. VigieError if any record is not acknowledged in time."""
    kafka = _kafka()
    producer = kafka.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                               "linger.ms": 5})
    results: list[tuple[int, int] | str | None] = []

    def remember(index: int):
        def report(error, message) -> None:
            results[index] = str(error) if error else (message.partition(), message.offset())
        return report

    for index, record in enumerate(records):
        results.append(None)
        extra = {} if record.partition is None else {"partition": record.partition}
        if record.timestamp_ms is not None:
            extra["timestamp"] = record.timestamp_ms
        while True:
            try:
                producer.produce(topic, value=record.value, key=record.key,
                                 headers=list(record.headers) or None,
                                 on_delivery=remember(index), **extra)
                break
            except BufferError:
                producer.poll(0.1)
    left = producer.flush(timeout_s)
    failed = [r for r in results if not isinstance(r, tuple)]
    if left or failed:
        raise VigieError(f"Kafka at {bootstrap} did not acknowledge {len(failed)} records to "
                         f"{topic!r} ({(failed or ['timeout'])[0]})")
    return results  # type: ignore[return-value]


def consume(bootstrap: str, topic: str, count: int, timeout_s: float = TIMEOUT_S) -> list[Record]:
    """Read `count` records of `topic` from the beginning of every partition (no group offsets
    are committed), in arrival order; VigieError if fewer arrive within `timeout_s`."""
    kafka = _kafka()
    consumer = kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": f"vigie-read-{time.time_ns()}",
                               "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    got: list[Record] = []
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
        consumer.assign([kafka.TopicPartition(topic, p, kafka.OFFSET_BEGINNING)
                         for p in metadata.partitions])
        deadline = time.monotonic() + timeout_s
        while len(got) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise VigieError(f"reading {topic!r} from {bootstrap} failed ({message.error().str()})")
            got.append(Record(value=message.value(), key=message.key(),
                              headers=tuple(message.headers() or ()),
                              partition=message.partition(), offset=message.offset(),
                              timestamp_ms=message.timestamp()[1]))
    finally:
        consumer.close()
    if len(got) < count:
        raise VigieError(f"only {len(got)} of {count} records arrived from {topic!r} in {timeout_s} s")
    return got


def committed_offsets(bootstrap: str, group: str, topic: str,
                      timeout_s: float = TIMEOUT_S) -> dict[int, int]:
    """The offsets `group` committed on each partition of `topic` (partitions without a commit
    are left out)."""
    kafka = _kafka()
    consumer = kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                               "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=timeout_s).topics[topic].partitions
        committed = consumer.committed([kafka.TopicPartition(topic, p) for p in partitions],
                                       timeout=timeout_s)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in committed if tp.offset >= 0}


def end_offsets(bootstrap: str, topic: str, timeout_s: float = TIMEOUT_S) -> dict[int, int]:
    """The high watermark (offset of the next record) of each partition of `topic`."""
    kafka = _kafka()
    consumer = kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "vigie-watermarks"})
    try:
        partitions = consumer.list_topics(topic, timeout=timeout_s).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(kafka.TopicPartition(topic, p),
                                                  timeout=timeout_s)[1] for p in partitions}
    finally:
        consumer.close()
