"""Pure log parsers: raw text -> ECS events as Arrow tables (see base.py for the contract).

`ALL_FORMATS` lists every supported format; `detect_format` picks one for a file from a sample
of its first lines; `format_by_name` resolves `--format`.
"""
from __future__ import annotations

from pipelines.parsing.base import LogFormat
from pipelines.parsing import mail, vpn, web

ALL_FORMATS: tuple[LogFormat, ...] = tuple(web.FORMATS) + tuple(mail.FORMATS) + tuple(vpn.FORMATS)

# A format must read at least this share of a file's sample lines to be chosen.
DETECTION_THRESHOLD = 0.5


def format_by_name(name: str) -> LogFormat | None:
    """The format called `name` (e.g. apache_combined), or None."""
    return next((f for f in ALL_FORMATS if f.name == name), None)


def detect_format(sample: list[str]) -> tuple[LogFormat | None, float]:
    """Best format for a file whose first non-blank lines are `sample`, with its score.

    Ties go to the format listed first (more specific formats are listed before looser ones).
    Returns (None, best_score) when no format reads DETECTION_THRESHOLD of the sample.
    """
    best, best_score = None, 0.0
    for fmt in ALL_FORMATS:
        score = fmt.detect(sample) if sample else 0.0
        if score > best_score:
            best, best_score = fmt, score
    if best_score < DETECTION_THRESHOLD:
        return None, best_score
    return best, best_score
