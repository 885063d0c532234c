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

email.direction rule (per line; stitching refines it, see stitch.finish_mail_message): a line
that shows where a message came from (Postfix `client=`, `pickup`, rejections; Exim `<=`,
rejections) says "outbound" when the client authenticated (SASL / Exim A=), submitted locally
(pickup, Exim without H=) or connected from an internal address (RFC 1918, CGNAT 100.64/10,
loopback, link-local, IPv6 ULA), and "inbound" when it connected from any other address.
Stitching turns "outbound" into "internal" when every delivery of the message stayed inside.
"""
from __future__ import annotations

from pipelines.parsing.base import LogFormat
from pipelines.parsing.mail.common import is_internal_ip
from pipelines.parsing.mail.exim import EXIM, detect_exim, parse_exim
from pipelines.parsing.mail.postfix import POSTFIX, detect_postfix, parse_postfix

FORMATS: list[LogFormat] = [POSTFIX, EXIM]

__all__ = ["EXIM", "FORMATS", "POSTFIX", "detect_exim", "detect_postfix", "is_internal_ip", "parse_exim",
           "parse_postfix"]
