"""New rules from a template, and the placeholders that say a rule or test is not written yet.

In: a log family (web, mail, vpn), a rule name, today's date, a fresh id. Out: the YAML text of
a rule and of its `.tests.yml` file. Every value the engineer must write holds the placeholder
`CHANGE-ME`; `placeholders()` finds them in parsed YAML, so `vigie rules check` and
`vigie rules test` fail until the rule and its test cases are filled in.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDER = "CHANGE-ME"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
FAMILY_TEMPLATES: dict[str, dict[str, str]] = {
    "web": {"logsource": "category: webserver", "field": "cs-uri-query|contains",
            "event_field": "url.query", "tactic": "initial-access", "technique": "t1190",
            "dataset": "web.apache_combined", "no_match": "q=hello"},
    "mail": {"logsource": "category: mail", "field": "email.subject|contains",
             "event_field": "email.subject", "tactic": "initial-access", "technique": "t1566.001",
             "dataset": "mail.postfix", "no_match": "Ordre du jour"},
    "vpn": {"logsource": "category: vpn", "field": "user.name|startswith",
            "event_field": "user.name", "tactic": "initial-access", "technique": "t1133",
            "dataset": "vpn.openvpn", "no_match": "jdupont"},
}


def rule_template(family: str, name: str, today: dt.date, rule_id: str) -> tuple[str, str]:
    """The YAML of a new rule of `family` and of its test file, placeholders included."""
    t = FAMILY_TEMPLATES[family]
    title = " ".join(word.capitalize() for word in name.split("_") if word)
    rule = f"""title: {title}
id: {rule_id}
status: experimental
description: {PLACEHOLDER} - what this rule detects, and why it matters during an attack on the hospital.
references:
    - https://{PLACEHOLDER}.example/advisory-or-write-up
author: {PLACEHOLDER} (your name)
date: {today.isoformat()}
tags:  # check them: the ATT&CK tactic and technique this rule detects
    - attack.{t['tactic']}
    - attack.{t['technique']}
logsource:
    {t['logsource']}
detection:
    selection:
        {t['field']}: '{PLACEHOLDER}'
    condition: selection
falsepositives:
    - Unknown
level: medium
"""
    tests = f"""# Test cases of {name}.yml, run by `vigie rules test`. Give an ECS event (`event:`) or a raw
# log line with its format (`line:` + `format:`, e.g. format: apache_combined). A case that still
# holds {PLACEHOLDER} fails until it is written.
match:
  - name: {PLACEHOLDER} an event the rule must flag
    event: {{{t['event_field']}: "{PLACEHOLDER}", event.dataset: {t['dataset']}}}
no_match:
  - name: {PLACEHOLDER} an ordinary event
    event: {{{t['event_field']}: "{t['no_match']}", event.dataset: {t['dataset']}}}
"""
    return rule, tests


def placeholders(value: Any, where: str = "") -> list[str]:
    """The dotted keys (list positions as [k]) of every string holding PLACEHOLDER in a parsed
    YAML value; keys holding it count too."""
    found: list[str] = []
    if isinstance(value, str):
        return [where or "(value)"] if PLACEHOLDER in value else []
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if PLACEHOLDER in str(key):
                found.append(path)
            found += placeholders(item, path)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            found += placeholders(item, f"{where}[{k}]")
    return found


def file_placeholders(path: Path) -> list[str]:
    """placeholders() of every YAML document of a file (document k > 1 prefixed `#k`); empty when
    the file cannot be read or parsed (the loader and the test runner report that)."""
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    found: list[str] = []
    for k, document in enumerate(documents, 1):
        prefix = f"#{k} " if len(documents) > 1 else ""
        found += [prefix + key for key in placeholders(document)]
    return found
