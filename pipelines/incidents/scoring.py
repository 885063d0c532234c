"""Risk score and severity of an incident, every part shown.

In: the incident's rules (level, whether a correlation result), its ATT&CK tactics, the
services it spans, its assets (name, criticality) and the inventory flags of the people
involved. Out: `Score` — the total, its parts as [{name, points, detail}] and the severity on
TheHive's scale (1 low, 2 medium, 3 high, 4 critical).

Parts (points):
- rule-levels       per distinct rule: critical 12, high 8, medium 4, low 1, informational 0
                    (repeats of one rule add nothing: they are one finding).
- correlations      10 per distinct correlation rule (a sequence or count across events).
- tactics           3 per distinct ATT&CK tactic beyond the first (how far the attack got).
- services          4 per service (mail, web, remote access) beyond the first.
- asset-criticality the most critical asset: critical 10, high 6, medium 3, low 0.
- admin-accounts    8 per administrator account involved (at most two counted),
- vip-accounts      6 per VIP, disabled-accounts 10 per disabled account (any use is suspect),
  service-accounts  5 per service account (at most two counted each).
People count when a medium-or-higher signal involves them (a failed guess at an admin name by
a scanner is low and counts nothing).
Severity: 1 below 12 points, 2 from 12, 3 from 25, 4 from 45; at least 2 with a high rule and at
least 3 with a critical one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pipelines.incidents.policy import level_rank

LEVEL_POINTS = {"critical": 12, "high": 8, "medium": 4, "low": 1, "informational": 0}
CORRELATION_POINTS = 10
TACTIC_POINTS = 3
SERVICE_POINTS = 4
ASSET_POINTS = {"critical": 10, "high": 6, "medium": 3, "low": 0}
PEOPLE_POINTS = {"admin": 8, "vip": 6, "disabled": 10, "service_account": 5}
PEOPLE_COUNTED = 2
BANDS = ((45, 4), (25, 3), (12, 2))
SEVERITY_LABELS = {1: "low", 2: "medium", 3: "high", 4: "critical"}
_PART_NAMES = {"admin": "admin-accounts", "vip": "vip-accounts", "disabled": "disabled-accounts",
               "service_account": "service-accounts"}


@dataclass(frozen=True)
class Person:
    """The inventory flags of one account involved in an incident."""

    name: str
    admin: bool = False
    vip: bool = False
    disabled: bool = False
    service_account: bool = False


@dataclass(frozen=True)
class Score:
    """A score, its parts and the severity it maps to."""

    total: float
    parts: tuple[dict, ...]
    severity: int

    @property
    def label(self) -> str:
        return SEVERITY_LABELS[self.severity]


def _count_phrase(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {level}" for level, n in counts.items() if n)


def score_incident(rules: Iterable[tuple[str, str, bool]], tactics: Iterable[str],
                   services: Iterable[str], assets: Iterable[tuple[str, str]],
                   people: Iterable[Person]) -> Score:
    """Score an incident. `rules` are (rule id, level, is a correlation result) per distinct rule."""
    rules = sorted(set(rules))
    parts: list[dict] = []
    base = [(rid, lvl) for rid, lvl, corr in rules if not corr]
    counts = {lvl: sum(1 for _, l in base if l == lvl) for lvl in LEVEL_POINTS}
    points = sum(LEVEL_POINTS.get(lvl, 0) for _, lvl in base)
    parts.append({"name": "rule-levels", "points": float(points),
                  "detail": f"{len(base)} rules: {_count_phrase(counts) or 'none'}"})
    correlations = [rid for rid, _, corr in rules if corr]
    if correlations:
        parts.append({"name": "correlations", "points": float(CORRELATION_POINTS * len(correlations)),
                      "detail": f"{len(correlations)} correlation rules"})
    tactics = sorted(set(tactics))
    if len(tactics) > 1:
        parts.append({"name": "tactics", "points": float(TACTIC_POINTS * (len(tactics) - 1)),
                      "detail": f"{len(tactics)} ATT&CK tactics: {', '.join(tactics)}"})
    services = sorted(set(services))
    if len(services) > 1:
        parts.append({"name": "services", "points": float(SERVICE_POINTS * (len(services) - 1)),
                      "detail": f"{len(services)} services: {', '.join(services)}"})
    assets = sorted(set(assets), key=lambda a: (-level_rank(a[1]), a[0]))
    if assets and ASSET_POINTS.get(assets[0][1], 0):
        name, criticality = assets[0]
        parts.append({"name": "asset-criticality", "points": float(ASSET_POINTS[criticality]),
                      "detail": f"{name} ({criticality})"})
    people = sorted(set(people), key=lambda p: p.name)
    for flag, each in PEOPLE_POINTS.items():
        names = [p.name for p in people if getattr(p, flag)]
        if names:
            parts.append({"name": _PART_NAMES[flag], "points": float(each * min(len(names), PEOPLE_COUNTED)),
                          "detail": ", ".join(names)})
    total = sum(p["points"] for p in parts)
    severity = next((sev for floor, sev in BANDS if total >= floor), 1)
    top = max((level_rank(lvl) for _, lvl, _ in rules), default=0)
    severity = max(severity, 3 if top >= level_rank("critical") else 2 if top >= level_rank("high") else 1)
    return Score(total, tuple(parts), severity)
