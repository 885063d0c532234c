"""Correlation benchmark: signals/s and peak memory of the pure core and of CorrelateSignals.

Signals are generated deterministically (seed 7), in event-time order, over BENCH_HOURS hours
(default 24): 60 % VPN login failures, 10 % foreign VPN logins, 10 % outbound bulk mail (3-12
recipients out of a pool of 20,000), 20 % synthetic signals of three rules (syn_a, syn_b,
syn_c) carrying a number. Keys: 50,000 accounts and 20,000 addresses drawn uniformly, except
that 20 % of the signals go to 5 hot accounts and 5 hot addresses. Rules: every shipped
correlation rule, plus one synthetic rule of each of the eight types and one chained rule.

Each measurement runs in its own process (peak memory = that process's max RSS):
- core N: CorrelationEngine.advance over chunks of 10,000 signals (watermark = the chunk's
  last time), at N = BENCH_SIGNALS (default 1,000,000) and 10 x N: memory stays flat because
  state is bounded by the timespans and the live groups, not by the input;
- beam N: the same signals through CorrelateSignals on the FnApiRunner (batch), generated
  inside the pipeline from chunk numbers (the runner materialises each stage in memory).
Prints one JSON line per measurement and a summary table (signals per wall second and per
CPU second of the measuring process: the machine may be shared). No assertion on speed.
Environment: BENCH_SIGNALS, BENCH_HOURS, BENCH_SKIP_10X=1, BENCH_SKIP_BEAM=1.
"""
from __future__ import annotations

import json
import math
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from pipelines.correlation.loader import load_detections  # noqa: E402
from pipelines.correlation.model import (Condition, CorrelationRule, CorrelationSet,  # noqa: E402
                                         Source)

T0 = 1_795_795_200_000  # 2026-11-27T00:00:00Z
CHUNK = 10_000
FAILURE = "ef5cf214-5d7b-4cfe-a07c-3c9e9e327a5c"  # vpn_login_failure
FOREIGN = "8d3f6b2e-41c7-4e59-b0a4-7e2c19f5d6a3"  # vpn_login_from_unusual_country
BULK = "cf7f62a7-ae19-463e-a31b-ec062721e2b0"  # mail_authenticated_bulk_outbound
SYN = ("syn_a", "syn_b", "syn_c")
NUMBER = "http.response.bytes"


def synthetic_rules() -> list[CorrelationRule]:
    """One rule of each type over syn_a/b/c (group-by user.name), and one chained rule."""
    def src(name, *fields, value=()):
        return Source(name, name, name, "sigma", fields, value, "low", ("attack.t1110",))

    def make(kind, names, op, count, value=(), percentile=None, span=600_000, group=("user.name",),
             chain=1, kinds=None):
        sources = tuple(Source(n, n, n, (kinds or {}).get(n, "sigma"), group, value, "low", ())
                        for n in names)
        return CorrelationRule(
            id=f"bench-{kind}-{chain}", name=f"bench_{kind}_{chain}", title=f"Bench {kind}",
            type=kind, timespan_ms=span, group_by=group, sources=sources,
            condition=Condition(op, count, percentile), chain_level=chain, author="bench")

    num = (NUMBER,)
    rules = [
        make("event_count", SYN, "gte", 20),
        make("value_count", SYN, "gte", 5, value=("source.ip",)),
        make("temporal", SYN, "gte", 3),
        make("temporal_ordered", SYN, "gte", 3),
        make("value_sum", SYN, "gt", 2_000_000, value=num),
        make("value_avg", SYN, "gt", 90_000, value=num),
        make("value_percentile", SYN, "gt", 95_000, value=num, percentile=95),
        make("value_median", SYN, "gt", 80_000, value=num),
    ]
    rules.append(make("temporal_ordered", ("bench-event_count-1", "syn_c"), "gte", 2, chain=2,
                      span=1_800_000, kinds={"bench-event_count-1": "correlation"}))
    return rules


def bench_rules() -> CorrelationSet:
    shipped = load_detections([ROOT / "detections"]).correlations
    rules = shipped.rules + synthetic_rules()
    return CorrelationSet(sorted(rules, key=lambda r: (r.chain_level, r.id)))


