"""`vigie` entry point: a dispatch table to pipelines/commands/, and one error policy.

Each command is a function `main(argv) -> exit status` in its module, imported only when it is
run (Beam is slow to import and most commands do not need it). Errors the user can fix are
printed as one line `vigie: ...` with a non-zero exit (VigieError's code, 2 for bad input),
never a traceback, including when a step inside a Beam pipeline fails; set VIGIE_DEBUG=1 to
see the traceback of a Vigie bug (exit 1).
"""
from __future__ import annotations

import importlib
import logging
import os
import re
import sys

from pipelines.errors import VigieError

# command -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "generate": ("pipelines.commands.generate", "main", "write a labelled scenario of mail, web and VPN logs"),
    "replay": ("pipelines.commands.replay", "main", "replay archived logs: vigie replay INPUT... --out DIR [flags]"),
    "demo": ("pipelines.commands.demo", "main", "generate the hospital scenario, replay it, summarise"),
    "rules": ("pipelines.commands.rules", "rules_main", "detection engineering: vigie rules check|test|new|convert|backtest ..."),
    "hunt": ("pipelines.commands.hunt", "hunt_main", "run Sigma rules against Elasticsearch: vigie hunt RULES... --es-url URL"),
    "es": ("pipelines.commands.es", "es_main", "Elasticsearch: vigie es check|templates|backfill DIR|verify DIR --es-url URL"),
    "incidents": ("pipelines.commands.incidents", "main", "incident reports and handoff: vigie incidents render|send DIR ..."),
    "schema": ("pipelines.commands.schema", "main", "render or check the files generated from schemas/"),
}


def usage() -> str:
    """`vigie --help`."""
    width = max(map(len, COMMANDS))
    lines = ["usage: vigie COMMAND [ARGS...]   (vigie COMMAND --help for its flags)", "",
             "Vigie: SIEM log-correlation pipeline (mail, web and VPN logs, Sigma rules).", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, _, text) in COMMANDS.items()]
    return "\n".join(lines)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def _vigie_error_inside(exc: BaseException) -> str | None:
    """A VigieError raised inside a Beam worker reaches us wrapped: recover its message."""
    match = re.search(r"VigieError: ([^\n\[]+)", str(exc))
    return match.group(1).strip() if match else None


def _quiet_beam() -> None:
    """Vigie's progress lines on stderr; Beam's own logging (which prints a worker's traceback
    when a step fails) only with VIGIE_DEBUG."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("vigie").setLevel(logging.INFO)
    if not os.environ.get("VIGIE_DEBUG"):
        logging.getLogger("apache_beam").setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    """Run `vigie ARGV...`; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_beam()
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"vigie: unknown command {command!r}; one of {', '.join(COMMANDS)} (see `vigie --help`)",
              file=sys.stderr)
        return 2
    module, function, _ = COMMANDS[command]
    try:
        return int(getattr(importlib.import_module(module), function)(rest) or 0)
    except VigieError as exc:
        print(f"vigie: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vigie: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # a library's own argument parser giving up
        code = exc.code if isinstance(exc.code, int) else 2
        if code:
            print(f"vigie: {command}: invalid arguments (see `vigie {command} --help`)", file=sys.stderr)
        return code
    except Exception as exc:  # noqa: BLE001 - the user gets one line; VIGIE_DEBUG shows the rest
        if os.environ.get("VIGIE_DEBUG"):
            raise
        inner = _vigie_error_inside(exc)
        if inner:
            print(f"vigie: {inner}", file=sys.stderr)
            return 2
        print(f"vigie: internal error: {type(exc).__name__}: {_first_line(exc)} "
              "(set VIGIE_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
