"""TheHive 5 destination: one alert per incident; a re-send updates it instead of duplicating.

In: a Rendered incident. Out: a TheHive 5 alert (API v1) with type "vigie-incident", source
"vigie", sourceRef = incident.id, the localised title, the Markdown report as description,
severity 1-4, TLP/PAP amber, tags (kind, severity, services, datasets, ATT&CK tactics and
techniques as `attack.*`), observables with ioc flags, and the ATT&CK chain as procedures.

TheHive refuses to create a second alert with the same type + source + sourceRef, and its
create call cannot update. So delivery looks the alert up first (POST /api/v1/query: listAlert
filtered on type, source and sourceRef) and then either creates it (POST /api/v1/alert) or
updates it (PATCH /api/v1/alert/{id}: title, description, severity, tags, lastSyncDate) and adds
the observables and procedures it lacks (POST .../observable, .../procedure). If a create is
refused because the alert appeared in between, it is looked up again and updated. Alert `type`
stays constant for an incident's whole life (its kind can grow from "phishing" to "campaign"):
the kind is a tag, so the unique key never changes.

IOC flags: an address the record says to block (action block-addresses), a domain it says to
block (block-sender-domain) and a mailbox at such a domain are IOCs; victims' accounts,
mailboxes and hosts are observables without the flag. Internal addresses are tagged `internal`.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Iterable

import orjson

from pipelines.errors import VigieError
from pipelines.reports.text import visible
from pipelines.reports.timeline import parse_time
from pipelines.sinks.delivery import DeliveryError
from pipelines.sinks.handoff.base import Rendered
from pipelines.sinks.handoff.httpclient import public_url, raise_for_status, request

ALERT_TYPE = "vigie-incident"
SOURCE = "vigie"
TLP_AMBER = 2
PAP_AMBER = 2


def _ms(value: object) -> int | None:
    t = parse_time(value)
    return int(t.timestamp() * 1000) if t else None


def _targets(record: dict, action_id: str) -> set[str]:
    out: set[str] = set()
    for action in record.get("incident.actions") or []:
        if isinstance(action, dict) and action.get("id") == action_id:
            out.update(str(t) for t in action.get("targets") or [])
    return out


def _is_internal(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local


def observables(record: dict) -> list[dict]:
    """The record's entities as TheHive observables (dataType, data, ioc, tags, message)."""
    entities = record.get("incident.entities") or {}
    blocked_ips = _targets(record, "block-addresses")
    blocked_domains = {d.lower() for d in _targets(record, "block-sender-domain")}
    incident_tag = f"vigie:incident={record.get('incident.id')}"
    out: list[dict] = []
    seen: set[tuple[str, str]] = set()

    def add(data_type: str, value: object, ioc: bool, tags: list[str], message: str) -> None:
        if value is None or value == "":
            return
        data = str(value)
        if (data_type, data) in seen:
            return
        seen.add((data_type, data))
        out.append({"dataType": data_type, "data": data, "ioc": ioc, "sighted": True,
                    "tags": ["vigie", incident_tag, *tags], "message": message})

    for ip in entities.get("source_ips") or []:
        internal = _is_internal(str(ip))
        add("ip", ip, str(ip) in blocked_ips, ["internal"] if internal else ["external"],
            "attacker address to block" if str(ip) in blocked_ips else "address seen in the incident")
    for domain in entities.get("domains") or []:
        add("domain", domain, str(domain).lower() in blocked_domains, [],
            "sender domain to block" if str(domain).lower() in blocked_domains else "domain seen in the incident")
    for mailbox in entities.get("mailboxes") or []:
        domain = str(mailbox).rpartition("@")[2].lower()
        bad = domain in blocked_domains
        add("mail", mailbox, bad, ["sender"] if bad else ["mailbox"],
            "mailbox of a domain to block" if bad else "mailbox involved")
    for account in entities.get("accounts") or []:
        add("other", account, False, ["account"], "account involved (reset it)")
    for host in entities.get("hosts") or []:
        add("hostname", host, False, ["asset"], "host involved")
    # Not in the contract yet; used when the producer adds them.
    for agent in entities.get("user_agents") or []:
        add("user-agent", agent, True, [], "user agent of the attacker's tools")
    for url in entities.get("urls") or []:
        add("url", url, True, [], "URL used in the attack")
    return out


