"""Hunt planning and running: Sigma rules -> Elasticsearch queries -> the ids of the events they hit.

In: Sigma rule files or folders, a connected Elasticsearch client, an optional event-time window.
Out: one `RuleHits` per rule: the matching event ids (`_id` = `event.id`) of a rule that searched,
or why it did not search, in one of four kinds that are never confused with "0 hits":

- `not applicable`: the rule cannot run on this target by nature, not by fault: the target
  lacks a capability it needs (Lucene has no date parts or word boundaries; the server's
  regular-expression engine cannot determinise a pattern; correlation rules are not hunted);
- `not convertible`: the rule or the backend failed (unreadable file, unmappable field, ...);
- `failed`: the server refused the query;
- `no index`: none of the indices its log source routes to exists, so nothing was searched.

Each rule goes through Vigie's processing pipeline and pySigma's Elasticsearch backend:
`lucene` (default) is Vigie's dialect of the Lucene backend (pipelines/authoring/es_backends.py),
run as a `query_string` in a bool filter with the `@timestamp` range and paged with a point in
time and `search_after`; `esql` is the ES|QL backend's query, its `FROM` narrowed to the rule's
indices and paged by `event.id` (servers with `POST /_query` only). Each rule searches only the
events indices of the datasets its log source routes to (pipelines/detection/pipeline.py).

The command line (`vigie hunt`) is pipelines/commands/hunt.py.
"""
from __future__ import annotations

import calendar
import copy
import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaDetection, SigmaRule

from pipelines.authoring.convert import one_line, read_rules, require_rule_files, source_path, target_lacks
from pipelines.detection.pipeline import routes, vigie_pipeline
from pipelines.errors import VigieError
from pipelines.indices import EVENTS_PREFIX, events_index, family_events

TARGETS = ("lucene", "esql")
PAGE_SIZE = 5_000
ESQL_PAGE = 10_000
PIT_KEEP_ALIVE = "2m"
TIME_FIELD = "@timestamp"
_DATE_MATH = re.compile(r"^now(?:[+-]\d+[yMwdhHms])*(?:/[yMwdhHms])?$")
_DATE_MATH_STEP = re.compile(r"([+-])(\d+)([yMwdhHms])")

OK, NOT_APPLICABLE, NOT_CONVERTIBLE, FAILED, NO_INDEX = (
    "ok", "not applicable", "not convertible", "failed", "no index")
# Server errors that say the target cannot run a query by nature (not a fault of the rule).
SERVER_LIMITS = ("too_complex_to_determinize",)
CORRELATION_NOT_HUNTED = ("a correlation rule: hunt searches single events; correlation rules run "
                          "over the signals of `vigie replay`")


@dataclass(frozen=True)
class PlannedRule:
    """One rule ready to run: its query (None when it cannot run) and the indices it searches.
    `applies` is False when `problem` is a capability the target lacks (not a failure)."""

    id: str
    title: str
    level: str | None
    path: str
    indices: tuple[str, ...]
    query: str | None
    problem: str | None = None
    applies: bool = True


@dataclass
class RuleHits:
    """What one rule found: event ids (the documents' `_id`), or why it did not search."""

    rule: PlannedRule
    ids: list[str] = field(default_factory=list)
    error: str | None = None           # the server refused the query
    not_applicable: str | None = None  # the server cannot run it by nature (SERVER_LIMITS)
    no_index: bool = False             # none of the rule's indices exists
    searched: tuple[str, ...] = ()     # the existing indices the rule searched
    first: str | None = None
    last: str | None = None

    @property
    def status(self) -> str:
        """ok, not applicable, not convertible, failed or no index (module docstring)."""
        if self.rule.problem:
            return NOT_CONVERTIBLE if self.rule.applies else NOT_APPLICABLE
        if self.not_applicable:
            return NOT_APPLICABLE
        if self.no_index:
            return NO_INDEX
        return FAILED if self.error else OK

    @property
    def reason(self) -> str | None:
        """Why the rule did not search (None when it did)."""
        if self.no_index:
            return f"no index matches {', '.join(self.rule.indices)}"
        return self.rule.problem or self.not_applicable or self.error

    @property
    def where(self) -> str | None:
        """Where it stopped: conversion (the backend), server, index; None when it searched."""
        if self.rule.problem:
            return "conversion"
        if self.no_index:
            return "index"
        return "server" if (self.error or self.not_applicable) else None


