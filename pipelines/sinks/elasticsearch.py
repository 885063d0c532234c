"""Arrow tables -> Elasticsearch bulk requests, with retries and dead letters (no Beam).

In: event or signal tables (the columns of schemas/), and `EsSettings` (where the cluster is, how
to authenticate, how big a bulk request may be, how long to keep retrying). Out: documents in the
indices named by pipelines/indices.py, `_id` = `event.id` / `signal.id` with the `index` op (a
re-run overwrites instead of duplicating), and for every document a final fate: indexed, or a
dead-letter row (stage `index`, the server's reason, origin `<index>/<_id>`, the document as
`raw`). Nothing is dropped.

    documents(table, kind)        -> Documents (index, _id, family, NDJSON source per row)
    BulkIndexer(client, settings) -> add(Documents) / take_done() / flush() -> BulkOutcome

The cluster's settings, connection, checks and templates are in pipelines/sinks/es_cluster.py.

Bulk requests are cut by document count and by bytes; several are in flight at once (threads,
like `elasticsearch.helpers.parallel_bulk`). A request that fails as a whole (connection refused
or reset, timeout, HTTP 429 or 5xx) is sent again, and from a partly failed bulk only the items
rejected with 429 or 5xx are: exponential backoff with jitter, until the document has waited
`retry_seconds`. Items the server refuses for good (a mapping error, 400) are dead-lettered at
once with its reason. Server messages are scrubbed of secrets before they are kept.
"""
from __future__ import annotations

import base64
import random
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipelines import indices
from pipelines.model import INDEX, dead_letters
from pipelines.sinks.es_cluster import EsSettings, first_line, scrub

EVENTS, SIGNALS, INCIDENTS = "events", "signals", "incidents"
INCIDENT_FAMILY = "incident"  # the counters' family of incident documents (they span families)
STAGE = "index"
# Counters of summary.json's datasets.<family> when --es-url is given.
INDEXED, DEAD_LETTERED, RETRIES, SENT = ("documents_indexed", "documents_dead_lettered",
                                         "index_retries", "documents_sent")
COUNTERS = (SENT, INDEXED, DEAD_LETTERED, RETRIES)
# Per-item statuses worth sending again: rejected execution (queue full) and server-side trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BULK_FILTER = "errors,items.*.status,items.*.error"


# ---------------------------------------------------------------- documents


@dataclass
class Documents:
    """Rows of one table ready for the bulk API: per row the index, `_id`, family and source."""
    index: list[str]
    ids: list[str]
    family: list[str]
    fmt: list[str | None]
    sources: list[bytes]
    versions: list[int] | None = None  # external versions (incident revisions): older never overwrites

    def __len__(self) -> int:
        return len(self.ids)


