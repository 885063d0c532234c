"""Resolve a Java classpath (a set of Maven artifacts and all their dependencies) with `mvn`.

    resolve_classpath(ClasspathSpec(name, dependencies, exclusions)) -> [jar paths]

The spec is written as a throw-away POM and Maven's dependency plugin lists the resolved jars;
the jars stay in Maven's local repository (see maven.py) and the list is cached under
~/.cache/vigie/classpaths/ keyed by a hash of the spec, so a second call costs no Maven run (it is
recomputed when a listed jar has gone from the Maven cache).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from pipelines.errors import VigieError
from pipelines.services.maven import local_repository

RESOLVE_TIMEOUT_S = 1800


def cache_root() -> Path:
    """Vigie's cache folder for built or resolved artefacts: $VIGIE_CACHE_DIR or ~/.cache/vigie."""
    return Path(os.environ.get("VIGIE_CACHE_DIR") or Path.home() / ".cache" / "vigie")


@dataclass(frozen=True)
class ClasspathSpec:
    """What to resolve: `group:artifact:version` roots and `group:artifact` exclusions
    (`group:*` excludes a whole group) applied to every root."""
    name: str
    dependencies: tuple[str, ...]
    exclusions: tuple[str, ...] = field(default=())

    def key(self) -> str:
        text = json.dumps([self.dependencies, self.exclusions, str(local_repository())])
        return f"{self.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def pom_text(spec: ClasspathSpec) -> str:
    """The POM that declares `spec`'s roots and exclusions (pure)."""
    def exclusion(coordinates: str) -> str:
        group, artifact = coordinates.split(":")
        return (f"<exclusion><groupId>{escape(group)}</groupId>"
                f"<artifactId>{escape(artifact)}</artifactId></exclusion>")

    exclusions = "".join(exclusion(c) for c in spec.exclusions)
    dependencies = []
    for coordinates in spec.dependencies:
        parts = coordinates.split(":")
        if len(parts) != 3:
            raise VigieError(f"classpath root {coordinates!r} is not group:artifact:version")
        group, artifact, version = parts
        dependencies.append(
            f"<dependency><groupId>{escape(group)}</groupId><artifactId>{escape(artifact)}"
            f"</artifactId><version>{escape(version)}</version>"
            f"<exclusions>{exclusions}</exclusions></dependency>")
    return ("<project xmlns=\"http://maven.apache.org/POM/4.0.0\"><modelVersion>4.0.0</modelVersion>"
            "<groupId>vigie.local</groupId>"
            f"<artifactId>{escape(spec.name)}</artifactId><version>0</version>"
            "<packaging>pom</packaging>"
            f"<dependencies>{''.join(dependencies)}</dependencies></project>\n")


def resolve_classpath(spec: ClasspathSpec) -> list[Path]:
    """The jars of `spec` in Maven's local repository, downloading what is missing (once)."""
    listing = cache_root() / "classpaths" / f"{spec.key()}.txt"
    if listing.is_file():
        jars = [Path(line) for line in listing.read_text().splitlines() if line]
        if jars and all(jar.is_file() for jar in jars):
            return jars
    mvn = shutil.which("mvn")
    if mvn is None:
        raise VigieError(f"Maven (mvn) is needed to resolve the {spec.name} classpath; install "
                         "Maven and retry")
    with tempfile.TemporaryDirectory(prefix="vigie-cp-") as work:
        folder = Path(work)
        (folder / "pom.xml").write_text(pom_text(spec))
        output = folder / "classpath.txt"
        command = [mvn, "-q", "-B", "dependency:build-classpath",
                   f"-Dmdep.outputFile={output}", "-Dmdep.includeScope=runtime"]
        if os.environ.get("MAVEN_REPO_LOCAL"):
            command.append(f"-Dmaven.repo.local={local_repository()}")
        try:
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                                  timeout=RESOLVE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise VigieError(f"Maven did not resolve the {spec.name} classpath within "
                             f"{RESOLVE_TIMEOUT_S} s; check ~/.m2/settings.xml and retry") from None
        if done.returncode != 0 or not output.is_file():
            errors = [line for line in (done.stdout + done.stderr).splitlines() if "ERROR" in line]
            reason = (errors or ["no output"])[0].replace("[ERROR]", "").strip()[:240]
            raise VigieError(f"Maven could not resolve the {spec.name} classpath ({reason}); "
                             "check ~/.m2/settings.xml and retry")
        jars = [Path(entry) for entry in output.read_text().strip().split(os.pathsep) if entry]
    listing.parent.mkdir(parents=True, exist_ok=True)
    partial = listing.with_suffix(".partial")
    partial.write_text("".join(f"{jar}\n" for jar in jars))
    partial.replace(listing)
    return jars


def classpath_string(jars: list[Path]) -> str:
    """`jars` joined for `java -cp` (pure)."""
    return os.pathsep.join(str(jar) for jar in jars)


def find_jar(jars: list[Path], artifact: str) -> Path:
    """The jar of `artifact` (its artifactId) in a resolved classpath; VigieError if absent."""
    for jar in jars:
        if jar.parent.parent.name == artifact:
            return jar
    raise VigieError(f"{artifact} is missing from the resolved classpath; clear "
                     f"{cache_root() / 'classpaths'} and retry")
