"""Sigma correlation rules, pure (no Beam): the `correlation/` room of the design.

- model.py: compiled correlation rules, conditions, emission policy, CorrelationSet;
- builtins.py: detections made in code that rules can reference by name (impossible_travel);
- loader.py: correlation rule files -> CorrelationSet, resolved by name/id against the given
  paths, the shipped detections and the built-ins (`load_detections`);
- routing.py: signal rows -> the (rule, group) windows they enter (group-by, aliases, fan-out);
- window.py: the sliding window of one (rule, group): every type, conditions, emission;
- results.py: correlation results as signal rows, deterministic ids;
- engine.py: `CorrelationEngine.advance(signals, watermark)`: all rules and chain levels;
- rule_tests.py: correlation test files (`correlation_x.tests.yml`) for `vigie rules test`
  and their validation for `vigie rules check`.

The Beam shell is pipelines/transforms/correlate.py (CorrelateSignals).
"""