def signals(count: int, hours: float, seed: int = 7) -> Iterator[dict]:
    """`count` signals in event-time order (see the module docstring)."""
    rng = random.Random(seed)
    step = hours * 3_600_000 / count
    users = [f"user{k:05d}" for k in range(50_000)]
    hot_users = users[:5]
    addresses = [f"198.{k // 65536 % 256}.{k // 256 % 256}.{k % 256}" for k in range(20_000)]
    hot_addresses = addresses[:5]
    recipients = [f"r{k}@ext{k % 50}.example" for k in range(20_000)]
    for k in range(count):
        hot = rng.random() < 0.2
        user = rng.choice(hot_users) if hot else rng.choice(users)
        ip = rng.choice(hot_addresses) if hot else rng.choice(addresses)
        roll = rng.random()
        signal = {"signal.id": f"s{seed}-{k}", "@timestamp": T0 + int(k * step),
                  "event.id": f"e{seed}-{k}", "event.dataset": "bench", "log.file.path": "bench",
                  "log.offset": k, "user.name": user, "source.ip": ip}
        if roll < 0.6:
            signal["rule.id"] = FAILURE
        elif roll < 0.7:
            signal["rule.id"] = FOREIGN
        elif roll < 0.8:
            signal["rule.id"] = BULK
            signal["email.to.address"] = rng.sample(recipients, rng.randint(3, 12))
        else:
            signal["rule.id"] = SYN[rng.randrange(3)]
            signal[NUMBER] = rng.randint(100, 100_000)
        yield signal


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """Current resident memory of this process (MiB)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


def run_core(count: int, hours: float) -> dict:
    """The pure engine over `count` signals; a progress line (to stderr) every million."""
    from pipelines.correlation.engine import CorrelationEngine
    engine = CorrelationEngine(bench_rules())
    results, chunk, max_groups, done = 0, [], 0, 0
    start, cpu = time.perf_counter(), time.process_time()
    for signal in signals(count, hours):
        chunk.append(signal)
        if len(chunk) == CHUNK:
            results += len(engine.advance(chunk, chunk[-1]["@timestamp"]).results)
            max_groups = max(max_groups, engine.live_groups)
            chunk = []
            done += CHUNK
            if done % 1_000_000 == 0:
                print(json.dumps({"progress": done, "rss_mib": round(rss_mib()),
                                  "live_groups": engine.live_groups,
                                  "cpu_seconds": round(time.process_time() - cpu, 1)}),
                      file=sys.stderr, flush=True)
    results += len(engine.advance(chunk, T0 + int(hours * 3_600_000)).results)
    results += len(engine.flush().results)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"what": f"core {count:,}", "signals": count, "seconds": round(seconds, 1),
            "signals_per_s": round(count / seconds), "cpu_seconds": round(cpu, 1),
            "signals_per_cpu_s": round(count / cpu), "results": results,
            "max_live_groups": max_groups, "peak_mib": round(peak_mib())}


def run_beam(count: int, hours: float) -> dict:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from pipelines.transforms.correlate import RESULTS, CorrelateSignals
    from apache_beam.transforms import window
    # Generating by chunk index would regenerate the prefix each time; write the chunks once.
    store = Path(os.environ.get("BENCH_DIR", HERE / "out")) / f"signals-{count}.jsonl"
    store.parent.mkdir(parents=True, exist_ok=True)
    if not store.exists():
        with open(store, "w", encoding="utf-8") as f:
            for signal in signals(count, hours):
                f.write(json.dumps(signal) + "\n")
    correlations = bench_rules()
    start, cpu = time.perf_counter(), time.process_time()
    options = PipelineOptions(["--runner=FnApiRunner"])
    with beam.Pipeline(options=options) as pipeline:
        results = (pipeline
                   | "Read" >> beam.io.ReadFromText(str(store))
                   | "Parse" >> beam.Map(json.loads)
                   | "Stamp" >> beam.Map(lambda s: window.TimestampedValue(s, s["@timestamp"] / 1000))
                   | CorrelateSignals(correlations, streaming=False))[RESULTS]
        counted = results | "Count" >> beam.combiners.Count.Globally()
        counted | "Print" >> beam.Map(lambda n: print(json.dumps({"beam_results": n}), flush=True))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"what": f"beam batch {count:,}", "signals": count, "seconds": round(seconds, 1),
            "signals_per_s": round(count / seconds), "cpu_seconds": round(cpu, 1),
            "signals_per_cpu_s": round(count / cpu), "peak_mib": round(peak_mib())}


def child(mode: str, count: int, hours: float) -> dict:
    """Run one measurement in a fresh process; return its JSON line."""
    proc = subprocess.run([sys.executable, __file__, mode, str(count), str(hours)],
                          stdout=subprocess.PIPE, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{\"what\"")]
    if proc.returncode or not lines:
        raise SystemExit(f"{mode} {count} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


def main() -> None:
    if len(sys.argv) == 4:
        mode, count, hours = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        print(json.dumps(run_core(count, hours) if mode == "core" else run_beam(count, hours)))
        return
    count = int(os.environ.get("BENCH_SIGNALS", "1000000"))
    hours = float(os.environ.get("BENCH_HOURS", "24"))
    rules = bench_rules()
    print(f"rules: {len(rules.rules)} ({', '.join(sorted({r.type for r in rules.rules}))}); "
          f"{count:,} signals over {hours:g} h; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores", flush=True)
    rows = [child("core", count, hours)]
    print(json.dumps(rows[-1]), flush=True)
    if os.environ.get("BENCH_SKIP_10X") != "1":
        rows.append(child("core", count * 10, hours * 10))
        print(json.dumps(rows[-1]), flush=True)
    if os.environ.get("BENCH_SKIP_BEAM") != "1":
        rows.append(child("beam", count, hours))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'measurement':<22}{'signals/s':>11}{'per CPU-s':>11}{'peak MiB':>10}"
          f"{'results':>9}{'live groups':>13}")
    for row in rows:
        print(f"{row['what']:<22}{row['signals_per_s']:>11,}{row['signals_per_cpu_s']:>11,}"
              f"{row['peak_mib']:>10,}{row.get('results', ''):>9}{row.get('max_live_groups', ''):>13}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
