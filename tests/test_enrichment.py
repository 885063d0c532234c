"""Enrichment core without Beam: exact GeoIP/ASN from small MaxMind DBs built here, internal
addresses never looked up, per-value caching, threat lists with bad lines, inventory parsing,
usual countries, asset criticality, and impossible travel (including out-of-order input)."""
from __future__ import annotations

import datetime as dt

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to

from enrichment_dbs import write_dbs
from pipelines.enrichment.enrich import BoundedCache, Enricher, build_enricher
from pipelines.enrichment.geo import MaxMindGeo, OfflineCountry
from pipelines.enrichment.inventory import load_inventory
from pipelines.enrichment.threat import load_threat_lists, split_spec
from pipelines.correlation.travel import (Login, TRAVEL_RULE, impossible_travel, logins_from_events,
                                         travel_signals)
from pipelines.errors import VigieError
from pipelines.schema import event_schema, signal_schema
from pipelines.transforms.detect import DetectImpossibleTravel

T0 = dt.datetime(2026, 11, 27, 17, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def dbs(tmp_path_factory) -> tuple[str, str]:
    return write_dbs(tmp_path_factory.mktemp("mmdb"))


def events(*rows: dict) -> pa.Table:
    return pa.Table.from_pylist([dict(r) for r in rows], schema=event_schema())


class RecordingGeo(MaxMindGeo):
    """The real MaxMind reader, remembering which addresses it was asked about."""

    def __init__(self, city: str, asn: str):
        super().__init__(city, asn)
        self.asked: list[str] = []

    def lookup_columns(self, addresses):
        self.asked.extend(addresses)
        return super().lookup_columns(addresses)


def test_exact_geo_and_asn_from_the_maxmind_dbs(dbs):
    enricher = build_enricher(*dbs)
    out = enricher.enrich(events({"source.ip": "45.137.21.9", "destination.ip": "185.220.101.47"},
                                 {"source.ip": "2001:67c:2e8::15"},
                                 {"source.ip": "8.8.8.8"})).to_pylist()
    first = out[0]
    assert (first["source.geo.country_iso_code"], first["source.geo.city_name"]) == ("US", "Ashburn")
    assert first["source.geo.location"] == {"lat": 39.0437, "lon": -77.4875}
    assert (first["source.as.number"], first["source.as.organization.name"]) == (64500, "Example Bulletproof Hosting LLC")
    assert (first["destination.geo.country_iso_code"], first["destination.as.number"]) == ("DE", 64501)
    assert first["network.direction"] == "external" and first["vigie.source.internal"] is False
    assert (out[1]["source.geo.city_name"], out[1]["source.as.number"]) == ("Amsterdam", 64506)
    # not in the test DB: nothing invented
    assert out[2]["source.geo.country_iso_code"] is None and out[2]["source.as.number"] is None
    assert out[2]["vigie.source.internal"] is False


def test_private_and_reserved_addresses_are_internal_and_never_looked_up(dbs):
    geo = RecordingGeo(*dbs)
    enricher = Enricher(geo, *load_threat_lists(None), None)
    inside = ["10.20.1.5", "192.168.1.1", "172.16.4.4", "100.64.0.9", "127.0.0.1", "::1",
              "fe80::1", "fd00::5", "192.0.2.10", "169.254.1.1", "::ffff:10.0.0.1"]
    out = enricher.enrich(events(*({"source.ip": ip, "destination.ip": "45.137.21.9"} for ip in inside),
                                 {"source.ip": "not-an-ip"}, {"source.ip": None})).to_pylist()
    for row in out[:len(inside)]:
        assert row["vigie.source.internal"] is True, row["source.ip"]
        assert row["source.geo.country_iso_code"] is None and row["source.as.number"] is None
        assert row["network.direction"] == "outbound"
    assert geo.asked == ["45.137.21.9"]
    assert out[-2]["vigie.source.internal"] is False and out[-2]["source.geo.country_iso_code"] is None
    assert out[-1]["vigie.source.internal"] is None and out[-1]["network.direction"] is None
    inbound = enricher.enrich(events({"source.ip": "45.137.21.9"})).to_pylist()[0]
    assert inbound["network.direction"] == "inbound"  # no destination: the logging device, ours


def test_lookups_once_per_distinct_address_with_a_bounded_cache(dbs):
    geo = RecordingGeo(*dbs)
    enricher = Enricher(geo, *load_threat_lists(None), None, cache_size=10)
    batch = events(*({"source.ip": f"90.118.42.{i % 5 + 1}"} for i in range(1000)))
    enricher.enrich(batch)
    assert sorted(geo.asked) == [f"90.118.42.{i}" for i in range(1, 6)]
    enricher.enrich(batch)
    assert len(geo.asked) == 5 and enricher.addresses.hits >= 5
    many = events(*({"source.ip": f"78.201.64.{i}"} for i in range(1, 51)))
    out = enricher.enrich(many)
    assert out["source.geo.city_name"].to_pylist() == ["Paris"] * 50
    # One batch's own addresses are kept while it is enriched; the next starts afresh.
    assert len(enricher.addresses) == 50
    enricher.enrich(batch)
    assert len(enricher.addresses) == 5 and len(geo.asked) == 5 + 50 + 5


def test_bounded_cache_keeps_at_most_its_size():
    cache = BoundedCache(4)
    assert cache.get_many(list("abcdef"), lambda keys: [k.upper() for k in keys]) == list("ABCDEF")
    assert len(cache.data) <= 4
    assert cache.get_many(list("ff"), lambda keys: [k * 2 for k in keys]) == ["F", "F"]


def test_offline_default_gives_countries_only():
    enricher = build_enricher()
    assert isinstance(enricher.geo, OfflineCountry)
    out = enricher.enrich(events({"source.ip": "45.137.21.9"}, {"source.ip": "90.118.42.7"},
                                 {"source.ip": "10.0.0.1"})).to_pylist()
    assert [r["source.geo.country_iso_code"] for r in out] == ["US", "FR", None]
    assert out[0]["source.geo.city_name"] is None and out[0]["source.as.number"] is None


def test_asn_db_alone_still_gives_countries(dbs):
    out = build_enricher(None, dbs[1]).enrich(events({"source.ip": "45.137.21.9"})).to_pylist()[0]
    assert (out["source.geo.country_iso_code"], out["source.as.number"]) == ("US", 64500)


def test_unusable_database_is_a_one_line_error(tmp_path):
    with pytest.raises(VigieError, match="--geoip-city-db .*no such file") as missing:
        build_enricher(str(tmp_path / "nope.mmdb"))
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    with pytest.raises(VigieError, match="--geoip-asn-db .*not a readable MaxMind DB") as bad:
        build_enricher(None, str(broken))
    assert "\n" not in str(missing.value) and "\n" not in str(bad.value)


def test_threat_lists_tag_events_and_report_bad_lines(tmp_path, caplog):
    tor = tmp_path / "tor-exits.txt"
    tor.write_text("# Tor exits\n185.220.100.0/22\n\n171.25.193.20  ; one relay\n"
                   "999.1.1.1\nnot an address\n10.0.0.0/33\n2001:db8::/32\n", encoding="utf-8")
    cert = tmp_path / "cert.txt"
    cert.write_text("45.137.21.9\n185.220.101.47/32\n", encoding="utf-8")
    networks, reports = load_threat_lists([str(tor), f"cert-fr={cert}"])
    assert [(r.name, r.entries, r.bad_lines) for r in reports] == [("tor-exits", 3, 3), ("cert-fr", 2, 0)]
    assert reports[0].examples[0] == "line 5: '999.1.1.1'"
    assert "3 bad line(s)" in caplog.text
    enricher = Enricher(OfflineCountry(), networks, reports, None)
    out = enricher.enrich(events({"source.ip": "185.220.101.47"}, {"source.ip": "90.118.42.7"},
                                 {"source.ip": "10.1.1.1", "destination.ip": "45.137.21.9"})).to_pylist()
    assert [r["vigie.threat.lists"] for r in out] == [["tor-exits", "cert-fr"], None, ["cert-fr"]]
    with pytest.raises(VigieError, match="cannot read"):
        load_threat_lists([str(tmp_path / "missing.txt")])
    assert split_spec("tor=/x/y.txt") == ("tor", "/x/y.txt") and split_spec("/x/y.txt") == ("y", "/x/y.txt")


INVENTORY = """
usual_countries: [FR]
internal_networks: [193.51.24.0/24]
accounts:
  - {name: jdupont, roles: [physician], department: CARDIO}
  - {name: Admin-DSI, roles: [it-admin], admin: true, usual_countries: [FR, BE]}
  - {name: administrateur, admin: true, disabled: true}
  - {name: svc-backup, roles: [application], service_account: true}
assets:
  - {name: dpi, criticality: critical, networks: [10.10.5.21/32]}
  - {name: vpn, criticality: high, hostnames: [FGT-CHU-01]}
  - {name: www, criticality: high, log_files: ["*www-access.log"]}
  - {name: postes, criticality: low, networks: [10.20.0.0/16]}
"""


def test_inventory_marks_accounts_assets_and_usual_countries(tmp_path):
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY, encoding="utf-8")
    enricher = build_enricher(inventory=[str(path)])
    out = enricher.enrich(events(
        {"user.name": "JDUPONT", "source.ip": "90.118.42.7", "observer.hostname": "FGT-CHU-01"},
        {"user.name": "CHU\\jdupont", "source.ip": "45.137.21.9", "destination.ip": "10.10.5.21",
         "observer.hostname": "FGT-CHU-01"},
        {"user.name": "admin-dsi", "source.ip": "109.128.1.1"},
        {"user.name": "administrateur", "source.ip": "10.20.3.4"},
        {"user.name": "nobody", "source.ip": "45.137.21.9", "log.file.path": "/logs/web/www-access.log"},
        {"source.ip": "45.137.21.9"},
        {"user.name": "svc-backup", "source.ip": "193.51.24.7"})).to_pylist()
    assert out[0]["user.roles"] == ["physician"] and out[0]["vigie.user.department"] == "CARDIO"
    assert out[0]["vigie.source.usual_country"] is True
    assert (out[0]["vigie.asset.name"], out[0]["vigie.asset.criticality"]) == ("vpn", "high")
    assert out[1]["vigie.source.usual_country"] is False
    assert (out[1]["vigie.asset.name"], out[1]["vigie.asset.criticality"]) == ("dpi", "critical")
    assert out[2]["vigie.user.admin"] is True and out[2]["source.geo.country_iso_code"] == "BE"
    assert out[2]["vigie.source.usual_country"] is True  # the account's own countries
    assert out[3]["vigie.user.disabled"] is True and out[3]["vigie.source.usual_country"] is None
    assert out[4]["vigie.user.known"] is False and out[4]["vigie.source.usual_country"] is False
    assert out[4]["vigie.asset.name"] == "www"
    assert out[5]["vigie.source.usual_country"] is None and out[5]["vigie.user.known"] is None
    assert out[6]["vigie.user.service_account"] is True
    assert out[6]["vigie.source.internal"] is True and out[6]["source.geo.country_iso_code"] is None


