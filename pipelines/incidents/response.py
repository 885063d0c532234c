"""What to do about an incident: containment action ids with their targets, and notification
deadlines counted from the detection time. Ids only: the wording (fr/en) is the reports' job.

In: the incident's kinds, severity, tactics and techniques, and its entity lists (see
`Targets`); for deadlines the detection time and whether personal data may be involved.
Out: [{id, targets}] in ACTIONS order, and [{id, due, basis}] ordered by due time.

Actions per kind (preserve-evidence always):
- phishing          quarantine-messages (the senders' mail), block-sender-domain (the senders'
                    domains; a freemail sender is blocked by address instead), block-addresses
- vpn-intrusion     block-addresses
- account-takeover  reset-accounts and cut-remote-access (the accounts that logged in),
                    block-addresses; at critical severity also suspend-telework
- mass-mailing      reset-accounts (the sending accounts), quarantine-messages (their mailboxes)
- web-attack        block-addresses; take-website-offline when the site was taken over (web
                    shell T1505, command execution T1059) or data was read from it (collection)
                    at high severity or above
- any kind, critical severity, with lateral movement or impact, or named workstations:
                    disconnect-workstations (targets: the workstations, or none = all of them)

Deadlines (due = detected_at + delay):
- nis2-early-warning 24 h, nis2-notification 72 h, nis2-final-report one calendar month (NIS2
  counts it from the notification; counting from detection gives the earliest date it can fall
  on) — for incidents of policy.reporting_min_severity or above (potentially significant);
- gdpr-breach 72 h — when personal data may be involved;
- health-serious-incident, due at detection ("without delay") — health sector, same severity
  condition as NIS2.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.incidents.policy import AssemblyPolicy
from pipelines.incidents.times import add_months, iso

ACTIONS = ("disconnect-workstations", "cut-remote-access", "suspend-telework", "reset-accounts",
           "block-sender-domain", "block-addresses", "take-website-offline", "preserve-evidence",
           "quarantine-messages")
DEADLINES = ("health-serious-incident", "nis2-early-warning", "gdpr-breach", "nis2-notification",
             "nis2-final-report")
HOUR_MS = 3_600_000
# Mail providers whose domains are shared by millions: block the sender, never the domain.
FREEMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "outlook.fr", "hotmail.com", "hotmail.fr",
    "live.com", "live.fr", "msn.com", "yahoo.com", "yahoo.fr", "icloud.com", "me.com", "aol.com",
    "gmx.com", "gmx.fr", "gmx.de", "proton.me", "protonmail.com", "orange.fr", "wanadoo.fr",
    "free.fr", "sfr.fr", "laposte.net", "neuf.fr", "bbox.fr", "mail.com", "yandex.com", "zoho.com"})
_SPREAD = {"lateral-movement", "impact"}


@dataclass(frozen=True)
class Targets:
    """The entities actions point at."""

    used_accounts: tuple[str, ...] = ()      # accounts that logged in or sent (user.name)
    senders: tuple[str, ...] = ()            # outside senders
    sending_mailboxes: tuple[str, ...] = ()  # the hospital's mailboxes that sent mass mail
    public_ips: tuple[str, ...] = ()
    web_sites: tuple[str, ...] = ()          # attacked web assets or domains
    hosts: tuple[str, ...] = ()              # workstations
    evidence: tuple[str, ...] = ()           # log files and assets to preserve
    web_techniques: tuple[str, ...] = field(default=())
    web_tactics: tuple[str, ...] = field(default=())


def containment_actions(kinds: tuple[str, ...], severity: int, tactics: tuple[str, ...],
                        targets: Targets) -> list[dict]:
    """Recommended containment (see the module docstring)."""
    wanted: dict[str, set[str]] = {}

    def want(action: str, values=()) -> None:
        wanted.setdefault(action, set()).update(v for v in values if v)

    kinds_set = set(kinds)
    if "phishing" in kinds_set:
        want("quarantine-messages", targets.senders)
        domains = {s.rpartition("@")[2] for s in targets.senders}
        blocked = [d for d in domains if d not in FREEMAIL_DOMAINS]
        blocked += [s for s in targets.senders if s.rpartition("@")[2] in FREEMAIL_DOMAINS]
        if blocked:
            want("block-sender-domain", blocked)
    if kinds_set & {"phishing", "vpn-intrusion", "account-takeover", "web-attack"} and targets.public_ips:
        want("block-addresses", targets.public_ips)
    if "account-takeover" in kinds_set:
        want("reset-accounts", targets.used_accounts)
        want("cut-remote-access", targets.used_accounts)
        if severity >= 4:
            want("suspend-telework")
    if "mass-mailing" in kinds_set:
        want("reset-accounts", targets.used_accounts)
        want("quarantine-messages", targets.sending_mailboxes)
    if "web-attack" in kinds_set:
        taken_over = any(t.split(".")[0] in ("T1505", "T1059") for t in targets.web_techniques)
        data_read = "collection" in targets.web_tactics and severity >= 3
        if taken_over or data_read:
            want("take-website-offline", targets.web_sites)
    if severity >= 4 and (set(tactics) & _SPREAD or targets.hosts):
        want("disconnect-workstations", targets.hosts)
    want("preserve-evidence", targets.evidence)
    return [{"id": action, "targets": sorted(wanted[action])} for action in ACTIONS if action in wanted]


def notification_deadlines(detected_at: int, severity: int, personal_data: bool,
                           policy: AssemblyPolicy = AssemblyPolicy()) -> list[dict]:
    """Notification deadlines counted from `detected_at` (epoch ms; see the module docstring)."""
    out: list[tuple[int, str, str]] = []
    significant = severity >= policy.reporting_min_severity
    if significant:
        out.append((detected_at + 24 * HOUR_MS, "nis2-early-warning",
                    "NIS2 (EU 2022/2555) art. 23(4)(a): early warning to the CSIRT or competent "
                    "authority within 24 hours of becoming aware of a significant incident"))
        out.append((detected_at + 72 * HOUR_MS, "nis2-notification",
                    "NIS2 art. 23(4)(b): incident notification within 72 hours of becoming aware"))
        out.append((add_months(detected_at, 1), "nis2-final-report",
                    "NIS2 art. 23(4)(d): final report within one month of the notification; "
                    "counted here from detection, the earliest it can fall"))
    if personal_data:
        out.append((detected_at + 72 * HOUR_MS, "gdpr-breach",
                    "GDPR art. 33: personal data breach notified to the supervisory authority "
                    "within 72 hours of becoming aware, unless unlikely to result in a risk"))
    if significant and policy.health_sector:
        out.append((detected_at, "health-serious-incident",
                    "Health sector: serious information-system incident declared without delay "
                    "(France: Code de la sante publique art. L.1111-8-2, to the ARS via CERT Sante)"))
    order = {name: i for i, name in enumerate(DEADLINES)}
    return [{"id": ident, "due": iso(due), "basis": basis}
            for due, ident, basis in sorted(out, key=lambda d: (d[0], order[d[1]]))]
