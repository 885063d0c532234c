"""`vigie` entry point: thin dispatch to the commands (generate, replay, rules, schema, demo).

Errors the user can fix are printed as one line `vigie: ...` with a non-zero exit, never a
traceback (set VIGIE_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import re
import sys
from pathlib import Path

from pipelines.errors import VigieError


def _cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.scenario.chu import generate_chu
    if args.scenario != "chu":
        raise VigieError(f"unknown scenario {args.scenario!r}; available: chu")
    if args.events < 2000:
        raise VigieError("--events must be at least 2000 (the attack alone needs room)")
    summary = generate_chu(Path(args.out), events=args.events, seed=args.seed,
                           progress=lambda msg: print(f"  {msg}", file=sys.stderr))
    print(f"vigie generate: wrote the 'chu' scenario to {args.out} "
          f"(seed {args.seed}, truth in {Path(args.out) / 'truth.json'})")
    for path, info in sorted(summary.get("files", {}).items()):
        print(f"  {path}: {info}")
    return 0


@functools.lru_cache(maxsize=None)
def _pipeline_flags() -> dict[str, bool]:
    """Every flag of Beam's PipelineOptions subclasses, VigieOptions included -> takes a value."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.options import VigieOptions  # noqa: F401 - registers Vigie's flags
    parser = argparse.ArgumentParser(add_help=False)

    def add(cls):
        for sub in cls.__subclasses__():
            try:
                sub._add_argparse_args(parser)
            except argparse.ArgumentError:
                pass  # a flag declared by two option classes
            add(sub)
    add(PipelineOptions)
    return {opt: action.nargs != 0 for action in parser._actions for opt in action.option_strings}


def _split_inputs(rest: list[str]) -> tuple[list[str], list[str]]:
    """`vigie replay` words -> (inputs, flags); unknown flags are refused with a clear message."""
    flags_known = _pipeline_flags()
    inputs, flags, i = [], [], 0
    while i < len(rest):
        arg = rest[i]
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            if name not in flags_known:
                raise VigieError(f"unknown flag {name} (see `vigie replay --help`)")
            flags.append(arg)
            if "=" not in arg and flags_known[name] and i + 1 < len(rest):
                flags.append(rest[i + 1])
                i += 1
        else:
            inputs.append(arg)
        i += 1
    return inputs, flags


def _cmd_replay(rest: list[str]) -> int:
    from pipelines.replay import run_replay
    inputs, flags = _split_inputs(rest)
    if not inputs:
        raise VigieError("replay needs at least one input file or folder: vigie replay INPUT... --out DIR")
    summary = run_replay(inputs, flags, say=lambda m: print(m, file=sys.stderr))
    print_summary(summary)
    return 0


def print_summary(summary: dict) -> None:
    """A short table of a replay's counts, and where its outputs are."""
    out = summary["out"]
    print(f"vigie replay: done in {summary['timings_s']['total']:.1f} s "
          f"({summary['lines_per_second']:,} lines/s)")
    header = f"  {'dataset':<8}{'lines':>10}{'events':>10}{'in events':>11}{'dead':>8}{'skipped':>9}"
    print(header)
    for name, c in summary["datasets"].items():
        print(f"  {name:<8}{c['lines_read']:>10,}{c['events']:>10,}{c['lines_in_events']:>11,}"
              f"{c['lines_dead_lettered']:>8,}{c['lines_skipped']:>9,}")
    rules = summary.get("rules", {})
    if "loaded" in rules:
        firing = [(v["signals"], v["title"]) for v in rules["signals_per_rule"].values() if v["signals"]]
        print(f"  {summary['datasets']['total']['signals']:,} signals from {len(firing)} of "
              f"{rules['loaded']} rules" + (f" ({len(rules['skipped'])} skipped)" if rules["skipped"] else ""))
    print(f"  events:       {out}/events/ (Parquet, dataset=/date= partitions)")
    print(f"  signals:      {out}/signals/")
    print(f"  dead letters: {out}/deadletter/")
    print(f"  summary:      {out}/summary.json")
    es = summary.get("elasticsearch")
    if isinstance(es, dict):
        t = summary["datasets"]["total"]
        print(f"  elasticsearch: {es['url']}: {t['documents_indexed']:,} documents indexed, "
              f"{t['documents_dead_lettered']:,} dead-lettered, {t['index_retries']:,} retries")


