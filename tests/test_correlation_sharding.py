"""Shards (pipelines/correlation/sharding.py): a chain is judged in one place, by its top
rule's group when the chain is a tree."""
from __future__ import annotations

from correlation_support import rule
from pipelines.correlation.sharding import Sharding


def test_a_rule_outside_chains_shards_by_its_own_group():
    sharding = Sharding([rule("event_count", ["fail"], group_by=("user.name", "source.ip"))])
    assert sharding.shard(0, ("bob", "1.2.3.4")) == ("corr", ("bob", "1.2.3.4"))


def test_a_chain_shards_by_the_top_rule_group_projected_onto_lower_keys():
    low = rule("event_count", ["fail"], group_by=("source.ip", "user.name"), rule_id="low")
    top = rule("temporal_ordered", ["low", "ok"], group_by=("user.name",), rule_id="top",
               chain_level=2, source_kinds={"low": "correlation"})
    sharding = Sharding([low, top])
    assert sharding.shard(0, ("1.2.3.4", "bob")) == ("low", ("bob",))
    assert sharding.shard(1, ("bob",)) == ("low", ("bob",))


def test_aliases_are_followed_through_the_chain():
    low = rule("event_count", ["fail"], group_by=("account",), rule_id="low",
               aliases={"account": {"fail": "user.name"}})
    top = rule("temporal", ["low", "mail"], group_by=("who",), rule_id="top", chain_level=2,
               source_kinds={"low": "correlation"},
               aliases={"who": {"low": "account", "mail": "email.from.address"}})
    sharding = Sharding([low, top])
    assert sharding.shard(0, ("bob",)) == sharding.shard(1, ("bob",))


def test_a_rule_feeding_two_upper_rules_makes_one_shard():
    low = rule("event_count", ["fail"], rule_id="low")
    up1 = rule("temporal", ["low", "ok"], rule_id="up1", chain_level=2,
               source_kinds={"low": "correlation"})
    up2 = rule("temporal", ["low", "mail"], rule_id="up2", chain_level=2,
               source_kinds={"low": "correlation"})
    sharding = Sharding([low, up1, up2])
    assert {sharding.shard(k, ("bob",)) for k in range(3)} == {("low", ())}
