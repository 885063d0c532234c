"""`vigie rules convert`: Sigma rules -> Elasticsearch queries (Lucene, ES|QL, EQL).

The rules go through Vigie's processing pipeline (Sigma taxonomy -> ECS field names, keywords ->
the raw message) and then pySigma's Elasticsearch backends, exactly as
`sigma convert -t lucene -p vigie_ecs RULE...` does, so both print the same queries, with one
difference: a rule referenced by a correlation rule is converted and printed like any other
(pySigma, for `generate: false`, the default, suppresses its output; sigma-cli prints nothing for
it). A rule that cannot be read or converted gives one line naming its file; the others are still
converted. A rule the target cannot express by nature (the backend lacks the feature, e.g. Lucene
has no correlations) is a note, not a failure.

Exit status: 0 every rule that applies to the target was converted (notes may list the others);
1 some rule could not be read or converted; 2 bad input (no rule file, unknown format); 3 nothing
was converted because no rule applies to the target.
"""
from __future__ import annotations

import argparse
import copy
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

from pipelines.detection.loader import PIPELINES_FOLDER, parse_rule_file, rule_files
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
    """The converted queries (in rule order), the files that failed and the rules the target
    cannot express (notes, not failures)."""

    output: Any
    converted: int
    failures: tuple[Failure, ...]
    notes: tuple[Failure, ...] = ()


def backend_class(target: str) -> type[Backend]:
    """The pySigma Elasticsearch backend class for a target name (lucene, esql, eql)."""
    from sigma.backends.elasticsearch import EqlBackend, ESQLBackend, LuceneBackend
    return {"lucene": LuceneBackend, "esql": ESQLBackend, "eql": EqlBackend}[target]


def one_line(error: BaseException) -> str:
    """An exception as one short line of text."""
    text = " ".join(str(error).split())
    return text[:400] or type(error).__name__


def require_rule_files(paths: Iterable[Path]) -> list[Path]:
    """The rule files under `paths`; VigieError naming the first path that is missing or holds
    no rule file (an empty folder must not pass for a rule set that found nothing)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise VigieError(f"no such rule file or folder: {path}")
        files = rule_files([path])
        if not files:
            raise VigieError(f"no Sigma rule file in {path} (rule files are *.yml / *.yaml, not "
                             f"*.tests.yml; {PIPELINES_FOLDER}/ folders are skipped)")
        found.extend(files)
    return list(dict.fromkeys(found))


def read_rules(paths: Iterable[Path]) -> tuple[SigmaCollection, list[Failure]]:
    """Every rule of the rule files under `paths` (the loader's discovery and parsing, so
    `*.tests.yml` and pipeline YAMLs are not taken for rules), and the files that failed.
    References of correlation rules are left unresolved: resolving them disables the output of
    the rules they reference (pySigma's `generate: false`)."""
    parsed = [parse_rule_file(path) for path in rule_files(paths)]
    failures = [Failure(str(problem.path), (f"rule {problem.title!r}: " if problem.title else "")
                        + problem.reason) for p in parsed for problem in p.problems]
    return SigmaCollection([rule for p in parsed for rule in p.rules], resolve_references=False), failures


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


def target_lacks(exc: BaseException) -> bool:
    """True when a backend's exception says the target cannot express a rule (a capability it
    lacks: SigmaFeatureNotSupportedByBackendError, NotImplementedError), not a fault."""
    from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
    return isinstance(exc, (SigmaFeatureNotSupportedByBackendError, NotImplementedError))


def convert_one(backend: Backend, rule: SigmaRule | SigmaCorrelationRule,
                output_format: str, target: str = "") -> tuple[list[Any], Failure | None, bool]:
    """Queries for one rule (pipeline applied), or why the backend cannot express it, and
    whether that reason is a capability the target lacks (a note rather than a failure)."""
    try:
        if isinstance(rule, SigmaCorrelationRule):
            return backend.convert_correlation_rule(rule, output_format), None, False
        return backend.convert_rule(rule, output_format), None, False
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises becomes this rule's line
        if target_lacks(exc):
            return [], Failure(source_path(rule), f"rule {rule.title!r} does not apply to "
                                                  f"{target or 'this target'}: {one_line(exc)}"), True
        return [], Failure(source_path(rule), f"rule {rule.title!r} cannot be converted: {one_line(exc)}"), False


def referenced_rules(collection: SigmaCollection) -> set[int]:
    """Identities (id()) of the rules the collection's resolved correlation rules reference."""
    return {id(ref.rule) for rule in collection.rules if isinstance(rule, SigmaCorrelationRule)
            for ref in rule.referenced_rules or () if getattr(ref, "rule", None) is not None}


def convert_rules(paths: Iterable[Path], target: str, output_format: str = "default") -> Conversion:
    """Read and convert every rule under `paths`; the output is what the backend finalises. A
    rule a correlation references is converted twice: as resolved (the correlation's query
    needs its result; pySigma then returns nothing for it) and, for the output, from a copy taken
    before the references were resolved, so it prints like any other rule."""
    collection, failures = read_rules(paths)
    backend = backend_class(target)(processing_pipeline=vigie_pipeline())
    backend.init_processing_pipeline(output_format)
    pristine = {id(rule): copy.deepcopy(rule) for rule in collection.rules if isinstance(rule, SigmaRule)}
    collection, unresolved = with_references_resolved(collection)
    failures.extend(unresolved)
    referenced = referenced_rules(collection)
    queries: list[Any] = []
    notes: list[Failure] = []
    converted = 0
    for rule in collection.rules:
        rule_queries, failure, lacks = convert_one(backend, rule, output_format, target)
        if failure is None and id(rule) in referenced:
            rule_queries, failure, lacks = convert_one(backend, pristine[id(rule)], output_format, target)
        if failure is not None:
            (notes if lacks else failures).append(failure)
        else:
            converted += 1
            queries.extend(rule_queries)
    return Conversion(backend.finalize(queries, output_format), converted, tuple(failures), tuple(notes))


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
    """Convert, print or write the queries, one line per failed rule and one note per rule the
    target cannot express on stderr; the exit code (module docstring). A usage problem (unknown
    format, missing path, no rule file) is a VigieError."""
    formats = backend_class(args.target).formats
    if args.format not in formats:
        raise VigieError(f"rules convert: format {args.format!r} is not offered by the "
                         f"{args.target} backend (choose from {', '.join(formats)})")
    try:
        require_rule_files(args.rules)
    except VigieError as exc:
        raise VigieError(f"rules convert: {exc}") from None
    result = convert_rules(args.rules, args.target, args.format)
    text = render(result.output)
    if args.output is not None:
        args.output.write_text(text + "\n" if text else "", encoding="utf-8")
    elif text:
        print(text)
    for failure in result.failures:
        print(f"vigie rules convert: {failure.line()}", file=sys.stderr)
    for note in result.notes:
        print(f"vigie rules convert: note: {note.line()}", file=sys.stderr)
    print(f"vigie rules convert: {result.converted} rule(s) converted to {args.target}"
          + (f", {len(result.failures)} failed" if result.failures else "")
          + (f", {len(result.notes)} do not apply to {args.target}" if result.notes else "")
          + (f", written to {args.output}" if args.output is not None else ""), file=sys.stderr)
    if result.failures:
        return 1
    return 3 if not result.converted else 0
