"""Parser throughput on a mail + VPN mix (no Beam, no I/O): lines per second per format.

Usage: python bench/bench_parsers.py [--lines 200000] [--runs 5] [--batch 32768] [--scenario DIR]

The mix is the hospital scenario's mail and VPN files (`vigie generate --scenario chu`, made in a
temporary folder unless --scenario names one), each repeated in proportion to its size up to
--lines in total. Each format's lines are parsed in batches of --batch lines (about the 8 MiB
that replay reads at a time); the figure per format is the median over --runs interleaved runs of
parse time only (the batches are built once), measured as this process's CPU time (the figure
that holds on a shared, busy machine; wall time is printed too). Prints one JSON object.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipelines.parsing import format_by_name
from pipelines.parsing.base import LineBatch, ParseContext

FILES = {"postfix": "mail/maillog", "exim": "mail/exim-mainlog", "cisco_asa": "vpn/asa.log",
         "fortigate": "vpn/fortigate.log", "openvpn": "vpn/openvpn.log"}
CTX = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))


def scenario_lines(folder: Path) -> dict[str, list[str]]:
    """The scenario's mail and VPN lines, per format name."""
    return {name: (folder / rel).read_text(encoding="utf-8").splitlines() for name, rel in FILES.items()}


def mix(lines: dict[str, list[str]], total: int) -> dict[str, list[str]]:
    """Each format's lines repeated in proportion to their count, `total` lines in all."""
    size = sum(len(v) for v in lines.values())
    out = {}
    for name, values in lines.items():
        want = round(total * len(values) / size)
        out[name] = (values * (want // len(values) + 1))[:want]
    return out


def batches(values: list[str], rows: int) -> list[LineBatch]:
    """`values` as LineBatches of `rows` lines (offsets as if read from one file)."""
    out = []
    for start in range(0, len(values), rows):
        chunk = values[start:start + rows]
        sizes = np.fromiter((len(v.encode()) + 1 for v in chunk), dtype=np.int64, count=len(chunk))
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        out.append(LineBatch("bench.log", "0" * 16, pa.array(chunk, pa.string()), offsets))
    return out


def main() -> None:
    """Build the mix, parse it --runs times, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32_768)
    parser.add_argument("--scenario", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.scenario
        if folder is None:
            folder = Path(tmp)
            subprocess.run([sys.executable, "-m", "pipelines.cli", "generate", "--scenario", "chu",
                            "--out", str(folder), "--events", "400000", "--seed", "7"],
                           check=True, capture_output=True)
        work = {name: batches(v, args.batch) for name, v in mix(scenario_lines(folder), args.lines).items()}
    cpu: dict[str, list[float]] = {name: [] for name in work}
    wall: dict[str, list[float]] = {name: [] for name in work}
    accounted: dict[str, int] = {}
    for _ in range(args.runs):
        for name, parts in work.items():
            fmt = format_by_name(name)
            start, start_cpu = time.perf_counter(), time.process_time()
            results = [fmt.parse(b, CTX) for b in parts]
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)
            accounted[name] = sum(r.lines_accounted() for r in results)
    report = {}
    for name, parts in work.items():
        n = sum(len(b) for b in parts)
        seconds = statistics.median(cpu[name])
        report[name] = {"lines": n, "cpu_seconds": round(seconds, 3), "lines_per_cpu_s": round(n / seconds),
                        "wall_seconds": round(statistics.median(wall[name]), 3), "accounted": accounted[name] == n}
    total_lines = sum(r["lines"] for r in report.values())
    total_seconds = sum(r["cpu_seconds"] for r in report.values())
    report["total"] = {"lines": total_lines, "cpu_seconds": round(total_seconds, 3),
                       "lines_per_cpu_s": round(total_lines / total_seconds),
                       "wall_seconds": round(sum(r["wall_seconds"] for r in report.values()), 3)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
