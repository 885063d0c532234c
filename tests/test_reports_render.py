"""Incident reports: files per incident and language, index by severity, timeline, deadlines."""
from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from incident_helpers import CAMPAIGN_ID, WEB_ID, both, load
from pipelines.errors import VigieError
from pipelines.reports import i18n
from pipelines.reports.render import (latest_revisions, render_incident_html, render_incident_markdown,
                                      render_reports)
from pipelines.reports.timeline import timeline
from pipelines.reports.view import default_deadlines, file_stem, incident_view

PARIS = ZoneInfo("Europe/Paris")


def test_render_reports_writes_every_language_and_the_index(tmp_path: Path):
    paths = render_reports(both(), tmp_path, ["fr", "en"])
    folder = tmp_path / "incidents"
    names = sorted(p.name for p in paths)
    for incident_id in (CAMPAIGN_ID, WEB_ID):
        for lang in ("fr", "en"):
            assert f"{incident_id}.{lang}.html" in names
            assert f"{incident_id}.{lang}.md" in names
    assert {"index.html", "index.fr.html", "index.en.html"} <= set(names)
    assert all(p.parent == folder and p.stat().st_size > 0 for p in paths)
    # index.html is the first language's index
    assert (folder / "index.html").read_text() == (folder / "index.fr.html").read_text()
    assert not list(folder.glob(".*.tmp"))


def test_french_and_english_pages_say_the_same_things_in_their_own_words(tmp_path: Path):
    render_reports([load("campaign")], tmp_path, ["fr", "en"])
    fr = (tmp_path / "incidents" / f"{CAMPAIGN_ID}.fr.html").read_text()
    en = (tmp_path / "incidents" / f"{CAMPAIGN_ID}.en.html").read_text()
    assert '<html lang="fr">' in fr and '<html lang="en">' in en
    for words in ("Campagne d&#39;attaque", "Mesures de confinement recommandées", "Couper l&#39;accès à distance",
                  "Réinitialiser les comptes compromis", "Bloquer le domaine expéditeur",
                  "NIS2 : alerte précoce", "RGPD", "sans délai", "vendredi 27 novembre 2026 à 19:07",
                  "heure de Paris", "Accès à distance (VPN, télétravail)", "Messagerie"):
        assert words in fr, words
    for words in ("Attack campaign", "Recommended containment", "Cut remote access", "Reset the compromised accounts",
                  "Block the sender domain", "NIS2: early warning", "GDPR", "without delay",
                  "Friday 27 November 2026, 19:07", "Paris time", "Remote access (VPN, telework)"):
        assert words in en, words
    # UTC is shown too, and the links lead to the other language
    assert "2026-11-27 18:07:29 UTC" in fr and "2026-11-27 18:07:29 UTC" in en
    assert f'href="{CAMPAIGN_ID}.en.html"' in fr and f'href="{CAMPAIGN_ID}.fr.html"' in en


def test_page_shows_every_section_of_the_contract():
    html = render_incident_html(load("campaign"), "en", PARIS, ["en"])
    for section in ("summary", "severity", "services", "timeline", "containment", "deadlines",
                    "entities", "attack", "signals", "evidence"):
        assert f'id="{section}"' in html, section
    # severity and why: every score part with its points
    for part, points in (("rule levels", "30.0"), ("correlation results", "25.0"), ("ATT&amp;CK tactics", "15.0"),
                         ("asset criticality", "10.0"), ("accounts", "7.5")):
        assert re.search(rf"<td>{re.escape(part)}</td><td>{points}</td>", html), part
    # evidence: pointers that resolve to the raw line
    record = load("campaign")
    for e in record["incident.evidence"]:
        assert f'data-event-id="{e["event.id"]}"' in html
        assert f"<code>{e['log.offset']}</code>" in html
    assert html.count("/srv/vigie/chu/mail/maillog") >= 7
    # actions keyed by the contract's ids, in the crisis cell's order
    actions = re.findall(r'data-action="([a-z-]+)"', html)
    assert actions == ["disconnect-workstations", "cut-remote-access", "suspend-telework", "reset-accounts",
                       "block-sender-domain", "block-addresses", "quarantine-messages", "preserve-evidence"]
    deadlines = re.findall(r'data-deadline="([a-z0-9-]+)"', html)
    assert deadlines == ["health-serious-incident", "nis2-early-warning", "gdpr-breach", "nis2-notification",
                         "nis2-final-report"]


