"""Parser conformance: Vigie's fields against the expectations of independent parsers' fixtures.

Usage:
  python bench/conformance_parsers.py FIXTURES_DIR... [--product P] [--details N] [--json OUT]
  python bench/conformance_parsers.py --export OUT_DIR FIXTURES_DIR...   (fixture files of the
      sources whose licence allows redistribution, in the project's JSON-lines form)

FIXTURES_DIR holds upstream checkouts (layouts in conformance_sources.py) and/or fixture files;
the project's own (tests/data/{mail,vpn}/conformance/) are always added unless --no-project.

Method, per fixture line:
1. Line. Upstream's sample as given. When it does not parse as is and upstream gave only the
   message (its collector had removed the syslog header), a header is put back: 'Nov 27 19:02:11
   host <program>[1]: ' for syslog products, '%ASA-6-' before an ASA message that lost its tag.
   Such lines are counted as "rebuilt"; their header fields and @timestamp are not compared.
2. Parse with the product's Vigie formats (PRODUCT_FORMATS, first that makes an event) in
   upstream's zone (UTC unless the source says otherwise), the syslog year taken from upstream's
   expected time. Parsed = the line became an event or a message fragment.
3. Compare. For each upstream field in the source's MAPPING whose value is not empty, the Vigie
   field it maps to; "both name" = Vigie has a value too; they agree when the normalised values
   are equal (addresses canonical, numbers as integers, text case-insensitive, times to the
   millisecond in UTC; for list fields, upstream's values are all among Vigie's).
Printed per product: lines, parsed %, fields both name, agreeing %, and per source.
"""
from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import sys
from zoneinfo import ZoneInfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conformance_sources import Fixture, discover, read_jsonl  # noqa: E402

from pipelines.parsing import format_by_name  # noqa: E402
from pipelines.parsing.base import LineBatch, ParseContext  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PROJECT_FIXTURES = [REPO / "tests" / "data" / "mail" / "conformance", REPO / "tests" / "data" / "vpn" / "conformance"]
OWN_SOURCE = "vigie"  # the project's own fixtures: expectations are Vigie's, not independent
REDISTRIBUTABLE = {"postfix-grok-patterns": "BSD-3-Clause", "logstash-patterns-core": "Apache-2.0"}
PRODUCT_FORMATS = {"postfix": ["postfix"], "exim": ["exim"], "cisco_asa": ["cisco_asa"], "fortigate": ["fortigate"],
                   "globalprotect": ["globalprotect"], "openvpn": ["openvpn"],
                   "apache": ["apache_combined", "apache_common"], "nginx": ["apache_combined", "apache_common"],
                   "iis": ["w3c"], "squid": ["squid"]}
SYSLOG_PRODUCTS = {"postfix", "exim", "openvpn", "cisco_asa", "fortigate", "globalprotect"}
FAKE_HEADER = "Nov 27 19:02:11 host {program}[1]: "


# ---------------------------------------------------------------------------------------------
# Normalisation and the mapping table
# ---------------------------------------------------------------------------------------------


def as_ip(value: Any) -> str | None:
    """An address in canonical form (IPv4-mapped IPv6 unwrapped); other text lower-cased."""
    text = str(value).strip().strip("[]")
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return text.lower() or None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def as_int(value: Any) -> str | None:
    """A number as the text of an integer; other text lower-cased."""
    try:
        return str(int(float(str(value).strip())))
    except ValueError:
        return str(value).strip().lower() or None


def as_text(value: Any) -> str | None:
    """Text lower-cased, trimmed of spaces and <>; placeholders ('-', 'unknown', ...) -> None."""
    text = str(value).strip().strip("<>").lower()
    return None if text in ("", "-", "unknown", "none", "null") else text


