"""`vigie demo`: generate the hospital scenario, replay it, print where outputs are and what they show."""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from pipelines.cli import print_summary
from pipelines.replay import run_replay
from pipelines.reports.overview import load_truth, overview
from pipelines.scenario.chu import generate_chu


def run_demo(out: Path, events: int, seed: int) -> int:
    """Generate into OUT/scenario, replay into OUT/replay, print the summary and an overview."""
    scenario, replay = out / "scenario", out / "replay"
    shutil.rmtree(scenario, ignore_errors=True)
    started = time.time()
    print(f"vigie demo: generating the 'chu' hospital scenario ({events:,} lines, seed {seed}) ...",
          file=sys.stderr)
    generate_chu(scenario, events=events, seed=seed, progress=lambda m: print(f"  {m}", file=sys.stderr))
    truth = load_truth(scenario)
    print(f"vigie demo: replaying {scenario} (timezone {truth['timezone']}) ...", file=sys.stderr)
    summary = run_replay([str(scenario)], ["--out", str(replay), "--timezone", truth["timezone"]],
                         say=lambda m: print(m, file=sys.stderr))
    print_summary(summary)
    print("\nwhat the logs show:")
    for line in overview(replay, truth):
        print(f"  {line}")
    print(f"\nscenario logs and truth.json: {scenario}\ndemo done in {time.time() - started:.1f} s")
    return 0
