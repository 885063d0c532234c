"""`vigie es check|templates|backfill|verify`: operate the Elasticsearch side of a replay archive.

    vigie es check --es-url URL              one health request: reachable, TLS, credentials (and
                                             whether the cluster checks credentials at all)
    vigie es templates --es-url URL          install the index templates generated from schemas/
    vigie es backfill DIR --es-url URL       send the events and signals of the Parquet archive DIR
                                             again (idempotent: `_id` is the deterministic id), so
                                             documents dead-lettered or lost in a crash get indexed;
                                             --only-dead-letters sends just DIR's index dead letters
                                             (the rows of stage `index` in any DIR/deadletter/*.parquet)
    vigie es verify DIR --es-url URL         is every document of DIR in its index? `_id` lookups
                                             (mget, paged) of the ids in DIR's Parquet events and
                                             signals; missing ids listed (all of them with --json);
                                             other documents in the indices (other archives on a
                                             shared cluster) are reported for information only

Exit status: 0 done (verify: every document of DIR is indexed); 1 documents stay dead-lettered
(backfill) or are missing (verify); 2 bad input or a cluster that cannot be reached, spoken to or
authenticated against (one line `vigie: ...`); 3 verify found nothing to verify (no event or
signal in DIR). Connection and bulk flags are those of `vigie replay`
(pipelines/options.add_elasticsearch_flags). The index dead letters in DIR/deadletter/ always
describe the latest attempt: a backfill replaces them with the documents that failed again.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import indices
from pipelines import storage
from pipelines.errors import VigieError
from pipelines.options import add_elasticsearch_flags
from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks import es_cluster
from pipelines.sinks.incidents import incidents_path, read_incidents
from pipelines.sinks.parquet import DEAD_LETTER_DIR, EVENTS_DIR, SIGNALS_DIR

BACKFILL_DEAD_LETTERS = "index-backfill"
BACKFILL_REPORT = "es-backfill.json"
MGET_PAGE = 5_000
MISSING_SHOWN = 10
NOTHING_TO_VERIFY = 3


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are VigieErrors (one line, exit 2)."""

    def error(self, message: str):
        raise VigieError(f"{self.prog.removeprefix('vigie ')}: {message} (see `{self.prog} --help`)")


def _archive(folder: str) -> Path:
    if storage.is_remote(folder):
        raise VigieError(f"{folder}: `vigie es` reads an output folder on this machine; copy it here "
                         f"first (e.g. gcloud storage cp -r {folder} DIR) and give DIR")
    path = Path(folder)
    if not (path / "summary.json").is_file() and not (path / EVENTS_DIR).is_dir():
        raise VigieError(f"{folder} is not a Vigie replay output (no summary.json, no events/)")
    return path


def _parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet")) if folder.is_dir() else []


# ---------------------------------------------------------------------------------------------
# The archive
# ---------------------------------------------------------------------------------------------

def archive_documents(archive: Path) -> Iterator[es_sink.Documents]:
    """Events, signals, then incidents (their highest revisions) of a replay archive, one
    Parquet file at a time, as Documents."""
    for kind, part in ((es_sink.EVENTS, EVENTS_DIR), (es_sink.SIGNALS, SIGNALS_DIR)):
        for path in _parquet_files(archive / part):
            # ParquetFile (not read_table): no Hive partition columns (dataset=, date=) added.
            table = pq.ParquetFile(path).read()
            if table.num_rows:
                yield es_sink.documents(table, kind)
    incidents = archive_incidents(archive)
    if incidents:
        yield es_sink.incident_documents(incidents)


def archive_incidents(archive: Path) -> list[dict]:
    """The archive's incident records (the highest revision of each, merged ones included)."""
    path = incidents_path(archive)
    return read_incidents(path) if path.is_file() else []


def _is_index_row(table: pa.Table) -> pa.ChunkedArray:
    return pc.fill_null(pc.equal(table["stage"], es_sink.STAGE), False)