def test_inventory_csv_tables(tmp_path):
    accounts, assets = tmp_path / "accounts.csv", tmp_path / "assets.csv"
    accounts.write_text("name,roles,department,admin,disabled,usual_countries\n"
                        "jdupont,physician;teacher,CARDIO,false,no,FR;BE\nold,,,,yes,\n", encoding="utf-8")
    assets.write_text("name,criticality,hostnames,networks\nmx1,high,mx1;mx1.chu.local,10.10.0.10\n",
                      encoding="utf-8")
    inventory = load_inventory([str(accounts), str(assets)])
    assert inventory.account("jdupont").roles == ("physician", "teacher")
    assert inventory.account("jdupont").usual_countries == ("FR", "BE")
    assert inventory.account("old").disabled is True
    assert inventory.asset_by_host("MX1.chu.local").criticality == "high"


@pytest.mark.parametrize("text, message", [
    ("accounts: [{name: a, admin: maybe}]", "accounts entry 1: admin must be true or false"),
    ("accounts: [{name: a}, {name: A}]", "accounts entry 2: account 'A' is listed twice"),
    ("accounts: [{roles: [x]}]", "accounts entry 1: every entry needs a name"),
    ("accounts: [{name: a, role: x}]", "unknown key 'role'"),
    ("assets: [{name: www, criticality: vital}]", "criticality must be one of low, medium, high, critical"),
    ("assets: [{name: www, criticality: high, networks: [10.0.0.0/40]}]", "'10.0.0.0/40' is not an address or CIDR"),
    ("usual_countries: [France]", "'FRANCE' is not an ISO 3166-1 alpha-2"),
    ("people: []", "unknown section 'people'"),
    ("accounts: [{name: a\n  - b", "not valid YAML"),
])
def test_inventory_errors_are_one_line(tmp_path, text, message):
    path = tmp_path / "inventory.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(VigieError) as error:
        load_inventory([str(path)])
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_inventory_is_an_error(tmp_path):
    with pytest.raises(VigieError, match="--inventory .*cannot read"):
        load_inventory([str(tmp_path / "none.yml")])


