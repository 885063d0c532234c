"""OpenVPN status files (--status, versions 1 to 3, and the management interface's `status`
output): one event per connected client and per routing-table entry.

In: lines of a status file. Out: for CLIENT_LIST / client rows the session as it stands (common
name, real address, virtual address, bytes each way, username; time = connected since) and for
ROUTING_TABLE / route rows the virtual address in use (time = last reference); the file's
headings (TITLE, TIME, HEADER, GLOBAL_STATS, END and the version-1 section titles and column
names) are skipped with the reason STATUS_HEADING.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.base import TS_TYPE, ParseContext, parse_local
from pipelines.parsing.columns import groups, mask, normalise_spaces

STATUS_HEADING = "openvpn status file heading"
_SEP = r"[,\t]"
_FIELD = r"[^,\t]*"
_CTIME = r"[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4}"
# version 2 and 3 (comma or tab separated, with a leading record type)
_CLIENT_V2 = (rf"^CLIENT_LIST{_SEP}(?P<cn>{_FIELD}){_SEP}(?P<real>{_FIELD}){_SEP}(?P<virtual>{_FIELD}){_SEP}"
              rf"(?:(?P<virtual6>{_FIELD}){_SEP})?(?P<rx>\d+){_SEP}(?P<tx>\d+){_SEP}(?P<since>{_FIELD}){_SEP}"
              rf"(?P<epoch>\d+)(?:{_SEP}(?P<username>{_FIELD}))?")
_ROUTE_V2 = (rf"^ROUTING_TABLE{_SEP}(?P<virtual>{_FIELD}){_SEP}(?P<cn>{_FIELD}){_SEP}(?P<real>{_FIELD}){_SEP}"
             rf"(?P<since>{_FIELD}){_SEP}(?P<epoch>\d+)")
# version 1 (comma separated, sections announced by titles)
_CLIENT_V1 = rf"^(?P<cn>[^,]+),(?P<real>[^,]+:\d+),(?P<rx>\d+),(?P<tx>\d+),(?P<since>{_CTIME})$"
_ROUTE_V1 = rf"^(?P<virtual>[0-9A-Fa-f.:/]+C?),(?P<cn>[^,]+),(?P<real>[^,]+:\d+),(?P<since>{_CTIME})$"
_HEADINGS = (r"^(?:TITLE|TIME|HEADER|GLOBAL_STATS|END)(?:[,\t]|$)|^OpenVPN CLIENT LIST$|^Updated,|"
             r"^Common Name,Real Address,|^ROUTING TABLE$|^Virtual Address,Common Name,|^GLOBAL STATS$|"
             r"^Max bcast/mcast queue length,")
_NAMES = ("cn", "real", "virtual", "rx", "tx", "since", "epoch", "username")


def status_headings(lines: pa.Array) -> np.ndarray:
    """Rows that are headings of a status file (skipped)."""
    return mask(pc.match_substring_regex(lines, _HEADINGS))


def read_status(lines: pa.Array, ctx: ParseContext) -> dict[str, pa.Array]:
    """Fields of status rows (null on other lines): cn, real, virtual, rx, tx, username, the
    row's time ("@timestamp"; the reference time, "no_time", when a row carries none), "route" (true
    for routing-table rows) and "is_status"."""
    n = len(lines)
    fields = {name: pa.nulls(n, pa.string()) for name in _NAMES}
    route = pa.array(np.zeros(n, dtype=bool))
    status = pa.array(np.zeros(n, dtype=bool))
    for pattern, is_route in ((_CLIENT_V2, False), (_ROUTE_V2, True), (_CLIENT_V1, False), (_ROUTE_V1, True)):
        found = groups(lines, pattern)
        hit = pc.and_not(pc.match_substring_regex(lines, pattern).fill_null(False), status)
        status = pc.or_(status, hit)
        for name in _NAMES:
            if name in found:
                fields[name] = pc.coalesce(fields[name], pc.if_else(hit, found[name], fields[name]))
        if is_route:
            route = pc.or_(route, hit.fill_null(False))
    # a record whose values hold separators themselves (a common name with a comma) cannot be
    # split into places: it is still a status row, with the first epoch time it carries
    loose = pc.and_not(pc.match_substring_regex(lines, r"^(?:CLIENT_LIST|ROUTING_TABLE)[,\t]").fill_null(False), status)
    loose_epoch = groups(lines, r"[,\t](?P<v>1\d{9})(?:[,\t]|$)")["v"]
    fields["epoch"] = pc.coalesce(fields["epoch"], pc.if_else(loose, loose_epoch, pa.scalar(None, pa.string())))
    route = pc.or_(route, pc.and_(loose, pc.starts_with(lines, "ROUTING_TABLE")))
    status = pc.or_(status, loose)
    epoch = pc.multiply(fields["epoch"].cast(pa.int64()), 1000).cast(TS_TYPE)
    since = parse_local(normalise_spaces(fields["since"]), "%a %b %d %H:%M:%S %Y", ctx.timezone)
    no_time = pc.and_(status, pc.is_null(pc.coalesce(epoch, since)))
    fields["@timestamp"] = pc.coalesce(epoch, since, pc.if_else(no_time, pa.scalar(ctx.reference_time, TS_TYPE),
                                                                pa.scalar(None, TS_TYPE)))
    fields["no_time"] = no_time
    fields["local"] = pc.and_(pc.is_null(epoch), pc.is_valid(since))
    fields["route"] = route
    fields["is_status"] = status
    fields["virtual"] = pc.replace_substring_regex(fields["virtual"], r"C$", "")
    return fields