def index_dead_letters(archive: Path) -> list[tuple[Path, pa.Table]]:
    """Every DIR/deadletter/*.parquet holding dead letters of stage `index` (documents the sink
    could not index), whatever its name, with its whole table."""
    found = []
    for path in _parquet_files(archive / DEAD_LETTER_DIR):
        table = pq.ParquetFile(path).read()
        if "stage" in table.column_names and table.num_rows and pc.any(_is_index_row(table)).as_py():
            found.append((path, table))
    return found


def dead_letter_documents(tables: list[tuple[Path, pa.Table]]) -> Iterator[es_sink.Documents]:
    """The documents of the index dead letters, file by file."""
    for _, table in tables:
        docs = es_sink.documents_from_dead_letters(table.filter(_is_index_row(table)))
        if len(docs):
            yield docs


def _write_atomically(table: pa.Table, path: Path) -> None:
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)


def replace_index_dead_letters(archive: Path, old: list[tuple[Path, pa.Table]], dead: list[dict]) -> Path | None:
    """Drop the index rows of the `old` dead-letter files (a file left without rows is removed;
    other stages' rows stay where they were) and write `dead`, the documents that failed again,
    as DIR/deadletter/index-backfill-NNNN.parquet; returns that file (None when nothing failed).
    The new file is written aside first, so a failure midway loses no dead letter."""
    folder = archive / DEAD_LETTER_DIR
    partial = None
    if dead:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{BACKFILL_DEAD_LETTERS}.parquet.partial"
        pq.write_table(es_sink.dead_letter_table(dead), partial)
    for path, table in old:
        rest = table.filter(pc.invert(_is_index_row(table)))
        if rest.num_rows:
            _write_atomically(rest, path)
        else:
            path.unlink()
    if partial is None:
        return None
    k = 0
    while (folder / f"{BACKFILL_DEAD_LETTERS}-{k:04d}.parquet").exists():
        k += 1
    target = folder / f"{BACKFILL_DEAD_LETTERS}-{k:04d}.parquet"
    os.replace(partial, target)
    return target


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
    for record in archive_incidents(archive):
        out[indices.INCIDENTS_INDEX].add(record["incident.id"])
    return {index: {i for i in ids if i is not None} for index, ids in out.items()}


# ---------------------------------------------------------------------------------------------
# backfill
# ---------------------------------------------------------------------------------------------

