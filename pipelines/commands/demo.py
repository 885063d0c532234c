"""`vigie demo`: generate the hospital scenario, replay it, print where outputs are and what they show."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pyarrow.dataset as ds

from pipelines.commands.generate import scenario_folder
from pipelines.commands.replay import print_summary, run_replay, undelivered_note
from pipelines.errors import VigieError
from pipelines.options import CommandParser
from pipelines.reports.overview import load_truth, overview
from pipelines.scenario.chu import generate_chu
from pipelines.sinks.parquet import SIGNALS_DIR


def run_demo(out: Path, events: int, seed: int, es_url: str | None = None) -> int:
    """Generate into OUT/scenario, replay into OUT/replay (and into Elasticsearch at `es_url`),
    print the summary, the document counts per index and an overview."""
    scenario, replay = out / "scenario", out / "replay"
    if out.is_dir() and any(p.name not in ("scenario", "replay") for p in out.iterdir()):
        raise VigieError(f"--out {out} holds more than an earlier demo (scenario/, replay/); "
                         "choose an empty or new folder")
    scenario_folder(scenario, "the demo's scenario folder")
    started = time.time()
    print(f"vigie demo: generating the 'chu' hospital scenario ({events:,} lines, seed {seed}) ...",
          file=sys.stderr)
    generate_chu(scenario, events=events, seed=seed, progress=lambda m: print(f"  {m}", file=sys.stderr))
    truth = load_truth(scenario)
    print(f"vigie demo: replaying {scenario} (timezone {truth['timezone']}) ...", file=sys.stderr)
    # The scenario's inventory and anonymiser list; no GeoIP file: countries come from the
    # offline default (iptocc).
    flags = ["--out", str(replay), "--timezone", truth["timezone"],
             "--inventory", str(scenario / "inventory.yml"),
             "--threat-list", f"tor-exits={scenario / 'tor-exits.txt'}"]
    if es_url:
        flags += ["--es-url", es_url]
    summary = run_replay([str(scenario)], flags,
                         say=lambda m: print(m, file=sys.stderr))
    print_summary(summary)
    note = undelivered_note(summary)
    if note:
        print(note, file=sys.stderr)
    if es_url:
        _print_index_counts(replay, es_url)
    print("\nwhat the logs show:")
    for line in overview(replay, truth):
        print(f"  {line}")
    print("\nwhat the crisis cell gets:")
    for line in crisis_cell_lines(replay, summary):
        print(f"  {line}")
    print(f"\nscenario logs and truth.json: {scenario}\ndemo done in {time.time() - started:.1f} s")
    return 0


def crisis_cell_lines(replay: Path, summary: dict) -> list[str]:
    """A replay's output folder and summary -> lines: the correlation results that are alerts
    (building blocks left out), then the incidents with their severity and report pages."""
    lines: list[str] = []
    folder = replay / SIGNALS_DIR
    if folder.is_dir():
        table = ds.dataset(folder, format="parquet").to_table(
            columns=["@timestamp", "vigie.correlation.rule_name", "vigie.correlation.group_by.values",
                     "vigie.building_block"])
        results = [r for r in table.to_pylist()
                   if r["vigie.correlation.rule_name"] and not r["vigie.building_block"]]
        lines.append(f"{len(results)} correlation result(s) among {table.num_rows:,} signals")
        for r in sorted(results, key=lambda r: (r["@timestamp"], r["vigie.correlation.rule_name"])):
            group = ", ".join(str(v) for v in r["vigie.correlation.group_by.values"] or [])
            lines.append(f"  {r['@timestamp']:%Y-%m-%d %H:%M} UTC  {r['vigie.correlation.rule_name']}  ({group})")
    incidents = summary.get("incidents", {})
    listed = incidents.get("list") if isinstance(incidents.get("list"), list) else []
    lines.append(f"{len(listed)} incident(s)")
    reports = replay / "incidents"
    for item in listed:
        lines.append(f"  [{item['severity']}] {item['title']}")
        for lang in ("fr", "en"):
            page = reports / f"{item['id']}.{lang}.html"
            if page.is_file():
                lines.append(f"    report ({lang}): {page}")
    return lines


def _print_index_counts(replay: Path, es_url: str) -> None:
    """Documents per Elasticsearch index next to the Parquet archive's (`vigie es verify`)."""
    from pipelines.commands.es import verify, verify_lines
    from pipelines.sinks.es_cluster import settings_from

    print(f"\nElasticsearch {es_url}: documents per index (Parquet archive / index)")
    for line in verify_lines(verify(replay, settings_from(es_url))):
        print(line)


def main(argv: list[str]) -> int:
    """`vigie demo [--out DIR] [--events N] [--seed S] [--es-url URL]`."""
    parser = CommandParser(prog="vigie demo", description="Generate the hospital scenario, "
                                                          "replay it, summarise what it found.")
    parser.add_argument("--out", default="demo-output")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--es-url", default=None, help="also index into this Elasticsearch "
                                                       "(`make demo` starts one and passes it)")
    args = parser.parse_args(argv)
    return run_demo(Path(args.out), events=args.events, seed=args.seed, es_url=args.es_url)
