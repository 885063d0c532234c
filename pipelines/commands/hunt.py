"""`vigie hunt RULES... --es-url URL`: run Sigma rules against the events indexed in Elasticsearch.

In: the words after `vigie hunt`. Out: per rule, its hits, level and first/last hit time on
standard output, then the rules that could not run (failures) and the rules that do not apply
to the target (notes), what was searched, and with `--json FILE` every rule's status, query,
indices and hit ids; an exit status that says whether the zeros mean "looked and found nothing":

    0  every rule that applies to the target searched its indices (0 hits means none matched)
    1  some rules that apply could not run (not convertible, refused by the server, or none of
       their indices exists); the others searched
    2  bad input, nothing run: no rule file in a path, a bad or empty --from/--to window, no
       --es-url, a cluster that cannot be reached or refuses the credentials, ES|QL unavailable
    3  nothing was searched: no rule searched an existing index (wrong --index-prefix, nothing
       indexed), the indices hold no event in the window, or no rule applies to the target

Exit 1 and 3 end with one line `vigie: hunt: ...` on standard error saying why. Planning and
running are pipelines/authoring/hunt.py.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipelines.authoring.hunt import (
    FAILED, NO_INDEX, NOT_APPLICABLE, NOT_CONVERTIBLE, OK, TARGETS, HuntResult, RuleHits, connect,
    hunt, index_hint, plan, time_window,
)
from pipelines.errors import VigieError
from pipelines.indices import EVENTS_PREFIX
from pipelines.options import add_elasticsearch_connection_flags

ALL_SEARCHED, SOME_DID_NOT_RUN, BAD_INPUT, NOTHING_SEARCHED = 0, 1, 2, 3
FAILURES = (NOT_CONVERTIBLE, FAILED, NO_INDEX)


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are VigieErrors (one line, exit 2)."""

    def error(self, message: str):  # one line, exit 2, through VigieError
        raise VigieError(f"hunt: {message} (see `vigie hunt --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The arguments of `vigie hunt`."""
    parser = _Parser(
        prog="vigie hunt", description="Run Sigma rules against the events indexed in Elasticsearch "
                                       "and report the hits per rule. Exit status: 0 every rule that "
                                       "applies searched; 1 some could not run; 2 bad input; 3 "
                                       "nothing was searched.")
    parser.add_argument("rules", nargs="*", type=Path, metavar="RULE_OR_DIR",
                        help="Sigma rule files, or folders searched for rules")
    parser.add_argument("--from", dest="start", default=None,
                        help="first event time (inclusive): ISO 8601 (UTC unless an offset is given) or now-24h")
    parser.add_argument("--to", dest="end", default=None, help="last event time (exclusive), same forms")
    parser.add_argument("--target", choices=TARGETS, default="lucene",
                        help="query language (default lucene; esql needs a server with ES|QL)")
    parser.add_argument("--json", dest="json_file", type=Path, default=None,
                        help="also write the results, with the hit event ids, to this JSON file")
    parser.add_argument("--index-prefix", default=EVENTS_PREFIX,
                        help=f"prefix of the events indices (default {EVENTS_PREFIX})")
    add_elasticsearch_connection_flags(parser, "Elasticsearch URL, e.g. http://127.0.0.1:9200")
    return parser


# ---------------------------------------------------------------------------------------------
# Verdict and output (pure)
# ---------------------------------------------------------------------------------------------

def exit_status(result: HuntResult) -> int:
    """The exit status of a hunt (module docstring)."""
    if not any(r.status == OK for r in result.rules) or not result.events_in_window:
        return NOTHING_SEARCHED
    return SOME_DID_NOT_RUN if any(r.status in FAILURES for r in result.rules) else ALL_SEARCHED


def _window_text(result: HuntResult) -> str:
    if result.start and result.end:
        return f"from {result.start} to {result.end}"
    if result.start or result.end:
        return f"from {result.start}" if result.start else f"before {result.end}"
    return "at any time"


def why_nothing(result: HuntResult, hint: str | None = None) -> str:
    """One line: why a hunt searched nothing (exit 3)."""
    statuses = [r.status for r in result.rules]
    if OK in statuses and result.events_in_window == 0:
        first, last = result.span
        held = (f"their events run from {first} to {last}" if first else "they hold no event at all")
        return (f"nothing was searched: the {len(result.indices)} searched indices hold no event "
                f"{_window_text(result)} ({held}); widen --from/--to")
    if statuses and all(s == NOT_APPLICABLE for s in statuses):
        return f"nothing was searched: no rule applies to the {result.target} target (see the notes)"
    if NO_INDEX in statuses:
        return ("nothing was searched: none of the indices the rules route to exists"
                + (f"; {hint}" if hint else ""))
    return "nothing was searched: no rule could run (see the reasons above)"


def did_not_search(result: HuntResult) -> str:
    """One phrase: how many rules that apply did not search, and why (exit 1)."""
    failed = sum(r.status in (NOT_CONVERTIBLE, FAILED) for r in result.rules)
    absent = sum(r.status == NO_INDEX for r in result.rules)
    parts = ([f"{failed} rule(s) that apply to {result.target} could not run"] if failed else []) + (
        [f"{absent} rule(s) found none of their indices"] if absent else [])
    return " and ".join(parts)


def _name(r: RuleHits) -> str:
    return f"{r.rule.title or r.rule.path} ({r.rule.path})"


def table(result: HuntResult) -> str:
    """A readable report: hits, level, first/last hit and title per rule that searched, most
    hits first; the rules that could not run (failures) with the reason; the rules that do not
    apply to the target (notes); what was searched; a total line."""
    results = result.rules
    ran = sorted((r for r in results if r.status == OK), key=lambda r: (-len(r.ids), r.rule.title))
    failed = [r for r in results if r.status in FAILURES]
    notes = [r for r in results if r.status == NOT_APPLICABLE]
    lines = [f"{'hits':>8}  {'level':<13}{'first hit':<26}{'last hit':<26}rule"]
    for r in ran:
        lines.append(f"{len(r.ids):>8,}  {r.rule.level or '-':<13}{r.first or '-':<26}{r.last or '-':<26}"
                     f"{r.rule.title}")
    if failed:
        lines.append("rules that could not run:")
        lines += [f"{'-':>8}  {r.status}: {_name(r)}: {r.reason}" for r in failed]
    if notes:
        lines.append(f"rules that do not apply to the {result.target} target (notes, not failures):")
        lines += [f"{'note':>8}  {_name(r)}: {r.reason}" for r in notes]
    if result.indices:
        lines.append(f"searched {result.events_in_window or 0:,} events {_window_text(result)} in "
                     f"{len(result.indices)} indices: {', '.join(result.indices)}")
    firing = sum(1 for r in ran if r.ids)
    lines.append(f"{sum(len(r.ids) for r in ran):,} hits from {firing} of {len(ran)} rules run"
                 + (f"; {len(failed)} could not run" if failed else "")
                 + (f"; {len(notes)} do not apply to {result.target}" if notes else ""))
    return "\n".join(lines)


def as_json(result: HuntResult) -> dict[str, Any]:
    """The results as a JSON document: what was searched, the exit status, and per rule its
    status (ok, not applicable, not convertible, failed, no index), where it stopped
    (conversion, server, index), the reason, the indices planned and searched, the query and
    the hit ids."""
    return {"target": result.target, "from": result.start, "to": result.end,
            "exit_status": exit_status(result), "searched_indices": list(result.indices),
            "events_in_window": result.events_in_window, "rules": [
                {"id": r.rule.id, "title": r.rule.title, "level": r.rule.level, "path": r.rule.path,
                 "status": r.status, "applies": r.status != NOT_APPLICABLE, "where": r.where,
                 "reason": r.reason, "indices": list(r.rule.indices), "searched": list(r.searched),
                 "query": r.rule.query, "hits": len(r.ids), "first": r.first, "last": r.last,
                 "event_ids": sorted(r.ids)} for r in result.rules]}


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------

def hunt_main(argv: list[str]) -> int:
    """`vigie hunt ...` -> exit status (module docstring); bad input raises VigieError."""
    args = build_parser().parse_args(argv)
    if not args.rules:
        raise VigieError("hunt: give at least one rule file or folder: vigie hunt RULES... --es-url URL")
    if not args.es_url:
        raise VigieError("hunt: --es-url URL is required (e.g. http://127.0.0.1:9200)")
    start, end = time_window(args.start, args.end)
    planned = plan(args.rules, args.target, args.index_prefix)
    client, note = connect(args.es_url, args.es_api_key_file, args.es_user, args.es_ca_file, args.es_password_file)
    if note:
        print(f"vigie hunt: note: {note}", file=sys.stderr)
    result = hunt(client, planned, args.target, start, end)
    print(table(result))
    if args.json_file is not None:
        args.json_file.write_text(json.dumps(as_json(result), indent=1) + "\n", encoding="utf-8")
        print(f"vigie hunt: results written to {args.json_file}", file=sys.stderr)
    status = exit_status(result)
    if status == NOTHING_SEARCHED:
        hint = index_hint(client, args.index_prefix) if any(r.status == NO_INDEX for r in result.rules) else None
        print(f"vigie: hunt: {why_nothing(result, hint)}", file=sys.stderr)
    elif status == SOME_DID_NOT_RUN:
        print(f"vigie: hunt: {did_not_search(result)} (listed above); the others searched", file=sys.stderr)
    return status
