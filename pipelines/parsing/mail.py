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

import email.errors
import email.header
import ipaddress
import re
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import (
    STITCH_KEY, LineBatch, LogFormat, ParseContext, ParseResult, TS_TYPE, build_dead_letters,
    build_events, local_to_utc, no_dead_letters, parse_syslog,
)

# ---------------------------------------------------------------------------------------------
# Line kinds and column-wise classification
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineKind:
    """One kind of line: an anchored RE2 pattern (named groups = values) and what it means."""

    action: str  # event.action (a fragment's action is replaced by "message" when stitched)
    pattern: str
    family: str = "postfix"  # which lines it applies to (see _postfix_family / "exim")
    category: tuple[str, ...] = ("email",)
    types: tuple[str, ...] | None = None
    outcome: str | None = None  # static outcome; dynamic ones come from status or groups
    status: str | None = None  # static vigie.mail.status
    origin: bool = False  # the line tells where the message came from (email.direction)
    more: tuple[str, ...] = ()  # unanchored patterns for optional parts of the matched lines


def _collect(parts: dict[str, list], rows: np.ndarray, found: pa.StructArray) -> None:
    """Add the non-empty values of each named group of `found` (one per row of `rows`)."""
    for position, field in enumerate(found.type):
        values = found.field(position)
        present = np.asarray(pc.not_equal(values, "").fill_null(False), dtype=bool)
        if present.any():
            parts[field.name].append((rows[present], values.filter(pa.array(present))))


def _scatter(n: int, parts: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """Values known for some rows -> an array of n rows, null elsewhere."""
    rows = np.concatenate([r for r, _ in parts])
    values = pa.concat_arrays([v for _, v in parts])
    where = np.full(n, -1, dtype=np.int64)
    where[rows] = np.arange(len(rows))
    return values.take(pa.array(where, mask=where < 0))


@dataclass(frozen=True)
class Classified:
    """Per row: the index of its LineKind (-1: none), and the values of every named group."""

    kind: np.ndarray
    groups: dict[str, pa.Array]
    n: int

    def get(self, name: str) -> pa.Array:
        """Values of group `name` (null where the row's kind has no such group or it is empty)."""
        return self.groups.get(name, pa.nulls(self.n, pa.string()))


def classify(texts: pa.Array, families: np.ndarray, kinds: Sequence[LineKind]) -> Classified:
    """Each non-null text -> the first kind (of its family) whose pattern matches, and its groups."""
    n = len(texts)
    kind_of = np.full(n, -1, dtype=np.int32)
    open_rows = np.asarray(pc.is_valid(texts), dtype=bool)
    parts: dict[str, list] = defaultdict(list)
    for number, kind in enumerate(kinds):
        candidates = np.flatnonzero(open_rows & (families == kind.family))
        if not len(candidates):
            continue
        subset = texts.take(pa.array(candidates))
        found = pc.extract_regex(subset, kind.pattern)
        hit = np.asarray(found.is_valid(), dtype=bool)
        if not hit.any():
            continue
        rows = candidates[hit]
        kind_of[rows] = number
        open_rows[rows] = False
        _collect(parts, rows, found.filter(pa.array(hit)))
        matched = subset.filter(pa.array(hit))
        for pattern in kind.more:
            extra = pc.extract_regex(matched, pattern)
            ok = np.asarray(extra.is_valid(), dtype=bool)
            _collect(parts, rows[ok], extra.filter(pa.array(ok)))
    return Classified(kind_of, {name: _scatter(n, p) for name, p in parts.items()}, n)


def kind_values(classified: Classified, kinds: Sequence[LineKind], attribute: str,
                value_type: pa.DataType) -> pa.Array:
    """A LineKind attribute (action, category, ...) per row; null for unclassified rows."""
    table = pa.array([_listed(getattr(k, attribute)) for k in kinds], type=value_type)
    where = classified.kind
    return table.take(pa.array(where, mask=where < 0))


def categories(classified: Classified, kinds: Sequence[LineKind]) -> pa.Array:
    """event.category per row: its kind's, or ["email"] for lines no kind describes."""
    return pc.coalesce(kind_values(classified, kinds, "category", pa.list_(pa.string())),
                       pa.scalar(["email"], pa.list_(pa.string())))


def _listed(value: object) -> object:
    """Tuples -> lists (for pa.array), anything else unchanged."""
    return list(value) if isinstance(value, tuple) else value


# ---------------------------------------------------------------------------------------------
# Value helpers
# ---------------------------------------------------------------------------------------------

_NULL_STR = pa.scalar(None, pa.string())
_IP = r"[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*"
_VALID_IP = r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$"

# Networks whose clients and relays count as inside the organisation (see the module docstring).
INTERNAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"))


def take_prefix(texts: pa.Array, pattern: str) -> tuple[pa.StructArray, pa.Array]:
    """An anchored prefix pattern -> its groups, and the rest of each text after the prefix.

    The rest is null where the prefix does not match. It is cut off with a replace rather than
    captured with '(?P<rest>.*)', which costs several times more in RE2.
    """
    found = pc.extract_regex(texts, pattern)
    rest = pc.replace_substring_regex(texts, re.sub(r"\(\?P<\w+>", "(?:", pattern), "")
    return found, pc.if_else(found.is_valid(), rest, _NULL_STR)


def group(found: pa.StructArray, name: str) -> pa.Array:
    """A named group of an extract_regex result: null where no match or the group is empty."""
    values = found.field(name)
    return pc.if_else(pc.and_(found.is_valid(), pc.not_equal(values, "")), values, _NULL_STR)


def is_internal_ip(text: str | None) -> bool:
    """True when `text` is an address of INTERNAL_NETWORKS (False for non-addresses)."""
    try:
        address = ipaddress.ip_address(text or "")
    except ValueError:
        return False
    return any(address in network for network in INTERNAL_NETWORKS)


def per_value(values: pa.Array, fn: Callable[[str], object], value_type: pa.DataType) -> pa.Array:
    """Apply a Python function once per distinct non-null value and broadcast the results."""
    if not len(values) or values.null_count == len(values):
        return pa.nulls(len(values), value_type)
    encoded = values.dictionary_encode()
    mapped = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], type=value_type)
    return mapped.take(encoded.indices)


