"""Run one command in a child process; print its wall time and peak memory as JSON.

Usage: python bench/measure.py -- CMD ARGS...  (peak memory = the child's max RSS, as reported by
getrusage(RUSAGE_CHILDREN) in this wrapper, which has no other child).
"""
import json
import resource
import subprocess
import sys
import time

cmd = sys.argv[sys.argv.index("--") + 1:]
start = time.perf_counter()
proc = subprocess.run(cmd, capture_output=True, text=True)
elapsed = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_mib": peak_kib / 1024, "returncode": proc.returncode,
                  "stdout": proc.stdout[-4000:], "stderr": proc.stderr[-4000:]}))
