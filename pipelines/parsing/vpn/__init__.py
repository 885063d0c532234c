"""VPN gateway and firewall log parsers: OpenVPN, Cisco ASA / Firepower, FortiGate, Palo Alto
GlobalProtect (one module per product; common.py holds what they share).

Each format is a pure `parse(batch, ctx) -> ParseResult` (the contract is in base.py) and a
`detect(sample) -> float`. A line whose header reads is an event, whatever its message says (a
line without any time of its own takes ctx.reference_time and the tag "timestamp_from_reference");
a line whose header does not read is dead-lettered with a reason that names the format; blank
lines (and OpenVPN status file headings) are skipped. Local timestamps are read in ctx.timezone
(event.timezone is then set), syslog timestamps without a year take it from ctx.reference_time.

event.action is one vocabulary across the formats (detection rules key on it):

  event.action               event.category       event.type                 event.outcome
  vpn-connection             network              connection, start          -
  vpn-connection-end         network              connection, end            -
  vpn-login-success          authentication       start                      success
  vpn-login-failure          authentication       start                      failure
  vpn-session-start          session              start                      success (failure when said)
  vpn-session-end            session              end                        -
  vpn-session-status         session              info                       -   (OpenVPN status file)
  vpn-address-assigned       session              info                       -
  vpn-peer-info              session              info                       -
  vpn-management-connection  network              connection, start          -   (OpenVPN management)
  vpn-management-command     configuration        access                     -
  admin-login-success        authentication       start                      success
  admin-login-failure        authentication       start                      failure
  connection-start           network              connection, start, allowed success
  connection-end             network              connection, end            success
  connection-allowed         network              connection, allowed        success (ASA 106100 permit)
  connection-denied          network              connection, denied         failure
  nat-translation            network              connection, info           -
  intrusion-detected         intrusion_detection  info (+ allowed/denied)    from the action
  malware-detected           malware              info (+ allowed/denied)    from the action
  web-filter                 web                  access (+ allowed/denied)  from the action
  application-control        network              connection (+ ...)         from the action

  OpenVPN     login-failure: TLS errors (handshake, key negotiation, BIO), VERIFY ERROR, HMAC and
              tls-crypt failures, AUTH_FAILED, auth plugins/scripts that refuse; login-success:
              "authentication succeeded for username", auth plugin status 0; session-start: "[cn]
              Peer Connection Initiated"; address-assigned: pool / MULTI lines, status routing
              table; peer-info: "peer info: IV_..."; session-end: client-instance exiting or
              restarting, Connection reset, Inactivity timeout; connection: TCP connection
              established, TLS: Initial packet; management: "MANAGEMENT: Client connected", "CMD".
  Cisco ASA   by message id: VPN 113004 113012 / 113005 113015 716039 / 113039 716001 / 113019
              716002 / 722051 713228 / 722055 / 722022 722033 / 722023 722037; administration
              611101 605005 / 611102 605004 113021; firewall (asa_messages.py) 30201x-30202x and
              302303-4 connections, 106001 106006 106007 106010-106023 710003 710005 313001-313008
              denies, 106100 access lists, 30500x NAT, 733100 and 4000xx threat detection, 304001
              URLs, Firepower 430001-430005.
  FortiGate   VPN events ssl-login-fail, ssl-new-con, tunnel-up, tunnel-down; subtype system +
              action login; traffic by action; utm by subtype (fortigate.py).
  GlobalProtect  login: portal-/gateway-/gw-auth (status), SYSTEM globalprotect*-auth-succ|fail and
              auth-success|fail; session-start: gateway-register|connected,
              globalprotectgateway-regist-succ|fail; session-end: *-logout, globalprotectgateway-logout-succ.

Any other message keeps the source's words: "openvpn-message", "asa-message" ("syslog" for a line
without a message id), FortiGate's own action= value (or "fortigate-message"), GlobalProtect's
event id; category network, type info.
"""
from __future__ import annotations

from pipelines.parsing.base import LogFormat
from pipelines.parsing.vpn.cisco_asa import CISCO_ASA
from pipelines.parsing.vpn.fortigate import FORTIGATE
from pipelines.parsing.vpn.globalprotect import GLOBALPROTECT
from pipelines.parsing.vpn.openvpn import OPENVPN

FORMATS: list[LogFormat] = [CISCO_ASA, FORTIGATE, GLOBALPROTECT, OPENVPN]

__all__ = ["CISCO_ASA", "FORTIGATE", "FORMATS", "GLOBALPROTECT", "OPENVPN"]