def mapped(values: pa.Array, mapping: Mapping[str, str | None]) -> pa.Array:
    """Each value through a dict (lower-cased first); values not in it become null."""
    return per_value(values, lambda v: mapping.get(v.lower()), pa.string())


def valid_ip(values: pa.Array) -> pa.Array:
    """Keep values shaped like an IPv4/IPv6 address, null the rest (e.g. 'unknown')."""
    return pc.if_else(pc.match_substring_regex(values, _VALID_IP), values, _NULL_STR)


def without(values: pa.Array, *unwanted: str) -> pa.Array:
    """Null the values equal to one of `unwanted` (e.g. Postfix's 'unknown' host name)."""
    return pc.if_else(pc.is_in(values, pa.array(unwanted)), _NULL_STR, values)


def list_of(*columns: pa.Array) -> pa.ListArray:
    """Per row, the non-null values of several string columns as a list (null when none)."""
    n, k = len(columns[0]), len(columns)
    flat = pa.concat_arrays([c.cast(pa.string()) for c in columns])
    flat = flat.take(pa.array(np.arange(k * n).reshape(k, n).T.ravel()))
    valid = np.asarray(flat.is_valid(), dtype=bool)
    counts = valid.reshape(n, k).sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), flat.filter(pa.array(valid)),
                                    mask=pa.array(counts == 0))


def decode_words(text: str) -> str:
    """RFC 2047 encoded words (=?utf-8?B?...?=) -> text; anything undecodable stays as logged."""
    if "=?" not in text:
        return text
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        return text


def decode_rfc2231(text: str) -> str:
    """An RFC 2231 extended value (utf-8''na%C3%AFve.pdf) -> text."""
    charset, _, rest = text.partition("''")
    if not rest:
        return text
    try:
        return urllib.parse.unquote(rest, encoding=charset or "utf-8", errors="replace")
    except LookupError:
        return urllib.parse.unquote(rest)


def with_millis(timestamps: pa.Array, fraction: pa.Array) -> pa.Array:
    """Add a decimal fraction of a second ('123456' -> 123 ms; null/'' -> 0) to timestamps."""
    digits = pc.utf8_rpad(pc.utf8_slice_codeunits(pc.fill_null(fraction, ""), 0, 3), 3, "0")
    return pc.add(timestamps, digits.cast(pa.int64()).cast(pa.duration("ms")))


def per_run(keys: pa.Array, compute: Callable[[np.ndarray], pa.Array]) -> pa.Array:
    """Compute once per run of equal consecutive keys (e.g. the lines of one second).

    `compute(rows)` gets the first row of each run and returns one value per run; each value
    is repeated over its run. Runs keep file order, so file-order rules (the DST fall-back rule
    of base.local_to_utc) see the same sequence of distinct values as they would for all rows.
    """
    n = len(keys)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = ~np.asarray(pc.equal(keys[1:], keys[:-1]).fill_null(False), dtype=bool)
    return compute(np.flatnonzero(starts)).take(pa.array(np.cumsum(starts) - 1))


