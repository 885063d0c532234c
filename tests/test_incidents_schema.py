"""schemas/incidents.yml is the record's contract: records carry exactly its keys, round-trip
through Arrow and JSONL, and generate the vigie-incidents template (kept fresh by
`vigie schema render --check`); incidents.jsonl holds final records in batch and every
revision in streaming, and readers keep the highest revision per id."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from incident_rows import ATTACKER, campaign, inventory, noise, signal
from pipelines.cli import main
from pipelines.errors import VigieError
from pipelines.incidents.assembly import Assembler, assemble
from pipelines.schema import OBJECT, SchemaError, _parse_fields, incident_fields, incident_schema, index_templates
from pipelines.sinks.incidents import (append_incidents, incident_counts, read_incidents, records_to_table,
                                       table_to_records, write_incidents)

CONTRACT_KEYS = {
    "incident.id", "incident.revision", "incident.status", "incident.title", "incident.kind",
    "incident.severity", "incident.severity_label", "incident.score", "incident.score_parts",
    "incident.first_seen", "incident.last_seen", "incident.detected_at", "incident.datasets",
    "incident.services", "incident.entities", "incident.tactics", "incident.techniques",
    "incident.attack_chain", "incident.signals", "incident.evidence", "incident.actions",
    "incident.deadlines"}


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    inv = inventory(tmp_path_factory.mktemp("inventory"))
    hostile = signal("vpn-abroad", 300, source_ip="46.20.20.20",
                     user_name="<script>alert(1)</script>{{ 7*7 }}\u202e\x07",
                     event_original="GET /?q=<script> \u202egnp.exe\n" + "A" * 3000)
    return assemble(campaign() + noise() + [hostile], inv)


def check_keys(fields, value, where):
    """`value` has exactly the keys the schema fields name, recursively."""
    assert set(value) == {f.name for f in fields}, where
    for field in fields:
        item = value[field.name]
        if field.type == OBJECT and item is not None:
            for element in (item if field.array else [item]):
                check_keys(field.children, element, f"{where}.{field.name}")


def test_records_carry_exactly_the_schema_keys_and_the_contract(records):
    fields = list(incident_fields().values())
    assert CONTRACT_KEYS <= {f.name for f in fields}
    entities = incident_fields()["incident.entities"]
    assert {"accounts", "mailboxes", "source_ips", "hosts", "domains", "assets"} <= {c.name for c in entities.children}
    for record in records:
        check_keys(fields, record, record["incident.id"])


def test_arrow_round_trip(records):
    table = records_to_table(records)
    assert table.schema == incident_schema()
    assert table.schema.field("incident.detected_at").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("incident.evidence").type.value_type.field("log.offset").type == pa.int64()
    assert table_to_records(table) == records
    with pytest.raises(VigieError, match="not in schemas/incidents.yml"):
        records_to_table([{**records[0], "incident.surprise": 1}])


def test_jsonl_batch_holds_the_final_revision_of_each_incident(records, tmp_path: Path):
    path = tmp_path / "incidents" / "incidents.jsonl"
    older = [{**r, "incident.revision": 0, "incident.title": "stale"} for r in records]
    assert write_incidents(path, older + records) == len(records)
    lines = path.read_text(encoding="ascii").splitlines()
    assert len(lines) == len(records)
    assert sorted(json.loads(line)["incident.id"] for line in lines) == sorted(r["incident.id"] for r in records)
    assert read_incidents(path) == sorted(records, key=lambda r: (r["incident.detected_at"], r["incident.id"]))
    assert incident_counts(read_incidents(path)) == {"incidents": len(records) - 1, "incidents_merged": 1}
    assert [r["incident.status"] for r in read_incidents(path, include_merged=False)].count("merged") == 0


def test_jsonl_streaming_appends_revisions_and_readers_keep_the_highest(tmp_path: Path, records):
    inv = inventory(tmp_path)
    path = tmp_path / "incidents.jsonl"
    assembler = Assembler(inv)
    rows = sorted(campaign(), key=lambda r: r["@timestamp"])
    written = 0
    for start in range(0, len(rows), 7):
        assembler.add_all(rows[start:start + 7])
        written += append_incidents(path, assembler.flush())
    lines = path.read_text(encoding="ascii").splitlines()
    assert len(lines) == written > len(read_incidents(path))
    final = read_incidents(path)
    ids = [json.loads(line)["incident.id"] for line in lines]
    assert all(r["incident.revision"] == ids.count(r["incident.id"]) for r in final)


def test_a_broken_line_is_named(tmp_path: Path, records):
    path = tmp_path / "incidents.jsonl"
    write_incidents(path, records)
    with open(path, "a") as handle:
        handle.write('{"incident.id": "inc-x"\n')
    with pytest.raises(VigieError, match=r"incidents.jsonl line \d+: not an incident record"):
        read_incidents(path)


def test_hostile_text_is_escaped_in_the_file_and_kept_intact(records, tmp_path: Path):
    path = tmp_path / "incidents.jsonl"
    write_incidents(path, records)
    raw = path.read_bytes()
    assert b"\xe2\x80\xae" not in raw and b"\x07" not in raw  # no raw bidi override or bell
    record = next(r for r in read_incidents(path) if "46.20.20.20" in r["incident.entities"]["source_ips"])
    assert any("\u202e" in a for a in record["incident.entities"]["accounts"])
    assert len(record["incident.evidence"][0]["event.original"]) == 2000


def test_the_incidents_template_is_generated_and_fresh():
    template = index_templates()["vigie-incidents"]
    assert template["index_patterns"] == ["vigie-incidents-*"]
    properties = template["template"]["mappings"]["properties"]["incident"]["properties"]
    assert properties["detected_at"] == {"type": "date"}
    assert properties["entities"]["properties"]["source_ips"] == {"type": "ip"}
    evidence = properties["evidence"]["properties"]
    assert evidence["log"]["properties"]["offset"] == {"type": "long"}
    assert evidence["event"]["properties"]["original"] == {"type": "wildcard"}
    assert template["_meta"]["generated_by"].endswith("(from schemas/incidents.yml)")
    assert main(["schema", "render", "--check"]) == 0


def test_object_fields_need_children(tmp_path: Path):
    with pytest.raises(SchemaError, match="is an object and needs fields"):
        _parse_fields([{"name": "x", "type": "object", "description": "d"}], tmp_path / "x.yml")
    with pytest.raises(SchemaError, match="has fields but is not an object"):
        _parse_fields([{"name": "x", "type": "keyword", "description": "d",
                        "fields": [{"name": "y", "type": "keyword", "description": "d"}]}], tmp_path / "x.yml")


def test_signals_without_optional_fields_still_make_records(tmp_path: Path):
    bare = {"signal.id": "s1", "@timestamp": "2026-11-27T17:00:00Z", "rule.id": "r", "rule.level": "high",
            "source.ip": ATTACKER}
    record = assemble([bare])[0]
    check_keys(list(incident_fields().values()), record, "bare")
    assert record["incident.evidence"] == [] and record["incident.datasets"] == []
    records_to_table([record])
    with pytest.raises(ValueError, match="signal.id and @timestamp"):
        assemble([{"rule.id": "r"}])
