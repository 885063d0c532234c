"""The Elasticsearch sink's pure parts: documents, settings and secrets, template adaptation,
counter balance. (Everything that talks to a server is in test_es_faults.py / test_es_secure.py,
against real nodes.)"""
from __future__ import annotations

import datetime as dt

import orjson
import pyarrow as pa
import pytest

from pipelines import indices
from pipelines.errors import VigieError
from pipelines.schema import event_schema, index_templates, signal_schema
from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks import es_cluster

T0 = dt.datetime(2026, 11, 27, 16, 5, 7, 250000, tzinfo=dt.timezone.utc)


def event_table(rows: list[dict]) -> pa.Table:
    schema = event_schema()
    return pa.Table.from_pylist([{**{n: None for n in schema.names}, **r} for r in rows], schema=schema)


def web_event(i: int, **extra) -> dict:
    return {"@timestamp": T0, "event.id": f"{i:032x}", "event.dataset": "web.apache_combined",
            "event.module": "web", "event.kind": "event", "event.original": f"line {i}",
            "source.ip": f"203.0.113.{i % 250}", "related.ip": [f"203.0.113.{i % 250}"],
            "vigie.lines": 1, **extra}


def test_documents_omit_nulls_and_carry_the_deterministic_id_and_index():
    table = event_table([web_event(1), web_event(2, **{"url.path": "/a", "source.geo.location":
                                                        {"lat": 48.85, "lon": 2.35}})])
    docs = es_sink.documents(table, es_sink.EVENTS)
    assert docs.ids == [f"{1:032x}", f"{2:032x}"]
    assert docs.index == [indices.events_index("web.apache_combined")] * 2 == ["vigie-events-web-apache_combined"] * 2
    assert docs.family == ["web", "web"] and docs.fmt == ["apache_combined"] * 2
    first, second = (orjson.loads(s) for s in docs.sources)
    assert first == {"@timestamp": "2026-11-27T16:05:07.250Z", "event.id": f"{1:032x}",
                     "event.dataset": "web.apache_combined", "event.module": "web", "event.kind": "event",
                     "event.original": "line 1", "source.ip": "203.0.113.1",
                     "related.ip": ["203.0.113.1"], "vigie.lines": 1}
    assert None not in first.values()
    assert second["url.path"] == "/a" and second["source.geo.location"] == {"lat": 48.85, "lon": 2.35}


def test_signal_documents_go_to_the_signals_index_under_their_signal_id():
    schema = signal_schema()
    row = {n: None for n in schema.names} | {"signal.id": "s1", "@timestamp": T0, "rule.id": "r",
                                              "event.id": "e1", "event.dataset": "vpn.openvpn"}
    docs = es_sink.documents(pa.Table.from_pylist([row], schema=schema), es_sink.SIGNALS)
    assert (docs.index, docs.ids, docs.family) == ([indices.SIGNALS_INDEX], ["s1"], ["vpn"])
    assert orjson.loads(docs.sources[0])["event.id"] == "e1"


def test_bulk_requests_are_cut_by_count_and_by_bytes():
    table = event_table([web_event(i, **{"event.original": "x" * 1000}) for i in range(10)])
    docs = es_sink.documents(table, es_sink.EVENTS)
    assert [len(c) for c in es_sink._chunks(docs, 4, 10**9)] == [4, 4, 2]
    by_bytes = list(es_sink._chunks(docs, 100, 3 * 1400))
    assert len(by_bytes) > 3 and sum(map(len, by_bytes)) == 10
    body = es_sink._body(docs, [0, 1]).split(b"\n")
    assert orjson.loads(body[0]) == {"index": {"_index": "vigie-events-web-apache_combined", "_id": f"{0:032x}"}}
    assert body[-1] == b"" and len(body) == 5


def test_dead_letters_keep_the_document_and_can_be_sent_again():
    docs = es_sink.documents(event_table([web_event(7)]), es_sink.EVENTS)
    row = es_sink.BulkIndexer._dead(docs, 0, "HTTP 400 mapper_parsing_exception", "bad ip")
    table = es_sink.dead_letter_table([row])
    assert table.column("stage").to_pylist() == ["index"]
    assert table.column("origin.path").to_pylist() == [f"vigie-events-web-apache_combined/{7:032x}"]
    again = es_sink.documents_from_dead_letters(table)
    assert (again.index, again.ids, again.sources) == (docs.index, docs.ids, docs.sources)


def test_templates_fall_back_to_core_types_when_the_cluster_lacks_their_module():
    templates = index_templates()
    same, notes = es_cluster.adapt_templates(templates, {"x-pack-wildcard", "mapper-extras"})
    assert same == templates and notes == []
    adapted, notes = es_cluster.adapt_templates(templates, {"x-pack-core"})
    web = adapted["vigie-events-web"]["template"]["mappings"]["properties"]
    assert web["event"]["properties"]["original"] == {"type": "keyword", "ignore_above": 8191}
    assert web["message"]["type"] == "text"
    assert web["source"]["properties"]["ip"] == {"type": "ip"}
    assert len(notes) == 2 and "wildcard" in notes[1]
    assert '"wildcard"' not in orjson.dumps(adapted).decode()


def test_a_url_with_credentials_is_refused_without_repeating_them():
    with pytest.raises(VigieError) as caught:
        es_cluster.settings_from("https://elastic:hunter2-secret@127.0.0.1:9200", environ={})
    assert "hunter2-secret" not in str(caught.value) and "--es-user" in str(caught.value)


def test_secrets_come_from_the_environment_or_a_file_and_never_show(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("a2V5LWZyb20tZmlsZQ==\n")
    from_file = es_cluster.settings_from("http://h:1", api_key_file=str(key_file), environ={})
    assert from_file.api_key == "a2V5LWZyb20tZmlsZQ==" and from_file.auth == "api_key"
    from_env = es_cluster.settings_from("http://h:1", user="ops", environ={"VIGIE_ES_PASSWORD": "pw-from-env"})
    assert (from_env.user, from_env.password, from_env.auth) == ("ops", "pw-from-env", "basic")
    for settings, secret in ((from_file, "a2V5LWZyb20tZmlsZQ=="), (from_env, "pw-from-env")):
        assert secret not in repr(settings) and secret not in str(settings.public())
    with pytest.raises(VigieError, match="needs a password"):
        es_cluster.settings_from("http://h:1", user="ops", environ={})
    with pytest.raises(VigieError, match="cannot read the API key file"):
        es_cluster.settings_from("http://h:1", api_key_file=str(tmp_path / "absent"), environ={})
    assert es_cluster.settings_from(None) is None
