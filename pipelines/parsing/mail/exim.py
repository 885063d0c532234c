"""Exim mainlog lines -> message fragments (lines with a message id) and events of their own.

In: a LineBatch of an Exim mainlog (optionally behind a syslog/journal prefix). Out: see the
package docstring.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import LineBatch, LogFormat, ParseContext, ParseResult
from pipelines.parsing.columns import (NULL_STR, blank, byte_at, drop_bytes, extract_some, head_bytes, ip_shaped,
                                      list_of, mapped, mask, per_value)
from pipelines.parsing.mail.common import (IP_CHARS, NETWORK, STATUS_OUTCOME, decode_words,
                                           email_like, group, iso_timestamps, result,
                                           Split, cut_prefix, take_prefix)
from pipelines.parsing.mail.direction import line_direction
from pipelines.parsing.mail.kinds import LineKind, categories, classify, kind_values

EXIM_ID = r"[0-9A-Za-z]{6}-(?:[0-9A-Za-z]{6}-[0-9A-Za-z]{2}|[0-9A-Za-z]{11}-[0-9A-Za-z]{4})"
EXIM_PREFIX = (
    # optional journal prefix 'host exim[pid]: ', the timestamp (optional fraction and zone),
    # optional syslog-ng 'host exim[pid]:', optional '[pid]', then the message.
    r"^(?:(?P<jhost>\S+) exim\d*\[(?P<jpid>\d+)\]: )?"
    r"(?P<date>\d{4}-\d\d-\d\d) (?P<time>\d\d:\d\d:\d\d)(?:\.(?P<frac>\d{1,6}))?"
    r"(?: (?P<zone>[+-]\d{4}))?(?: (?P<host>\S+) exim\d*\[(?P<pid>\d+)\]:)?"
    r"(?: \[(?P<lpid>\d+)\])? "
)
EXIM_MESSAGE = r"^(?P<id>" + EXIM_ID + r") "
# 'host (helo) [ip]:port I=[ip]:port Ci=n tail' after H= or 'from'
EXIM_HOSTSPEC = (r"^(?:H=)?(?:(?P<host>[^\s(\[]+) ?)?(?:\((?:[^)]*)\) ?)?\[(?P<ip>[0-9A-Fa-f:.]+)\]"
                 r"(?::(?P<port>\d{1,5}))?(?: I=\[(?P<iface_ip>[^\]]*)\](?::(?P<iface_port>\d+))?)?(?: Ci=\d+)?"
                 r"(?: (?P<tail>.*))?$")
# the first '[ip]' after a space or H= (not inside '(helo)'), with a dotted host name before it
EXIM_ANY_HOST = (r"(?:^|[ ]|H=)(?:(?P<host>[A-Za-z0-9_-]*\.[A-Za-z0-9._-]+|localhost) )?"
                 r"(?:\([^)]*\) )?\[(?P<ip>" + IP_CHARS + r")\](?::(?P<port>\d{1,5}))?")
_H = r" H=(?P<hspec>(?:[^\s(\[]+ ?)?(?:\([^)]*\) ?)?\[[^\]]*\](?::\d+)?)"
_SENDER = r"(?:^|\s)F=<?(?P<from>[^>\s]*)>?"
_IFACE = r" I=\[(?P<iface_ip>[^\]]*)\](?::(?P<iface_port>\d{1,5}))?"
_REMOTE = r"(?P<rhspec>(?:H=)?[^\s(\[=]*(?: \([^)]*\))? ?\[[^\]]*\](?::\d+)?)"
_RCPT = r"(?P<rcpt>\S+)(?: <(?P<orig>[^>]*)>)?"

EXIM_KINDS: tuple[LineKind, ...] = (
    # --- lines of a message (after its id: fragments) ---
    LineKind("delivery", r"^(?P<flag>=>|->|>>|\*>) " + _RCPT, family="exim",
             more=(_H, r" T=(?P<transport>[^\s:]+)",
                   r" C=\"(?P<reason>(?:[^\"\\]|\\.)*)\"")),
    LineKind("arrival", r"^<= (?P<from>\S+)", family="exim", origin=True, outcome="success",
             more=(_H, _IFACE, r" A=(?P<mech>[^\s:]+)(?::(?P<user>\S+))?", r" U=(?P<local_user>\S+)",
                   r" S=(?P<size>\d{1,18})",
                   r" id=(?P<msgid>\S+)", r" T=\"(?P<subject>(?:[^\"\\]|\\.)*)\"",
                   r" for (?P<rcpts>[^\"]+)$")),
    LineKind("completed", r"^Completed\b", family="exim"),
    LineKind("frozen", r"^(?:Message is frozen|Frozen)\b ?(?P<reason>.*)$", family="exim", outcome="failure"),
    LineKind("unfrozen", r"^Unfrozen\b ?(?P<reason>.*)$", family="exim"),
    LineKind("remote-error", r"^" + _REMOTE + r":? (?P<reason>(?:SMTP error from remote mail server|Connection "
             r"(?:timed out|refused)|Remote host .* closed connection|SMTP timeout|TLS session|"
             r"Network is unreachable|No route to host).*)$", family="exim", types=("info",), outcome="failure"),
    LineKind("remote-error", r"^(?P<reason>SMTP error from remote mail server .*)$", family="exim",
             types=("info",), outcome="failure"),
    LineKind("deferred", r"^== " + _RCPT + r".*?(?:: (?P<reason>.*))?$", family="exim",
             status="deferred", more=(_H, r" T=(?P<transport>[^\s:]+)")),
    LineKind("bounced", r"^\*\* " + _RCPT + r".*?(?:: (?P<reason>.*))?$", family="exim",
             status="bounced", more=(_H, r" T=(?P<transport>[^\s:]+)")),
    # --- lines without a message id (events); some also appear after one ---
    LineKind("sasl-auth-failure", r"^(?P<mech>\S+) authenticator failed for (?P<hspec>.*?): "
             r"(?P<reason>\d{3}\b.*?)(?: \(set_id=(?P<user>.*)\))?$", family="exim",
             category=("authentication",), types=("start",), outcome="failure"),
    LineKind("reject", r"^(?P<hspec>H=.*?) (?:F=<?(?P<from>[^>\s]*)>? )?rejected (?:RCPT "
             r"<?(?P<to>[^>\s]*?)>?|[^:]*): (?P<reason>.*)$", family="exim", types=("denied",),
             status="rejected", origin=True),
    LineKind("reject", r"^.*?\b(?:temporarily )?rejected (?:after DATA|by local_scan\(\)|"
             r"by non-SMTP ACL)[^:]*: (?P<reason>.*)$", family="exim", types=("denied",),
             status="rejected", origin=True, more=(_H, _SENDER)),
    LineKind("sender-verify-failure", r"^(?P<hspec>H=.*?) (?:F=<?(?P<from>[^>\s]*)>? )?sender verify "
             r"(?:fail|defer) for <(?P<sender>[^>]*)>(?:: (?P<reason>.*))?$", family="exim",
             types=("denied",), outcome="failure", origin=True),
    LineKind("protocol-error", r"^SMTP protocol synchronization error \((?P<reason>[^)]*)\): rejected "
             r"(?:connection from |\".*\" )(?P<hspec>H=.*)$", family="exim", category=NETWORK,
             types=("connection", "denied"), outcome="failure"),
    LineKind("protocol-error", r"^SMTP protocol error in \"(?:.*)\" (?P<hspec>H=.*)$",
             family="exim", category=NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("connection-dropped", r"^SMTP call from (?P<hspec>.*?) dropped: (?P<reason>.*)$",
             family="exim", category=NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("connection-dropped", r"^SMTP connection from (?P<hspec>.*) closed by DROP in ACL$",
             family="exim", category=NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("connection-dropped", r"^(?P<hspec>H=.*?) dropped by '[^']*' ACL: (?P<reason>.*)$",
             family="exim", category=NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("lost-connection", r"^SMTP connection from (?P<hspec>.*) lost\b ?(?P<reason>.*)$",
             family="exim", category=NETWORK, types=("connection", "end"), outcome="failure"),
    LineKind("disconnect", r"^SMTP connection from (?P<hspec>.*) closed by QUIT$", family="exim",
             category=NETWORK, types=("connection", "end"), outcome="success"),
    LineKind("connect", r"^SMTP connection from (?P<hspec>.*)$", family="exim", category=NETWORK,
             types=("connection", "start"), outcome="success"),
    LineKind("queue-run", r"^(?:Start|End) queue run: ", family="exim", category=("process",), types=("info",)),
    LineKind("no-mail", r"^no MAIL in SMTP connection from (?P<hspec>.*)$", family="exim",
             category=NETWORK, types=("connection", "end")),
    LineKind("tls-error", r"^TLS error on connection from (?P<hspec>.*?) \([^)]*\): (?P<reason>.*)$",
             family="exim", category=NETWORK, types=("connection",), outcome="failure"),
    LineKind("reverse-dns-failure", r"^no host name found for IP address (?P<ip>[0-9A-Fa-f:.]+)$",
             family="exim", category=NETWORK, types=("connection",)),
    LineKind("forward-dns-failure", r"^no IP address found for host (?P<claimed_host>\S+) \(during "
             r"SMTP connection from (?P<hspec>.*)\)$", family="exim", category=NETWORK,
             types=("connection",)),
)


def parse_exim(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Exim mainlog lines -> message fragments, events of their own, dead letters, skips."""
    empty = blank(batch.lines)
    found_prefix = pc.extract_regex(batch.lines, EXIM_PREFIX)
    has_prefix = np.asarray(found_prefix.is_valid(), dtype=bool) & ~empty
    prefix = {f.name: group(found_prefix, f.name) for f in found_prefix.type}
    date_time = pc.binary_join_element_wise(prefix["date"], prefix["time"], " ")
    timestamps, read_locally = iso_timestamps(date_time, prefix["frac"], prefix["zone"], ctx)
    keep = has_prefix & np.asarray(pc.is_valid(timestamps), dtype=bool)
    body = cut_prefix(batch.lines, EXIM_PREFIX)  # what follows the prefix, on the rows kept
    has_id = keep & mask(pc.match_substring_regex(body, EXIM_MESSAGE))
    no_prefix = np.flatnonzero(~empty & ~has_prefix)
    bad_time = np.flatnonzero(has_prefix & ~keep)

    # from here on, the kept rows only: fragments first, then events (see common.Split)
    split = Split.of(keep, has_id)
    body, has_id = split.take(body), split.take(has_id)
    # 'ID ' cut off by byte counts: an id is 6-6-2 characters (a '-' at 13) or 6-11-4 (EXIM_ID)
    id_length = np.where(byte_at(body, 13) == ord("-"), 16, 23)
    message_id = head_bytes(body, id_length, has_id)
    text = drop_bytes(body, np.where(has_id, id_length + 1, 0))
    timestamps, read_locally = split.take(timestamps), split.take(read_locally)
    prefix = {name: split.take(prefix[name]) for name in ("host", "jhost", "pid", "jpid", "lpid")}
    found = classify(text, "exim", EXIM_KINDS)
    g = found.get

    spec = extract_some(pc.coalesce(g("hspec"), g("rhspec")), EXIM_HOSTSPEC)
    anywhere = extract_some(text, EXIM_ANY_HOST, rows=found.kind < 0)

    def host_field(name: str) -> pa.Array:
        return pc.coalesce(group(spec, name), group(anywhere, name))

    client_ip = ip_shaped(pc.coalesce(host_field("ip"), g("ip")))
    tail = group(spec, "tail")
    hostname = pc.coalesce(prefix["host"], prefix["jhost"])
    # a local submission (no H=) names the local account (U=), except Exim's own bounces (<= <>)
    local_submission = pc.and_(pc.and_(pc.is_null(g("hspec")), pc.is_valid(g("local_user"))),
                               pc.not_equal(g("from"), "<>").fill_null(True))
    user = pc.coalesce(g("user"), pc.if_else(local_submission, g("local_user"), NULL_STR))
    flag = g("flag")
    status = pc.coalesce(
        pc.if_else(pc.is_valid(flag), pc.if_else(pc.equal(flag, "*>"), "suppressed", "sent"), NULL_STR),
        kind_values(found, EXIM_KINDS, "status", pa.string()))
    recipient = _exim_recipient(pc.utf8_rtrim(g("rcpt"), ":"), g("orig"))
    is_delivery = pc.or_(pc.is_valid(g("rcpt")), pc.is_valid(g("rhspec")))
    relay = pc.if_else(is_delivery, pc.coalesce(
        relay_text(host_field("host"), host_field("ip"), host_field("port")), g("transport")), NULL_STR)
    source_ip = pc.if_else(is_delivery, NULL_STR, client_ip)
    interface_ip = ip_shaped(pc.coalesce(group(spec, "iface_ip"), g("iface_ip")))
    dest_ip = pc.if_else(is_delivery, client_ip, interface_ip)
    sender = pc.coalesce(g("sender"), g("from"))
    sender = pc.if_else(pc.equal(sender, "<>"), NULL_STR, sender)
    origin = kind_values(found, EXIM_KINDS, "origin", pa.bool_()).fill_null(False)
    arrival = pc.equal(kind_values(found, EXIM_KINDS, "action", pa.string()), "arrival")
    inside = pc.or_(pc.is_valid(user), pc.and_(arrival.fill_null(False), pc.is_null(g("hspec"))))
    recipients = pc.if_else(pc.is_valid(g("rcpts")), pc.split_pattern(g("rcpts"), " "),
                            list_of(recipient, g("to")))
    subject = pc.replace_substring(g("subject"), '\\"', '"')

    columns = {
        "message": text,
        "event.category": categories(found, EXIM_KINDS),
        "event.type": kind_values(found, EXIM_KINDS, "types", pa.list_(pa.string())),
        "event.action": pc.coalesce(kind_values(found, EXIM_KINDS, "action", pa.string()),
                                    pa.scalar("log")),
        "event.outcome": pc.coalesce(mapped(status, STATUS_OUTCOME),
                                     kind_values(found, EXIM_KINDS, "outcome", pa.string())),
        "event.reason": pc.coalesce(g("reason"), tail),
        "event.timezone": pc.if_else(read_locally, ctx.timezone, NULL_STR),
        "log.syslog.hostname": hostname,
        "log.syslog.appname": pc.if_else(pc.is_valid(hostname), "exim", NULL_STR),
        "log.syslog.procid": pc.coalesce(prefix["pid"], prefix["jpid"], prefix["lpid"]),
        "observer.hostname": hostname,
        "source.ip": source_ip,
        "source.domain": pc.if_else(is_delivery, NULL_STR,
                                    pc.coalesce(host_field("host"), g("claimed_host"))),
        "source.port": pc.if_else(is_delivery, NULL_STR, host_field("port")),
        "destination.ip": dest_ip,
        "destination.domain": pc.if_else(is_delivery, host_field("host"), NULL_STR),
        "destination.port": pc.if_else(is_delivery, host_field("port"),
                                       pc.coalesce(group(spec, "iface_port"), g("iface_port"))),
        "network.protocol": pc.if_else(pc.is_valid(source_ip), "smtp", NULL_STR),
        "related.ip": list_of(client_ip, pc.if_else(is_delivery, NULL_STR, interface_ip)),
        "related.user": user,
        "user.name": user,
        "user.email": email_like(user),
        "email.sender.address": email_like(user),
        "email.local_id": message_id,
        "email.message_id": g("msgid"),
        "email.from.address": sender,
        "email.to.address": recipients,
        "email.subject": per_value(subject, decode_words, pa.string()),
        "email.direction": line_direction(origin, client_ip, inside),
        "vigie.mail.size": g("size"),
        "vigie.mail.status": status,
        "vigie.mail.relay": relay,
        "vigie.mail.sasl_method": g("mech"),
    }
    file_or_host = pc.coalesce(hostname, pa.scalar(batch.file_key))
    stitch_keys = pc.binary_join_element_wise(file_or_host, message_id, "/")
    return result(batch, EXIM, split, timestamps, columns, stitch_keys, [
        (no_prefix, "no exim timestamp: expected 'YYYY-MM-DD HH:MM:SS message' (optionally "
                    "'host exim[pid]:' around it)"),
        (bad_time, "exim timestamp does not exist (bad date or zone)"),
    ], int(empty.sum()))


