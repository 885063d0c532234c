"""`vigie es check|templates|backfill|verify` against the project's plain node: what each command
says must be true. Templates are installed by the command itself; verify checks this archive's
documents on a shared cluster (other archives' documents are information, not a difference) and
lists the missing ids; backfill finds index dead letters in any DIR/deadletter/*.parquet and keeps
the other stages' rows; a plain-HTTP node is never told it needs a CA, and credentials a cluster
without security ignores are never reported as accepted."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from elasticsearch import Elasticsearch

from pipelines.cli import main
from pipelines.model import dead_letters
from pipelines.schema import index_templates
from pipelines.sinks import elasticsearch as es_sink

WEB_INDEX = "vigie-events-web-apache_combined"
LINE = ('198.51.100.{a} - - [27/Nov/2026:18:{m:02d}:{s:02d} +0100] "GET /{tag}/{n} HTTP/1.1" 200 {n} "-" '
        '"Mozilla/5.0"\n')


def run(capfd, *argv: str) -> tuple[int, str, str]:
    capfd.readouterr()
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vigie: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def client(es_node) -> Elasticsearch:
    return Elasticsearch(es_node.url, request_timeout=60)


def replayed(tmp: Path, es_url: str, count: int) -> Path:
    """A replay archive of `count` lines of an access log of its own (ids of its own), indexed."""
    tag = uuid.uuid4().hex
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "access.log"
    log.write_text("".join(LINE.format(a=n % 250, m=n // 60 % 60, s=n % 60, tag=tag, n=n) for n in range(count)))
    out = tmp / "out"
    assert main(["replay", str(log), "--out", str(out), "--no-detect", "--es-url", es_url]) == 0
    return out


# ---------------------------------------------------------------------------------------------
# templates
# ---------------------------------------------------------------------------------------------

def test_templates_installs_every_template_and_exits_0(es_node, client, capfd):
    for name in index_templates():
        client.options(ignore_status=404).indices.delete_index_template(name=name)
    code, out, err = run(capfd, "es", "templates", "--es-url", es_node.url)
    assert code == 0, err
    assert f"vigie es: {len(index_templates())} index templates installed at {es_node.url}" in out
    installed = {t["name"] for t in client.indices.get_index_template(name="vigie-*")["index_templates"]}
    assert installed >= set(index_templates())


# ---------------------------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------------------------

def test_verify_checks_this_archive_on_a_shared_cluster_and_lists_missing_ids(es_node, client, tmp_path, capfd):
    out = replayed(tmp_path / "mine", es_node.url, 300)
    replayed(tmp_path / "theirs", es_node.url, 50)  # another archive in the same index
    code, stdout, err = run(capfd, "es", "verify", str(out), "--es-url", es_node.url)
    assert code == 0, stdout + err
    row = next(line for line in stdout.splitlines() if line.strip().startswith(WEB_INDEX))
    archive, found, missing, other = (int(v.replace(",", "")) for v in row.split()[1:5])
    assert (archive, found, missing) == (300, 300, 0) and other >= 50
    assert f"vigie es: all 300 documents of {out} are indexed (1 indices); " in stdout
    assert "other document(s) in these indices are not from this archive (information" in stdout
    # Documents of this archive lost behind Vigie's back: verify names them, all of them in --json.
    ids = sorted(pq.read_table(out / "events", columns=["event.id"])["event.id"].to_pylist())
    lost = ids[:12]
    for doc_id in lost:
        client.delete(index=WEB_INDEX, id=doc_id)
    report = tmp_path / "verify.json"
    code, stdout, err = run(capfd, "es", "verify", str(out), "--es-url", es_node.url, "--json", str(report))
    assert code == 1
    assert one_line(err) == (f"vigie: es verify: 12 document(s) of {out} missing from {WEB_INDEX}; "
                             f"`vigie es backfill {out} --es-url {es_node.url}` sends them again")
    shown = next(line for line in stdout.splitlines() if line.strip().startswith(f"missing from {WEB_INDEX}:"))
    assert shown.strip() == (f"missing from {WEB_INDEX}: {', '.join(lost[:10])} and 2 more "
                             "(--json FILE lists them all)")
    doc = json.loads(report.read_text())
    assert doc["missing"] == 12 and doc["indices"][WEB_INDEX]["missing_ids"] == lost
    assert doc["indices"][WEB_INDEX]["other"] >= 50
    assert main(["es", "backfill", str(out), "--es-url", es_node.url]) == 0
    assert main(["es", "verify", str(out), "--es-url", es_node.url]) == 0


def test_verify_of_an_archive_without_documents_says_there_is_nothing_to_verify(es_node, tmp_path, capfd):
    (tmp_path / "events").mkdir()
    code, out, err = run(capfd, "es", "verify", str(tmp_path), "--es-url", es_node.url)
    assert code == 3 and out == ""
    assert one_line(err) == f"vigie: es verify: {tmp_path} holds no event or signal: nothing to verify"


# ---------------------------------------------------------------------------------------------
# backfill --only-dead-letters: any file name, other stages kept
# ---------------------------------------------------------------------------------------------

def index_letter(doc_id: str, **fields) -> dict:
    source = {"@timestamp": "2026-11-27T17:00:00Z", "event.id": doc_id, "event.dataset": "web.apache_combined",
              "event.module": "web", "event.kind": "event", **fields}
    return {"reason": "HTTP 503", "detail": "unavailable", "family": "web", "format": "apache_combined",
            "id": doc_id, "raw": orjson.dumps(source), "origin.path": f"{WEB_INDEX}/{doc_id}"}


def parse_letter(n: int) -> pa.Table:
    return dead_letters(1, stage="parse", reason="not an access log line", detail="", family="web",
                        format="apache_combined", raw=f"garbage {n}".encode(), origin_kind="file",
                        origin_path="/logs/access.log", origin_offset=n)


def test_backfill_finds_index_dead_letters_whatever_the_file_names(es_node, client, tmp_path, capfd):
    archive = tmp_path / "archive"
    folder = archive / "deadletter"
    folder.mkdir(parents=True)
    (archive / "events").mkdir()
    good = [uuid.uuid4().hex + uuid.uuid4().hex[:16] for _ in range(3)]
    bad = uuid.uuid4().hex
    mixed = pa.concat_tables([es_sink.dead_letter_table([index_letter(good[0]), index_letter(good[1])]),
                              parse_letter(1)])
    pq.write_table(mixed, folder / "part-3f9a2c-of-batch-17.parquet")
    pq.write_table(es_sink.dead_letter_table([index_letter(good[2]), index_letter(bad, **{"source.ip": "not-an-ip"})]),
                   folder / "whatever.parquet")
    pq.write_table(parse_letter(2), folder / "parse-0001.parquet")
    code, out, err = run(capfd, "es", "backfill", str(archive), "--es-url", es_node.url, "--only-dead-letters")
    assert code == 1
    assert "4 document(s) sent from index dead letters, 3 indexed, 1 dead-lettered" in out
    assert "1 document(s) still failed" in err and "index-backfill-0000.parquet" in err
    client.indices.refresh(index=WEB_INDEX)
    assert all(client.exists(index=WEB_INDEX, id=i) for i in good)
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["index-backfill-0000.parquet", "parse-0001.parquet", "part-3f9a2c-of-batch-17.parquet"]
    kept = pq.read_table(folder / "part-3f9a2c-of-batch-17.parquet")
    assert kept["stage"].to_pylist() == ["parse"] and kept["origin.offset"].to_pylist() == [1]
    assert pq.read_table(folder / "parse-0001.parquet").num_rows == 1
    again = pq.read_table(folder / "index-backfill-0000.parquet")
    assert again["id"].to_pylist() == [bad] and again["stage"].to_pylist() == ["index"]
    assert "source.ip" in again["detail"][0].as_py()
    report = json.loads((archive / "es-backfill.json").read_text())
    assert len(report["dead_letter_files_read"]) == 2


# ---------------------------------------------------------------------------------------------
# What the connection messages say on a plain-HTTP node without security
# ---------------------------------------------------------------------------------------------

def test_a_ca_file_for_a_plain_http_url_is_refused_without_blaming_the_ca(es_node, tmp_path, capfd):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    code, out, err = run(capfd, "es", "check", "--es-url", es_node.url, "--es-ca-file", str(ca))
    assert code == 2
    assert one_line(err) == (f"vigie: --es-ca-file is for https:// URLs, and --es-url {es_node.url} is plain "
                             "HTTP (no TLS, nothing for a CA to verify): drop --es-ca-file, or use https:// "
                             "if the cluster serves HTTPS")


def test_an_https_url_to_a_plain_http_port_says_so(es_node, tmp_path, capfd):
    https = es_node.url.replace("http://", "https://")
    code, out, err = run(capfd, "es", "check", "--es-url", https)
    assert code == 2
    assert one_line(err) == (f"vigie: Elasticsearch at {https}: the server speaks plain HTTP, not HTTPS; "
                             f"use --es-url {es_node.url}")
    assert "needs --es-ca-file" not in err and "pass the cluster's CA" not in err


def test_credentials_a_cluster_without_security_ignores_are_not_reported_as_accepted(es_node, capfd, monkeypatch):
    key = "Ym9ndXMtaWQ6Ym9ndXMta2V5LTQ3MTE="
    monkeypatch.setenv("VIGIE_ES_API_KEY", key)
    code, out, err = run(capfd, "es", "check", "--es-url", es_node.url)
    assert code == 0 and err == ""
    assert "answers" not in out
    assert out.strip().startswith(f"vigie es: {es_node.url} reached: cluster ")
    assert ("security is disabled on this cluster, so the api_key credentials were not checked (anyone who "
            "reaches it may read and write): enable security there, or drop the credentials") in out
    code, out, err = run(capfd, "es", "templates", "--es-url", es_node.url)
    assert code == 0 and "note: security is disabled on this cluster, so the api_key credentials" in out
    assert key not in out + err
    rule = Path(__file__).resolve().parents[1] / "detections" / "rules" / "web" / "web_path_traversal.yml"
    code, out, err = run(capfd, "hunt", str(rule), "--es-url", es_node.url)
    assert code in (0, 3) and key not in out + err
    assert "vigie hunt: note: security is disabled on this cluster, so the api_key credentials were not checked" in err
    monkeypatch.delenv("VIGIE_ES_API_KEY")
    code, out, err = run(capfd, "es", "check", "--es-url", es_node.url)
    assert code == 0 and "answers (no credentials; security is disabled there)" in out


@pytest.mark.parametrize("argv, fragment", [
    (["es", "frobnicate"], "es: argument action: invalid choice: 'frobnicate'"),
    (["es", "verify"], "es verify: the following arguments are required: DIR"),
    (["es", "check"], "es check needs --es-url URL"),
    (["es", "verify", "/no/such/archive", "--es-url", "http://127.0.0.1:1"], "is not a Vigie replay output"),
])
def test_bad_input_is_one_line_and_exit_2(capfd, argv, fragment):
    code, out, err = run(capfd, *argv)
    assert code == 2 and out == ""
    assert fragment in one_line(err)
