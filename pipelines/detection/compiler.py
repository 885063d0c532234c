"""pySigma condition trees (after the processing pipeline) -> matcher nodes (matchers.py).

In: a SigmaRule whose pipeline has been applied (fields are ECS names, keywords are bound to
event.original, placeholders are replaced) and the schema type of each field. Out: one Node,
or UnsupportedRule with the reason when some part cannot be evaluated: an unresolved
placeholder, a regular expression RE2 cannot compile, a date-part modifier on a field that is
not a date, a value type the engine does not know.

How values become leaves: a Sigma string (after contains/startswith/endswith/windash/base64/
base64offset/wide/utf16* rewrote it) becomes a `Text` leaf whose RE2 regex is the string's
literal parts escaped, `*` -> `.*`, `?` -> `.`, anchored at both ends unless a `*` opens or
closes it; `cased` strings keep their case. Expansions (windash, base64offset, ...) are ORs.
`re` -> Regex, `cidr` -> Cidr, numbers and gt/gte/lt/lte -> Compare, minute/hour/day/week/
month/year -> Compare on that part, `exists` and `null` -> Exists, `fieldref` -> FieldRef,
booleans -> Text 'true'/'false'.
"""
from __future__ import annotations

from typing import Mapping

from sigma.conditions import (
    ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT, ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators, Placeholder, SigmaBool, SigmaCasedString, SigmaCIDRExpression,
    SigmaCompareExpression, SigmaExists, SigmaExpansion, SigmaFieldReference, SigmaNull,
    SigmaNumber, SigmaRegularExpression, SigmaRegularExpressionFlag, SigmaString,
    SigmaTimestampPart, SigmaType, SpecialChars,
)

from pipelines.detection.matchers import (
    AllOf, AnyOf, Cidr, Compare, Exists, FieldRef, Node, NotOf, Regex, Text, cost, re2_error,
    re2_escape,
)


class UnsupportedRule(Exception):
    """A rule the engine cannot evaluate; the message says why (it becomes the skip reason)."""


_OPERATORS = {CompareOperators.LT: "lt", CompareOperators.LTE: "lte",
              CompareOperators.GT: "gt", CompareOperators.GTE: "gte"}
_DOTALL = "(?s)"  # every Text regex starts with it: `*` and `?` match newlines too
_FLAGS = {SigmaRegularExpressionFlag.IGNORECASE: "i", SigmaRegularExpressionFlag.MULTILINE: "m",
          SigmaRegularExpressionFlag.DOTALL: "s"}


def compile_rule(rule: SigmaRule, field_types: Mapping[str, str]) -> Node:
    """A processed rule's condition(s) -> one Node (several conditions are ORed)."""
    nodes = [compile_condition(condition.parsed, field_types)
             for condition in rule.detection.parsed_condition]
    return _combine(AnyOf, nodes)


def compile_condition(tree: object, field_types: Mapping[str, str]) -> Node:
    """A pySigma condition tree -> a Node."""
    if isinstance(tree, ConditionAND):
        return _combine(AllOf, [compile_condition(arg, field_types) for arg in tree.args])
    if isinstance(tree, ConditionOR):
        return _combine(AnyOf, [compile_condition(arg, field_types) for arg in tree.args])
    if isinstance(tree, ConditionNOT):
        return NotOf(compile_condition(tree.args[0], field_types))
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        return compile_value(tree.field, tree.value, field_types)
    if isinstance(tree, ConditionValueExpression):
        raise UnsupportedRule("a keyword search is not bound to a field "
                              "(the Vigie pipeline binds keywords to event.original)")
    raise UnsupportedRule(f"unsupported condition element {type(tree).__name__}")


def _combine(kind: type, nodes: list[Node]) -> Node:
    """AllOf/AnyOf of `nodes`, nested nodes of the same kind flattened, cheapest first; ORed
    Text leaves of one field become one Text leaf (one regex alternation)."""
    flat: list[Node] = []
    for node in nodes:
        flat.extend(node.children if isinstance(node, kind) else [node])
    if kind is AnyOf:
        flat = _merge_texts(flat)
    if len(flat) == 1:
        return flat[0]
    return kind(tuple(sorted(flat, key=cost)))


def _merge_texts(nodes: list[Node]) -> list[Node]:
    """ORed nodes with the Text leaves of each (field, cased) merged into one alternation."""
    groups: dict[tuple[str, bool], list[Text]] = {}
    for node in nodes:
        if isinstance(node, Text):
            groups.setdefault((node.field, node.cased), []).append(node)
    out: list[Node] = []
    done: set[tuple[str, bool]] = set()
    for node in nodes:
        if not isinstance(node, Text):
            out.append(node)
        elif (node.field, node.cased) not in done:
            done.add((node.field, node.cased))
            out.extend(_alternation(groups[(node.field, node.cased)]))
    return out


