"""Every threshold of incident assembly, in one frozen, documented place (`AssemblyPolicy`).

In: nothing (defaults) or overrides. Out: the policy that `assembly`, `scoring` and `response`
read. Changing a value changes which incidents exist; every value is therefore named here and
explained, and tests pin the defaults' behaviour.

Sigma levels are ranked LEVELS (informational 0 ... critical 4); an unknown level ranks 0.
"""
from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("informational", "low", "medium", "high", "critical")
_LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}


def level_rank(level: str | None) -> int:
    """Sigma level -> 0 (informational or unknown) .. 4 (critical)."""
    return _LEVEL_RANK.get((level or "").strip().lower(), 0)


@dataclass(frozen=True)
class AssemblyPolicy:
    """How signals become incidents.

    window_seconds: the campaign window. A signal joins an incident (or a not-yet-opened group
      of signals) only while that incident's latest signal is at most this old in event time;
      after this much inactivity an incident is closed (a later signal on the same entities
      starts a new incident) and forgotten, which bounds memory to one window of signals.
    open_level: one signal at this level or above opens an incident (Sigma: "high" means an
      internal alert that requires a prompt review).
    correlation_open_level: one correlation result at this level or above opens an incident.
    combo_level, combo_rules, combo_tactics: signals at combo_level or above from at least
      combo_rules distinct rules whose ATT&CK tactics together number at least combo_tactics
      open an incident (two medium findings of different kinds on one entity).
      Low and informational signals never open an incident, however many: they are the
      background of the Internet (scanners rattling the VPN); they join an incident that opens
      through them, as context and evidence.
    hub_accounts_per_address, hub_senders_per_address: a public address seen within the window
      with at least this many distinct accounts (user.name) or distinct outside senders is
      shared (a provider's mail server, a NAT, a popular exit): it stops linking signals.
    hub_addresses_per_account: an account (or mailbox) seen within the window with at least
      this many distinct public addresses is a dictionary name of the Internet's scanners
      ("admin", "test") or a list address: it stops linking signals.
    max_signals_per_rule: signals listed per rule and incident (the first ones in event time);
      the others are counted (incident.rules, incident.signals_omitted), never dropped from the
      signals output, which keeps them all.
    max_external_recipients: outside recipients listed per incident (the rest are counted).
    proxy_datasets: web datasets written by a forward proxy: their asset is not a target.
    reporting_min_severity: NIS2 and health-sector deadlines from this severity up (a
      potentially significant incident; the crisis cell decides whether it is one).
    health_sector: add the health sector's serious-incident declaration (without delay).
    evidence_text_limit: event.original is cut to this many characters in evidence.
    late_horizon_seconds: a stream only (pipelines/incidents/reassembly.py; replay results do
      not depend on it): a signal that reaches assembly up to this long behind the event time
      already released is re-assembled in its place, exactly as a replay assembles it; one
      further behind is assembled where it arrives (counted in incident.late_signals). None: the
      campaign window. What a stream keeps grows with it (the signals of that span and a few
      checkpoints): set it to cover the largest event-time delay of the signal sources
      upstream; impossible travel groups logins in sessions of a day (its gap) and so emits
      a day after the login.
    """

    window_seconds: int = 4 * 3600
    open_level: str = "high"
    correlation_open_level: str = "medium"
    combo_level: str = "medium"
    combo_rules: int = 2
    combo_tactics: int = 2
    hub_accounts_per_address: int = 20
    hub_senders_per_address: int = 3
    hub_addresses_per_account: int = 5
    max_signals_per_rule: int = 20
    max_external_recipients: int = 1000
    proxy_datasets: tuple[str, ...] = ("web.squid",)
    reporting_min_severity: int = 3
    health_sector: bool = True
    evidence_text_limit: int = 2000
    late_horizon_seconds: int | None = None

    @property
    def window_ms(self) -> int:
        return self.window_seconds * 1000

    @property
    def late_horizon_ms(self) -> int:
        seconds = self.window_seconds if self.late_horizon_seconds is None else self.late_horizon_seconds
        return max(0, int(seconds)) * 1000
