"""Beam's Prism runner, built from source with `go install` (Go module proxy) and cached.

    prism_binary() -> path of the prism binary of PRISM_VERSION (builds it once, ~2 min cold)
    prism_options(streaming=True) -> the Beam flags that run a pipeline on it with a LOOPBACK
                                     Python environment (never Beam's own web download)

The binary lives in ~/.cache/vigie/prism/v<version>/bin ($VIGIE_CACHE_DIR); Go's module and
build caches are Go's own (GOMODCACHE, GOCACHE). The Python runner starts prism itself for each
job (`--prism_location`); prism's job, artifact and worker endpoints listen on loopback.

Command line: python -m pipelines.services.prism [build|path]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pipelines.errors import VigieError
from pipelines.services.classpath import cache_root

PRISM_VERSION = "2.75.0"  # the same release as the apache-beam Python SDK (requirements-dev.txt)
MODULE = "github.com/apache/beam/sdks/v2/go/cmd/prism"
BUILD_TIMEOUT_S = 1800


def prism_binary(version: str = PRISM_VERSION) -> Path:
    """The prism binary of `version`, built with `go install` the first time."""
    target = cache_root() / "prism" / f"v{version}" / "bin"
    binary = target / "prism"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    go = shutil.which("go")
    if go is None:
        raise VigieError("Go is needed to build Beam's Prism runner once; install Go 1.24+ and retry")
    target.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOBIN=str(target), GOFLAGS="-mod=mod", CGO_ENABLED="0")
    try:
        done = subprocess.run([go, "install", f"{MODULE}@v{version}"], env=env,
                              capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise VigieError(f"building Prism {version} took over {BUILD_TIMEOUT_S} s; retry "
                         "(the Go module cache keeps what was downloaded)") from None
    if done.returncode != 0 or not binary.is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:240]
        raise VigieError(f"go install of Prism {version} failed ({last}); check GOPROXY and retry")
    return binary


def prism_options(streaming: bool = True, binary: Path | None = None) -> list[str]:
    """Beam pipeline flags for Prism with the Python SDK running in this process (LOOPBACK)."""
    flags = ["--runner=PrismRunner", f"--prism_location={binary or prism_binary()}",
             "--environment_type=LOOPBACK"]
    return flags + (["--streaming"] if streaming else [])


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    try:
        started = time.monotonic()
        binary = prism_binary()
        if args[:1] != ["path"]:
            print(f"Prism {PRISM_VERSION} at {binary} ({time.monotonic() - started:.1f} s)")
        else:
            print(binary)
    except VigieError as error:
        print(f"vigie: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
