"""Enrichment benchmark: `vigie replay` throughput with and without enrichment.

Generates (once, deterministically: bench/inputs.py) BENCH_LINES Apache combined lines whose
clients are drawn from BENCH_ADDRESSES distinct public addresses (default 1,000,000 lines,
50,000 addresses), then runs, each in its own process, `vigie replay --no-detect`: with --no-enrich; with the offline
default (iptocc countries); with MaxMind City + ASN files (the small test databases of
tests/enrichment_dbs.py, written with mmdb-writer: every address is still looked up) plus an
inventory and a threat list. Prints events/s, peak memory and the cost of enrichment.
Environment: BENCH_LINES, BENCH_ADDRESSES, BENCH_DIR (default bench/out).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from enrichment_dbs import write_dbs  # noqa: E402
from inputs import bench_input  # noqa: E402
from measure import VIGIE, measure  # noqa: E402


def main() -> None:
    addresses = int(os.environ.get("BENCH_ADDRESSES", "50000"))
    lines, work, source = bench_input(addresses)
    city, asn = write_dbs(work / "mmdb")
    inventory = work / "inventory.yml"
    inventory.write_text("usual_countries: [FR]\naccounts: [{name: jdupont, roles: [physician]}]\n"
                         "assets: [{name: www, criticality: high, log_files: ['*.log']}]\n", encoding="utf-8")
    tor = work / "tor.txt"
    tor.write_text("185.220.100.0/22\n192.42.116.0/22\n", encoding="utf-8")
    base = [VIGIE, "replay", str(source), "--no-detect"]
    runs = {
        "replay --no-enrich": base + ["--out", str(work / "e-none"), "--no-enrich"],
        "replay, offline default (iptocc)": base + ["--out", str(work / "e-offline")],
        "replay, MaxMind City+ASN, inventory, list": base + [
            "--out", str(work / "e-maxmind"), "--geoip-city-db", city, "--geoip-asn-db", asn,
            "--inventory", str(inventory), "--threat-list", str(tor)],
    }
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    timed: dict[str, list] = {label: [] for label in runs}
    for round_no in range(1, repeats + 1):  # interleaved, so a drift of the machine hits every run
        for label, cmd in runs.items():
            print(f"round {round_no}/{repeats}: running {label} ...", flush=True)
            result = measure(cmd)
            out = Path(cmd[cmd.index("--out") + 1])
            events = json.loads((out / "summary.json").read_text())["datasets"]["total"]["events"]
            timed[label].append((result, events))
    # The median run (by time) of each configuration.
    results = {label: sorted(rs, key=lambda r: r[0]["seconds"])[len(rs) // 2] for label, rs in timed.items()}
    print(f"\n{lines:,} lines, {addresses:,} distinct addresses, {os.cpu_count()} cores, "
          f"median of {repeats} interleaved runs")
    print(f"{'run':<45}{'events':>10}{'seconds':>9}{'events/s':>11}{'peak MiB':>10}{'cost':>8}")
    base_rate = None
    for label, (result, events) in results.items():
        rate = events / result["seconds"]
        base_rate = base_rate or rate
        cost = 1 - rate / base_rate
        print(f"{label:<45}{events:>10,}{result['seconds']:>9.1f}{rate:>11,.0f}"
              f"{result['peak_mib']:>10,.0f}{cost:>8.1%}")
    counts = {r[1] for r in results.values()}
    print(f"identical event counts: {len(counts) == 1}; target: enrichment costs < 20 % of throughput")


if __name__ == "__main__":
    main()
