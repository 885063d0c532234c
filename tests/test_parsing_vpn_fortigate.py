"""FortiGate traffic and UTM logs and their CEF form (pipelines/parsing/vpn/fortigate.py). Lines
written for these tests after Fortinet's published log reference."""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines.parsing import detect_format, vpn
from pipelines.parsing.base import ParseContext

from parser_cases import check, first_event, parse_checked

UTC = dt.timezone.utc
REFERENCE = dt.datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
CTX = ParseContext(timezone="Europe/Paris", reference_time=REFERENCE)
HEAD = ('date=2026-11-27 time=19:02:11 devname="FGT-CHU-01" devid="FG100FTK21004512" eventtime=1795802531000000000 '
        'tz="+0100" ')


def parse_lines(lines: list[str]):
    return parse_checked(vpn.FORTIGATE, lines, CTX, "fgt.log")


def event_of(line: str) -> dict:
    return first_event(vpn.FORTIGATE, line, CTX, "fgt.log")


CASES = [
    ("traffic close with nat", HEAD + 'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" '
     'srcip=10.20.4.44 srcport=59815 srcintf="port2" srcintfrole="lan" dstip=142.250.1.27 dstport=443 '
     'dstintf="wan1" dstintfrole="wan" sessionid=4201854 proto=6 action="close" policyid=14 '
     'policyname="LAN-to-Internet" policytype="policy" service="HTTPS" trandisp="snat" transip=193.51.24.2 '
     'transport=61000 duration=40 sentbyte=37994 rcvdbyte=191503 sentpkt=43 rcvdpkt=148 app="Google.Services" '
     'user="jdupont" group="Staff"',
     {"event.action": "connection-end", "event.category": ["network"], "event.type": ["connection", "end"],
      "event.outcome": "success", "event.code": "0000000013", "source.ip": "10.20.4.44", "source.port": 59815,
      "destination.ip": "142.250.1.27", "destination.port": 443, "network.transport": "tcp",
      "network.protocol": "https", "network.application": "google.services", "source.nat.ip": "193.51.24.2",
      "source.nat.port": 61000, "observer.ingress.interface.name": "port2",
      "observer.egress.interface.name": "wan1", "rule.id": "14", "rule.name": "LAN-to-Internet",
      "event.duration": 40 * 10**9, "source.bytes": 37994, "destination.bytes": 191503, "network.bytes": 229497,
      "user.name": "jdupont", "group.name": "Staff", "observer.serial_number": "FG100FTK21004512",
      "observer.hostname": "FGT-CHU-01", "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC),
      "related.ip": ["10.20.4.44", "142.250.1.27", "193.51.24.2"]}),
    ("traffic deny from outside", HEAD + 'logid="0000000013" type="traffic" subtype="forward" level="notice" '
     'vd="root" srcip=45.137.21.9 srcport=51800 srcintf="wan1" dstip=193.51.24.10 dstport=3389 dstintf="dmz" '
     'proto=6 action="deny" policyid=0 policytype="policy" service="RDP" duration=0 sentbyte=0 rcvdbyte=0',
     {"event.action": "connection-denied", "event.type": ["connection", "denied"], "event.outcome": "failure",
      "destination.port": 3389, "network.protocol": "rdp", "rule.id": "0"}),
    ("local traffic udp", HEAD + 'logid="0001000014" type="traffic" subtype="local" level="notice" vd="root" '
     'srcip=45.137.21.9 srcport=5353 srcintf="wan1" dstip=193.51.24.1 dstport=161 dstintf="root" proto=17 '
     'action="deny" policyid=0 service="SNMP"',
     {"event.action": "connection-denied", "network.transport": "udp", "destination.port": 161}),
    ("traffic accept", HEAD + 'logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=10.20.4.44 '
     'srcport=50000 dstip=8.8.8.8 dstport=53 proto=17 action="accept" policyid=3 service="DNS"',
     {"event.action": "connection-start", "event.type": ["connection", "start", "allowed"],
      "network.protocol": "dns"}),
    ("webfilter blocked", HEAD + 'logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk" '
     'level="warning" vd="root" policyid=14 sessionid=11 srcip=10.20.4.44 srcport=51022 srcintf="port2" '
     'dstip=104.21.3.9 dstport=443 dstintf="wan1" proto=6 service="HTTPS" hostname="login-micros0ft.example" '
     'profile="default" action="blocked" reqtype="direct" url="https://login-micros0ft.example/owa/?x=1" '
     'sentbyte=517 rcvdbyte=0 direction="outgoing" msg="URL belongs to a denied category in policy" '
     'method="domain" cat=26 catdesc="Malicious Websites"',
     {"event.action": "web-filter", "event.category": ["web"], "event.type": ["access", "denied"],
      "event.outcome": "failure", "url.original": "https://login-micros0ft.example/owa/?x=1",
      "url.domain": "login-micros0ft.example", "url.path": None, "rule.category": "Malicious Websites",
      "rule.id": "14", "event.reason": "ftgd_blk", "message": "URL belongs to a denied category in policy",
      "destination.ip": "104.21.3.9"}),
    ("webfilter path", HEAD + 'logid="0317013312" type="utm" subtype="webfilter" eventtype="ftgd_allow" '
     'level="notice" srcip=10.20.4.44 dstip=104.21.3.9 dstport=80 proto=6 hostname="www.example.org" '
     'action="passthrough" url="/index.php?id=1%27%20or%201=1--" catdesc="Information Technology"',
     {"event.type": ["access", "allowed"], "event.outcome": "success", "url.path": "/index.php",
      "url.original": "/index.php?id=1%27%20or%201=1--"}),
    ("ips dropped", HEAD + 'logid="0419016384" type="utm" subtype="ips" eventtype="signature" level="alert" '
     'vd="root" severity="critical" srcip=45.137.21.9 srccountry="Netherlands" dstip=10.10.1.10 srcintf="wan1" '
     'dstintf="dmz" policyid=21 sessionid=99 action="dropped" proto=6 service="HTTPS" attack="Apache.Log4j.Error.Log.Remote.Code.Execution" '
     'srcport=41000 dstport=443 hostname="www.chu-exemple.fr" url="/" direction="outgoing" attackid=51006 '
     'profile="default" ref="http://www.fortinet.com/ids/VID51006" incidentserialno=12 msg="applications3: Apache.Log4j.Error.Log.Remote.Code.Execution," crscore=50 craction=4096 crlevel="critical"',
     {"event.action": "intrusion-detected", "event.category": ["intrusion_detection"],
      "event.type": ["info", "denied"], "event.outcome": "failure",
      "rule.name": "Apache.Log4j.Error.Log.Remote.Code.Execution", "rule.id": "51006",
      "source.ip": "45.137.21.9", "destination.port": 443}),
    ("virus blocked", HEAD + 'logid="0211008192" type="utm" subtype="virus" eventtype="infected" level="warning" '
     'vd="root" policyid=14 msg="File is infected." action="blocked" service="HTTP" sessionid=5 srcip=10.20.4.44 '
     'dstip=93.184.216.34 srcport=44356 dstport=80 srcintf="port2" dstintf="wan1" proto=6 direction="incoming" '
     'filename="facture.exe" quarskip="File-was-not-quarantined." virus="W32/Agent.XYZ!tr" dtype="Virus" '
     'ref="http://www.fortinet.com/ve?vn=W32%2FAgent" virusid=7005 url="http://files.example.net/facture.exe" '
     'profile="default" user="jdupont" agent="curl/7.47.0"',
     {"event.action": "malware-detected", "event.category": ["malware"], "event.outcome": "failure",
      "file.name": "facture.exe", "rule.name": "W32/Agent.XYZ!tr", "rule.id": "7005", "user.name": "jdupont",
      "url.original": "http://files.example.net/facture.exe"}),
    ("app-ctrl", HEAD + 'logid="1059028704" type="utm" subtype="app-ctrl" eventtype="signature" level="information" '
     'appid=40568 srcip=10.20.4.44 dstip=52.1.2.3 srcport=51000 dstport=443 srcintf="port2" dstintf="wan1" '
     'proto=6 service="HTTPS" direction="outgoing" policyid=14 sessionid=8 applist="default" appcat="Proxy" '
     'app="Tor" action="block" hostname="relay.example" msg="Proxy: Tor,"',
     {"event.action": "application-control", "event.type": ["connection", "denied"], "network.application": "tor",
      "event.outcome": "failure"}),
    ("syslog header and no eventtime", '<189>Nov 27 19:02:11 FGT-CHU-01 date=2026-11-27 time=19:02:11 '
     'devname="FGT-CHU-01" logid="0000000013" type="traffic" subtype="forward" srcip=10.20.4.44 dstip=8.8.8.8 '
     'proto=17 action="accept"',
     {"@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC), "event.timezone": "Europe/Paris",
      "log.syslog.hostname": "FGT-CHU-01"}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_traffic_and_utm_records(line, expected):
    check(event_of(line), {"event.dataset": "vpn.fortigate", "tags": None, **expected})


CEF_CASES = [
    ("cef virus", 'CEF:0|Fortinet|Fortigate|v7.0.12|08192|utm:virus infected blocked|4|deviceExternalId=FG100FTK21004512 '
     'FTNTFGTlogid=0211008192 cat=utm:virus FTNTFGTsubtype=virus FTNTFGTeventtype=infected FTNTFGTlevel=warning '
     'FTNTFGTvd=root FTNTFGTeventtime=1795802531 msg=File is infected. act=blocked app=HTTP src=10.20.4.44 '
     'dst=93.184.216.34 spt=44356 dpt=80 deviceInboundInterface=port2 deviceOutboundInterface=wan1 '
     'FTNTFGTpolicyid=14 proto=6 fname=facture.exe FTNTFGTvirus=W32/Agent.XYZ!tr FTNTFGTdtype=Virus '
     'FTNTFGTref=http://www.fortinet.com/ve?vn\\=W32%2FAgent FTNTFGTvirusid=7005 '
     'request=http://files.example.net/facture.exe duser=jdupont',
     {"event.action": "malware-detected", "event.outcome": "failure", "event.code": "0211008192",
      "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC), "source.ip": "10.20.4.44",
      "destination.ip": "93.184.216.34", "source.port": 44356, "destination.port": 80,
      "network.transport": "tcp", "file.name": "facture.exe", "rule.name": "W32/Agent.XYZ!tr",
      "url.original": "http://files.example.net/facture.exe", "user.name": "jdupont", "message": "File is infected.",
      "observer.ingress.interface.name": "port2", "observer.serial_number": "FG100FTK21004512", "tags": None}),
    ("cef ips with host name", '<185>Nov 27 19:02:11 FGT-CHU-01 CEF:0|Fortinet|Fortigate|v7.0.12|16384|utm:ips '
     'signature dropped|7|FTNTFGTlogid=0419016384 cat=utm:ips FTNTFGTsubtype=ips FTNTFGTlevel=alert '
     'src=45.137.21.9 dst=www.chu-exemple.fr act=dropped proto=6 FTNTFGTattack=Apache.Log4j.Error.Log.Remote.Code.Execution '
     'spt=41000 dpt=443 FTNTFGTattackid=51006 msg=applications3: Apache.Log4j.Error.Log.Remote.Code.Execution,',
     {"event.action": "intrusion-detected", "destination.ip": None, "destination.domain": "www.chu-exemple.fr",
      "rule.id": "51006", "@timestamp": dt.datetime(2026, 11, 27, 18, 2, 11, tzinfo=UTC), "tags": None,
      "log.syslog.hostname": "FGT-CHU-01"}),
    ("cef without any time", 'CEF:0|Fortinet|FortiGate|v7.2.5|00013|traffic:forward close|3|'
     'FortinetFortiGatelogid=0000000013 cat=traffic:forward src=10.20.4.44 dst=8.8.8.8 spt=5000 dpt=53 proto=17 '
     'act=close',
     {"event.action": "connection-end", "@timestamp": REFERENCE, "tags": ["timestamp_from_reference"],
      "network.transport": "udp"}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in CEF_CASES], ids=[c[0] for c in CEF_CASES])
def test_cef_records(line, expected):
    check(event_of(line), expected)


def test_mixed_file_detection_and_dead_letters():
    lines = [c[1] for c in CASES] + [c[1] for c in CEF_CASES] + ["", "garbage line", "CEF:0|Other|Product|1|2|3|4|x=y"]
    result = parse_lines(lines)
    assert result.events.num_rows == len(CASES) + len(CEF_CASES)
    assert result.dead_letters.num_rows == 2 and result.skipped == {"blank line": 1}
    fmt, score = detect_format([c[1] for c in CASES + CEF_CASES])
    assert (fmt.name, score) == ("fortigate", 1.0)


MORE_CASES = [
    ("cef after a relay took 'CEF:' for a program", '0|Fortinet|FortiGate-100F|7.2.8,build1639 (GA)|0100032001|'
     'system event login|4|FTNTFGTlogid=0100032001 cat=event:system FTNTFGTsubtype=system FTNTFGTeventtime=1795802531 '
     'act=login FTNTFGTstatus=success duser=admin src=10.0.0.9',
     {"event.action": "admin-login-success", "user.name": "admin", "source.ip": "10.0.0.9"}),
    ("fortianalyzer csv export", 'date=2026-11-27,time=19:02:11,logid="0000000013",type="traffic",subtype="forward",'
     'level="notice",vd="root",eventtime=1795802531,srcip=10.20.4.44,srcport=51000,dstip=8.8.8.8,dstport=53,'
     'proto=17,action="accept",policyid=3,service="DNS",msg="a, b"',
     {"event.action": "connection-start", "source.ip": "10.20.4.44", "destination.port": 53,
      "network.transport": "udp", "rule.id": "3"}),
    ("record without any time", 'type="event" subtype="system" level="information" vd="root" '
     'logdesc="Admin login successful" user="admin" ui="jsconsole" srcip=10.0.0.9 action="login" status="success"',
     {"event.action": "admin-login-success", "@timestamp": REFERENCE, "tags": ["timestamp_from_reference"]}),
    ("user with a domain", HEAD + 'logid="0000000013" type="traffic" subtype="forward" srcip=10.20.4.44 '
     'dstip=8.8.8.8 proto=17 action="accept" user="CHU\\jdupont"',
     {"user.name": "jdupont", "user.domain": "CHU", "related.user": ["jdupont"]}),
]


@pytest.mark.parametrize("line,expected", [c[1:] for c in MORE_CASES], ids=[c[0] for c in MORE_CASES])
def test_forwarded_and_exported_variants(line, expected):
    check(event_of(line), expected)
