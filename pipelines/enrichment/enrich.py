"""Enrich an event batch: geography and network owner of its addresses, list membership, and
what the inventory says of its account and asset. Vectorised: per distinct value, never per event.

In: an Arrow table with the event schema. Out: the same table with the enrichment columns of
schemas/fields.yml filled (source./destination.geo.*, .as.*, network.direction,
vigie.source/destination.internal, vigie.threat.lists, vigie.source.usual_country, user.roles,
vigie.user.*, vigie.asset.*, and on mail the inventory accounts of the sender and recipient
mailboxes, vigie.mail.sender_account / recipient_accounts; user.name is left as the log wrote
it, since on mail it means "authenticated submission"), and email.direction recomputed with the
inventory's internal networks. Each address column is dictionary-encoded; only its distinct
values are looked up, through a bounded cache kept across batches (`Enricher` lives as long as
the DoFn instance); results are spread back to rows with `take`.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.enrichment.geo import GeoSource, geo_source
from pipelines.enrichment.inventory import Account, Inventory, load_inventory
from pipelines.enrichment.networks import (NetworkSet, ipv4_values, is_reserved, parse_address,
                                           reserved_ipv4_mask)
from pipelines.enrichment.threat import ListReport, load_threat_lists
from pipelines.parsing.mail.direction import hops_inside, relay_addresses, with_inventory
from pipelines.schema import event_schema

ADDRESS_SIDES = ("source", "destination")
ASSET_HOST_COLUMNS = ("host.hostname", "url.domain", "observer.hostname")
ASSET_ADDRESS_COLUMNS = ("destination.ip", "server.ip")
DEFAULT_CACHE_SIZE = 200_000
# What the address table keeps per address (see AddressTable).
ADDRESS_COLUMNS = ("internal", "country", "city", "location", "asn", "org", "lists")


def address_types() -> dict[str, pa.DataType]:
    """The Arrow type of each attribute the address table keeps (ADDRESS_COLUMNS)."""
    return {"internal": pa.bool_(), "country": pa.string(), "city": pa.string(),
            "location": event_schema().field("source.geo.location").type, "asn": pa.int64(),
            "org": pa.string(), "lists": pa.list_(pa.string())}


class BoundedCache:
    """A dict of at most `size` entries; when full, the oldest entries (at least a tenth) are
    dropped first (FIFO), and of more new values than fit, the last ones are kept."""

    def __init__(self, size: int):
        self.size = max(1, size)
        self.data: dict[Any, Any] = {}
        self.hits = self.misses = 0

    def get_many(self, keys: Sequence[Any], compute: Callable[[list[Any]], list[Any]]) -> list[Any]:
        """Values for `keys`, computing the missing ones in one call of `compute`."""
        missing = [k for k in keys if k not in self.data]
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        if missing:
            fresh = dict(zip(missing, compute(missing)))
            overflow = len(self.data) + len(fresh) - self.size
            if overflow > 0:
                drop = min(len(self.data), max(overflow, self.size // 10))
                for key in list(itertools.islice(self.data, drop)):
                    del self.data[key]
            self.data.update(list(fresh.items())[-self.size:])
            return [self.data[k] if k in self.data else fresh[k] for k in keys]
        return [self.data[k] for k in keys]


class AddressTable:
    """What is known of every address seen so far, as Arrow columns.

    `row_ids(distinct)`: an array of distinct address strings -> the table row of each, found
    with Arrow's `index_in` (a dict in Python was twice as slow on the enrichment bench);
    addresses not yet in the table are computed in one call of `compute` (string array ->
    ADDRESS_COLUMNS arrays) and appended. `column(name)` holds one attribute for every row, so a
    batch's values are two `take`s away: no Python per row, nor per address once it is known.
    A bounded cache: when the table would outgrow `capacity` it starts afresh (holding at least
    the addresses of the batch at hand).
    """

    def __init__(self, capacity: int):
        self.capacity = max(1, capacity)
        self.hits = self.misses = 0
        self.clear()

    def clear(self) -> None:
        self.keys = pa.array([], pa.string())
        self.chunks: dict[str, list[pa.Array]] = {name: [] for name in ADDRESS_COLUMNS}

    def __len__(self) -> int:
        return len(self.keys)

    def row_ids(self, distinct: pa.Array, compute: Callable[[pa.Array], dict[str, pa.Array]]) -> pa.Array:
        ids = pc.index_in(distinct, value_set=self.keys)
        missing = pc.indices_nonzero(pc.is_null(ids))
        self.misses += len(missing)
        self.hits += len(distinct) - len(missing)
        if len(missing) == 0:
            return ids
        if len(self.keys) + len(missing) > self.capacity:
            self.clear()
            missing = pa.array(np.arange(len(distinct)))
        fresh = compute(distinct.take(missing))
        for name in ADDRESS_COLUMNS:
            self.chunks[name].append(fresh[name])
        self.keys = pa.concat_arrays([self.keys, distinct.take(missing).cast(pa.string())])
        return pc.index_in(distinct, value_set=self.keys)

    def column(self, name: str) -> pa.Array:
        """One attribute (ADDRESS_COLUMNS) for every row of the table (empty before the first
        address: a batch whose address column is all null still takes from it)."""
        chunks = self.chunks[name]
        if not chunks:
            return pa.array([], address_types()[name])
        if len(chunks) > 1:
            chunks[:] = [pa.concat_arrays(chunks)]
        return chunks[0]


def _encoded(column: pa.ChunkedArray | pa.Array) -> tuple[list, pa.Array]:
    """A column -> (its distinct values, int32 indices per row with nulls where null)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(array)
    return encoded.dictionary.to_pylist(), encoded.indices


