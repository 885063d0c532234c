"""Run one command in a child process; report its wall time and peak memory.

As a script: python bench/measure.py -- CMD ARGS...  prints {"seconds", "peak_mib",
"returncode", "stdout", "stderr"} as JSON (peak memory = the child's max RSS, as reported by
getrusage(RUSAGE_CHILDREN) in this wrapper, which has no other child). From a bench:
`measure(cmd)` runs that script in a process of its own and returns the dict, or stops the
bench with the command's error output when it failed.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable
VIGIE = str(Path(PY).with_name("vigie"))


def run_and_report(cmd: list[str]) -> dict:
    """Run `cmd` here (this process must have no other child); its time, peak memory, output."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": elapsed, "peak_mib": peak_kib / 1024, "returncode": proc.returncode,
            "stdout": proc.stdout[-4000:], "stderr": proc.stderr[-4000:]}


def measure(cmd: list[str]) -> dict:
    """`cmd` measured in a wrapper process of its own (so that its peak memory is its own)."""
    out = subprocess.run([PY, __file__, "--", *cmd], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    if result["returncode"] != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{result['stderr']}")
    return result


if __name__ == "__main__":
    print(json.dumps(run_and_report(sys.argv[sys.argv.index("--") + 1:])))
