"""Readers of independent parsers' published test fixtures, for bench/conformance_parsers.py.

Each reader turns one upstream layout into `Fixture`s: the product, the sample line as upstream
gives it, the fields upstream expects (upstream's own names, flattened with dots), and hints to
rebuild a whole log line when upstream gives only the message (`program`: the syslog program to
put in a header). Layouts read (a folder is recognised by what it holds):

  sekoia         <Vendor>/<intake>/tests/*.json            {"input": {"message"}, "expected": {...}}
  postfix-grok   test/*.yaml (whyscream/postfix-grok-patterns) pattern, data, results
  logstash       spec/patterns/*_spec.rb (logstash-patterns-core): the ECS expectations
  elastic        packages/<pkg>/data_stream/<ds>/_dev/test/pipeline/*.log + *-expected.json
  fail2ban       labels.jsonl + <family>/<filter> (fail2ban's failJSON annotations)
  vigie          *.jsonl of Fixture records (what --export writes, and the project's own)

Nothing here imports the parsers: readers only read files.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml


@dataclass
class Fixture:
    """One upstream sample line and what upstream expects from it."""

    product: str  # postfix, exim, cisco_asa, fortigate, globalprotect, openvpn, apache, nginx, iis, squid
    source: str  # sekoia, postfix-grok-patterns, logstash-patterns-core, elastic, fail2ban, vigie
    fid: str  # where in the source (file[:line])
    line: str
    expected: dict[str, Any] = field(default_factory=dict)
    program: str | None = None  # syslog program for a rebuilt header (upstream gave the message only)
    timezone: str = "UTC"  # zone upstream read local times in

    def as_json(self) -> str:
        """The fixture as one line of JSON (the project's fixture files)."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> dotted keys (lists and scalars kept)."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


# ---------------------------------------------------------------------------------------------
# Sekoia intake formats
# ---------------------------------------------------------------------------------------------

SEKOIA_PRODUCTS = {"Postfix/postfix": "postfix", "OpenVPN/openvpn": "openvpn", "Fortinet/fortigate": "fortigate",
                   "Palo Alto Networks/paloalto-ngfw": "globalprotect", "Cisco/cisco-secure-firewall": "cisco_asa",
                   "Squid/squid": "squid", "NGINX/nginx": "nginx", "Apache/apache": "apache",
                   "Microsoft/microsoft-iis": "iis"}
_GP_LINE = re.compile(r",GLOBALPROTECT,|,SYSTEM,(?:globalprotect|auth),|\|GLOBALPROTECT\|")


def read_sekoia(root: Path) -> Iterator[Fixture]:
    """Sekoia intake tests of the products Vigie reads. JSON-encoded inputs (a collector's
    re-encoding) are left out; for globalprotect only GlobalProtect records are kept."""
    for folder, product in SEKOIA_PRODUCTS.items():
        for path in sorted((root / folder / "tests").glob("*.json")):
            test = json.loads(path.read_text(encoding="utf-8"))
            message = test.get("input", {}).get("message")
            if not isinstance(message, str) or message.lstrip().startswith("{"):
                continue
            if product == "globalprotect" and not _GP_LINE.search(message):
                continue
            program = flatten(test.get("input", {})).get("log.syslog.appname")
            yield Fixture(product, "sekoia", f"{folder}/tests/{path.name}", message,
                          flatten(test.get("expected", {})), program=program or _DEFAULT_PROGRAM.get(product))


_DEFAULT_PROGRAM = {"postfix": "postfix/smtpd", "openvpn": "openvpn", "cisco_asa": None}


# ---------------------------------------------------------------------------------------------
# postfix-grok-patterns (BSD-3-Clause)
# ---------------------------------------------------------------------------------------------

_KV = re.compile(r"(?:^|[\s,])([\w-]+)=([^,\s]*(?:\([^)]*\))?)")


def read_postfix_grok(root: Path) -> Iterator[Fixture]:
    """test/*.yaml: the grok pattern names the program (POSTFIX_SMTPD -> postfix/smtpd); the
    key=value data that the project's Logstash configuration splits with its kv filter (prefix
    postfix_, values trimmed of <>,) are split the same way."""
    for path in sorted((root / "test").glob("*.yaml")):
        test = yaml.safe_load(path.read_text(encoding="utf-8"))
        found = re.search(r"POSTFIX_([A-Z_]+)", str(test.get("pattern", "")))
        if not found or not isinstance(test.get("data"), str):
            continue
        program = "postfix/" + found.group(1).lower().replace("_", "-")
        expected = dict(test.get("results") or {})
        for key, value in _KV.findall(str(expected.get("postfix_keyvalue_data") or "")):
            expected.setdefault("postfix_" + key.replace("-", ""), value.strip("<>,"))
        yield Fixture("postfix", "postfix-grok-patterns", f"test/{path.name}", test["data"], expected,
                      program=program)


# ---------------------------------------------------------------------------------------------
# logstash-patterns-core (Apache-2.0): RSpec files, ECS expectations
# ---------------------------------------------------------------------------------------------

LOGSTASH_SPECS = {"exim_spec.rb": "exim", "firewalls_spec.rb": "cisco_asa", "httpd_spec.rb": "apache",
                  "squid_spec.rb": "squid"}
_RUBY_STRING = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)\"""")


def _ruby_strings(text: str) -> str:
    """The concatenation of the Ruby string literals in `text` ('...' + "...")."""
    parts = []
    for single, double in _RUBY_STRING.findall(text):
        if double or not single:
            parts.append(double.encode().decode("unicode_escape") if "\\" in double else double)
        else:
            parts.append(single.replace("\\'", "'").replace("\\\\", "\\"))
    return "".join(parts)


def _balanced(text: str, start: int) -> int:
    """Index just after the bracket expression opening at text[start]."""
    depth, i, quote = 0, start, None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def _ruby_hash(expression: str) -> dict[str, Any] | None:
    """A Ruby hash literal ("a"=>{"b"=>1}, hash_including(...)) -> a flat dict, or None."""
    text = expression.strip()
    while "hash_including(" in text:
        start = text.index("hash_including(")
        end = _balanced(text, start + len("hash_including"))
        text = text[:start] + "{" + text[start + len("hash_including("):end - 1] + "}" + text[end:]
    if text.startswith("(") and _balanced(text, 0) == len(text):
        text = text[1:-1].strip()
    if not text.startswith("{"):
        text = "{" + text + "}"
    text = re.sub(r"=>", ":", text)
    text = re.sub(r"\bnil\b", "None", re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", text)))
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return flatten(value) if isinstance(value, dict) else None


def _ecs_expectations(block: str) -> dict[str, Any]:
    """The `include` expectations of the ECS branches (`if ecs_compatibility?`) of an RSpec block."""
    expected: dict[str, Any] = {}
    for branch in re.finditer(r"if ecs_compatibility\?(.*?)(?:\n\s*else\b|\n\s*end\b)", block, re.S):
        body = branch.group(1)
        for found in re.finditer(r"expect\((?:grok|subject)\)\.to include\s*", body):
            start = found.end()
            end = _balanced(body, start) if body[start] in "({" else body.find("\n", start)
            parsed = _ruby_hash(body[start:end if end > 0 else None])
            if parsed:
                expected.update(parsed)
    return expected


def read_logstash(root: Path) -> Iterator[Fixture]:
    """spec/patterns/<name>_spec.rb: each `let(:message)` with the ECS expectations that follow it."""
    for name, product in LOGSTASH_SPECS.items():
        path = root / "spec" / "patterns" / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        lets = list(re.finditer(r"let\(:message\)\s*(?:\{(.*?)\}|do(.*?)\n\s*end)", text, re.S))
        for number, found in enumerate(lets):
            end = lets[number + 1].start() if number + 1 < len(lets) else len(text)
            message = _ruby_strings(found.group(1) or found.group(2) or "")
            expected = _ecs_expectations(text[found.end():end])
            if message:
                line = text.count("\n", 0, found.start()) + 1
                yield Fixture(product, "logstash-patterns-core", f"spec/patterns/{name}:{line}", message, expected)


# ---------------------------------------------------------------------------------------------
# Elastic integrations pipeline tests (Elastic License 2.0: measure only, never commit)
# ---------------------------------------------------------------------------------------------

ELASTIC_PACKAGES = {"cisco_asa": "cisco_asa", "cisco_ftd": "cisco_asa", "fortinet_fortigate": "fortigate",
                    "panw": "globalprotect", "apache": "apache", "nginx": "nginx", "iis": "iis"}


def read_elastic(root: Path) -> Iterator[Fixture]:
    """packages/<pkg>/data_stream/*/_dev/test/pipeline/<test>.log with <test>.log-expected.json
    (one expected document per line, in order)."""
    for package, product in ELASTIC_PACKAGES.items():
        for log in sorted((root / "packages" / package).glob("data_stream/*/_dev/test/pipeline/*.log")):
            expected_path = log.with_name(log.name + "-expected.json")
            if not expected_path.is_file():
                continue
            documents = json.loads(expected_path.read_text(encoding="utf-8")).get("expected", [])
            lines = log.read_text(encoding="utf-8").splitlines()
            for number, (line, document) in enumerate(zip(lines, documents), 1):
                if product == "globalprotect" and not _GP_LINE.search(line):
                    continue
                yield Fixture(product, "elastic", f"{log.relative_to(root)}:{number}", line, flatten(document or {}))


# ---------------------------------------------------------------------------------------------
# fail2ban filter tests (GPL-2.0-or-later: measure only)
# ---------------------------------------------------------------------------------------------

FAIL2BAN_FILES = {"mail/postfix": "postfix", "mail/exim": "exim", "mail/exim-spam": "exim", "vpn/openvpn": "openvpn"}


def read_fail2ban(root: Path) -> Iterator[Fixture]:
    """labels.jsonl annotations (time read in Europe/Zurich, host) of the files of our products."""
    labels: dict[tuple[str, int], dict] = {}
    for raw in (root / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(raw)
        labels[(record["file"], int(record["line"]))] = record
    for relative, product in FAIL2BAN_FILES.items():
        path = root / relative
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            label = labels.get((relative, number))
            if label is None:
                continue
            expected = {k: label[k] for k in ("time", "host") if label.get(k) is not None}
            yield Fixture(product, "fail2ban", f"{relative}:{number}", line, expected, timezone="Europe/Zurich")


# ---------------------------------------------------------------------------------------------
# Fixture files (JSON lines)
# ---------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[Fixture]:
    """Fixture records, one JSON object per line (blank lines and # comments ignored)."""
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            yield Fixture(**json.loads(raw))


def discover(folder: Path) -> Iterator[Fixture]:
    """Every fixture under `folder`, whatever the layouts it holds (searched two levels deep)."""
    candidates = [folder] + [p for p in sorted(folder.iterdir()) if p.is_dir()] if folder.is_dir() else []
    candidates += [q for p in candidates[1:] for q in sorted(p.iterdir()) if q.is_dir()]
    for root in candidates:
        if any((root / name / "tests").is_dir() for name in SEKOIA_PRODUCTS):
            yield from read_sekoia(root)
        if (root / "test").is_dir() and any((root / "test").glob("*.yaml")) and (root / "LICENSE").is_file():
            yield from read_postfix_grok(root)
        if (root / "spec" / "patterns").is_dir():
            yield from read_logstash(root)
        if (root / "packages").is_dir():
            yield from read_elastic(root)
        if (root / "labels.jsonl").is_file():
            yield from read_fail2ban(root)
        for path in sorted(root.glob("*.jsonl")):
            if path.name != "labels.jsonl":
                yield from read_jsonl(path)
