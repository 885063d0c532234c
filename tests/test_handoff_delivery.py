"""Retry budget, ledger and dead-letter rows: the parts every destination shares."""
from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq

from incident_helpers import CAMPAIGN_ID, load
from pipelines.schema import dead_letter_schema
from pipelines.sinks.delivery import DeliveryError, RetryBudget, RetryPolicy
from pipelines.sinks.handoff.deadletters import (Undelivered, read_delivery_dead_letters,
                                                  write_delivery_dead_letters)
from pipelines.sinks.handoff.ledger import Ledger


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _failing(times: int, transient: bool = True):
    calls = {"n": 0}

    def call():
        calls["n"] += 1
        if calls["n"] <= times:
            raise DeliveryError(f"failure {calls['n']}", transient=transient)
        return "ok"
    return call, calls


def test_exponential_backoff_until_success():
    clock = FakeClock()
    budget = RetryBudget(RetryPolicy(attempts=5, first_delay=1, max_delay=30, budget_seconds=600), clock, clock.sleep)
    call, calls = _failing(3)
    attempt = budget.run(call)
    assert attempt.ok and attempt.value == "ok" and attempt.tries == 4
    assert clock.sleeps == [1, 2, 4] and budget.failing_since is None and budget.retries == 3


def test_permanent_error_is_not_retried():
    clock = FakeClock()
    budget = RetryBudget(RetryPolicy(), clock, clock.sleep)
    call, calls = _failing(9, transient=False)
    attempt = budget.run(call)
    assert not attempt.ok and attempt.tries == 1 and not attempt.transient and clock.sleeps == []


def test_attempts_cap_and_delay_cap():
    clock = FakeClock()
    budget = RetryBudget(RetryPolicy(attempts=6, first_delay=10, max_delay=25, budget_seconds=10_000), clock, clock.sleep)
    attempt = budget.run(_failing(99)[0])
    assert not attempt.ok and attempt.tries == 6 and clock.sleeps == [10, 20, 25, 25, 25]
    assert attempt.error == "failure 6"


def test_budget_spent_means_one_try_each_until_the_destination_answers():
    clock = FakeClock()
    budget = RetryBudget(RetryPolicy(attempts=10, first_delay=4, max_delay=4, budget_seconds=10), clock, clock.sleep)
    first = budget.run(_failing(99)[0])
    assert not first.ok and sum(clock.sleeps) == 10  # never sleeps past the budget
    assert budget.exhausted
    second_call, calls = _failing(99)
    assert not budget.run(second_call).ok and calls["n"] == 1      # one try, no waiting
    assert budget.run(lambda: "back").ok and not budget.exhausted   # a success re-arms it
    third_call, calls = _failing(1)
    assert budget.run(third_call).ok and calls["n"] == 2


def test_ledger_counts_a_revision_or_a_later_one_and_survives_a_torn_line(tmp_path: Path):
    path = tmp_path / "incidents" / "delivered.jsonl"
    ledger = Ledger(path)
    assert not ledger.delivered("webhook x", CAMPAIGN_ID, 1)
    ledger.record("webhook x", CAMPAIGN_ID, 2, "HTTP 202")
    with path.open("ab") as fh:
        fh.write(b'{"destination": "webhook x", "incident.id": "inc-torn"')   # crash mid-line
    again = Ledger(path)
    assert again.delivered("webhook x", CAMPAIGN_ID, 1) and again.delivered("webhook x", CAMPAIGN_ID, 2)
    assert not again.delivered("webhook x", CAMPAIGN_ID, 3) and not again.delivered("smtp y", CAMPAIGN_ID, 1)
    assert not again.delivered("webhook x", "inc-torn", 1)


def test_dead_letter_rows_fit_the_project_table_and_come_back(tmp_path: Path):
    record = load("campaign")
    row = Undelivered("webhook", "webhook http://127.0.0.1:9/hook", CAMPAIGN_ID, 3, "HTTP 500",
                      "webhook http://127.0.0.1:9/hook: HTTP 500 oops (after 5 tries)", orjson.dumps(record))
    path = write_delivery_dead_letters([row], tmp_path)
    table = pq.read_table(path)
    assert table.schema.equals(dead_letter_schema())
    got = table.to_pylist()[0]
    assert got["stage"] == "deliver" and got["family"] == "incident" and got["format"] == "webhook"
    assert got["reason"] == "webhook: HTTP 500" and got["detail"].endswith("(after 5 tries)")
    assert got["id"] == f"{CAMPAIGN_ID}:3" and got["origin.kind"] == "delivery"
    assert got["origin.path"] == f"webhook http://127.0.0.1:9/hook/{CAMPAIGN_ID}"
    assert got["lines"] == 0 and got["written_at"] is not None and orjson.loads(got["raw"]) == record
    assert read_delivery_dead_letters(tmp_path) == [("webhook http://127.0.0.1:9/hook", record)]
    assert write_delivery_dead_letters([], tmp_path) is None


def test_other_stages_in_the_dead_letter_folder_are_left_alone(tmp_path: Path):
    from pipelines.model import FILE, dead_letters
    from pipelines.sinks.parquet import write_dead_letters
    write_dead_letters(dead_letters(1, stage="parse", reason="bad line", raw=b"x", origin_kind=FILE,
                                    origin_path="/srv/x.log", origin_offset=0), str(tmp_path), "parse-0")
    assert read_delivery_dead_letters(tmp_path) == []
