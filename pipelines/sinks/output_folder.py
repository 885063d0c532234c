"""A replay's output folder, written atomically: a failed run never touches the previous output.

`OutputFolder.prepare(out, inputs)` checks `--out` (not inside an input folder; empty, new, or
an earlier Vigie output — any other non-empty folder is refused) and makes a staging folder
beside it (`.<name>.vigie-partial-<pid>`). The run writes there. `commit()` swaps it in: the
earlier output is moved aside, the staging folder renamed to `--out`, the earlier output
deleted; `abandon()` deletes the staging folder and leaves `--out` exactly as it was.

On an object store (`--out gs://bucket/run`, pipelines/storage.py) nothing can be renamed
atomically: the run writes straight into `--out`, which must hold nothing yet (an earlier
output is refused, not replaced), `summary.json` is written last (a prefix without it is an
unfinished run), and `abandon()` deletes what the run wrote.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines import storage
from pipelines.errors import VigieError

STAGING_MARK = ".vigie-partial-"


@dataclass(frozen=True)
class OutputFolder:
    """Where a run writes (`staging`) and where its output ends up (`final`)."""

    final: Path | str  # the URL (str) on an object store
    staging: Path | str

    @property
    def remote(self) -> bool:
        """True when the output is on an object store (written in place, no swap)."""
        return storage.is_remote(self.final)

    @classmethod
    def prepare(cls, out: str, inputs: list[str]) -> "OutputFolder":
        """Check `out` and create the staging folder beside it (see the module docstring)."""
        if storage.is_remote(out):
            return cls._prepare_remote(out, inputs)
        final = Path(storage.local(out)).resolve()
        for item in inputs:
            item_path = Path(item).resolve()
            if item_path.is_dir() and (final == item_path or item_path in final.parents):
                raise VigieError(f"--out {out} is inside the input folder {item}; choose another --out")
        if final.exists() and not final.is_dir():
            raise VigieError(f"--out {out} exists and is not a folder")
        if final.is_dir() and any(final.iterdir()) and not (final / "summary.json").exists():
            raise VigieError(f"--out {out} is not empty and holds no earlier Vigie output; "
                             "choose an empty or new folder")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            staging = final.parent / f".{final.name}{STAGING_MARK}{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
        except OSError as exc:
            raise VigieError(f"cannot write beside --out {out}: {exc.strerror or exc}") from None
        return cls(final, staging)

    @classmethod
    def _prepare_remote(cls, out: str, inputs: list[str]) -> "OutputFolder":
        final = out.rstrip("/")
        for item in inputs:
            if storage.is_remote(item) and (final + "/").startswith(item.rstrip("/") + "/"):
                raise VigieError(f"--out {out} is inside the input folder {item}; choose another --out")
        if storage.exists(final):
            raise VigieError(f"--out {out} exists and is not a folder")
        if storage.is_folder(final):
            raise VigieError(f"--out {out} already holds files; on object storage Vigie writes in "
                             "place (nothing can be swapped in atomically), so give a new --out")
        return cls(final, final)

    def commit(self) -> None:
        """Put the staging folder in place of the final one (the earlier output goes away)."""
        if self.remote:
            return  # written in place; summary.json, written last, marks it complete
        aside = self.final.parent / f".{self.final.name}.vigie-previous-{os.getpid()}"
        if self.final.exists():
            self.final.rename(aside)
        self.staging.rename(self.final)
        shutil.rmtree(aside, ignore_errors=True)

    def abandon(self) -> None:
        """Forget what this run wrote; the final folder stays as it was."""
        if self.remote:
            storage.delete_files(storage.files_under(self.staging))
            return
        shutil.rmtree(self.staging, ignore_errors=True)