def login(event_id: str, minutes: float, country: str, lat=None, lon=None, user="tlemoine") -> Login:
    ms = int((T0 + dt.timedelta(minutes=minutes)).timestamp() * 1000)
    return Login(event_id, ms, user, "198.18.0.1", country, lat, lon, "vpn.fortigate", "/f.log", int(minutes))


def test_impossible_travel_sorts_by_event_time_itself():
    home = login("a", 0, "FR", 45.764, 4.8357)
    abroad = login("b", 55, "US", 39.0437, -77.4875)
    back = login("c", 60 * 20, "FR", 45.764, 4.8357)
    expected = impossible_travel([home, abroad, back])
    assert [(p.first.event_id, p.second.event_id) for p in expected] == [("a", "b")]
    assert impossible_travel([back, abroad, home]) == expected
    pair = expected[0]
    assert pair.precision == "city" and 6_400 < pair.distance_km < 6_600 and pair.speed_kmh > 7_000


def test_country_precision_and_limits():
    # no coordinates: country centroids; same country is never a pair at that precision
    assert impossible_travel([login("a", 0, "FR"), login("b", 5, "FR")]) == []
    pairs = impossible_travel([login("a", 0, "FR"), login("b", 30, "US", 39.0, -77.5)])
    assert [p.precision for p in pairs] == ["country"]
    # far but slow enough, and near: no signal
    assert impossible_travel([login("a", 0, "FR", 48.85, 2.35), login("b", 60 * 9, "US", 39.0, -77.5)]) == []
    assert impossible_travel([login("a", 0, "FR", 48.85, 2.35), login("b", 1, "FR", 48.9, 2.4)]) == []
    # a country without a centroid is skipped, not guessed
    assert impossible_travel([login("a", 0, "FR"), login("b", 5, "XK")]) == []


