"""Signal rows and an inventory for incident tests: the hospital evening in miniature.

`signal(rule, minute, **fields)` builds a signal row as the detection engine (or the
correlation engine, for correlation rules) would, with a deterministic signal.id; `campaign()`
is the attack (phishing -> VPN login from abroad -> mass mailing, and a web attack from a Tor
exit and from the attacker's server), `noise()` the Internet's background (scanners rattling
the VPN with dictionary accounts, probing the web site, a DMARC-failing newsletter).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from pipelines.enrichment.inventory import Inventory, load_inventory

T0 = dt.datetime(2026, 11, 27, 17, 0, tzinfo=dt.timezone.utc)
ATTACKER = "45.137.21.9"
TOR_EXIT = "185.220.101.47"
TUNNEL = "10.212.134.200"
VICTIM_MAILBOX = "christophe.fernandez@chu-exemple.fr"
PHISH_SENDER = "paie@chu-exemple-rh.fr"

# rule key -> (rule.name, rule.level, rule.tags, event.dataset, correlation type)
RULES = {
    "lookalike": ("Mail From a Look-Alike Domain", "high",
                  ["attack.initial-access", "attack.t1566.001", "attack.resource-development", "attack.t1583.001"],
                  "mail.postfix", None),
    "lure": ("Lure Subject", "medium", ["attack.initial-access", "attack.t1566.001"], "mail.postfix", None),
    "attachment": ("Unauthenticated Mail With Attachment", "medium",
                   ["attack.initial-access", "attack.t1566.001"], "mail.postfix", None),
    "dmarc": ("Inbound Mail Failing DMARC", "low", ["attack.initial-access", "attack.t1566"], "mail.postfix", None),
    "vpn-fail": ("VPN Login Failure", "low",
                 ["attack.credential-access", "attack.t1110.001", "attack.initial-access", "attack.t1078"],
                 "vpn.fortigate", None),
    "vpn-abroad": ("VPN Login From an Unusual Country", "high",
                   ["attack.initial-access", "attack.persistence", "attack.t1078", "attack.t1133"],
                   "vpn.fortigate", None),
    "vpn-night": ("VPN Session at Night", "medium", ["attack.initial-access", "attack.t1133"], "vpn.fortigate", None),
    "vpn-anonymizer": ("VPN Session From an Anonymiser", "medium",
                       ["attack.defense-evasion", "attack.t1090.003"], "vpn.fortigate", None),
    "bulk": ("Authenticated Bulk Outbound Mail", "high",
             ["attack.initial-access", "attack.t1078", "attack.t1566.001"], "mail.postfix", None),
    "web-tool": ("Web Attack Tool User-Agent", "high", ["attack.reconnaissance", "attack.t1595.002"],
                 "web.apache_combined", None),
    "web-probe": ("Probe for Sensitive Files", "low", ["attack.reconnaissance", "attack.t1595.003"],
                  "web.apache_combined", None),
    "web-sqli": ("SQL Injection", "medium", ["attack.initial-access", "attack.t1190"], "web.apache_combined", None),
    "web-shell": ("Web Shell Access", "high",
                  ["attack.persistence", "attack.t1505.003", "attack.execution", "attack.t1059.004"],
                  "web.apache_combined", None),
    "proxy-script": ("Script Download From a Bare Address", "high",
                     ["attack.execution", "attack.command-and-control", "attack.t1105"], "web.squid", None),
    "brute-then-success": ("Failures Then Success From One Address", "medium",
                           ["attack.credential-access", "attack.t1110"], "vpn.fortigate", "temporal_ordered"),
    "many-failures": ("Many VPN Failures", "low", ["attack.credential-access", "attack.t1110"],
                      "vpn.fortigate", "event_count"),
}
LOG_FILES = {"mail.postfix": "/logs/mail/maillog", "vpn.fortigate": "/logs/vpn/fortigate.log",
             "web.apache_combined": "/logs/web/www-access.log", "web.squid": "/logs/web/proxy-access.log"}
OBSERVERS = {"mail.postfix": "mx1", "vpn.fortigate": "FGT-CHU-01", "web.squid": "proxy"}

INVENTORY = """\
usual_countries: [FR]
mail_domains: [chu-exemple.fr]
internal_networks: [193.51.24.0/24]
accounts:
  - {name: cfernandez2, roles: [physician], department: REA, email: christophe.fernandez@chu-exemple.fr}
  - {name: nlouis2, roles: [physician], email: nicolas.louis2@chu-exemple.fr}
  - {name: dg, roles: [direction], email: directeur.general@chu-exemple.fr, vip: true}
  - {name: jadmin, roles: [it-admin], admin: true, email: j.admin@chu-exemple.fr}
  - {name: administrateur, roles: [built-in], admin: true, disabled: true}
  - {name: svc-backup, roles: [application], service_account: true}
  - {name: pmartin, roles: [nurse], email: p.martin@chu-exemple.fr}