@dataclass
class HuntResult:
    """Every rule's RuleHits, and what was searched: the existing indices and how many of their
    events fall in the window (None when no rule searched); `span` is the first and last event
    time in those indices when the window holds none of them."""

    target: str
    start: str | None
    end: str | None
    rules: list[RuleHits]
    indices: tuple[str, ...] = ()
    events_in_window: int | None = None
    span: tuple[str | None, str | None] = (None, None)


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
    cannot be read and rules the backend refuses become PlannedRules with a `problem`; a rule
    referenced by a correlation rule is planned like any other. VigieError when a path is
    missing or holds no rule file."""
    paths = list(paths)
    try:
        require_rule_files(paths)
    except VigieError as exc:
        raise VigieError(f"hunt: {exc}") from None
    collection, failures = read_rules(paths)
    planned = [PlannedRule("", "", None, f.path, (), None, f.reason) for f in failures]
    backend = lucene_backend() if target == "lucene" else esql_backend()
    for rule in collection.rules:
        planned.append(plan_rule(backend, rule, target, prefix))
    return planned


def _from_clause(query: str, indices: Iterable[str]) -> str:
    """An ES|QL query with its FROM narrowed to `indices`."""
    return re.sub(r"^from \S+", "from " + ",".join(indices), query, count=1, flags=re.IGNORECASE)


def rule_fields(processed: SigmaRule) -> set[str]:
    """The field names a processed rule's detection items search (keywords have none)."""
    found: set[str] = set()

    def walk(detection: SigmaDetection) -> None:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                walk(item)
            elif item.field:
                found.add(item.field)
    for detection in processed.detection.detections.values():
        walk(detection)
    return found


def unknown_field(processed: SigmaRule, route_entries: Iterable[str]) -> str | None:
    """Why a processed rule would search a field no event of its datasets has (the loader's
    check: every field in the schema of each routed family), or None. Without it, Lucene and
    ES|QL would answer such a rule with 0 hits."""
    from pipelines.schema import schemas
    s = schemas()
    for family in sorted({entry.split(".")[0] for entry in route_entries}):
        known = set(s.family_fields(family))
        missing = sorted(f for f in rule_fields(processed) if f not in known)
        if missing:
            return (f"field {missing[0]!r} is not in the {family} schema (schemas/datasets.yml), so no "
                    "event has it; use an ECS field or map it in detections/pipelines/vigie_ecs.yml")
    return None


def plan_rule(backend: Any, rule: SigmaRule | SigmaCorrelationRule, target: str,
              prefix: str = EVENTS_PREFIX) -> PlannedRule:
    """One rule -> its query and indices, or the reason it cannot be hunted (and whether that
    reason is a capability the target lacks)."""
    base = dict(id=str(rule.id or ""), title=str(rule.title), level=str(rule.level) if rule.level else None,
                path=source_path(rule))
    if isinstance(rule, SigmaCorrelationRule):
        return PlannedRule(**base, indices=(), query=None, problem=CORRELATION_NOT_HUNTED, applies=False)
    entries = routes(rule)
    indices = rule_indices(entries, prefix)
    if not indices:
        return PlannedRule(**base, indices=(), query=None,
                           problem=f"log source {rule.logsource} routes to no Vigie dataset")
    processed = copy.deepcopy(rule)
    try:
        queries = backend.convert_rule(processed)
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises is this rule's reason
        reason = one_line(exc)
        if target_lacks(exc):
            reason = f"the {target} target cannot express it: {reason}"
        return PlannedRule(**base, indices=indices, query=None, problem=reason, applies=not target_lacks(exc))
    if len(queries) != 1:
        return PlannedRule(**base, indices=indices, query=None,
                           problem=f"the backend produced {len(queries)} queries, expected one")
    problem = unknown_field(processed, entries)
    if problem:
        return PlannedRule(**base, indices=indices, query=None, problem=problem)
    query = str(queries[0])
    if target == "esql":
        query = _from_clause(query, indices)
    return PlannedRule(**base, indices=indices, query=query)


