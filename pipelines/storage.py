"""Paths on the local disk or on any Beam filesystem (gs://, s3://, azfs://, or a plugin's).

Vigie's inputs and outputs are paths. A path without a scheme (or `file://`) is local and is
handled with the operating system's calls, as before; a path with a scheme (`gs://bucket/logs`)
goes through Beam's `FileSystems`, the same layer Beam's own file sources and sinks use, so the
submitting machine and every worker (Dataflow VMs, Flink TaskManagers) reach the same files.

Object stores have no folders: a "folder" there is a prefix, it exists when an object is under
it, and nothing can be renamed atomically. Errors become one-line `VigieError`s naming the path.
"""
from __future__ import annotations

import importlib
import os
from typing import BinaryIO, Callable, Iterable

from pipelines.errors import VigieError

SCHEMES_HELP = ("install Beam's extra for it (pip install \"apache-beam[gcp]\" for gs://, [aws] "
                "for s3://, [azure] for azfs://) or name your own FileSystem module with "
                "--beam_plugins MODULE")


def scheme(path: str) -> str | None:
    """The scheme of `path` ('gs' for gs://b/x), or None for a local path (also for file://)."""
    head, sep, _ = path.partition("://")
    if not sep or not head or not head[0].isalpha() or not all(c.isalnum() or c in "+-." for c in head):
        return None
    return None if head.lower() == "file" else head.lower()


def is_remote(path: str | os.PathLike) -> bool:
    """True when `path` is on a Beam filesystem other than the local disk."""
    return scheme(str(path)) is not None


def local(path: str | os.PathLike) -> str:
    """A local path as the operating system takes it (file:///x -> /x)."""
    text = str(path)
    return text[len("file://"):] if text.lower().startswith("file://") else text


PLUGINS_VARIABLE = "VIGIE_BEAM_PLUGINS"


def _beam():
    from apache_beam.io.filesystems import FileSystems
    # Worker processes the local runner starts inherit this process's environment but not
    # always the job's --beam_plugins: load the ones `configure` recorded.
    load_plugins(filter(None, os.environ.get(PLUGINS_VARIABLE, "").split(",")))
    return FileSystems


def _failed(path: str, action: str, exc: Exception) -> VigieError:
    if isinstance(exc, ValueError) and "Unable to get filesystem" in str(exc):
        return VigieError(f"no filesystem for {scheme(path)}:// paths ({path}); {SCHEMES_HELP}")
    detail = exc
    causes = getattr(exc, "exception_details", None)
    if isinstance(causes, dict) and causes:
        detail = next(iter(causes.values()))
    return VigieError(f"cannot {action} {path}: {detail}; check the path and your access to it")


def _on_store(path: str, action: str, call: Callable):
    """`call(FileSystems)` for a path on a Beam filesystem; a failure is a VigieError saying
    what could not be done to `path`."""
    filesystems = _beam()
    try:
        return call(filesystems)
    except Exception as exc:  # noqa: BLE001 - every filesystem raises its own kinds
        raise _failed(path, action, exc) from exc


def join(base: str | os.PathLike, *parts: str) -> str:
    """`base`/`parts` in the path's own syntax."""
    base = str(base)
    if not is_remote(base):
        return os.path.join(local(base), *parts)
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p)])


def basename(path: str) -> str:
    """The last component of a path (local or remote)."""
    return str(path).rstrip("/").rsplit("/", 1)[-1] if is_remote(path) else os.path.basename(local(path))


def parent(path: str) -> str:
    """The folder (or prefix) holding `path`."""
    path = str(path)
    if not is_remote(path):
        return os.path.dirname(local(path))
    head, sep, rest = path.rstrip("/").partition("://")
    return f"{head}{sep}{rest.rsplit('/', 1)[0]}" if "/" in rest else path


def open_read(path: str | os.PathLike) -> BinaryIO:
    """A binary, seekable reader of the file's bytes as stored (a .gz is not decompressed)."""
    path = str(path)
    if not is_remote(path):
        return open(local(path), "rb")
    from apache_beam.io.filesystem import CompressionTypes
    return _on_store(path, "read", lambda fs: fs.open(path, compression_type=CompressionTypes.UNCOMPRESSED))


