"""Stitching benchmark: mail lines/s of `vigie replay --no-enrich --no-detect` on a mail gateway's
logs, and of the pure stitching function alone.

Input (bench/mail_inputs.py, made once): BENCH_MAIL_LINES (default 1,000,000) Postfix and Exim
lines of a realistic gateway mix, written with pipelines/scenario/formats.py.
Configurations: "before" (with `--before SRC`: a copy of an earlier Vigie's sources, e.g.
`git archive <commit> | tar -x -C SRC`, run with PYTHONPATH=SRC and the same interpreter and
packages), "after" (this checkout, default runner) and "after-2proc" (this checkout,
`--direct_running_mode=multi_processing --direct_num_workers=2`).
- replay: each run in its own process, BENCH_RUNS times (default 3); lines/s = lines read /
  wall seconds (median run); also the CPU seconds (user + system, the process and its children)
  and peak memory, and the load average when the run started: the two cores are shared.
- pure: the slices are parsed once (no Beam), then their fragment tables are stitched, timed
  alone (median of the runs, wall and CPU), in a process of its own: `stitch_fragments` after,
  the per-row functions of the earlier code before (fragments_to_rows, session_runs,
  stitch_message, rows_to_table).
Each configuration's figures go to BENCH_DIR/stitching-<label>.json (`--only` re-measures some);
the table shows all of them, and the stitched events of before and after are compared (every
column, rows sorted by event.id).
Environment: BENCH_MAIL_LINES, BENCH_DIR (default bench/out), BENCH_RUNS.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import PY, VIGIE  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def run_child(cmd: list[str], src: str | None) -> dict:
    """Run `cmd` in a process of its own (PYTHONPATH=src when given): wall seconds, CPU seconds
    (user + system) and peak MiB of that process, its standard output."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{stderr[-3000:]}")
    return {"seconds": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mib": usage.ru_maxrss / 1024, "stdout": stdout}


def replay_runs(folder: Path, lines: int, out: Path, src: str | None, label: str,
                flags: list[str]) -> dict:
    """`vigie replay --no-enrich --no-detect` of the gateway logs, RUNS times."""
    runs = []
    for i in range(RUNS):
        shutil.rmtree(out, ignore_errors=True)
        load = os.getloadavg()[0]
        print(f"  {label} replay {i + 1}/{RUNS} (load {load:.1f}) ...", flush=True)
        result = run_child([VIGIE, "replay", str(folder), "--out", str(out), "--no-enrich",
                            "--no-detect", *flags], src)
        summary = json.loads((out / "summary.json").read_text())["datasets"]["mail"]
        if summary["lines_read"] != lines:
            raise SystemExit(f"bench: {label} read {summary['lines_read']} lines, expected {lines}")
        runs.append({"seconds": result["seconds"], "cpu": result["cpu"], "peak_mib": result["peak_mib"],
                     "events": summary["events"], "load": load})
        print(f"    {result['seconds']:.1f} s wall, {result['cpu']:.1f} s CPU, "
              f"{lines / result['seconds']:,.0f} lines/s", flush=True)
    return {"runs": runs, "median_seconds": statistics.median(r["seconds"] for r in runs),
            "median_cpu": statistics.median(r["cpu"] for r in runs)}


def stitched_events(out: Path):
    """The stitched events of a replay output (rows with vigie.lines > 1 or from fragments are
    not told apart in Parquet: every mail event with event.action 'message'), sorted by id."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    table = ds.dataset(out / "events", format="parquet", partitioning="hive").to_table()
    table = table.filter(pc.equal(table["event.action"], "message"))
    return table.sort_by("event.id")


def pure_mode(folder: str, implementation: str) -> None:
    """Child process: parse the logs, then time the stitching of their fragments; print JSON."""
    import pyarrow as pa
    from pipelines.sources.ingest import ReadSettings, parse_slice
    fragments = [out.fragments for piece in _slices(folder)
                 for out in parse_slice(piece, ReadSettings())
                 if out.fragments is not None and out.fragments.num_rows]
    lines = sum(pa.compute.sum(t["vigie.lines"]).as_py() for t in fragments)
    times, cpu, messages = [], [], 0
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        if implementation == "columns":
            from pipelines.parsing.stitch import stitch_fragments
            messages = stitch_fragments(fragments, 3600).num_rows
        else:
            messages = _per_row_stitch(fragments)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(json.dumps({"fragment_lines": lines, "messages": messages, "times": times, "cpu": cpu}))


def _per_row_stitch(fragments) -> int:
    """The per-row stitching of the code before the vectorised one, on the same fragments."""
    from pipelines.parsing import stitch
    groups: dict = {}
    for table in fragments:
        for key, markers, rows in stitch.session_runs(stitch.fragments_to_rows(table), 3600):
            groups.setdefault(key, []).append((markers[0], markers[-1], rows))
    messages = []
    for key, runs in groups.items():  # the window merge Beam did: runs less than a gap apart
        runs.sort(key=lambda r: r[0])
        merged = [list(runs[0])]
        for first, last, rows in runs[1:]:
            if first < merged[-1][1] + 3600:
                merged[-1][1] = max(merged[-1][1], last)
                merged[-1][2] = merged[-1][2] + rows
            else:
                merged.append([first, last, rows])
        messages.extend(stitch.stitch_message(rows, key) for _, _, rows in merged)
    return stitch.rows_to_table(messages).num_rows


def _slices(folder: str):
    from pipelines.sources.plan import plan_inputs
    return plan_inputs([folder], None, 64 * 1024 * 1024).slices


def pure_runs(folder: Path, src: str | None, implementation: str) -> dict:
    result = run_child([PY, __file__, "--pure", str(folder), implementation], src)
    data = json.loads(result["stdout"].strip().splitlines()[-1])
    data["median"] = statistics.median(data["times"])
    data["median_cpu"] = statistics.median(data["cpu"])
    return data


TWO_PROCESSES = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


def configurations(before: str | None) -> dict[str, tuple[str | None, list[str]]]:
    """label -> (source folder of the code, extra replay flags)."""
    configs: dict[str, tuple[str | None, list[str]]] = {}
    if before:
        configs["before"] = (before, [])
    configs["after"] = (None, [])
    configs["after-2proc"] = (None, TWO_PROCESSES)
    return configs


def report(work: Path, lines: int) -> None:
    """Print every configuration measured so far (bench/out/stitching-<label>.json)."""
    print(f"\n{'':<12}{'pure lines/s':>13}{'per CPU-s':>11}{'replay s':>10}{'CPU s':>7}"
          f"{'lines/s':>9}{'per CPU-s':>11}{'peak MiB':>9}{'load':>6}")
    for path in sorted(work.glob("stitching-*.json")):
        result = json.loads(path.read_text())
        row = f"{result['label']:<12}"
        pure = result.get("pure")
        row += (f"{pure['fragment_lines'] / pure['median']:>13,.0f}"
                f"{pure['fragment_lines'] / pure['median_cpu']:>11,.0f}" if pure else " " * 24)
        replay = result.get("replay")
        if replay:
            peak = max(r["peak_mib"] for r in replay["runs"])
            load = statistics.median(r["load"] for r in replay["runs"])
            row += (f"{replay['median_seconds']:>10.1f}{replay['median_cpu']:>7.1f}"
                    f"{lines / replay['median_seconds']:>9,.0f}{lines / replay['median_cpu']:>11,.0f}"
                    f"{peak:>9,.0f}{load:>6.1f}")
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="source folder of the earlier Vigie to compare with")
    parser.add_argument("--only", action="append", help="measure only this configuration "
                        "(before, after, after-2proc; repeatable); the others keep their last figures")
    parser.add_argument("--pure", nargs=2, metavar=("FOLDER", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pure:  # a child measuring the code on its PYTHONPATH: nothing imported from here
        pure_mode(*args.pure)
        return
    from mail_inputs import mail_bench_input  # puts this checkout on sys.path
    lines, folder = mail_bench_input()
    work = folder.parent
    print(f"{lines:,} mail lines in {folder}; {os.cpu_count()} cores; load average at start "
          f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    for label, (src, flags) in configurations(args.before).items():
        if args.only and label not in args.only:
            continue
        result: dict = {"label": label, "flags": flags}
        if not flags:
            print(f"pure stitching ({label}) ...", flush=True)
            result["pure"] = pure_runs(folder, src, "rows" if src else "columns")
        result["replay"] = replay_runs(folder, lines, work / f"stitch-{label}", src, label, flags)
        (work / f"stitching-{label}.json").write_text(json.dumps(result, indent=1))
    print(f"\nload average at the end {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    report(work, lines)
    if (work / "stitch-before").is_dir() and (work / "stitch-after").is_dir():
        same = stitched_events(work / "stitch-before").equals(stitched_events(work / "stitch-after"))
        print("stitched events of before and after identical (every column)" if same
              else "STITCHED EVENTS OF BEFORE AND AFTER DIFFER")


if __name__ == "__main__":
    main()
