"""`vigie hunt`: run Sigma rules against the events already indexed in Elasticsearch.

In: Sigma rule files or folders, an Elasticsearch URL (and credentials), an optional event-time
window. Out: per rule, the ids of the matching events (`_id` = `event.id`), as a table on
standard output and optionally as JSON.

Each rule goes through Vigie's processing pipeline and pySigma's Elasticsearch backend:
- `--target lucene` (default): Vigie's dialect of the Lucene backend
  (pipelines/detection/es_backends.py: case-insensitive strings, unanchored `re`), run as a
  `query_string` in a bool filter with the `@timestamp` range, paged with a point in time and
  `search_after`, so a rule may have any number of hits;
- `--target esql`: the ES|QL backend's query (date parts extracted), its `FROM` narrowed to the rule's indices, paged by
  `event.id`; only on servers that offer ES|QL (`POST /_query`).
Each rule searches only the events indices of the datasets its log source routes to (the same
routing as the in-stream engine, pipelines/detection/pipeline.py). A rule the backend cannot
convert, or whose query the server refuses, is reported with the reason; the others run.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from pipelines.authoring.convert import one_line, read_rules, source_path
from pipelines.detection.pipeline import route, vigie_pipeline
from pipelines.errors import VigieError
from pipelines.indices import EVENTS_PREFIX, events_index, family_events
from pipelines.options import add_elasticsearch_connection_flags

TARGETS = ("lucene", "esql")
PAGE_SIZE = 5_000
ESQL_PAGE = 10_000
PIT_KEEP_ALIVE = "2m"
_DATE_MATH = re.compile(r"^now(?:[+-]\d+[yMwdhHms])*(?:/[yMwdhHms])?$")


@dataclass(frozen=True)
class PlannedRule:
    """One rule ready to run: its query (None when it cannot run) and the indices it searches."""

    id: str
    title: str
    level: str | None
    path: str
    indices: tuple[str, ...]
    query: str | None
    problem: str | None = None


@dataclass
class RuleHits:
    """What one rule found: event ids (the documents' `_id`), or why it did not run."""

    rule: PlannedRule
    ids: list[str] = field(default_factory=list)
    error: str | None = None
    first: str | None = None
    last: str | None = None

    @property
    def status(self) -> str:
        if self.rule.problem:
            return "not convertible"
        return "failed" if self.error else "ok"


# ---------------------------------------------------------------------------------------------
# Planning (pure: rules -> queries and indices)
# ---------------------------------------------------------------------------------------------

def rule_indices(datasets: Iterable[str], prefix: str = EVENTS_PREFIX) -> tuple[str, ...]:
    """Index names / patterns of the route entries (web.apache_combined -> its dataset index,
    mail -> every mail index), under `prefix` instead of the default `vigie-events-`."""
    names = [events_index(entry) if "." in entry else family_events(entry) for entry in datasets]
    return tuple(dict.fromkeys(prefix + name[len(EVENTS_PREFIX):] for name in names))


def lucene_backend():
    """Vigie's Lucene backend with the project pipeline and the ES types of schemas/."""
    from pipelines.authoring.es_backends import VigieLuceneBackend
    from pipelines.schema import schemas
    types = {name: f.type for name, f in schemas().fields.items()}
    return VigieLuceneBackend(processing_pipeline=vigie_pipeline(), field_types=types)


def esql_backend():
    """Vigie's ES|QL backend (date parts extracted) with the project pipeline."""
    from pipelines.authoring.es_backends import VigieESQLBackend
    return VigieESQLBackend(processing_pipeline=vigie_pipeline())


def plan(paths: Iterable[Path], target: str = "lucene", prefix: str = EVENTS_PREFIX) -> list[PlannedRule]:
    """Every rule under `paths` with its query for `target` and its indices. Rule files that
    cannot be read, correlation rules and rules the backend refuses become PlannedRules with a
    `problem`; raises VigieError when no rule file is found."""
    paths = list(paths)
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise VigieError(f"hunt: no such rule file or folder: {', '.join(missing)}")
    collection, failures = read_rules(paths)
    planned = [PlannedRule("", "", None, f.path, (), None, f.reason) for f in failures]
    if not collection.rules and not failures:
        raise VigieError(f"hunt: no Sigma rule found in {', '.join(map(str, paths))}")
    backend = lucene_backend() if target == "lucene" else esql_backend()
    for rule in collection.rules:
        planned.append(plan_rule(backend, rule, target, prefix))
    return planned


def plan_rule(backend: Any, rule: SigmaRule | SigmaCorrelationRule, target: str,
              prefix: str = EVENTS_PREFIX) -> PlannedRule:
    """One rule -> its query and indices, or the reason it cannot be hunted."""
    base = dict(id=str(rule.id or ""), title=str(rule.title), level=str(rule.level) if rule.level else None,
                path=source_path(rule))
    if isinstance(rule, SigmaCorrelationRule):
        return PlannedRule(**base, indices=(), query=None,
                           problem="correlation rules are not hunted (the correlation stage runs them)")
    indices = rule_indices(route(rule), prefix)
    if not indices:
        return PlannedRule(**base, indices=(), query=None,
                           problem=f"log source {rule.logsource} routes to no Vigie dataset")
    try:
        queries = backend.convert_rule(copy.deepcopy(rule))
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises is this rule's reason
        return PlannedRule(**base, indices=indices, query=None, problem=one_line(exc))
    if len(queries) != 1:
        return PlannedRule(**base, indices=indices, query=None,
                           problem=f"the backend produced {len(queries)} queries, expected one")
    query = str(queries[0])
    if target == "esql":
        query = re.sub(r"^from \S+", "from " + ",".join(indices), query, count=1, flags=re.IGNORECASE)
    return PlannedRule(**base, indices=indices, query=query)


def parse_time(text: str | None, flag: str) -> str | None:
    """A --from / --to value as Elasticsearch accepts it: ISO 8601 (a date, or a time with or
    without an offset; UTC when none) -> ISO 8601 UTC; date math `now-24h` passes through."""
    if text is None:
        return None
    if _DATE_MATH.match(text):
        return text
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise VigieError(f"hunt: {flag} {text!r} is not an ISO 8601 time (2026-11-27T17:00:00Z, "
                         "2026-11-27) or date math (now-24h)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def search_body(query: str, start: str | None, end: str | None) -> dict[str, Any]:
    """The bool query of one Lucene rule: query_string + @timestamp range, both as filters."""
    filters: list[dict[str, Any]] = [{"query_string": {"query": query}}]
    if start or end:
        bounds = {k: v for k, v in (("gte", start), ("lt", end)) if v}
        filters.append({"range": {"@timestamp": bounds}})
    return {"bool": {"filter": filters}}


# ---------------------------------------------------------------------------------------------
# The server (thin shell)
# ---------------------------------------------------------------------------------------------

def connect(url: str, api_key_file: str | None = None, user: str | None = None,
            ca_file: str | None = None, password_file: str | None = None) -> Any:
    """An Elasticsearch client for `url`, checked with one request, built by the sink's
    connection code (pipelines/sinks/es_cluster.py): an API key from a file or
    $VIGIE_ES_API_KEY, or a user with the password in $VIGIE_ES_PASSWORD or a file; TLS verified
    against `ca_file` when given. VigieError (one line naming the URL, no secret) otherwise."""
    from pipelines.sinks.es_cluster import check_cluster, settings_from
    try:
        settings = settings_from(url, api_key_file=api_key_file, user=user,
                                 password_file=password_file, ca_file=ca_file)
        return check_cluster(settings)
    except VigieError as exc:
        raise VigieError(f"hunt: {exc}") from None


def _server_reason(exc: Exception) -> str:
    """The root cause an Elasticsearch error carries, as one line."""
    info = getattr(exc, "info", None) or getattr(exc, "body", None)
    if isinstance(info, dict) and isinstance(info.get("error"), dict):
        error = info["error"]
        causes = error.get("root_cause") or [error]
        cause = causes[0]
        failed = error.get("failed_shards") or []
        if failed and isinstance(failed[0].get("reason"), dict):
            deep = failed[0]["reason"]
            cause = deep.get("caused_by", deep)
        return one_line(f"{cause.get('type')}: {cause.get('reason')}")
    return one_line(exc)


class ShardFailure(Exception):
    """A search that answered 200 but failed on some shards (a query Lucene could not run)."""


def _shard_reason(shards: dict[str, Any]) -> str:
    """The first shard failure's root cause, as one line."""
    reason = (shards.get("failures") or [{}])[0].get("reason") or {}
    while isinstance(reason.get("caused_by"), dict):
        reason = reason["caused_by"]
    return one_line(f"{reason.get('type')}: {reason.get('reason')}")


def validation_problem(client: Any, rule: PlannedRule) -> str | None:
    """Why the server cannot run the rule's query, or None. Needed because `query_string` turns a
    clause Lucene cannot build (a regular expression too complex to determinise, a syntax error
    in a field's clause) into MatchNoDocsQuery without failing the search: checked with
    `_validate/query?explain`."""
    answer = client.indices.validate_query(index=",".join(rule.indices), ignore_unavailable=True,
                                           query=search_body(rule.query, None, None), explain=True)
    if not answer.get("valid", False):
        return one_line(answer.get("error") or next(
            (e.get("error") for e in answer.get("explanations", []) if e.get("error")), "invalid query"))
    for explanation in answer.get("explanations", []):
        text = explanation.get("explanation") or ""
        found = re.search(r'MatchNoDocsQuery\("(failed [^"]*)"\)', text)
        if found:
            return one_line(found.group(1))
    return None


def lucene_pages(client: Any, rule: PlannedRule, start: str | None, end: str | None,
                 page_size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
    """Every hit of the rule, page by page (point in time + search_after, sorted by _shard_doc)."""
    pit = client.open_point_in_time(index=",".join(rule.indices), keep_alive=PIT_KEEP_ALIVE,
                                    ignore_unavailable=True)
    pit_id, after = pit["id"], None
    try:
        while True:
            extra = {"search_after": after} if after is not None else {}
            page = client.search(query=search_body(rule.query, start, end), size=page_size,
                                 pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE},
                                 sort=[{"_shard_doc": "asc"}], source=False,
                                 docvalue_fields=[{"field": "@timestamp", "format": "strict_date_optional_time"}],
                                 track_total_hits=False, **extra)
            pit_id = page.get("pit_id", pit_id)
            if page["_shards"].get("failed"):
                raise ShardFailure(_shard_reason(page["_shards"]))
            hits = page["hits"]["hits"]
            if hits:
                yield hits
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]
    finally:
        client.options(ignore_status=404).close_point_in_time(id=pit_id)


def run_lucene(client: Any, rule: PlannedRule, start: str | None, end: str | None,
               page_size: int = PAGE_SIZE) -> RuleHits:
    """One Lucene rule against the server; a query the server refuses gives its reason."""
    from elasticsearch import ApiError
    result = RuleHits(rule)
    times: list[str] = []
    try:
        result.error = validation_problem(client, rule)
        if result.error:
            return result
        for hits in lucene_pages(client, rule, start, end, page_size):
            result.ids.extend(hit["_id"] for hit in hits)
            times.extend(t for hit in hits for t in hit.get("fields", {}).get("@timestamp", [])[:1])
    except (ApiError, ShardFailure) as exc:
        result.error = _server_reason(exc)
        result.ids = []
        return result
    if times:
        result.first, result.last = min(times), max(times)
    return result


def esql_supported(client: Any) -> bool:
    """True when the server answers ES|QL queries (`POST /_query`)."""
    from elasticsearch import ApiError
    try:
        client.perform_request("POST", "/_query", headers={"content-type": "application/json",
                                                            "accept": "application/json"},
                               body={"query": "ROW x = 1"})
    except ApiError as exc:
        if exc.meta.status in (400, 404, 405, 410):
            return False
        raise
    return True


def esql_query(rule: PlannedRule, start: str | None, end: str | None, after: str | None,
               limit: int = ESQL_PAGE) -> str:
    """The rule's ES|QL query with the time window, keyset paging on event.id and a limit."""
    parts = [rule.query]
    if start:
        parts.append(f'where @timestamp >= to_datetime("{start}")')
    if end:
        parts.append(f'where @timestamp < to_datetime("{end}")')
    if after is not None:
        parts.append('where event.id > "' + after.replace("\\", "\\\\").replace('"', '\\"') + '"')
    parts += ["keep event.id, @timestamp", "sort event.id", f"limit {limit}"]
    return " | ".join(parts)


def run_esql(client: Any, rule: PlannedRule, start: str | None, end: str | None,
             limit: int = ESQL_PAGE) -> RuleHits:
    """One ES|QL rule against a server that offers ES|QL, paged by event.id."""
    from elasticsearch import ApiError
    result, after = RuleHits(rule), None
    try:
        while True:
            answer = client.perform_request(
                "POST", "/_query", headers={"content-type": "application/json", "accept": "application/json"},
                body={"query": esql_query(rule, start, end, after, limit)})
            names = [c["name"] for c in answer["columns"]]
            rows = [dict(zip(names, row)) for row in answer["values"]]
            result.ids.extend(r["event.id"] for r in rows)
            times = [r["@timestamp"] for r in rows if r.get("@timestamp")]
            if times:
                result.first = min([t for t in (result.first, *times) if t])
                result.last = max([t for t in (result.last, *times) if t])
            if len(rows) < limit:
                return result
            after = rows[-1]["event.id"]
    except ApiError as exc:
        result.error, result.ids = _server_reason(exc), []
        return result


def hunt(client: Any, planned: list[PlannedRule], target: str, start: str | None = None,
         end: str | None = None, page_size: int = PAGE_SIZE) -> list[RuleHits]:
    """Run every runnable rule; rules with a problem are returned as they are."""
    if target == "esql" and any(r.query for r in planned) and not esql_supported(client):
        raise VigieError("hunt: this Elasticsearch server has no ES|QL (POST /_query is refused); "
                         "use --target lucene")
    results = []
    for rule in planned:
        if rule.query is None:
            results.append(RuleHits(rule))
        elif target == "lucene":
            results.append(run_lucene(client, rule, start, end, page_size))
        else:
            results.append(run_esql(client, rule, start, end))
    return results


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

def table(results: list[RuleHits]) -> str:
    """A readable table: hits, level, first/last hit and title per rule, most hits first;
    then the rules that did not run, with the reason."""
    ran = sorted((r for r in results if r.status == "ok"), key=lambda r: (-len(r.ids), r.rule.title))
    lines = [f"{'hits':>8}  {'level':<13}{'first hit':<26}{'last hit':<26}rule"]
    for r in ran:
        lines.append(f"{len(r.ids):>8,}  {r.rule.level or '-':<13}{r.first or '-':<26}{r.last or '-':<26}"
                     f"{r.rule.title}")
    for r in results:
        if r.status != "ok":
            name = r.rule.title or r.rule.path
            lines.append(f"{'-':>8}  {r.status}: {name} ({r.rule.path}): {r.rule.problem or r.error}")
    firing = sum(1 for r in ran if r.ids)
    lines.append(f"{sum(len(r.ids) for r in ran):,} hits from {firing} of {len(ran)} rules run"
                 + (f"; {len(results) - len(ran)} not run" if len(results) > len(ran) else ""))
    return "\n".join(lines)


def as_json(results: list[RuleHits], target: str, start: str | None, end: str | None) -> dict[str, Any]:
    """The results as a JSON document: per rule its status, indices, query and hit ids."""
    return {"target": target, "from": start, "to": end, "rules": [
        {"id": r.rule.id, "title": r.rule.title, "level": r.rule.level, "path": r.rule.path,
         "status": r.status, "reason": r.rule.problem or r.error, "indices": list(r.rule.indices),
         "query": r.rule.query, "hits": len(r.ids), "first": r.first, "last": r.last,
         "event_ids": sorted(r.ids)} for r in results]}


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are VigieErrors (one line, exit 2)."""

    def error(self, message: str):  # one line, exit 2, through VigieError
        raise VigieError(f"hunt: {message} (see `vigie hunt --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The arguments of `vigie hunt`."""
    parser = _Parser(
        prog="vigie hunt", description="Run Sigma rules against the events indexed in Elasticsearch "
                                       "and report the hits per rule.")
    parser.add_argument("rules", nargs="*", type=Path, metavar="RULE_OR_DIR",
                        help="Sigma rule files, or folders searched for rules")
    parser.add_argument("--from", dest="start", default=None,
                        help="first event time (inclusive): ISO 8601 (UTC unless an offset is given) or now-24h")
    parser.add_argument("--to", dest="end", default=None, help="last event time (exclusive), same forms")
    parser.add_argument("--target", choices=TARGETS, default="lucene",
                        help="query language (default lucene; esql needs a server with ES|QL)")
    parser.add_argument("--json", dest="json_file", type=Path, default=None,
                        help="also write the results, with the hit event ids, to this JSON file")
    parser.add_argument("--index-prefix", default=EVENTS_PREFIX,
                        help=f"prefix of the events indices (default {EVENTS_PREFIX})")
    add_elasticsearch_connection_flags(parser, "Elasticsearch URL, e.g. http://127.0.0.1:9200")
    return parser


def hunt_main(argv: list[str]) -> int:
    """`vigie hunt ...`: 0 when every rule ran, 1 when some could not be converted or failed."""
    args = build_parser().parse_args(argv)
    if not args.rules:
        raise VigieError("hunt: give at least one rule file or folder: vigie hunt RULES... --es-url URL")
    if not args.es_url:
        raise VigieError("hunt: --es-url URL is required (e.g. http://127.0.0.1:9200)")
    start, end = parse_time(args.start, "--from"), parse_time(args.end, "--to")
    planned = plan(args.rules, args.target, args.index_prefix)
    client = connect(args.es_url, args.es_api_key_file, args.es_user, args.es_ca_file, args.es_password_file)
    results = hunt(client, planned, args.target, start, end)
    print(table(results))
    if args.json_file is not None:
        args.json_file.write_text(json.dumps(as_json(results, args.target, start, end), indent=1) + "\n",
                                  encoding="utf-8")
        print(f"vigie hunt: results written to {args.json_file}", file=sys.stderr)
    return 0 if all(r.status == "ok" for r in results) else 1