# ---------------------------------------------------------------------------------------------
# The time window (pure)
# ---------------------------------------------------------------------------------------------

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


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _round_down(moment: dt.datetime, unit: str) -> dt.datetime:
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        day = moment - dt.timedelta(days=moment.weekday())
        return day.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in "hH":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def resolve_time(value: str, now: dt.datetime) -> dt.datetime:
    """A value of parse_time -> the instant it names (date math evaluated at `now`, rounding
    down as Elasticsearch does for gte and lt)."""
    if not value.startswith("now"):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    moment = now
    body, _, rounding = value[3:].partition("/")
    for sign, amount, unit in _DATE_MATH_STEP.findall(body):
        n = int(amount) * (1 if sign == "+" else -1)
        if unit in "yM":
            moment = _add_months(moment, n * (12 if unit == "y" else 1))
        else:
            seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
            moment = moment + dt.timedelta(seconds=n * seconds)
    return _round_down(moment, rounding) if rounding else moment


def time_window(start_text: str | None, end_text: str | None,
                now: dt.datetime | None = None) -> tuple[str | None, str | None]:
    """--from / --to -> (start, end) for the range query; VigieError when one is not a time or
    the window is empty (--from not before --to)."""
    start, end = parse_time(start_text, "--from"), parse_time(end_text, "--to")
    if start is not None and end is not None:
        now = now or dt.datetime.now(dt.timezone.utc)
        if resolve_time(start, now) >= resolve_time(end, now):
            raise VigieError(f"hunt: --from {start_text} is not before --to {end_text}: the window is "
                             "empty (--from is inclusive, --to exclusive); swap them or widen the window")
    return start, end


def search_body(query: str, start: str | None, end: str | None) -> dict[str, Any]:
    """The bool query of one Lucene rule: query_string + @timestamp range, both as filters."""
    filters: list[dict[str, Any]] = [{"query_string": {"query": query}}]
    window = range_filter(start, end)
    if window:
        filters.append(window)
    return {"bool": {"filter": filters}}


def range_filter(start: str | None, end: str | None) -> dict[str, Any] | None:
    """The @timestamp range of the window (gte start, lt end), or None for no window."""
    if not (start or end):
        return None
    return {"range": {TIME_FIELD: {k: v for k, v in (("gte", start), ("lt", end)) if v}}}


# ---------------------------------------------------------------------------------------------
# The server (thin shell)
# ---------------------------------------------------------------------------------------------

def connect(url: str, api_key_file: str | None = None, user: str | None = None,
            ca_file: str | None = None, password_file: str | None = None) -> tuple[Any, str | None]:
    """An Elasticsearch client for `url`, checked with one request, built by the sink's
    connection code (pipelines/sinks/es_cluster.py): an API key from a file or
    $VIGIE_ES_API_KEY, or a user with the password in $VIGIE_ES_PASSWORD or a file; TLS verified
    against `ca_file` when given. Returns (client, note): the note says when the cluster has
    security disabled, so the credentials given were not checked. VigieError (one line naming
    the URL, no secret) otherwise."""
    from pipelines.sinks.es_cluster import check_cluster, credentials_note, security_state, settings_from
    try:
        settings = settings_from(url, api_key_file=api_key_file, user=user,
                                 password_file=password_file, ca_file=ca_file)
        client = check_cluster(settings)
    except VigieError as exc:
        raise VigieError(f"hunt: {exc}") from None
    note = credentials_note(settings, security_state(client)) if settings.auth != "none" else None
    return client, note


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