def as_time(value: Any, zone: str = "UTC") -> str | None:
    """A time (ISO text or datetime; naive ones read in `zone`) -> UTC ISO to the millisecond."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value).strip().replace(" ", "T")
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


Normaliser = Callable[[Any], "str | None"]
IP, INT, TEXT, TIME = as_ip, as_int, as_text, as_time
# Fields with the same meaning on both sides, per source: upstream field -> (Vigie field, normaliser)
_ECS_COMMON: dict[str, tuple[str, Normaliser]] = {
    "@timestamp": ("@timestamp", TIME),
    "source.ip": ("source.ip", IP), "source.port": ("source.port", INT),
    "destination.ip": ("destination.ip", IP), "destination.port": ("destination.port", INT),
    "source.nat.ip": ("source.nat.ip", IP), "source.nat.port": ("source.nat.port", INT),
    "destination.nat.ip": ("destination.nat.ip", IP), "destination.nat.port": ("destination.nat.port", INT),
    "source.bytes": ("source.bytes", INT), "destination.bytes": ("destination.bytes", INT),
    "network.bytes": ("network.bytes", INT), "network.transport": ("network.transport", TEXT),
    "network.application": ("network.application", TEXT),
    "observer.ingress.interface.name": ("observer.ingress.interface.name", TEXT),
    "observer.egress.interface.name": ("observer.egress.interface.name", TEXT),
    "observer.serial_number": ("observer.serial_number", TEXT),
    "user.name": ("user.name", TEXT), "user.domain": ("user.domain", TEXT),
    "event.outcome": ("event.outcome", TEXT), "event.code": ("event.code", TEXT),
    "event.duration": ("event.duration", INT), "rule.name": ("rule.name", TEXT),
    "url.original": ("url.original", TEXT), "url.domain": ("url.domain", TEXT), "url.path": ("url.path", TEXT),
    "file.name": ("file.name", TEXT),
    "email.from.address": ("email.from.address", TEXT), "email.to.address": ("email.to.address", TEXT),
    "email.message_id": ("email.message_id", TEXT),
    "http.request.method": ("http.request.method", TEXT), "http.response.status_code": ("http.response.status_code", INT),
    "http.response.bytes": ("http.response.bytes", INT), "http.response.body.bytes": ("http.response.bytes", INT),
    "http.request.referrer": ("http.request.referrer", TEXT), "http.version": ("http.version", TEXT),
    "user_agent.original": ("user_agent.original", TEXT),
}
MAPPING: dict[str, dict[str, tuple[str, Normaliser]]] = {
    "sekoia": {**_ECS_COMMON, "source.domain": ("source.domain", TEXT),
               "destination.domain": ("destination.domain", TEXT), "client.ip": ("source.ip", IP),
               "client.port": ("source.port", INT), "postfix.queue_id.local": ("email.local_id", TEXT)},
    "elastic": {**_ECS_COMMON, "source.domain": ("source.domain", TEXT),
                "destination.domain": ("destination.domain", TEXT)},
    "logstash-patterns-core": {
        **_ECS_COMMON, "source.address": ("source.address", TEXT), "destination.address": ("destination.address", TEXT),
        "exim.log.sender.email": ("email.from.address", TEXT), "exim.log.recipient.email": ("email.to.address", TEXT),
        "exim.log.message.id": ("email.local_id", TEXT), "exim.log.message.size": ("vigie.mail.size", INT),
        "exim.log.message.subject": ("email.subject", TEXT), "exim.log.header_id": ("email.message_id", TEXT),
        "process.pid": ("log.syslog.procid", INT), "cisco.asa.network.transport": ("network.transport", TEXT),
        "cisco.asa.rule_name": ("rule.name", TEXT), "source.user.name": ("user.name", TEXT),
        "event.action": ("event.action", TEXT)},
    "postfix-grok-patterns": {
        "postfix_client_ip": ("source.ip", IP), "postfix_client_hostname": ("source.domain", TEXT),
        "postfix_client_port": ("source.port", INT), "postfix_queueid": ("email.local_id", TEXT),
        "postfix_relay_ip": ("destination.ip", IP), "postfix_relay_hostname": ("destination.domain", TEXT),
        "postfix_relay_port": ("destination.port", INT), "postfix_status": ("vigie.mail.status", TEXT),
        "postfix_message-id": ("email.message_id", TEXT), "postfix_messageid": ("email.message_id", TEXT),
        "postfix_from": ("email.from.address", TEXT), "postfix_to": ("email.to.address", TEXT),
        "postfix_origto": ("email.to.address", TEXT), "postfix_size": ("vigie.mail.size", INT),
        "postfix_nrcpt": ("vigie.mail.recipient_count", INT), "postfix_sasl_username": ("user.name", TEXT),
        "postfix_sasl_method": ("vigie.mail.sasl_method", TEXT), "postfix_server_ip": ("destination.ip", IP),
        "postfix_server_port": ("destination.port", INT)},
    "fail2ban": {"time": ("@timestamp", TIME), "host": ("source.ip", IP)},
}
MAPPING["vigie"] = {name: (name, norm) for name, norm in
                    {v[0]: v[1] for m in MAPPING.values() for v in m.values()}.items()}
HEADER_FIELDS = {"@timestamp"}  # not compared on rebuilt lines


# ---------------------------------------------------------------------------------------------
# Running one fixture
# ---------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What Vigie made of one fixture line."""

    fixture: Fixture
    parsed: bool = False
    rebuilt: bool = False
    compared: list[tuple[str, str, Any, Any, bool]] = field(default_factory=list)  # upstream, ours, theirs, ours, ok