def create(path: str | os.PathLike) -> BinaryIO:
    """A binary writer of a new file at `path` (replacing one there). On an object store the
    object appears whole when the writer is closed, or not at all."""
    path = str(path)
    if not is_remote(path):
        os.makedirs(os.path.dirname(local(path)) or ".", exist_ok=True)
        return open(local(path), "wb")
    from apache_beam.io.filesystem import CompressionTypes
    return _on_store(path, "write", lambda fs: fs.create(path, compression_type=CompressionTypes.UNCOMPRESSED))


def read_bytes(path: str | os.PathLike) -> bytes:
    """The whole content of a file."""
    with open_read(path) as handle:
        return handle.read()


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` as the whole content of the file at `path`."""
    with create(path) as handle:
        handle.write(data)


def exists(path: str | os.PathLike) -> bool:
    """True when a file is at `path` (locally: a file or a folder)."""
    path = str(path)
    if not is_remote(path):
        return os.path.exists(local(path))
    return _on_store(path, "look up", lambda fs: fs.exists(path))


def size(path: str | os.PathLike) -> int:
    """Size of the file in bytes."""
    path = str(path)
    if not is_remote(path):
        return os.path.getsize(local(path))
    return _on_store(path, "read the size of", lambda fs: fs.match([path])[0].metadata_list[0].size_in_bytes)


def modified(path: str | os.PathLike) -> float:
    """When the file was last written (seconds since the epoch)."""
    path = str(path)
    if not is_remote(path):
        return os.path.getmtime(local(path))
    return float(_on_store(path, "read the modification time of", lambda fs: fs.last_updated(path)))


def match(pattern: str) -> list[str]:
    """The files matching a glob (`*` and `?` within one component, `**` across), sorted."""
    if not is_remote(pattern):
        import glob
        return sorted(glob.glob(local(pattern), recursive=True))
    found = _on_store(pattern, "list", lambda fs: fs.match([pattern])[0].metadata_list)
    return sorted(m.path for m in found)


def files_under(folder: str | os.PathLike) -> list[str]:
    """Every file below `folder`, at any depth, sorted (none when it is not a folder)."""
    folder = str(folder)
    if not is_remote(folder):
        root = local(folder)
        return sorted(os.path.join(dirpath, name) for dirpath, _, names in os.walk(root) for name in names)
    return [p for p in match(folder.rstrip("/") + "/**") if p.rstrip("/") != folder.rstrip("/")]


def is_folder(path: str | os.PathLike) -> bool:
    """True when `path` is a folder (on an object store: a prefix some object is under)."""
    path = str(path)
    if not is_remote(path):
        return os.path.isdir(local(path))
    pattern = path.rstrip("/") + "/**"
    return bool(_on_store(path, "list", lambda fs: fs.match([pattern], limits=[1])[0].metadata_list))


def delete_files(paths: Iterable[str]) -> None:
    """Delete files (remote ones in one call); ones already gone are ignored."""
    paths = list(paths)
    remote = [p for p in paths if is_remote(p)]
    for p in paths:
        if not is_remote(p):
            try:
                os.remove(local(p))
            except FileNotFoundError:
                pass
    if remote:
        _on_store(remote[0], "delete", lambda fs: fs.delete(remote))


def upload_tree(local_folder: str | os.PathLike, target: str) -> list[str]:
    """Copy every file below a local folder to the same relative paths under `target`; the
    paths written, sorted."""
    written = []
    for path in files_under(str(local_folder)):
        relative = os.path.relpath(path, local_folder).replace(os.sep, "/")
        destination = join(target, relative)
        with open(path, "rb") as source:
            write_bytes(destination, source.read())
        written.append(destination)
    return written


def load_plugins(modules: Iterable[str]) -> None:
    """Import the modules given with --beam_plugins (FileSystem subclasses among them register
    their scheme), as Beam's workers do, so that this process reads the same paths."""
    for name in modules:
        for module in str(name).split(","):
            if not module.strip():
                continue
            try:
                importlib.import_module(module.strip())
            except ImportError as exc:
                raise VigieError(f"--beam_plugins {module.strip()}: cannot import it ({exc}); give an "
                                 "importable module name") from None


def configure(options) -> None:
    """Make this process reach the same filesystems as the job's workers: import the job's
    --beam_plugins and hand Beam's FileSystems the job's options (credentials, project)."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import SetupOptions
    plugins = [m.strip() for name in options.view_as(SetupOptions).beam_plugins or []
               for m in str(name).split(",") if m.strip()]
    load_plugins(plugins)
    os.environ[PLUGINS_VARIABLE] = ",".join(plugins)
    FileSystems.set_options(options)
