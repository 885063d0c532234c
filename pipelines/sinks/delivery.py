"""Retry with exponential backoff within a budget, for any sink that talks to a remote receiver.

In: a call that either returns or raises DeliveryError (transient: worth retrying; permanent:
not), a RetryPolicy, and per destination a RetryBudget that remembers since when the
destination has been failing. Out: an Attempt (delivered or not, how many tries, the last
error). A destination that has failed for longer than `budget_seconds` without one success gets
a single try per item until it answers again, so a dead receiver costs one budget, not one per
incident. What finally fails is the caller's to dead-letter: nothing is dropped here.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class DeliveryError(Exception):
    """A delivery that did not happen. `transient` errors (connection refused, timeout, HTTP
    5xx/429, SMTP 4xx) are retried; permanent ones (refused credentials, HTTP 4xx, SMTP 5xx) are
    not. `cause` is a short wording shared by every failure of that kind ("HTTP 500"), for
    grouping; the message must already be free of secrets."""

    def __init__(self, message: str, transient: bool = True, cause: str | None = None):
        super().__init__(message)
        self.transient = transient
        self.cause = cause or message


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` per item, delays `first_delay` * 2^n capped at `max_delay`,
    and at most `budget_seconds` of failing per destination before single tries."""

    attempts: int = 5
    first_delay: float = 1.0
    max_delay: float = 30.0
    budget_seconds: float = 120.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number `attempt` (1-based)."""
        return min(self.max_delay, self.first_delay * (2 ** (attempt - 1)))


@dataclass
class Attempt(Generic[T]):
    """The outcome of delivering one item: `ok`, the call's `value`, `tries`, and the last error."""

    ok: bool
    tries: int
    value: T | None = None
    error: str = ""
    cause: str = ""
    transient: bool = False


@dataclass
class RetryBudget:
    """The retry state of one destination (see the module docstring)."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    failing_since: float | None = None
    retries: int = 0

    @property
    def exhausted(self) -> bool:
        """True while the destination has been failing for longer than the budget."""
        return (self.failing_since is not None
                and self.clock() - self.failing_since >= self.policy.budget_seconds)

    def run(self, call: Callable[[], T]) -> Attempt[T]:
        """Call until it succeeds, fails permanently, runs out of tries or the budget runs out."""
        tries = 0
        while True:
            tries += 1
            try:
                value = call()
            except DeliveryError as exc:
                now = self.clock()
                if self.failing_since is None:
                    self.failing_since = now
                left = self.failing_since + self.policy.budget_seconds - now
                if not exc.transient or tries >= self.policy.attempts or left <= 0:
                    return Attempt(False, tries, error=str(exc), cause=exc.cause, transient=exc.transient)
                self.retries += 1
                self.sleep(max(0.0, min(self.policy.delay(tries), left)))
                continue
            self.failing_since = None
            return Attempt(True, tries, value=value)
