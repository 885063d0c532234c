"""Small MaxMind-format databases for the enrichment tests, written with mmdb-writer, so that
GeoIP and ASN results are exact and no downloaded database is needed."""
from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter, MmdbF64, MmdbU32
from netaddr import IPSet

# network -> (country, city, lat, lon, asn, organisation)
NETWORKS = {
    "45.137.21.0/24": ("US", "Ashburn", 39.0437, -77.4875, 64500, "Example Bulletproof Hosting LLC"),
    "185.220.100.0/22": ("DE", "Berlin", 52.52, 13.405, 64501, "Example Tor Relays e.V."),
    "90.118.42.0/24": ("FR", "Lyon", 45.764, 4.8357, 64502, "Example French Broadband"),
    "78.201.64.0/24": ("FR", "Paris", 48.8566, 2.3522, 64503, "Example French Fibre"),
    "193.252.22.0/24": ("FR", "Paris", 48.8566, 2.3522, 64504, "Example Mail Provider"),
    "162.142.125.0/24": ("US", "Ann Arbor", 42.2808, -83.743, 64505, "Example Scanner Inc."),
    "2001:67c:2e8::/48": ("NL", "Amsterdam", 52.3676, 4.9041, 64506, "Example IPv6 Network"),
}


def write_dbs(folder: Path) -> tuple[str, str]:
    """Write test-City.mmdb and test-ASN.mmdb (IPv6 trees holding IPv4) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    city = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="Vigie-Test-City",
                      languages=["en"], description="Vigie test city database")
    asn = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="Vigie-Test-ASN",
                     languages=["en"], description="Vigie test ASN database")
    for net, (country, name, lat, lon, number, org) in NETWORKS.items():
        city.insert_network(IPSet([net]), {
            "country": {"iso_code": country, "names": {"en": country}},
            "city": {"names": {"en": name}},
            "location": {"latitude": MmdbF64(lat), "longitude": MmdbF64(lon)},
        })
        asn.insert_network(IPSet([net]), {"autonomous_system_number": MmdbU32(number),
                                          "autonomous_system_organization": org})
    city_path, asn_path = folder / "test-City.mmdb", folder / "test-ASN.mmdb"
    city.to_db_file(str(city_path))
    asn.to_db_file(str(asn_path))
    return str(city_path), str(asn_path)
