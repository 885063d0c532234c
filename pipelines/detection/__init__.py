"""Sigma detection: rules -> compiled, picklable, vectorised matchers; signals.

- pipeline.py: the pySigma processing pipeline (detections/pipelines/vigie_ecs.yml) and routing
  of a rule's log source to datasets;
- loader.py: rule files -> RuleSet (compiled rules + skipped rules with their reasons);
- compiler.py / matchers.py: pySigma condition trees -> nodes evaluated on whole Arrow batches;
- engine.py: `detect(ruleset, events)` -> signals, `match_rule(rule, events)` -> row indices;
- signals.py: the signal rows (schemas/signals.yml);
- rule_tests.py, commands.py: `vigie rules check|test|new` (convert, backtest: convert.py,
  backtest.py).

Only engine.py, matchers.py and signals.py are needed to evaluate a loaded RuleSet (they do not
import pySigma), so Beam workers unpickle a RuleSet cheaply.
"""
from pipelines.detection.engine import CompiledRule, RuleSet, SkippedRule, detect, match_rule

__all__ = ["CompiledRule", "RuleSet", "SkippedRule", "detect", "match_rule"]