def iso_timestamps(date_time: pa.Array, fraction: pa.Array, zone: pa.Array,
                   ctx: ParseContext) -> tuple[pa.Array, pa.Array]:
    """'YYYY-MM-DD HH:MM:SS', its fraction digits and zone ('', Z, +01:00, +0100) -> UTC.

    Returns (timestamps, read_locally): rows without a zone are read in ctx.timezone.
    """
    zone = pc.fill_null(zone, "")
    zoned = pc.not_equal(zone, "")

    def seconds(rows: np.ndarray) -> pa.Array:
        take = pa.array(rows)
        stamp, offset, has_zone = date_time.take(take), zone.take(take), zoned.take(take)
        offset = pc.replace_substring(pc.replace_substring(offset, "Z", "+0000"), ":", "")
        with_zone = pc.strptime(pc.binary_join_element_wise(stamp, offset, ""),
                                format="%Y-%m-%d %H:%M:%S%z", unit="ms", error_is_null=True)
        naive = pc.strptime(pc.if_else(has_zone, _NULL_STR, stamp), format="%Y-%m-%d %H:%M:%S",
                            unit="ms", error_is_null=True)
        return pc.if_else(has_zone, with_zone.cast(TS_TYPE), local_to_utc(naive, ctx.timezone))

    stamps = per_run(pc.binary_join_element_wise(date_time, zone, " "), seconds)
    return with_millis(stamps, fraction), pc.invert(zoned)


def _direction(origin: pa.Array, client_ip: pa.Array, inside: pa.Array) -> pa.Array:
    """Origin lines -> 'outbound' when `inside` (auth, local, internal client), else 'inbound'."""
    internal = per_value(client_ip, is_internal_ip, pa.bool_()).fill_null(False)
    known = pc.or_(pc.is_valid(client_ip), inside)
    out = pc.if_else(pc.or_(inside, internal), "outbound", "inbound")
    return pc.if_else(pc.and_(origin, known), out, _NULL_STR)


STATUS_OUTCOME = {"sent": "success", "deliverable": "success", "deferred": "unknown",
                  "bounced": "failure", "expired": "failure", "undeliverable": "failure",
                  "rejected": "failure"}
SPF_OUTCOME = {"pass": "success", "fail": "failure", "softfail": "failure"}


def _blank(lines: pa.Array) -> np.ndarray:
    """True for empty or whitespace-only lines."""
    return np.asarray(pc.fill_null(pc.equal(pc.utf8_trim_whitespace(lines), ""), True), dtype=bool)


def _result(batch: LineBatch, fmt: LogFormat, keep: np.ndarray, is_fragment: np.ndarray,
            timestamps: pa.Array, columns: dict[str, pa.Array], stitch_keys: pa.Array,
            dead: list[tuple[np.ndarray, str]], skipped: int) -> ParseResult:
    """Split the analysed rows into events and fragments, and gather dead letters and skips."""
    def rows_of(mask: np.ndarray) -> tuple[np.ndarray, dict[str, pa.Array]]:
        idx = np.flatnonzero(mask)
        take = pa.array(idx)
        return idx, {name: col.take(take) for name, col in columns.items()}

    ev_idx, ev_cols = rows_of(keep & ~is_fragment)
    fr_idx, fr_cols = rows_of(keep & is_fragment)
    events = build_events(batch, ev_idx, fmt, timestamps.take(pa.array(ev_idx)), ev_cols)
    fragments = build_events(batch, fr_idx, fmt, timestamps.take(pa.array(fr_idx)), fr_cols,
                             extra={STITCH_KEY: stitch_keys.take(pa.array(fr_idx))})
    letters = [build_dead_letters(batch, rows, reason, fmt) for rows, reason in dead if len(rows)]
    return ParseResult(
        events=events,
        dead_letters=(pa.concat_tables(letters).sort_by("origin.offset") if letters
                      else no_dead_letters()),
        skipped={"blank line": skipped} if skipped else {},
        fragments=fragments,
    )


# ---------------------------------------------------------------------------------------------
# Postfix (syslog)
# ---------------------------------------------------------------------------------------------

_ISO_TS = (r"(?P<date>\d{4}-\d\d-\d\d)T(?P<time>\d\d:\d\d:\d\d)(?:\.(?P<frac>\d{1,9}))?"
           r"(?P<zone>Z|[+-]\d\d:?\d\d)?")
_PROGRAM = r" +(?P<host>\S+) +(?P<program>[^\s\[:]+)(?:\[(?P<pid>[^\]\s]*)\])?: ?"
# Syslog headers, tried in order (one pattern each: an alternation of them is 5x slower); the
# message is the rest of the line, taken by removing the header (capturing it costs more).
SYSLOG_HEADERS: tuple[LineKind, ...] = (
    LineKind("bsd", r"^(?:<\d{1,3}>)?(?P<bsd>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?)" + _PROGRAM,
             family="syslog"),
    LineKind("iso", r"^(?:<\d{1,3}>)?" + _ISO_TS + _PROGRAM, family="syslog"),
    LineKind("rfc5424", r"^<\d{1,3}>1 " + _ISO_TS + r" (?P<host>\S+) (?P<program>\S+) (?P<pid>\S+) \S+ "
             r"(?:-|(?:\[[^\]]*\])+) ?", family="syslog"),
)
# Postfix queue ids: short (upper-case hex) or long (base 52 without vowels, 'z' separator).
QUEUE_ID = r"^(?P<qid>[0-9A-F]{5,16}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,20}): "

