"""Locate the data shipped with Vigie (schemas/, detections/) from any working directory.

In: a folder name ("schemas" or "detections"). Out: its path, either inside the installed
package (pipelines/_data/<name>, copied there by setup.py) or at the repository root (editable
install, running from a checkout).
"""
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the directory holding Vigie's shipped `name` data (schemas or detections)."""
    for candidate in (PACKAGE_DIR.parent / name, PACKAGE_DIR / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"Vigie's {name}/ folder is missing from the installation")


def repo_root() -> Path:
    """The checkout root (where deploy/ lives) when running from a checkout."""
    return PACKAGE_DIR.parent
