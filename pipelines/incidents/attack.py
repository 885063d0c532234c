"""ATT&CK tags of Sigma rules -> tactics, techniques and (tactic, technique) pairs.

In: a rule's tags (`attack.initial-access`, `attack.t1566.001`, also the older underscore
spelling `attack.initial_access`; other tags such as `attack.g0032` or `cve.*` are ignored).
Out: `AttackTags` with canonical tactic names (ATT&CK Enterprise short names), technique ids in
upper case ("T1566.001"), and pairs that say which tactic each technique serves in this rule:
the technique's own tactics (TECHNIQUE_TACTICS, looked up by id then by parent technique)
that the rule also names; failing that, the rule's first tactic. A tactic no technique serves
is paired with None.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

# ATT&CK Enterprise tactics in kill-chain order (their order in the ATT&CK matrix).
TACTICS = ("reconnaissance", "resource-development", "initial-access", "execution", "persistence",
           "privilege-escalation", "defense-evasion", "credential-access", "discovery",
           "lateral-movement", "collection", "command-and-control", "exfiltration", "impact")
_TACTIC_RANK = {name: i for i, name in enumerate(TACTICS)}

# The tactics of the techniques that mail, web and VPN detections use (ATT&CK Enterprise).
TECHNIQUE_TACTICS: dict[str, tuple[str, ...]] = {
    "T1003": ("credential-access",), "T1005": ("collection",), "T1021": ("lateral-movement",),
    "T1027": ("defense-evasion",), "T1036": ("defense-evasion",), "T1041": ("exfiltration",),
    "T1046": ("discovery",), "T1048": ("exfiltration",), "T1059": ("execution",),
    "T1070": ("defense-evasion",), "T1071": ("command-and-control",),
    "T1078": ("defense-evasion", "persistence", "privilege-escalation", "initial-access"),
    "T1083": ("discovery",), "T1087": ("discovery",), "T1090": ("command-and-control",),
    "T1098": ("persistence", "privilege-escalation"), "T1105": ("command-and-control",),
    "T1110": ("credential-access",), "T1114": ("collection",),
    "T1133": ("persistence", "initial-access"), "T1189": ("initial-access",),
    "T1190": ("initial-access",), "T1199": ("initial-access",), "T1203": ("execution",),
    "T1204": ("execution",), "T1210": ("lateral-movement",), "T1213": ("collection",),
    "T1486": ("impact",), "T1490": ("impact",), "T1498": ("impact",), "T1499": ("impact",),
    "T1505": ("persistence",), "T1530": ("collection",), "T1534": ("lateral-movement",),
    "T1552": ("credential-access",), "T1556": ("credential-access", "defense-evasion", "persistence"),
    "T1566": ("initial-access",), "T1567": ("exfiltration",), "T1583": ("resource-development",),
    "T1584": ("resource-development",), "T1585": ("resource-development",),
    "T1586": ("resource-development",), "T1589": ("reconnaissance",), "T1590": ("reconnaissance",),
    "T1593": ("reconnaissance",), "T1594": ("reconnaissance",), "T1595": ("reconnaissance",),
    "T1598": ("reconnaissance",), "T1621": ("credential-access",), "T1656": ("defense-evasion",),
}
_TECHNIQUE = re.compile(r"^t(\d{4})(?:\.(\d{3}))?$")


@dataclass(frozen=True)
class AttackTags:
    """A rule's ATT&CK tactics and techniques, and which tactic each technique serves."""

    tactics: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str | None], ...] = ()


def tactic_rank(tactic: str | None) -> int:
    """Position of a tactic in the kill chain (unknown tactics and None sort last)."""
    return _TACTIC_RANK.get(tactic or "", len(TACTICS))


def technique_tactics(technique: str) -> tuple[str, ...]:
    """The tactics of a technique id ("T1566.001" falls back to "T1566"); () when unknown."""
    return TECHNIQUE_TACTICS.get(technique) or TECHNIQUE_TACTICS.get(technique.split(".", 1)[0], ())


def parse_tags(tags: Iterable[str] | None) -> AttackTags:
    """Sigma tags -> AttackTags (see the module docstring)."""
    tactics: list[str] = []
    techniques: list[str] = []
    for tag in tags or ():
        if not isinstance(tag, str) or not tag.lower().startswith("attack."):
            continue
        body = tag[len("attack."):].strip().lower().replace("_", "-")
        match = _TECHNIQUE.match(body)
        if match:
            technique = f"T{match.group(1)}" + (f".{match.group(2)}" if match.group(2) else "")
            if technique not in techniques:
                techniques.append(technique)
        elif body in _TACTIC_RANK and body not in tactics:
            tactics.append(body)
    pairs: list[tuple[str, str | None]] = []
    served: set[str] = set()
    for technique in techniques:
        own = technique_tactics(technique)
        chosen = [t for t in tactics if t in own] or tactics[:1] or list(own[:1])
        for tactic in chosen:
            pairs.append((tactic, technique))
            served.add(tactic)
    pairs.extend((tactic, None) for tactic in tactics if tactic not in served)
    all_tactics = tuple(dict.fromkeys(tactics + [t for t, _ in pairs if t]))
    return AttackTags(all_tactics, tuple(techniques), tuple(pairs))
