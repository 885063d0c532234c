"""Which (rule, group) windows must be judged together: shards for a keyed, parallel runtime.

In: the correlation rules (model.py, as ordered in the CorrelationSet). Out: `Sharding.shard(k,
key)` -> the shard key (component id, values) of the window of rule k and group `key`.

A chain (rules over results of other rules) must be judged in one place, level after level at
each event time, so that a result at time t is in the upper window before that window judges t
whatever the runner's watermark mechanics. Rules linked by chaining form a component. In a
component that is a tree with one top rule, every group key projects onto the top rule's group
key (the loader makes an upper rule group by names of the lower rule's group-by), so the shard
is (component, projected key): the windows of one top group (one account, say) live together
and different top groups spread over workers. A component in which some rule feeds two upper
rules, or with several top rules, is one shard. A rule outside any chain is its own component
and each of its groups is a shard.
"""
from __future__ import annotations

from pipelines.correlation.model import CorrelationRule


class Sharding:
    """Shard keys of the (rule, group) windows of a rule list."""

    def __init__(self, rules: list[CorrelationRule]):
        self.rules = rules
        index = {r.id: k for k, r in enumerate(rules)}
        parent = list(range(len(rules)))

        def find(k: int) -> int:
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        uppers: dict[int, list[tuple[int, int]]] = {k: [] for k in range(len(rules))}
        for u, rule in enumerate(rules):
            for pos, source in enumerate(rule.sources):
                lower = index.get(source.rule_id)
                if source.kind == "correlation" and lower is not None:
                    uppers[lower].append((u, pos))
                    parent[find(lower)] = find(u)
        members: dict[int, list[int]] = {}
        for k in range(len(rules)):
            members.setdefault(find(k), []).append(k)
        self.component: list[str] = [""] * len(rules)
        # projection[k]: positions of rule k's key forming the shard key (None: one shard).
        self.projection: list[tuple[int, ...] | None] = [None] * len(rules)
        for ks in members.values():
            name = min(rules[k].id for k in ks)
            tops = [k for k in ks if not uppers[k]]
            tree = len(tops) == 1 and all(len({u for u, _ in uppers[k]}) <= 1 for k in ks)
            for k in ks:
                self.component[k] = name
                if tree:
                    self.projection[k] = self._project(k, uppers)

    def _project(self, k: int, uppers: dict[int, list[tuple[int, int]]]) -> tuple[int, ...]:
        """Positions in rule k's group key of the top rule's group values."""
        if not uppers[k]:
            return tuple(range(len(self.rules[k].group_by)))
        u, pos = uppers[k][0]
        names = self.rules[u].sources[pos].fields  # per upper group-by: a name of rule k's
        mine = self.rules[k].group_by
        upper_positions = tuple(mine.index(name) for name in names)
        return tuple(upper_positions[p] for p in self._project(u, uppers))

    def shard(self, k: int, key: tuple) -> tuple[str, tuple]:
        """The shard of the window (rule k, group key)."""
        projection = self.projection[k]
        if projection is None:
            return (self.component[k], ())
        return (self.component[k], tuple(key[p] for p in projection))