def test_travel_signals_have_both_events_and_deterministic_ids():
    pairs = impossible_travel([login("b", 40, "US", 39.0437, -77.4875), login("a", 0, "FR", 45.764, 4.8357)])
    table = travel_signals(pairs)
    assert table.schema == signal_schema()
    row = table.to_pylist()[0]
    assert row["vigie.evidence.event_ids"] == ["a", "b"] and row["event.id"] == "b"
    assert row["rule.id"] == TRAVEL_RULE["rule.id"] and row["vigie.travel.countries"] == ["FR", "US"]
    assert row["signal.id"] == travel_signals(pairs).to_pylist()[0]["signal.id"]
    assert row["@timestamp"] == T0 + dt.timedelta(minutes=40)
    assert travel_signals([]).num_rows == 0


def _vpn_events(rows: list[tuple[str, int, str, str]]) -> pa.Table:
    """(event id, minutes after T0, user, source ip) -> enriched-looking successful VPN logins."""
    table = events(*({"event.id": e, "@timestamp": T0 + dt.timedelta(minutes=m), "user.name": u,
                      "source.ip": ip, "event.action": "vpn-session-start", "event.outcome": "success",
                      "event.dataset": "vpn.fortigate"} for e, m, u, ip in rows))
    return build_enricher().enrich(table)


