"""Incident records -> report files (HTML and Markdown, French and English) and an index page.

In: incident dicts (the contract), an output folder, languages and a display timezone. Out:
`<out>/incidents/<incident.id>.<lang>.html` and `.md` per incident and language,
`<out>/incidents/index.<lang>.html` per language and `<out>/incidents/index.html` (the first
language's index); `render_reports` returns the paths written. The pipeline's incident sink and
`vigie incidents render` both call it.

Templates are Jinja2, shipped inside the package (pipelines/reports/templates/, package data),
and run in Jinja2's SandboxedEnvironment. HTML autoescapes, Markdown escapes its own syntax;
in both, every expression passes through a `finalize` that shows hidden characters, so a
template cannot forget to neutralise a value.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from jinja2.sandbox import SandboxedEnvironment

from pipelines.errors import VigieError
from pipelines.reports import i18n
from pipelines.reports.text import html_visible, md_code, md_code_block, md_escape, visible
from pipelines.reports.view import file_stem, incident_view, severity_key

INCIDENTS_DIR = "incidents"
DEFAULT_TZ = "Europe/Paris"
DEFAULT_LANGS = ("fr", "en")
_OTHER_LABEL = {lang: i18n.label(lang, "other_language") for lang in i18n.LANGS}
# The link to a language is written in that language ("English version" leads to English).
_LINK_LABEL = {"fr": i18n.label("en", "other_language"), "en": i18n.label("fr", "other_language")}


@functools.lru_cache(maxsize=None)
def html_environment() -> SandboxedEnvironment:
    """The sandboxed, autoescaping environment of the HTML templates. Filter `plain`: escaped
    text with hidden characters as text markers, for attributes and <title> elements."""
    env = SandboxedEnvironment(loader=PackageLoader("pipelines.reports", "templates"),
                               autoescape=True, finalize=html_visible, undefined=StrictUndefined,
                               trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
    env.filters["plain"] = lambda value: Markup(escape(visible(value)))
    return env


@functools.lru_cache(maxsize=None)
def markdown_environment() -> SandboxedEnvironment:
    """The sandboxed environment of the Markdown templates: every value Markdown-escaped."""
    env = SandboxedEnvironment(loader=PackageLoader("pipelines.reports", "templates"),
                               autoescape=False, finalize=md_escape, undefined=StrictUndefined,
                               keep_trailing_newline=True)
    env.filters["code"] = md_code
    env.filters["cell"] = lambda value: md_code(value, table=True)
    env.filters["codeblock"] = md_code_block
    return env


def display_timezone(name: str) -> ZoneInfo:
    """An IANA timezone name -> ZoneInfo; an unknown name is a VigieError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise VigieError(f"unknown timezone {name!r} (use an IANA name such as Europe/Paris or UTC)") from None


def _langs(langs: list[str] | tuple[str, ...]) -> list[str]:
    out = []
    for lang in langs or DEFAULT_LANGS:
        if lang not in i18n.LANGS:
            raise VigieError(f"unknown language {lang!r}; reports are written in: {', '.join(i18n.LANGS)}")
        if lang not in out:
            out.append(lang)
    return out


def render_incident_html(incident: dict, lang: str, tz: ZoneInfo | None = None,
                         langs: list[str] | None = None) -> str:
    """One incident as an HTML page in `lang` (links to the other languages in `langs`)."""
    tz = tz or display_timezone(DEFAULT_TZ)
    view = incident_view(incident, lang, tz)
    others = [o for o in (langs or [lang]) if o != lang]
    return html_environment().get_template("incident.html.j2").render(
        v=view, other_langs=others, other_label=_LINK_LABEL)


def render_incident_markdown(incident: dict, lang: str, tz: ZoneInfo | None = None) -> str:
    """One incident as Markdown in `lang` (also the mail's text part and TheHive's description)."""
    tz = tz or display_timezone(DEFAULT_TZ)
    return markdown_environment().get_template("incident.md.j2").render(v=incident_view(incident, lang, tz))


def render_index_html(incidents: list[dict], lang: str, tz: ZoneInfo | None = None,
                      langs: list[str] | None = None) -> str:
    """Every incident by severity (highest first), each with its timeline, as one HTML page."""
    tz = tz or display_timezone(DEFAULT_TZ)
    views = [incident_view(i, lang, tz) for i in sorted(incidents, key=severity_key)]
    tz_name = views[0]["tz_name"] if views else (
        i18n.label(lang, "paris_time") if tz.key == "Europe/Paris" else tz.key)
    return html_environment().get_template("index.html.j2").render(
        incidents=views, lang=lang, L=i18n.LABELS[lang], tz_name=tz_name,
        any_hidden=any(v["hidden"] for v in views),
        other_langs=[o for o in (langs or [lang]) if o != lang], other_label=_LINK_LABEL)


def latest_revisions(incidents: list[dict]) -> list[dict]:
    """Keep, per incident.id, the record with the highest incident.revision (a later line wins a
    tie), in the order of first appearance."""
    best: dict[str, dict] = {}
    order: list[str] = []
    for record in incidents:
        key = str(record.get("incident.id"))
        if key not in best:
            order.append(key)
            best[key] = record
            continue
        try:
            newer = int(record.get("incident.revision") or 0) >= int(best[key].get("incident.revision") or 0)
        except (TypeError, ValueError):
            newer = True
        if newer:
            best[key] = record
    return [best[k] for k in order]


def _write(path: Path, text: str) -> Path:
    """Write through a temporary file and rename, so a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def render_reports(incidents: list[dict], out_dir: Path, langs: list[str],
                   tz: str = DEFAULT_TZ) -> list[Path]:
    """Write every incident's reports and the index under `out_dir`/incidents/; return the paths.

    `out_dir` is the run's output folder (DIR of `vigie replay --out DIR`). Records with the same
    incident.id are reduced to their latest revision first. Languages: "fr", "en" (the first one
    is also `index.html`)."""
    langs = _langs(langs)
    zone = display_timezone(tz)
    folder = Path(out_dir) / INCIDENTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    records = latest_revisions(incidents)
    written: list[Path] = []
    for record in records:
        for lang in langs:
            stem = file_stem(record)
            written.append(_write(folder / f"{stem}.{lang}.html",
                                  render_incident_html(record, lang, zone, langs)))
            written.append(_write(folder / f"{stem}.{lang}.md", render_incident_markdown(record, lang, zone)))
    for lang in langs:
        page = render_index_html(records, lang, zone, langs)
        written.append(_write(folder / f"index.{lang}.html", page))
        if lang == langs[0]:
            written.append(_write(folder / "index.html", page))
    return written

