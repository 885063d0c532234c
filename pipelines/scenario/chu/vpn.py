"""VPN: remote-access sessions and their logs on the FortiGate SSL-VPN (vpn/fortigate.log), the
Cisco ASA AnyConnect (vpn/asa.log) and the OpenVPN server of IT (vpn/openvpn.log)."""
from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass
from ipaddress import ip_address
from operator import itemgetter
from typing import TYPE_CHECKING, Callable, Sequence

from pipelines.scenario import formats
from pipelines.scenario.chu.clock import END_MS, HOUR, MINUTE, START_MS, moment
from pipelines.scenario.chu.draws import PROFILE_FLAT, pick, table, when
from pipelines.scenario.chu.internet import noise_ip
from pipelines.scenario.chu.logfiles import Record, clip, fill
from pipelines.scenario.chu.world import (ASA_NAME, FORTIGATE_NAME, FORTIGATE_SERIAL,
                                          OPENVPN_NAME, VpnAccount, World)

if TYPE_CHECKING:
    from pipelines.scenario.chu.attack import Attack


@dataclass(frozen=True)
class VpnSession:
    """One remote-access session."""

    account: VpnAccount
    remote_ip: str
    start: int
    end: int
    tunnel_ip: str
    port: int  # the client's source port
    ident: int  # tunnel id / peer id


# (address, port, protocol, FortiGate service name), weight; 'x' is a random last octet
_DESTINATIONS = {
    "clinical": table((
        (("10.10.5.21", 443, 6, "HTTPS"), 8), (("10.10.6.10", 443, 6, "HTTPS"), 4),
        (("10.10.0.30", 443, 6, "HTTPS"), 3), (("10.10.0.40", 443, 6, "HTTPS"), 2),
        (("10.10.0.2", 53, 17, "DNS"), 6), (("10.20.x.x", 3389, 6, "RDP"), 2))),
    "office": table((
        (("10.10.0.30", 443, 6, "HTTPS"), 5), (("10.10.0.40", 443, 6, "HTTPS"), 3),
        (("10.10.0.60", 445, 6, "SMB"), 4), (("10.10.4.10", 443, 6, "HTTPS"), 4),
        (("10.10.0.2", 53, 17, "DNS"), 6))),
    "it": table((
        (("10.10.x.x", 22, 6, "SSH"), 6), (("10.10.x.x", 3389, 6, "RDP"), 4),
        (("10.10.9.10", 443, 6, "HTTPS"), 3), (("10.10.9.20", 443, 6, "HTTPS"), 2),
        (("10.10.0.5", 389, 6, "LDAP"), 2), (("10.10.0.2", 53, 17, "DNS"), 6))),
    "vendor": table((
        (("10.10.7.x", 443, 6, "HTTPS"), 5), (("10.10.7.x", 22, 6, "SSH"), 3))),
}
GROUP_PROFILE = {"SSLVPN-Medecins": ("clinical", 12), "SSLVPN-DSI": ("it", 14),
                  "SSLVPN-Prestataires": ("vendor", 16), "GP-Astreinte": ("clinical", 0),
                  "GP-Teletravail": ("office", 0)}
_GUESSED_LOGINS = ("admin", "administrator", "test", "vpn", "user", "fortinet", "guest",
                   "support", "cisco", "scanner")


def _flow_bytes(rng: random.Random, proto: int) -> tuple[int, int]:
    """Bytes sent and received by one connection (DNS over UDP is small)."""
    if proto == 17:
        return rng.randint(60, 400), rng.randint(90, 900)
    return rng.randint(300, 40_000), rng.randint(500, 2_500_000)


def _destination(rng: random.Random, group: str) -> tuple[str, int, int, str]:
    """Where a session of this group connects to."""
    address, port, proto, service = pick(rng, _DESTINATIONS[GROUP_PROFILE[group][0]])
    while "x" in address:
        address = address.replace("x", str(rng.randint(10, 240)), 1)
    return address, port, proto, service


