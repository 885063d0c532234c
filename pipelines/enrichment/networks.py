"""Addresses and networks: which addresses are internal, and fast membership in CIDR sets.

In: address strings (IPv4 or IPv6, as parsers write them). Out: `is_internal(addr)` (private or
reserved: never looked up in a GeoIP database) and `NetworkSet`, a set of networks answering
"which of my labels contain this address" in one dict lookup per prefix length.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str | None) -> IPAddress | None:
    """An address object, or None for an empty or unreadable string (IPv6 zone ids dropped)."""
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.split("%", 1)[0].strip())
    except ValueError:
        return None


def is_reserved(address: IPAddress) -> bool:
    """True for every address that is not globally routable: RFC 1918, loopback, link-local,
    CGNAT (100.64.0.0/10), documentation, benchmarking, multicast, unique-local IPv6, ...
    An IPv4-mapped IPv6 address is judged by its IPv4 address."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return not address.is_global or address.is_multicast


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
        found: list[str] = []
        value = int(address)
        for (version, prefix), table in self._by_prefix.items():
            if version != address.version:
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
