"""Webhook handoff against a real HTTP server on 127.0.0.1 that verifies the HMAC signature."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from handoff_receivers import HOST, WebhookReceiver, free_port
from incident_helpers import CAMPAIGN_ID, WEB_ID, both, load
from pipelines.sinks.delivery import RetryPolicy
from pipelines.sinks.handoff.deadletters import read_delivery_dead_letters
from pipelines.sinks.handoff.run import deliver_incidents, render_for_handoff
from pipelines.sinks.handoff.webhook import WebhookDestination, body_of, signature, verify

SECRET = b"webhook-secret-7f3a9c-do-not-print"
FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05, budget_seconds=5)


@pytest.fixture
def receiver():
    r = WebhookReceiver(SECRET).start()
    yield r
    r.stop()


def test_signature_is_hmac_sha256_of_the_exact_body():
    item = render_for_handoff(load("web-attack"), "en")
    body = body_of(item)
    assert verify(SECRET, body, signature(SECRET, body))
    assert not verify(SECRET, body + b" ", signature(SECRET, body))
    assert not verify(b"other", body, signature(SECRET, body))
    decoded = json.loads(body)
    assert decoded["idempotency_key"] == f"{WEB_ID}:1" and decoded["incident"] == load("web-attack")
    assert body_of(render_for_handoff(load("web-attack"), "fr")) == body   # same bytes on every re-send


def test_every_incident_exactly_once_across_two_sends(receiver: WebhookReceiver, tmp_path: Path):
    dest = WebhookDestination(f"{receiver.url}/hooks/vigie?token=ignored-in-keys", SECRET, timeout=5)
    first = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    second = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    assert sorted(receiver.keys()) == [f"{CAMPAIGN_ID}:3", f"{WEB_ID}:1"]
    assert receiver.rejected == 0
    assert first.delivered[dest.key] == 2 and second.delivered[dest.key] == 0 and second.skipped[dest.key] == 2
    assert dest.key == f"webhook {receiver.url}/hooks/vigie"          # no query string in the ledger
    headers = receiver.received[0]["headers"]
    assert headers["X-Vigie-Signature"].startswith("sha256=") and headers["X-Vigie-Incident-Id"] in (CAMPAIGN_ID, WEB_ID)
    # a new revision of one incident is delivered, the other is not sent again
    grown = load("web-attack")
    grown["incident.revision"], grown["incident.status"] = 2, "updated"
    third = deliver_incidents(both() + [grown], tmp_path, [dest], policy=FAST)
    assert third.delivered[dest.key] == 1 and receiver.keys().count(f"{WEB_ID}:2") == 1


def test_receiver_failing_with_500_then_recovering_loses_nothing(receiver: WebhookReceiver, tmp_path: Path):
    dest = WebhookDestination(receiver.url, SECRET, timeout=5)
    receiver.fail_status = 500
    failed = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    assert failed.dead_lettered[dest.key] == 2 and receiver.received == []
    assert failed.retries[dest.key] >= 2 and receiver.requests >= 4
    dead = read_delivery_dead_letters(tmp_path)
    assert sorted(r["incident.id"] for _, r in dead) == [CAMPAIGN_ID, WEB_ID]
    # the fallback folder has them meanwhile
    outbox = tmp_path / "incidents" / "outbox"
    assert (outbox / f"{CAMPAIGN_ID}.r3.fr.html").is_file() and len((outbox / "incidents.jsonl").read_text().splitlines()) == 2
    receiver.fail_status = None
    # re-send from the dead letters alone (no incidents.jsonl given): nothing lost, nothing twice
    again = deliver_incidents([], tmp_path, [dest], policy=FAST)
    assert again.redelivered[dest.key] == 2 and sorted(receiver.keys()) == [f"{CAMPAIGN_ID}:3", f"{WEB_ID}:1"]
    third = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    assert third.delivered[dest.key] == 0 and len(receiver.received) == 2


def test_connection_refused_then_recovering_loses_nothing(tmp_path: Path):
    receiver = WebhookReceiver(SECRET)               # its port is chosen, nothing listens yet
    dest = WebhookDestination(receiver.url, SECRET, timeout=2)
    down = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    assert down.dead_lettered[dest.key] == 2
    assert read_dead_reasons(tmp_path)[0] == ("webhook: connection refused", read_dead_reasons(tmp_path)[0][1])
    receiver.start()
    try:
        up = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
        assert up.delivered[dest.key] == 2 and sorted(receiver.keys()) == [f"{CAMPAIGN_ID}:3", f"{WEB_ID}:1"]
    finally:
        receiver.stop()


def test_wrong_secret_is_refused_by_the_receiver_and_dead_lettered_without_retry(receiver, tmp_path: Path):
    dest = WebhookDestination(receiver.url, b"not-the-receiver-secret", timeout=5)
    result = deliver_incidents([load("web-attack")], tmp_path, [dest], policy=FAST)
    assert result.dead_lettered[dest.key] == 1 and receiver.rejected == 1 and result.retries[dest.key] == 0
    reason, detail = read_dead_reasons(tmp_path)[0]
    assert reason == "webhook: HTTP 401" and "not retryable" in detail and "bad signature" in detail


def read_dead_reasons(out_dir: Path) -> list[tuple[str, str]]:
    import pyarrow.parquet as pq
    rows = []
    for path in sorted((out_dir / "deadletter").glob("deliver-*.parquet")):
        table = pq.read_table(path, columns=["reason", "detail"])
        rows += list(zip(table["reason"].to_pylist(), table["detail"].to_pylist()))
    return rows


def test_check_says_when_the_receiver_is_not_listening():
    from pipelines.errors import VigieError
    dest = WebhookDestination(f"http://{HOST}:{free_port()}/hook", SECRET, timeout=2)
    with pytest.raises(VigieError, match="is unreachable"):
        dest.check()