def _sessions(rng: random.Random, accounts: Sequence[VpnAccount], count: int, pool: str,
              reserved: frozenset[str]) -> list[VpnSession]:
    """`count` sessions over the evening (some began before 17:00) with tunnel addresses from
    pool.10-.199, never two live sessions on one address; accounts in `reserved` are left out."""
    accounts = [a for a in accounts if a.login not in reserved]
    drafts = []
    for _ in range(count):
        start = rng.randrange(START_MS - 3 * HOUR, END_MS - 5 * MINUTE)
        typical = rng.lognormvariate(math.log(45 * MINUTE), 0.8)
        length = int(min(6 * HOUR, max(3 * MINUTE, typical)))
        drafts.append((start, length, rng.choice(accounts)))
    drafts.sort(key=itemgetter(0))
    free, busy, sessions = list(range(10, 200)), [], []
    for start, length, account in drafts:
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if start + length <= START_MS or not free:
            continue
        host = heapq.heappop(free)
        heapq.heappush(busy, (start + length, host))
        sessions.append(VpnSession(account, account.home_ip, start, start + length,
                                   f"{pool}.{host}", rng.randint(1024, 65535),
                                   rng.randint(1_000, 99_999)))
    return sessions


def _vpn_log(rng: random.Random, budget: int, sessions: Sequence[VpnSession],
             control: Callable[[random.Random, VpnSession], list[Record]],
             noise: Callable[[random.Random, int], list[Record]], noise_share: float,
             flow: Callable[[random.Random, VpnSession, int, int], list[Record]] | None = None,
             ) -> list[Record]:
    """A VPN device's log: session events, internet noise, then traffic of the sessions to fill
    the budget exactly (noise only, without a flow builder)."""
    out = clip(r for s in sessions for r in control(rng, s))
    live = [s for s in sessions if min(s.end, END_MS) > max(s.start, START_MS)]
    if not (flow and live):
        return out + fill(budget - len(out), lambda limit: noise(rng, limit))
    out += fill(int(budget * noise_share), lambda limit: noise(rng, limit))
    spans = table((s, min(s.end, END_MS) - max(s.start, START_MS)) for s in live)

    def traffic(limit: int) -> list[Record]:
        s = pick(rng, spans)
        t = rng.randrange(max(s.start, START_MS), min(s.end, END_MS))
        return flow(rng, s, t, limit)

    return out + fill(budget - len(out), traffic)


_OVPN_PROGRAM, _OVPN_PID = "ovpn-server", 1187


def _fgt(t: int, fields: dict[str, object], tag: str | None = None) -> Record:
    """A line of the FortiGate's log (key=value; str values quoted, numbers and addresses bare)."""
    return t, formats.fortigate(moment(t), FORTIGATE_NAME, FORTIGATE_SERIAL, fields), tag


def fgt_login_fail(t: int, ip: str, user: str, tag: str | None = None) -> Record:
    """An SSL-VPN authentication failure."""
    return _fgt(t, {"logid": "0101039426", "type": "event", "subtype": "vpn", "level": "alert",
                    "vd": "root", "logdesc": "SSL VPN login fail", "action": "ssl-login-fail",
                    "tunneltype": "ssl-web", "tunnelid": 0, "remip": ip_address(ip), "user": user,
                    "group": "N/A", "dst_host": "N/A", "reason": "sslvpn_login_permission_denied",
                    "msg": "SSL user failed to logged in"}, tag)


def fgt_tunnel(rng: random.Random, s: VpnSession, up: bool, tag: str | None = None) -> Record:
    """Tunnel up (at the session's start) or down (at its end, with duration and bytes)."""
    head = {"type": "event", "subtype": "vpn", "level": "information", "vd": "root"}
    who = {"tunneltype": "ssl-tunnel", "tunnelid": s.ident, "remip": ip_address(s.remote_ip),
           "tunnelip": ip_address(s.tunnel_ip), "user": s.account.login,
           "group": s.account.group, "dst_host": "N/A", "reason": "N/A"}
    if up:
        return _fgt(s.start, {"logid": "0101039947", **head, "logdesc": "SSL VPN tunnel up",
                              "action": "tunnel-up", **who, "msg": "SSL tunnel established"}, tag)
    seconds = (s.end - s.start) // 1000
    return _fgt(s.end, {"logid": "0101039948", **head, "logdesc": "SSL VPN tunnel down",
                        "action": "tunnel-down", **who, "duration": seconds,
                        "sentbyte": seconds * rng.randint(2_000, 60_000),
                        "rcvdbyte": seconds * rng.randint(10_000, 400_000),
                        "msg": "SSL tunnel shutdown"}, tag)


