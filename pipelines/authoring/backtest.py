"""`vigie rules backtest RULE --archive DIR`: how a rule would have fired over archived events.

In: a Sigma rule file and a replay output folder (or its events/ folder: Parquet partitioned
dataset=<event.dataset>/date=<day>). The rule is compiled by the project's loader and evaluated
by the project's engine batch by batch: the scanner reads only the partitions of the datasets
the rule is routed to and only the columns the rule and the report need.
Out: hits, first and last hit time, top entities, hits per day (a text bar chart), and with
--json the same as a JSON document. A rule that scanned no event says why (the archive holds
none of the datasets it applies to: both are named), so its "0 hits" is never silent.

Exit status: 0 the rule scanned the archive's events of its datasets (0 hits means none
matched); 1 the rule could not be loaded; 2 bad input (no such rule file, a folder, no archive);
3 nothing was scanned: the archive holds none of the rule's datasets, or no event in them.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from pipelines.detection.engine import accepts, match_rule
from pipelines.detection.loader import CompiledRule, load_rules
from pipelines.errors import VigieError

ENTITY_FIELDS = ("source.ip", "user.name", "url.domain", "email.from.address", "email.to.address")
TIME_FIELD = "@timestamp"
REPORT_FIELDS = (TIME_FIELD, "event.id", "event.dataset", *ENTITY_FIELDS)
DATASET_PARTITION = "dataset"
BATCH_ROWS = 64 * 1024
BAR_WIDTH = 40
SAMPLE_HITS = 10


@dataclass(frozen=True)
class Hits:
    """A summary of a rule's hit rows."""

    count: int
    first: str | None
    last: str | None
    top_entities: dict[str, list[tuple[str, int]]]
    per_day: dict[str, int]
    sample: list[dict[str, Any]]


@dataclass(frozen=True)
class Backtest:
    """What one rule did over the archive."""

    rule: CompiledRule
    datasets: list[str]
    events_scanned: int
    hits: Hits
    seconds: float


def events_folder(archive: Path) -> Path:
    """The events/ folder of a replay output, or `archive` itself when it is that folder."""
    return archive / "events" if (archive / "events").is_dir() else archive


def archived_datasets(folder: Path) -> list[str]:
    """The event.dataset values of the archive (its dataset=<name> partition folders)."""
    prefix = f"{DATASET_PARTITION}="
    return sorted(p.name[len(prefix):] for p in folder.glob(prefix + "*") if p.is_dir())


def routed_datasets(routes: tuple[str, ...], archived: list[str]) -> list[str]:
    """The archived datasets a rule's routes (datasets or whole families) accept."""
    return [name for name in archived if accepts(routes, name)]


def scan(folder: Path, datasets: list[str], columns: Iterable[str],
         batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """Event batches of the given datasets (partition pruning), only `columns` (those present)."""
    if not datasets:
        return
    dataset = pads.dataset(folder, format="parquet", partitioning="hive")
    names = set(dataset.schema.names)
    wanted = [c for c in dict.fromkeys(columns) if c in names]
    scanner = dataset.scanner(columns=wanted, batch_size=batch_rows,
                              filter=pc.field(DATASET_PARTITION).isin(datasets))
    for batch in scanner.to_batches():
        if batch.num_rows:
            yield pa.Table.from_batches([batch])


def hit_rows(rule: CompiledRule, batch: pa.Table) -> pa.Table:
    """The rows of `batch` the rule matches (engine), restricted to the report's columns."""
    rows = pa.array(match_rule(rule, batch), pa.int64())
    return batch.select([c for c in REPORT_FIELDS if c in batch.column_names]).take(rows)


def top_values(column: pa.ChunkedArray, top: int) -> list[tuple[str, int]]:
    """The `top` most frequent non-null values of a column (list columns are flattened)."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        column = pc.list_flatten(column)
    counts = pc.value_counts(column.drop_null()).to_pylist()
    pairs = [(str(c["values"]), int(c["counts"])) for c in counts]
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:top]


def iso(value: Any) -> str | None:
    """A timestamp as ISO 8601 text in UTC (milliseconds when it has them), or None."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds"
                           ).replace("+00:00", "Z")


def summarise(rows: pa.Table, top: int) -> Hits:
    """Count, first/last time, top entities, hits per UTC day and the first hits of `rows`."""
    if not rows.num_rows:
        return Hits(0, None, None, {}, {}, [])
    times = rows[TIME_FIELD]
    bounds = pc.min_max(times)
    days = pc.value_counts(pc.strftime(times.drop_null(), format="%Y-%m-%d")).to_pylist()
    entities = {name: values for name in ENTITY_FIELDS if name in rows.column_names
                if (values := top_values(rows[name], top))}
    first_hits = rows.sort_by(TIME_FIELD).slice(0, SAMPLE_HITS).to_pylist()
    return Hits(rows.num_rows, iso(bounds["min"].as_py()), iso(bounds["max"].as_py()), entities,
                {d["values"]: d["counts"] for d in sorted(days, key=lambda d: d["values"])},
                [{k: iso(v) if k == TIME_FIELD else v for k, v in hit.items()} for hit in first_hits])