def existing_indices(client: Any, names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Index name or pattern -> the open indices, aliases and data streams it resolves to
    (empty when none exists)."""
    from elasticsearch import NotFoundError
    found: dict[str, tuple[str, ...]] = {}
    for name in dict.fromkeys(names):
        try:
            answer = client.indices.resolve_index(name=name, expand_wildcards="open")
        except NotFoundError:
            found[name] = ()
            continue
        found[name] = tuple(sorted(entry["name"] for kind in ("indices", "aliases", "data_streams")
                                   for entry in answer.get(kind, [])))
    return found


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


def server_limit(reason: str) -> bool:
    """True when a server's refusal says it cannot run the query by nature (SERVER_LIMITS)."""
    return any(marker in reason for marker in SERVER_LIMITS)


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
                                 docvalue_fields=[{"field": TIME_FIELD, "format": "strict_date_optional_time"}],
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
    """One Lucene rule against the server; a query the server refuses gives its reason (a
    server limit, such as a regex too complex to determinise, makes it not applicable)."""
    from elasticsearch import ApiError
    result = RuleHits(rule, searched=rule.indices)
    times: list[str] = []
    try:
        problem = validation_problem(client, rule)
        if problem:
            if server_limit(problem):
                result.not_applicable = ("the server's regular-expression engine cannot run its "
                                         f"pattern: {problem}")
            else:
                result.error = problem
            return result
        for hits in lucene_pages(client, rule, start, end, page_size):
            result.ids.extend(hit["_id"] for hit in hits)
            times.extend(t for hit in hits for t in hit.get("fields", {}).get(TIME_FIELD, [])[:1])
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
    result, after = RuleHits(rule, searched=rule.indices), None
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


def window_counts(client: Any, indices: tuple[str, ...], start: str | None,
                  end: str | None) -> tuple[int, tuple[str | None, str | None]]:
    """How many events of `indices` fall in the window and, when none does, the first and last
    event time they hold (both None when they hold no event at all)."""
    window = range_filter(start, end)
    answer = client.search(index=",".join(indices), size=0, track_total_hits=True,
                           ignore_unavailable=True, query=window or {"match_all": {}})
    count = int(answer["hits"]["total"]["value"])
    if count or not window:
        return count, (None, None)
    overall = client.search(index=",".join(indices), size=0, ignore_unavailable=True,
                            aggs={"first": {"min": {"field": TIME_FIELD}},
                                  "last": {"max": {"field": TIME_FIELD}}})
    aggs = overall.get("aggregations", {})
    return 0, (aggs.get("first", {}).get("value_as_string"), aggs.get("last", {}).get("value_as_string"))


def _narrowed(rule: PlannedRule, target: str, indices: tuple[str, ...]) -> PlannedRule:
    """The rule restricted to the indices that exist (an ES|QL FROM fails on a missing one)."""
    query = _from_clause(rule.query, indices) if target == "esql" else rule.query
    return dataclasses.replace(rule, indices=indices, query=query)


def hunt(client: Any, planned: list[PlannedRule], target: str, start: str | None = None,
         end: str | None = None, page_size: int = PAGE_SIZE) -> HuntResult:
    """Run every runnable rule against the indices of its own that exist; rules with a problem
    are returned as they are, rules none of whose indices exists as `no index`."""
    runnable = [r for r in planned if r.query]
    if target == "esql" and runnable and not esql_supported(client):
        raise VigieError("hunt: this Elasticsearch server has no ES|QL (POST /_query is refused); "
                         "use --target lucene")
    found = existing_indices(client, (i for r in runnable for i in r.indices))
    results: list[RuleHits] = []
    for rule in planned:
        if rule.query is None:
            results.append(RuleHits(rule))
            continue
        present = tuple(dict.fromkeys(name for i in rule.indices for name in found[i]))
        if not present:
            results.append(RuleHits(rule, no_index=True))
            continue
        narrowed = _narrowed(rule, target, tuple(i for i in rule.indices if found[i]))
        hits = (run_lucene(client, narrowed, start, end, page_size) if target == "lucene"
                else run_esql(client, narrowed, start, end))
        hits.rule, hits.searched = rule, present
        results.append(hits)
    searched = tuple(sorted({i for r in results for i in r.searched if r.status == OK}))
    outcome = HuntResult(target, start, end, results, searched)
    if searched:
        outcome.events_in_window, outcome.span = window_counts(client, searched, start, end)
    return outcome


def index_hint(client: Any, prefix: str) -> str:
    """Which events indices exist, to help when none of the rules' indices does."""
    under = [i for i in existing_indices(client, [f"{prefix}*"])[f"{prefix}*"] if not i.startswith(".")]
    if under:
        return f"indices under {prefix!r}: {', '.join(under[:6])}" + (" ..." if len(under) > 6 else "")
    default = existing_indices(client, [f"{EVENTS_PREFIX}*"])[f"{EVENTS_PREFIX}*"]
    if default and prefix != EVENTS_PREFIX:
        return (f"no index starts with {prefix!r}, but {len(default)} start with {EVENTS_PREFIX!r} "
                f"(check --index-prefix)")
    return f"no index starts with {prefix!r}: index events first (`vigie replay ... --es-url URL`)"
