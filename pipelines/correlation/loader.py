"""Correlation rule files -> a CorrelationSet, resolved against every rule Vigie knows.

In: rule files and folders (the same paths as the Sigma rules; `*.tests.yml` are not rules).
Out: `load_detections(paths)` -> Detections(ruleset, correlations): the compiled base rules
(detection/loader.py) and the compiled correlation rules (model.py); or `build_correlations`
over files already parsed.

Resolution: a reference in `rules:`, in an alias or in an extended condition is a rule `name:`
or id, looked up in the given paths first, then in the shipped detections/ (rules and
correlations), then among the built-in detections (builtins.py, e.g. `impossible_travel`). A
shipped base rule that a given correlation references is compiled and added to the rule set,
so that its signals exist. Chains (a correlation over correlations) resolve to any depth;
`chain_level` is 1 over detections, n + 1 over a level-n correlation.

`generate` decides what the signals of a referenced rule are: a rule referenced only by
correlations with `generate: false` (the default) is a building block (CompiledRule and
CorrelationRule `building_block=True`, `vigie.building_block` on its signals): still stored,
indexed and counted, evidence of the correlations, but not an alert of its own. One
correlation with `generate: true` referencing it is enough to keep it an alert.

Every problem skips only the correlation it concerns, with a one-line reason naming the file
(SkippedRule): a missing id, an unknown key in `correlation:`, a reference that matches no
rule or several, a reference to a rule that does not load, a reference cycle, a group-by or
value field that the referenced signals do not carry (schemas/signals.yml; for a correlation
source, its group-by names), a non-numeric field for value_sum/avg/percentile/median, a
missing `percentile`, an alias that does not map every referenced rule, a rule listed twice
in a temporal rule, a bad `vigie:` emission block, a duplicate id.

Vigie's emission policy for one rule (model.Emission) goes inside the correlation section:
    correlation:
        ...
        vigie: {emit: reset | every, suppress: 10m | 0s}
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from sigma.correlations import (CorrelationConditionAND, CorrelationConditionNOT,
                                CorrelationConditionOR, SigmaCorrelationCondition,
                                SigmaCorrelationRule, SigmaCorrelationTimespan,
                                SigmaExtendedCorrelationCondition, SigmaRuleReference)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from pipelines.correlation.builtins import BUILTINS, BuiltinDetection
from pipelines.correlation.model import (EMIT_MODES, NUMERIC_TYPES, TEMPORAL_TYPES, TYPES,
                                         VALUE_COUNT, VALUE_TYPES, Condition, CorrelationRule,
                                         CorrelationSet, Emission, Expr, Source)
from pipelines.detection.compiler import UnsupportedRule
from pipelines.detection.engine import CompiledRule, RuleSet, SkippedRule
from pipelines.detection.loader import (ParsedFile, build_ruleset, compile_sigma_rule,
                                        parse_rule_file, rule_files)
from pipelines.detection.pipeline import vigie_pipeline
from pipelines.resources import data_dir
from pipelines.schema import signal_fields

CORRELATION_KEYS = frozenset({"type", "rules", "generate", "group-by", "timespan", "aliases",
                              "condition", "vigie"})
NUMERIC_FIELD_TYPES = frozenset({"long", "integer", "float", "double"})
RESULT_VALUE_FIELD = "vigie.correlation.value"


class CorrelationProblem(Exception):
    """Why one correlation rule cannot be loaded (one line)."""


@dataclass
class Detections:
    """Everything a run evaluates: base Sigma rules and correlation rules."""

    ruleset: RuleSet
    correlations: CorrelationSet


@dataclass
class _Candidate:
    """A rule a reference may resolve to."""

    kind: str  # sigma | correlation | builtin
    rule_id: str
    name: str | None
    title: str
    path: Path | None
    rule: Any  # SigmaRule | SigmaCorrelationRule | BuiltinDetection
    tier: int  # 0 given paths, 1 shipped, 2 built-in


@dataclass
class _Resolver:
    """The state of one resolution (see build_correlations)."""

    candidates: list[_Candidate]
    compiled: dict[str, CompiledRule]  # base rules that loaded, by id
    failed: dict[str, str]  # base rule id -> why it does not load
    pulled: dict[str, CompiledRule] = field(default_factory=dict)
    done: dict[str, CorrelationRule | CorrelationProblem] = field(default_factory=dict)
    active: list[str] = field(default_factory=list)

    def lookup(self, reference: str) -> _Candidate:
        ref = reference.strip()
        for tier in (0, 1, 2):
            found = [c for c in self.candidates if c.tier == tier
                     and (c.rule_id == ref.lower() or c.name == ref)]
            unique = {c.rule_id: c for c in found}
            if len(unique) == 1:
                return found[0]
            if len(unique) > 1:
                where = ", ".join(sorted(str(c.path) for c in found))
                raise CorrelationProblem(f"rule reference {ref!r} is ambiguous: {where}")
        raise CorrelationProblem(
            f"rule reference {ref!r} matches no rule name or id (in the given paths, the "
            f"shipped detections or the built-in detections: {', '.join(sorted(BUILTINS))})")


def _level(rule: SigmaRule | SigmaCorrelationRule) -> str | None:
    return rule.level.name.lower() if rule.level else None


def _status(rule: SigmaRule | SigmaCorrelationRule) -> str | None:
    return rule.status.name.lower() if rule.status else None


def _duration_ms(value: Any, what: str) -> int:
    """'10m', '0s' (Sigma timespan syntax, zero allowed) -> ms."""
    text = str(value)
    if text.strip() in ("0", "0s", "0m", "0h", "0d"):
        return 0
    try:
        return SigmaCorrelationTimespan(text).seconds * 1000
    except SigmaError as exc:
        raise CorrelationProblem(f"{what}: {exc.args[0] if exc.args else exc}") from exc


def emission_of(block: Any) -> Emission | None:
    """The `vigie:` block of a correlation section -> Emission (None when absent)."""
    if block is None:
        return None
    if not isinstance(block, dict) or set(block) - {"emit", "suppress"}:
        raise CorrelationProblem("`vigie:` in the correlation section takes only `emit` "
                                 f"({' or '.join(EMIT_MODES)}) and `suppress` (a timespan)")
    mode = block.get("emit", Emission().mode)
    if mode not in EMIT_MODES:
        raise CorrelationProblem(f"vigie.emit {mode!r}: expected {' or '.join(EMIT_MODES)}")
    suppress = block.get("suppress")
    return Emission(mode, None if suppress is None else _duration_ms(suppress, "vigie.suppress"))


def _expression(node: Any, positions: dict[str, int]) -> Expr:
    """pySigma's extended condition tree -> Expr over source positions."""
    if isinstance(node, SigmaRuleReference):
        return ("rule", positions[node.reference])
    if isinstance(node, CorrelationConditionNOT):
        return ("not", _expression(node.args[0], positions))
    kind = "and" if isinstance(node, CorrelationConditionAND) else "or"
    if not isinstance(node, (CorrelationConditionAND, CorrelationConditionOR)):
        raise CorrelationProblem(f"unsupported extended condition element {node!r}")
    return (kind, tuple(_expression(a, positions) for a in node.args))


