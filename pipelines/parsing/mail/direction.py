"""email.direction: where a message goes, from the hospital's point of view.

Per line (parsers): a line that shows where a message came from (Postfix `client=`, `pickup`,
rejections; Exim `<=`, rejections) says "outbound" when the client authenticated (SASL / Exim
A=), submitted locally (pickup, Exim without H=) or connected from an internal address, and
"inbound" when it connected from any other address. Stitching turns "outbound" into "internal"
when every delivery of the message stayed inside (stitch.mail_direction).

"Internal address" is THE predicate of parsing/columns.py. Parsers know only the reserved
ranges; enrichment knows the inventory's `internal_networks` too (the hospital's own public
blocks) and calls `with_inventory` with its own view of the client and of the next hops, so a
message from or to the hospital's public block is not called inbound or outbound.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing.columns import NULL_STR, groups, internal_mask, ip, mask


def line_direction(origin: pa.Array, client_ip: pa.Array, inside: pa.Array) -> pa.Array:
    """Origin lines -> 'outbound' when `inside` (auth, local) or the client is internal, else
    'inbound'; null on other lines and where neither a client nor `inside` is known."""
    internal = internal_mask(client_ip).fill_null(False)
    known = pc.or_(pc.is_valid(client_ip), inside)
    out = pc.if_else(pc.or_(inside, internal), "outbound", "inbound")
    return pc.if_else(pc.and_(origin, known), out, NULL_STR)


def relay_addresses(relays: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """A list<string> column of next hops (vigie.mail.relay) -> (row of each hop, the hop's
    address or null, whether the hop is known: 'none' and empty hops are not).

    'host[ip]:port' -> ip; 'host[private/dovecot-lmtp]' (a unix socket) and transport names
    (local, virtual, Exim's local_delivery) are known hops without an address: inside."""
    relays = relays.combine_chunks() if isinstance(relays, pa.ChunkedArray) else relays
    hops = pc.list_flatten(relays)
    rows = pc.list_parent_indices(relays)
    address = ip(groups(hops, r"\[(?P<v>[^\]]*)\]")["v"])
    known = pc.and_(pc.is_valid(hops), pc.invert(pc.is_in(hops, value_set=pa.array(["none", ""]))))
    return rows, address, known.fill_null(False)


def hops_inside(n: int, rows: pa.Array, known: pa.Array, inside: pa.Array) -> pa.Array:
    """Per row: True when every known hop is inside, False when one leaves, null without a
    known hop. `inside` is per hop (a hop without an address counts as inside)."""
    rows_np = np.asarray(rows, dtype=np.int64)
    known_np = mask(known)
    leaves = known_np & ~mask(inside.fill_null(True))
    counted = np.bincount(rows_np[known_np], minlength=n)
    left = np.bincount(rows_np[leaves], minlength=n)
    return pa.array(left == 0, pa.bool_(), mask=counted == 0)


def with_inventory(direction: pa.Array, source_internal: pa.Array, hops_internal: pa.Array) -> pa.Array:
    """email.direction recomputed with enrichment's view of what is internal.

    `direction` is the parser's (or stitcher's) value; `source_internal` says whether source.ip
    is internal (null: no address); `hops_internal` whether every known next hop is inside (null:
    none known). A message that came in from an internal client is outbound; an outbound message
    whose hops all stayed inside is internal; anything else is unchanged."""
    inbound_from_inside = pc.and_(pc.equal(direction, "inbound"), source_internal).fill_null(False)
    outbound = pc.or_(pc.equal(direction, "outbound").fill_null(False), inbound_from_inside)
    stays = hops_internal.fill_null(False)
    return pc.if_else(outbound, pc.if_else(stays, "internal", "outbound"), direction)