def test_logins_from_events_keep_public_successful_logins():
    table = _vpn_events([("a", 0, "x", "90.118.42.7"), ("b", 1, "x", "10.0.0.1"), ("c", 2, None, "45.137.21.9")])
    assert [l.event_id for l in logins_from_events(table)] == ["a"]


def test_travel_transform_ignores_arrival_order():
    later = ("later", _vpn_events([("b", 50, "tlemoine", "45.137.21.9"), ("d", 70, "other", "90.118.42.8")]))
    earlier = ("earlier", _vpn_events([("a", 0, "tlemoine", "90.118.42.7"), ("c", 65, "other", "45.137.21.9")]))
    # FnApiRunner: the judging timer's output (a stateful DoFn) is what the replay gets
    with BeamPipeline(runner="FnApiRunner") as p:
        signals = (p | beam.Create([later, earlier]) | DetectImpossibleTravel()
                   | beam.FlatMap(lambda named: [tuple(e) for e in named[1]["vigie.evidence.event_ids"].to_pylist()]))
        assert_that(signals, equal_to([("a", "b"), ("c", "d")]))


def test_vectorised_ipv4_path_agrees_with_the_address_module():
    """ipv4_values/reserved_ipv4_mask give what ipaddress/is_reserved give, on random
    addresses, on both edges of every reserved block, and on texts that are no dotted quad."""
    import ipaddress
    import random

    import pyarrow as pa

    from pipelines.enrichment.networks import _RESERVED_V4, ipv4_values, is_reserved, reserved_ipv4_mask

    rng = random.Random(5)
    numbers = [rng.getrandbits(32) for _ in range(50_000)]
    for block in map(ipaddress.IPv4Network, _RESERVED_V4):
        first, last = int(block.network_address), int(block.broadcast_address)
        numbers += [v for v in (first - 1, first, last, last + 1) if 0 <= v < 2 ** 32]
    texts = [str(ipaddress.IPv4Address(v)) for v in numbers]
    others = ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "a.b.c.d", "::1", "1.2.3.4 ", "", None]
    values, quad = ipv4_values(pa.array(texts + others, pa.string()))
    reserved = reserved_ipv4_mask(values)
    assert values[:len(texts)].tolist() == numbers and quad[:len(texts)].all()
    assert not quad[len(texts):].any()
    for text, inside in zip(texts, reserved.tolist()):
        assert inside == is_reserved(ipaddress.IPv4Address(text)), text


@pytest.mark.parametrize("rows", [
    [{"event.id": "a", "source.ip": None}],
    [{"event.id": "a"}, {"event.id": "b", "user.name": "alice"}],
    [],
], ids=["one-row-no-address", "no-address-column-values", "empty"])
def test_batches_without_any_address_enrich_without_error(rows):
    """A batch in which no event has an address (an Exim mainlog of local deliveries, firewall
    lines the parser does not classify) used to crash enrichment with an IndexError."""
    enricher = build_enricher()
    table = events(*rows) if rows else event_schema().empty_table()
    out = enricher.enrich(table)
    assert out.num_rows == table.num_rows
    assert out["source.geo.country_iso_code"].null_count == table.num_rows
    # and a later batch with addresses still works after the empty one
    later = enricher.enrich(events({"event.id": "c", "source.ip": "8.8.8.8"}))
    assert later["source.geo.country_iso_code"].to_pylist() == ["US"]