def _cmd_schema(args: argparse.Namespace) -> int:
    from pipelines.schema import schemas
    from pipelines.schema_render import render
    schemas()  # validates schemas/ (unknown types, undefined fields)
    deploy_dir = Path(args.deploy_dir) if args.deploy_dir else None
    stale = render(deploy_dir, check=args.check) if deploy_dir else render(check=args.check)
    if args.check:
        if stale:
            print("vigie: generated files are stale, run `vigie schema render`: " + ", ".join(stale),
                  file=sys.stderr)
            return 1
        print("vigie schema: generated files are up to date")
    else:
        print(f"vigie schema: wrote {len(stale)} file(s)" + (": " + ", ".join(stale) if stale else ""))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.commands.demo import run_demo
    return run_demo(Path(args.out), events=args.events, seed=args.seed, es_url=args.es_url)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigie", description="Vigie: SIEM log-correlation pipeline.")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write a labelled scenario of mail, web and VPN logs")
    gen.add_argument("--scenario", default="chu")
    gen.add_argument("--out", required=True)
    gen.add_argument("--events", type=int, default=200_000, help="total log lines to write")
    gen.add_argument("--seed", type=int, default=7)
    sub.add_parser("replay", add_help=False,
                   help="replay archived logs into Parquet: vigie replay INPUT... --out DIR [flags]")
    sub.add_parser("rules", add_help=False,
                   help="detection engineering: vigie rules check|test|new|convert|backtest ...")
    sub.add_parser("es", add_help=False,
                   help="Elasticsearch: vigie es check|templates|backfill DIR|verify DIR --es-url URL")
    sub.add_parser("hunt", add_help=False,
                   help="run Sigma rules against Elasticsearch: vigie hunt RULES... --es-url URL")
    schema = sub.add_parser("schema", help="render or check the files generated from schemas/")
    schema.add_argument("action", choices=["render"])
    schema.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    schema.add_argument("--deploy-dir", default=None, help="where the templates go (default deploy/elasticsearch)")
    demo = sub.add_parser("demo", help="generate the hospital scenario, replay it, summarise")
    demo.add_argument("--out", default="demo-output")
    demo.add_argument("--events", type=int, default=200_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--es-url", default=None, help="also index into this Elasticsearch "
                                                     "(`make demo` starts one and passes it)")
    return parser


def _replay_help() -> str:
    from pipelines.options import VigieOptions
    parser = argparse.ArgumentParser(prog="vigie replay", usage="vigie replay INPUT... --out DIR [flags]",
                                     description="Replay archived logs (files, folders, globs, .gz) "
                                                 "into Parquet. Beam flags (--runner, ...) pass through.")
    VigieOptions._add_argparse_args(parser)
    return parser.format_help()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("vigie").setLevel(logging.INFO)  # progress lines; Beam's own stay quiet
    try:
        if argv and argv[0] == "rules":
            from pipelines.commands.rules import rules_main
            return rules_main(argv[1:])
        if argv and argv[0] == "es":
            from pipelines.commands.es import es_main
            return es_main(argv[1:])
        if argv and argv[0] == "hunt":
            from pipelines.authoring.hunt import hunt_main
            return hunt_main(argv[1:])
        if argv and argv[0] == "replay":
            if "--help" in argv[1:] or "-h" in argv[1:]:
                print(_replay_help())
                return 0
            return _cmd_replay(argv[1:])
        args = build_parser().parse_args(argv)
        return {"generate": _cmd_generate, "schema": _cmd_schema, "demo": _cmd_demo}[args.command](args)
    except VigieError as exc:
        print(f"vigie: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vigie: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the user gets one line; VIGIE_DEBUG shows the rest
        if os.environ.get("VIGIE_DEBUG"):
            raise
        message = _vigie_error_inside(exc) or f"internal error: {type(exc).__name__}: {_first_line(exc)}"
        print(f"vigie: {message} (set VIGIE_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def _vigie_error_inside(exc: BaseException) -> str | None:
    """A VigieError raised inside a Beam worker reaches us wrapped: recover its message."""
    match = re.search(r"VigieError: ([^\n\[]+)", str(exc))
    return match.group(1).strip() if match else None


if __name__ == "__main__":
    sys.exit(main())