def _carried(source_kind: str, lower: CorrelationRule | None, name: str, numeric: bool) -> str | None:
    """Why `name` cannot be read on the signals of a source (None when it can)."""
    fields = signal_fields()
    if source_kind == "correlation":
        allowed = set(lower.group_by) if not numeric else set()
        allowed.add(RESULT_VALUE_FIELD)
        if name in allowed:
            return None
        return (f"the results of correlation {lower.ref!r} carry only its group-by names "
                f"({', '.join(lower.group_by) or 'none'}) and {RESULT_VALUE_FIELD}")
    spec = fields.get(name)
    if spec is None:
        return "signals do not carry it (not in schemas/signals.yml)"
    if numeric and spec.type not in NUMERIC_FIELD_TYPES:
        return f"it is {spec.type}, not a number"
    return None


class _Compiler:
    """Compiles one SigmaCorrelationRule with a resolver (recursively for chains)."""

    def __init__(self, resolver: _Resolver):
        self.r = resolver

    def correlation(self, candidate: _Candidate) -> CorrelationRule:
        done = self.r.done.get(candidate.rule_id)
        if isinstance(done, CorrelationProblem):
            raise done
        if done is not None:
            return done
        if candidate.rule_id in self.r.active:
            raise CorrelationProblem("reference cycle: " + " -> ".join(
                self.r.active[self.r.active.index(candidate.rule_id):] + [candidate.rule_id]))
        self.r.active.append(candidate.rule_id)
        try:
            compiled = self._compile(candidate)
        except CorrelationProblem as exc:
            self.r.done[candidate.rule_id] = exc
            raise
        finally:
            self.r.active.pop()
        self.r.done[candidate.rule_id] = compiled
        return compiled

    def _source(self, reference: str) -> tuple[_Candidate, Source, CorrelationRule | None]:
        candidate = self.r.lookup(reference)
        lower = None
        if candidate.kind == "correlation":
            try:
                lower = self.correlation(candidate)
            except CorrelationProblem as exc:
                if str(exc).startswith("reference cycle"):
                    raise
                raise CorrelationProblem(f"references correlation {reference!r} "
                                         f"({candidate.path}), which does not load: {exc}") from exc
            source = Source(lower.id, lower.name, lower.title, "correlation", (),
                            level=lower.level or _highest(s.level for s in lower.sources),
                            tags=lower.tags)
        elif candidate.kind == "builtin":
            b: BuiltinDetection = candidate.rule
            source = Source(b.rule_id, b.name, b.title, "builtin", (), level=b.level, tags=b.tags)
        else:
            compiled = self.r.compiled.get(candidate.rule_id) or self.r.pulled.get(candidate.rule_id)
            if compiled is None and candidate.tier == 1 and candidate.rule_id not in self.r.failed:
                compiled = self._pull(candidate)
            if compiled is None:
                why = self.r.failed.get(candidate.rule_id, "it did not compile")
                raise CorrelationProblem(f"references rule {reference!r} ({candidate.path}), "
                                         f"which does not load: {why}")
            source = Source(compiled.id, compiled.name, compiled.title, "sigma", (),
                            level=compiled.level, tags=compiled.tags)
        return candidate, source, lower

    def _pull(self, candidate: _Candidate) -> CompiledRule | None:
        """Compile a shipped base rule a given correlation needs."""
        try:
            compiled = compile_sigma_rule(candidate.rule, candidate.path, vigie_pipeline())
        except (UnsupportedRule, SigmaError) as exc:
            self.r.failed[candidate.rule_id] = str(exc.args[0]) if exc.args else str(exc)
            return None
        self.r.pulled[compiled.id] = compiled
        return compiled

    def _compile(self, candidate: _Candidate) -> CorrelationRule:
        rule: SigmaCorrelationRule = candidate.rule
        raw = rule.custom_attributes.get("correlation") or {}
        unknown = sorted(set(raw) - CORRELATION_KEYS) if isinstance(raw, dict) else []
        if unknown:
            raise CorrelationProblem(f"unknown key(s) in correlation: {', '.join(unknown)} "
                                     f"(known: {', '.join(sorted(CORRELATION_KEYS))})")
        kind = rule.type.name.lower()
        if kind not in TYPES:
            raise CorrelationProblem(f"correlation type {kind!r} is not supported")
        extended = isinstance(rule.condition, SigmaExtendedCorrelationCondition)
        references = ([r.reference for r in rule.rules] if rule.rules is not None
                      else rule.condition.get_referenced_rules())
        if not references:
            raise CorrelationProblem("no rule referenced (`rules:` is empty)")
        resolved = [self._source(ref) for ref in references]
        ids = [source.rule_id for _, source, _ in resolved]
        if kind in TEMPORAL_TYPES and len(set(ids)) < len(ids):
            raise CorrelationProblem(f"a {kind} rule lists the same rule twice")
        group_by = tuple(rule.group_by or ())
        aliases = {}
        for alias in rule.aliases:
            mapping = {}
            for ref, target in alias.mapping.items():
                mapping[self.r.lookup(ref.reference).rule_id] = str(target)
            aliases[alias.alias] = mapping

        def field_on(name: str, cand: _Candidate, source: Source) -> str:
            if name in aliases:
                if source.rule_id not in aliases[name]:
                    raise CorrelationProblem(f"alias {name!r} does not say which field of rule "
                                             f"{cand.name or cand.rule_id!r} holds it")
                return aliases[name][source.rule_id]
            return name

        condition = None
        expression = None
        value_names: tuple[str, ...] = ()
        if extended:
            positions = {ref: k for k, ref in enumerate(references)}
            expression = _expression(rule.condition.parsed, positions)
        else:
            c: SigmaCorrelationCondition = rule.condition
            if c.fieldref is not None and kind not in VALUE_TYPES:
                raise CorrelationProblem(f"condition `field` is only for value_* types, not {kind}")
            if kind in VALUE_TYPES:
                value_names = (c.fieldref,) if isinstance(c.fieldref, str) else tuple(c.fieldref or ())
                if len(value_names) > 1 and kind != VALUE_COUNT:
                    raise CorrelationProblem(f"{kind} aggregates one field, not {len(value_names)}")
            percentile = None
            if kind == "value_percentile":
                if c.percentile is None or not 0 <= c.percentile <= 100:
                    raise CorrelationProblem("value_percentile needs `percentile:` between 0 and 100")
                percentile = float(c.percentile)
            condition = Condition(c.op.name.lower(), c.count, percentile)
        sources = []
        for cand, source, lower in resolved:
            fields = tuple(field_on(name, cand, source) for name in group_by)
            values = tuple(field_on(name, cand, source) for name in value_names)
            for name, target in zip(group_by, fields):
                why = _carried(source.kind, lower, target, numeric=False)
                if why:
                    raise CorrelationProblem(f"group-by field {target!r} on rule "
                                             f"{cand.name or cand.rule_id!r}: {why}")
            for target in values:
                why = _carried(source.kind, lower, target, numeric=kind in NUMERIC_TYPES)
                if why:
                    raise CorrelationProblem(f"{kind} field {target!r} on rule "
                                             f"{cand.name or cand.rule_id!r}: {why}")
            sources.append(dataclasses.replace(source, fields=fields, value_fields=values))
        chain = 1 + max((lower.chain_level for _, _, lower in resolved if lower), default=0)
        return CorrelationRule(
            id=candidate.rule_id, name=rule.name, title=rule.title, type=kind,
            timespan_ms=rule.timespan.seconds * 1000, group_by=group_by, sources=tuple(sources),
            condition=condition, expression=expression, generate=bool(rule.generate),
            level=_level(rule), status=_status(rule), author=rule.author,
            description=rule.description, references=tuple(rule.references or ()),
            tags=tuple(str(t) for t in rule.tags or ()),
            emission=emission_of(raw.get("vigie") if isinstance(raw, dict) else None),
            chain_level=chain, path=str(candidate.path))