def backtest_rule(rule: CompiledRule, folder: Path, top: int = 10,
                  batch_rows: int = BATCH_ROWS) -> Backtest:
    """Evaluate one compiled rule over the archived events, batch by batch; summarise its hits."""
    started = time.perf_counter()
    datasets = routed_datasets(rule.datasets, archived_datasets(folder))
    scanned, parts = 0, []
    for batch in scan(folder, datasets, [*rule.fields, *REPORT_FIELDS], batch_rows):
        scanned += batch.num_rows
        parts.append(hit_rows(rule, batch))
    rows = pa.concat_tables(parts, promote_options="permissive") if parts else pa.table({})
    return Backtest(rule, datasets, scanned, summarise(rows, top), time.perf_counter() - started)


def bar_chart(per_day: dict[str, int], width: int = BAR_WIDTH) -> list[str]:
    """One line per day: the day, a bar of '#' proportional to its hits, the count."""
    peak = max(per_day.values(), default=0)
    return [f"    {day}  {'#' * max(1, round(width * n / peak)):<{width}}  {n:,}"
            for day, n in per_day.items()]


def render(result: Backtest, archive: Path) -> str:
    """The human-readable report of one rule's backtest."""
    rule, hits = result.rule, result.hits
    scanned = (f"{result.events_scanned:,} events scanned in {', '.join(result.datasets)}"
               if result.datasets else "nothing scanned: it holds none of the datasets the rule "
                                       f"applies to ({', '.join(rule_datasets(rule))})")
    lines = [f"rule   {rule.title} ({rule.id}), level {rule.level}, by {rule.author}",
             f"archive {archive}: {scanned} ({result.seconds:.1f} s)",
             f"hits   {hits.count:,}" + ("" if result.events_scanned else " (nothing was scanned)")]
    if hits.count:
        lines += [f"first  {hits.first}", f"last   {hits.last}", "top entities"]
        lines += [f"    {name}: " + ", ".join(f"{value} ({n:,})" for value, n in values)
                  for name, values in hits.top_entities.items()]
        lines += ["hits per day (UTC)", *bar_chart(hits.per_day)]
    return "\n".join(lines)


def as_json(result: Backtest, archive: Path) -> dict[str, Any]:
    """The report as a JSON-ready document."""
    rule, hits = result.rule, result.hits
    return {"rule": {"id": rule.id, "title": rule.title, "level": rule.level, "author": rule.author},
            "archive": str(archive), "datasets": result.datasets,
            "events_scanned": result.events_scanned, "hits": hits.count,
            "first": hits.first, "last": hits.last,
            "top_entities": {name: [{"value": v, "hits": n} for v, n in values]
                             for name, values in hits.top_entities.items()},
            "hits_per_day": hits.per_day, "sample": hits.sample,
            "seconds": round(result.seconds, 3)}


def add_backtest_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of `vigie rules backtest` on `parser`."""
    parser.add_argument("rule", type=Path, metavar="RULE", help="the Sigma rule file to evaluate")
    parser.add_argument("--archive", required=True, type=Path, metavar="DIR",
                        help="a `vigie replay` output folder, or its events/ folder")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="also write the report as JSON to FILE")
    parser.add_argument("--top", type=int, default=10, help="entities listed per field (default 10)")


def rule_datasets(rule: CompiledRule) -> list[str]:
    """The datasets a rule applies to, as text: `web.apache_combined`, or `vpn.*` for a family."""
    return [entry if "." in entry else f"{entry}.*" for entry in rule.datasets]


def why_nothing_scanned(result: Backtest, archived: list[str]) -> str | None:
    """Why a backtest scanned no event (None when it scanned some)."""
    if result.events_scanned:
        return None
    applies = ", ".join(rule_datasets(result.rule))
    if not result.datasets:
        return (f"the archive holds none of the datasets the rule applies to ({applies}); it holds "
                f"{', '.join(archived) or 'no dataset'}")
    return f"the archive's {', '.join(result.datasets)} partitions hold no event"


def run_backtest(args: argparse.Namespace) -> int:
    """Load the rule, backtest it over the archive, print (and write) the report; the exit
    status (module docstring). A missing rule or archive is a VigieError."""
    if args.rule.is_dir():
        raise VigieError(f"rules backtest: {args.rule} is a folder; backtest takes one rule file")
    if not args.rule.is_file():
        raise VigieError(f"rules backtest: no such rule file: {args.rule}")
    folder = events_folder(args.archive)
    archived = archived_datasets(folder)
    if not archived:
        raise VigieError(f"rules backtest: {args.archive} holds no archived events (expected "
                         f"{DATASET_PARTITION}=<name>/ folders, as `vigie replay --out` writes)")
    ruleset = load_rules([args.rule])
    for skipped in ruleset.skipped:
        print(f"vigie rules backtest: {skipped}", file=sys.stderr)
    results = [backtest_rule(rule, folder, args.top) for rule in ruleset.rules]
    if results:
        print("\n\n".join(render(result, args.archive) for result in results))
    if args.json is not None and results:
        documents = [{**as_json(result, args.archive), "nothing_scanned": why_nothing_scanned(result, archived)}
                     for result in results]
        args.json.write_text(json.dumps(documents[0] if len(documents) == 1 else documents,
                                        indent=2, default=str) + "\n", encoding="utf-8")
    if ruleset.skipped or not results:
        if not results and not ruleset.skipped:
            print(f"vigie: rules backtest: no rule could be read from {args.rule}", file=sys.stderr)
        return 1
    unscanned = [(r, why) for r in results if (why := why_nothing_scanned(r, archived))]
    for result, why in unscanned:
        print(f"vigie: rules backtest: nothing scanned for {result.rule.title!r}: {why}", file=sys.stderr)
    return 3 if unscanned else 0
