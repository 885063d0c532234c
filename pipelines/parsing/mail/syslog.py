"""Syslog headers of mail server logs: BSD ('Mmm dd HH:MM:SS host program[pid]: '), ISO 8601 and
RFC 5424, column-wise.

In: lines. Out: the header fields of each line (host, program, pid, time parts) and its message,
null where no header reads; timestamps in UTC (BSD times take their year from the context).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import ParseContext, parse_syslog
from pipelines.parsing.columns import NULL_STR, per_run, scatter
from pipelines.parsing.mail.common import cut_prefix, iso_timestamps
from pipelines.parsing.mail.kinds import LineKind, classify

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


def syslog_header(lines: pa.Array) -> dict[str, pa.Array]:
    """Syslog header fields of each line and its message (null where no header reads)."""
    found = classify(lines, "syslog", SYSLOG_HEADERS)
    fields = {name: found.get(name) for name in ("bsd", "date", "time", "frac", "zone", "host",
                                                  "program", "pid")}
    fields["pid"] = pc.if_else(pc.equal(fields["pid"], "-"), NULL_STR, fields["pid"])
    texts = []
    for number, kind in enumerate(SYSLOG_HEADERS):
        rows = np.flatnonzero(found.kind == number)
        if len(rows):
            headed = lines if len(rows) == len(lines) else lines.take(pa.array(rows))
            texts.append((rows, cut_prefix(headed, kind.pattern)))
    fields["text"] = scatter(len(lines), texts) if texts else pa.nulls(len(lines), pa.string())
    return fields


def syslog_timestamps(head: dict[str, pa.Array], ctx: ParseContext) -> tuple[pa.Array, pa.Array]:
    """BSD (year inferred, ctx.timezone) or ISO header timestamps -> (UTC, read locally)."""
    bsd = per_run(head["bsd"], lambda rows: parse_syslog(head["bsd"].take(pa.array(rows)), ctx))
    date_time = pc.binary_join_element_wise(head["date"], head["time"], " ")
    iso, iso_local = iso_timestamps(date_time, head["frac"], head["zone"], ctx)
    local = pc.or_(pc.is_valid(head["bsd"]), pc.and_(pc.is_valid(date_time), iso_local))
    return pc.coalesce(bsd, iso), local
