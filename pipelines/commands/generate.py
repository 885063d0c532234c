"""`vigie generate --scenario chu --out DIR [--events N] [--seed S]`: a labelled scenario of logs.

A folder that holds something other than an earlier scenario is refused (nothing is overwritten
that the generator did not write); an earlier scenario in it is replaced whole.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from pipelines.errors import VigieError
from pipelines.options import CommandParser

SCENARIO_MARK = "truth.json"  # every generated scenario has its answer key at the top


def scenario_folder(out: Path, what: str) -> Path:
    """`out` ready for a new scenario: new, empty, or an earlier scenario (then emptied)."""
    if out.exists() and not out.is_dir():
        raise VigieError(f"{what} {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / SCENARIO_MARK).is_file():
            raise VigieError(f"{what} {out} is not empty and holds no earlier scenario "
                             f"({SCENARIO_MARK}); choose an empty or new folder")
        shutil.rmtree(out)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="vigie generate", description="Write a labelled scenario of mail, "
                                                              "web and VPN logs with its answer key.")
    parser.add_argument("--scenario", default="chu", help="the scenario (only 'chu', the hospital)")
    parser.add_argument("--out", required=True, help="a new or empty folder (or an earlier scenario)")
    parser.add_argument("--events", type=int, default=200_000, help="total log lines to write")
    parser.add_argument("--seed", type=int, default=7)
    return parser


def main(argv: list[str]) -> int:
    """`vigie generate` (see the module docstring)."""
    from pipelines.scenario.chu import MIN_EVENTS, generate_chu
    args = build_parser().parse_args(argv)
    if args.scenario != "chu":
        raise VigieError(f"unknown scenario {args.scenario!r}; available: chu")
    if args.events < MIN_EVENTS:
        raise VigieError(f"--events must be at least {MIN_EVENTS} (the attack alone needs room)")
    out = scenario_folder(Path(args.out), "--out")
    summary = generate_chu(out, events=args.events, seed=args.seed,
                           progress=lambda msg: print(f"  {msg}", file=sys.stderr))
    print(f"vigie generate: wrote the 'chu' scenario to {out} "
          f"(seed {args.seed}, truth in {out / SCENARIO_MARK})")
    for path, info in sorted(summary.get("files", {}).items()):
        print(f"  {path}: {info}")
    return 0