def _alternation(texts: list[Text]) -> list[Text]:
    """Text leaves of one field -> one Text that matches when any of them does (the leaves
    unchanged when RE2 refuses the combined regex)."""
    if len(texts) == 1:
        return texts
    regex = _DOTALL + "|".join(f"(?:{t.regex[len(_DOTALL):]})" for t in texts)
    if re2_error(regex):
        return texts
    bounded = all(t.needles for t in texts)
    needles = tuple(dict.fromkeys(n for t in texts for n in t.needles)) if bounded else ()
    return [Text(texts[0].field, regex, needles, texts[0].cased)]


def compile_value(name: str, value: SigmaType, field_types: Mapping[str, str]) -> Node:
    """One field = value pair -> a Node (see the module docstring)."""
    if isinstance(value, SigmaExpansion):
        return _combine(AnyOf, [compile_value(name, v, field_types) for v in value.values])
    if isinstance(value, SigmaString):
        return text_leaf(name, value, cased=isinstance(value, SigmaCasedString))
    if isinstance(value, SigmaRegularExpression):
        return regex_leaf(name, value)
    if isinstance(value, SigmaCIDRExpression):
        network = value.network
        return Cidr(name, network.version, int(network.network_address), network.prefixlen)
    if isinstance(value, SigmaCompareExpression):
        if value.op not in _OPERATORS:
            raise UnsupportedRule(f"comparison {value.op.name} is not supported")
        return _compare(name, _OPERATORS[value.op], value.number, field_types)
    if isinstance(value, SigmaNumber):
        return _compare(name, "eq", value, field_types)
    if isinstance(value, SigmaBool):
        return text_leaf(name, SigmaString(str(value.boolean).lower()), cased=False)
    if isinstance(value, SigmaNull):
        return Exists(name, False)
    if isinstance(value, SigmaExists):
        return Exists(name, value.exists)
    if isinstance(value, SigmaFieldReference):
        return FieldRef(name, value.field, value.starts_with, value.ends_with)
    raise UnsupportedRule(f"field {name}: value type {type(value).__name__} is not supported")


def _compare(name: str, op: str, number: SigmaNumber, field_types: Mapping[str, str]) -> Compare:
    """A Compare leaf; a date part (SigmaTimestampPart) needs a date field."""
    if isinstance(number, SigmaTimestampPart):
        part = number.timestamp_part.name.lower()
        if field_types.get(name) != "date":
            raise UnsupportedRule(f"the {part} modifier needs a date field; {name} is "
                                  f"{field_types.get(name, 'not a schema field')}")
        return Compare(name, op, number.number, part)
    return Compare(name, op, number.number)


def text_leaf(name: str, value: SigmaString, cased: bool) -> Text:
    """A Sigma string with wildcards -> a Text leaf (regex and needle)."""
    tokens: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise UnsupportedRule(f"field {name}: placeholder %{part.name}% has no value "
                                  "(add it to the vars of detections/pipelines/vigie_ecs.yml)")
        if part is SpecialChars.WILDCARD_MULTI and tokens and tokens[-1] is part:
            continue
        tokens.append(part)
    multi = SpecialChars.WILDCARD_MULTI
    opens = bool(tokens) and tokens[0] is multi
    body = tokens[1:] if opens else tokens
    closes = bool(body) and body[-1] is multi
    body = body[:-1] if closes else body
    pieces = {multi: ".*", SpecialChars.WILDCARD_SINGLE: "."}
    regex = (_DOTALL + ("" if opens else r"\A")
             + "".join(pieces[t] if isinstance(t, SpecialChars) else re2_escape(t) for t in body)
             + ("" if closes else r"\z"))
    literals = [t for t in tokens if isinstance(t, str)]
    return Text(name, regex, (max(literals, key=len),) if literals else (), cased)


def regex_leaf(name: str, value: SigmaRegularExpression) -> Regex:
    """A Sigma regular expression (with its flags) -> a Regex leaf, checked against RE2."""
    if value.regexp.contains_placeholder():
        raise UnsupportedRule(f"field {name}: the regular expression has an unresolved placeholder")
    flags = "".join(sorted(_FLAGS[f] for f in value.flags))
    pattern = (f"(?{flags})" if flags else "") + str(value.regexp)
    error = re2_error(pattern)
    if error:
        raise UnsupportedRule(f"field {name}: regular expression {str(value.regexp)!r} is not "
                              f"supported by RE2, the linear-time engine: {error}")
    return Regex(name, pattern)
