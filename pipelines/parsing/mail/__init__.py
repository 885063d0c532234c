"""Mail log parsers: Postfix (syslog) and Exim (mainlog) lines -> ECS events and message fragments.

In: a LineBatch of one mail log and a ParseContext. Out: a ParseResult where
- lines that belong to one message (they carry a Postfix queue id or an Exim message id) are
  FRAGMENTS: event rows with a STITCH_KEY column ("<mail host>/<queue id>") that the pipeline
  groups by key and merges into one event per message with `stitch.stitch_message`;
- every other line whose header reads is an EVENT of its own: authentication failures,
  rejections without a queue, connections, postscreen verdicts, warnings, and lines of other
  programs of the same syslog file (dovecot, amavis, cron, ...: event.action "syslog");
- lines whose header does not read are DEAD LETTERS, blank lines are SKIPPED.

Each line is classified by an ordered table of `LineKind`s (anchored RE2 patterns whose named
groups are fields), applied column-wise with pyarrow.compute to the lines no earlier kind took.

email.direction: see mail/direction.py (per line here, refined by stitching, and recomputed by
enrichment with the inventory's internal networks). Modules: syslog (headers), kinds (the
line-kind tables' machinery), common (shared values), direction, postfix, exim.
"""
from __future__ import annotations

from pipelines.parsing.base import LogFormat
from pipelines.parsing.columns import is_internal_address as is_internal_ip
from pipelines.parsing.mail.exim import EXIM, detect_exim, parse_exim
from pipelines.parsing.mail.postfix import POSTFIX, detect_postfix, parse_postfix

FORMATS: list[LogFormat] = [POSTFIX, EXIM]

__all__ = ["EXIM", "FORMATS", "POSTFIX", "detect_exim", "detect_postfix", "is_internal_ip", "parse_exim",
           "parse_postfix"]
