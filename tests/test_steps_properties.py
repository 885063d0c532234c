"""Property tests of the steps after parsing: enrichment and detection take batches of any
composition (no address at all, one row, all-null columns, every row from a new address,
arbitrary text in every field) without raising and without losing or adding a row."""
from __future__ import annotations

import pyarrow as pa
from hypothesis import HealthCheck, given, settings, strategies as st

from pipelines.detection.engine import detect
from pipelines.detection.loader import load_rules
from pipelines.enrichment.enrich import build_enricher
from pipelines.resources import data_dir
from pipelines.schema import event_schema

ENRICHER = build_enricher()
RULES = load_rules([data_dir("detections")])
SCHEMA = event_schema()
TEXT_FIELDS = [f.name for f in SCHEMA if pa.types.is_string(f.type)]
DATASETS = ["web.apache_combined", "web.w3c", "web.squid", "mail.postfix", "mail.exim",
            "vpn.openvpn", "vpn.cisco_asa", "vpn.fortigate", "vpn.globalprotect", None]

addresses = st.one_of(st.none(), st.just(""), st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str),
                      st.text(max_size=20))
text = st.one_of(st.none(), st.text(max_size=60))


@st.composite
def event_rows(draw) -> dict:
    row = {"event.id": draw(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)),
           "event.dataset": draw(st.sampled_from(DATASETS)),
           "source.ip": draw(addresses), "destination.ip": draw(addresses), "server.ip": draw(addresses),
           "user.name": draw(text), "url.domain": draw(text), "observer.hostname": draw(text)}
    for name in draw(st.lists(st.sampled_from(TEXT_FIELDS), max_size=6)):
        row[name] = draw(st.text(max_size=80))
    if row["event.dataset"]:
        row["event.module"] = row["event.dataset"].split(".")[0]
    return row


def table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(event_rows(), max_size=12), min_size=1, max_size=4))
def test_enrichment_takes_any_batch_and_keeps_every_row(batches):
    for rows in batches:  # one enricher across batches: its caches carry over
        events = table(rows)
        enriched = ENRICHER.enrich(events)
        assert enriched.num_rows == events.num_rows
        assert enriched["event.id"].to_pylist() == events["event.id"].to_pylist()
        assert enriched.schema == events.schema


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event_rows(), max_size=15))
def test_detection_takes_any_batch(rows):
    events = ENRICHER.enrich(table(rows))
    signals = detect(RULES, events)
    assert set(signals["event.id"].to_pylist()) <= set(events["event.id"].to_pylist())
    assert len(set(signals["signal.id"].to_pylist())) == signals.num_rows
