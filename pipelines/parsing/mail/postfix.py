"""Postfix (syslog) lines -> message fragments (lines with a queue id) and events of their own.

In: a LineBatch of a mail server's syslog file (postfix and its neighbours: dovecot, amavis,
milters, ...). Out: see the package docstring.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import LineBatch, LogFormat, ParseContext, ParseResult
from pipelines.parsing.columns import (NULL_STR, blank, drop_bytes, extract_some, head_bytes, ip_shaped, list_of,
                                      mapped, mask, per_distinct, per_value, without)
from pipelines.parsing.mail.common import (IP_CHARS, NETWORK, SPF_OUTCOME, STATUS_OUTCOME,
                                           decode_rfc2231, decode_words, email_like, group,
                                           Split, result)
from pipelines.parsing.mail.direction import line_direction
from pipelines.parsing.mail.kinds import LineKind, categories, classify, kind_values
from pipelines.parsing.mail.syslog import syslog_header, syslog_timestamps

QUEUE_ID = r"^(?P<qid>[0-9A-F]{5,16}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,20}): "

_RELAY = r"(?P<relay_host>[^\s\[\]]*)\[(?P<relay_ip>[^\]\s]*)\](?::(?P<relay_port>\d{1,5}))?"
_CLIENT = r"(?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\](?::(?P<client_port>\d{1,5}))?"
# a 'host[ip]' anywhere in a line (for lines no kind reads)
ANY_CLIENT = (r"(?:^|[\s(])(?P<client_host>[A-Za-z0-9._-]*)\[(?P<client_ip>" + IP_CHARS + r")\]"
              r"(?::(?P<client_port>\d{1,5}))?")
_REJECT = (r"^(?P<rj>(?:milter-)?(?:reject|discard|hold)|warn|redirect|filter|bcc|info): "
           r"(?:[A-Z][A-Z-]*) from " + _CLIENT + r": (?P<reason>.*?)"
           r"(?:; (?:from=<(?P<from>[^>]*)>,? ?)?(?:to=<(?P<to>[^>]*)>,? ?)?"
           r"proto=(?:[^\s,;]+),?(?: helo=(?:<(?:.*)>)?)?)?$")

POSTFIX_KINDS: tuple[LineKind, ...] = (
    # --- lines of a queued message (fragments), most frequent first ---
    LineKind("delivery", r"^to=<(?P<to>[^>]*)>,(?: orig_to=<(?P<orig_to>[^>]*)>,)? "
             r"relay=(?P<relay>[^,\s]+),.*? status=(?P<status>[a-z]+)(?: \((?P<reason>.*)\))?$"),
    LineKind("client", r"^client=" + _CLIENT + r"(?:, sasl_method=(?P<mech>[^,\s]+))?"
             r"(?:, sasl_username=(?P<user>[^,]+))?", origin=True, outcome="success"),
    LineKind("message-id", r"^message-id=<?(?P<msgid>[^<>\s]*)>?$"),
    LineKind("queued", r"^from=<(?P<from>[^>]*)>, size=(?P<size>\d{1,18}), nrcpt=(?P<nrcpt>\d{1,9})",
             outcome="success"),
    LineKind("removed", r"^removed$"),
    LineKind("header-check", r"^(?P<hc_action>[a-z-]+): (?:header|mime-header|nested-header|body) "
             r"(?P<hc_text>.*) from (?:local|" + _CLIENT + r"); from=<(?P<from>[^>]*)>"
             r"(?: to=<(?P<to>[^>]*)>)?(?: proto=\S+)?(?: helo=<[^>]*>)?(?:: (?P<reason>.*))?$"),
    LineKind("expired", r"^from=<(?P<from>[^>]*)>, status=(?P<status>expired)"),
    LineKind("pickup", r"^uid=(?:\d+) from=<(?P<from>[^>]*)>", origin=True, outcome="success"),
    LineKind("notification", r"^sender (?:non-delivery|delivery status|delay) notification: "),
    # --- connection-level lines (events) ---
    LineKind("connect", r"^connect from " + _CLIENT, category=NETWORK, types=("connection", "start"),
             outcome="success"),
    LineKind("disconnect", r"^disconnect from " + _CLIENT + r"(?: (?P<reason>.*))?$",
             category=NETWORK, types=("connection", "end"), outcome="success",
             more=(r"\bauth=(?P<auth_ok>\d{1,9})/(?P<auth_total>\d{1,9})",
                   r"\bcommands=(?P<cmd_ok>\d{1,9})/(?P<cmd_total>\d{1,9})")),
    LineKind("reject", _REJECT, types=("denied",), origin=True),
    LineKind("sasl-auth-failure", r"^warning: " + _CLIENT + r": SASL (?P<mech>[A-Za-z0-9_-]+) "
             r"authentication failed:? ?(?P<reason>.*?)(?:, sasl_username=(?P<user>\S+))?$",
             category=("authentication",), types=("start",), outcome="failure"),
    LineKind("lost-connection", r"^lost connection (?P<reason>after \S+(?: \([^)]*\))?) from " + _CLIENT,
             category=NETWORK, types=("connection",), outcome="failure"),
    LineKind("connection-failure", r"^connect to " + _RELAY + r": (?P<reason>.*)$", category=NETWORK,
             types=("connection",), outcome="failure"),
    LineKind("remote-reply", r"^host " + _RELAY + r" (?:said|refused to talk to me): (?P<reason>.*)$",
             types=("info",), outcome="failure"),
    LineKind("timeout", r"^timeout (?P<reason>after \S+(?: \([^)]*\))?) from " + _CLIENT,
             category=NETWORK, types=("connection",), outcome="failure"),
    LineKind("too-many-errors", r"^too many errors (?P<reason>after \S+(?: \([^)]*\))?) from " + _CLIENT,
             category=NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("improper-pipelining", r"^improper command pipelining (?P<reason>after \S+) from " + _CLIENT,
             category=NETWORK, types=("connection",), outcome="failure"),
    LineKind("tls-established", r"^(?:Anonymous|Trusted|Untrusted|Verified) TLS connection established "
             r"from " + _CLIENT + r": (?P<reason>.*)$", category=NETWORK, types=("connection",), outcome="success"),
    LineKind("tls-established", r"^(?:Anonymous|Trusted|Untrusted|Verified) TLS connection established "
             r"to " + _RELAY + r": (?P<reason>.*)$", category=NETWORK, types=("connection",), outcome="success"),
    LineKind("rate-limit-exceeded", r"^warning: (?P<reason>[A-Za-z ]+ limit exceeded): \d+ from "
             + _CLIENT + r" for service (?:\S+)",
             category=NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("reverse-dns-mismatch", r"^warning: hostname (?P<client_host>\S+) does not resolve to "
             r"address (?P<client_ip>[0-9A-Fa-f:.]+)(?:: (?P<reason>.*))?$",
             category=NETWORK, types=("connection",)),
    LineKind("reverse-dns-mismatch", r"^warning: (?P<client_ip>[0-9A-Fa-f:.]+): (?:hostname "
             r"(?P<client_host>\S+) verification failed|address not listed for hostname "
             r"(?P<listed_host>\S+))(?:: (?P<reason>.*))?", category=NETWORK, types=("connection",)),
    LineKind("non-smtp-command", r"^warning: non-SMTP command from " + _CLIENT + r": (?P<reason>.*)$",
             category=NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("tls-error", r"^SSL_accept error from " + _CLIENT + r": (?P<reason>.*)$",
             category=NETWORK, types=("connection",), outcome="failure"),
    LineKind("log", r"^(?P<level>warning|error|fatal|panic): (?P<reason>.*)$"),
    # --- postscreen verdicts: the verb names the action (PREGREET -> pregreet, ...) ---
    LineKind("reject", _REJECT, family="postscreen", types=("denied",), origin=True),
    LineKind("postscreen", r"^(?P<verb>[A-Z][A-Z -]*[A-Z])\b", family="postscreen", category=NETWORK,
             types=("connection",), more=(r"\[(?P<client_ip>" + IP_CHARS + r")\](?::(?P<client_port>\d{1,5}))?",
                                          r" to \[(?P<relay_ip>" + IP_CHARS + r")\]:(?P<relay_port>\d{1,5})")),
    LineKind("log", r"^(?P<level>warning|error|fatal|panic): (?P<reason>.*)$", family="postscreen"),
    # --- milters and policy servers that name the queue id ---
    LineKind("dkim", r"^(?:s=\S+ d=\S+ )?(?P<dkim_text>DKIM verification successful|bad signature data|"
             r"signature verification failed|no signature data|key retrieval failed)", family="opendkim"),
    LineKind("dmarc", r"^(?:[A-Za-z0-9._-]+\.[A-Za-z0-9-]+) (?P<dmarc>[a-z]+)$",
             family="opendmarc"),
    LineKind("spf", r"^SPF\((?:mailfrom|helo)\): (?:\S+) (?P<spf>[a-z]+)$", family="opendmarc"),
    LineKind("spf-check", r"(?:Received-SPF: |rejected due to: SPF )(?P<spf>[A-Za-z]+)", family="spf",
             more=(r"(?:client-ip=|;ip=)(?P<client_ip>[0-9A-Fa-f:.]+)",
                   r"(?:envelope-from=|;id=)<?(?P<from>[^>;\s]+)")),
)
DKIM_RESULT = {"dkim verification successful": "pass", "bad signature data": "fail",
               "signature verification failed": "fail", "no signature data": "none",
               "key retrieval failed": "temperror"}
POSTSCREEN_OUTCOME = {
    "pregreet": "failure", "hangup": "failure", "command time limit": "failure",
    "command count limit": "failure", "command length limit": "failure",
    "command pipelining": "failure", "bare newline": "failure", "non-smtp command": "failure",
    "dnsbl": "failure", "blacklisted": "failure", "denylisted": "failure",
    "pass new": "success", "pass old": "success", "whitelisted": "success", "allowlisted": "success",
}
HEADER_TEXT = r"^(?P<hname>[!-9;-~]+):\s*(?P<hvalue>.*)$"
ATTACHMENT = r"(?i)\b(?:file)?name(?P<ext>\*)?=(?:\"(?P<quoted>[^\"]*)\"|(?P<bare>[^;\s]+))"
# Programs of a mail server's syslog file, for detection (postfix itself must be among them).
MAIL_PROGRAMS = ("postfix", "dovecot", "amavis", "opendkim", "opendmarc", "policyd-spf", "policy-spf",
                 "spamd", "spamc", "clamd", "clamsmtpd", "postgrey", "sqlgrey", "rspamd", "saslauthd",
                 "milter", "sympa", "mailman", "cyrus", "imapd", "pop3d", "sieve")
POSTFIX_SHARE_MIN = 0.05  # detection: postfix lines must be at least this share of the sample


def _postfix_family(program: str) -> str:
    """A syslog program name -> the family of kinds its lines are read with."""
    name = program.lower()
    if "spf" in name:
        return "spf"
    if name.startswith("postfix"):
        return "postscreen" if name.rsplit("/", 1)[-1] == "postscreen" else "postfix"
    for milter in ("opendkim", "opendmarc"):
        if name.startswith(milter):
            return milter
    return "other"


def parse_postfix(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Postfix syslog lines -> message fragments, events of their own, dead letters, skips."""
    empty = blank(batch.lines)
    head = syslog_header(batch.lines)
    timestamps, read_locally = syslog_timestamps(head, ctx)
    has_header = np.asarray(pc.is_valid(head["text"]), dtype=bool) & ~empty
    keep = has_header & np.asarray(pc.is_valid(timestamps), dtype=bool)

    program = pc.if_else(pa.array(keep), head["program"], NULL_STR)
    families = per_value(program, _postfix_family, pa.string()).fill_null("none")
    queued_family = mask(pc.is_in(families, pa.array(["postfix", "opendkim", "opendmarc", "spf"])))
    text = head["text"]
    # 'QUEUEID: ' (no ':' in the id, so it ends at the first one) or 'NOQUEUE: ' is cut off the
    # body by byte counts (below): the pattern is only matched, never captured nor replaced
    has_qid = queued_family & mask(pc.match_substring_regex(text, QUEUE_ID))
    no_header = np.flatnonzero(~empty & ~has_header)
    bad_time = np.flatnonzero(has_header & ~keep)

    # from here on, the kept rows only: fragments first, then events (see common.Split)
    split = Split.of(keep, has_qid)
    families, has_qid = split.take(families), split.take(has_qid)
    text, program = split.take(text), split.take(program)
    qid_length = np.asarray(pc.find_substring(text, ":").fill_null(0), dtype=np.int64)
    qid = head_bytes(text, qid_length, has_qid)
    noqueue = ~has_qid & mask(pc.starts_with(text, "NOQUEUE: "))
    cut = np.where(has_qid, qid_length + 2, np.where(noqueue, len("NOQUEUE: "), 0))
    body = drop_bytes(text, cut, nulled=mask(pc.equal(families, "other")))
    head = {name: split.take(head[name]) for name in ("host", "program", "pid")}
    timestamps, read_locally = split.take(timestamps), split.take(read_locally)
    found = classify(body, families, POSTFIX_KINDS)
    g = found.get

    # postfix lines of their own that no kind gave a client: the first 'host[ip]' they name
    postfix_rows = mask(pc.is_in(families, pa.array(["postfix", "postscreen"])))
    unnamed = (postfix_rows & ~has_qid
               & ~np.asarray(pc.is_valid(pc.coalesce(g("client_ip"), g("relay_ip"))), dtype=bool))
    named = extract_some(body, ANY_CLIENT, rows=unnamed)
    client_ip = ip_shaped(pc.coalesce(g("client_ip"), group(named, "client_ip")))
    client_host = pc.coalesce(without(pc.coalesce(g("client_host"), group(named, "client_host")),
                                      "unknown"), g("listed_host"))
    client_port = pc.coalesce(g("client_port"), group(named, "client_port"))
    user = g("user")
    relay = g("relay")
    relay_parts = extract_some(relay, r"^(?P<host>[^\[]*)\[(?P<ip>[^\]]*)\](?::(?P<port>\d{1,5}))?$")
    dest_ip = pc.coalesce(ip_shaped(group(relay_parts, "ip")), ip_shaped(g("relay_ip")))

    header = extract_some(g("hc_text"), HEADER_TEXT)
    header_name = pc.utf8_lower(group(header, "hname"))
    header_value = group(header, "hvalue")
    subject = pc.if_else(pc.equal(header_name, "subject"), header_value, NULL_STR)
    attachment = _attachment_names(pc.if_else(
        pc.is_in(header_name, pa.array(["content-type", "content-disposition"])), header_value, NULL_STR))

    rejected = pc.or_(pc.is_in(g("rj"), pa.array(["reject", "milter-reject"])),
                      pc.equal(g("hc_action"), "reject").fill_null(False))
    status = pc.coalesce(g("status"), pc.if_else(rejected, "rejected", NULL_STR))
    verb = pc.utf8_lower(g("verb"))
    auth_failed = pc.or_kleene(pc.less(g("auth_ok").cast(pa.int64()), g("auth_total").cast(pa.int64())),
                               pc.less(g("cmd_ok").cast(pa.int64()), g("cmd_total").cast(pa.int64())))
    outcome = pc.coalesce(
        mapped(status, STATUS_OUTCOME), mapped(verb, POSTSCREEN_OUTCOME),
        mapped(g("spf"), SPF_OUTCOME),
        pc.if_else(pc.is_in(g("rj"), pa.array(["milter-discard", "discard"])), "failure", NULL_STR),
        pc.if_else(auth_failed, "failure", NULL_STR),
        kind_values(found, POSTFIX_KINDS, "outcome", pa.string()))
    action = pc.coalesce(g("rj"), pc.replace_substring(verb, " ", "-"), g("level"),
                         kind_values(found, POSTFIX_KINDS, "action", pa.string()),
                         pa.scalar("syslog"))
    origin = kind_values(found, POSTFIX_KINDS, "origin", pa.bool_()).fill_null(False)
    inside = pc.or_(pc.is_valid(user), pc.equal(action, "pickup"))
    product = pc.if_else(pa.array(postfix_rows),
                         "postfix", per_distinct(program, lambda names: pc.utf8_lower(
                             pc.replace_substring_regex(names, r"[/\[].*$", ""))))

    columns = {
        "message": text,
        "event.category": categories(found, POSTFIX_KINDS, uncategorised=mask(pc.equal(families, "other"))),
        "event.type": kind_values(found, POSTFIX_KINDS, "types", pa.list_(pa.string())),
        "event.action": action,
        "event.outcome": outcome,
        "event.reason": g("reason"),
        "event.timezone": pc.if_else(read_locally, ctx.timezone, NULL_STR),
        "log.level": g("level"),
        "log.syslog.hostname": head["host"],
        "log.syslog.appname": head["program"],
        "log.syslog.procid": head["pid"],
        "observer.hostname": head["host"],
        "observer.product": product,
        "source.ip": client_ip,
        "source.domain": client_host,
        "source.port": client_port,
        "destination.ip": dest_ip,
        "destination.domain": pc.coalesce(group(relay_parts, "host"), without(g("relay_host"), "unknown")),
        "destination.port": pc.coalesce(group(relay_parts, "port"), g("relay_port")),
        "network.protocol": pc.if_else(pc.is_valid(client_ip), "smtp", NULL_STR),
        "related.ip": list_of(client_ip, dest_ip),
        "related.user": user,
        "user.name": user,
        "user.email": email_like(user),
        "email.sender.address": email_like(user),
        "email.local_id": qid,
        "email.message_id": g("msgid"),
        "email.from.address": g("from"),
        "email.to.address": list_of(g("to"), pc.if_else(pc.equal(g("orig_to"), g("to")),
                                                        NULL_STR, g("orig_to"))),
        "email.subject": per_value(subject, decode_words, pa.string()),
        "email.x_mailer": pc.if_else(pc.equal(header_name, "x-mailer"), header_value, NULL_STR),
        "email.attachments.file.name": attachment,
        "email.direction": line_direction(origin, client_ip, inside),
        "vigie.mail.size": g("size"),
        "vigie.mail.status": status,
        "vigie.mail.relay": relay,
        "vigie.mail.recipient_count": g("nrcpt"),
        "vigie.mail.sasl_method": pc.utf8_upper(g("mech")),
        "vigie.mail.spf_result": pc.utf8_lower(g("spf")),
        "vigie.mail.dkim_result": mapped(g("dkim_text"), DKIM_RESULT),
        "vigie.mail.dmarc_result": g("dmarc"),
    }
    stitch_keys = pc.binary_join_element_wise(head["host"], qid, "/")
    return result(batch, POSTFIX, split, timestamps, columns, stitch_keys, [
        (no_header, "no syslog header: expected 'Mmm dd HH:MM:SS host program[pid]: message' "
                    "or an ISO 8601 / RFC 5424 timestamp header"),
        (bad_time, "syslog timestamp does not exist (bad date)"),
    ], int(empty.sum()))


