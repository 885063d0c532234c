"""VPN log parsers: OpenVPN, Cisco ASA / AnyConnect, FortiGate, Palo Alto GlobalProtect.

Each format is a pure `parse(batch, ctx) -> ParseResult` (the contract is in base.py) and a
`detect(sample) -> float`. A line whose header parses is an event, whatever its message says;
a line whose header or layout does not parse is dead-lettered with a reason that names the
format; blank lines are skipped. Local timestamps are read in ctx.timezone (event.timezone is
then set), syslog timestamps without a year take it from ctx.reference_time.

event.action is one vocabulary across the four formats (detection rules key on it):

  event.action          event.category  event.type          event.outcome
  vpn-connection        network         connection, start   -
  vpn-connection-end    network         connection, end     -
  vpn-login-success     authentication  start               success
  vpn-login-failure     authentication  start               failure
  vpn-session-start     session         start               success (failure when the device says so)
  vpn-session-end       session         end                 -
  vpn-address-assigned  session         info                -
  vpn-peer-info         session         info                -
  admin-login-success   authentication  start               success
  admin-login-failure   authentication  start               failure

  OpenVPN     connection: "TCP connection established with", "TLS: Initial packet from";
              login-failure: "TLS Auth Error", "VERIFY ERROR", "TLS Error: TLS handshake failed",
              "cannot locate HMAC", "incoming packet authentication failed", "tls-crypt unwrapping
              failed"; login-success: "authentication succeeded for username '...'";
              session-start: "[cn] Peer Connection Initiated"; address-assigned: "MULTI_sva: pool
              returned", "MULTI: primary virtual IP", "MULTI: Learn: <ip> ->"; peer-info: "peer
              info: IV_..."; session-end: "client-instance exiting|restarting", "Connection reset,
              restarting", "Inactivity timeout".
  Cisco ASA   login-success 113004 113012; login-failure 113005 113015 716039; session-start
              113039 716001; session-end 113019 716002; address-assigned 722051 713228; peer-info
              722055; connection 722022 722033; connection-end 722023 722037; admin-login-success
              611101 605005; admin-login-failure 611102 605004 113021.
  FortiGate   login-failure ssl-login-fail; connection ssl-new-con; session-start tunnel-up;
              session-end tunnel-down; admin-login-success/-failure: subtype system, action login.
  GlobalProtect  login: portal-/gateway-/gw-auth (status) and SYSTEM globalprotect*-auth-succ|fail;
              session-start: gateway-register|connected, globalprotectgateway-regist-succ|fail;
              session-end: *-logout, globalprotectgateway-logout-succ.

Any other message keeps the source's words: "openvpn-message", "asa-message", FortiGate's own
action= value (or "fortigate-message"), GlobalProtect's event id; category network, type info.
"""
from __future__ import annotations

from pipelines.parsing.base import LogFormat
from pipelines.parsing.vpn.cisco_asa import CISCO_ASA
from pipelines.parsing.vpn.fortigate import FORTIGATE
from pipelines.parsing.vpn.globalprotect import GLOBALPROTECT
from pipelines.parsing.vpn.openvpn import OPENVPN

FORMATS: list[LogFormat] = [CISCO_ASA, FORTIGATE, GLOBALPROTECT, OPENVPN]

__all__ = ["CISCO_ASA", "FORTIGATE", "FORMATS", "GLOBALPROTECT", "OPENVPN"]