def test_deadlines_are_shown_in_paris_time_and_utc():
    view = incident_view(load("campaign"), "fr", PARIS)
    due = {d["id"]: d["due"] for d in view["deadlines"]}
    assert due["health-serious-incident"]["local"] == "vendredi 27 novembre 2026 à 19:07"
    assert due["nis2-early-warning"]["local"] == "samedi 28 novembre 2026 à 19:07"
    assert due["nis2-notification"]["utc"] == "2026-11-30 18:07:29 UTC"
    assert due["nis2-final-report"]["local"] == "mercredi 30 décembre 2026 à 19:07"
    # another display timezone is honoured (UTC too)
    utc_view = incident_view(load("campaign"), "en", ZoneInfo("UTC"))
    assert {d["id"]: d["due"]["local"] for d in utc_view["deadlines"]}["nis2-early-warning"] == \
        "Saturday 28 November 2026, 18:07"


def test_default_deadlines_count_from_the_detection_time():
    record = load("web-attack")
    del record["incident.deadlines"]
    view = incident_view(record, "en", PARIS)
    assert [d["id"] for d in view["deadlines"]] == ["health-serious-incident", "nis2-early-warning",
                                                   "nis2-notification", "nis2-final-report"]
    rows = {d["id"]: d["due"] for d in default_deadlines("2026-01-31T10:00:00Z")}
    assert rows["nis2-notification"] == "2026-02-03T10:00:00Z"
    assert rows["nis2-final-report"] == "2026-03-03T10:00:00Z"
    assert rows["health-serious-incident"] == "2026-01-31T10:00:00Z"


def test_french_dates_do_not_depend_on_the_system_locale():
    when = dt.datetime(2026, 12, 1, 8, 5, tzinfo=PARIS)
    assert i18n.format_datetime("fr", when) == "mardi 1er décembre 2026 à 08:05"
    assert i18n.format_datetime("en", when) == "Tuesday 1 December 2026, 08:05"


def test_timeline_has_one_lane_per_source_and_a_mark_per_evidence():
    record = load("campaign")
    t = timeline(record["incident.evidence"], record["incident.signals"], record["incident.first_seen"],
                 record["incident.last_seen"], record["incident.detected_at"], PARIS, "en")
    assert [lane["family"] for lane in t["lanes"]] == ["mail", "web", "vpn"]
    assert {lane["family"]: lane["count"] for lane in t["lanes"]} == {"mail": 7, "web": 0, "vpn": 4}
    evidence_marks = [m for m in t["marks"] if m["shape"] == "evidence"]
    assert len(evidence_marks) == len(record["incident.evidence"])
    assert len([m for m in t["marks"] if m["shape"] == "correlation"]) == 3
    xs = [m["x"] for m in evidence_marks]
    assert xs == sorted(xs) and t["left"] <= min(xs) and max(xs) <= t["right"]
    # lanes: mail marks on the mail lane, VPN marks on the remote-access lane
    mid = {lane["family"]: lane["mid"] for lane in t["lanes"]}
    assert {m["y"] for m in evidence_marks if m["family"] == "vpn"} == {mid["vpn"]}
    # ticks are Paris wall-clock times, the detection line sits at 19:07 local
    assert t["ticks"][0]["label"] == "18:00" and t["detected"]["label"] == "Detected at 19:07"


def test_timeline_svg_is_inline_and_scriptless():
    html = render_incident_html(load("web-attack"), "fr", PARIS, ["fr"])
    svg = re.search(r"<svg class=\"timeline\".*?</svg>", html, re.S).group()
    assert svg.count("<circle ") == 7 and "<script" not in svg and " on" not in svg.replace(" only", "")
    assert "<title>web.apache_combined à 19:52:31 : SQL injection in a query string</title>" in svg


