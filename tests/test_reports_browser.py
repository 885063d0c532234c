"""The reports in a real browser: Debian's Chromium, headless, loads index.html and an incident
page from disk; the test reads the DOM the browser built (and takes a screenshot).

`make chromium` installs the browser (`make test` calls it). Without /usr/bin/chromium (or
$VIGIE_CHROMIUM) this test fails and says how to install it: it never passes without a browser.
"""
from __future__ import annotations

import os
import signal
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from incident_helpers import CAMPAIGN_ID, SCRIPT, TEMPLATE_EXPR, WEB_ID, both, hostile_incident
from pipelines.reports.render import render_reports
from pipelines.reports.text import visible

pytestmark = pytest.mark.browser
from pipelines.reports.view import localised_title

HOSTILE_ID = "inc-0000000000000000000000ff"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--virtual-time-budget=3000"]


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium binary, or a failure that says how to install it."""
    path = os.environ.get("VIGIE_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"Chromium is not installed ({path} missing): run `make chromium` as root "
                    "(apt-get install -y chromium); the browser test cannot pass without a real browser",
                    pytrace=False)
    return path


def _run(chromium: str, profile: Path, args: list[str], timeout: float = 120) -> str:
    """Run Chromium in its own process group; on a timeout the whole group is stopped."""
    proc = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={profile}", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"Chromium did not finish within {timeout} s", pytrace=False)
    assert proc.returncode == 0, err[-2000:]
    return out


class _Dom(HTMLParser):
    """What the test reads from the DOM Chromium dumped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.body_attrs: dict = {}
        self.tags: list[str] = []
        self.sections: list[dict] = []
        self.on_attrs: list[str] = []
        self._title_depth: int | None = None
        self._depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self._depth += 1
        self.on_attrs += [k for k in attrs if k.startswith("on")]
        if tag == "body":
            self.body_attrs = attrs
        if tag == "section" and "data-incident-id" in attrs:
            self.sections.append({"id": attrs["data-incident-id"], "severity": attrs["data-severity"],
                                  "title": "", "svg": 0, "circles": 0})
        if tag == "h2" and "incident-title" in (attrs.get("class") or "") and self.sections:
            self._title_depth = self._depth
        if self.sections and tag == "svg":
            self.sections[-1]["svg"] += 1
        if self.sections and tag == "circle":
            self.sections[-1]["circles"] += 1

    def handle_endtag(self, tag):
        if tag == "h2" and self._title_depth == self._depth:
            self._title_depth = None
        self._depth -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self._title_depth is not None:
            self.sections[-1]["title"] += data


def _dom(html: str) -> _Dom:
    dom = _Dom()
    dom.feed(html)
    return dom


def test_chromium_runs_scripts_in_this_mode(chromium: str, tmp_path: Path):
    """The control: a page that does run a script is seen to, so an absent mark means inert."""
    page = tmp_path / "control.html"
    page.write_text("<html><body><script>document.body.setAttribute('data-pwned','yes')</script></body></html>")
    dom = _dom(_run(chromium, tmp_path / "profile", ["--dump-dom", page.as_uri()]))
    assert dom.body_attrs.get("data-pwned") == "yes"


def test_index_and_incident_page_in_headless_chromium(chromium: str, tmp_path: Path):
    hostile = hostile_incident()
    incidents = [hostile] + both()
    render_reports(incidents, tmp_path, ["fr", "en"])
    folder = tmp_path / "incidents"

    index = _dom(_run(chromium, tmp_path / "profile", ["--dump-dom", (folder / "index.html").as_uri()]))
    # every incident, by severity, with its localised title and its SVG timeline
    assert [s["id"] for s in index.sections] == [CAMPAIGN_ID, WEB_ID, HOSTILE_ID]
    assert [s["severity"] for s in index.sections] == ["4", "3", "2"]
    by_id = {i["incident.id"]: i for i in incidents}
    for section in index.sections:
        # the title as the reader sees it: hidden characters as their markers
        assert section["title"].strip().endswith(visible(localised_title(by_id[section["id"]], "fr")))
        assert section["svg"] == 1
        assert section["circles"] == len(by_id[section["id"]]["incident.evidence"])
    assert index.sections[0]["title"].strip() == "critique (4/4) Campagne d'attaque — c.bernard, m.durand (+1)"
    # the hostile strings are text, nothing ran
    assert "data-pwned" not in index.body_attrs and "script" not in index.tags and not index.on_attrs
    assert SCRIPT in "".join(index.text)

    page = _dom(_run(chromium, tmp_path / "profile", ["--dump-dom", (folder / f"{HOSTILE_ID}.en.html").as_uri()]))
    text = "".join(page.text)
    assert "data-pwned" not in page.body_attrs and "script" not in page.tags and "img" not in page.tags
    assert not page.on_attrs and page.tags.count("svg") == 1
    assert SCRIPT in text and TEMPLATE_EXPR in text and "⟨U+202E⟩" in text and "LOOPLOOP" not in text
    assert "Recommended containment" in text and "NIS2: early warning" in text

    campaign = _dom(_run(chromium, tmp_path / "profile", ["--dump-dom", (folder / f"{CAMPAIGN_ID}.fr.html").as_uri()]))
    text = "".join(campaign.text)
    assert "Couper l'accès à distance" in text and "vendredi 27 novembre 2026 à 19:07" in text
    assert campaign.tags.count("circle") == 11

    shot = tmp_path / "index.png"
    _run(chromium, tmp_path / "profile", ["--window-size=1280,1600", f"--screenshot={shot}",
                                          (folder / "index.html").as_uri()])
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
