"""`vigie es check|templates|backfill|verify`: operate the Elasticsearch side of a replay archive.

    vigie es check --es-url URL              one health request: reachable, TLS, credentials
    vigie es templates --es-url URL          install the index templates generated from schemas/
    vigie es backfill DIR --es-url URL       send the events and signals of the Parquet archive DIR
                                             again (idempotent: `_id` is the deterministic id), so
                                             documents dead-lettered or lost in a crash get indexed;
                                             --only-dead-letters sends just DIR's index dead letters
    vigie es verify DIR --es-url URL         per index: documents of the archive vs the index,
                                             missing and extra ids; exit 1 unless they are equal

Connection and bulk flags are those of `vigie replay` (pipelines/options.add_elasticsearch_flags).
The dead letters of stage `index` in DIR/deadletter/ always describe the latest attempt: a backfill
replaces them with the documents that failed again (if any).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Iterator

import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import indices
from pipelines.errors import VigieError
from pipelines.options import add_elasticsearch_flags
from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks import es_cluster
from pipelines.sinks.parquet import DEAD_LETTER_DIR, EVENTS_DIR, SIGNALS_DIR
from pipelines.transforms.index import write_index_dead_letters

INDEX_DEAD_LETTER_PREFIX = "index-"
BACKFILL_REPORT = "es-backfill.json"


def _archive(folder: str) -> Path:
    path = Path(folder)
    if not (path / "summary.json").is_file() and not (path / EVENTS_DIR).is_dir():
        raise VigieError(f"{folder} is not a Vigie replay output (no summary.json, no events/)")
    return path


def _parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet")) if folder.is_dir() else []


def archive_documents(archive: Path) -> Iterator[es_sink.Documents]:
    """Events then signals of a replay archive, one Parquet file at a time, as Documents."""
    for kind, part in ((es_sink.EVENTS, EVENTS_DIR), (es_sink.SIGNALS, SIGNALS_DIR)):
        for path in _parquet_files(archive / part):
            # ParquetFile (not read_table): no Hive partition columns (dataset=, date=) added.
            table = pq.ParquetFile(path).read()
            if table.num_rows:
                yield es_sink.documents(table, kind)


def index_dead_letter_files(archive: Path) -> list[Path]:
    """DIR/deadletter/index-*.parquet: documents the sink could not index."""
    return sorted((archive / DEAD_LETTER_DIR).glob(f"{INDEX_DEAD_LETTER_PREFIX}*.parquet"))


def dead_letter_documents(archive: Path) -> Iterator[es_sink.Documents]:
    """The documents of the archive's index dead letters, file by file."""
    for path in index_dead_letter_files(archive):
        docs = es_sink.documents_from_dead_letters(pq.ParquetFile(path).read())
        if len(docs):
            yield docs


def archive_ids(archive: Path) -> dict[str, set[str]]:
    """index name -> the `_id`s the archive's events and signals should have there."""
    out: dict[str, set[str]] = defaultdict(set)
    for path in _parquet_files(archive / EVENTS_DIR):
        table = pq.ParquetFile(path).read(columns=["event.id", "event.dataset"])
        for dataset in pc.unique(table["event.dataset"]).to_pylist():
            rows = table.filter(pc.equal(table["event.dataset"], dataset))
            out[indices.events_index(dataset)].update(rows["event.id"].to_pylist())
    for path in _parquet_files(archive / SIGNALS_DIR):
        out[indices.SIGNALS_INDEX].update(pq.ParquetFile(path).read(columns=["signal.id"])["signal.id"].to_pylist())
    return dict(out)


def index_ids(client, index: str) -> set[str]:
    """Every `_id` in `index` (empty when it does not exist), after a refresh."""
    from elasticsearch import NotFoundError, helpers
    try:
        client.indices.refresh(index=index)
    except NotFoundError:
        return set()
    return {hit["_id"] for hit in helpers.scan(client, index=index, query={"query": {"match_all": {}}},
                                              _source=False, size=5000, preserve_order=False)}


