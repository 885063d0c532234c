"""Write the CRS corpus: crs/access.log and crs/labels.jsonl, from a checkout of the OWASP
Core Rule Set (Apache License 2.0; see crs/README.md for the version and the attribution).

The CRS regression tests are requests, each labelled with the CRS rule it must trigger. This
keeps the positive tests of the attack rule files (REQUEST-930 LFI, 931 RFI, 932 RCE, 933 PHP,
934 generic, 941 XSS, 942 SQLi, 944 Java) whose payload can be in an access log: no request
body, no cookie, no header beyond the standard ones (so the payload is in the request line, the
User-Agent or the Referer). Each becomes one Apache combined line, written the way Apache
writes it (quotes, backslashes, control and non-ASCII bytes escaped). Labels: the CRS rule id,
its paranoia level (1 = the signatures CRS deems safe for every site, 4 = the most generic),
the family, and payload true (every kept test is an attack by CRS's own label).

Run: python tests/data/web_attacks/make_crs_corpus.py CRS_CHECKOUT
"""
from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent / "crs"
FAMILIES = {"930": "traversal", "931": "rfi", "932": "cmdi", "933": "php", "934": "generic",
            "941": "xss", "942": "sqli", "944": "java"}
STANDARD_HEADERS = {"host", "user-agent", "referer", "accept", "accept-encoding", "accept-language",
                    "accept-charset", "connection", "keep-alive", "proxy-connection", "cache-control",
                    "pragma", "content-length", "content-type", "te", "upgrade-insecure-requests"}
START = dt.datetime(2026, 11, 28, 10, 0, 0, tzinfo=dt.timezone.utc)


def paranoia_levels(rules: Path) -> dict[int, int]:
    """CRS rule id -> paranoia level, read from the rule files' tags."""
    levels: dict[int, int] = {}
    for conf in sorted(rules.glob("REQUEST-9*.conf")):
        for block in re.split(r"\n(?=Sec(?:Rule|Action) )", conf.read_text(encoding="utf-8")):
            found = re.search(r"\bid:(\d+)", block)
            level = re.search(r"paranoia-level/(\d)", block)
            if found and level:
                levels[int(found.group(1))] = int(level.group(1))
    return levels


def apache_escape(text: str) -> str:
    """A request item as Apache logs it: \\, " and non-printable or non-ASCII bytes escaped."""
    out = []
    for byte in text.encode("utf-8", "surrogateescape"):
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def expected_ids(output: dict) -> list[int]:
    """The rule ids a test stage expects to trigger (new and old test formats)."""
    log = output.get("log") or {}
    ids = list(log.get("expect_ids") or output.get("expect_ids") or [])
    if "log_contains" in output:
        ids += [int(x) for x in re.findall(r'id "(\d+)"', str(output["log_contains"]))]
    return [int(x) for x in ids]


def logged_only(stage_input: dict) -> bool:
    """True when everything the request carries is in what an access log records."""
    if stage_input.get("data") or stage_input.get("encoded_request") or stage_input.get("raw_request"):
        return False
    headers = {str(k).lower() for k in (stage_input.get("headers") or {})}
    return headers <= STANDARD_HEADERS and "uri" in stage_input


def build(crs: Path) -> tuple[list[str], list[dict]]:
    levels = paranoia_levels(crs / "rules")
    lines, labels = [], []
    clock = START
    for path in sorted((crs / "tests" / "regression" / "tests").glob("REQUEST-9*/*.yaml")):
        family = FAMILIES.get(path.parent.name.split("-")[1][:3])
        if family is None:
            continue
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        rule_id = int(content.get("rule_id") or path.stem)
        for test in content.get("tests", []):
            for stage in test.get("stages", []):
                stage_input = stage.get("input") or {}
                if rule_id not in expected_ids(stage.get("output") or {}) or not logged_only(stage_input):
                    continue
                headers = {str(k).lower(): str(v) for k, v in (stage_input.get("headers") or {}).items()}
                method = str(stage_input.get("method") or "GET")
                version = str(stage_input.get("version") or "HTTP/1.1")
                clock += dt.timedelta(seconds=1)
                request = apache_escape(f"{method} {stage_input['uri']} {version}")
                referrer = apache_escape(headers.get("referer", "-"))
                agent = apache_escape(headers.get("user-agent", "-"))
                lines.append(f'192.0.2.{len(lines) % 250 + 1} - - [{clock:%d/%b/%Y:%H:%M:%S +0000}] '
                             f'"{request}" 403 199 "{referrer}" "{agent}"')
                labels.append({"tool": "crs-regression", "family": family, "rule": rule_id,
                               "paranoia": levels.get(rule_id), "test": test.get("test_id"),
                               "payload": True})
    return lines, labels


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    lines, labels = build(Path(argv[0]))
    HERE.mkdir(parents=True, exist_ok=True)
    (HERE / "access.log").write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    (HERE / "labels.jsonl").write_text("".join(json.dumps(x, sort_keys=True) + "\n" for x in labels),
                                       encoding="utf-8")
    print(f"wrote {len(lines)} lines to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
