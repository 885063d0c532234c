"""GeoIP and ASN lookups for public addresses: MaxMind DB files, or the offline default.

In: address strings already known to be public (see networks.is_reserved). Out: columns
(GEO_COLUMNS: country, city, coordinates, AS number and organisation), one value or None per
address.

- `MaxMindGeo` reads the standard MaxMind DB format (GeoLite2/GeoIP2 City or Country, DB-IP
  City/Country Lite; GeoLite2 ASN / DB-IP ASN Lite) with the `maxminddb` reader. The files are
  opened lazily (a reader does not pickle), memory-mapped, once per process.
- `OfflineCountry` needs no file: `iptocc` ships the Regional Internet Registries' delegation
  data in its wheel and answers the country only (the country the block is registered to).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from pipelines import storage
from pipelines.errors import VigieError


@dataclass(frozen=True)
class GeoRecord:
    """What a lookup says about one address (None where the source has nothing)."""

    country: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    asn: int | None = None
    as_org: str | None = None


EMPTY = GeoRecord()


# The columns a lookup answers, in GeoRecord's field order.
GEO_COLUMNS = ("country", "city", "lat", "lon", "asn", "as_org")


class GeoSource(Protocol):
    """Something that answers, for a list of public addresses, one list per GEO_COLUMNS name
    (one value or None per address, same order)."""

    description: str

    def lookup_columns(self, addresses: Sequence[str]) -> dict[str, list]:
        """GEO_COLUMNS name -> values, one per address."""


def _as_columns(records: list[GeoRecord]) -> dict[str, list]:
    return {name: [getattr(r, name) for r in records] for name in GEO_COLUMNS}


def _open_db(path: str):
    """A MaxMind DB reader of a local file (memory-mapped), or of a file on a Beam filesystem
    (gs://...: read whole into memory, so Dataflow workers need no copy in their image)."""
    import maxminddb

    if storage.is_remote(path):
        return maxminddb.open_database(io.BytesIO(storage.read_bytes(path)), maxminddb.MODE_FD)
    return maxminddb.open_database(storage.local(path))


def _check_db(path: str, flag: str) -> None:
    """Fail early, with what to do, when a database file cannot be used."""
    import maxminddb

    if not (storage.exists(path) if storage.is_remote(path) else Path(path).is_file()):
        raise VigieError(f"{flag} {path}: no such file; give the path of a MaxMind DB (.mmdb) file")
    try:
        reader = _open_db(path)
        reader.metadata()
        reader.close()
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise VigieError(f"{flag} {path}: not a readable MaxMind DB file ({exc}); "
                         "give a .mmdb file such as GeoLite2-City.mmdb") from None


def _name(names: object) -> str | None:
    """The English name of a MaxMind `names` map (or None)."""
    return names.get("en") if isinstance(names, dict) else None


class MaxMindGeo:
    """City/Country and/or ASN MaxMind DB files (either may be None)."""

    def __init__(self, city_db: str | None, asn_db: str | None):
        if city_db:
            _check_db(city_db, "--geoip-city-db")
        if asn_db:
            _check_db(asn_db, "--geoip-asn-db")
        self.city_db, self.asn_db = city_db, asn_db
        parts = [f"city/country {city_db}"] * bool(city_db) + [f"ASN {asn_db}"] * bool(asn_db)
        self.description = "MaxMind DB: " + ", ".join(parts)
        self._readers: tuple | None = None
        # Without a City/Country file, countries still come from the offline default.
        self._countries = None if city_db else OfflineCountry()
        if self._countries is not None:
            self.description += f"; countries from the {self._countries.description}"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_readers"] = None
        return state

    def _open(self) -> tuple:
        if self._readers is None:
            self._readers = tuple(_open_db(p) if p else None
                                  for p in (self.city_db, self.asn_db))
        return self._readers

    def lookup_columns(self, addresses: Sequence[str]) -> dict[str, list]:
        city_reader, asn_reader = self._open()
        out = []
        for address in addresses:
            city = city_reader.get(address) if city_reader else None
            asn = asn_reader.get(address) if asn_reader else None
            out.append(_record(city if isinstance(city, dict) else {},
                               asn if isinstance(asn, dict) else {}))
        columns = _as_columns(out)
        if self._countries is not None:
            columns["country"] = self._countries.lookup_columns(addresses)["country"]
        return columns


def _record(city: dict, asn: dict) -> GeoRecord:
    """A GeoRecord from a City/Country DB entry and an ASN DB entry (GeoLite2 / DB-IP layout).
    The country is where the address is used, else the country it is registered to."""
    country = city.get("country") or city.get("registered_country") or {}
    location = city.get("location") or {}
    lat, lon = location.get("latitude"), location.get("longitude")
    number = asn.get("autonomous_system_number")
    return GeoRecord(
        country=country.get("iso_code"),
        city=_name((city.get("city") or {}).get("names")),
        lat=float(lat) if lat is not None and lon is not None else None,
        lon=float(lon) if lat is not None and lon is not None else None,
        asn=int(number) if number is not None else None,
        as_org=asn.get("autonomous_system_organization"),
    )


class OfflineCountry:
    """Country only, from iptocc's embedded RIR data (no file, no network)."""

    def __init__(self) -> None:
        import iptocc  # noqa: F401 - fail at set-up, not in the middle of a run, if it is missing

        self.description = f"offline default: iptocc {_version('iptocc')} (country only, RIR data)"

    def lookup_columns(self, addresses: Sequence[str]) -> dict[str, list]:
        from iptocc import country_code

        codes = country_code(list(addresses)) if addresses else []
        nothing = [None] * len(codes)
        return {"country": [c or None for c in codes], "city": nothing, "lat": nothing,
                "lon": nothing, "asn": nothing, "as_org": nothing}


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def geo_source(city_db: str | None, asn_db: str | None) -> GeoSource:
    """The MaxMind DBs when any is given, else the offline default."""
    if city_db or asn_db:
        return MaxMindGeo(city_db, asn_db)
    return OfflineCountry()
