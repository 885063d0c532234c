"""Log content is attacker-controlled: the reports must stay inert whatever the lines carry.

An incident is built with script tags, event handlers, Jinja2 template syntax, control and
bidirectional characters, and Markdown link/image syntax in its user agents, raw lines, account
and mailbox names, rule names, score details and action targets. Its HTML and Markdown reports
are rendered, the Markdown also through a real Markdown renderer with raw HTML and linkify on
(the riskiest setting a consumer could use), and every output is checked for executable markup,
evaluated template syntax and surviving hidden characters.
"""
from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

from markdown_it import MarkdownIt

from incident_helpers import (BIDI, CONTROL, HOSTILE, ISOLATE, MD_IMAGE, MD_LINK, SCRIPT, TEMPLATE_EXPR,
                              TEMPLATE_STMT, ZERO_WIDTH, both, hostile_incident)
from pipelines.reports.render import render_reports
from pipelines.reports.text import html_visible, md_code, md_escape, visible

# Elements our HTML templates write; anything else would come from the data.
OUR_ELEMENTS = {"html", "head", "meta", "title", "style", "body", "nav", "a", "header", "p", "span",
                "strong", "h1", "h2", "table", "tr", "td", "th", "code", "ul", "ol", "li", "figure",
                "figcaption", "svg", "rect", "text", "line", "circle", "path", "br", "small", "details",
                "summary", "pre", "footer", "section"}


class _Audit(HTMLParser):
    """Collects every element, attribute and text node of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((k, v or "") for k, v in attrs)

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def _hidden_chars(text: str) -> set[str]:
    return {f"U+{ord(c):04X}" for c in text if c not in "\n\t" and unicodedata.category(c) in
            ("Cc", "Cf", "Cs", "Zl", "Zp")}


def _assert_inert_html(page: str) -> _Audit:
    audit = _Audit()
    audit.feed(page)
    assert set(audit.tags) <= OUR_ELEMENTS, set(audit.tags) - OUR_ELEMENTS
    assert "script" not in audit.tags and "img" not in audit.tags and "iframe" not in audit.tags
    for name, value in audit.attrs:
        assert not name.startswith("on"), (name, value)
        if name in ("href", "src", "xlink:href"):
            assert re.fullmatch(r"(#|[A-Za-z0-9._-]+\.html)[A-Za-z0-9._#-]*", value), value
    assert audit.tags.count("svg") == page.count('<svg class="timeline"')
    # attributes stay attributes: only names our templates write, no markup inside values
    names = {name for name, _ in audit.attrs}
    assert names <= {"lang", "charset", "http-equiv", "content", "name", "href", "hreflang", "class", "id",
                     "data-severity", "data-service", "data-action", "data-deadline", "data-event-id",
                     "data-incident-id", "title", "xmlns", "viewbox", "role", "aria-label", "data-vigie",
                     "x", "y", "width", "height", "x1", "y1", "x2", "y2", "text-anchor", "d", "cx", "cy", "r"}, names
    assert not any("<span" in value for name, value in audit.attrs), "markup inside an attribute value"
    assert not _hidden_chars(page), _hidden_chars(page)
    return audit


def test_hostile_html_pages_are_inert_and_show_everything_literally(tmp_path: Path):
    render_reports([hostile_incident()] + both(), tmp_path, ["fr", "en"])
    folder = tmp_path / "incidents"
    pages = sorted(folder.glob("*.html"))
    assert len(pages) == 3 * 2 + 3
    for page_path in pages:
        _assert_inert_html(page_path.read_text(encoding="utf-8"))
    page = (folder / "inc-0000000000000000000000ff.en.html").read_text(encoding="utf-8")
    text = "".join(_assert_inert_html(page).text)
    # the attacker's markup is shown as text, character for character
    assert SCRIPT in text and "<img src=x onerror=" in text and "<svg onload=" in text
    # template syntax shown literally, never evaluated
    assert TEMPLATE_EXPR in text and TEMPLATE_STMT in text and "LOOPLOOP" not in text
    assert "__subclasses__" in text and "<class 'object'>" not in text
    assert "{{ 7*7 }}" in text and not re.search(r"\b49\b", text)
    # hidden characters are visible markers, and a note says so
    for mark in ("⟨U+202E⟩", "⟨U+2066⟩", "⟨U+2069⟩", "⟨U+001B⟩", "⟨U+0007⟩", "⟨U+000D⟩", "⟨U+000A⟩",
                 "⟨U+200B⟩"):
        assert mark in text, mark
    assert 'id="hidden-note"' in page and 'class="hidden-char"' in page
    assert "invoice⟨U+202E⟩exe.pdf" in text
    # the index page carries the hostile title inertly too
    index = (folder / "index.en.html").read_text(encoding="utf-8")
    assert SCRIPT.replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;") in index


def _assert_inert_markdown(md: str) -> str:
    assert not _hidden_chars(md)
    # rendered with raw HTML allowed and links recognised: still no markup from the data
    html = MarkdownIt("gfm-like", {"html": True}).render(md)
    audit = _Audit()
    audit.feed(html)
    assert not {"script", "img", "svg", "iframe", "a"} & set(audit.tags), set(audit.tags)
    for name, _ in audit.attrs:
        assert not name.startswith("on")
    return "".join(audit.text)


def test_hostile_markdown_reports_stay_literal_in_a_real_renderer(tmp_path: Path):
    render_reports([hostile_incident()], tmp_path, ["fr", "en"])
    for lang in ("fr", "en"):
        md = (tmp_path / "incidents" / f"inc-0000000000000000000000ff.{lang}.md").read_text(encoding="utf-8")
        text = _assert_inert_markdown(md)
        # what the reader sees is the attacker's text itself (markers for hidden characters)
        assert SCRIPT in text and MD_LINK in text and MD_IMAGE in text
        assert TEMPLATE_EXPR in text and TEMPLATE_STMT in text and "LOOPLOOP" not in text
        assert "invoice⟨U+202E⟩exe.pdf" in text and "⟨U+001B⟩" in text
        assert "&#x202E;&lt;b&gt;" in text  # entities are not decoded into characters
        # a CR LF in the data never starts a new Markdown block
        assert "\nInjected: yes" not in md and "⟨U+000D⟩⟨U+000A⟩Injected: yes" in md


def test_neutralising_functions():
    assert visible(BIDI) == "invoice⟨U+202E⟩exe.pdf"
    assert visible(ISOLATE) == "admin⟨U+2066⟩⟨U+2069⟩root"
    assert visible(ZERO_WIDTH) == "c.ber⟨U+200B⟩nard"
    assert visible("tab\tkept") == "tab\tkept"
    assert visible("lone \udc80 surrogate") == "lone ⟨U+DC80⟩ surrogate"
    assert visible(CONTROL).count("⟨U+") == 5
    assert str(html_visible("<b>\u202e</b>")) == \
        '&lt;b&gt;<span class="hidden-char" title="hidden character">⟨U+202E⟩</span>&lt;/b&gt;'
    assert md_escape("[a](b) <i> {{ x }} www.evil.org a.b https://x") == \
        "\\[a\\](b) \\<i\\> \\{\\{ x \\}\\} www\\.evil\\.org a\\.b https\\://x"
    assert md_code("a`b|c", table=True) == "``a`b\\|c``"
    for payload in HOSTILE:
        rendered = MarkdownIt("gfm-like", {"html": True}).render(f"x {md_escape(payload)} y")
        assert "<script" not in rendered and "<img" not in rendered and "<a " not in rendered
