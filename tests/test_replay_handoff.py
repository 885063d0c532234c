"""The replay's incident sink: every incident reaches a webhook, a TheHive-format receiver and an
SMTP server on loopback exactly once across two replays of the same case (the delivery ledger
follows the output folder), and a receiver that fails then recovers loses nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from handoff_receivers import SmtpReceiver, TheHiveStandIn, WebhookReceiver
from pipelines.cli import main
from pipelines.scenario.chu import generate_chu

SECRET, HIVE_KEY = "replay-hook-secret", "replay-hive-key"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("chu")
    generate_chu(folder, events=6000, seed=3)
    return folder


def replay_with(scenario: Path, out: Path, tmp_path: Path, hook, hive, mail) -> tuple[int, dict]:
    (tmp_path / "hook.secret").write_text(SECRET)
    (tmp_path / "hive.key").write_text(HIVE_KEY)
    code = main(["replay", str(scenario), "--out", str(out), "--timezone", "Europe/Paris",
                 "--inventory", str(scenario / "inventory.yml"),
                 "--webhook-url", f"{hook.url}/vigie", "--webhook-secret-file", str(tmp_path / "hook.secret"),
                 "--thehive-url", hive.url, "--thehive-api-key-file", str(tmp_path / "hive.key"),
                 "--smtp-url", mail.url, "--mail-from", "vigie@chu-exemple.fr",
                 "--mail-to", "cellule-crise@chu-exemple.fr",
                 "--handoff-retry-first-delay", "0.01", "--handoff-retry-attempts", "2",
                 "--handoff-retry-seconds", "1", "--handoff-timeout", "5"])
    return code, json.loads((out / "summary.json").read_text())


def test_two_replays_deliver_each_incident_once_and_a_failing_receiver_loses_nothing(scenario, tmp_path):
    hook = WebhookReceiver(SECRET.encode()).start()
    hive = TheHiveStandIn(HIVE_KEY).start()
    mail = SmtpReceiver().start()
    try:
        out = tmp_path / "case"
        hook.fail_status = 500  # the webhook fails during the first replay
        code, summary = replay_with(scenario, out, tmp_path, hook, hive, mail)
        live = [item["id"] for item in summary["incidents"]["list"]]
        assert live and code == 3 and summary["incidents"]["handoff"]["dead_lettered"] == len(live)
        assert sorted(hive.by_source_ref()) == sorted(live)
        hook.fail_status = None  # and is back for the second
        code, summary = replay_with(scenario, out, tmp_path, hook, hive, mail)  # the same case again
        assert code == 0
        assert assert_once(hook.keys(), live) and hive.creates == len(live)
        assert sorted(m["X-Vigie-Incident-Id"] for m in mail.messages) == sorted(live)
    finally:
        hook.stop()
        hive.stop()
        mail.stop()


def assert_once(keys: list[str], live: list[str]) -> bool:
    return sorted(k.split(":")[0] for k in keys) == sorted(live)
