"""What every handoff destination shares: the rendered incident it delivers and its interface.

In: an incident record and its reports rendered in the handoff language. Out: `Rendered`, the
one object each destination turns into its own request; `Destination`, the interface `run`
drives (check at start, deliver); `scrub`, which removes secrets from any text before it is
printed or stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol

import orjson


@dataclass(frozen=True)
class Rendered:
    """One incident ready to hand off: the record, its id and revision, and its reports."""

    record: dict
    incident_id: str
    revision: int
    lang: str
    title: str          # localised title (attacker text inside: destinations neutralise it)
    html: str           # the HTML report
    markdown: str       # the Markdown report

    @property
    def idempotency_key(self) -> str:
        """incident.id + revision: the same for every re-send of this revision."""
        return f"{self.incident_id}:{self.revision}"

    def record_json(self) -> bytes:
        """The record as canonical JSON (sorted keys), the payload of dead letters."""
        return orjson.dumps(self.record, option=orjson.OPT_SORT_KEYS)


class Destination(Protocol):
    """A place incidents are handed off to."""

    kind: str   # "webhook", "thehive", "smtp" or "files"
    key: str    # stable name (kind + where, never a secret) used by the ledger and dead letters

    def check(self) -> None:
        """Raise VigieError when the destination cannot be reached or refuses us (run at start)."""

    def deliver(self, item: Rendered) -> str:
        """Deliver `item`; return a short detail for the ledger; raise DeliveryError on failure."""

    def secrets(self) -> Iterable[str]:
        """The secret values this destination holds (to scrub them from every message)."""


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by ***."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