def test_markdown_report_is_readable_and_complete():
    md = render_incident_markdown(load("campaign"), "fr", PARIS)
    assert md.startswith("# Campagne d'attaque — c\\.bernard, m\\.durand (+1)\n")
    assert "## Mesures de confinement recommandées" in md and "## Échéances de notification" in md
    assert "`45.137.21.9`" in md and "`chu-exemple-rh.fr`" in md
    # raw lines sit in fenced code blocks, pointers beside them
    assert "```text\n    Nov 27 2026 19:07:29 asa-vpn1 : %ASA-6-113004" in md
    assert "`/srv/vigie/chu/vpn/asa.log` @ `42962`" in md
    en = render_incident_markdown(load("campaign"), "en", PARIS)
    assert "## Recommended containment" in en and "Friday 27 November 2026, 19:07" in en


def test_latest_revision_wins_and_tolerates_extra_and_missing_keys(tmp_path: Path):
    old = load("campaign")
    old["incident.revision"] = 1
    old["incident.title"] = "old"
    new = load("campaign")
    new["future.key"] = {"anything": [1, 2]}
    assert latest_revisions([new, old]) == [new]
    assert latest_revisions([old, new]) == [new]
    bare = {"incident.id": "inc-000000000000000000000001", "incident.kind": "phishing"}
    paths = render_reports([bare], tmp_path, ["en"])
    page = (tmp_path / "incidents" / "inc-000000000000000000000001.en.html").read_text()
    assert "Phishing" in page and len(paths) == 4


def test_an_incident_id_cannot_choose_where_files_go(tmp_path: Path):
    record = load("web-attack")
    record["incident.id"] = "../../outside"
    stem = file_stem(record)
    assert re.fullmatch(r"inc-[0-9a-f]{24}", stem)
    render_reports([record], tmp_path / "out", ["en"])
    assert not (tmp_path / "outside.en.html").exists()
    assert (tmp_path / "out" / "incidents" / f"{stem}.en.html").exists()


def test_unknown_language_or_timezone_is_a_clear_error(tmp_path: Path):
    with pytest.raises(VigieError, match="unknown language 'de'"):
        render_reports(both(), tmp_path, ["de"])
    with pytest.raises(VigieError, match="unknown timezone"):
        render_reports(both(), tmp_path, ["fr"], tz="Mars/Olympus")


class _Titles(HTMLParser):
    def __init__(self):
        super().__init__()
        self.severities: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "data-severity" in attrs:
            self.severities.append(attrs["data-incident-id"])


def test_index_lists_incidents_by_severity(tmp_path: Path):
    low = load("web-attack")
    low["incident.id"], low["incident.severity"] = "inc-00000000000000000000000a", 1
    render_reports([low] + both(), tmp_path, ["en"])
    parser = _Titles()
    parser.feed((tmp_path / "incidents" / "index.html").read_text())
    assert parser.severities == [CAMPAIGN_ID, WEB_ID, "inc-00000000000000000000000a"]


def test_large_incident_lists_200_evidence_rows_and_counts_the_rest():
    record = load("campaign")
    base = record["incident.evidence"][-1]
    record["incident.evidence"] = [dict(base, **{"event.id": f"{i:032x}", "log.offset": 4034069 + 300 * i})
                                   for i in range(450)]
    html = render_incident_html(record, "en", PARIS, ["en"])
    assert html.count("data-event-id=") == 200 and "… and 250 more pieces of evidence in incidents.jsonl" in html
    assert html.count("<circle ") == 450
    md = render_incident_markdown(record, "fr", PARIS)
    assert "… et 250 autres preuves dans incidents\\.jsonl" in md


def test_without_actions_the_kind_gives_the_usual_containment():
    record = load("web-attack")
    del record["incident.actions"]
    assert [a["id"] for a in incident_view(record, "fr", PARIS)["actions"]] == \
        ["block-addresses", "take-website-offline", "preserve-evidence"]
    record["incident.kind"] = "vpn-intrusion"
    assert "cut-remote-access" in [a["id"] for a in incident_view(record, "en", PARIS)["actions"]]
