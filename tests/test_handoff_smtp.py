"""E-mail handoff against a real SMTP server (aiosmtpd) on 127.0.0.1: plain, and STARTTLS with a
self-signed certificate made by the test plus AUTH."""
from __future__ import annotations

from pathlib import Path

import pytest

from handoff_receivers import SmtpReceiver, self_signed_certificate
from incident_helpers import BIDI, CAMPAIGN_ID, CONTROL, WEB_ID, both, hostile_incident, load
from pipelines.errors import VigieError
from pipelines.sinks.delivery import RetryPolicy
from pipelines.sinks.handoff.run import deliver_incidents, render_for_handoff
from pipelines.sinks.handoff.smtp import SmtpDestination, build_message

PASSWORD = "smtp-pass-91d4b2-secret"
FROM = "vigie@chu-exemple.fr"
TO = ["cellule-crise@chu-exemple.fr", "rssi@chu-exemple.fr"]
FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05, budget_seconds=5)


@pytest.fixture
def plain():
    r = SmtpReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def secure(tmp_path: Path):
    cert, key = self_signed_certificate(tmp_path)
    r = SmtpReceiver((cert, key), login="vigie", password=PASSWORD).start()
    r.ca_file = str(cert)
    yield r
    r.stop()


def _ids(receiver: SmtpReceiver) -> list[str]:
    return sorted(m["X-Vigie-Incident-Id"] for m in receiver.messages)


def test_message_shape():
    item = render_for_handoff(load("campaign"), "fr")
    msg = build_message(item, FROM, TO)
    assert msg["Message-ID"] == f"<{CAMPAIGN_ID}.r3@chu-exemple.fr>"
    assert msg["In-Reply-To"] == f"<{CAMPAIGN_ID}.r2@chu-exemple.fr>"
    assert msg["References"] == f"<{CAMPAIGN_ID}.r1@chu-exemple.fr> <{CAMPAIGN_ID}.r2@chu-exemple.fr>"
    assert msg["Subject"] == "[Vigie] CRITIQUE — Campagne d'attaque — c.bernard, m.durand (+1) (rév. 3)"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text.get_content() == item.markdown and html.get_content() == item.html


def test_hostile_subject_stays_on_one_line():
    record = hostile_incident()
    record["incident.entities"]["accounts"] = [CONTROL, BIDI]      # the subject names the accounts
    msg = build_message(render_for_handoff(record, "en"), FROM, TO)
    headers = msg.as_bytes().split(b"\r\n\r\n", 1)[0]
    assert b"\nInjected: yes" not in headers and headers.count(b"\r\nSubject:") == 1
    subject = str(msg["Subject"])
    assert "\u202e" not in subject and "\x1b" not in subject and "\r" not in subject
    assert "ok⟨U+001B⟩[31mRED" in subject and "⟨U+000D⟩⟨U+000A⟩Injected: yes" in subject and "⟨U+202E⟩" in subject


def test_plain_smtp_each_incident_once_across_two_sends(plain: SmtpReceiver, tmp_path: Path):
    dest = SmtpDestination("127.0.0.1", plain.port, FROM, TO, timeout=5)
    dest.check()
    deliver_incidents(both(), tmp_path, [dest], policy=FAST, lang="en")
    second = deliver_incidents(both(), tmp_path, [dest], policy=FAST, lang="en")
    assert _ids(plain) == [CAMPAIGN_ID, WEB_ID] and second.skipped[dest.key] == 2
    assert all(rcpts == TO and frm == FROM for frm, rcpts in plain.envelopes)
    by_id = {m["X-Vigie-Incident-Id"]: m for m in plain.messages}
    assert by_id[WEB_ID]["Message-ID"] == f"<{WEB_ID}.r1@chu-exemple.fr>"
    assert "Recommended containment" in by_id[WEB_ID].get_body(("plain",)).get_content()


def test_starttls_and_auth(secure: SmtpReceiver, tmp_path: Path):
    dest = SmtpDestination("127.0.0.1", secure.port, FROM, TO, starttls=True, user="vigie", password=PASSWORD,
                           ca_file=secure.ca_file, timeout=5)
    dest.check()
    deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    assert _ids(secure) == [CAMPAIGN_ID, WEB_ID] and secure.auth_failures == 0
    html = secure.messages[0].get_body(("html",)).get_content()
    assert "<svg class=\"timeline\"" in html


def test_starttls_refuses_an_untrusted_certificate_and_a_wrong_password(secure: SmtpReceiver, tmp_path: Path):
    with pytest.raises(VigieError, match="TLS failed"):
        SmtpDestination("127.0.0.1", secure.port, FROM, TO, starttls=True, user="vigie", password=PASSWORD,
                        timeout=5).check()      # no --handoff-ca-file: the self-signed certificate is not trusted
    with pytest.raises(VigieError, match="refused the login of vigie") as caught:
        SmtpDestination("127.0.0.1", secure.port, FROM, TO, starttls=True, user="vigie", password="wrong",
                        ca_file=secure.ca_file, timeout=5).check()
    assert "wrong" not in str(caught.value)
    with pytest.raises(VigieError, match="needs TLS"):
        SmtpDestination("127.0.0.1", secure.port, FROM, TO, user="vigie", password=PASSWORD)


def test_server_answering_451_then_recovering_loses_nothing(plain: SmtpReceiver, tmp_path: Path):
    dest = SmtpDestination("127.0.0.1", plain.port, FROM, TO, timeout=5)
    plain.fail_code = "451 4.3.0 Mail server temporarily rejected message"
    failed = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    assert failed.dead_lettered[dest.key] == 2 and failed.retries[dest.key] >= 2 and not plain.messages
    assert any("451" in line for line in failed.lines)
    plain.fail_code = None
    again = deliver_incidents(both(), tmp_path, [dest], policy=FAST)
    assert again.delivered[dest.key] == 2 and _ids(plain) == [CAMPAIGN_ID, WEB_ID]
    assert deliver_incidents(both(), tmp_path, [dest], policy=FAST).skipped[dest.key] == 2


def test_permanent_550_is_not_retried(plain: SmtpReceiver, tmp_path: Path):
    dest = SmtpDestination("127.0.0.1", plain.port, FROM, TO, timeout=5)
    plain.fail_code = "554 5.7.1 Rejected by policy"
    result = deliver_incidents([load("web-attack")], tmp_path, [dest], policy=FAST)
    assert result.dead_lettered[dest.key] == 1 and result.retries[dest.key] == 0
