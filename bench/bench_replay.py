"""Replay benchmark: `vigie replay` against two baselines on the same 1,000,000 Apache lines.

Generates (once, deterministically: bench/inputs.py) BENCH_LINES Apache combined lines, each
from an address of its own, then runs, each in its own process: vigie replay --no-detect
--no-enrich (the same work as the baselines: parse and write Parquet); baseline (a) Beam
ReadFromText -> re -> dict -> WriteToParquet; baseline (b) plain Python re -> pyarrow ->
Parquet; and, for information, vigie replay with enrichment (every line has an address of its
own: the worst case for the address cache) and then with the shipped Sigma rules too. Prints
events/s, peak memory, event counts and ratios.
Environment: BENCH_LINES (default 1000000), BENCH_DIR (default bench/out).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from inputs import bench_input  # noqa: E402
from measure import PY, VIGIE, measure  # noqa: E402


def main() -> None:
    lines, work, source = bench_input()
    runs = {}
    # The same work as the baselines: parse and write Parquet (no enrichment, no rules).
    print("running vigie replay --no-detect --no-enrich ...", flush=True)
    vigie = measure([VIGIE, "replay", str(source), "--out", str(work / "vigie"), "--no-detect", "--no-enrich"])
    summary = json.loads((work / "vigie" / "summary.json").read_text())
    runs["vigie replay"] = (vigie, summary["datasets"]["total"]["events"])
    for kind, label in (("beam", "(a) Beam ReadFromText+re+WriteToParquet"), ("python", "(b) plain Python re+pyarrow")):
        print(f"running baseline {label} ...", flush=True)
        target = work / f"baseline-{kind}"
        subprocess.run(["rm", "-rf", str(target)], check=True)
        result = measure([PY, str(HERE / "baselines.py"), kind, str(source), str(target)])
        runs[label] = (result, int(result["stdout"].strip().splitlines()[-1]))
    print("running vigie replay with enrichment (information) ...", flush=True)
    enriching = measure([VIGIE, "replay", str(source), "--out", str(work / "vigie-enrich"), "--no-detect"])
    enrich_events = json.loads((work / "vigie-enrich" / "summary.json").read_text())["datasets"]["total"]["events"]
    print("running vigie replay with enrichment and the shipped Sigma rules (information) ...", flush=True)
    detecting = measure([VIGIE, "replay", str(source), "--out", str(work / "vigie-detect")])
    detect_summary = json.loads((work / "vigie-detect" / "summary.json").read_text())
    print(f"\n{lines:,} lines, {os.cpu_count()} cores")
    print(f"{'run':<45}{'events':>10}{'seconds':>9}{'events/s':>11}{'peak MiB':>10}")
    rates = {}
    for label, (result, events) in runs.items():
        rates[label] = events / result["seconds"]
        print(f"{label:<45}{events:>10,}{result['seconds']:>9.1f}{rates[label]:>11,.0f}{result['peak_mib']:>10,.0f}")
    print(f"{'vigie replay + enrichment (offline default)':<45}{enrich_events:>10,}"
          f"{enriching['seconds']:>9.1f}{enrich_events / enriching['seconds']:>11,.0f}{enriching['peak_mib']:>10,.0f}")
    d_events = detect_summary["datasets"]["total"]["events"]
    print(f"{'vigie replay + enrichment + ' + str(detect_summary['rules']['loaded']) + ' rules':<45}{d_events:>10,}"
          f"{detecting['seconds']:>9.1f}{d_events / detecting['seconds']:>11,.0f}{detecting['peak_mib']:>10,.0f}"
          f"   ({detect_summary['datasets']['total']['signals']:,} signals)")
    ours = rates["vigie replay"]
    a, b = list(rates.values())[1:]
    print(f"\nvigie / (a) = {ours / a:.1f}x (target >= 5x)   vigie / (b) = {ours / b:.1f}x (target >= 1x)")
    counts = {events for _, events in runs.values()}
    print("event counts identical" if len(counts) == 1 else f"EVENT COUNTS DIFFER: {counts}")


if __name__ == "__main__":
    main()
