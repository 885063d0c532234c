"""The mail rules of a stitched message, column-wise: action, outcome, reason, direction, summary.

In: the generic merge of mail sessions (merge.merge_sessions) and their ordered fragments. Out:
the columns the mail rules set (event.action "message", event.outcome, event.reason,
email.direction, message). The rules, per message, are those of the scalar helpers below
(mail_outcome, relay_is_internal, mail_direction, mail_summary), which say what each means;
`finish_mail` applies them to every message at once (Python runs once per distinct relay).
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.mail import is_internal_ip
from pipelines.parsing.stitch.merge import Ordered

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


@functools.lru_cache(maxsize=1 << 16)
def relay_is_internal(relay: str | None) -> bool | None:
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


def _count_per_owner(owner: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
    return np.bincount(owner[mask], minlength=count)


def _items(lists: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The items of a list column and the row each belongs to."""
    return pc.list_flatten(lists), np.asarray(pc.list_parent_indices(lists), dtype=np.int64)


def _is_in(values: pa.Array, allowed: frozenset[str]) -> np.ndarray:
    return np.asarray(pc.is_in(values, value_set=pa.array(sorted(allowed), pa.string()))
                      .fill_null(False), dtype=bool)


def _outcomes(statuses: pa.Array, count: int) -> tuple[pa.Array, np.ndarray]:
    """event.outcome per message (mail_outcome) and whether it failed."""
    items, owner = _items(statuses)
    failed = _count_per_owner(owner, _is_in(items, FAILED_STATUSES), count) > 0
    sent = _count_per_owner(owner, _is_in(items, DELIVERED_STATUSES), count) > 0
    return pa.array(np.where(failed, "failure", np.where(sent, "success", "unknown")), pa.string()), failed


def _failure_reasons(ordered: Ordered) -> pa.Array:
    """Per message, the event.reason of its first fragment whose own statuses include a
    failure (null when there is none, or when that reason is null or empty)."""
    items, row = _items(ordered.column("vigie.mail.status"))
    n, given = ordered.size, ordered.given("event.reason")
    if given is None:
        return pa.nulls(ordered.count, pa.string())
    row_failed = np.bincount(row[_is_in(items, FAILED_STATUSES)], minlength=n) > 0
    first = np.minimum.reduceat(np.where(row_failed, np.arange(n), n), ordered.starts)
    found = first < n
    reasons = given.take(pa.array(ordered.order[np.where(found, first, 0)], mask=~found))
    return pc.if_else(pc.equal(reasons, "").fill_null(True), pa.scalar(None, pa.string()), reasons)


def _directions(origins: pa.Array, relays: pa.Array, count: int) -> pa.Array:
    """email.direction per message (mail_direction)."""
    items, owner = _items(relays)
    encoded = items.dictionary_encode(null_encoding="encode")
    hop = np.array([{True: 1, False: 0, None: -1}[relay_is_internal(r)]
                    for r in encoded.dictionary.to_pylist()] or [-1], dtype=np.int8)
    per_item = hop[np.asarray(encoded.indices, dtype=np.int64)] if len(items) else hop[:0]
    known = _count_per_owner(owner, per_item >= 0, count)
    inside = _count_per_owner(owner, per_item == 1, count)
    stays = pa.array(np.where((known > 0) & (known == inside), "internal", "outbound"), pa.string())
    stated = pc.if_else(pc.equal(origins, "").fill_null(True), "unknown", origins)
    return pc.if_else(pc.equal(origins, "outbound").fill_null(False), stays, stated)


def _joined(lists: pa.Array, empty: str) -> pa.Array:
    """Each list's items joined with ', ' (`empty` for a null or empty list)."""
    text = pc.binary_join(lists, ", ")
    return pc.if_else(pc.equal(text, "").fill_null(True), empty, text)


def _summaries(merged: pa.Table) -> pa.Array:
    """message per stitched message (mail_summary)."""
    local = merged.column("email.local_id").combine_chunks()
    local = pc.if_else(pc.equal(local, "").fill_null(True), "?", local)
    parts = [pa.scalar("message "), local, pa.scalar(" from "),
             _joined(merged.column("email.from.address").combine_chunks(), "<>"), pa.scalar(" to "),
             _joined(merged.column("email.to.address").combine_chunks(), "?"), pa.scalar(": "),
             _joined(merged.column("vigie.mail.status").combine_chunks(), "no delivery seen")]
    return pc.binary_join_element_wise(*parts, "")


def finish_mail(merged: pa.Table, ordered: Ordered) -> dict[str, pa.Array]:
    """Mail rules on merged messages -> the columns they set (one value per message).

    event.reason: when the message failed, the reply of its first failed attempt (else the
    generic first non-null reason).
    """
    count = merged.num_rows
    outcome, failed = _outcomes(merged.column("vigie.mail.status").combine_chunks(), count)
    reason = merged.column("event.reason").combine_chunks()
    if failed.any():
        reason = pc.if_else(pa.array(failed), pc.coalesce(_failure_reasons(ordered), reason), reason)
    direction = _directions(merged.column("email.direction").combine_chunks(),
                            merged.column("vigie.mail.relay").combine_chunks(), count)
    return {"event.action": pa.array(np.full(count, "message"), pa.string()),
            "event.outcome": outcome, "event.reason": reason, "email.direction": direction,
            "message": _summaries(merged)}