_CLIENT = r"(?P<client_host>[^\s\[\]]*)\[(?P<client_ip>[^\]\s]*)\](?::(?P<client_port>\d{1,5}))?"
# a 'host[ip]' anywhere in a line (for lines no kind reads)
ANY_CLIENT = (r"(?:^|[\s(])(?P<client_host>[A-Za-z0-9._-]*)\[(?P<client_ip>" + _IP + r")\]"
              r"(?::(?P<client_port>\d{1,5}))?")
_REJECT = (r"^(?P<rj>(?:milter-)?(?:reject|discard|hold)|warn|redirect|filter|bcc|info): "
           r"(?:[A-Z][A-Z-]*) from " + _CLIENT + r": (?P<reason>.*?)"
           r"(?:; (?:from=<(?P<from>[^>]*)>,? ?)?(?:to=<(?P<to>[^>]*)>,? ?)?"
           r"proto=(?:[^\s,;]+),?(?: helo=(?:<(?:.*)>)?)?)?$")
_NETWORK = ("email", "network")

POSTFIX_KINDS: tuple[LineKind, ...] = (
    # --- lines of a queued message (fragments), most frequent first ---
    LineKind("delivery", r"^to=<(?P<to>[^>]*)>,(?: orig_to=<(?P<orig_to>[^>]*)>,)? "
             r"relay=(?P<relay>[^,\s]+),.*? status=(?P<status>[a-z]+)(?: \((?P<reason>.*)\))?$"),
    LineKind("client", r"^client=" + _CLIENT + r"(?:, sasl_method=(?P<mech>[^,\s]+))?"
             r"(?:, sasl_username=(?P<user>[^,]+))?", origin=True),
    LineKind("message-id", r"^message-id=<?(?P<msgid>[^<>\s]*)>?$"),
    LineKind("queued", r"^from=<(?P<from>[^>]*)>, size=(?P<size>\d{1,18}), nrcpt=(?P<nrcpt>\d{1,9})"),
    LineKind("removed", r"^removed$"),
    LineKind("header-check", r"^(?P<hc_action>[a-z-]+): (?:header|mime-header|nested-header|body) "
             r"(?P<hc_text>.*) from (?:local|" + _CLIENT + r"); from=<(?P<from>[^>]*)>"
             r"(?: to=<(?P<to>[^>]*)>)?(?: proto=\S+)?(?: helo=<[^>]*>)?(?:: (?P<reason>.*))?$"),
    LineKind("expired", r"^from=<(?P<from>[^>]*)>, status=(?P<status>expired)"),
    LineKind("pickup", r"^uid=(?:\d+) from=<(?P<from>[^>]*)>", origin=True),
    LineKind("notification", r"^sender (?:non-delivery|delivery status|delay) notification: "),
    # --- connection-level lines (events) ---
    LineKind("connect", r"^connect from " + _CLIENT, category=_NETWORK, types=("connection", "start")),
    LineKind("disconnect", r"^disconnect from " + _CLIENT + r"(?: (?P<reason>.*))?$",
             category=_NETWORK, types=("connection", "end"),
             more=(r"\bauth=(?P<auth_ok>\d{1,9})/(?P<auth_total>\d{1,9})",)),
    LineKind("reject", _REJECT, types=("denied",), origin=True),
    LineKind("sasl-auth-failure", r"^warning: " + _CLIENT + r": SASL (?P<mech>[A-Za-z0-9_-]+) "
             r"authentication failed:? ?(?P<reason>.*?)(?:, sasl_username=(?P<user>\S+))?$",
             category=("authentication",), types=("start",), outcome="failure"),
    LineKind("lost-connection", r"^lost connection (?P<reason>after \S+(?: \([^)]*\))?) from " + _CLIENT,
             category=_NETWORK, types=("connection",)),
    LineKind("timeout", r"^timeout (?P<reason>after \S+(?: \([^)]*\))?) from " + _CLIENT,
             category=_NETWORK, types=("connection",), outcome="failure"),
    LineKind("too-many-errors", r"^too many errors (?P<reason>after \S+(?: \([^)]*\))?) from " + _CLIENT,
             category=_NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("improper-pipelining", r"^improper command pipelining (?P<reason>after \S+) from " + _CLIENT,
             category=_NETWORK, types=("connection",), outcome="failure"),
    LineKind("tls-established", r"^(?:Anonymous|Trusted|Untrusted|Verified) TLS connection established "
             r"from " + _CLIENT + r": (?P<reason>.*)$", category=_NETWORK, types=("connection",)),
    LineKind("rate-limit-exceeded", r"^warning: (?P<reason>[A-Za-z ]+ limit exceeded): \d+ from "
             + _CLIENT + r" for service (?:\S+)",
             category=_NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("reverse-dns-mismatch", r"^warning: hostname (?P<client_host>\S+) does not resolve to "
             r"address (?P<client_ip>[0-9A-Fa-f:.]+)(?:: (?P<reason>.*))?$",
             category=_NETWORK, types=("connection",)),
    LineKind("reverse-dns-mismatch", r"^warning: (?P<client_ip>[0-9A-Fa-f:.]+): (?:hostname "
             r"(?P<client_host>\S+) verification failed|address not listed for hostname "
             r"(?P<listed_host>\S+))(?:: (?P<reason>.*))?", category=_NETWORK, types=("connection",)),
    LineKind("non-smtp-command", r"^warning: non-SMTP command from " + _CLIENT + r": (?P<reason>.*)$",
             category=_NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("tls-error", r"^SSL_accept error from " + _CLIENT + r": (?P<reason>.*)$",
             category=_NETWORK, types=("connection",), outcome="failure"),
    LineKind("log", r"^(?P<level>warning|error|fatal|panic): (?P<reason>.*)$"),
    # --- postscreen verdicts: the verb names the action (PREGREET -> pregreet, ...) ---
    LineKind("reject", _REJECT, family="postscreen", types=("denied",), origin=True),
    LineKind("postscreen", r"^(?P<verb>[A-Z][A-Z -]*[A-Z])\b", family="postscreen", category=_NETWORK,
             types=("connection",), more=(r"\[(?P<client_ip>" + _IP + r")\](?::(?P<client_port>\d{1,5}))?",)),
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


def _header(lines: pa.Array) -> dict[str, pa.Array]:
    """Syslog header fields of each line and its message (null where no header reads)."""
    found = classify(lines, np.full(len(lines), "syslog", dtype=object), SYSLOG_HEADERS)
    fields = {name: found.get(name) for name in ("bsd", "date", "time", "frac", "zone", "host",
                                                  "program", "pid")}
    fields["pid"] = pc.if_else(pc.equal(fields["pid"], "-"), _NULL_STR, fields["pid"])
    texts = []
    for number, kind in enumerate(SYSLOG_HEADERS):
        rows = np.flatnonzero(found.kind == number)
        if len(rows):
            texts.append((rows, take_prefix(lines.take(pa.array(rows)), kind.pattern)[1]))
    fields["text"] = _scatter(len(lines), texts) if texts else pa.nulls(len(lines), pa.string())
    return fields


def _syslog_timestamps(head: dict[str, pa.Array], ctx: ParseContext) -> tuple[pa.Array, pa.Array]:
    """BSD (year inferred, ctx.timezone) or ISO header timestamps -> (UTC, read locally)."""
    bsd = per_run(head["bsd"], lambda rows: parse_syslog(head["bsd"].take(pa.array(rows)), ctx))
    date_time = pc.binary_join_element_wise(head["date"], head["time"], " ")
    iso, iso_local = iso_timestamps(date_time, head["frac"], head["zone"], ctx)
    local = pc.or_(pc.is_valid(head["bsd"]), pc.and_(pc.is_valid(date_time), iso_local))
    return pc.coalesce(bsd, iso), local


def parse_postfix(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Postfix syslog lines -> message fragments, events of their own, dead letters, skips."""
    blank = _blank(batch.lines)
    head = _header(batch.lines)
    timestamps, read_locally = _syslog_timestamps(head, ctx)
    has_header = np.asarray(pc.is_valid(head["text"]), dtype=bool) & ~blank
    keep = has_header & np.asarray(pc.is_valid(timestamps), dtype=bool)

    program = pc.if_else(pa.array(keep), head["program"], _NULL_STR)
    families = np.asarray(per_value(program, _postfix_family, pa.string()).fill_null("none"),
                          dtype=object)
    queued_family = np.isin(families, ("postfix", "opendkim", "opendmarc", "spf"))
    text = head["text"]
    split, rest = take_prefix(pc.if_else(pa.array(queued_family), text, _NULL_STR), QUEUE_ID)
    qid = group(split, "qid")
    has_qid = np.asarray(pc.is_valid(qid), dtype=bool)
    own_text = pc.replace_substring_regex(text, r"^NOQUEUE: ", "")
    body = pc.if_else(pa.array(has_qid), rest, own_text)
    body = pc.if_else(pa.array(families == "other"), _NULL_STR, body)
    found = classify(body, families, POSTFIX_KINDS)
    g = found.get

    # postfix lines of their own that no kind gave a client: the first 'host[ip]' they name
    unnamed = pa.array(np.isin(families, ("postfix", "postscreen")) & ~has_qid
                       & ~np.asarray(pc.is_valid(g("client_ip")), dtype=bool))
    named = pc.extract_regex(pc.if_else(unnamed, body, _NULL_STR), ANY_CLIENT)
    client_ip = valid_ip(pc.coalesce(g("client_ip"), group(named, "client_ip")))
    client_host = pc.coalesce(without(pc.coalesce(g("client_host"), group(named, "client_host")),
                                      "unknown"), g("listed_host"))
    client_port = pc.coalesce(g("client_port"), group(named, "client_port"))
    user = g("user")
    relay = g("relay")
    relay_parts = pc.extract_regex(relay, r"^(?P<host>[^\[]*)\[(?P<ip>[^\]]*)\](?::(?P<port>\d{1,5}))?$")
    dest_ip = valid_ip(group(relay_parts, "ip"))

    header = pc.extract_regex(g("hc_text"), HEADER_TEXT)
    header_name = pc.utf8_lower(group(header, "hname"))
    header_value = group(header, "hvalue")
    subject = pc.if_else(pc.equal(header_name, "subject"), header_value, _NULL_STR)
    attachment = _attachment_names(pc.if_else(
        pc.is_in(header_name, pa.array(["content-type", "content-disposition"])), header_value, _NULL_STR))

    rejected = pc.or_(pc.is_in(g("rj"), pa.array(["reject", "milter-reject"])),
                      pc.equal(g("hc_action"), "reject").fill_null(False))
    status = pc.coalesce(g("status"), pc.if_else(rejected, "rejected", _NULL_STR))
    verb = pc.utf8_lower(g("verb"))
    auth_failed = pc.less(g("auth_ok").cast(pa.int64()), g("auth_total").cast(pa.int64()))
    outcome = pc.coalesce(
        mapped(status, STATUS_OUTCOME), mapped(verb, POSTSCREEN_OUTCOME),
        mapped(g("spf"), SPF_OUTCOME),
        pc.if_else(pc.is_in(g("rj"), pa.array(["milter-discard", "discard"])), "failure", _NULL_STR),
        pc.if_else(auth_failed, "failure", _NULL_STR),
        kind_values(found, POSTFIX_KINDS, "outcome", pa.string()))
    action = pc.coalesce(g("rj"), pc.replace_substring(verb, " ", "-"), g("level"),
                         kind_values(found, POSTFIX_KINDS, "action", pa.string()),
                         pa.scalar("syslog"))
    origin = kind_values(found, POSTFIX_KINDS, "origin", pa.bool_()).fill_null(False)
    inside = pc.or_(pc.is_valid(user), pc.equal(action, "pickup"))
    mail_line = pa.array(families != "other")
    product = pc.if_else(pc.is_in(pa.array(families, pa.string()), pa.array(["postfix", "postscreen"])),
                         "postfix", pc.utf8_lower(pc.replace_substring_regex(program, r"[/\[].*$", "")))

    columns = {
        "message": text,
        "event.category": pc.if_else(mail_line, categories(found, POSTFIX_KINDS),
                                     pa.scalar(None, pa.list_(pa.string()))),
        "event.type": kind_values(found, POSTFIX_KINDS, "types", pa.list_(pa.string())),
        "event.action": action,
        "event.outcome": outcome,
        "event.reason": g("reason"),
        "event.timezone": pc.if_else(read_locally, ctx.timezone, _NULL_STR),
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
        "destination.domain": group(relay_parts, "host"),
        "destination.port": group(relay_parts, "port"),
        "network.protocol": pc.if_else(pc.is_valid(client_ip), "smtp", _NULL_STR),
        "related.ip": list_of(client_ip, dest_ip),
        "related.user": user,
        "user.name": user,
        "user.email": _email_like(user),
        "email.sender.address": _email_like(user),
        "email.local_id": qid,
        "email.message_id": g("msgid"),
        "email.from.address": g("from"),
        "email.to.address": list_of(g("to"), pc.if_else(pc.equal(g("orig_to"), g("to")),
                                                        _NULL_STR, g("orig_to"))),
        "email.subject": per_value(subject, decode_words, pa.string()),
        "email.x_mailer": pc.if_else(pc.equal(header_name, "x-mailer"), header_value, _NULL_STR),
        "email.attachments.file.name": attachment,
        "email.direction": _direction(origin, client_ip, inside),
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
    no_header = np.flatnonzero(~blank & ~has_header)
    bad_time = np.flatnonzero(has_header & ~keep)
    return _result(batch, POSTFIX, keep, has_qid, timestamps, columns, stitch_keys, [
        (no_header, "no syslog header: expected 'Mmm dd HH:MM:SS host program[pid]: message' "
                    "or an ISO 8601 / RFC 5424 timestamp header"),
        (bad_time, "syslog timestamp does not exist (bad date)"),
    ], int(blank.sum()))


def _email_like(values: pa.Array) -> pa.Array:
    """Values that look like a mail address (contain '@'), null otherwise."""
    return pc.if_else(pc.match_substring(values, "@"), values, _NULL_STR)


def _attachment_names(header_values: pa.Array) -> pa.Array:
    """Content-Type / Content-Disposition values -> the file name they carry (decoded)."""
    found = pc.extract_regex(header_values, ATTACHMENT)
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
    program = pc.utf8_lower(_header(pa.array(sample, pa.string()))["program"]).to_pylist()
    postfix = sum(1 for p in program if p and p.startswith("postfix"))
    mail = sum(1 for p in program if p and p.startswith(MAIL_PROGRAMS))
    return mail / len(sample) if postfix / len(sample) >= POSTFIX_SHARE_MIN else 0.0


# ---------------------------------------------------------------------------------------------
# Exim (mainlog)
# ---------------------------------------------------------------------------------------------

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
                 r"(?::(?P<port>\d{1,5}))?(?: I=\[[^\]]*\](?::\d+)?)?(?: Ci=\d+)?(?: (?P<tail>.*))?$")
# the first '[ip]' after a space or H= (not inside '(helo)'), with a dotted host name before it
EXIM_ANY_HOST = (r"(?:^|[ ]|H=)(?:(?P<host>[A-Za-z0-9_-]*\.[A-Za-z0-9._-]+|localhost) )?"
                 r"(?:\([^)]*\) )?\[(?P<ip>" + _IP + r")\](?::(?P<port>\d{1,5}))?")
_H = r" H=(?P<hspec>(?:[^\s(\[]+ ?)?(?:\([^)]*\) ?)?\[[^\]]*\](?::\d+)?)"
_SENDER = r"(?:^|\s)F=<?(?P<from>[^>\s]*)>?"
_RCPT = r"(?P<rcpt>\S+)(?: <(?P<orig>[^>]*)>)?"

EXIM_KINDS: tuple[LineKind, ...] = (
    # --- lines of a message (after its id: fragments) ---
    LineKind("delivery", r"^(?P<flag>=>|->|>>|\*>) " + _RCPT, family="exim",
             more=(_H, r" T=(?P<transport>[^\s:]+)",
                   r" C=\"(?P<reason>(?:[^\"\\]|\\.)*)\"")),
    LineKind("arrival", r"^<= (?P<from>\S+)", family="exim", origin=True,
             more=(_H, r" A=(?P<mech>[^\s:]+)(?::(?P<user>\S+))?", r" S=(?P<size>\d{1,18})",
                   r" id=(?P<msgid>\S+)", r" T=\"(?P<subject>(?:[^\"\\]|\\.)*)\"",
                   r" for (?P<rcpts>[^\"]+)$")),
    LineKind("completed", r"^Completed\b", family="exim"),
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
             r"(?:connection from |\".*\" )(?P<hspec>H=.*)$", family="exim", category=_NETWORK,
             types=("connection", "denied"), outcome="failure"),
    LineKind("protocol-error", r"^SMTP protocol error in \"(?:.*)\" (?P<hspec>H=.*)$",
             family="exim", category=_NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("connection-dropped", r"^SMTP call from (?P<hspec>.*?) dropped: (?P<reason>.*)$",
             family="exim", category=_NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("connection-dropped", r"^SMTP connection from (?P<hspec>.*) closed by DROP in ACL$",
             family="exim", category=_NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("connection-dropped", r"^(?P<hspec>H=.*?) dropped by '[^']*' ACL: (?P<reason>.*)$",
             family="exim", category=_NETWORK, types=("connection", "denied"), outcome="failure"),
    LineKind("lost-connection", r"^SMTP connection from (?P<hspec>.*) lost\b ?(?P<reason>.*)$",
             family="exim", category=_NETWORK, types=("connection", "end")),
    LineKind("disconnect", r"^SMTP connection from (?P<hspec>.*) closed by QUIT$", family="exim",
             category=_NETWORK, types=("connection", "end")),
    LineKind("connect", r"^SMTP connection from (?P<hspec>.*)$", family="exim", category=_NETWORK,
             types=("connection", "start")),
    LineKind("no-mail", r"^no MAIL in SMTP connection from (?P<hspec>.*)$", family="exim",
             category=_NETWORK, types=("connection", "end")),
    LineKind("tls-error", r"^TLS error on connection from (?P<hspec>.*?) \([^)]*\): (?P<reason>.*)$",
             family="exim", category=_NETWORK, types=("connection",), outcome="failure"),
    LineKind("reverse-dns-failure", r"^no host name found for IP address (?P<ip>[0-9A-Fa-f:.]+)$",
             family="exim", category=_NETWORK, types=("connection",)),
    LineKind("forward-dns-failure", r"^no IP address found for host (?P<claimed_host>\S+) \(during "
             r"SMTP connection from (?P<hspec>.*)\)$", family="exim", category=_NETWORK,
             types=("connection",)),
)


def parse_exim(batch: LineBatch, ctx: ParseContext) -> ParseResult:
    """Exim mainlog lines -> message fragments, events of their own, dead letters, skips."""
    blank = _blank(batch.lines)
    found_prefix, body = take_prefix(batch.lines, EXIM_PREFIX)
    has_prefix = np.asarray(found_prefix.is_valid(), dtype=bool) & ~blank
    prefix = {f.name: group(found_prefix, f.name) for f in found_prefix.type}
    date_time = pc.binary_join_element_wise(prefix["date"], prefix["time"], " ")
    timestamps, read_locally = iso_timestamps(date_time, prefix["frac"], prefix["zone"], ctx)
    keep = has_prefix & np.asarray(pc.is_valid(timestamps), dtype=bool)

    body = pc.if_else(pa.array(keep), body, _NULL_STR)
    split, rest = take_prefix(body, EXIM_MESSAGE)
    message_id = group(split, "id")
    has_id = np.asarray(pc.is_valid(message_id), dtype=bool)
    text = pc.if_else(pa.array(has_id), rest, body)
    families = np.where(keep, "exim", "none").astype(object)
    found = classify(text, families, EXIM_KINDS)
    g = found.get

    spec = pc.extract_regex(g("hspec"), EXIM_HOSTSPEC)
    unclassified = pa.array(found.kind < 0)
    anywhere = pc.extract_regex(pc.if_else(unclassified, text, _NULL_STR), EXIM_ANY_HOST)

    def host_field(name: str) -> pa.Array:
        return pc.coalesce(group(spec, name), group(anywhere, name))

    client_ip = valid_ip(pc.coalesce(host_field("ip"), g("ip")))
    tail = group(spec, "tail")
    hostname = pc.coalesce(prefix["host"], prefix["jhost"])
    user = g("user")
    flag = g("flag")
    status = pc.coalesce(
        pc.if_else(pc.is_valid(flag), pc.if_else(pc.equal(flag, "*>"), "suppressed", "sent"), _NULL_STR),
        kind_values(found, EXIM_KINDS, "status", pa.string()))
    recipient = _exim_recipient(g("rcpt"), g("orig"))
    is_delivery = pc.is_valid(g("rcpt"))
    relay = pc.if_else(is_delivery, pc.coalesce(
        _relay(host_field("host"), host_field("ip"), host_field("port")), g("transport")), _NULL_STR)
    source_ip = pc.if_else(is_delivery, _NULL_STR, client_ip)
    dest_ip = pc.if_else(is_delivery, client_ip, _NULL_STR)
    sender = pc.coalesce(g("sender"), g("from"))
    sender = pc.if_else(pc.equal(sender, "<>"), _NULL_STR, sender)
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
        "event.timezone": pc.if_else(read_locally, ctx.timezone, _NULL_STR),
        "log.syslog.hostname": hostname,
        "log.syslog.appname": pc.if_else(pc.is_valid(hostname), "exim", _NULL_STR),
        "log.syslog.procid": pc.coalesce(prefix["pid"], prefix["jpid"], prefix["lpid"]),
        "observer.hostname": hostname,
        "source.ip": source_ip,
        "source.domain": pc.if_else(is_delivery, _NULL_STR,
                                    pc.coalesce(host_field("host"), g("claimed_host"))),
        "source.port": pc.if_else(is_delivery, _NULL_STR, host_field("port")),
        "destination.ip": dest_ip,
        "destination.domain": pc.if_else(is_delivery, host_field("host"), _NULL_STR),
        "destination.port": pc.if_else(is_delivery, host_field("port"), _NULL_STR),
        "network.protocol": pc.if_else(pc.is_valid(source_ip), "smtp", _NULL_STR),
        "related.ip": list_of(client_ip),
        "related.user": user,
        "user.name": user,
        "user.email": _email_like(user),
        "email.sender.address": _email_like(user),
        "email.local_id": message_id,
        "email.message_id": g("msgid"),
        "email.from.address": sender,
        "email.to.address": recipients,
        "email.subject": per_value(subject, decode_words, pa.string()),
        "email.direction": _direction(origin, client_ip, inside),
        "vigie.mail.size": g("size"),
        "vigie.mail.status": status,
        "vigie.mail.relay": relay,
        "vigie.mail.sasl_method": g("mech"),
    }
    file_or_host = pc.coalesce(hostname, pa.scalar(batch.file_key))
    stitch_keys = pc.binary_join_element_wise(file_or_host, message_id, "/")
    return _result(batch, EXIM, keep, has_id, timestamps, columns, stitch_keys, [
        (np.flatnonzero(~blank & ~has_prefix), "no exim timestamp: expected 'YYYY-MM-DD HH:MM:SS "
                                               "message' (optionally 'host exim[pid]:' around it)"),
        (np.flatnonzero(has_prefix & ~keep), "exim timestamp does not exist (bad date or zone)"),
    ], int(blank.sum()))


def _relay(host: pa.Array, ip: pa.Array, port: pa.Array) -> pa.Array:
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


POSTFIX = LogFormat("postfix", "mail", parse_postfix, detect_postfix,
                    observer={"product": "postfix", "type": "mail-server"}, stitched=True)
EXIM = LogFormat("exim", "mail", parse_exim, detect_exim,
                 observer={"product": "exim", "type": "mail-server"}, stitched=True)

FORMATS: list[LogFormat] = [POSTFIX, EXIM]
