"""Randomness: seeded generators, weighted tables, and instants of the evening by hourly profile.

Every draw of the scenario comes from random.Random instances seeded with strings derived from
the seed (stable across processes, unlike hash()).
"""
from __future__ import annotations

import itertools
import random
from bisect import bisect
from typing import Any, Iterable

from pipelines.scenario.chu.clock import HOUR, START_MS

Table = tuple[tuple[Any, ...], list[float]]


def rng_for(seed: int, part: str) -> random.Random:
    """An independent generator for one part of the scenario (string seeds are stable)."""
    return random.Random(f"vigie/chu/{seed}/{part}")


def table(pairs: Iterable[tuple[Any, float]]) -> Table:
    """(item, weight) pairs -> a table for pick."""
    items, weights = zip(*pairs)
    return tuple(items), list(itertools.accumulate(weights))


def pick(rng: random.Random, weighted: Table) -> Any:
    """A weighted random item of a table."""
    items, cumulative = weighted
    return items[bisect(cumulative, rng.random() * cumulative[-1])]


def hourly(*weights: float) -> Table:
    """Relative activity for each hour from 17h to 22h."""
    return table(zip(range(len(weights)), weights))


PROFILE_WEB = hourly(1.0, 1.1, 1.0, 1.05, 0.95, 0.7)
PROFILE_PORTAL = hourly(0.9, 1.0, 1.0, 1.0, 0.8, 0.5)
PROFILE_OFFICE = hourly(1.0, 0.7, 0.5, 0.45, 0.4, 0.35)
PROFILE_MAIL = hourly(1.0, 0.6, 0.4, 0.3, 0.25, 0.2)
PROFILE_FLAT = hourly(1, 1, 1, 1, 1, 1)


def when(rng: random.Random, profile: Table) -> int:
    """A random instant of the evening (epoch ms) following an hourly profile."""
    return START_MS + pick(rng, profile) * HOUR + rng.randrange(HOUR)


def vary(rng: random.Random, size: int) -> int:
    """A size within 3 % of a typical size."""
    return int(size * rng.uniform(0.97, 1.03))


def fill_in(rng: random.Random, template: str) -> str:
    """A subject or file name with its '{n}' number drawn."""
    return template.replace("{n}", str(rng.randint(1000, 9999)))