def _column_values(column: pa.ChunkedArray | pa.Array) -> list:
    """One column -> Python values (None for nulls), through NumPy where Arrow allows it: Arrow's
    own to_pylist builds a Scalar per value and is several times slower."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        kind = column.type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):  # ES `binary`: base64 text
        return [None if v is None else base64.b64encode(v).decode("ascii") for v in column.to_pylist()]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.to_numpy(zero_copy_only=False).tolist()
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        if column.null_count == 0:
            return column.to_numpy(zero_copy_only=False).tolist()
        values = pc.fill_null(column, pa.scalar(False if pa.types.is_boolean(kind) else 0, kind))
        valid = column.is_valid().to_numpy(zero_copy_only=False).tolist()
        return [v if ok else None for v, ok in zip(values.to_numpy(zero_copy_only=False).tolist(), valid)]
    if pa.types.is_list(kind):
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        flat = _column_values(array.values)
        offsets = array.offsets.to_numpy().tolist()
        valid = array.is_valid().to_numpy(zero_copy_only=False).tolist()
        return [flat[offsets[i]:offsets[i + 1]] if ok else None for i, ok in enumerate(valid)]
    return column.to_pylist()  # structs (geo points) and anything rarer


def documents(table: pa.Table, kind: str) -> Documents:
    """An event or signal table -> Documents: flat dotted field names, nulls omitted,
    timestamps as ISO-8601 UTC, `_id` = event.id (events) or signal.id (signals)."""
    n = table.num_rows
    id_column = "event.id" if kind == EVENTS else "signal.id"
    names, columns = [], []
    for name in table.column_names:
        column = table[name]
        if column.null_count == n:
            continue
        names.append(name)
        columns.append(_column_values(column))
    ids = _column_values(table[id_column])
    datasets = _column_values(table["event.dataset"]) if "event.dataset" in table.column_names else [None] * n
    per_dataset = {d: ((d or "unknown").split(".", 1)[0],
                       indices.events_index(d or "unknown.unknown") if kind == EVENTS else indices.SIGNALS_INDEX,
                       d.split(".", 1)[1] if kind == EVENTS and d and "." in d else None)
                   for d in set(datasets)}
    family = [per_dataset[d][0] for d in datasets]
    index = [per_dataset[d][1] for d in datasets]
    fmt = [per_dataset[d][2] for d in datasets]
    dumps = orjson.dumps
    sources = [dumps({k: v for k, v in zip(names, row) if v is not None}) for row in zip(*columns)]
    return Documents(index, ids, family, fmt, sources)


def incident_documents(records: list[dict]) -> Documents:
    """Incident records -> Documents for vigie-incidents-default: `_id` = incident.id, the
    revision as external version (a re-sent older revision never overwrites a newer one)."""
    n = len(records)
    return Documents([indices.INCIDENTS_INDEX] * n, [r["incident.id"] for r in records],
                     [INCIDENT_FAMILY] * n, [None] * n, [orjson.dumps(r) for r in records],
                     [int(r.get("incident.revision") or 1) for r in records])


def documents_from_dead_letters(table: pa.Table) -> Documents:
    """Dead letters of stage `index` (origin.path = `<index>/<_id>`, raw = the document) ->
    Documents to send again."""
    rows = table.filter(pc.equal(table["stage"], STAGE)) if table.num_rows else table
    origin = rows["origin.path"].to_pylist()
    index = [o.split("/", 1)[0] for o in origin]
    ids = [o.split("/", 1)[1] for o in origin]
    return Documents(index, ids, rows["family"].to_pylist(), rows["format"].to_pylist(),
                     rows["raw"].to_pylist())


# ---------------------------------------------------------------- bulk sending


@dataclass
class BulkOutcome:
    """What became of the documents of some bulk requests: counts per (family, counter) and
    the dead-letter rows of the documents that finally failed."""
    counts: Counter = field(default_factory=Counter)
    dead: list[dict] = field(default_factory=list)

    def merge(self, other: "BulkOutcome") -> None:
        self.counts.update(other.counts)
        self.dead.extend(other.dead)


def dead_letter_table(rows: list[dict]) -> pa.Table:
    """Dead-letter rows of BulkOutcome (documents that finally failed) -> a dead-letter table."""
    columns = {name: [row[name] for row in rows] for name in ("reason", "detail", "family", "format",
                                                             "id", "raw")}
    return dead_letters(len(rows), stage=STAGE, lines=0, origin_kind=INDEX,
                        origin_path=[row["origin.path"] for row in rows], **columns)


def _chunks(docs: Documents, max_docs: int, max_bytes: int) -> Iterable[list[int]]:
    """Row positions cut into bulk requests of at most max_docs documents / ~max_bytes."""
    chunk, size = [], 0
    for i, source in enumerate(docs.sources):
        cost = len(source) + 100
        if chunk and (len(chunk) >= max_docs or size + cost > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(i)
        size += cost
    if chunk:
        yield chunk


def _body(docs: Documents, rows: list[int]) -> bytes:
    parts = []
    for i in rows:
        version = (b',"version":%d,"version_type":"external_gte"' % docs.versions[i]) if docs.versions else b""
        parts.append(b'{"index":{"_index":"%s","_id":%s%s}}' % (docs.index[i].encode(), orjson.dumps(docs.ids[i]),
                                                              version))
        parts.append(docs.sources[i])
    parts.append(b"")
    return b"\n".join(parts)


def _item_reason(status: int, error) -> tuple[str, str]:
    """(reason, detail) of an item the server refused: the cause (status and error type), and
    its full message."""
    if isinstance(error, dict):
        detail = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            detail += f" (caused by {cause.get('type', '')}: {cause.get('reason', '')})"
        return f"HTTP {status} {error.get('type', 'error')}", f"HTTP {status} {detail}"[:2000]
    return f"HTTP {status}", f"HTTP {status} {error}"[:2000]


class BulkIndexer:
    """Sends Documents as concurrent bulk requests; every document ends indexed or dead-lettered.

    add() cuts Documents into requests and hands them to a pool of `settings.concurrency`
    threads, blocking while twice that many requests are pending (so a fast producer cannot
    pile up memory); take_done() returns the outcomes finished so far; flush() waits for all.
    When the cluster has failed for longer than `retry_seconds` without a single success, new
    requests stop waiting (one attempt each, then dead letters) until it answers again, so a dead
    cluster costs one retry budget, not one per request.
    """

    def __init__(self, client, settings: EsSettings):
        self.client = client
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="vigie-bulk")
        self.pending: deque[Future] = deque()
        self.slots = threading.BoundedSemaphore(settings.concurrency * 2)
        self.lock = threading.Lock()
        self.failing_since: float | None = None

    def add(self, docs: Documents) -> None:
        for rows in _chunks(docs, self.settings.bulk_docs, self.settings.bulk_bytes):
            self.slots.acquire()
            future = self.pool.submit(self._send, docs, rows)
            future.add_done_callback(lambda _f: self.slots.release())
            self.pending.append(future)

    def take_done(self) -> BulkOutcome:
        out = BulkOutcome()
        while self.pending and self.pending[0].done():
            out.merge(self.pending.popleft().result())
        return out

    def flush(self) -> BulkOutcome:
        out = BulkOutcome()
        while self.pending:
            out.merge(self.pending.popleft().result())
        return out

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    # -- one bulk request and its retries (runs in a pool thread)

    def _cluster_down_too_long(self) -> bool:
        with self.lock:
            return (self.failing_since is not None
                    and time.monotonic() - self.failing_since > self.settings.retry_seconds)

    def _note(self, ok: bool) -> None:
        with self.lock:
            if ok:
                self.failing_since = None
            elif self.failing_since is None:
                self.failing_since = time.monotonic()

    def _send(self, docs: Documents, rows: list[int]) -> BulkOutcome:
        from elastic_transport import ConnectionError as TransportConnectionError
        from elastic_transport import ConnectionTimeout
        from elasticsearch import ApiError

        out = BulkOutcome()
        for i in rows:
            out.counts[(docs.family[i], SENT)] += 1
        deadline = time.monotonic() + self.settings.retry_seconds
        attempt = 0
        todo = rows
        while todo:
            retry: list[tuple[int, str]] = []
            try:
                response = self.client.bulk(operations=_body(docs, todo), filter_path=BULK_FILTER)
                self._note(True)
                body = response.body
                if not body.get("errors"):
                    for i in todo:
                        out.counts[(docs.family[i], INDEXED)] += 1
                    return out
                for i, item in zip(todo, body["items"]):
                    result = next(iter(item.values()))
                    status = int(result.get("status", 0))
                    if status < 300 or (status == 409 and docs.versions):  # 409: a newer revision is there
                        out.counts[(docs.family[i], INDEXED)] += 1
                    elif status in RETRY_STATUSES:
                        retry.append((i, _item_reason(status, result.get("error"))[1]))
                    else:
                        out.dead.append(self._dead(docs, i, *_item_reason(status, result.get("error"))))
                        out.counts[(docs.family[i], DEAD_LETTERED)] += 1
            except (TransportConnectionError, ConnectionTimeout) as exc:
                self._note(False)
                reason = f"{type(exc).__name__}: {scrub(first_line(exc), self.settings)}"
                retry = [(i, reason) for i in todo]
            except ApiError as exc:
                status = exc.meta.status
                reason = f"HTTP {status} on the whole bulk request: {scrub(first_line(exc), self.settings)}"
                if status not in RETRY_STATUSES:  # refused for good (401, 403, 413 ...): no retry
                    for i in todo:
                        out.dead.append(self._dead(docs, i, f"HTTP {status} on the whole bulk request", reason))
                        out.counts[(docs.family[i], DEAD_LETTERED)] += 1
                    return out
                self._note(False)
                retry = [(i, reason) for i in todo]
            if not retry:
                return out
            wait = min(30.0, 0.5 * 2 ** attempt) * (0.5 + random.random() / 2)
            if time.monotonic() + wait > deadline or self._cluster_down_too_long():
                for i, reason in retry:
                    out.dead.append(self._dead(docs, i, "gave up within the retry budget (--es-retry-seconds)",
                                               f"{attempt + 1} attempt(s) in {self.settings.retry_seconds:g} s; "
                                               f"last: {reason}"))
                    out.counts[(docs.family[i], DEAD_LETTERED)] += 1
                return out
            time.sleep(wait)
            attempt += 1
            for i, _ in retry:
                out.counts[(docs.family[i], RETRIES)] += 1
            todo = [i for i, _ in retry]
        return out

    @staticmethod
    def _dead(docs: Documents, i: int, reason: str, detail: str) -> dict:
        """One dead-letter row (dead_letter_table's form) for document i."""
        return {"stage": STAGE, "reason": reason, "detail": detail, "family": docs.family[i], "format": docs.fmt[i],
                "id": docs.ids[i], "raw": docs.sources[i],
                "origin.path": f"{docs.index[i]}/{docs.ids[i]}"}


def index_all(client, settings: EsSettings, batches: Iterable[Documents]) -> BulkOutcome:
    """Send every batch through one BulkIndexer and wait for all of it (backfill, tests)."""
    indexer = BulkIndexer(client, settings)
    out = BulkOutcome()
    try:
        for docs in batches:
            indexer.add(docs)
            out.merge(indexer.take_done())
        out.merge(indexer.flush())
    finally:
        indexer.close()
    return out
