"""Addresses and networks: which addresses are internal, and fast membership in CIDR sets.

In: address strings (IPv4 or IPv6, as parsers write them). Out: `is_reserved(addr)` (private or
reserved: never looked up in a GeoIP database; the one definition is parsing/columns.py's
`is_internal`, shared with the mail parsers) and `NetworkSet`, a set of networks answering
"which of my labels contain this address" in one dict lookup per prefix length.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

from pipelines.parsing.columns import (INTERNAL_V4, internal_ipv4_mask, ipv4_values, is_internal,
                                       parse_address)

__all__ = ["IPAddress", "IPNetwork", "NetworkSet", "ipv4_values", "is_reserved", "parse_address",
           "parse_network", "reserved_ipv4_mask"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# The one definition of an internal (reserved) address lives in parsing/columns.py, so that the
# parsers (mail direction) and enrichment agree; these names are kept for enrichment's callers.
is_reserved = is_internal
reserved_ipv4_mask = internal_ipv4_mask
_RESERVED_V4 = INTERNAL_V4


class NetworkSet:
    """Networks with a label each; `labels(addr)` gives the labels of every network holding it.

    Lookups mask the address once per distinct prefix length in the set and look the result up
    in a dict, so the cost does not grow with the number of networks.
    """

    def __init__(self, entries: Iterable[tuple[IPNetwork, str]] = ()):
        self._by_prefix: dict[tuple[int, int], dict[int, tuple[str, ...]]] = {}
        self.size = 0
        for network, label in entries:
            self.add(network, label)

    def add(self, network: IPNetwork, label: str) -> None:
        """Add `network` under `label` (a network may carry several labels)."""
        table = self._by_prefix.setdefault((network.version, network.prefixlen), {})
        key = int(network.network_address)
        if label not in table.get(key, ()):
            table[key] = table.get(key, ()) + (label,)
            self.size += 1

    def labels(self, address: IPAddress) -> tuple[str, ...]:
        """Labels of the networks holding `address`, without repeats, in insertion order."""
        return self.labels_of(address.version, int(address))

    def labels_of(self, version: int, value: int) -> tuple[str, ...]:
        """`labels` for an address given as its IP version and integer value."""
        found: list[str] = []
        for (net_version, prefix), table in self._by_prefix.items():
            if net_version != version:
                continue
            bits = 32 if version == 4 else 128
            hit = table.get(value >> (bits - prefix) << (bits - prefix) if prefix else 0)
            if hit:
                found.extend(label for label in hit if label not in found)
        return tuple(found)

    def __bool__(self) -> bool:
        return self.size > 0


def parse_network(text: str) -> IPNetwork:
    """'10.0.0.0/8', '2001:db8::/32' or a single address -> a network (host bits are cleared,
    so '192.0.2.7/24' means 192.0.2.0/24). Raises ValueError when the text is neither."""
    return ipaddress.ip_network(text.strip(), strict=False)
