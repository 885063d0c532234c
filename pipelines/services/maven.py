"""Fetch one artifact from the Maven registry with the `mvn` client, into Maven's local cache.

`fetch_artifact("group:artifact:version:packaging")` -> path of the cached file. Maven's own
local repository (~/.m2/repository, or MAVEN_REPO_LOCAL) is the cache: a second call costs nothing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pipelines.errors import VigieError


def local_repository() -> Path:
    """Maven's local repository: $MAVEN_REPO_LOCAL or ~/.m2/repository."""
    return Path(os.environ.get("MAVEN_REPO_LOCAL") or Path.home() / ".m2" / "repository")


def cached_path(coordinates: str) -> Path:
    """Where Maven keeps `group:artifact:version:packaging` in its local repository."""
    group, artifact, version, packaging = coordinates.split(":")
    return (local_repository() / group.replace(".", "/") / artifact / version
            / f"{artifact}-{version}.{packaging}")


def fetch_artifact(coordinates: str, timeout_s: int = 900) -> Path:
    """Download `group:artifact:version:packaging` (without its dependencies) unless cached."""
    target = cached_path(coordinates)
    if target.is_file():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise VigieError(f"Maven (mvn) is needed to fetch {coordinates}; install Maven and retry")
    command = [mvn, "-q", "-B", "dependency:get", f"-Dartifact={coordinates}", "-Dtransitive=false"]
    if os.environ.get("MAVEN_REPO_LOCAL"):
        command.append(f"-Dmaven.repo.local={local_repository()}")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise VigieError(f"Maven did not fetch {coordinates} within {timeout_s} s; check the "
                         "registry settings in ~/.m2/settings.xml and retry") from None
    if done.returncode != 0 or not target.is_file():
        last = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        raise VigieError(f"Maven could not fetch {coordinates} ({last[0][:200]}); check the "
                         "registry settings in ~/.m2/settings.xml and retry")
    return target
