"""A Beam FileSystem with object-store semantics, for tests: `objstore://bucket/key`.

Cloud Storage cannot be reached from the project's machines, so the tests of remote inputs and
outputs run Vigie against this filesystem instead. It behaves as an object store does where
that matters to Vigie: no folders (`has_dirs` is False: a "folder" is a prefix, listing is
recursive), an object appears whole when its writer is closed (written aside, then moved in),
objects are reached only through Beam's `FileSystems` (the keys are files under a root folder
that Vigie is never told about: `VIGIE_OBJSTORE_ROOT`). Load it as users load their own
filesystems: `--beam_plugins tests.objstore_fs` (Beam's workers import the module too).
"""
from __future__ import annotations

import io
import os
import shutil
import uuid

from apache_beam.io.filesystem import (BeamIOError, CompressedFile, CompressionTypes, FileMetadata,
                                       FileSystem)

SCHEME = "objstore"
ROOT_VARIABLE = "VIGIE_OBJSTORE_ROOT"


def _root() -> str:
    root = os.environ.get(ROOT_VARIABLE)
    if not root:
        raise BeamIOError(f"{ROOT_VARIABLE} is not set: the objstore:// test filesystem has no root")
    return root


def _disk(path: str) -> str:
    """objstore://bucket/key -> the file holding that object."""
    if not path.startswith(f"{SCHEME}://"):
        raise ValueError(f"not an {SCHEME}:// path: {path}")
    return os.path.join(_root(), path[len(SCHEME) + 3:])


def _url(disk_path: str) -> str:
    return f"{SCHEME}://" + os.path.relpath(disk_path, _root()).replace(os.sep, "/")


class _ObjectWriter(io.FileIO):
    """Writes aside; the object appears under its key on close."""

    def __init__(self, target: str):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        self._target = target
        self._aside = os.path.join(os.path.dirname(target), f".objstore-{uuid.uuid4().hex}")
        super().__init__(self._aside, "wb")

    def close(self) -> None:
        if not self.closed:
            super().close()
            os.replace(self._aside, self._target)


class ObjectStoreFileSystem(FileSystem):
    """`objstore://` keys stored as files under $VIGIE_OBJSTORE_ROOT (see the module docstring)."""

    @classmethod
    def scheme(cls):
        return SCHEME

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/"), *(p.strip("/") for p in paths)])

    def split(self, path):
        head, _, tail = path.rstrip("/").rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass  # no folders on an object store

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        prefix = _disk(dir_or_prefix)
        start = prefix if os.path.isdir(prefix) else os.path.dirname(prefix)
        for dirpath, _, names in os.walk(start):
            for name in names:
                disk = os.path.join(dirpath, name)
                if name.startswith(".objstore-") or not disk.startswith(prefix):
                    continue
                yield FileMetadata(_url(disk), os.path.getsize(disk), os.path.getmtime(disk))

    def create(self, path, mime_type="application/octet-stream",
               compression_type=CompressionTypes.AUTO):
        raw = _ObjectWriter(_disk(path))
        kind = FileSystem._get_compression_type(path, compression_type)
        return raw if kind == CompressionTypes.UNCOMPRESSED else CompressedFile(raw, compression_type=kind)

    def open(self, path, mime_type="application/octet-stream",
             compression_type=CompressionTypes.AUTO):
        disk = _disk(path)
        if not os.path.isfile(disk):
            raise BeamIOError("Open operation failed", {path: FileNotFoundError(f"no object {path}")})
        raw = io.open(disk, "rb")
        kind = FileSystem._get_compression_type(path, compression_type)
        return raw if kind == CompressionTypes.UNCOMPRESSED else CompressedFile(raw, compression_type=kind)

    def copy(self, source_file_names, destination_file_names):
        for source, destination in zip(source_file_names, destination_file_names):
            os.makedirs(os.path.dirname(_disk(destination)), exist_ok=True)
            shutil.copyfile(_disk(source), _disk(destination))

    def rename(self, source_file_names, destination_file_names):
        self.copy(source_file_names, destination_file_names)
        self.delete(source_file_names)

    def exists(self, path):
        return os.path.isfile(_disk(path))

    def size(self, path):
        return os.path.getsize(_disk(path))

    def last_updated(self, path):
        return os.path.getmtime(_disk(path))

    def checksum(self, path):
        return str(os.path.getsize(_disk(path)))

    def metadata(self, path):
        disk = _disk(path)
        return FileMetadata(path, os.path.getsize(disk), os.path.getmtime(disk))

    def delete(self, paths):
        for path in paths:
            disk = _disk(path)
            if os.path.isfile(disk):
                os.remove(disk)
            else:  # a prefix: every object under it
                for meta in list(self._list(path.rstrip("/") + "/")):
                    os.remove(_disk(meta.path))
