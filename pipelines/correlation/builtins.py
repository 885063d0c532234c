"""Built-in detections: signals Vigie makes in code rather than from a Sigma rule file, by a
stable name that correlation rules can reference like a Sigma rule's `name:`.

In: nothing. Out: `BUILTINS` (name -> BuiltinDetection: rule id, title, level, tags, and the
signal fields it fills, all of them usable to group by) consulted by the correlation loader.
The rule id is the `rule.id` of the signals the detection writes: it must not change.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinDetection:
    """A detection implemented in code, as a correlation rule sees it."""

    name: str
    rule_id: str
    title: str
    level: str
    tags: tuple[str, ...]
    module: str  # where the detection lives (for messages)


BUILTINS: dict[str, BuiltinDetection] = {
    "impossible_travel": BuiltinDetection(
        name="impossible_travel",
        rule_id="5f0c1a52-7d4e-4b8a-9a61-3c2e8f7d9b10",
        title="Impossible Travel Between Two VPN Logins of One Account",
        level="high",
        tags=("attack.initial-access", "attack.t1078", "attack.t1133"),
        module="pipelines.correlation.travel",
    ),
}


def builtin_by_reference(reference: str) -> BuiltinDetection | None:
    """The built-in detection named `reference` or whose rule id it is."""
    found = BUILTINS.get(reference)
    if found:
        return found
    return next((b for b in BUILTINS.values() if b.rule_id == reference.lower()), None)
