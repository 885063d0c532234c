"""Rule files -> a RuleSet of compiled rules, and the rules skipped with their reasons.

In: files and folders of Sigma rules (`*.yml`/`*.yaml`; a folder is searched recursively;
`*.tests.yml` rule tests and the pipeline YAMLs under a `pipelines/` folder are not rules).
Out: RuleSet(rules=[CompiledRule], skipped=[SkippedRule(path, reason)]).

Every problem skips only the rule it concerns, with a reason naming the file: invalid YAML,
pySigma errors (unknown modifier, bad condition, invalid value, a Python-invalid regex), a
pipeline failure (unmapped taxonomy field, missing placeholder value), a log source that routes
to no dataset, a field that is not in the schema of the routed family, a regex RE2 cannot
compile, a duplicate rule id, a missing id. Correlation rules are not base rules: they are
left out of the RuleSet here and loaded by pipelines/correlation/loader.py (load_detections).
Each rule is deep-copied before the pipeline mutates it, and its conditions are parsed once.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Union

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from pipelines.detection.compiler import UnsupportedRule, compile_rule
from pipelines.detection.engine import CompiledRule, RuleSet, SkippedRule
from pipelines.detection.matchers import fields_of
from pipelines.detection.pipeline import routes, vigie_pipeline
from pipelines.errors import VigieError
from pipelines.schema import schemas

__all__ = ["CompiledRule", "RuleSet", "SkippedRule", "ParsedFile", "load_rules", "rule_files",
           "parse_rule_file", "build_ruleset", "compile_sigma_rule"]

RULE_SUFFIXES = (".yml", ".yaml")
TESTS_SUFFIXES = (".tests.yml", ".tests.yaml")
PIPELINES_FOLDER = "pipelines"

AnyRule = Union[SigmaRule, SigmaCorrelationRule]


@dataclass(frozen=True)
class ParsedFile:
    """One rule file read by pySigma: its rules, and what could not be read."""

    path: Path
    rules: list[AnyRule] = field(default_factory=list)
    problems: list[SkippedRule] = field(default_factory=list)


def is_rule_file(path: Path) -> bool:
    """A YAML file that is not a rule test file."""
    name = path.name
    return name.endswith(RULE_SUFFIXES) and not name.endswith(TESTS_SUFFIXES)


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """Files and folders -> the rule files (folders searched recursively, sorted; their
    `pipelines/` subfolders skipped). A missing path is a VigieError."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(
                p for p in path.rglob("*")
                if p.is_file() and is_rule_file(p)
                and PIPELINES_FOLDER not in p.relative_to(path).parts[:-1]))
        elif path.is_file():
            if not is_rule_file(path):
                raise VigieError(f"{path}: not a Sigma rule file (expected *.yml, not *.tests.yml)")
            found.append(path)
        else:
            raise VigieError(f"no such file or folder: {path}")
    return list(dict.fromkeys(found))


def _message(exc: BaseException) -> str:
    """An exception's message without pySigma's ' in <file>' suffix."""
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error -> 'invalid YAML: <problem> (line L, column C)'."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return f"invalid YAML: {problem}{where}"