def _spread(values: list, arrow_type: pa.DataType, indices: pa.Array) -> pa.Array:
    """Per-distinct values -> per-row array (null where the row's key is null)."""
    return pa.array(values, arrow_type).take(indices)


class Enricher:
    """The loaded enrichment sources and the per-value caches. Picklable (caches and database
    readers are rebuilt in each worker process)."""

    def __init__(self, geo: GeoSource, lists: NetworkSet, list_reports: list[ListReport],
                 inventory: Inventory | None, cache_size: int = DEFAULT_CACHE_SIZE):
        self.geo = geo
        self.lists = lists
        self.list_reports = list_reports
        self.inventory = inventory
        self.cache_size = cache_size
        self._reset_caches()

    def _reset_caches(self) -> None:
        self.addresses = AddressTable(self.cache_size)
        self.account_cache = BoundedCache(self.cache_size)
        self.mailbox_cache = BoundedCache(self.cache_size)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for cache in ("addresses", "account_cache", "mailbox_cache"):
            state.pop(cache, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reset_caches()

    def describe(self) -> dict:
        """summary.json's account of the enrichment sources."""
        return {"geo": self.geo.description,
                "threat_lists": [r.as_dict() for r in self.list_reports],
                "inventory": self.inventory.summary() if self.inventory else None}

    # --- per distinct value ----------------------------------------------------------------

    def _address_columns(self, texts: pa.Array) -> dict[str, pa.Array]:
        """ADDRESS_COLUMNS for an array of distinct address strings. Dotted-quad IPv4 (nearly
        all) is parsed and judged vectorised; IPv6 and unreadable text go one by one, and so do
        all addresses when threat lists or the inventory's own networks must be consulted.
        Reserved and inventory-internal addresses are never looked up; unreadable text is
        neither internal nor found."""
        n = len(texts)
        values, readable = ipv4_values(texts)
        internal = reserved_ipv4_mask(values) & readable
        strings = texts.to_pylist()
        internal_nets = self.inventory.internal if self.inventory else None
        lists: list[list[str] | None] = [None] * n
        one_by_one = range(n) if (self.lists or internal_nets) else np.flatnonzero(~readable).tolist()
        for i in one_by_one:
            if readable[i]:
                key = (4, int(values[i]))
            else:
                address = parse_address(strings[i])
                if address is None:
                    continue
                readable[i], internal[i] = True, is_reserved(address)
                key = (address.version, int(address))
            if internal_nets and internal_nets.labels_of(*key):
                internal[i] = True
            if self.lists:
                lists[i] = list(self.lists.labels_of(*key)) or None
        public = np.flatnonzero(readable & ~internal)
        geo = self.geo.lookup_columns([strings[i] for i in public.tolist()])
        # Rows of the looked-up values for each address (null: not looked up).
        where = np.full(n, -1, dtype=np.int64)
        where[public] = np.arange(len(public))
        spread = pa.array(where, mask=where < 0)
        lat, lon = (pa.array(geo[c], pa.float64()).take(spread) for c in ("lat", "lon"))
        location_type = event_schema().field("source.geo.location").type
        location = pa.StructArray.from_arrays([lat, lon], fields=list(location_type),
                                              mask=pc.or_(pc.is_null(lat), pc.is_null(lon)))
        return {"internal": pa.array(internal), "lists": pa.array(lists, pa.list_(pa.string())),
                "country": pa.array(geo["country"], pa.string()).take(spread),
                "city": pa.array(geo["city"], pa.string()).take(spread),
                "asn": pa.array(geo["asn"], pa.int64()).take(spread),
                "org": pa.array(geo["as_org"], pa.string()).take(spread),
                "location": location}

    # --- the batch -------------------------------------------------------------------------

    def enrich(self, table: pa.Table) -> pa.Table:
        """The batch with every enrichment column filled (see the module docstring)."""
        columns: dict[str, pa.Array] = {}
        n = table.num_rows
        internal_side: dict[str, pa.Array] = {}
        lists_per_side = []
        for side in ADDRESS_SIDES:
            if f"{side}.ip" not in table.column_names:
                continue
            column = table[f"{side}.ip"]
            array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
            encoded = pc.dictionary_encode(array)
            rows = self.addresses.row_ids(encoded.dictionary, self._address_columns).take(encoded.indices)
            get = lambda name: self.addresses.column(name).take(rows)  # noqa: E731
            columns.update({f"{side}.geo.country_iso_code": get("country"),
                            f"{side}.geo.city_name": get("city"),
                            f"{side}.geo.location": get("location"),
                            f"{side}.as.number": get("asn"),
                            f"{side}.as.organization.name": get("org")})
            # An empty string is no address: its side is neither internal nor external.
            internal_side[side] = pc.if_else(pc.equal(array, ""), None, get("internal"))
            columns[f"vigie.{side}.internal"] = internal_side[side]
            if self.lists:
                lists_per_side.append(get("lists"))
        if "source" in internal_side:
            columns["network.direction"] = _direction(internal_side["source"],
                                                      internal_side.get("destination"))
        if self.inventory is not None and self.inventory.internal and "email.direction" in table.column_names:
            columns["email.direction"] = self._mail_direction(table, internal_side.get("source"))
        if lists_per_side:
            columns["vigie.threat.lists"] = _union_lists(lists_per_side, n)
        if self.inventory is not None:
            columns.update(self._inventory_columns(table, columns))
        return _with_columns(table, columns)

    def _mail_direction(self, table: pa.Table, source_internal: pa.Array | None) -> pa.Array:
        """email.direction seen with the inventory's internal networks (mail/direction.py): the
        parser only knew the reserved ranges. Next hops are judged through the address table."""
        n = table.num_rows
        direction = table["email.direction"].combine_chunks()
        source = source_internal if source_internal is not None else pa.nulls(n, pa.bool_())
        hops = pa.nulls(n, pa.bool_())
        if "vigie.mail.relay" in table.column_names:
            rows, address, known = relay_addresses(table["vigie.mail.relay"])
            if len(address):
                encoded = pc.dictionary_encode(address)
                ids = self.addresses.row_ids(encoded.dictionary, self._address_columns).take(encoded.indices)
                hops = hops_inside(n, rows, known, self.addresses.column("internal").take(ids))
        return with_inventory(direction, source, hops)

    def _inventory_columns(self, table: pa.Table, done: dict[str, pa.Array]) -> dict[str, pa.Array]:
        inventory = self.inventory
        out: dict[str, pa.Array] = {}
        if "user.name" in table.column_names:
            users, indices = _encoded(table["user.name"])
            accounts: list[Account | None] = self.account_cache.get_many(users, lambda keys: [inventory.account(k) for k in keys])
            out["user.roles"] = _spread([list(a.roles) if a and a.roles else None for a in accounts],
                                        pa.list_(pa.string()), indices)
            out["vigie.user.known"] = _spread([a is not None for a in accounts], pa.bool_(), indices)
            out["vigie.user.department"] = _spread([a.department if a else None for a in accounts], pa.string(), indices)
            for flag in ("admin", "service_account", "disabled", "vip"):
                out[f"vigie.user.{flag}"] = _spread([getattr(a, flag) if a else None for a in accounts],
                                                    pa.bool_(), indices)
            out["vigie.source.usual_country"] = self._usual_country(table, done, accounts, indices)
        out.update(self._mail_account_columns(table))
        out.update(self._asset_columns(table))
        return out

    def _mailbox_accounts(self, lists: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray, pa.Array]:
        """A list<string> column of mail addresses -> (row of each address, account code of each
        address or -1, account names by code), looked up once per distinct address."""
        array = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
        parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False).astype(np.int64)
        addresses, indices = _encoded(pc.list_flatten(array))
        inventory = self.inventory
        found = self.mailbox_cache.get_many(addresses, lambda keys: [inventory.account_by_mailbox(k) for k in keys])
        names = list(dict.fromkeys(a.name for a in found if a is not None))
        code_of = {name: i for i, name in enumerate(names)}
        per_address = np.array([code_of[a.name] if a is not None else -1 for a in found] + [-1], dtype=np.int64)
        rows = indices.fill_null(len(addresses)).to_numpy(zero_copy_only=False).astype(np.int64)
        return parents, per_address[rows], pa.array(names, pa.string())

    def _mail_account_columns(self, table: pa.Table) -> dict[str, pa.Array]:
        """vigie.mail.sender_account (the first sender address that is an inventory mailbox) and
        vigie.mail.recipient_accounts (accounts of the recipient mailboxes, in order, no repeats)."""
        n = table.num_rows
        out: dict[str, pa.Array] = {}
        if "email.from.address" in table.column_names:
            parents, codes, names = self._mailbox_accounts(table["email.from.address"])
            hit = np.flatnonzero(codes >= 0)
            rows, first = np.unique(parents[hit], return_index=True)
            pick = np.full(n, len(names), dtype=np.int64)
            pick[rows] = codes[hit[first]]
            out["vigie.mail.sender_account"] = pa.concat_arrays(
                [names, pa.nulls(1, pa.string())]).take(pa.array(pick))
        if "email.to.address" in table.column_names:
            parents, codes, names = self._mailbox_accounts(table["email.to.address"])
            hit = np.flatnonzero(codes >= 0)
            pairs = parents[hit] * (len(names) + 1) + codes[hit]
            keep = hit[np.sort(np.unique(pairs, return_index=True)[1])]
            counts = np.bincount(parents[keep], minlength=n)
            offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32())
            out["vigie.mail.recipient_accounts"] = pa.ListArray.from_arrays(
                offsets, names.take(pa.array(codes[keep])), mask=pa.array(counts == 0))
        return out

    def _usual_country(self, table: pa.Table, done: dict[str, pa.Array], accounts: list,
                       user_indices: pa.Array) -> pa.Array:
        """True/false per row with a user: is the source's country one this account (or, by
        default, the hospital's staff) usually connects from. Null without a user, when the
        source is internal or its country unknown, or when no usual country is known."""
        n = table.num_rows
        country = done.get("source.geo.country_iso_code")
        if country is None:
            return pa.nulls(n, pa.bool_())
        # One row per distinct country set (a few at most) x one column per distinct country.
        sets = list(dict.fromkeys([self.inventory.countries_for(a) for a in accounts]))
        set_of_user = np.array([sets.index(self.inventory.countries_for(a)) for a in accounts] + [0],
                               dtype=np.int64)
        countries, country_idx = _encoded(country)
        if not countries or not sets:
            return pa.nulls(n, pa.bool_())
        hit = np.array([[c in s for c in countries] for s in sets], dtype=bool)
        no_set = np.array([not s for s in sets], dtype=bool)
        users = user_indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        cidx = country_idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        row_set = set_of_user[np.where(users >= 0, users, len(accounts))]
        result = hit[row_set, np.maximum(cidx, 0)]
        mask = (users < 0) | (cidx < 0) | no_set[row_set]
        return pa.array(result, pa.bool_(), mask=mask)

    def _asset_columns(self, table: pa.Table) -> dict[str, pa.Array]:
        """The most critical asset per row, from addresses and host names."""
        inventory = self.inventory
        if not inventory.assets:
            return {}
        n = table.num_rows
        best = np.full(n, -1, dtype=np.int64)
        best_rank = np.zeros(n, dtype=np.int64)
        index_of = {id(a): i for i, a in enumerate(inventory.assets)}
        candidates = [(c, lambda v: inventory.asset_by_address(parse_address(v)) if parse_address(v) else None)
                      for c in ASSET_ADDRESS_COLUMNS]
        candidates += [(c, inventory.asset_by_host) for c in ASSET_HOST_COLUMNS]
        candidates.append(("log.file.path", inventory.asset_by_log_path))
        for column, lookup in candidates:
            if column not in table.column_names:
                continue
            values, indices = _encoded(table[column])
            found = [lookup(v) if v else None for v in values]
            asset_ids = np.array([index_of[id(a)] if a else -1 for a in found] + [-1], dtype=np.int64)
            ranks = np.array([a.rank if a else 0 for a in found] + [0], dtype=np.int64)
            rows = indices.fill_null(len(values)).to_numpy(zero_copy_only=False).astype(np.int64)
            better = ranks[rows] > best_rank
            best = np.where(better, asset_ids[rows], best)
            best_rank = np.where(better, ranks[rows], best_rank)
        names = [a.name for a in inventory.assets] + [None]
        levels = [a.criticality for a in inventory.assets] + [None]
        pick = pa.array(np.where(best < 0, len(inventory.assets), best))
        return {"vigie.asset.name": pa.array(names, pa.string()).take(pick),
                "vigie.asset.criticality": pa.array(levels, pa.string()).take(pick)}


