"""Web detection recall and false-positive rate, per corpus.

Corpora (tests/data/web_attacks/, see its README): `scanners` (Nikto, sqlmap, Nuclei, ZAP,
Acunetix and wfuzz traffic written by the project, labelled per line), `crs` (the request lines of
the OWASP Core Rule Set's regression tests whose payload is in the URL, User-Agent or Referer,
labelled with the CRS rule's paranoia level), `benign` (ordinary and tricky-but-benign site
traffic), and, when ../shared is present, the real Apache log of ../shared/data/logs (benign).

Each corpus is parsed with the apache_combined parser and evaluated with the shipped rules
(detections/rules, or --rules PATH). Printed per corpus: lines, events, lines with a payload,
recall (share of payload lines with at least one signal) with every rule and without the rules
that only look at the User-Agent's tool name (a scanner that changes its user agent), and for
benign corpora the share of lines with a signal. Per family recall and the missed lines with -v.

Usage: python bench/web_detection_recall.py [-v] [--rules PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.detection.engine import RuleSet, rule_hits  # noqa: E402
from pipelines.detection.loader import load_rules  # noqa: E402
from pipelines.parsing.base import LineBatch, ParseContext  # noqa: E402
from pipelines.parsing.web import parse_apache_combined  # noqa: E402
from pipelines.resources import data_dir  # noqa: E402

CORPORA = REPO / "tests" / "data" / "web_attacks"
REAL_APACHE = REPO.parent / "shared" / "data" / "logs" / "apache-elastic-examples" / "apache_logs"
# Rules that recognise a tool by the name in its User-Agent, not by what it sends.
TOOL_NAME_RULES = frozenset({"9efebfc2-9843-46c7-bf83-ef173e3abbed",   # attack tool user agent
                             "a6e1e718-2135-4020-b494-87a69321fb68"})  # internet scanner UA


@dataclass
class Outcome:
    """What the rules made of one corpus."""

    name: str
    lines: list[str]
    labels: list[dict]
    events: int
    rules_per_line: list[set[str]]  # rule ids that fired, per line

    def hit(self, k: int, payload_rules_only: bool = False) -> bool:
        rules = self.rules_per_line[k]
        return bool(rules - TOOL_NAME_RULES) if payload_rules_only else bool(rules)


def read_corpus(folder: Path) -> tuple[list[str], list[dict]]:
    """access.log lines and their labels (labels.jsonl when present, else all benign)."""
    lines = (folder / "access.log").read_text(encoding="utf-8").splitlines()
    label_file = folder / "labels.jsonl"
    if label_file.is_file():
        labels = [json.loads(x) for x in label_file.read_text(encoding="utf-8").splitlines()]
    else:
        labels = [{"payload": False, "family": "benign"} for _ in lines]
    if len(labels) != len(lines):
        raise SystemExit(f"{folder}: {len(lines)} lines but {len(labels)} labels")
    return lines, labels


def evaluate(name: str, lines: list[str], labels: list[dict], ruleset: RuleSet) -> Outcome:
    """Parse `lines` as Apache combined and run the rules; which rules fired on which line."""
    batch = LineBatch(f"<{name}>", "0" * 16, pa.array(lines, pa.string()),
                      np.arange(len(lines), dtype=np.int64))
    events = parse_apache_combined(batch, ParseContext()).events
    line_of = np.asarray(events.column("log.offset"), dtype=np.int64)
    fired: list[set[str]] = [set() for _ in lines]
    for rule, rows in rule_hits(ruleset.rules, events):
        for row in rows:
            fired[int(line_of[row])].add(rule.id)
    return Outcome(name, lines, labels, events.num_rows, fired)


def report(outcome: Outcome, titles: dict[str, str], verbose: bool) -> dict:
    """Print one corpus's figures; return them."""
    n = len(outcome.lines)
    payload = [k for k, label in enumerate(outcome.labels) if label.get("payload")]
    benign = [k for k, label in enumerate(outcome.labels) if not label.get("payload")]
    figures = {"lines": n, "events": outcome.events}
    print(f"\n{outcome.name}: {n:,} lines, {outcome.events:,} events")
    if payload:
        for only in (False, True):
            found = sum(outcome.hit(k, only) for k in payload)
            key = "recall_payload_rules" if only else "recall"
            figures[key] = found / len(payload)
            what = "without the tool-name user-agent rules" if only else "all rules"
            print(f"  recall ({what}): {found}/{len(payload)} = {100 * found / len(payload):.1f} %")
        families: dict[str, list[int]] = defaultdict(list)
        for k in payload:
            families[outcome.labels[k].get("family", "?")].append(k)
        print("  per family (payload rules only): " + ", ".join(
            f"{fam} {sum(outcome.hit(k, True) for k in ks)}/{len(ks)}"
            for fam, ks in sorted(families.items())))
        levels: dict[int, list[int]] = defaultdict(list)
        for k in payload:
            if outcome.labels[k].get("paranoia"):
                levels[outcome.labels[k]["paranoia"]].append(k)
        if levels:
            figures["recall_per_paranoia_level"] = {
                level: sum(outcome.hit(k, True) for k in ks) / len(ks) for level, ks in sorted(levels.items())}
            print("  per CRS paranoia level (payload rules only): " + ", ".join(
                f"PL{level} {sum(outcome.hit(k, True) for k in ks)}/{len(ks)} "
                f"= {100 * sum(outcome.hit(k, True) for k in ks) / len(ks):.1f} %"
                for level, ks in sorted(levels.items())))
        missed = [k for k in payload if not outcome.hit(k, True)]
        if verbose and missed:
            print("  missed:")
            for k in missed:
                print(f"    [{outcome.labels[k].get('family')}] {outcome.lines[k]}")
    if benign and not payload:
        flagged = [k for k in benign if outcome.hit(k)]
        figures["flagged"] = len(flagged)
        figures["false_positive_rate"] = len(flagged) / len(benign)
        print(f"  benign lines with a signal: {len(flagged)}/{len(benign)} = "
              f"{100 * len(flagged) / len(benign):.3f} %")
        by_rule = Counter(r for k in flagged for r in outcome.rules_per_line[k])
        for rule_id, count in by_rule.most_common():
            print(f"    {count:5d}  {titles.get(rule_id, rule_id)}")
        if verbose:
            for k in flagged:
                print(f"    {outcome.lines[k]}")
    elif benign:
        flagged = sum(outcome.hit(k) for k in benign)
        print(f"  scanner lines without a payload that raise a signal anyway: {flagged}/{len(benign)}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list missed and flagged lines")
    parser.add_argument("--rules", default=str(data_dir("detections") / "rules"))
    args = parser.parse_args(argv)
    ruleset = load_rules([Path(args.rules)])
    titles = {rule.id: rule.title for rule in ruleset.rules}
    print(f"web detection recall: {len(ruleset.rules)} rules from {args.rules}")
    corpora = [(folder.name, *read_corpus(folder))
               for folder in sorted(p for p in CORPORA.iterdir() if (p / "access.log").is_file())]
    if REAL_APACHE.is_file():
        lines = REAL_APACHE.read_text(encoding="utf-8").splitlines()
        corpora.append(("real apache log (../shared, benign)", lines,
                        [{"payload": False} for _ in lines]))
    else:
        print(f"(real Apache log not found at {REAL_APACHE}: skipped)")
    for name, lines, labels in corpora:
        report(evaluate(name, lines, labels, ruleset), titles, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