def backfill(archive: Path, settings: es_cluster.EsSettings, only_dead_letters: bool = False,
             say=print) -> dict:
    """Send the archive (or only its index dead letters) again; replace the index dead letters
    with what failed this time; write DIR/es-backfill.json and return it."""
    es_cluster.prepare_cluster(settings, say)
    client = es_cluster.connect(settings)
    old = index_dead_letter_files(archive)
    started = time.time()
    batches = dead_letter_documents(archive) if only_dead_letters else archive_documents(archive)
    outcome = es_sink.index_all(client, settings, batches)
    for path in old:
        path.unlink()
    write_index_dead_letters(outcome, str(archive), f"{INDEX_DEAD_LETTER_PREFIX}backfill-0000")
    per_family: dict[str, dict[str, int]] = defaultdict(lambda: {c: 0 for c in es_sink.COUNTERS})
    for (family, counter), value in sorted(outcome.counts.items()):
        per_family[family][counter] += value
    report = {"command": "es backfill", "archive": str(archive), "elasticsearch": settings.public(),
              "source": "index dead letters" if only_dead_letters else "events/ and signals/ Parquet",
              "seconds": round(time.time() - started, 3), "families": dict(per_family),
              "total": {c: sum(f[c] for f in per_family.values()) for c in es_sink.COUNTERS}}
    (archive / BACKFILL_REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    client.close()
    return report


def verify(archive: Path, settings: es_cluster.EsSettings) -> dict[str, dict[str, int]]:
    """index -> {archive, index, missing, extra}: the archive's ids against the index's."""
    client = es_cluster.check_cluster(settings)
    result = {}
    for index, expected in sorted(archive_ids(archive).items()):
        present = index_ids(client, index)
        result[index] = {"archive": len(expected), "index": len(present),
                         "missing": len(expected - present), "extra": len(present - expected)}
    client.close()
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigie es", description="Elasticsearch side of Vigie.")
    sub = parser.add_subparsers(dest="action", required=True)
    for name, text in (("check", "check that the cluster answers and accepts the credentials"),
                       ("templates", "install the index templates generated from schemas/"),
                       ("backfill", "send a replay archive's events and signals (again)"),
                       ("verify", "compare a replay archive with the indices, id by id")):
        command = sub.add_parser(name, help=text, description=text)
        if name in ("backfill", "verify"):
            command.add_argument("archive", metavar="DIR", help="a `vigie replay --out` folder")
        if name == "backfill":
            command.add_argument("--only-dead-letters", action="store_true",
                                 help="send only the documents of DIR/deadletter/index-*.parquet")
        add_elasticsearch_flags(command)
    return parser


def es_main(argv: list[str]) -> int:
    """`vigie es ...` -> exit code (0 ok; 1 when documents stay dead-lettered or verify differs)."""
    args = _parser().parse_args(argv)
    if not args.es_url:
        raise VigieError(f"vigie es {args.action} needs --es-url URL (e.g. http://127.0.0.1:9200)")
    settings = es_cluster.settings_from_options(args)
    if args.action == "check":
        client = es_cluster.check_cluster(settings)
        health = client.cluster.health()
        print(f"vigie es: {settings.url} answers ({settings.auth}): cluster {health['cluster_name']}, "
              f"status {health['status']}, {health['number_of_nodes']} node(s)")
        return 0
    if args.action == "templates":
        es_cluster.prepare_cluster(settings, say=print)
        print(f"vigie es: {len(es_sink.index_templates())} index templates installed at {settings.url}")
        return 0
    archive = _archive(args.archive)
    if args.action == "verify":
        result = verify(archive, settings)
        print(f"  {'index':<36}{'archive':>10}{'index':>10}{'missing':>10}{'extra':>10}")
        for index, c in result.items():
            print(f"  {index:<36}{c['archive']:>10,}{c['index']:>10,}{c['missing']:>10,}{c['extra']:>10,}")
        differ = [i for i, c in result.items() if c["missing"] or c["extra"]]
        if differ:
            print(f"vigie es: {len(differ)} index(es) differ from {archive}: {', '.join(differ)}", file=sys.stderr)
            return 1
        print(f"vigie es: every index holds exactly the documents of {archive}")
        return 0
    report = backfill(archive, settings, args.only_dead_letters, say=lambda m: print(m, file=sys.stderr))
    total = report["total"]
    print(f"vigie es backfill: {total[es_sink.SENT]:,} document(s) sent from {report['source']}, "
          f"{total[es_sink.INDEXED]:,} indexed, {total[es_sink.DEAD_LETTERED]:,} dead-lettered, "
          f"{total[es_sink.RETRIES]:,} retries, {report['seconds']:.1f} s")
    if total[es_sink.DEAD_LETTERED]:
        print(f"vigie es: {total[es_sink.DEAD_LETTERED]:,} document(s) still failed; see "
              f"{archive / DEAD_LETTER_DIR}/{INDEX_DEAD_LETTER_PREFIX}backfill-0000.parquet "
              f"and run `vigie es backfill --only-dead-letters` again", file=sys.stderr)
        return 1
    return 0