def _context(fixture: Fixture) -> ParseContext:
    """Upstream's zone; the syslog year from upstream's expected time when it gives one."""
    expected_time = next((fixture.expected[k] for k in ("@timestamp", "time") if fixture.expected.get(k)), None)
    moment = as_time(expected_time, fixture.timezone) if expected_time else None
    reference = (dt.datetime.fromisoformat(moment) + dt.timedelta(days=1)) if moment else \
        dt.datetime(2026, 12, 31, tzinfo=dt.timezone.utc)
    return ParseContext(timezone=fixture.timezone, reference_time=reference)


def _parse_many(lines: list[str], names: list[str], ctx: ParseContext) -> list[dict | None]:
    """The event (or fragment) the first of the formats `names` makes of each line, or None."""
    found: list[dict | None] = [None] * len(lines)
    todo = list(range(len(lines)))
    for name in names:
        if not todo:
            break
        batch = LineBatch("fixture.log", "0" * 16, pa.array([lines[i] for i in todo], pa.string()),
                          np.arange(len(todo), dtype=np.int64))
        result = format_by_name(name).parse(batch, ctx)
        for table in (result.events, result.fragments):
            if table is not None and table.num_rows:
                for row in table.to_pylist():
                    found[todo[row["log.offset"]]] = row
        todo = [i for i in todo if found[i] is None]
    return found


def _rebuilt(fixture: Fixture) -> str | None:
    """The line with the header upstream's collector had removed (None: nothing to add)."""
    line = fixture.line
    if fixture.product == "cisco_asa":
        if line.startswith(("ASA-", "FTD-")):
            return "%" + line
        if line[:7].rstrip(":").isdigit() and line[6:7] == ":":
            return "%ASA-6-" + line
        return FAKE_HEADER.format(program="asa") + line
    if fixture.product in SYSLOG_PRODUCTS and fixture.program:
        return FAKE_HEADER.format(program=fixture.program) + line
    if fixture.product in SYSLOG_PRODUCTS:
        return FAKE_HEADER.format(program=fixture.product) + line
    return None


def _values(value: Any, normaliser: Normaliser) -> set[str]:
    items = value if isinstance(value, list) else [value]
    return {v for v in (normaliser(item) for item in items if item is not None) if v is not None}