def _highest(levels: Iterable[str | None]) -> str | None:
    from pipelines.correlation.results import highest_level
    return highest_level(levels)


def _candidates(parsed: list[ParsedFile], tier: int) -> list[_Candidate]:
    out = []
    for pf in parsed:
        for rule in pf.rules:
            if rule.id is None:
                continue
            kind = "correlation" if isinstance(rule, SigmaCorrelationRule) else "sigma"
            out.append(_Candidate(kind, str(rule.id).lower(), rule.name, rule.title, pf.path,
                                  rule, tier))
    return out


def build_correlations(parsed: list[ParsedFile], ruleset: RuleSet,
                       shipped: list[ParsedFile] | None = None,
                       emission: Emission | None = None) -> tuple[CorrelationSet, RuleSet]:
    """Resolve and compile the correlation rules of `parsed` (see the module docstring).

    `ruleset`: the base rules compiled from `parsed`; `shipped`: parsed files of the shipped
    detections not among `parsed`. Returns the CorrelationSet and the rule set with the
    shipped rules pulled in and building blocks flagged."""
    candidates = _candidates(parsed, 0) + _candidates(shipped or [], 1)
    candidates += [_Candidate("builtin", b.rule_id, b.name, b.title, Path(b.module), b, 2)
                   for b in BUILTINS.values()]
    compiled = {r.id.lower(): r for r in ruleset.rules}
    failed = {}
    for pf in parsed:
        for rule in pf.rules:
            if isinstance(rule, SigmaRule) and rule.id is not None and str(rule.id) not in compiled:
                reasons = [s.reason for s in ruleset.skipped
                           if s.path == pf.path and s.title == rule.title]
                failed[str(rule.id).lower()] = reasons[0] if reasons else "it did not compile"
    resolver = _Resolver(candidates, compiled, failed)
    compiler = _Compiler(resolver)
    loaded: list[CorrelationRule] = []
    skipped: list[SkippedRule] = []
    seen: dict[str, str] = {r.id.lower(): str(r.path) for r in ruleset.rules}
    for pf in parsed:
        for rule in pf.rules:
            if not isinstance(rule, SigmaCorrelationRule):
                continue
            if rule.id is None:
                skipped.append(SkippedRule(pf.path, "the correlation rule has no id (a UUID "
                                           "is required: result ids derive from it)", rule.title))
                continue
            rid = str(rule.id).lower()
            if rid in seen:
                skipped.append(SkippedRule(pf.path, f"duplicate rule id {rid} (also in "
                                           f"{seen[rid]})", rule.title))
                continue
            seen[rid] = str(pf.path)
            candidate = next(c for c in candidates if c.rule is rule)
            try:
                loaded.append(compiler.correlation(candidate))
            except CorrelationProblem as exc:
                skipped.append(SkippedRule(pf.path, str(exc), rule.title))
    # Shipped correlations that the given ones chain to.
    ids = {r.id for r in loaded}
    for rid, done in resolver.done.items():
        if isinstance(done, CorrelationRule) and rid not in ids:
            loaded.append(done)
            ids.add(rid)
    loaded, blocks = _flag_building_blocks(loaded)
    rules = [dataclasses.replace(r, building_block=True) if r.id in blocks else r
             for r in ruleset.rules + list(resolver.pulled.values())]
    new_ruleset = RuleSet(rules=rules, skipped=list(ruleset.skipped))
    loaded.sort(key=lambda r: (r.chain_level, r.id))
    correlations = CorrelationSet(loaded, skipped, frozenset(blocks), emission or Emission())
    return correlations, new_ruleset


