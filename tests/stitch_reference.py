"""Reference for the tests: the per-row stitching that Vigie ran before the column-wise one.

This is pipelines/parsing/stitch.py as it was at commit 705513f (one dict per fragment, merged
message by message in Python), kept unchanged apart from this paragraph so that the tests can
check that the column-wise stitching (pipelines/parsing/stitch/) gives the same events. It
predates the vigie.line.raw rule (it keeps the first non-null raw value).

Then, the pipeline ran: fragments table -> `fragments_to_rows` -> GroupByKey(key) ->
`stitch_message(rows, key)` -> `rows_to_table`. Everything here is pure.

Generic merge rules (`merge_fragments`, any family):
- order: by log.offset within a file; files by their earliest fragment time, then path (a
  message may start at the end of a rotated file and end in the next one, whose offsets
  restart at 0, so offsets alone cannot order across files);
- @timestamp: the earliest; log.offset and log.file.path: of the first fragment;
- event.id: blake2b (16 bytes, 32 hex chars) of the stitch key and the first fragment's
  event.id, so a replay yields the same id;
- event.original: the raw lines in order, joined with "\\n"; vigie.lines: the sum;
- list fields: concatenated in order without repeats, except the per-attempt lists
  (PER_ATTEMPT_LISTS: one value per delivery attempt, repeats kept);
- every other field: the first non-null value in order.
Then a finisher chosen by event.module applies the family's own rules (FINISHERS; mail:
`finish_mail_message`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Callable, Iterable, Mapping

import pyarrow as pa

from pipelines.parsing.base import STITCH_KEY
from pipelines.parsing.mail import is_internal_ip
from pipelines.schema import event_schema

Row = dict[str, Any]

PER_ATTEMPT_LISTS = frozenset({"vigie.mail.status", "vigie.mail.relay"})
_FIRST_FRAGMENT = frozenset({"log.offset", "log.file.path"})


def stitch_key_of(row: Mapping[str, Any]) -> str | None:
    """The stitch key a fragment row carries (None for a row that is not a fragment)."""
    return row.get(STITCH_KEY)


def fragments_to_rows(table: pa.Table) -> list[tuple[str, Row]]:
    """A fragments table -> (stitch key, row dict without the STITCH_KEY column) per row.

    Columns that are null in every row of the table are left out of the dicts (a missing key
    reads as null everywhere here): a mail table fills about a quarter of the event columns.
    """
    keys = table.column(STITCH_KEY).to_pylist()
    names = [name for name in table.column_names
             if name != STITCH_KEY and table.column(name).null_count < table.num_rows]
    columns = [table.column(name).to_pylist() for name in names]
    return [(key, dict(zip(names, values))) for key, values in zip(keys, zip(*columns))]


def session_runs(keyed_rows: Iterable[tuple[str, Row]],
                 gap_seconds: float) -> list[tuple[str, list[float], list[Row]]]:
    """(key, fragment row) pairs of one batch -> runs to group in event-time session windows.

    Per key, the rows sorted by @timestamp are cut where two neighbours are `gap_seconds` or more
    apart: exactly where a session window of that gap would cut them. Each run comes with
    marker times (epoch seconds): its first and last times and, between them, as few of its own
    times as keep neighbouring markers less than a gap apart. Windows [t, t + gap) opened at the
    markers cover the same span as windows opened at every row, so sending the rows once (at
    the first marker) and the other markers as empty elements groups them as the rows would
    group one by one, with far fewer elements.
    """
    by_key: dict[str, list[Row]] = {}
    for key, row in keyed_rows:
        by_key.setdefault(key, []).append(row)
    runs = []
    for key, rows in by_key.items():
        rows.sort(key=lambda r: r["@timestamp"])
        times = [r["@timestamp"].timestamp() for r in rows]
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or times[i] - times[i - 1] >= gap_seconds:
                runs.append((key, _markers(times[start:i], gap_seconds), rows[start:i]))
                start = i
    return runs


def _markers(times: list[float], gap_seconds: float) -> list[float]:
    """Sorted times whose neighbours are less than a gap apart -> the fewest of them, first and
    last included, whose neighbours are still less than a gap apart."""
    markers = [times[0]]
    j = 0
    while markers[-1] != times[-1]:
        while j + 1 < len(times) and times[j + 1] - markers[-1] < gap_seconds:
            j += 1
        markers.append(times[j])
    return markers


def rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Stitched event dicts -> an Arrow table conforming to event_schema() (extra keys dropped)."""
    return pa.Table.from_pylist(list(rows), schema=event_schema())


def stitched_event_id(key: str, first_event_id: str) -> str:
    """Deterministic id of a stitched event: 32 hex chars from its key and first line's id."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(key.encode("utf-8"))
    digest.update(b"\x00")
    digest.update((first_event_id or "").encode("utf-8"))
    return digest.hexdigest()


def order_fragments(fragments: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Fragments in log order: files by their earliest timestamp then path, lines by offset."""
    rows = [dict(f) for f in fragments]
    never = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    file_start: dict[str, dt.datetime] = {}
    for row in rows:
        path, stamp = row.get("log.file.path") or "", row.get("@timestamp") or never
        file_start[path] = min(file_start.get(path, never), stamp)
    return sorted(rows, key=lambda r: (file_start[r.get("log.file.path") or ""],
                                       r.get("log.file.path") or "", r.get("log.offset") or 0))