def _compare(outcome: Outcome, event: dict) -> None:
    """The fields both sides name, normalised, and whether they agree."""
    fixture = outcome.fixture
    for theirs_name, (ours_name, normaliser) in MAPPING.get(fixture.source, {}).items():
        if theirs_name not in fixture.expected or (outcome.rebuilt and ours_name in HEADER_FIELDS):
            continue
        if normaliser is TIME:  # upstream's naive times are in its zone
            normaliser = lambda value, zone=fixture.timezone: as_time(value, zone)  # noqa: E731
        theirs = _values(fixture.expected[theirs_name], normaliser)
        ours = _values(event.get(ours_name), normaliser)
        if theirs and ours:
            agree = theirs <= ours if isinstance(event.get(ours_name), list) else theirs == ours
            outcome.compared.append((theirs_name, ours_name, sorted(theirs), sorted(ours), agree))


def run_all(fixtures: list[Fixture]) -> list[Outcome]:
    """Parse every fixture line (in batches of lines that share a product and a reading context),
    rebuild the lines that did not parse as given, and compare."""
    outcomes = [Outcome(f) for f in fixtures]
    groups_of: dict[tuple, list[int]] = defaultdict(list)
    for i, fixture in enumerate(fixtures):
        ctx = _context(fixture)
        groups_of[(fixture.product, ctx.timezone, ctx.reference_time)].append(i)
    for (product, _, _), members in groups_of.items():
        names, ctx = PRODUCT_FORMATS[product], _context(fixtures[members[0]])
        events = _parse_many([fixtures[i].line for i in members], names, ctx)
        retry = [(i, line) for i, event in zip(members, events)
                 if event is None and (line := _rebuilt(fixtures[i])) is not None]
        rebuilt = dict(zip((i for i, _ in retry), _parse_many([line for _, line in retry], names, ctx)))
        for i, event in zip(members, events):
            if event is None and rebuilt.get(i) is not None:
                event, outcomes[i].rebuilt = rebuilt[i], True
            outcomes[i].parsed = event is not None
            if event is not None:
                _compare(outcomes[i], event)
    return outcomes