def _flag_building_blocks(rules: list[CorrelationRule]) -> tuple[list[CorrelationRule], set[str]]:
    """Rule ids referenced only by correlations with generate: false; the correlations among
    them flagged."""
    referenced: set[str] = set()
    generated: set[str] = set()
    for rule in rules:
        for source in rule.sources:
            referenced.add(source.rule_id)
            if rule.generate:
                generated.add(source.rule_id)
    blocks = referenced - generated
    flagged = [dataclasses.replace(r, building_block=r.id in blocks) for r in rules]
    return flagged, blocks


def shipped_files(paths: list[Path]) -> list[Path]:
    """Rule files of the shipped detections/ that are not among `paths`' files."""
    try:
        shipped = data_dir("detections")
    except FileNotFoundError:
        return []
    given = {p.resolve() for p in rule_files(paths)}
    return [p for p in rule_files([shipped]) if p.resolve() not in given]


def load_detections(paths: list[Path], shipped: bool = True,
                    emission: Emission | None = None) -> Detections:
    """Rule files and folders -> every base rule and correlation rule (see the module doc).
    A missing path is a VigieError (detection.loader.rule_files)."""
    parsed = [parse_rule_file(p) for p in rule_files(paths)]
    ruleset = build_ruleset(parsed)
    extra = [parse_rule_file(p) for p in shipped_files(paths)] if shipped else []
    correlations, ruleset = build_correlations(parsed, ruleset, extra, emission)
    return Detections(ruleset, correlations)


def load_correlations(paths: list[Path], shipped: bool = True) -> CorrelationSet:
    """Only the correlation rules of `paths` (see load_detections)."""
    return load_detections(paths, shipped).correlations
