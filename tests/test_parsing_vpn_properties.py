"""Property tests of the VPN and firewall parsers: any text in any field of a valid OpenVPN,
ASA / FTD, FortiGate (key=value and CEF) or GlobalProtect line, and batches of any composition,
never raise, never lose a line, and the line reaches event.original (pipelines/parsing/vpn/)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parser_properties import TEXT, VALUES, check_batch, check_field, parse_checked
from pipelines.parsing import vpn

OVPN = "Nov 27 19:02:11 vpn-dsi-01 ovpn-server[1187]: "
OPENVPN_TEMPLATES = [
    OVPN + "{}/90.118.42.5:51234 MULTI_sva: pool returned IPv4=10.8.0.6, IPv6=(Not enabled)",
    OVPN + "90.118.42.5:51234 TLS: Username/Password authentication succeeded for username '{}'",
    OVPN + "90.118.42.5:51234 [{}] Peer Connection Initiated with [AF_INET]90.118.42.5:51234",
    OVPN + "90.118.42.5:51234 VERIFY ERROR: depth=0, error={}",
    OVPN + "jdoe/90.118.42.5:51234 SENT CONTROL [{}]: 'AUTH_FAILED' (status=1)",
    OVPN + "MANAGEMENT: CMD '{}'",
    "2026-11-27 19:02:11 {}",
    "CLIENT_LIST,{},90.118.42.5:51234,10.8.0.6,,1,2,Fri Nov 27 19:02:11 2026,1795802531,jdoe,0,0,AES-256-GCM",
]
ASA = "Nov 27 2026 19:02:11 asa01 : "
ASA_TEMPLATES = [
    ASA + "%ASA-6-113005: AAA user authentication Rejected : reason = {} : server = 10.0.0.8 : user = jdoe : "
          "user IP = 45.137.21.9",
    ASA + "%ASA-6-113004: AAA user authentication Successful : server = 10.1.1.1 : user = {}",
    ASA + "%ASA-4-722051: Group <{}> User <jdoe> IP <1.2.3.4> IPv4 Address <10.10.10.5> IPv6 address <::> "
          "assigned to session",
    ASA + "%ASA-6-302013: Built inbound TCP connection 9 for outside:45.137.21.9/1 (45.137.21.9/1)({}) to "
          "dmz:10.10.1.10/443 (10.10.1.10/443)",
    ASA + "%ASA-4-106023: Deny tcp src outside:45.137.21.9/1 dst dmz:10.10.1.10/22 by access-group \"{}\" [0x0, 0x0]",
    "%FTD-1-430002: SrcIP: 10.20.4.44, DstIP: 142.250.1.27, Protocol: tcp, URL: {}, AccessControlRuleAction: Allow",
    ASA + "%ASA-5-111008: User '{}' executed the 'write memory' command.",
    "<164>%ASA-4-733100: [{}] drop rate-1 exceeded.",
]
FGT = ('date=2026-11-27 time=19:02:11 devname="FGT-CHU-01" devid="FG100FTK21004512" eventtime=1795802531000000000 '
       'tz="+0100" ')
FORTIGATE_TEMPLATES = [
    FGT + 'logid="0101039426" type="event" subtype="vpn" level="alert" action="ssl-login-fail" remip=45.137.21.9 '
          'user="{}" reason="sslvpn_login_permission_denied" msg="SSL user failed to logged in"',
    FGT + 'logid="0316013056" type="utm" subtype="webfilter" level="warning" srcip=10.20.4.44 dstip=104.21.3.9 '
          'action="blocked" hostname="x.example" url="{}" catdesc="Malicious Websites"',
    FGT + 'logid="0419016384" type="utm" subtype="ips" srcip=45.137.21.9 dstip=10.10.1.10 action="dropped" '
          'attack="{}" attackid=1',
    FGT + 'logid="0000000013" type="traffic" subtype="forward" srcip=10.20.4.44 dstip=8.8.8.8 action="close" '
          'user="{}" app="{}"',
    'CEF:0|Fortinet|Fortigate|v7.0.12|08192|utm:virus infected blocked|4|FTNTFGTlogid=0211008192 cat=utm:virus '
    'FTNTFGTeventtime=1795802531 act=blocked src=10.20.4.44 dst=93.184.216.34 fname={} duser=jdoe',
    FGT + 'logid="0100032001" type="event" subtype="system" action="login" status="failed" user="{}" msg="x"',
]


def gp(value_at: int) -> str:
    fields = ["1", "2026/11/27 19:02:12", "012801096514", "GLOBALPROTECT", "0", "2561", "2026/11/27 19:02:11",
              "vsys1", "gateway-auth", "login", "LDAP", "ipsec", "CORP\\jdoe", "FR", "LAPTOP-42", "90.118.42.5", "",
              "10.20.0.7", "", "hostid-1", "SN42", "6.2.4-28", "Windows", "Windows 11", "1", "", "", "", "success",
              "Paris", "0", "user-logon", "0", "GP-Portal", "1", "0x0", "", "", "0", "", "", "GW-1", "12", "0", "0",
              "0", "", "PA-3220-HQ", "1", ""]
    fields[value_at] = "{}"
    return "<14>Nov 27 19:02:12 pa-fw " + ",".join(fields)


GP_TEMPLATES = [gp(i) for i in (12, 14, 21, 22, 25, 26, 27, 29, 33, 41)]
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CASES = [(vpn.OPENVPN, OPENVPN_TEMPLATES), (vpn.CISCO_ASA, ASA_TEMPLATES), (vpn.FORTIGATE, FORTIGATE_TEMPLATES),
         (vpn.GLOBALPROTECT, GP_TEMPLATES)]


@SETTINGS
@given(st.integers(0, len(CASES) - 1), st.integers(0, 50), VALUES)
def test_any_value_in_any_field(product, which, value):
    fmt, templates = CASES[product]
    template = templates[which % len(templates)]
    check_field(fmt, template.replace("{}", "{0}"), value)


@SETTINGS
@given(st.integers(0, len(CASES) - 1), st.lists(st.tuples(st.integers(0, 50), VALUES), max_size=12),
       st.lists(st.one_of(TEXT, st.just("")), max_size=6))
def test_batches_of_any_composition(product, picks, extra):
    fmt, templates = CASES[product]
    check_batch(fmt, [t.replace("{}", "{0}") for t in templates], picks, extra)


@SETTINGS
@given(st.lists(TEXT, max_size=20))
def test_any_text_at_all_is_accounted_for(lines):
    for fmt, _ in CASES:
        parse_checked(fmt, lines)


def _case_lines() -> dict[str, list[str]]:
    """The lines of the VPN parser tests, per format."""
    import test_parsing_vpn_asa as asa
    import test_parsing_vpn_fortigate as fgt
    import test_parsing_vpn_openvpn as ovpn
    return {"cisco_asa": [c[1] for c in asa.FIREWALL_CASES + asa.FIREPOWER_CASES + asa.HEADER_CASES],
            "fortigate": [c[1] for c in fgt.CASES + fgt.CEF_CASES + fgt.MORE_CASES],
            "openvpn": [c[1] for c in ovpn.CASES] + ovpn.STATUS_V2}


CASE_LINES = _case_lines()
FORMATS = {fmt.name: fmt for fmt, _ in CASES}


def _without_position(event: dict) -> dict:
    return {k: v for k, v in event.items() if k not in ("event.id", "log.offset")}


@SETTINGS
@given(st.sampled_from(sorted(CASE_LINES)), st.data())
def test_a_line_reads_the_same_in_any_batch(name, data):
    lines = data.draw(st.lists(st.sampled_from(CASE_LINES[name]), min_size=1, max_size=15))
    fmt = FORMATS[name]
    together = parse_checked(fmt, lines).events.to_pylist()
    by_line = {e["event.original"]: _without_position(e) for e in together}
    for line in set(lines):
        alone = parse_checked(fmt, [line]).events.to_pylist()
        assert [_without_position(e) for e in alone] == ([by_line[line]] if line in by_line else []), line
