"""`vigie incidents render|send DIR`: reports people read, and the idempotent handoff.

In: argv after `vigie incidents`. Out: an exit status.
- `render DIR [--lang fr|en]... [--tz ZONE]` reads DIR/incidents/incidents.jsonl (the latest
  revision of each incident) and writes the HTML and Markdown reports and the index under
  DIR/incidents/ (both languages unless --lang says otherwise).
- `send DIR [destination flags] [--lang fr|en] [--tz ZONE]` checks every configured destination
  (unreachable or refusing: one-line error, nothing sent), then delivers each incident revision
  not yet in the ledger, retries within the budget, dead-letters what still fails (and writes
  it to DIR/incidents/outbox/), and re-delivers earlier dead letters. With no destination flag
  the incidents go to DIR/incidents/outbox/. Exit 0 when nothing was dead-lettered, 1 otherwise.
Secrets come from files or the environment (see pipelines.sinks.handoff.settings). Bad input
raises VigieError (cli.py prints `vigie: ...` and exits 2).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from pipelines import storage
from pipelines.errors import VigieError
from pipelines.reports.render import DEFAULT_TZ, INCIDENTS_DIR, display_timezone, render_reports
from pipelines.sinks.handoff import settings
from pipelines.sinks.handoff.deadletters import read_delivery_dead_letters
from pipelines.sinks.handoff.files import FilesDestination
from pipelines.sinks.handoff.run import OUTBOX, deliver_incidents, summary_lines

INCIDENTS_FILE = "incidents.jsonl"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as VigieError (one line) instead of usage + exit. Flags are
    never abbreviated (`--webhook-secret` must not pass for `--webhook-secret-file`), and the values
    of unknown flags are not repeated (they might be a secret typed on the command line)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D102 - argparse hook
        if message.startswith("unrecognized arguments:"):
            flags = [w for w in message.split(":", 1)[1].split() if w.startswith("-")]
            message = "unrecognized arguments: " + (" ".join(flags) or "(values without a flag)")
        raise VigieError(f"incidents: {message} (see `vigie incidents --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The `vigie incidents` argument parser (render and send)."""
    parser = _Parser(prog="vigie incidents", description="Render incident reports and hand incidents off.")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    render = sub.add_parser("render", help="write HTML and Markdown reports and the index under DIR/incidents/")
    send = sub.add_parser("send", help="deliver incidents (webhook, TheHive, e-mail, files), re-deliver dead letters")
    for p in (render, send):
        p.add_argument("dir", metavar="DIR", help="the output folder of `vigie replay --out DIR`")
        p.add_argument("--tz", default=DEFAULT_TZ, help=f"timezone for dates shown to people (default {DEFAULT_TZ})")
    render.add_argument("--lang", action="append", choices=("fr", "en"),
                        help="report language (repeatable; default both, French first)")
    send.add_argument("--lang", choices=("fr", "en"), default="fr",
                      help="language of the mail and of TheHive's description (default fr)")
    send.add_argument("--no-fallback", action="store_true",
                      help=f"do not also write undeliverable incidents to DIR/{INCIDENTS_DIR}/{OUTBOX}/")
    settings.add_arguments(send)
    return parser


def read_incidents(out_dir: Path, say=lambda line: None) -> list[dict]:
    """Records of DIR/incidents/incidents.jsonl (every line; a bad line is skipped and reported)."""
    path = out_dir / INCIDENTS_DIR / INCIDENTS_FILE
    records = []
    try:
        with path.open("rb") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    say(f"vigie incidents: {path}:{number}: skipped, not JSON ({exc})")
                    continue
                if not isinstance(record, dict) or not record.get("incident.id"):
                    say(f"vigie incidents: {path}:{number}: skipped, no incident.id")
                    continue
                records.append(record)
    except OSError as exc:
        raise VigieError(f"cannot read {path}: {exc.strerror}") from None
    return records


def _out_dir(value: str) -> Path:
    if storage.is_remote(value):
        raise VigieError(f"{value}: `vigie incidents` reads an output folder on this machine; copy it here "
                         f"first (e.g. gcloud storage cp -r {value} DIR) and give DIR")
    out = Path(value)
    if not out.is_dir():
        raise VigieError(f"{value} is not a folder (give the --out DIR of `vigie replay`)")
    return out


def _render(args: argparse.Namespace) -> int:
    out = _out_dir(args.dir)
    jsonl = out / INCIDENTS_DIR / INCIDENTS_FILE
    if not jsonl.is_file():
        raise VigieError(f"no {INCIDENTS_DIR}/{INCIDENTS_FILE} in {out} (run `vigie replay --out {out}` first)")
    records = read_incidents(out, say=lambda m: print(m, file=sys.stderr))
    paths = render_reports(records, out, args.lang or ["fr", "en"], tz=args.tz)
    count = len({r.get("incident.id") for r in records})
    print(f"vigie incidents render: {count} incident(s), {len(paths)} file(s) under {out / INCIDENTS_DIR}")
    print(f"  index: {out / INCIDENTS_DIR / 'index.html'}")
    return 0


def _send(args: argparse.Namespace) -> int:
    out = _out_dir(args.dir)
    display_timezone(args.tz)
    destinations = settings.destinations_from(args)
    policy = settings.retry_policy(args)
    jsonl = out / INCIDENTS_DIR / INCIDENTS_FILE
    records = read_incidents(out, say=lambda m: print(m, file=sys.stderr)) if jsonl.is_file() else []
    if not records and not read_delivery_dead_letters(out):
        raise VigieError(f"nothing to send: no {INCIDENTS_DIR}/{INCIDENTS_FILE} and no delivery dead letters in {out}")
    if not destinations:
        destinations = [FilesDestination(out / INCIDENTS_DIR / OUTBOX)]
        print(f"vigie incidents send: no destination given, writing to {destinations[0].folder}", file=sys.stderr)
    for destination in destinations:
        destination.check()
    result = deliver_incidents(records, out, destinations, policy=policy, lang=args.lang, tz=args.tz,
                               say=lambda m: print(m, file=sys.stderr), fallback=not args.no_fallback)
    print(f"vigie incidents send: {len({r.get('incident.id') for r in records})} incident(s) in {out}")
    for line in summary_lines(result, destinations):
        print(line)
    return 1 if sum(result.dead_lettered.values()) else 0


def main(argv: list[str]) -> int:
    """`vigie incidents ...` -> exit status (see the module docstring)."""
    args = build_parser().parse_args(argv)
    return _render(args) if args.action == "render" else _send(args)
