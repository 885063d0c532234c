"""Test helpers for incident reports and handoff: the hand-written records and hostile variants."""
from __future__ import annotations

import copy
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "incidents"
CAMPAIGN_ID = "inc-3f9c1a7e52b04d18a6e0c2d9"
WEB_ID = "inc-a41d07c9e3f25b6810d4e7aa"

# What an attacker can put in a user agent, a subject, an account name or a raw line.
SCRIPT = "<script>document.body.setAttribute('data-pwned','script')</script>"
IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
SVG_ONLOAD = "<svg onload=\"document.body.setAttribute('data-pwned','svg')\"></svg>"
TEMPLATE_EXPR = "{{ 7*7 }}"
TEMPLATE_STMT = "{% for x in range(3) %}LOOP{% endfor %}"
TEMPLATE_ESCAPE = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
BIDI = "invoice\u202eexe.pdf"                    # RIGHT-TO-LEFT OVERRIDE
ISOLATE = "admin\u2066\u2069root"                 # isolates
CONTROL = "ok\x1b[31mRED\x1b[0m\x07\r\nInjected: yes"  # ANSI escape, bell, CR LF
ZERO_WIDTH = "c.ber\u200bnard"
MD_LINK = "[cliquez ici](javascript:alert(1))"
MD_IMAGE = "![x](https://attacker.example/pixel.png)"
MD_HTML_ENTITY = "&#x202E;&lt;b&gt;"
HOSTILE = [SCRIPT, IMG, SVG_ONLOAD, TEMPLATE_EXPR, TEMPLATE_STMT, TEMPLATE_ESCAPE, BIDI, ISOLATE,
           CONTROL, ZERO_WIDTH, MD_LINK, MD_IMAGE, MD_HTML_ENTITY]


def load(name: str) -> dict:
    """One fixture record by file stem ("campaign", "web-attack")."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def both() -> list[dict]:
    """The two scenario incidents, web attack first (so sorting by severity is tested)."""
    return [load("web-attack"), load("campaign")]


def hostile_incident() -> dict:
    """The web attack with attacker text in every place that comes from logs: user agents and
    raw lines, mail subjects, account and mailbox names, rule names, score details, targets."""
    record = copy.deepcopy(load("web-attack"))
    record["incident.id"] = "inc-0000000000000000000000ff"
    record["incident.severity"] = 2
    payload = " ".join(HOSTILE)
    record["incident.title"] = f"Hostile {payload}"
    record["incident.entities"]["accounts"] = [SCRIPT, ZERO_WIDTH, BIDI, TEMPLATE_EXPR]
    record["incident.entities"]["mailboxes"] = [f"{IMG}@chu-exemple.fr", MD_LINK]
    record["incident.entities"]["hosts"] = [SVG_ONLOAD, CONTROL]
    record["incident.entities"]["domains"] = [MD_IMAGE, "www.attacker.example"]
    record["incident.entities"]["assets"] = [{"name": TEMPLATE_STMT, "criticality": SCRIPT}]
    record["incident.score_parts"].append({"name": TEMPLATE_ESCAPE, "points": 1, "detail": payload})
    for i, evidence in enumerate(record["incident.evidence"]):
        evidence["event.original"] = (
            f'45.137.21.9 - - [27/Nov/2026:20:05:10 +0100] "GET /?q={HOSTILE[i % len(HOSTILE)]} HTTP/1.1" '
            f'200 54 "-" "{payload}" subject="{TEMPLATE_EXPR} {BIDI}" user="{ISOLATE}"')
        evidence["rule.name"] = HOSTILE[(i + 3) % len(HOSTILE)]
        evidence["log.file.path"] = f"/srv/logs/{MD_LINK}"
        evidence["event.id"] = f"{evidence['event.id']}{BIDI}\"><b>{i}"   # ids are data too
    record["incident.signals"][0]["rule.name"] = MD_IMAGE
    record["incident.actions"].append({"id": "reset-accounts", "targets": [SCRIPT, BIDI, CONTROL]})
    record["incident.attack_chain"][0]["rule.name"] = SVG_ONLOAD
    return record
