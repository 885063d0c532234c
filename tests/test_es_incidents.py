"""Incidents in Elasticsearch: a replay indexes them by id (counted apart from events and
signals, in the balance), `vigie es verify` checks them and `vigie es backfill` sends them again."""
from __future__ import annotations

import json
from pathlib import Path

from elasticsearch import Elasticsearch

from pipelines.cli import main
from pipelines.commands.es import verify
from pipelines.indices import INCIDENTS_INDEX
from pipelines.scenario.chu import generate_chu
from pipelines.sinks.es_cluster import settings_from
from pipelines.sinks.incidents import incidents_path, read_incidents


def test_replayed_incidents_are_indexed_verified_and_backfilled(es_node, tmp_path: Path):
    client = Elasticsearch(es_node.url)
    # Indices that earlier tests created with narrower test templates would refuse this replay's
    # fields (strict mappings): start from an empty cluster.
    client.indices.delete(index="vigie-*", ignore_unavailable=True, allow_no_indices=True)
    scenario, out = tmp_path / "chu", tmp_path / "out"
    generate_chu(scenario, events=6000, seed=3)
    assert main(["replay", str(scenario), "--out", str(out), "--timezone", "Europe/Paris",
                 "--inventory", str(scenario / "inventory.yml"), "--es-url", es_node.url]) == 0
    summary = json.loads((out / "summary.json").read_text())
    records = read_incidents(incidents_path(out))
    assert records and summary["balanced"] is True
    counts = summary["elasticsearch"]["incident_documents"]
    assert counts["documents_sent"] == counts["documents_indexed"] == len(records)
    client.indices.refresh(index=INCIDENTS_INDEX)
    stored = client.get(index=INCIDENTS_INDEX, id=records[0]["incident.id"])["_source"]
    assert stored["incident.title"] == records[0]["incident.title"]
    result = verify(out, settings_from(es_node.url))
    assert result[INCIDENTS_INDEX]["archive"] == len(records) == result[INCIDENTS_INDEX]["found"]
    client.indices.delete(index=INCIDENTS_INDEX)  # lost: backfill puts them back
    assert main(["es", "backfill", str(out), "--es-url", es_node.url]) == 0
    assert verify(out, settings_from(es_node.url))[INCIDENTS_INDEX]["missing"] == 0