def fgt_flow(rng: random.Random, s: VpnSession, t: int, destination: tuple[str, int, int, str],
             tag: str | None = None) -> Record:
    """A forward-traffic log of one connection through the tunnel, written when it closes."""
    address, port, proto, service = destination
    seconds = rng.randint(0, 2) if proto == 17 else int(rng.expovariate(1 / 120))
    sent, received = _flow_bytes(rng, proto)
    policy = GROUP_PROFILE.get(s.account.group, ("", 12))[1]
    return _fgt(t, {"logid": "0000000013", "type": "traffic", "subtype": "forward",
                    "level": "notice", "vd": "root", "srcip": ip_address(s.tunnel_ip),
                    "srcport": rng.randint(49152, 65535), "srcintf": "ssl.root",
                    "srcintfrole": "undefined", "dstip": ip_address(address), "dstport": port,
                    "dstintf": "port3", "dstintfrole": "lan", "srccountry": "Reserved",
                    "dstcountry": "Reserved", "sessionid": rng.randint(1_000_000, 99_999_999),
                    "proto": proto, "action": "accept" if proto == 17 else "close",
                    "policyid": policy, "policytype": "policy", "service": service,
                    "trandisp": "noop", "duration": seconds, "sentbyte": sent,
                    "rcvdbyte": received, "sentpkt": sent // 900 + 1,
                    "rcvdpkt": received // 1300 + 1, "appcat": "unscanned",
                    "user": s.account.login, "group": s.account.group}, tag)