def merge_fragments(ordered: list[Row], key: str) -> Row:
    """Ordered fragments of one key -> one event (the generic rules of the module docstring)."""
    names = event_schema().names
    merged: Row = dict.fromkeys(names)
    present_names = set().union(*ordered)
    for name in (n for n in names if n in present_names):
        values = [row.get(name) for row in ordered]
        present = [v for v in values if v is not None]
        if isinstance(next(iter(present), None), list):
            items = [item for v in present for item in v]
            merged[name] = items if name in PER_ATTEMPT_LISTS else list(dict.fromkeys(items))
        elif name in _FIRST_FRAGMENT:
            merged[name] = values[0]
        else:
            merged[name] = next(iter(present), None)
    stamps = [row["@timestamp"] for row in ordered if row.get("@timestamp") is not None]
    merged["@timestamp"] = min(stamps) if stamps else None
    merged["event.id"] = stitched_event_id(key, ordered[0].get("event.id") or "")
    merged["event.original"] = "\n".join(row.get("event.original") or "" for row in ordered)
    merged["vigie.lines"] = sum(row.get("vigie.lines") or 0 for row in ordered)
    return merged


def stitch_message(fragments: list[Mapping[str, Any]], key: str | None = None) -> Row:
    """The fragment rows of one stitch key (any order) -> one event row (event-schema names).

    `key` is the stitch key the rows were grouped by; when omitted it is read from the rows'
    STITCH_KEY column (empty when they carry none: the id then rests on the first line's id).
    """
    if not fragments:
        raise ValueError("stitch_message needs at least one fragment")
    ordered = order_fragments(fragments)
    key = key if key is not None else (stitch_key_of(ordered[0]) or "")
    merged = merge_fragments(ordered, key)
    finish = FINISHERS.get(merged.get("event.module") or "")
    return finish(merged, ordered) if finish else merged


# ---------------------------------------------------------------------------------------------
# Mail messages
# ---------------------------------------------------------------------------------------------

FAILED_STATUSES = frozenset({"bounced", "rejected", "expired", "undeliverable"})
DELIVERED_STATUSES = frozenset({"sent"})


def mail_outcome(statuses: list[str]) -> str:
    """Delivery statuses of a message -> event.outcome.

    "failure" when any attempt bounced, was rejected, expired or was undeliverable (a message
    that reached some recipients but not all counts as failed), else "success" when any
    attempt was sent, else "unknown" (only deferrals, or no delivery seen yet).
    """
    if any(s in FAILED_STATUSES for s in statuses):
        return "failure"
    if any(s in DELIVERED_STATUSES for s in statuses):
        return "success"
    return "unknown"


def relay_is_internal(relay: str) -> bool | None:
    """A next hop -> True when it stays inside, False when it leaves, None when unknown.

    'host[ip]:port' is inside when ip is internal (mail.is_internal_ip); 'host[socket]'
    (LMTP over a unix socket) and transport names (local, virtual, dovecot, Exim's
    local_delivery) are inside; 'none' (no hop reached) is unknown.
    """
    if not relay or relay == "none":
        return None
    if "[" in relay:
        inner = relay.partition("[")[2].partition("]")[0]
        return is_internal_ip(inner) or not any(c in inner for c in ".:")
    return True


def mail_direction(origin: str | None, relays: list[str]) -> str:
    """email.direction of a message from its origin hint (see mail.py) and its next hops.

    "inbound" stays inbound; "outbound" becomes "internal" when the message had deliveries and
    none of them left (relay_is_internal); no origin seen -> "unknown".
    """
    if origin != "outbound":
        return origin or "unknown"
    hops = [h for h in (relay_is_internal(r) for r in relays) if h is not None]
    return "internal" if hops and all(hops) else "outbound"


def mail_summary(row: Mapping[str, Any]) -> str:
    """A one-line human summary of a stitched message."""
    senders = ", ".join(row.get("email.from.address") or []) or "<>"
    recipients = ", ".join(row.get("email.to.address") or []) or "?"
    statuses = ", ".join(row.get("vigie.mail.status") or []) or "no delivery seen"
    return f"message {row.get('email.local_id') or '?'} from {senders} to {recipients}: {statuses}"


def finish_mail_message(merged: Row, ordered: list[Row]) -> Row:
    """Mail rules on a merged message: action "message", outcome, reason, direction, summary.

    event.reason: when the message failed, the reply of its first failed attempt (else the
    generic first non-null reason).
    """
    statuses = merged.get("vigie.mail.status") or []
    merged["event.action"] = "message"
    merged["event.outcome"] = mail_outcome(statuses)
    if merged["event.outcome"] == "failure":
        failed = next((row for row in ordered
                       if FAILED_STATUSES.intersection(row.get("vigie.mail.status") or [])), None)
        if failed is not None and failed.get("event.reason"):
            merged["event.reason"] = failed["event.reason"]
    merged["email.direction"] = mail_direction(merged.get("email.direction"),
                                               merged.get("vigie.mail.relay") or [])
    merged["message"] = mail_summary(merged)
    return merged


FINISHERS: dict[str, Callable[[Row, list[Row]], Row]] = {"mail": finish_mail_message}