def procedures(record: dict) -> list[dict]:
    """The ATT&CK chain as TheHive procedures (patternId, tactic, occurDate, description)."""
    out, seen = [], set()
    for step in record.get("incident.attack_chain") or []:
        if not isinstance(step, dict) or not step.get("technique"):
            continue
        key = (str(step["technique"]), str(step.get("tactic") or ""))
        if key in seen:
            continue
        seen.add(key)
        out.append({"patternId": key[0], "tactic": key[1],
                    "occurDate": _ms(step.get("first_seen")) or _ms(record.get("incident.first_seen")) or 0,
                    "description": visible(step.get("rule.name") or "")})
    return out


def tags(record: dict) -> list[str]:
    """Alert tags: vigie, kind, severity, services, datasets, ATT&CK tactics and techniques."""
    out = ["vigie", f"vigie:kind={record.get('incident.kind') or 'unknown'}",
           f"vigie:severity={record.get('incident.severity_label') or record.get('incident.severity')}"]
    out += [f"vigie:service={s}" for s in record.get("incident.services") or []]
    out += [f"vigie:dataset={d}" for d in record.get("incident.datasets") or []]
    out += [f"attack.{t}" for t in record.get("incident.tactics") or []]
    out += [f"attack.{str(t).lower()}" for t in record.get("incident.techniques") or []]
    return [visible(t) for t in dict.fromkeys(out)]


def severity(record: dict) -> int:
    """The record's severity clamped to TheHive's 1-4."""
    try:
        return min(4, max(1, int(record.get("incident.severity") or 2)))
    except (TypeError, ValueError):
        return 2


def alert_from_incident(item: Rendered, source: str = SOURCE, alert_type: str = ALERT_TYPE) -> dict:
    """The TheHive 5 alert (create body) for one incident (see the module docstring)."""
    record = item.record
    return {"type": alert_type, "source": source, "sourceRef": item.incident_id,
            "title": visible(f"[Vigie] {item.title}")[:500], "description": item.markdown,
            "severity": severity(record), "tlp": TLP_AMBER, "pap": PAP_AMBER,
            "date": _ms(record.get("incident.detected_at")) or _ms(record.get("incident.first_seen"))
            or int(time.time() * 1000),
            "tags": tags(record), "observables": observables(record)}


def update_fields(alert: dict) -> dict:
    """The fields of an existing alert that a new revision rewrites (PATCH body)."""
    return {"title": alert["title"], "description": alert["description"], "severity": alert["severity"],
            "tags": alert["tags"], "lastSyncDate": int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)}