def relay_text(host: pa.Array, ip: pa.Array, port: pa.Array) -> pa.Array:
    """Next hop as Postfix writes it: host[ip] or host[ip]:port (null without an address)."""
    hop = pc.binary_join_element_wise(pc.coalesce(host, pa.scalar("")), "[", ip, "]", "")
    return pc.if_else(pc.is_valid(port), pc.binary_join_element_wise(hop, port, ":"), hop)


def _exim_recipient(rcpt: pa.Array, orig: pa.Array) -> pa.Array:
    """Delivery address: the logged one when it is a mail address, else the original <address>."""
    return pc.if_else(pc.or_(pc.match_substring(rcpt, "@"), pc.is_null(orig)), rcpt, orig)


_EXIM_WORDS = (r"^(?:" + EXIM_ID + r" |H=|SMTP |\S+ authenticator failed|no MAIL|no host name|"
               r"no IP address|Start queue run|End queue run|exim |TLS error|.* H=)")


def detect_exim(sample: list[str]) -> float:
    """Share of the sample lines that read as Exim mainlog lines (timestamp + Exim message)."""
    if not sample:
        return 0.0
    body = take_prefix(pa.array(sample, pa.string()), EXIM_PREFIX)[1]
    exim_like = pc.match_substring_regex(body, _EXIM_WORDS).fill_null(False)
    return pc.sum(exim_like.cast(pa.int64())).as_py() / len(sample)


EXIM = LogFormat("exim", "mail", parse_exim, detect_exim,
                 observer={"product": "exim", "type": "mail-server"}, stitched=True)
