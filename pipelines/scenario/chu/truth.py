"""truth.json: every line the attack wrote (per step), the context lines a detection needs, the
incidents a correlator should raise and the results the shipped correlation rules should give.
See the package docstring for the layout."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Iterable

from pipelines.scenario.chu.attack import ATTACKER_SERVER, VICTIM_OWN_SESSION, Attack
from pipelines.scenario.chu.clock import DATE, END_MS, START_MS, TIMEZONE, iso_utc
from pipelines.scenario.chu.logfiles import FILES, Record
from pipelines.scenario.chu.world import WWW_HOST


def merge_entities(*entity_maps: dict[str, list[str]]) -> dict[str, list[str]]:
    """Union of entity lists, first occurrence order."""
    keys = ("users", "source_ips", "mail_addresses", "hosts")
    return {k: list(dict.fromkeys(v for m in entity_maps for v in m[k])) for k in keys}


def truth_steps(attack: Attack, numbered: dict[str, list[Record]]) -> list[dict[str, Any]]:
    """The attack steps with their exact line references and time spans."""
    refs: dict[str, list[dict[str, Any]]] = {s.id: [] for s in attack.steps}
    times: dict[str, list[int]] = {s.id: [] for s in attack.steps}
    for f in FILES:
        for number, (t, _, tag) in enumerate(numbered[f.path], 1):
            if tag and not tag.startswith("context:"):
                refs[tag].append({"file": f.path, "line": number})
                times[tag].append(t)
    return [{"id": s.id, "title": s.title, "attack": list(s.attack),
             "start": iso_utc(min(times[s.id])), "end": iso_utc(max(times[s.id])),
             "entities": s.entities, "indicators": s.indicators, "lines": refs[s.id]}
            for s in attack.steps]


def truth_context(numbered: dict[str, list[Record]]) -> list[dict[str, Any]]:
    """Lines the attack did not write but that a detection needs (the victim's own session)."""
    refs = [{"file": f.path, "line": number} for f in FILES
            for number, (_, _, tag) in enumerate(numbered[f.path], 1)
            if tag == f"context:{VICTIM_OWN_SESSION}"]
    return [{"id": VICTIM_OWN_SESSION,
             "title": "The phished clinician's own VPN tunnel from home, before the attacker's "
                      "from abroad: with it, the attacker's login is impossible travel",
             "lines": refs}]


def expected_incidents(attack: Attack, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The two incidents a correlator should raise (see the package docstring)."""
    by_id = {s["id"]: s for s in steps}

    def incident(ident: str, title: str, chain: tuple[str, ...], related: str) -> dict[str, Any]:
        parts = [by_id[i] for i in chain]
        return {"id": ident, "title": title, "severity": "critical", "steps": list(chain),
                "attack": list(dict.fromkeys(a for p in parts for a in p["attack"])),
                "start": min(p["start"] for p in parts), "end": max(p["end"] for p in parts),
                "entities": merge_entities(*(p["entities"] for p in parts)), "related": [related]}

    victim = attack.victim.login
    return [
        incident("account-compromise", f"Account {victim} compromised: phishing, VPN access "
                 f"from abroad, mass mailing", ("phishing", "vpn-credential-use", "mass-mailing"),
                 "website-compromise"),
        incident("website-compromise", f"Public web site {WWW_HOST} compromised: scan, SQL "
                 f"injection, path traversal, web shell", ("web-scan", "web-exploitation"),
                 "account-compromise"),
    ]


# mail_account_mass_mailing's threshold: distinct outside recipients of one account in an hour.
MASS_MAILING_RECIPIENTS = 50


def expected_correlations(attack: Attack, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results the shipped correlation rules (detections/correlations/) should give on this
    scenario, derived from what the attack did: for each, the rule's name, its group-by value
    (the entity the crisis cell acts on), the attack steps whose lines make it, the expected
    incident it belongs to, the time span of those steps (the result completes inside it) and
    why the attack completes it. The background never does (see the package docstring: it
    stays clear of the attacker's addresses and of the accounts the attack touches), so these
    are all the alerts a replay should give. The background completes no building block either:
    vpn_password_guessing counts only failures of the hospital's own accounts, not the
    scanners' 'admin' or 'administrator' (tests/test_scenario_correlations.py)."""
    by_id = {s["id"]: s for s in steps}
    victim = attack.victim.login
    vpn_from = by_id["vpn-credential-use"]["entities"]["source_ips"][0]
    scan_from = by_id["web-scan"]["entities"]["source_ips"][0]
    phished = by_id["phishing"]["entities"]["users"]
    tried = by_id["vpn-credential-use"]["entities"]["users"]
    mass = by_id["mass-mailing"]["entities"]["mail_addresses"]
    recipients = len(mass) - 1  # the first address is the victim's own, the sender

    def expect(rule: str, field: str, value: str, chain: tuple[str, ...], incident: str,
               why: str) -> dict[str, Any]:
        parts = [by_id[i] for i in chain]
        return {"rule": rule, "group_by": {field: value}, "steps": list(chain),
                "incident": incident, "start": min(p["start"] for p in parts),
                "end": max(p["end"] for p in parts), "why": why}

    account, website = "account-compromise", "website-compromise"
    out = []
    if victim in tried:
        out.append(expect("vpn_failed_logins_then_foreign_login", "user.name", victim,
                          ("vpn-credential-use",), account,
                          f"{victim}'s password fails on the FortiGate from {vpn_from}, then "
                          f"its tunnel opens from there (abroad, and too far from its home "
                          f"session an hour before)"))
    out.append(expect("vpn_address_failures_then_foreign_login", "source.ip", vpn_from,
                      ("vpn-credential-use",), account,
                      f"{vpn_from} fails logins for {len(tried)} accounts, then opens "
                      f"{victim}'s tunnel from abroad"))
    if victim in phished:
        out.append(expect("phishing_then_foreign_vpn_login", "account", victim,
                          ("phishing", "vpn-credential-use"), account,
                          f"the look-alike payroll mail reaches {victim}'s mailbox, then "
                          f"{victim} logs in to the VPN from abroad"))
    if recipients >= MASS_MAILING_RECIPIENTS:
        out.append(expect("mail_account_mass_mailing", "user.name", victim, ("mass-mailing",),
                          account, f"{victim} (SASL, from the tunnel) mails {recipients} "
                                   f"outside addresses in batches within minutes"))
        out.append(expect("vpn_foreign_login_then_mass_mailing", "user.name", victim,
                          ("vpn-credential-use", "mass-mailing"), account,
                          f"{victim}'s foreign VPN login, then its mass mailing"))
        if victim in phished:
            out.append(expect("account_compromise_phishing_vpn_mass_mailing", "account", victim,
                              ("phishing", "vpn-credential-use", "mass-mailing"), account,
                              f"phishing then foreign login of {victim}, then its mass "
                              f"mailing"))
    out.append(expect("web_vulnerability_scan", "source.ip", scan_from, ("web-scan",), website,
                      f"Nikto from {scan_from}: {len(by_id['web-scan']['lines'])} probes within "
                      f"minutes"))
    out.append(expect("web_scan_then_exploitation", "source.ip", scan_from,
                      ("web-scan", "web-exploitation"), website,
                      f"the scan from {scan_from}, then sqlmap's injections from the same "
                      f"address"))
    out.append(expect("web_shell_upload_then_use", "source.ip", ATTACKER_SERVER,
                      ("web-exploitation",), website,
                      f"{ATTACKER_SERVER} uploads a PHP file with python-requests, then "
                      f"requests the shell and sends commands through it"))
    return out


def truth_document(seed: int, events: int, attack: Attack,
                   numbered: dict[str, list[Record]]) -> dict[str, Any]:
    """truth.json's content: the scenario's header, its files and their line counts, the attack
    steps with their lines, the context lines and the expected incidents."""
    steps = truth_steps(attack, numbered)
    return {
        "scenario": "chu", "seed": seed, "events": events, "timezone": TIMEZONE,
        "date": DATE.isoformat(), "start": iso_utc(START_MS), "end": iso_utc(END_MS),
        "files": {f.path: {"format": f.format, "family": f.family,
                           "lines": len(numbered[f.path])} for f in FILES},
        "attack_steps": steps,
        "context": truth_context(numbered),
        "expected_incidents": expected_incidents(attack, steps),
        "expected_correlations": expected_correlations(attack, steps),
    }


def line_origins(scenario_dir: Path, refs: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
    """Where each truth.json line reference ({"file", "line"}) is, as events carry it: the file's
    resolved path (log.file.path) and the byte offset of the line's start (log.offset)."""
    offsets: dict[str, list[int]] = {}
    origins = []
    for ref in refs:
        path = Path(scenario_dir) / ref["file"]
        if ref["file"] not in offsets:
            lengths = (len(line) + 1 for line in path.read_bytes().split(b"\n"))
            offsets[ref["file"]] = list(itertools.accumulate(lengths, initial=0))
        origins.append((str(path.resolve()), offsets[ref["file"]][ref["line"] - 1]))
    return origins
