"""The scenario's log files (path, format, family, share of the background) and the records
that fill them: exactly a budget of lines, each inside the evening's window."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from pipelines.scenario.chu.clock import END_MS, START_MS


@dataclass(frozen=True)
class LogFile:
    """One generated log file: where, which format and family, its share of background lines."""

    path: str
    format: str
    family: str
    share: float


FILES: tuple[LogFile, ...] = (
    LogFile("web/www-access.log", "apache_combined", "web", 0.60 * 0.60),
    LogFile("web/portail-patients-iis.log", "w3c", "web", 0.60 * 0.22),
    LogFile("web/proxy-access.log", "squid", "web", 0.60 * 0.18),
    LogFile("mail/maillog", "postfix", "mail", 0.25 * 0.70),
    LogFile("mail/exim-mainlog", "exim", "mail", 0.25 * 0.30),
    LogFile("vpn/fortigate.log", "fortigate", "vpn", 0.15 * 0.55),
    LogFile("vpn/asa.log", "cisco_asa", "vpn", 0.15 * 0.35),
    LogFile("vpn/openvpn.log", "openvpn", "vpn", 0.15 * 0.10),
)

# A log line: (epoch ms, text, attack step id or None for background).
Record = tuple[int, str, "str | None"]


def clip(records: Iterable[Record]) -> list[Record]:
    """The records that fall inside the scenario's window."""
    return [r for r in records if START_MS <= r[0] < END_MS]


def fill(budget: int, unit: Callable[[int], list[Record]]) -> list[Record]:
    """Exactly `budget` records from repeated units; unit(limit) returns at most limit records."""
    out: list[Record] = []
    while len(out) < budget:
        out.extend(clip(unit(budget - len(out))))
    return out


def budgets(total: int) -> dict[str, int]:
    """Background lines per file: each file's share of `total`, rounding left to the first."""
    sizes = {f.path: int(total * f.share) for f in FILES}
    sizes[FILES[0].path] += total - sum(sizes.values())
    return sizes

