"""GlobalProtect time: PAN-OS records carry a receive time, a generated time and (10.x) a
high-resolution time with its UTC offset; some releases write the generated time of GLOBALPROTECT
records in UTC while the receive time is in the device's zone (pipelines/parsing/vpn/globalprotect.py)."""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines.parsing import vpn
from pipelines.parsing.base import ParseContext

from parser_cases import first_event

UTC = dt.timezone.utc
PARIS = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 12, 31, tzinfo=UTC))


def record(received: str, generated: str, high_res: str = "") -> str:
    """A PAN-OS 10.x GLOBALPROTECT record (fields in Palo Alto's documented order)."""
    fields = ["1", received, "012801096514", "GLOBALPROTECT", "0", "2561", generated, "vsys1", "gateway-auth",
              "login", "LDAP", "ipsec", "CORP\\jdoe", "FR", "LAPTOP-42", "90.118.42.5", "", "10.20.0.7", "",
              "hostid-1", "SN42", "6.2.4-28", "Windows", '"Microsoft Windows 11 Enterprise , 64-bit"', "1", "", "",
              '""', "success", "Paris", "0", "user-logon", "0", "GP-Portal", "7412983300185523201", "0x0", high_res,
              "", "0", "", "", "GW-1", "12", "0", "0", "0", "", "PA-3220-HQ", "1", ""]
    return ",".join(fields)


def event_of(line: str, ctx: ParseContext = PARIS) -> dict:
    return first_event(vpn.GLOBALPROTECT, line, ctx, "gp.log")


TIME_CASES = [
    # generated time in UTC, receive time in the device's zone (winter: CET, UTC+1)
    ("2026/11/27 19:02:12", "2026/11/27 18:02:11", "", dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC), None),
    # ... and in summer (CEST, UTC+2)
    ("2026/06/27 20:02:12", "2026/06/27 18:02:11", "", dt.datetime(2026, 6, 27, 18, 2, 11, tzinfo=UTC), None),
    # both in the device's zone: read there
    ("2026/11/27 19:02:12", "2026/11/27 19:02:11", "", dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC),
     "Europe/Paris"),
    # the high-resolution time says its offset: it wins
    ("2026/11/27 19:02:12", "2026/11/27 19:02:11", "2026-11-27T19:02:11.250+01:00",
     dt.datetime(2026, 11, 27, 18, 2, 11, 250000, tzinfo=UTC), None),
    # a receive time much later than the generated time (a backlog): the generated time, local
    ("2026/11/27 23:40:00", "2026/11/27 19:02:11", "", dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC),
     "Europe/Paris"),
]


@pytest.mark.parametrize("received, generated, high_res, expected, zone", TIME_CASES)
def test_generated_time_in_utc_or_in_the_device_zone(received, generated, high_res, expected, zone):
    event = event_of("<14>Nov 27 19:02:12 pa-fw " + record(received, generated, high_res))
    assert (event["@timestamp"], event["event.timezone"]) == (expected, zone)


def test_utc_device_reads_the_same_either_way():
    ctx = ParseContext(timezone="UTC", reference_time=dt.datetime(2026, 12, 31, tzinfo=UTC))
    event = event_of(record("2026/11/27 18:02:12", "2026/11/27 18:02:11"), ctx)
    assert event["@timestamp"] == dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC)


def test_system_auth_record_uses_its_high_resolution_time_and_names_the_user():
    line = ("1,2026/11/27 19:02:11,012801096514,SYSTEM,auth,2561,2026/11/27 19:02:11,,auth-fail,GP-AUTH,0,0,general,"
            "medium,\"failed authentication for user 'jdoe'. Reason: Invalid username or password. auth profile "
            "'GP-AUTH', vsys 'vsys1', From: 90.118.42.5.\",7439393285273531690,0x0,0,0,0,0,,PA-3220-HQ,0,0,"
            "2026-11-27T19:02:11.851+01:00")
    event = event_of(line)
    assert (event["@timestamp"], event["event.action"], event["user.name"], event["source.ip"]) == (
        dt.datetime(2026, 11, 27, 18, 2, 11, 851000, tzinfo=UTC), "vpn-login-failure", "jdoe", "90.118.42.5")


def panos(kind: str, subtype: str, action: str, misc: str = "", threat: str = "") -> str:
    """A PAN-OS TRAFFIC or THREAT record (fields in Palo Alto's documented order)."""
    fields = ["1", "2026/11/27 19:02:12", "012801096514", kind, subtype, "2049", "2026/11/27 19:02:11",
              "45.137.21.9", "193.51.24.10", "0.0.0.0", "10.10.1.10", "dmz-web", "", "", "web-browsing", "vsys1",
              "untrust", "dmz", "ethernet1/1", "ethernet1/2", "Forward", "2026/11/27 19:02:11", "4242", "1",
              "51800", "443", "0", "443", "0x400000", "tcp", action]
    fields += ([misc, threat, "any", "critical", "client-to-server"] if kind == "THREAT"
               else ["3000", "1000", "2000", "10", "2026/11/27 19:01:51", "20", "any"])
    return "<14>Nov 27 19:02:12 pa-fw " + ",".join(fields)


@pytest.mark.parametrize("line, expected", [
    (panos("TRAFFIC", "end", "allow"),
     {"event.action": "connection-end", "event.outcome": "success", "source.ip": "45.137.21.9",
      "destination.ip": "193.51.24.10", "destination.nat.ip": "10.10.1.10", "destination.port": 443,
      "source.port": 51800, "network.transport": "tcp", "network.application": "web-browsing",
      "rule.name": "dmz-web", "source.bytes": 1000, "destination.bytes": 2000, "event.duration": 20 * 10**9,
      "observer.ingress.interface.name": "ethernet1/1"}),
    (panos("TRAFFIC", "deny", "deny"), {"event.action": "connection-denied", "event.outcome": "failure"}),
    (panos("THREAT", "vulnerability", "reset-both", "", "Apache Log4j Remote Code Execution Vulnerability(91991)"),
     {"event.action": "intrusion-detected", "event.outcome": "failure",
      "rule.name": "Apache Log4j Remote Code Execution Vulnerability(91991)", "source.bytes": None}),
    (panos("THREAT", "url", "block-url", "login-micros0ft.example/owa/", "(9999)"),
     {"event.action": "web-filter", "url.original": "login-micros0ft.example/owa/", "file.name": None}),
    ("1,2026/11/27 19:02:12,012801096514,CONFIG,0,2049,2026/11/27 19:02:11,10.0.0.9,,set,admin,Web,Succeeded",
     {"event.action": "config", "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC)}),
])
def test_other_panos_records_of_the_file_are_events(line, expected):
    event = event_of(line)
    assert {k: event[k] for k in expected} == expected