def _direction(source_internal: pa.Array, destination_internal: pa.Array | None) -> pa.Array:
    """ECS network.direction from the two sides' internal flags; a missing destination is the
    device that wrote the log, which belongs to the hospital (internal)."""
    src = source_internal
    dst = pc.fill_null(destination_internal, True) if destination_internal is not None \
        else pa.array(np.ones(len(src), bool))
    out = pc.if_else(src, pc.if_else(dst, "internal", "outbound"), pc.if_else(dst, "inbound", "external"))
    return out.cast(pa.string())


def _union_lists(arrays: list[pa.Array], n: int) -> pa.Array:
    """Per row, the union (first-seen order) of several list<string> arrays; null when empty."""
    merged: list[list[str] | None] = [None] * n
    for array in arrays:
        lengths = pc.fill_null(pc.list_value_length(array), 0).to_numpy(zero_copy_only=False)
        for row in np.flatnonzero(lengths):
            names = merged[row] or []
            merged[row] = names + [x for x in array[int(row)].as_py() if x not in names]
    return pa.array(merged, pa.list_(pa.string()))


def _with_columns(table: pa.Table, columns: dict[str, pa.Array]) -> pa.Table:
    """`table` with the given columns replaced (cast to the table's field types)."""
    for name, array in columns.items():
        index = table.schema.get_field_index(name)
        if index < 0:
            continue
        field = table.schema.field(index)
        table = table.set_column(index, field, array.cast(field.type) if array.type != field.type else array)
    return table


def build_enricher(city_db: str | None = None, asn_db: str | None = None,
                   threat_lists: list[str] | None = None, inventory: list[str] | None = None,
                   cache_size: int = DEFAULT_CACHE_SIZE) -> Enricher:
    """Load every enrichment source (VigieError when one cannot be used)."""
    networks, reports = load_threat_lists(threat_lists)
    return Enricher(geo_source(city_db, asn_db), networks, reports, load_inventory(inventory),
                    cache_size)