def run(fixture: Fixture) -> Outcome:
    """Parse one fixture line and compare the fields both sides name."""
    return run_all([fixture])[0]


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Counts of one product or source: lines, parsed, rebuilt, fields both name, agreeing."""

    lines: int = 0
    parsed: int = 0
    rebuilt: int = 0
    fields: int = 0
    agree: int = 0

    def add(self, outcome: Outcome) -> None:
        """Count one outcome."""
        self.lines += 1
        self.parsed += outcome.parsed
        self.rebuilt += outcome.rebuilt
        self.fields += len(outcome.compared)
        self.agree += sum(1 for c in outcome.compared if c[4])

    def row(self) -> dict[str, Any]:
        """The counts and their percentages."""
        return {"lines": self.lines, "parsed": self.parsed, "parsed_pct": _pct(self.parsed, self.lines),
                "rebuilt": self.rebuilt, "fields": self.fields, "agree": self.agree,
                "agree_pct": _pct(self.agree, self.fields)}


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def measure(fixtures: Iterable[Fixture]) -> tuple[dict[str, Tally], dict[tuple[str, str], Tally], list[Outcome]]:
    """Run every fixture: tallies per product (independent sources only: not the project's own
    fixtures) and per (product, source), and the outcomes."""
    per_product: dict[str, Tally] = defaultdict(Tally)
    per_source: dict[tuple[str, str], Tally] = defaultdict(Tally)
    outcomes = run_all(list(fixtures))
    for outcome in outcomes:
        if outcome.fixture.source != OWN_SOURCE:
            per_product[outcome.fixture.product].add(outcome)
        per_source[(outcome.fixture.product, outcome.fixture.source)].add(outcome)
    return per_product, per_source, outcomes


def table(per_product: dict[str, Tally], per_source: dict[tuple[str, str], Tally]) -> str:
    """The report as a Markdown table."""
    out = ["| product | source | lines | parsed | parsed % | rebuilt | fields both name | agree % |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    products = {p for p, _ in per_source}
    for product in sorted(products, key=lambda p: list(PRODUCT_FORMATS).index(p)):
        row = per_product.get(product, Tally()).row()
        out.append(f"| **{product}** | independent | {row['lines']} | {row['parsed']} | {row['parsed_pct']} | "
                   f"{row['rebuilt']} | {row['fields']} | {row['agree_pct']} |")
        for (p, source), tally in sorted(per_source.items()):
            if p == product:
                r = tally.row()
                out.append(f"| | {source} | {r['lines']} | {r['parsed']} | {r['parsed_pct']} | {r['rebuilt']} | "
                           f"{r['fields']} | {r['agree_pct']} |")
    return "\n".join(out)


def details(outcomes: list[Outcome], limit: int) -> str:
    """Unparsed lines and disagreeing fields, most frequent field first."""
    out = []
    misses = Counter()
    for outcome in outcomes:
        for theirs, ours, a, b, ok in outcome.compared:
            if not ok:
                misses[(outcome.fixture.product, theirs, ours)] += 1
    out.append("Disagreeing fields (product, upstream field, Vigie field: count):")
    out += [f"  {p} {t} -> {o}: {n}" for (p, t, o), n in misses.most_common(limit)]
    out.append("Examples:")
    shown = 0
    for outcome in outcomes:
        if shown >= limit:
            break
        bad = [c for c in outcome.compared if not c[4]]
        if not outcome.parsed or bad:
            shown += 1
            f = outcome.fixture
            out.append(f"  [{f.product} {f.source} {f.fid}] {'NOT PARSED ' if not outcome.parsed else ''}{f.line[:160]}")
            out += [f"      {t} -> {o}: upstream {a} vigie {b}" for t, o, a, b, _ in bad]
    return "\n".join(out)


def export(fixtures: Iterable[Fixture], folder: Path) -> dict[str, int]:
    """Write the mail and VPN fixtures of redistributable sources as JSON lines, one file per
    source and family (OUT/mail/conformance/<source>.jsonl, OUT/vpn/conformance/<source>.jsonl)."""
    written: dict[str, list[str]] = defaultdict(list)
    family = {"postfix": "mail", "exim": "mail"}
    for fixture in fixtures:
        if fixture.source in REDISTRIBUTABLE and fixture.product in SYSLOG_PRODUCTS:
            fam = family.get(fixture.product, "vpn")
            written[f"{fam}/conformance/{fixture.source}.jsonl"].append(fixture.as_json())
    for name, records in written.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(records) + "\n", encoding="utf-8")
    return {name: len(records) for name, records in written.items()}


def project_fixtures() -> list[Fixture]:
    """The fixtures committed in the project (tests/data/{mail,vpn}/conformance/*.jsonl)."""
    return [f for folder in PROJECT_FIXTURES if folder.is_dir() for path in sorted(folder.glob("*.jsonl"))
            for f in read_jsonl(path)]


def main(argv: list[str] | None = None) -> int:
    """The command (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="folders of upstream fixtures")
    parser.add_argument("--product", action="append", help="only these products")
    parser.add_argument("--no-project", action="store_true", help="leave out the project's own fixture files")
    parser.add_argument("--details", type=int, default=0, help="show N disagreements and unparsed lines")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument("--export", type=Path, help="write redistributable fixtures as JSON lines here")
    args = parser.parse_args(argv)
    fixtures = [f for folder in args.folders for f in discover(folder)]
    if args.export:
        print(json.dumps(export(fixtures, args.export), indent=1))
        return 0
    if not args.no_project:
        seen = {(f.source, f.fid) for f in fixtures}
        fixtures += [f for f in project_fixtures() if (f.source, f.fid) not in seen]
    if args.product:
        fixtures = [f for f in fixtures if f.product in args.product]
    per_product, per_source, outcomes = measure(fixtures)
    print(table(per_product, per_source))
    if args.details:
        print(details(outcomes, args.details))
    if args.json:
        args.json.write_text(json.dumps({
            "products": {p: t.row() for p, t in per_product.items()},
            "sources": {f"{p}/{s}": t.row() for (p, s), t in per_source.items()}}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