def fortigate_log(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """SSL-VPN sessions of clinicians, IT staff and vendors, their traffic, and internet
    password guessing against the portal."""
    sessions = _sessions(rng, world.fortigate, min(140, budget // 30), "10.212.134",
                         attack.reserved_logins)

    def control(rng: random.Random, s: VpnSession) -> list[Record]:
        typo = ([fgt_login_fail(s.start - rng.randint(5_000, 40_000), s.remote_ip,
                                 s.account.login)] if rng.random() < 0.05 else [])
        return typo + [fgt_tunnel(rng, s, True), fgt_tunnel(rng, s, False)]

    def noise(rng: random.Random, limit: int) -> list[Record]:
        t, ip = when(rng, PROFILE_FLAT), noise_ip(rng)
        return [fgt_login_fail(t + i * rng.randint(2_000, 15_000), ip, rng.choice(_GUESSED_LOGINS))
                for i in range(min(limit, rng.randint(1, 4)))]

    def flow(rng: random.Random, s: VpnSession, t: int, limit: int) -> list[Record]:
        return [fgt_flow(rng, s, t, _destination(rng, s.account.group))]

    return _vpn_log(rng, budget, sessions, control, noise, 0.05, flow)


def _asa(t: int, level: int, message: int, text: str, tag: str | None = None) -> Record:
    """A line of the Cisco ASA's log."""
    return t, formats.cisco_asa(moment(t), ASA_NAME, level, message, text), tag


def asa_rejected(t: int, user: str, ip: str, tag: str | None = None) -> Record:
    """An AAA authentication rejection."""
    return _asa(t, 6, 113005, f"AAA user authentication Rejected : reason = AAA failure : "
                              f"server = 10.1.1.5 : user = {user} : user IP = {ip}", tag)


def _asa_control(rng: random.Random, s: VpnSession) -> list[Record]:
    """An AnyConnect session: authentication, DAP, parent session, tunnel, address; at the
    end the tunnel closing and the session summary."""
    user, group, ip = s.account.login, s.account.group, s.remote_ip
    who = f"Group <{group}> User <{user}> IP <{ip}>"
    t = s.start
    start = [(6, 113004, f"AAA user authentication Successful : server = 10.1.1.5 : user = {user}"),
             (6, 113008, f"AAA transaction status ACCEPT : user = {user}"),
             (6, 734001, f"DAP: User {user}, Addr {ip}, Connection AnyConnect: The following DAP "
                         f"records were selected for this connection: DfltAccessPolicy"),
             (6, 113039, f"{who} AnyConnect parent session started."),
             (6, 722055, f"{who} Client Type: Cisco AnyConnect VPN Agent for Windows 4.10.08025"),
             (6, 722022, f"{who} TCP SVC connection established without compression"),
             (4, 722051, f"{who} IPv4 Address <{s.tunnel_ip}> IPv6 address <::> assigned to "
                         f"session")]
    out = []
    for level, message, text in start:
        out.append(_asa(t, level, message, text))
        t += rng.randint(5, 400)
    seconds = (s.end - s.start) // 1000
    reason = rng.choice(("User Requested", "User Requested", "Idle Timeout", "Port Preempted"))
    out.append(_asa(s.end, 6, 722023, f"{who} TCP SVC connection terminated without compression"))
    out.append(_asa(s.end + rng.randint(1, 50), 4, 113019,
                    f"Group = {group}, Username = {user}, IP = {ip}, Session disconnected. "
                    f"Session Type: AnyConnect-Parent, Duration: {seconds // 3600}h:"
                    f"{seconds // 60 % 60:02d}m:{seconds % 60:02d}s, Bytes xmt: "
                    f"{seconds * rng.randint(2_000, 60_000)}, Bytes rcv: "
                    f"{seconds * rng.randint(10_000, 300_000)}, Reason: {reason}"))
    return out


def _asa_flow(rng: random.Random, s: VpnSession, t: int, limit: int) -> list[Record]:
    """A connection from the client through the ASA: built, then torn down."""
    address, port, proto, _ = _destination(rng, s.account.group)
    user, conn = s.account.login, rng.randint(10_000_000, 99_999_999)
    sport = rng.randint(49152, 65535)
    kind = "UDP" if proto == 17 else "TCP"
    built_id, down_id = (302015, 302016) if proto == 17 else (302013, 302014)
    seconds = rng.randint(0, 2) if proto == 17 else int(rng.expovariate(1 / 120))
    outside, inside = f"outside:{s.tunnel_ip}/{sport}", f"inside:{address}/{port}"
    teardown = _asa(t + seconds * 1000, 6, down_id,
                    f"Teardown {kind} connection {conn} for {outside}(LOCAL\\{user}) to {inside} "
                    f"duration {seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d} "
                    f"bytes {sum(_flow_bytes(rng, proto))}{'' if proto == 17 else ' TCP FINs'} "
                    f"({user})")
    if limit < 2:
        return [teardown]
    return [_asa(t, 6, built_id, f"Built inbound {kind} connection {conn} for {outside} "
                                 f"({s.tunnel_ip}/{sport})(LOCAL\\{user}) to {inside} "
                                 f"({address}/{port}) ({user})"), teardown]


def asa_log(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """AnyConnect sessions of on-call doctors and teleworkers, their connections, and
    internet password guessing."""
    sessions = _sessions(rng, world.asa, min(100, budget // 30), "10.30.0",
                         attack.reserved_logins)

    def noise(rng: random.Random, limit: int) -> list[Record]:
        t, ip = when(rng, PROFILE_FLAT), noise_ip(rng)
        return [asa_rejected(t + i * rng.randint(2_000, 15_000), rng.choice(_GUESSED_LOGINS), ip)
                for i in range(min(limit, rng.randint(1, 4)))]

    return _vpn_log(rng, budget, sessions, _asa_control, noise, 0.05, _asa_flow)


def _ovpn(t: int, text: str) -> Record:
    """A line of the OpenVPN server's log (syslog)."""
    return t, formats.openvpn(moment(t), OPENVPN_NAME, text, program=_OVPN_PROGRAM,
                              pid=_OVPN_PID), None


_OVPN_CHANNEL = ("Control Channel: TLSv1.3, cipher TLSv1.3 TLS_AES_256_GCM_SHA384, peer "
                 "certificate: 2048 bits RSA, signature: RSA-SHA256")


def _ovpn_control(rng: random.Random, s: VpnSession) -> list[Record]:
    """An administrator's session: handshake, authentication, address, hourly renegotiation,
    then exit or timeout."""
    login, peer = s.account.login, f"{s.remote_ip}:{s.port}"
    named = f"{login}/{peer}"
    lines = [f"{peer} TLS: Initial packet from [AF_INET]{peer}, sid={rng.getrandbits(32):08x} "
             f"{rng.getrandbits(32):08x}",
             f"{peer} VERIFY OK: depth=1, CN=CHU-Exemple-VPN-CA",
             f"{peer} VERIFY OK: depth=0, CN={login}",
             f"{peer} peer info: IV_VER=2.6.12", f"{peer} peer info: IV_PLAT=win",
             f"{peer} TLS: Username/Password authentication succeeded for username '{login}'",
             f"{peer} {_OVPN_CHANNEL}",
             f"{peer} [{login}] Peer Connection Initiated with [AF_INET]{peer}",
             f"{named} MULTI_sva: pool returned IPv4={s.tunnel_ip}, IPv6=(Not enabled)",
             f"{named} MULTI: Learn: {s.tunnel_ip} -> {named}",
             f"{named} Data Channel: cipher 'AES-256-GCM', peer-id: {s.ident % 64}"]
    out = [_ovpn(s.start + i * rng.randint(5, 150), text) for i, text in enumerate(lines)]
    for renegotiation in range(s.start + HOUR, s.end, HOUR):
        volume, packets = rng.randint(10**6, 10**9), rng.randint(10**3, 10**6)
        out += [_ovpn(renegotiation, f"{named} TLS: soft reset sec=3600/3600 bytes={volume}/-1 "
                                     f"pkts={packets}/0"),
                _ovpn(renegotiation + 40, f"{named} VERIFY OK: depth=1, CN=CHU-Exemple-VPN-CA"),
                _ovpn(renegotiation + 41, f"{named} VERIFY OK: depth=0, CN={login}"),
                _ovpn(renegotiation + 90, f"{named} {_OVPN_CHANNEL}")]
    if rng.random() < 0.7:
        out.append(_ovpn(s.end, f"{named} SIGTERM[soft,remote-exit] received, client-instance "
                                f"exiting"))
    else:
        out += [_ovpn(s.end, f"{named} [{login}] Inactivity timeout (--ping-restart), restarting"),
                _ovpn(s.end + 1, f"{named} SIGUSR1[soft,ping-restart] received, client-instance "
                                 f"restarting")]
    return out


def _ovpn_noise(rng: random.Random, limit: int) -> list[Record]:
    """Internet scanners knocking on the OpenVPN port, sometimes guessing a password."""
    t, ip = when(rng, PROFILE_FLAT), noise_ip(rng)
    peer = f"{ip}:{rng.randint(1024, 65535)}"
    draw = rng.random()
    if draw < 0.5 or limit < 4:
        return [_ovpn(t, f"TLS Error: cannot locate HMAC in incoming packet from [AF_INET]{peer}")]
    if draw < 0.95:
        return [_ovpn(t, f"{peer} TLS: Initial packet from [AF_INET]{peer}, "
                         f"sid={rng.getrandbits(32):08x} {rng.getrandbits(32):08x}"),
                _ovpn(t + 60_000, f"{peer} TLS Error: TLS key negotiation failed to occur within "
                                  f"60 seconds (check your network connectivity)"),
                _ovpn(t + 60_001, f"{peer} TLS Error: TLS handshake failed"),
                _ovpn(t + 60_002, f"{peer} SIGUSR1[soft,tls-error] received, client-instance "
                                  f"restarting")]
    return [_ovpn(t, f"{peer} TLS Auth Error: Auth Username/Password verification failed for "
                     f"peer")]


def openvpn_log(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """The IT administrators' VPN: a few long sessions, and a lot of internet scanning."""
    sessions = _sessions(rng, world.openvpn, min(30, budget // 80), "10.8.0",
                         attack.reserved_logins)
    return _vpn_log(rng, budget, sessions, _ovpn_control, _ovpn_noise, 1.0)

