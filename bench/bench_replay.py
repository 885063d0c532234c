"""Replay benchmark: `vigie replay` against two baselines on the same 1,000,000 Apache lines.

Generates (once, deterministically) BENCH_LINES Apache combined lines, then runs, each in its own
process: vigie replay --no-detect --no-enrich (the same work as the baselines: parse and write
Parquet); baseline (a) Beam ReadFromText -> re -> dict -> WriteToParquet; baseline (b) plain
Python re -> pyarrow -> Parquet; and, for information, vigie replay with enrichment (every
line has an address of its own: the worst case for the address cache) and then with the
shipped Sigma rules too. Prints
events/s, peak memory, event counts and ratios.
Environment: BENCH_LINES (default 1000000), BENCH_DIR (default bench/out).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
VIGIE = str(Path(PY).with_name("vigie"))

PATHS = ["/", "/index.html", "/actualites/", "/offres-emploi/", "/patients/preparer-sejour",
         "/css/site.css", "/js/app.js", "/img/logo.png", "/recherche?q=maternite", "/contact",
         "/services/urgences", "/favicon.ico", "/plan-acces.pdf", "/robots.txt"]
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
          "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
          "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"]


def write_lines(path: Path, count: int) -> None:
    """Deterministic Apache combined lines (seed 1)."""
    rng = random.Random(1)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(count):
            ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            sec = i // 50
            ts = f"27/Nov/2026:{17 + sec // 3600 % 6:02d}:{sec // 60 % 60:02d}:{sec % 60:02d} +0100"
            status = rng.choice((200, 200, 200, 304, 404, 301))
            f.write(f'{ip} - - [{ts}] "GET {rng.choice(PATHS)} HTTP/1.1" {status} {rng.randint(0, 90000)} '
                    f'"https://www.chu-exemple.fr/" "{rng.choice(AGENTS)}"\n')


def measure(cmd: list[str]) -> dict:
    out = subprocess.run([PY, str(HERE / "measure.py"), "--", *cmd], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    if result["returncode"] != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{result['stderr']}")
    return result


def bench_input(addresses: int | None = None) -> tuple[int, Path, Path]:
    """(line count $BENCH_LINES, work folder $BENCH_DIR, the generated Apache log), made once.
    With `addresses`, the clients are drawn from that many distinct addresses
    (bench_enrichment's generator); otherwise every line has an address of its own."""
    lines = int(os.environ.get("BENCH_LINES", "1000000"))
    work = Path(os.environ.get("BENCH_DIR", HERE / "out"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / (f"access-{lines}.log" if addresses is None else f"access-{lines}-{addresses}ips.log")
    if not source.exists():
        print(f"generating {lines:,} Apache combined lines -> {source}", flush=True)
        if addresses is None:
            write_lines(source, lines)
        else:
            from bench_enrichment import write_lines as write_lines_from_pool
            write_lines_from_pool(source, lines, addresses)
    return lines, work, source


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
