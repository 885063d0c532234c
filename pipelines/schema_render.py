"""`vigie schema render [--check]`: write (or verify) the files generated from schemas/.

In: the schemas (pipelines.schema). Out: deploy/elasticsearch/<template>.json, one composable
index template per log family, each carrying a `_meta.generated_by` header. With check=True
nothing is written; the stale or missing files are returned.
"""
from __future__ import annotations

import json
from pathlib import Path

from pipelines.resources import repo_root
from pipelines.schema import index_templates

DEFAULT_DEPLOY_DIR = repo_root() / "deploy" / "elasticsearch"


def rendered_files() -> dict[str, str]:
    """File name -> content of every generated file."""
    return {f"{name}.json": json.dumps(body, indent=2, sort_keys=True) + "\n"
            for name, body in index_templates().items()}


def render(deploy_dir: Path = DEFAULT_DEPLOY_DIR, check: bool = False) -> list[str]:
    """Write the generated files (or, with check, list those that are stale or missing)."""
    stale = []
    for name, content in rendered_files().items():
        target = deploy_dir / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != content:
            stale.append(str(target))
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")
    return stale
