"""Threat and anonymiser lists: files of addresses and CIDR blocks, one entry a line.

In: list specs as given to `--threat-list` (`PATH`, named after the file's stem, or
`NAME=PATH`). A line holds one address or CIDR block, optionally followed by a comment; `#` and
`;` start comments; blank lines are ignored. Out: `ThreatLists` (a NetworkSet labelled with the
list names, picklable) and a report per list: entries loaded, bad lines (counted, the first ones
quoted with their line numbers, logged), never fatal. A missing or unreadable file is a
VigieError. Lists are read when a run starts, so each run sees the files as they are then.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.enrichment.networks import NetworkSet, parse_network
from pipelines.errors import VigieError

LOG = logging.getLogger("vigie")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
QUOTED_BAD_LINES = 5


@dataclass
class ListReport:
    """What loading one list found."""

    name: str
    path: str
    entries: int = 0
    bad_lines: int = 0
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "path": self.path, "entries": self.entries,
                "bad_lines": self.bad_lines, "bad_line_examples": self.examples}


def split_spec(spec: str) -> tuple[str, str]:
    """'NAME=PATH' or 'PATH' -> (name, path); the name defaults to the file's stem."""
    name, sep, path = spec.partition("=")
    if sep and _NAME.match(name) and not Path(spec).exists():
        return name, path
    return Path(spec).stem, spec


def parse_list(text: str, name: str, network_set: NetworkSet, report: ListReport) -> None:
    """Add the entries of one list's text to `network_set` under `name`; count bad lines."""
    for number, raw in enumerate(text.splitlines(), 1):
        entry = re.split(r"[#;]", raw, maxsplit=1)[0].strip()
        if not entry:
            continue
        token = entry.split()[0]
        try:
            network_set.add(parse_network(token), name)
            report.entries += 1
        except ValueError:
            report.bad_lines += 1
            if len(report.examples) < QUOTED_BAD_LINES:
                report.examples.append(f"line {number}: {raw.strip()[:80]!r}")


def load_threat_lists(specs: list[str] | None) -> tuple[NetworkSet, list[ListReport]]:
    """Read every list of `specs`; bad lines are reported (and logged), missing files are not
    tolerated (VigieError naming the file)."""
    network_set, reports = NetworkSet(), []
    for spec in specs or []:
        name, path = split_spec(spec)
        if not _NAME.match(name):
            raise VigieError(f"--threat-list {spec}: list name {name!r} must be letters, digits, "
                             "'.', '_' or '-'; write NAME=PATH")
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise VigieError(f"--threat-list {spec}: cannot read {path} ({exc.strerror or exc}); "
                             "give an existing file of addresses and CIDR blocks") from None
        report = ListReport(name, path)
        parse_list(text, name, network_set, report)
        if report.bad_lines:
            LOG.warning("threat list %s (%s): %d bad line(s) ignored, e.g. %s", name, path,
                        report.bad_lines, "; ".join(report.examples))
        reports.append(report)
    return network_set, reports
