"""The Java side of the local services: which `java`, the flags Beam and Flink need on Java 17,
pathing jars, and the project's own small Java launchers (compiled once with javac, cached).

    java_binary() -> path of `java` (Java 17+; $VIGIE_JAVA_HOME, $JAVA_HOME, else PATH)
    OPENS         the --add-opens flags Beam's Java harness and Flink need on Java 17
    pathing_jar(jars, main_class, target) -> a jar whose manifest names `main_class` and lists
                  `jars` as its Class-Path, so `java -jar target` runs on that classpath
    launcher_classes(classpath, source) -> folder of one compiled project launcher
                  (pipelines/services/java/SOURCE.java); launcher_jar(...) -> the same as a jar
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from pipelines.errors import VigieError
from pipelines.services.classpath import cache_root

MIN_JAVA = 17
JAVA_SOURCES = Path(__file__).resolve().parent / "java"

# Beam's Java harness (jamm, protobuf, Netty) and Flink's Kryo reflect into these packages.
OPENS = tuple(f"--add-opens=java.base/{package}=ALL-UNNAMED" for package in (
    "java.lang", "java.lang.reflect", "java.nio", "java.util", "java.util.concurrent",
    "java.util.concurrent.atomic", "java.io", "java.net", "java.text", "java.time",
    "sun.nio.ch", "jdk.internal.misc")) + (
    "--add-opens=java.sql/java.sql=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
)


def _java_home() -> Path | None:
    for variable in ("VIGIE_JAVA_HOME", "JAVA_HOME"):
        value = os.environ.get(variable)
        if value:
            home = Path(value)
            if not (home / "bin" / "java").exists():
                raise VigieError(f"{variable}={value} has no bin/java; point it at a JDK {MIN_JAVA}+")
            return home
    return None


def java_binary() -> Path:
    """The `java` to run services with; VigieError when there is none or it is older than 17."""
    home = _java_home()
    found = (home / "bin" / "java") if home else (Path(shutil.which("java") or ""))
    if not found.name or not found.exists():
        raise VigieError(f"Java {MIN_JAVA} or newer is needed; install a JDK or set JAVA_HOME")
    major = java_major(found)
    if major < MIN_JAVA:
        raise VigieError(f"{found} is Java {major}; the streaming services need Java {MIN_JAVA}+ "
                         "(set VIGIE_JAVA_HOME)")
    return found


def java_major(java: Path) -> int:
    """The major version of a `java` binary (17 for 17.0.15)."""
    done = subprocess.run([str(java), "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr)
    if not match:
        return 0
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def javac_binary() -> Path:
    """`javac` next to java_binary(); VigieError if only a JRE is installed."""
    javac = java_binary().with_name("javac")
    if not javac.exists():
        found = shutil.which("javac")
        if not found:
            raise VigieError("javac is needed to build the project's Java launchers; install a JDK")
        javac = Path(found)
    return javac


def pathing_jar(jars: list[Path], main_class: str, target: Path, extra: list[Path] = ()) -> Path:
    """Write (once per content) a jar that runs `main_class` on `extra` + `jars`."""
    entries = [*extra, *jars]
    manifest = manifest_text(main_class, entries)
    if target.is_file():
        with zipfile.ZipFile(target) as existing:
            if existing.read("META-INF/MANIFEST.MF").decode() == manifest:
                return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest)
    partial.replace(target)
    return target


def manifest_text(main_class: str, entries: list[Path]) -> str:
    """A jar manifest with Main-Class and a Class-Path of absolute file URLs, lines wrapped at
    72 bytes as the jar specification requires (pure)."""
    urls = " ".join(entry.resolve().as_uri() + ("/" if entry.is_dir() else "") for entry in entries)
    lines = ["Manifest-Version: 1.0", "Created-By: vigie", f"Main-Class: {main_class}",
             f"Class-Path: {urls}"]
    out = []
    for line in lines:
        data = line.encode()
        out.append(data[:72])
        data = data[72:]
        while data:
            out.append(b" " + data[:71])
            data = data[71:]
    return b"\r\n".join(out).decode() + "\r\n\r\n"


def launcher_classes(classpath: list[Path], name: str) -> Path:
    """Compile the project's launcher pipelines/services/java/NAME.java against `classpath`
    (once per source+classpath hash); return the folder of its .class files."""
    sources = [JAVA_SOURCES / f"{name}.java"]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.read_bytes())
    digest.update("\n".join(str(jar) for jar in classpath).encode())
    folder = cache_root() / "launchers" / f"{name}-{digest.hexdigest()[:12]}"
    if (folder / ".built").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    command = [str(javac_binary()), "-nowarn", "--release", str(MIN_JAVA), "-d", str(folder),
               "-cp", os.pathsep.join(str(jar) for jar in classpath), *map(str, sources)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no output"])[0][:240]
        raise VigieError(f"javac could not build the Vigie Java launchers ({first})")
    (folder / ".built").touch()
    return folder


def launcher_jar(classpath: list[Path], name: str) -> Path:
    """The launcher NAME compiled (launcher_classes) and packed as a jar, for places that accept
    only jar files (Flink stages a job's classpath entries as jars)."""
    folder = launcher_classes(classpath, name)
    target = folder.with_suffix(".jar")
    if not target.is_file():
        partial = target.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w") as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: vigie\r\n\r\n")
            for path in sorted(folder.rglob("*.class")):
                jar.write(path, path.relative_to(folder).as_posix())
        partial.replace(target)
    return target
