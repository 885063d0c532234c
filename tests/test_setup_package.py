"""What `--setup_file ./setup.py` ships to remote Beam workers (Dataflow, a Flink cluster with
PROCESS or DOCKER workers): Beam's stager builds a source distribution of the project, each
worker pip-installs it. The package built from that very sdist must hold Vigie's data: the
schemas, the Sigma rules (detections/) and the report templates, or workers would run without
rules or fail to render incidents.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from apache_beam.runners.portability.stager import Stager

REPO = Path(__file__).resolve().parents[1]


def files_under(folder: Path) -> set[str]:
    """Paths of the files under `folder`, relative to it (caches left out)."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_the_sdist_beam_ships_installs_with_schemas_rules_and_templates(tmp_path: Path):
    sdist = Path(Stager._build_setup_package(str(REPO / "setup.py"), str(tmp_path / "sdist")))
    assert sdist.name.startswith("vigie-") and sdist.name.endswith(".tar.gz")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--no-build-isolation", "--wheel-dir", str(tmp_path / "wheel"), str(sdist)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    names = set(zipfile.ZipFile(next((tmp_path / "wheel").glob("vigie-*.whl"))).namelist())
    for folder, inside in (("schemas", "pipelines/_data/schemas"), ("detections", "pipelines/_data/detections"),
                           ("pipelines/reports/templates", "pipelines/reports/templates")):
        expected = files_under(REPO / folder)
        assert expected, folder
        missing = sorted(f for f in expected if f"{inside}/{f}" not in names)
        assert not missing, f"{folder}: {missing[:5]}"
    assert "pipelines/cli.py" in names and "pipelines/resources.py" in names