@dataclass
class TheHiveDestination:
    """Creates or updates TheHive 5 alerts through its v1 API (see the module docstring)."""

    url: str
    api_key: str = field(repr=False)
    organisation: str | None = None
    source: str = SOURCE
    alert_type: str = ALERT_TYPE
    timeout: float = 10.0
    ca_file: str | None = None
    kind: str = "thehive"

    @property
    def key(self) -> str:
        org = f" org={self.organisation}" if self.organisation else ""
        return f"thehive {public_url(self.url)}{org} type={self.alert_type} source={self.source}"

    def secrets(self) -> Iterable[str]:
        return [self.api_key]

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json",
                   "Accept": "application/json", "User-Agent": "vigie-handoff/1"}
        if self.organisation:
            headers["X-Organisation"] = self.organisation
        return headers

    def _call(self, method: str, path: str, body: object = None, ok_statuses: tuple = ()) -> tuple[int, object]:
        data = None if body is None else orjson.dumps(body)
        status, answer = request(method, self.url.rstrip("/") + path, data, self._headers(), self.timeout, self.ca_file)
        if status not in ok_statuses:
            raise_for_status(status, answer, f"TheHive {method} {path.split('?')[0]}")
        try:
            return status, (orjson.loads(answer) if answer.strip() else None)
        except orjson.JSONDecodeError:
            if 200 <= status < 300:
                raise DeliveryError(f"TheHive {method} {path}: the answer is not JSON", transient=False,
                                    cause="answer not JSON") from None
            return status, None

    def check(self) -> None:
        """The API answers and accepts the key (GET /api/v1/user/current)."""
        where = f"TheHive at {public_url(self.url)}"
        try:
            status, _ = request("GET", self.url.rstrip("/") + "/api/v1/user/current", None, self._headers(),
                                self.timeout, self.ca_file)
        except DeliveryError as exc:
            raise VigieError(f"{where} is unreachable: {exc}; start it or fix --thehive-url") from None
        if status in (401, 403):
            raise VigieError(f"{where} refused the API key (HTTP {status}); check $VIGIE_THEHIVE_API_KEY "
                             "or --thehive-api-key-file (and --thehive-org)")
        if not 200 <= status < 300:
            raise VigieError(f"{where} answered HTTP {status} to GET /api/v1/user/current")

    def find_alert(self, source_ref: str) -> dict | None:
        """The alert with this type, source and sourceRef, or None."""
        query = {"query": [
            {"_name": "listAlert"},
            {"_name": "filter", "_and": [{"_field": "type", "_value": self.alert_type},
                                         {"_field": "source", "_value": self.source},
                                         {"_field": "sourceRef", "_value": source_ref}]},
            {"_name": "page", "from": 0, "to": 2}]}
        _, found = self._call("POST", "/api/v1/query?name=vigie-find-alert", query)
        found = found if isinstance(found, list) else []
        return found[0] if found else None

    def _children(self, alert_id: str, name: str) -> list[dict]:
        query = {"query": [{"_name": "getAlert", "idOrName": alert_id}, {"_name": name}]}
        _, found = self._call("POST", f"/api/v1/query?name=vigie-alert-{name}", query)
        return found if isinstance(found, list) else []

    def _add_missing(self, alert_id: str, alert: dict, item: Rendered, with_observables: bool) -> tuple[int, int]:
        added_obs = 0
        if with_observables:
            have = {(o.get("dataType"), str(o.get("data"))) for o in self._children(alert_id, "observables")}
            for obs in alert["observables"]:
                if (obs["dataType"], obs["data"]) not in have:
                    self._call("POST", f"/api/v1/alert/{alert_id}/observable", obs)
                    added_obs += 1
        have_proc = {(p.get("patternId"), p.get("tactic")) for p in self._children(alert_id, "procedures")}
        added_proc = 0
        for proc in procedures(item.record):
            if (proc["patternId"], proc["tactic"]) not in have_proc:
                self._call("POST", f"/api/v1/alert/{alert_id}/procedure", proc)
                added_proc += 1
        return added_obs, added_proc

    def deliver(self, item: Rendered) -> str:
        alert = alert_from_incident(item, self.source, self.alert_type)
        existing = self.find_alert(item.incident_id)
        if existing is None:
            status, created = self._call("POST", "/api/v1/alert", alert, ok_statuses=(400, 409))
            if status in (400, 409):
                # Refused: most likely it was created in between (TheHive's unique key). Update it.
                existing = self.find_alert(item.incident_id)
                if existing is None:
                    raise DeliveryError(f"TheHive refused the alert (HTTP {status}) and none exists with "
                                        f"sourceRef {item.incident_id}", transient=False, cause="alert refused")
            else:
                alert_id = str((created or {}).get("_id") or "")
                if not alert_id:
                    raise DeliveryError("TheHive created the alert but returned no _id", transient=False,
                                        cause="answer without _id")
                _, procs = self._add_missing(alert_id, alert, item, with_observables=False)
                return f"created alert {alert_id} ({len(alert['observables'])} observables, {procs} procedures)"
        alert_id = str(existing.get("_id"))
        self._call("PATCH", f"/api/v1/alert/{alert_id}", update_fields(alert))
        obs, procs = self._add_missing(alert_id, alert, item, with_observables=True)
        return f"updated alert {alert_id} (+{obs} observables, +{procs} procedures)"