def parse_rule_file(path: Path) -> ParsedFile:
    """Read one rule file with pySigma (collecting errors, never raising)."""
    try:
        text = path.read_text(encoding="utf-8")
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except OSError as exc:
        return ParsedFile(path, problems=[SkippedRule(path, f"cannot read: {exc.strerror or exc}")])
    except UnicodeDecodeError:
        return ParsedFile(path, problems=[SkippedRule(path, "not UTF-8 text")])
    except yaml.YAMLError as exc:
        return ParsedFile(path, problems=[SkippedRule(path, _yaml_problem(exc))])
    if not documents:
        return ParsedFile(path, problems=[SkippedRule(path, "empty file: no Sigma rule in it")])
    problems = [SkippedRule(path, f"YAML document {k} is not a Sigma rule (not a mapping)")
                for k, d in enumerate(documents, 1) if not isinstance(d, dict)]
    problems += [SkippedRule(path, "Sigma filters are not supported", d.get("title"))
                 for d in documents if isinstance(d, dict) and "filter" in d]
    documents = [d for d in documents if isinstance(d, dict) and "filter" not in d]
    try:
        collection = SigmaCollection.from_dicts(documents, collect_errors=True,
                                                source=SigmaRuleLocation(path),
                                                resolve_references=False)
    except SigmaError as exc:
        return ParsedFile(path, problems=problems + [SkippedRule(path, _message(exc))])
    rules: list[AnyRule] = []
    for rule in collection.rules:
        if rule.errors:
            reason = "; ".join(dict.fromkeys(_message(e) for e in rule.errors))
            problems.append(SkippedRule(path, reason, rule.title))
        else:
            rules.append(rule)
    problems += [SkippedRule(path, _message(e)) for e in collection.errors
                 if not any(e in r.errors for r in collection.rules)]
    return ParsedFile(path, rules, problems)


def _field_types() -> dict[str, str]:
    return {name: f.type for name, f in schemas().fields.items()}


def compile_sigma_rule(rule: SigmaRule, path: Path, pipeline: ProcessingPipeline) -> CompiledRule:
    """A parsed rule -> CompiledRule; UnsupportedRule or SigmaError says why it cannot be."""
    if rule.id is None:
        raise UnsupportedRule("the rule has no id (a UUID is required: signal ids derive from it)")
    processed = copy.deepcopy(rule)
    pipeline.apply(processed)
    datasets = routes(processed)
    if not datasets:
        source = ", ".join(f"{k}: {v}" for k, v in rule.logsource.to_dict().items()
                           if k in ("category", "product", "service"))
        raise UnsupportedRule(f"log source ({source or 'empty'}) routes to no Vigie dataset "
                              "(see the vigie_route_* items of detections/pipelines/vigie_ecs.yml)")
    condition = compile_rule(processed, _field_types())
    s = schemas()
    for family in sorted({entry.split(".")[0] for entry in datasets}):
        known = set(s.family_fields(family))
        for name in fields_of(condition):
            if name not in known:
                raise UnsupportedRule(
                    f"field {name!r} is not in the {family} schema (schemas/datasets.yml); "
                    "use an ECS field or map it in detections/pipelines/vigie_ecs.yml")
    return CompiledRule(
        id=str(rule.id), title=rule.title,
        level=rule.level.name.lower() if rule.level else None,
        status=rule.status.name.lower() if rule.status else None,
        author=rule.author, description=rule.description,
        references=tuple(rule.references or ()), tags=tuple(str(t) for t in rule.tags or ()),
        datasets=datasets, condition=condition, path=str(path), name=rule.name)


def build_ruleset(files: list[ParsedFile]) -> RuleSet:
    """Parsed rule files -> the RuleSet (compiles every rule; duplicates ids are skipped)."""
    pipeline = vigie_pipeline()
    ruleset = RuleSet()
    seen: dict[str, Path] = {}
    for parsed in files:
        ruleset.skipped.extend(parsed.problems)
        for rule in parsed.rules:
            if isinstance(rule, SigmaCorrelationRule):
                continue  # loaded by pipelines/correlation/loader.py
            try:
                compiled = compile_sigma_rule(rule, parsed.path, pipeline)
            except (UnsupportedRule, SigmaError) as exc:
                ruleset.skipped.append(SkippedRule(parsed.path, _message(exc), rule.title))
                continue
            if compiled.id in seen:
                ruleset.skipped.append(SkippedRule(
                    parsed.path, f"duplicate rule id {compiled.id} (also in {seen[compiled.id]})",
                    rule.title))
                continue
            seen[compiled.id] = parsed.path
            ruleset.rules.append(compiled)
    return ruleset


def load_rules(paths: list[Path]) -> RuleSet:
    """Rule files and folders -> RuleSet (see the module docstring)."""
    return build_ruleset([parse_rule_file(p) for p in rule_files(paths)])