def backfill(archive: Path, settings: es_cluster.EsSettings, only_dead_letters: bool = False,
             say: Callable[[str], None] = print) -> dict:
    """Send the archive (or only its index dead letters) again; replace the index dead letters
    with what failed this time; write DIR/es-backfill.json and return it."""
    es_cluster.prepare_cluster(settings, say)
    client = es_cluster.connect(settings)
    old = index_dead_letters(archive)
    started = time.time()
    batches = dead_letter_documents(old) if only_dead_letters else archive_documents(archive)
    outcome = es_sink.index_all(client, settings, batches)
    written = replace_index_dead_letters(archive, old, outcome.dead)
    per_family: dict[str, dict[str, int]] = defaultdict(lambda: {c: 0 for c in es_sink.COUNTERS})
    for (family, counter), value in sorted(outcome.counts.items()):
        per_family[family][counter] += value
    report = {"command": "es backfill", "archive": str(archive), "elasticsearch": settings.public(),
              "source": "index dead letters" if only_dead_letters else "events/ and signals/ Parquet",
              "dead_letter_files_read": [str(p) for p, _ in old],
              "dead_letters_written": str(written) if written else None,
              "seconds": round(time.time() - started, 3), "families": dict(per_family),
              "total": {c: sum(f[c] for f in per_family.values()) for c in es_sink.COUNTERS}}
    (archive / BACKFILL_REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    client.close()
    return report


# ---------------------------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------------------------

@dataclass
class IndexCheck:
    """One index against the archive: the archive's ids found there, those missing, and how
    many documents the index holds in all (the others are not this archive's)."""

    index: str
    archive: int
    found: int = 0
    in_index: int = 0
    exists: bool = True
    missing_ids: list[str] = field(default_factory=list)

    @property
    def other(self) -> int:
        """Documents of the index that are not this archive's (other archives, other tools)."""
        return max(self.in_index - self.found, 0)

    def as_dict(self) -> dict[str, Any]:
        return {"archive": self.archive, "found": self.found, "missing": len(self.missing_ids),
                "index": self.in_index, "other": self.other, "exists": self.exists,
                "missing_ids": self.missing_ids}


def missing_ids(client: Any, index: str, ids: list[str], page: int = MGET_PAGE) -> list[str]:
    """The ids of `ids` that `index` does not hold, by `_id` lookups (mget, `page` at a time)."""
    missing: list[str] = []
    for k in range(0, len(ids), page):
        answer = client.mget(index=index, ids=ids[k:k + page], source=False, realtime=True)
        missing += [doc["_id"] for doc in answer["docs"] if not doc.get("found")]
    return missing


def check_index(client: Any, index: str, expected: set[str], page: int = MGET_PAGE) -> IndexCheck:
    """IndexCheck of one index (refreshed first, so its count includes recent writes)."""
    from elasticsearch import NotFoundError
    ids = sorted(expected)
    result = IndexCheck(index, len(ids))
    try:
        client.indices.refresh(index=index)
        result.in_index = int(client.count(index=index)["count"])
    except NotFoundError:
        result.exists, result.missing_ids = False, ids
        return result
    result.missing_ids = missing_ids(client, index, ids, page)
    result.found = len(ids) - len(result.missing_ids)
    return result


def verify(archive: Path, settings: es_cluster.EsSettings, page: int = MGET_PAGE) -> dict[str, dict[str, Any]]:
    """index -> {archive, found, missing, index, other, exists, missing_ids}: whether every
    document of the archive is in its index (documents of others in the index are counted as
    `other`, not as a difference)."""
    client = es_cluster.check_cluster(settings)
    try:
        return {index: check_index(client, index, expected, page).as_dict()
                for index, expected in sorted(archive_ids(archive).items())}
    finally:
        client.close()


def verify_lines(result: dict[str, dict[str, Any]], shown: int = MISSING_SHOWN) -> list[str]:
    """The verify table, and the first `shown` missing ids of each index that lacks some."""
    lines = [f"  {'index':<36}{'archive':>10}{'found':>10}{'missing':>10}{'other docs':>12}"]
    for index, c in result.items():
        lines.append(f"  {index:<36}{c['archive']:>10,}{c['found']:>10,}{c['missing']:>10,}{c['other']:>12,}"
                     + ("" if c["exists"] else "  (no such index)"))
    for index, c in result.items():
        if c["missing_ids"]:
            more = len(c["missing_ids"]) - shown
            lines.append(f"  missing from {index}: {', '.join(c['missing_ids'][:shown])}"
                         + (f" and {more:,} more (--json FILE lists them all)" if more > 0 else ""))
    return lines


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vigie es", description="Elasticsearch side of Vigie.")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name, text in (("check", "check that the cluster answers and accepts the credentials"),
                       ("templates", "install the index templates generated from schemas/"),
                       ("backfill", "send a replay archive's events and signals (again)"),
                       ("verify", "check that every document of a replay archive is indexed")):
        command = sub.add_parser(name, help=text, description=text)
        if name in ("backfill", "verify"):
            command.add_argument("archive", metavar="DIR", help="a `vigie replay --out` folder")
        if name == "backfill":
            command.add_argument("--only-dead-letters", action="store_true",
                                 help="send only the index dead letters of DIR/deadletter/")
        if name == "verify":
            command.add_argument("--json", dest="json_file", type=Path, default=None, metavar="FILE",
                                 help="also write the result, with every missing id, to FILE")
        add_elasticsearch_flags(command)
    return parser


def run_check(settings: es_cluster.EsSettings) -> int:
    """`vigie es check`: one health request, then whether the credentials were checked."""
    client = es_cluster.check_cluster(settings)
    health = client.cluster.health()
    security = es_cluster.security_state(client)
    client.close()
    cluster = (f"cluster {health['cluster_name']}, status {health['status']}, "
               f"{health['number_of_nodes']} node(s)")
    note = es_cluster.credentials_note(settings, security)
    if note:
        print(f"vigie es: {settings.url} reached: {cluster}; {note}")
    elif security.enabled:
        print(f"vigie es: {settings.url} answers ({settings.auth}, authenticated as "
              f"{security.principal or 'an unnamed principal'}): {cluster}")
    else:
        print(f"vigie es: {settings.url} answers (no credentials; security is disabled there): {cluster}")
    return 0


