"""`vigie incidents render|send DIR` end to end: three real receivers on 127.0.0.1 (webhook, the
TheHive stand-in, aiosmtpd with STARTTLS + AUTH) and a folder; two sends, failures and recovery,
secrets that never show, and one-line errors for bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from handoff_receivers import SmtpReceiver, TheHiveStandIn, WebhookReceiver, free_port, self_signed_certificate
from incident_helpers import CAMPAIGN_ID, WEB_ID, load
from pipelines.commands.incidents import main
from pipelines.errors import VigieError

WEBHOOK_SECRET = "whsec-0b6e2d94-crisis-only"
THEHIVE_KEY = "hive-apikey-7c1f08aa3e"
SMTP_PASSWORD = "smtp-pw-44e9b1c7"
SECRETS = (WEBHOOK_SECRET, THEHIVE_KEY, SMTP_PASSWORD)


def _run_dir(tmp_path: Path) -> Path:
    """A replay output folder whose incidents.jsonl holds two revisions of the campaign."""
    out = tmp_path / "run"
    (out / "incidents").mkdir(parents=True)
    early = load("campaign")
    early["incident.revision"], early["incident.status"], early["incident.severity"] = 1, "new", 3
    lines = [early, load("web-attack"), load("campaign")]
    (out / "incidents" / "incidents.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return out


@pytest.fixture
def receivers(tmp_path: Path):
    cert, key = self_signed_certificate(tmp_path)
    hook = WebhookReceiver(WEBHOOK_SECRET.encode()).start()
    hive = TheHiveStandIn(THEHIVE_KEY).start()
    mail = SmtpReceiver((cert, key), login="vigie", password=SMTP_PASSWORD).start()
    yield hook, hive, mail, cert
    hook.stop()
    hive.stop()
    mail.stop()


def _flags(tmp_path: Path, hook, hive, mail, cert) -> list[str]:
    (tmp_path / "webhook.secret").write_text(WEBHOOK_SECRET + "\n")
    (tmp_path / "thehive.key").write_text(THEHIVE_KEY)
    return ["--webhook-url", f"{hook.url}/vigie", "--webhook-secret-file", str(tmp_path / "webhook.secret"),
            "--thehive-url", hive.url, "--thehive-api-key-file", str(tmp_path / "thehive.key"),
            "--smtp-url", mail.url, "--smtp-starttls", "--smtp-user", "vigie", "--handoff-ca-file", str(cert),
            "--mail-from", "vigie@chu-exemple.fr", "--mail-to", "cellule-crise@chu-exemple.fr,rssi@chu-exemple.fr",
            "--files-dir", str(tmp_path / "usb"), "--handoff-retry-first-delay", "0.01", "--handoff-retry-attempts", "3",
            "--handoff-timeout", "5"]


def _all_bytes(*folders: Path) -> bytes:
    return b"".join(p.read_bytes() for folder in folders if folder.exists()
                    for p in sorted(folder.rglob("*")) if p.is_file())


def test_send_twice_delivers_each_incident_once_everywhere(receivers, tmp_path: Path, monkeypatch, capsys):
    hook, hive, mail, cert = receivers
    monkeypatch.setenv("VIGIE_SMTP_PASSWORD", SMTP_PASSWORD)
    out = _run_dir(tmp_path)
    flags = _flags(tmp_path, hook, hive, mail, cert)
    assert main(["send", str(out), *flags]) == 0
    assert main(["send", str(out), *flags, "--lang", "en"]) == 0
    captured = capsys.readouterr()
    # the latest revision of each incident, once per receiver
    assert sorted(hook.keys()) == [f"{CAMPAIGN_ID}:3", f"{WEB_ID}:1"]
    assert sorted(hive.by_source_ref()) == [CAMPAIGN_ID, WEB_ID] and hive.creates == 2 and hive.updates == 0
    assert sorted(m["X-Vigie-Incident-Id"] for m in mail.messages) == [CAMPAIGN_ID, WEB_ID]
    assert {m["X-Vigie-Revision"] for m in mail.messages if m["X-Vigie-Incident-Id"] == CAMPAIGN_ID} == {"3"}
    usb = (tmp_path / "usb" / "incidents.jsonl").read_text().splitlines()
    assert sorted((json.loads(x)["incident.id"], json.loads(x)["incident.revision"]) for x in usb) == \
        [(CAMPAIGN_ID, 3), (WEB_ID, 1)]
    ledger = (out / "incidents" / "delivered.jsonl").read_text().splitlines()
    assert len(ledger) == 8
    assert "2 delivered, 0 already delivered, 0 dead-lettered" in captured.out
    assert "0 delivered, 2 already delivered, 0 dead-lettered" in captured.out
    assert not list(out.glob("deadletter/*.parquet"))
    # secrets: nowhere in what Vigie printed, wrote, or sent as payload
    payloads = b"".join(r["body"] for r in hook.received) + json.dumps(list(hive.alerts.values())).encode() + \
        b"".join(m.as_bytes() for m in mail.messages)
    written = _all_bytes(out, tmp_path / "usb")
    for secret in SECRETS:
        assert secret not in captured.out and secret not in captured.err
        assert secret.encode() not in written and secret.encode() not in payloads


def test_a_failing_receiver_recovers_and_nothing_is_lost(receivers, tmp_path: Path, monkeypatch, capsys):
    hook, hive, mail, cert = receivers
    monkeypatch.setenv("VIGIE_SMTP_PASSWORD", SMTP_PASSWORD)
    out = _run_dir(tmp_path)
    flags = _flags(tmp_path, hook, hive, mail, cert)
    hook.fail_status = 500
    mail.fail_code = "451 4.3.0 Try again later"
    assert main(["send", str(out), *flags]) == 1          # something was dead-lettered
    first = capsys.readouterr()
    assert hook.received == [] and mail.messages == [] and len(hive.alerts) == 2
    assert "dead letters:" in first.out and "HTTP 500" in first.err and "451" in first.err
    assert (out / "incidents" / "outbox" / "incidents.jsonl").is_file()
    hook.fail_status, mail.fail_code = None, None
    assert main(["send", str(out), *flags]) == 0
    second = capsys.readouterr()
    assert f"webhook {hook.url}/vigie: 2 delivered (2 from dead letters)" in second.out
    assert f"to=cellule-crise@chu-exemple.fr,rssi@chu-exemple.fr: 2 delivered (2 from dead letters)" in second.out
    assert sorted(hook.keys()) == [f"{CAMPAIGN_ID}:3", f"{WEB_ID}:1"]
    assert sorted(m["X-Vigie-Incident-Id"] for m in mail.messages) == [CAMPAIGN_ID, WEB_ID]
    assert hive.creates == 2 and hive.updates == 0
    assert main(["send", str(out), *flags]) == 0
    assert len(hook.received) == 2 and len(mail.messages) == 2
    dead = _all_bytes(out / "deadletter")
    for secret in SECRETS:
        assert secret.encode() not in dead
        assert secret not in first.out + first.err + second.out + second.err


def test_unreachable_receiver_at_start_is_a_one_line_error_and_nothing_is_sent(receivers, tmp_path, monkeypatch):
    hook, hive, mail, cert = receivers
    monkeypatch.setenv("VIGIE_SMTP_PASSWORD", SMTP_PASSWORD)
    out = _run_dir(tmp_path)
    flags = _flags(tmp_path, hook, hive, mail, cert)
    flags[flags.index("--smtp-url") + 1] = f"smtp://127.0.0.1:{free_port()}"
    with pytest.raises(VigieError, match=r"SMTP 127\.0\.0\.1:\d+ is unreachable") as caught:
        main(["send", str(out), *flags])
    assert "\n" not in str(caught.value)
    assert hook.received == [] and not hive.alerts and not (out / "incidents" / "delivered.jsonl").exists()


def test_render_command(tmp_path: Path, capsys):
    out = _run_dir(tmp_path)
    assert main(["render", str(out), "--lang", "en"]) == 0
    assert "2 incident(s)" in capsys.readouterr().out
    assert (out / "incidents" / f"{CAMPAIGN_ID}.en.html").is_file()
    assert not (out / "incidents" / f"{CAMPAIGN_ID}.fr.html").exists()
    assert main(["render", str(out)]) == 0
    assert (out / "incidents" / f"{CAMPAIGN_ID}.fr.md").is_file()
    page = (out / "incidents" / f"{CAMPAIGN_ID}.fr.html").read_text()
    assert 'content="3"' in page   # the latest revision


def test_send_without_destination_writes_the_outbox(tmp_path: Path, capsys):
    out = _run_dir(tmp_path)
    assert main(["send", str(out)]) == 0
    assert len((out / "incidents" / "outbox" / "incidents.jsonl").read_text().splitlines()) == 2
    assert main(["send", str(out)]) == 0
    assert len((out / "incidents" / "outbox" / "incidents.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize("argv, message", [
    (["render", "/nonexistent/run"], "is not a folder"),
    (["send", "/nonexistent/run"], "is not a folder"),
    (["render", "{tmp}"], "no incidents/incidents.jsonl"),
    (["send", "{tmp}"], "nothing to send"),
    (["send", "{run}", "--webhook-secret", "hunter2"], "unrecognized arguments: --webhook-secret \\("),
    (["send", "{run}", "--webhook-url", "http://127.0.0.1:9/h"], "needs a signing secret"),
    (["send", "{run}", "--webhook-url", "http://user:hunter2@127.0.0.1:9/h"], "must not carry credentials"),
    (["send", "{run}", "--smtp-url", "smtp://127.0.0.1:25"], "needs --mail-from"),
    (["send", "{run}", "--smtp-url", "smtp://127.0.0.1:25", "--mail-from", "a@b.fr"], "at least one --mail-to"),
    (["send", "{run}", "--mail-to", "a@b.fr"], "need --smtp-url"),
    (["send", "{run}", "--thehive-url", "ftp://x"], "must look like http"),
    (["send", "{run}", "--thehive-url", "http://127.0.0.1:9"], "needs an API key"),
    (["send", "{run}", "--lang", "de"], "invalid choice: 'de'"),
    (["render", "{run}", "--tz", "Mars/Olympus"], "unknown timezone"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_a_one_line_vigie_error(tmp_path: Path, argv, message, monkeypatch):
    monkeypatch.delenv("VIGIE_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("VIGIE_THEHIVE_API_KEY", raising=False)
    run = _run_dir(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{run}", str(run)) for a in argv]
    with pytest.raises(VigieError, match=message) as caught:
        main(argv)
    assert "\n" not in str(caught.value) and "hunter2" not in str(caught.value)


def test_thehive_key_refused_at_start_names_no_secret(receivers, tmp_path: Path, monkeypatch):
    hook, hive, mail, cert = receivers
    monkeypatch.setenv("VIGIE_THEHIVE_API_KEY", "a-wrong-key-12345")
    with pytest.raises(VigieError, match="refused the API key") as caught:
        main(["send", str(_run_dir(tmp_path)), "--thehive-url", hive.url])
    assert "a-wrong-key-12345" not in str(caught.value)
