"""Vigie distribution: the `pipelines` package, with schemas/ and detections/ shipped as data.

Beam ships this file to workers with `--setup_file`; the console script is `vigie`.
"""
from pathlib import Path

import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
SHIPPED_DATA = ("schemas", "detections")


class BuildWithData(build_py):
    """Copy schemas/ and detections/ into the built package as pipelines/_data/."""

    def run(self) -> None:
        super().run()
        for folder in SHIPPED_DATA:
            source = HERE / folder
            if source.is_dir():
                target = Path(self.build_lib) / "pipelines" / "_data" / folder
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(source, target)


setup(
    name="vigie",
    version="0.1.0",
    description="SIEM log-correlation pipeline: mail, web and VPN logs to Parquet and Elasticsearch",
    python_requires=">=3.11",
    # The pySigma plugin lives in pipelines/detection/sigma_plugin and is installed as
    # sigma.pipelines.vigie, the namespace where pySigma and sigma-cli look for pipelines
    # (`sigma convert -p vigie_ecs`).
    packages=find_packages(include=["pipelines", "pipelines.*"]) + ["sigma.pipelines", "sigma.pipelines.vigie"],
    package_dir={"sigma.pipelines": "pipelines/detection/sigma_plugin"},
    # schemas/ and detections/ live at the repository root (one source of truth) and are
    # copied into the package as pipelines/_data/ so that an installed `vigie` finds them.
    cmdclass={"build_py": BuildWithData},
    install_requires=[
        "apache-beam==2.75.0",
        "pyarrow>=17",
        "numpy>=1.26",
        "PyYAML>=6",
        "pySigma>=1.5,<2",
        "pySigma-backend-elasticsearch>=2.1,<3",
        "pySigma-validators-sigmahq>=0.21",
        "elasticsearch>=9,<10",
        "orjson>=3.10",
        "maxminddb>=3.2",
        "iptocc>=3.3",
        "Jinja2>=3.1.6,<4",
    ],
    # Incident report templates (Jinja2) travel inside the package so Beam workers and an
    # installed `vigie` render them.
    package_data={"pipelines.reports": ["templates/*"]},
    include_package_data=True,
    # `pip install -e ".[gcp]"`: Cloud Storage paths and the Dataflow runner (deploy/dataflow).
    extras_require={"gcp": ["apache-beam[gcp]==2.75.0"],
                    "test": ["pytest>=8", "hypothesis>=6.100", "mmdb-writer>=0.2.7", "pySigma-backend-sqlite>=2.0", "sigma-cli>=3.1",
                             "aiosmtpd>=1.4.6", "cryptography>=42"]},
    entry_points={"console_scripts": ["vigie=pipelines.cli:main"]},
)