def _attachment_names(header_values: pa.Array) -> pa.Array:
    """Content-Type / Content-Disposition values -> the file name they carry (decoded)."""
    found = extract_some(header_values, ATTACHMENT)
    name = pc.coalesce(group(found, "quoted"), group(found, "bare"))
    extended = pc.is_valid(group(found, "ext"))
    name = pc.if_else(extended, per_value(name, decode_rfc2231, pa.string()), name)
    return per_value(name, decode_words, pa.string())


def detect_postfix(sample: list[str]) -> float:
    """Share of the sample read as mail-server syslog lines, when postfix writes enough of them.

    A maillog mixes postfix with dovecot, amavis, milters ...: the score is the share of lines
    from MAIL_PROGRAMS, provided postfix lines are at least POSTFIX_SHARE_MIN of the sample
    (else 0, so a general syslog file with a few postfix lines is not taken for a maillog).
    """
    if not sample:
        return 0.0
    program = pc.utf8_lower(syslog_header(pa.array(sample, pa.string()))["program"]).to_pylist()
    postfix = sum(1 for p in program if p and p.startswith("postfix"))
    mail = sum(1 for p in program if p and p.startswith(MAIL_PROGRAMS))
    return mail / len(sample) if postfix / len(sample) >= POSTFIX_SHARE_MIN else 0.0


POSTFIX = LogFormat("postfix", "mail", parse_postfix, detect_postfix,
                    observer={"product": "postfix", "type": "mail-server"}, stitched=True)
