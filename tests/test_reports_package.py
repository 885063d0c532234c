"""The report templates travel with the package: a built wheel carries them, so Beam workers
(which install the package from --setup_file) and an installed `vigie` can render reports."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = sorted(p.name for p in (REPO / "pipelines" / "reports" / "templates").iterdir() if p.is_file())


def test_wheel_ships_the_report_templates(tmp_path: Path):
    assert {"incident.html.j2", "incident.md.j2", "index.html.j2", "_timeline.html.j2", "report.css"} <= set(TEMPLATES)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next(tmp_path.glob("vigie-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in TEMPLATES:
        assert f"pipelines/reports/templates/{name}" in names, name


def test_templates_load_through_the_package_loader():
    from pipelines.reports.render import html_environment, markdown_environment
    assert set(TEMPLATES) - {"report.css"} <= set(html_environment().list_templates())
    assert "incident.md.j2" in markdown_environment().list_templates()
