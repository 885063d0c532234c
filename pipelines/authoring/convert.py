"""`vigie rules convert`: Sigma rules -> Elasticsearch queries (Lucene, ES|QL, EQL).

The rules go through Vigie's processing pipeline (Sigma taxonomy -> ECS field names, keywords ->
the raw message) and then pySigma's Elasticsearch backends, exactly as
`sigma convert -t lucene -p vigie_ecs RULE...` does, so both print the same queries. A rule that
cannot be read or converted gives one line naming its file; the others are still converted and
the exit code is 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from sigma.collection import SigmaCollection
from sigma.conversion.base import Backend
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from pipelines.detection.loader import parse_rule_file, rule_files
from pipelines.detection.pipeline import vigie_pipeline
from pipelines.errors import VigieError

TARGETS = ("lucene", "esql", "eql")


@dataclass(frozen=True)
class Failure:
    """A rule file that could not be read or converted, and why (one line)."""

    path: str
    reason: str

    def line(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Conversion:
    """The converted queries (in rule order) and the files that failed."""

    output: Any
    converted: int
    failures: tuple[Failure, ...]


def backend_class(target: str) -> type[Backend]:
    """The pySigma Elasticsearch backend class for a target name (lucene, esql, eql)."""
    from sigma.backends.elasticsearch import EqlBackend, ESQLBackend, LuceneBackend
    return {"lucene": LuceneBackend, "esql": ESQLBackend, "eql": EqlBackend}[target]


def one_line(error: BaseException) -> str:
    """An exception as one short line of text."""
    text = " ".join(str(error).split())
    return text[:400] or type(error).__name__


def read_rules(paths: Iterable[Path]) -> tuple[SigmaCollection, list[Failure]]:
    """Every rule of the rule files under `paths` (the loader's discovery and parsing, so
    `*.tests.yml` and pipeline YAMLs are not taken for rules), and the files that failed."""
    parsed = [parse_rule_file(path) for path in rule_files(paths)]
    failures = [Failure(str(problem.path), (f"rule {problem.title!r}: " if problem.title else "")
                        + problem.reason) for p in parsed for problem in p.problems]
    return SigmaCollection([rule for p in parsed for rule in p.rules]), failures


def source_path(rule: SigmaRule | SigmaCorrelationRule) -> str:
    """The file a rule was read from (or its title when it came from elsewhere)."""
    location = getattr(rule, "source", None)
    return str(location.path) if location is not None and location.path else str(rule.title)


def with_references_resolved(collection: SigmaCollection) -> tuple[SigmaCollection, list[Failure]]:
    """The collection without the correlation rules whose referenced rules are missing (those
    become failures), references resolved and rules in reference order (as sigma-cli does)."""
    failures, broken = [], set()
    for rule in collection.rules:
        if isinstance(rule, SigmaCorrelationRule):
            try:
                rule.resolve_rule_references(collection)
            except SigmaError as exc:
                failures.append(Failure(source_path(rule), f"rule {rule.title!r}: {one_line(exc)}"))
                broken.add(id(rule))
    kept = SigmaCollection([rule for rule in collection.rules if id(rule) not in broken])
    kept.resolve_rule_references()
    return kept, failures


def convert_one(backend: Backend, rule: SigmaRule | SigmaCorrelationRule,
                output_format: str) -> tuple[list[Any], Failure | None]:
    """Queries for one rule (pipeline applied), or why the backend cannot express it."""
    try:
        if isinstance(rule, SigmaCorrelationRule):
            return backend.convert_correlation_rule(rule, output_format), None
        return backend.convert_rule(rule, output_format), None
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises becomes this rule's line
        return [], Failure(source_path(rule), f"rule {rule.title!r} cannot be converted: {one_line(exc)}")


def convert_rules(paths: Iterable[Path], target: str, output_format: str = "default") -> Conversion:
    """Read and convert every rule under `paths`; the output is what the backend finalises."""
    collection, failures = read_rules(paths)
    backend = backend_class(target)(processing_pipeline=vigie_pipeline())
    backend.init_processing_pipeline(output_format)
    collection, unresolved = with_references_resolved(collection)
    failures.extend(unresolved)
    queries: list[Any] = []
    converted = 0
    for rule in collection.rules:
        rule_queries, failure = convert_one(backend, rule, output_format)
        if failure is not None:
            failures.append(failure)
        else:
            converted += 1
            queries.extend(rule_queries)
    return Conversion(backend.finalize(queries, output_format), converted, tuple(failures))


def render(output: Any) -> str:
    """The backend's output as text, the way sigma-cli prints it."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(isinstance(item, str) for item in output):
        return "\n\n".join(output)
    if isinstance(output, list):
        return "\n".join(json.dumps(item) for item in output)
    return json.dumps(output)


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of `vigie rules convert` on `parser`."""
    parser.add_argument("rules", nargs="+", type=Path, metavar="RULE_OR_DIR",
                        help="Sigma rule files, or folders searched for *.yml / *.yaml rules")
    parser.add_argument("--target", "-t", required=True, choices=TARGETS,
                        help="query language: lucene (Kibana / query_string), esql or eql")
    parser.add_argument("--format", "-f", default="default",
                        help="backend output format (lucene also has kibana_ndjson, dsl_lucene, "
                             "and siem_rule, siem_rule_ndjson, which download MITRE ATT&CK data)")
    parser.add_argument("--output", "-o", type=Path, default=None,
                        help="write the queries to this file instead of standard output")


def run_convert(args: argparse.Namespace) -> int:
    """Convert, print or write the queries, one line per failed rule on stderr; the exit code
    (1 when a rule failed). A usage problem (unknown format, missing path) is a VigieError."""
    formats = backend_class(args.target).formats
    if args.format not in formats:
        raise VigieError(f"rules convert: format {args.format!r} is not offered by the "
                         f"{args.target} backend (choose from {', '.join(formats)})")
    result = convert_rules(args.rules, args.target, args.format)
    text = render(result.output)
    if args.output is not None:
        args.output.write_text(text + "\n" if text else "", encoding="utf-8")
    elif text:
        print(text)
    for failure in result.failures:
        print(f"vigie rules convert: {failure.line()}", file=sys.stderr)
    print(f"vigie rules convert: {result.converted} rule(s) converted to {args.target}"
          + (f", {len(result.failures)} failed" if result.failures else "")
          + (f", written to {args.output}" if args.output is not None else ""), file=sys.stderr)
    return 1 if result.failures else 0
