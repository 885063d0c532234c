"""`vigie schema render [--check] [--deploy-dir DIR]`: the files generated from schemas/.

Exit status 1 with --check when a checked-in generated file is stale.
"""
from __future__ import annotations

import sys
from pathlib import Path

from pipelines.options import CommandParser


def main(argv: list[str]) -> int:
    """`vigie schema` (see the module docstring)."""
    from pipelines.schema import schemas
    from pipelines.schema_render import render
    parser = CommandParser(prog="vigie schema", description="Render or check the files generated "
                                                            "from schemas/ (Elasticsearch templates).")
    parser.add_argument("action", choices=["render"])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    parser.add_argument("--deploy-dir", default=None, help="where the templates go (default deploy/elasticsearch)")
    args = parser.parse_args(argv)
    schemas()  # validates schemas/ (unknown types, undefined fields)
    deploy_dir = Path(args.deploy_dir) if args.deploy_dir else None
    stale = render(deploy_dir, check=args.check) if deploy_dir else render(check=args.check)
    if args.check:
        if stale:
            print("vigie: generated files are stale, run `vigie schema render`: " + ", ".join(stale),
                  file=sys.stderr)
            return 1
        print("vigie schema: generated files are up to date")
    else:
        print(f"vigie schema: wrote {len(stale)} file(s)" + (": " + ", ".join(stale) if stale else ""))
    return 0