assets:
  - {name: site-public-www, criticality: high, hostnames: [www.chu-exemple.fr], networks: [193.51.24.10/32],
     log_files: ["*www-access.log"]}
  - {name: portail-patients, criticality: high, hostnames: [portail.chu-exemple.fr], personal_data: true}
  - {name: passerelle-mail-mx1, criticality: high, hostnames: [mx1], networks: [10.10.0.25/32]}
  - {name: vpn-fortigate, criticality: high, hostnames: [FGT-CHU-01]}
  - {name: dpi, criticality: critical, hostnames: [dpi.chu.local], networks: [10.10.5.21/32]}
"""


def inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY, encoding="utf-8")
    return load_inventory([str(path)])


_counter = {"n": 0}


def signal(rule: str, minute: float, *, sid: str | None = None, **fields) -> dict:
    """A signal row of `rule` at T0 + `minute`; fields use ECS names with '_' for '.'
    (source_ip=..., user_name=..., email_to_address=[...])."""
    name, level, tags, dataset, correlation = RULES[rule]
    at = T0 + dt.timedelta(minutes=minute)
    body = {k.replace("__", "@").replace("_", "."): v for k, v in fields.items()}
    event_id = body.pop("event.id", None) or hashlib.blake2b(
        f"{rule}|{minute}|{sorted(body.items())}".encode(), digest_size=8).hexdigest()
    row = {
        "signal.id": sid or hashlib.blake2b(f"{rule}|{event_id}".encode(), digest_size=16).hexdigest(),
        "@timestamp": at, "event.kind": "signal", "rule.id": f"rule-{rule}", "rule.name": name,
        "rule.level": level, "rule.tags": tags, "rule.description": "A long description " * 20,
        "event.id": event_id, "event.dataset": dataset, "log.file.path": LOG_FILES[dataset],
        "log.offset": int(minute * 1000), "observer.hostname": OBSERVERS.get(dataset),
        "source.ip": None, "user.name": None, "email.from.address": None, "email.to.address": None,
        "url.domain": None, "host.hostname": None,
    }
    if correlation:
        row["vigie.correlation.type"] = correlation
    row.update(body)
    return row


def campaign() -> list[dict]:
    """The attack: phishing to the victim and others (17:05), VPN guessing then a login from
    abroad for the victim (18:06-18:15), a web attack from a Tor exit then the attacker's server
    (18:41-19:25), mass mailing from the victim's mailbox through the tunnel (20:18-20:40)."""
    recipients = [VICTIM_MAILBOX, "nicolas.louis2@chu-exemple.fr", "directeur.general@chu-exemple.fr"]
    mail = dict(source_ip=ATTACKER, email_from_address=[PHISH_SENDER], email_to_address=recipients)
    rows = [signal("lookalike", 5, source_ip=ATTACKER),
            signal("lure", 5.1, **mail), signal("attachment", 5.1, **mail), signal("dmarc", 5.1, **mail),
            signal("lure", 7.2, **{**mail, "email_to_address": ["p.martin@chu-exemple.fr"]})]
    rows += [signal("vpn-fail", 66 + i, source_ip=ATTACKER, user_name=u)
             for i, u in enumerate(["nlouis2", "administrateur", "cfernandez2"])]
    rows.append(signal("vpn-abroad", 75, source_ip=ATTACKER, user_name="cfernandez2"))
    rows += [signal("web-tool", 101 + i / 10, source_ip=TOR_EXIT) for i in range(30)]
    rows += [signal("web-probe", 102 + i / 10, source_ip=TOR_EXIT) for i in range(5)]
    rows += [signal("web-sqli", 112 + i, source_ip=TOR_EXIT) for i in range(3)]
    rows += [signal("web-shell", 134 + i, source_ip=ATTACKER) for i in range(4)]
    rows += [signal("bulk", 198 + 3 * i, source_ip=TUNNEL, user_name="cfernandez2",
                    email_from_address=[VICTIM_MAILBOX],
                    email_to_address=[f"someone{i * 20 + j}@gmail.com" for j in range(20)]) for i in range(8)]
    return rows


def noise() -> list[dict]:
    """The Internet's background: scanners from many addresses trying dictionary accounts on
    the VPN (low), probing the web site (low), a newsletter failing DMARC (low)."""
    rows = []
    names = ["admin", "test", "vpn", "guest", "user", "support"]
    for i in range(60):
        scanner = f"162.142.125.{10 + i % 30}"
        rows.append(signal("vpn-fail", 2 + i * 5, source_ip=scanner, user_name=names[i % len(names)]))
        rows.append(signal("web-probe", 3 + i * 5, source_ip=scanner))
    for i in range(3):
        rows.append(signal("dmarc", 30 + i * 60, source_ip="193.252.22.140",
                           email_from_address=["news@lettre-info.example"], email_to_address=["p.martin@chu-exemple.fr"]))
    return rows
