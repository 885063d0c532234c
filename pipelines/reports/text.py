"""Attacker-controlled text -> text that is safe and honest to show in HTML and Markdown.

Log content (user agents, mail subjects, account names, raw lines) is written by the attacker.
In: any value. Out: strings in which every invisible or layout-changing character (C0/C1
controls, bidirectional overrides and isolates, zero-width characters, line and paragraph
separators, lone surrogates) is replaced by a visible marker such as `⟨U+202E⟩`, so a reader
sees that it was there and it cannot reorder or hide what follows. `html_visible` escapes HTML
and wraps the markers in a span; `md_escape` also escapes Markdown syntax and raw HTML so the
text stays literal in any CommonMark renderer (TheHive, mail clients, Git forges).
"""
from __future__ import annotations

import functools
import re
import unicodedata

from markupsafe import Markup, escape

# Characters shown as markers: every Unicode "other" category except private use and
# unassigned (Cc controls, Cf format characters such as U+202E and U+200B, Cs surrogates),
# plus the line and paragraph separators. A tab is kept: it is common in raw log lines and
# changes neither order nor visibility.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_KEPT = {"\t"}


def _is_hidden(ch: str) -> bool:
    return ch not in _KEPT and unicodedata.category(ch) in _HIDDEN_CATEGORIES


@functools.cache
def _hidden_re() -> re.Pattern:
    """The class of every hidden character (built on first use: scanning all of Unicode takes
    a tenth of a second, which every command that shows no text would pay at import)."""
    return re.compile("[" + "".join(
        re.escape(chr(c)) for c in range(0x110000)
        if not 0xD800 <= c <= 0xDFFF and _is_hidden(chr(c))) + "\ud800-\udfff]")


def marker(ch: str) -> str:
    """The visible stand-in for one hidden character, e.g. `⟨U+202E⟩`."""
    return f"⟨U+{ord(ch):04X}⟩"


def as_text(value: object) -> str:
    """Any value -> str; None -> empty string; bytes are decoded as UTF-8 with replacement."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def visible(value: object) -> str:
    """`value` as text with every hidden character replaced by its visible marker."""
    return _hidden_re().sub(lambda m: marker(m.group()), as_text(value))


def has_hidden(value: object) -> bool:
    """True when `value` carries at least one character that `visible` would replace."""
    return bool(_hidden_re().search(as_text(value)))


def html_visible(value: object) -> Markup:
    """`value` escaped for HTML, hidden characters shown as `<span class="hidden-char">` markers.

    Already-safe Markup (produced by the templates themselves) is returned unchanged."""
    if isinstance(value, Markup):
        return value
    text = as_text(value)
    parts, last = [], 0
    for m in _hidden_re().finditer(text):
        parts.append(str(escape(text[last:m.start()])))
        parts.append(f'<span class="hidden-char" title="hidden character">{marker(m.group())}</span>')
        last = m.end()
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))


# What can start Markdown syntax inside a line in CommonMark, GitHub-flavoured Markdown or
# markdown-it (emphasis, code, links, images, footnotes, tables, raw HTML, strike-through, math),
# plus: braces and percent (so that a downstream template engine never sees `{{ ... }}` or
# `{% ... %}`); `&` before a name or `#` (entities); a dot before a letter or digit and a colon
# before `//` (so that no renderer turns `www.x.org`, a bare domain or a URL into a link).
# Parentheses need no escape once `]` is escaped. Left alone: - + = , ; ? / ' " @ ( ) and space,
# harmless inside a line (attacker text never starts a line in Vigie's templates).
_MD_SPECIAL = re.compile(r"""([\\`*_{}\[\]#!|<>~$%^]|&(?=[#A-Za-z0-9])|\.(?=[A-Za-z0-9])|:(?=//))""")


class MdSafe(str):
    """Markdown produced by Vigie itself (not attacker text): emitted as is by the templates."""


def md_escape(value: object) -> str:
    """`value` as literal Markdown text: hidden characters shown, syntax and raw HTML escaped.

    Every punctuation character that could start Markdown syntax is backslash-escaped (a
    CommonMark renderer shows the character itself), so `<script>` stays text, `[x](y)` is no
    link and `&#x202E;` is no entity. Line breaks are already markers, so the text stays on one
    line and cannot open a new block."""
    if isinstance(value, MdSafe):
        return value
    return _MD_SPECIAL.sub(r"\\\1", visible(value))


def md_code(value: object, table: bool = False) -> MdSafe:
    """`value` as an inline Markdown code span (literal: no links, no HTML, no emphasis).

    The backtick fence is longer than any run of backticks in the text; in a table cell
    (`table=True`) pipes are escaped, as GitHub-flavoured tables require even inside code."""
    text = visible(value)
    if not text:
        return MdSafe("")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or text.startswith(" ") else ""
    if table:
        text = text.replace("|", "\\|")
    return MdSafe(f"{fence}{pad}{text}{pad}{fence}")


def md_code_block(value: object, indent: int = 0) -> MdSafe:
    """`value` (e.g. a raw log line) as a fenced Markdown code block that it cannot close,
    every line indented by `indent` spaces (to sit inside a list item).

    Inside a code block nothing is interpreted, so only hidden characters are replaced; the
    fence is one backtick longer than the longest run of backticks in the text."""
    text = visible(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    pad = " " * indent
    return MdSafe(f"{pad}{fence}text\n{pad}{text}\n{pad}{fence}")


def truncate(value: object, limit: int) -> str:
    """Text cut to `limit` characters with an ellipsis (before hidden characters are marked)."""
    text = as_text(value)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