def run_templates(settings: es_cluster.EsSettings) -> int:
    """`vigie es templates`: install the templates and say which."""
    from pipelines.schema import index_templates
    es_cluster.prepare_cluster(settings, say=print)
    names = sorted(index_templates())
    print(f"vigie es: {len(names)} index templates installed at {settings.url}: {', '.join(names)}")
    return 0


def run_verify(archive: Path, settings: es_cluster.EsSettings, json_file: Path | None) -> int:
    """`vigie es verify`: the table, the missing ids, and the exit status."""
    result = verify(archive, settings)
    expected = sum(c["archive"] for c in result.values())
    if not expected:
        print(f"vigie: es verify: {archive} holds no event or signal: nothing to verify", file=sys.stderr)
        return NOTHING_TO_VERIFY
    for line in verify_lines(result):
        print(line)
    missing = {i: c for i, c in result.items() if c["missing"]}
    other = sum(c["other"] for c in result.values())
    if json_file is not None:
        json_file.write_text(json.dumps({"archive": str(archive), "elasticsearch": settings.public(),
                                         "documents": expected, "missing": sum(c["missing"] for c in result.values()),
                                         "other": other, "indices": result}, indent=1) + "\n", encoding="utf-8")
    others = (f"; {other:,} other document(s) in these indices are not from this archive "
              "(information, not a difference)" if other else "")
    if missing:
        count = sum(c["missing"] for c in missing.values())
        print(f"vigie es: {count:,} of the {expected:,} documents of {archive} are missing from "
              f"{len(missing)} index(es){others}")
        print(f"vigie: es verify: {count:,} document(s) of {archive} missing from {', '.join(missing)}; "
              f"`vigie es backfill {archive} --es-url {settings.url}` sends them again", file=sys.stderr)
        return 1
    print(f"vigie es: all {expected:,} documents of {archive} are indexed ({len(result)} indices){others}")
    return 0


def run_backfill(archive: Path, settings: es_cluster.EsSettings, only_dead_letters: bool) -> int:
    """`vigie es backfill`: send, report, and say what still failed."""
    report = backfill(archive, settings, only_dead_letters, say=lambda m: print(m, file=sys.stderr))
    total = report["total"]
    print(f"vigie es backfill: {total[es_sink.SENT]:,} document(s) sent from {report['source']}, "
          f"{total[es_sink.INDEXED]:,} indexed, {total[es_sink.DEAD_LETTERED]:,} dead-lettered, "
          f"{total[es_sink.RETRIES]:,} retries, {report['seconds']:.1f} s")
    if only_dead_letters and not report["dead_letter_files_read"]:
        print(f"vigie es: {archive / DEAD_LETTER_DIR} holds no index dead letters: nothing to send",
              file=sys.stderr)
    if total[es_sink.DEAD_LETTERED]:
        print(f"vigie es: {total[es_sink.DEAD_LETTERED]:,} document(s) still failed; see "
              f"{report['dead_letters_written']} and run `vigie es backfill --only-dead-letters` again",
              file=sys.stderr)
        return 1
    return 0


def es_main(argv: list[str]) -> int:
    """`vigie es ...` -> exit status (module docstring); bad input raises VigieError."""
    args = _parser().parse_args(argv)
    if not args.es_url:
        raise VigieError(f"es {args.action} needs --es-url URL (e.g. http://127.0.0.1:9200)")
    settings = es_cluster.settings_from_options(args)
    if args.action == "check":
        return run_check(settings)
    if args.action == "templates":
        return run_templates(settings)
    archive = _archive(args.archive)
    if args.action == "verify":
        return run_verify(archive, settings, args.json_file)
    return run_backfill(archive, settings, args.only_dead_letters)
