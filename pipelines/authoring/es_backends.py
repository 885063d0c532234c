"""Vigie's dialects of pySigma's Elasticsearch backends: Sigma semantics on `query_string` / ES|QL.

In: Sigma rules (after Vigie's processing pipeline) and the ES type of every event field (from
schemas/). Out: `query_string` queries whose hits are the events Sigma (and Vigie's in-stream
engine) says match. pySigma-backend-elasticsearch's LuceneBackend writes values as Lucene
terms and wildcards and `re` values as Lucene regular expressions verbatim; on Elasticsearch
that departs from Sigma in three ways, which this subclass corrects:

1. Case. Sigma strings are case-insensitive; `keyword` and `wildcard` fields match terms and
   wildcards case-sensitively and `query_string` has no case-insensitive switch. A string value
   with cased letters on such a field becomes a Lucene regular expression with both cases of each
   letter (`/.*[uU][nN][iI][oO][nN].*/`); `*` and `?` become `.*` and `.`. Values without letters,
   and every other field type (ip, numbers, dates, analysed text), keep the backend's conversion.
2. Anchoring. Sigma `re` is an unanchored search; a Lucene regular expression must match the
   whole value. The pattern is wrapped in `.*( ... ).*`, and leading `^`, trailing `$`, a leading
   `(?:^|...)` / trailing `(?:...|$)` alternative and a final `\\b` are rewritten exactly.
3. Dialect. Lucene's syntax is not PCRE's: `(?:` groups, lazy quantifiers, `\\d \\s \\w`, `(?i)` and
   the `i` flag are translated (letters become `[aA]`), and characters that are operators only in
   Lucene (`@ & ~ < > # "`) are escaped. What Lucene cannot express at all (lookaround,
   back-references, a word boundary or anchor inside the pattern, multi-line anchors) makes the
   conversion fail with the reason, so the rule is reported as not convertible instead of
   silently matching something else.

Both dialects also refuse to turn a list of date parts (`@timestamp|hour: [23, 0]`) into an
in-list: the backends would write `@timestamp:(23 OR 0)` / `@timestamp in (23, 0)`, which
compares the whole timestamp with the numbers. Lucene cannot extract a date part, so such a rule
is not convertible; ES|QL gets `date_extract("HOUR_OF_DAY", @timestamp) == 23`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sigma.backends.elasticsearch import ESQLBackend, LuceneBackend
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (SigmaRegularExpression, SigmaRegularExpressionFlag, SigmaString, SigmaTimestampPart,
                         SpecialChars, TimestampPart)

# Field types whose values are whole terms matched case-sensitively by query_string.
FOLDED_TYPES = frozenset({"keyword", "wildcard"})
_WORD = "A-Za-z0-9_"
_CLASS_ESCAPES = {"d": "0-9", "w": _WORD, "s": " \t\n\r\f\v"}


def _case_variants(char: str) -> list[str]:
    """The character and its single-character other cases, in a stable order."""
    out = [char]
    for other in (char.lower(), char.upper(), char.swapcase()):
        if len(other) == 1 and other not in out:
            out.append(other)
    return out


def _literal(char: str, ignore_case: bool) -> str:
    """One literal character as Lucene regular-expression text."""
    variants = _case_variants(char) if ignore_case else [char]
    if len(variants) > 1:
        return "[" + "".join(variants) + "]"
    return char if char.isalnum() else "\\" + char


def string_regex(value: SigmaString) -> str:
    """A Sigma string (with `*` / `?` wildcards) as a case-insensitive Lucene regular expression
    matching the whole value."""
    out = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        elif isinstance(part, str):
            out.extend(_literal(c, True) for c in part)
        else:
            raise SigmaFeatureNotSupportedByBackendError(f"unresolved placeholder {part!r} in {value}")
    return "".join(out)


def has_cased_letter(value: SigmaString) -> bool:
    """True when case matters for the value (some letter has another case)."""
    return any(isinstance(part, str) and any(len(_case_variants(c)) > 1 for c in part) for part in value.s)


# ---------------------------------------------------------------------------------------------
# PCRE (the subset Sigma rules use) -> Lucene RegExp
# ---------------------------------------------------------------------------------------------

class Unsupported(SigmaFeatureNotSupportedByBackendError):
    """A regular-expression construct Lucene cannot express."""


@dataclass
class _Anchor:
    kind: str  # "^", "$" or "\\b"


@dataclass
class _Atom:
    text: str  # rendered Lucene text of one atom (literal, class, dot)
    word_end: bool = False  # the atom is a literal word character


@dataclass
class _Group:
    branches: list  # list of sequences (lists of items)


@dataclass
class _Quant:
    item: Any
    suffix: str  # *, +, ?, {m}, {m,}, {m,n}


class _RegexParser:
    """Recursive-descent parser of a PCRE pattern into items, rendering atoms as it goes."""

    def __init__(self, pattern: str, ignore_case: bool, dotall: bool) -> None:
        self.p, self.i, self.ic, self.dotall = pattern, 0, ignore_case, dotall

    def parse(self) -> list[list]:
        branches = self._alternation()
        if self.i != len(self.p):
            raise Unsupported(f"unbalanced ')' at position {self.i}")
        return branches

    def _peek(self, n: int = 1) -> str:
        return self.p[self.i:self.i + n]

    def _alternation(self) -> list[list]:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.i += 1
            branches.append(self._sequence())
        return branches

    def _sequence(self) -> list:
        items: list = []
        while self.i < len(self.p) and self._peek() not in "|)":
            item = self._atom()
            quant = self._quantifier()
            if quant:
                if isinstance(item, _Anchor):
                    raise Unsupported("a quantified anchor")
                item = _Quant(item, quant)
            items.append(item)
        return items

    def _quantifier(self) -> str:
        c = self._peek()
        if c in ("*", "+", "?"):
            self.i += 1
            quant = c
        elif c == "{" and self._bounded():
            end = self.p.index("}", self.i)
            quant, self.i = self.p[self.i:end + 1], end + 1
        else:
            return ""
        if self._peek() == "?":  # lazy: the same set of matches for a whole-value automaton
            self.i += 1
        elif self._peek() == "+":
            raise Unsupported("possessive quantifiers")
        return quant

    def _bounded(self) -> bool:
        end = self.p.find("}", self.i)
        body = self.p[self.i + 1:end] if end > 0 else ""
        return bool(body) and all(part.isdigit() for part in body.split(",", 1) if part) and body[0].isdigit()

    def _atom(self) -> Any:
        c = self._peek()
        if c == "(":
            return self._group()
        if c == "[":
            return _Atom(self._class())
        if c == ".":
            self.i += 1
            return _Atom(".") if self.dotall else _Atom("[^\n]")
        if c in ("^", "$"):
            self.i += 1
            return _Anchor(c)
        if c == "\\":
            return self._escape()
        if c in "*+?{" and not (c == "{" and not self._bounded()):
            raise Unsupported(f"a quantifier with nothing to repeat at position {self.i}")
        self.i += 1
        return _Atom(_literal(c, self.ic), word_end=c.isalnum() or c == "_")

    def _group(self) -> Any:
        self.i += 1
        if self._peek(2) == "?:":
            self.i += 2
        elif self._peek() == "?":
            raise Unsupported(f"group syntax {self.p[self.i - 1:self.i + 3]!r} (lookaround or flags)")
        branches = self._alternation()
        if self._peek() != ")":
            raise Unsupported("an unclosed group")
        self.i += 1
        return _Group(branches)

    def _escape(self) -> Any:
        nxt = self.p[self.i + 1:self.i + 2]
        self.i += 2
        if not nxt:
            raise Unsupported("a trailing backslash")
        if nxt == "b":
            return _Anchor("\\b")
        if nxt.lower() in _CLASS_ESCAPES:
            members = _CLASS_ESCAPES[nxt.lower()]
            return _Atom(("[^" if nxt.isupper() else "[") + _class_text(members) + "]")
        if nxt.isdigit() or nxt in "ABZzGkKpPQEx":
            raise Unsupported(f"the escape \\{nxt}")
        controls = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v"}
        char = controls.get(nxt, nxt)
        if char.isalnum():
            raise Unsupported(f"the escape \\{nxt}")
        return _Atom(_literal(char, self.ic))

    def _class(self) -> str:
        """A character class `[...]` as Lucene class text (case variants added with `i`)."""
        self.i += 1
        negated = self._peek() == "^"
        self.i += negated
        members: list[str] = []  # raw chars and "a-z" ranges
        first = True
        while self.i < len(self.p) and (self._peek() != "]" or first):
            first = False
            c = self._peek()
            if c == "\\":
                nxt = self.p[self.i + 1:self.i + 2]
                self.i += 2
                if nxt.lower() in _CLASS_ESCAPES and nxt.islower():
                    members.append(_CLASS_ESCAPES[nxt])
                    continue
                if nxt.isalnum() and nxt not in "tnrfv":
                    raise Unsupported(f"the escape \\{nxt} in a character class")
                c = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v"}.get(nxt, nxt)
            else:
                self.i += 1
            if self._peek() == "-" and self.p[self.i + 1:self.i + 2] not in ("]", ""):
                end = self.p[self.i + 1]
                self.i += 2
                if end == "\\":
                    end = self.p[self.i]
                    self.i += 1
                members.append(c + "-" + end)
            else:
                members.append(c)
        if self._peek() != "]":
            raise Unsupported("an unclosed character class")
        self.i += 1
        if self.ic:
            members += [other for m in list(members) for other in _member_cases(m)]
        return ("[^" if negated else "[") + _class_text("".join(members)) + "]"


def _member_cases(member: str) -> Iterable[str]:
    """Other-case counterparts of a class member: a char or an `a-z` range of one case."""
    if len(member) == 3 and member[1] == "-":
        lo, hi = member[0], member[2]
        for conv in (str.upper, str.lower):
            if lo.isalpha() and hi.isalpha() and conv(lo) != lo and len(conv(lo)) == len(conv(hi)) == 1:
                yield conv(lo) + "-" + conv(hi)
    elif len(member) == 1:
        yield from _case_variants(member)[1:]
    else:  # the expansion of \d, \w, \s: a set of chars and ranges already complete
        return


def _class_text(members: str) -> str:
    """Class members as Lucene text: ranges kept, other non-alphanumerics escaped."""
    out, i = [], 0
    while i < len(members):
        c = members[i]
        if i + 2 < len(members) and members[i + 1] == "-":
            out.append(_class_char(c) + "-" + _class_char(members[i + 2]))
            i += 3
        else:
            out.append(_class_char(c))
            i += 1
    return "".join(out)


def _class_char(c: str) -> str:
    return c if c.isalnum() or c in " \t\n\r\f\v" else "\\" + c


def _render(items: list) -> str:
    out = []
    for item in items:
        if isinstance(item, _Anchor):
            raise Unsupported(f"the anchor {item.kind} inside the pattern (Lucene has no anchors "
                              "or word boundaries)")
        if isinstance(item, _Atom):
            out.append(item.text)
        elif isinstance(item, _Group):
            out.append("(" + "|".join(_render(b) for b in item.branches) + ")")
        else:
            out.append(_render([item.item]) + item.suffix)
    return "".join(out)


def _alternative_with(item: Any, kind: str) -> list[list] | None:
    """The other branches of a group that has a branch made of just the anchor `kind`."""
    if isinstance(item, _Group) and any(len(b) == 1 and isinstance(b[0], _Anchor) and b[0].kind == kind
                                        for b in item.branches):
        return [b for b in item.branches if not (len(b) == 1 and isinstance(b[0], _Anchor))]
    return None


def _unanchored(seq: list) -> str:
    """One top-level branch as a whole-value Lucene regex equivalent to an unanchored search."""
    seq = list(seq)
    prefix, suffix = ".*", ".*"
    if seq and isinstance(seq[0], _Anchor) and seq[0].kind == "^":
        prefix, seq = "", seq[1:]
    elif seq and (others := _alternative_with(seq[0], "^")) is not None:
        prefix = "(.*(" + "|".join(_render(b) for b in others) + "))?" if others else ""
        seq = seq[1:]
    if seq and isinstance(seq[-1], _Anchor) and seq[-1].kind == "$":
        suffix, seq = "", seq[:-1]
    elif seq and (others := _alternative_with(seq[-1], "$")) is not None:
        suffix = "((" + "|".join(_render(b) for b in others) + ").*)?" if others else ""
        seq = seq[:-1]
    elif (len(seq) >= 2 and isinstance(seq[-1], _Anchor) and seq[-1].kind == "\\b"
          and isinstance(seq[-2], _Atom) and seq[-2].word_end):
        suffix, seq = f"([^{_WORD}].*)?", seq[:-1]
    return prefix + _render(seq) + suffix


def lucene_regex(pattern: str, flags: Iterable[SigmaRegularExpressionFlag] = ()) -> str:
    """A Sigma `re` value (an unanchored PCRE-style search) as a Lucene regular expression over
    the whole value; raises Unsupported with the reason when Lucene cannot express it."""
    flags = set(flags)
    if pattern.startswith("(?i)"):
        flags.add(SigmaRegularExpressionFlag.IGNORECASE)
        pattern = pattern[4:]
    if SigmaRegularExpressionFlag.MULTILINE in flags and any(a in pattern for a in "^$"):
        raise Unsupported("multi-line anchors")
    branches = _RegexParser(pattern, SigmaRegularExpressionFlag.IGNORECASE in flags,
                            SigmaRegularExpressionFlag.DOTALL in flags).parse()
    rendered = [_unanchored(b) for b in branches]
    return rendered[0] if len(rendered) == 1 else "(" + ")|(".join(rendered) + ")"


# ---------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------

class VigieLuceneBackend(LuceneBackend):
    """LuceneBackend with Sigma's case-insensitive strings and unanchored `re` on Elasticsearch.

    field_types: ES type of every field (ECS name -> keyword, wildcard, ip, long, ...); string
    values on keyword / wildcard fields are matched case-insensitively."""

    name = "Elasticsearch Lucene (Vigie: case-insensitive, unanchored re)"

    def __init__(self, processing_pipeline=None, collect_errors: bool = False,
                 field_types: Mapping[str, str] | None = None, **kwargs) -> None:
        super().__init__(processing_pipeline, collect_errors, **kwargs)
        self.field_types = dict(field_types or {})

    def folds(self, field: str) -> bool:
        """True when string values on `field` must be made case-insensitive."""
        return self.field_types.get(field) in FOLDED_TYPES

    def decide_convert_condition_as_in_expression(self, cond: ConditionOR | ConditionAND,
                                                  state: ConversionState) -> bool:
        if _has_timestamp_part(cond):
            return False
        if any(isinstance(arg, ConditionFieldEqualsValueExpression) and self.folds(arg.field)
               and isinstance(arg.value, SigmaString) and has_cased_letter(arg.value)
               for arg in cond.args):
            return False  # each value becomes its own regular expression
        return super().decide_convert_condition_as_in_expression(cond, state)

    def convert_condition_field_eq_val_str(self, cond: ConditionFieldEqualsValueExpression,
                                           state: ConversionState) -> Any:
        if self.folds(cond.field) and has_cased_letter(cond.value):
            return f"{self.escape_and_quote_field(cond.field)}:/{_slashes(string_regex(cond.value))}/"
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_re(self, cond: ConditionFieldEqualsValueExpression,
                                          state: ConversionState) -> Any:
        value: SigmaRegularExpression = cond.value
        regex = lucene_regex(str(value.regexp), value.flags)
        return f"{self.escape_and_quote_field(cond.field)}:/{_slashes(regex)}/"


def _slashes(regex: str) -> str:
    """Escape `/` for query_string's /.../ delimiters (already-escaped ones stay as they are)."""
    out, i = [], 0
    while i < len(regex):
        if regex[i] == "\\" and i + 1 < len(regex):
            out.append(regex[i:i + 2])
            i += 2
            continue
        out.append("\\/" if regex[i] == "/" else regex[i])
        i += 1
    return "".join(out)


def _has_timestamp_part(cond: ConditionOR | ConditionAND) -> bool:
    """True when some value of the condition is a date part (|minute, |hour, ...)."""
    return any(isinstance(getattr(arg, "value", None), SigmaTimestampPart) for arg in cond.args)


class VigieESQLBackend(ESQLBackend):
    """ESQLBackend with date parts (|minute ... |year) extracted from the timestamp."""

    name = "ES|QL (Vigie: date parts)"
    field_timestamp_part_expression = 'date_extract("{timestamp_part}", {field})'
    timestamp_part_mapping = {
        TimestampPart.MINUTE: "MINUTE_OF_HOUR", TimestampPart.HOUR: "HOUR_OF_DAY",
        TimestampPart.DAY: "DAY_OF_MONTH", TimestampPart.WEEK: "ALIGNED_WEEK_OF_YEAR",
        TimestampPart.MONTH: "MONTH_OF_YEAR", TimestampPart.YEAR: "YEAR",
    }

    def decide_convert_condition_as_in_expression(self, cond: ConditionOR | ConditionAND,
                                                  state: ConversionState) -> bool:
        return not _has_timestamp_part(cond) and super().decide_convert_condition_as_in_expression(cond, state)
