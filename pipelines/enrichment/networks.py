"""Addresses and networks: which addresses are internal, and fast membership in CIDR sets.

In: address strings (IPv4 or IPv6, as parsers write them). Out: `is_internal(addr)` (private or
reserved: never looked up in a GeoIP database) and `NetworkSet`, a set of networks answering
"which of my labels contain this address" in one dict lookup per prefix length.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


# The IPv4 blocks `is_reserved` calls not globally routable (Python's table of special-purpose
# addresses, CGNAT and multicast), for the vectorised `reserved_ipv4_mask`; a test keeps both equal.
_RESERVED_V4 = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                "172.16.0.0/12", "192.0.0.0/29", "192.0.0.170/31", "192.0.2.0/24", "192.168.0.0/16",
                "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
                "255.255.255.255/32")


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = "^" + r"\.".join(f"(?P<o{i}>{_OCTET})" for i in range(4)) + "$"


def ipv4_values(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Address strings -> (32-bit values, mask of the dotted quads), vectorised; no address
    objects are built (several times faster than ipaddress for the common case).

    Values where the mask is False are 0 and meaningless (IPv6, garbage, nulls)."""
    quads = pc.extract_regex(texts, _DOTTED_QUAD)
    valid = pc.fill_null(pc.is_valid(quads), False).to_numpy(zero_copy_only=False)
    value = np.zeros(len(texts), dtype=np.uint64)
    for position in range(4):
        octets = pc.fill_null(pc.struct_field(quads, [position]), "0").cast(pa.uint64())
        value = value << np.uint64(8) | octets.to_numpy(zero_copy_only=False)
    return value, valid


def reserved_ipv4_mask(values: np.ndarray) -> np.ndarray:
    """`is_reserved` over IPv4 addresses given as 32-bit values, vectorised."""
    mask = np.zeros(len(values), dtype=bool)
    for first, last in _RESERVED_V4_RANGES:
        mask |= (values >= first) & (values <= last)
    return mask


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

_RESERVED_V4_RANGES = [(int(n.network_address), int(n.broadcast_address))
                       for n in map(ipaddress.IPv4Network, _RESERVED_V4)]
