"""Log line writers: one pure function per log format Vigie parses, the mirror of parsing/.

Each writer takes plain values (an aware datetime, strings, numbers) and returns the exact line
the device or daemon writes, without its line terminator. The scenario writes its log files
with them, and tests and benches build their input lines with them instead of by hand.

Time: `at` is always an aware datetime. Formats that print local time print it in at's own zone
(give a datetime in the device's zone: `datetime(..., tzinfo=ZoneInfo("Europe/Paris"))`);
IIS prints UTC; Squid and FortiGate's eventtime print the instant since the epoch. Fractions of
a second appear only where the format has them (Squid milliseconds, FortiGate nanoseconds,
RFC 3339 syslog stamps, GlobalProtect's high-resolution time).

  web   apache_combined, apache_common (optional leading virtual host), w3c_header, w3c, iis,
        squid, apache_error, nginx_error, nginx_json
  mail  syslog (the header every syslog line shares), postfix, exim
  vpn   openvpn, cisco_asa, fortigate, globalprotect, globalprotect_system
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Mapping, NamedTuple, Sequence

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

# The fields of an IIS 10 W3C log as IIS writes them by default (UTC date and time first).
IIS_FIELDS = ("date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port",
              "cs-username", "c-ip", "cs(User-Agent)", "cs(Referer)", "sc-status", "sc-substatus",
              "sc-win32-status", "time-taken")
IIS_SOFTWARE = "Microsoft Internet Information Services 10.0"

# ---------------------------------------------------------------------------------------------
# Time stamps (one computation per distinct second and zone)
# ---------------------------------------------------------------------------------------------


class _Stamps(NamedTuple):
    """The renderings of one whole second in one zone that the formats use."""

    clf: str  # '27/Nov/2026:19:02:11 +0100' (Apache)
    bsd: str  # 'Nov 27 19:02:11' (BSD syslog: day padded with a space, no year)
    asa: str  # 'Nov 27 2026 19:02:11' (Cisco ASA 'logging timestamp')
    local: str  # '2026-11-27 19:02:11' (Exim; FortiGate date= and time=)
    utc: str  # '2026-11-27 18:02:11' (IIS)
    panos: str  # '2026/11/27 19:02:11' (PAN-OS)
    offset: str  # '+0100'
    epoch: int  # seconds since 1970-01-01 UTC


@functools.lru_cache(maxsize=1 << 16)
def _stamps_of(year: int, month: int, day: int, hour: int, minute: int, second: int, fold: int,
               zone: dt.tzinfo) -> _Stamps:
    """The renderings of one wall-clock second in `zone` (fold: which of a repeated hour)."""
    whole = dt.datetime(year, month, day, hour, minute, second, tzinfo=zone, fold=fold)
    offset = whole.utcoffset()
    if offset is None:
        raise ValueError(f"log line writers need an aware datetime, got {whole!r}")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    zone_text = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    month_name = _MONTHS[month - 1]
    clock = f"{hour:02d}:{minute:02d}:{second:02d}"
    delta = whole - _EPOCH
    utc = _EPOCH + delta
    return _Stamps(
        clf=f"{day:02d}/{month_name}/{year}:{clock} {zone_text}",
        bsd=f"{month_name} {day:2d} {clock}",
        asa=f"{month_name} {day:02d} {year} {clock}",
        local=f"{year:04d}-{month:02d}-{day:02d} {clock}",
        utc=f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} {utc.hour:02d}:{utc.minute:02d}:"
            f"{utc.second:02d}",
        panos=f"{year:04d}/{month:02d}/{day:02d} {clock}",
        offset=zone_text,
        epoch=delta.days * 86_400 + delta.seconds)


def _stamps(at: dt.datetime) -> _Stamps:
    """The renderings of at's whole second in at's own zone (cached by wall clock and zone: the
    same instant in two zones is two entries)."""
    if at.tzinfo is None:
        raise ValueError(f"log line writers need an aware datetime, got {at!r}")
    return _stamps_of(at.year, at.month, at.day, at.hour, at.minute, at.second, at.fold,
                      at.tzinfo)


def syslog_timestamp(at: dt.datetime, style: str = "bsd") -> str:
    """A syslog time stamp: 'bsd' 'Nov 27 19:02:11' (RFC 3164, local, no year) or 'rfc3339'
    '2026-11-27T19:02:11.123456+01:00' (rsyslog's file format, microseconds and offset)."""
    if style == "bsd":
        return _stamps(at).bsd
    if style == "rfc3339":
        _stamps(at)  # refuses a naive datetime
        return at.isoformat(timespec="microseconds")
    raise ValueError(f"unknown syslog time stamp style {style!r} (bsd, rfc3339)")


def _dash(value: object) -> str:
    """A field value, '-' when empty or None (the convention of CLF, W3C and Squid logs)."""
    return "-" if value is None or value == "" else str(value)


# ---------------------------------------------------------------------------------------------
# Web: Apache / Nginx, W3C (IIS), Squid
# ---------------------------------------------------------------------------------------------


def apache_common(at: dt.datetime, client: str, method: str, target: str, status: int,
                  size: int | None, *, protocol: str = "HTTP/1.1", ident: str = "-",
                  user: str = "-", vhost: str | None = None) -> str:
    """Apache/Nginx Common Log Format (`%h %l %u %t "%r" %>s %b`).

    `size` 0 or None is written '-' (as %b does for an empty body). With `vhost`, the line starts
    with the virtual host (`%v`, or `%v:%p` when vhost is 'host:port'): vhost_common.
    '27/Nov/2026:19:02:11 +0100' is at's local time and offset.
    """
    head = f"{vhost} " if vhost else ""
    return (f'{head}{client} {ident or "-"} {user or "-"} [{_stamps(at).clf}] '
            f'"{method} {target} {protocol}" {status} {size or "-"}')


def apache_combined(at: dt.datetime, client: str, method: str, target: str, status: int,
                    size: int | None, referrer: str = "-", agent: str = "-", *,
                    protocol: str = "HTTP/1.1", ident: str = "-", user: str = "-",
                    vhost: str | None = None) -> str:
    """Apache/Nginx Combined Log Format: the common format then `"%{Referer}i"
    "%{User-agent}i"` (an empty referrer or agent is written '-'). With `vhost`, the line
    starts with the virtual host (`%v` or `%v:%p`), as in a vhost_combined log."""
    common = apache_common(at, client, method, target, status, size, protocol=protocol,
                           ident=ident, user=user, vhost=vhost)
    return f'{common} "{referrer or "-"}" "{agent or "-"}"'


def w3c_header(at: dt.datetime, fields: Sequence[str] = IIS_FIELDS, *,
               software: str = IIS_SOFTWARE, version: str = "1.0") -> list[str]:
    """The directives a W3C extended log starts with (IIS writes them again after a restart):
    #Software, #Version, #Date (UTC) and #Fields."""
    return [f"#Software: {software}", f"#Version: {version}", f"#Date: {_stamps(at).utc}",
            f"#Fields: {' '.join(fields)}"]


def w3c(at: dt.datetime, fields: Sequence[str], values: Mapping[str, object]) -> str:
    """One W3C extended log entry in the order of `fields` (its #Fields directive).

    `date` and `time` come from `at` in UTC (as IIS writes them); every other field from
    `values`, '-' when missing, empty or None, spaces written '+' (IIS's encoding).
    """
    stamps = _stamps(at)
    out = []
    for name in fields:
        if name == "date":
            out.append(stamps.utc[:10])
        elif name == "time":
            out.append(stamps.utc[11:])
        else:
            out.append(_dash(values.get(name)).replace(" ", "+"))
    return " ".join(out)


def iis(at: dt.datetime, server_ip: str, method: str, stem: str, query: str | None, port: int,
        user: str | None, client: str, agent: str | None, referrer: str | None, status: int,
        time_taken: int, *, substatus: int = 0, win32_status: int = 0) -> str:
    """An IIS 10 W3C entry with the default fields (IIS_FIELDS): UTC date and time, server
    address, method, URI stem and query, server port, user, client address, agent and referrer
    (spaces as '+'), status, substatus, Win32 status and time taken (ms)."""
    return w3c(at, IIS_FIELDS, {
        "s-ip": server_ip, "cs-method": method, "cs-uri-stem": stem, "cs-uri-query": query,
        "s-port": port, "cs-username": user, "c-ip": client, "cs(User-Agent)": agent,
        "cs(Referer)": referrer, "sc-status": status, "sc-substatus": substatus,
        "sc-win32-status": win32_status, "time-taken": time_taken})


def squid(at: dt.datetime, elapsed_ms: int, client: str, action: str, status: int, size: int,
          method: str, url: str, user: str | None = "-", hierarchy: str = "HIER_NONE/-",
          mime: str | None = "-") -> str:
    """A Squid native access.log line: `time.ms elapsed client action/status size method URL
    user hierarchy/peer type` (time since the epoch with milliseconds, elapsed right-aligned
    on six characters, status on three digits, empty user or type written '-')."""
    stamps = _stamps(at)
    return (f"{stamps.epoch}.{at.microsecond // 1000:03d} {elapsed_ms:6d} {client} "
            f"{action}/{status:03d} {size} {method} {url} {_dash(user)} {hierarchy} {_dash(mime)}")


def apache_error(at: dt.datetime, level: str, message: str, *, module: str | None = "core",
                 pid: int | None = None, tid: int | None = None, client: str | None = None,
                 client_port: int | None = None, code: str | None = None,
                 referer: str | None = None) -> str:
    """An Apache httpd error log line, local time. 2.4 (the default with `module`): `[Fri Nov
    27 19:02:11.123456 2026] [module:level] [pid P:tid T] [client ip:port] AHnnnnn: message,
    referer: X`; `module=None` writes the 2.2 layout (`[Fri Nov 27 19:02:11 2026] [level]
    [client ip] message`). `message` is written as given (already escaped as Apache does)."""
    clock = f"{at.hour:02d}:{at.minute:02d}:{at.second:02d}"
    if module is not None:
        clock += f".{at.microsecond:06d}"
    parts = [f"[{_DAYS[at.weekday()]} {_MONTHS[at.month - 1]} {at.day:02d} {clock} {at.year}]"]
    parts.append(f"[{module}:{level}]" if module is not None else f"[{level}]")
    if pid is not None:
        parts.append(f"[pid {pid}:tid {tid}]" if tid is not None else f"[pid {pid}]")
    if client is not None:
        port = client_port if client_port is not None and module is not None else None
        parts.append(f"[client {client}:{port}]" if port is not None else f"[client {client}]")
    text = f"{code}: {message}" if code else message
    line = " ".join(parts) + " " + text
    return line + (f", referer: {referer}" if referer else "")


def nginx_error(at: dt.datetime, level: str, pid: int, message: str, *, tid: int | None = None,
                connection: int | None = None, client: str | None = None, server: str | None = None,
                request: str | None = None, upstream: str | None = None, host: str | None = None,
                referrer: str | None = None) -> str:
    """An nginx error log line, local time: `2026/11/27 19:02:11 [error] 1234#1234: *5 message,
    client: ip, server: name, request: "GET / HTTP/1.1", upstream: "...", host: "...",
    referrer: "..."` (the context nginx appends for a request; parts left None are omitted)."""
    head = f"{_stamps(at).panos} [{level}] {pid}#{pid if tid is None else tid}: "
    head += f"*{connection} " if connection is not None else ""
    context = ""
    if client is not None:
        context = f", client: {client}, server: {server or ''}"
        for name, value in (("request", request), ("upstream", upstream), ("host", host),
                            ("referrer", referrer)):
            if value is not None:
                context += f', {name}: "{value}"'
    return head + message + context


def nginx_json(at: dt.datetime, fields: Mapping[str, object]) -> str:
    """An nginx access log line written by a `log_format ... escape=json '{...}'` layout:
    `time_local` (at's local time and offset) then `fields` in order (nginx variable names:
    remote_addr, request, status, ...), values as strings, escaped the JSON way."""
    record = {"time_local": _stamps(at).clf}
    record.update({name: "" if value is None else str(value) for name, value in fields.items()})
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Mail: syslog (Postfix and its milters), Exim
# ---------------------------------------------------------------------------------------------


def syslog(at: dt.datetime, host: str, program: str, message: str, *, pid: int | None = None,
           stamp: str = "bsd", priority: int | None = None) -> str:
    """A syslog line as syslogd writes it to a file: `stamp host program[pid]: message`.

    `stamp` is 'bsd' ('Nov 27 19:02:11', local, no year) or 'rfc3339'
    ('2026-11-27T19:02:11.123456+01:00'); no `[pid]` without a pid; `priority` prefixes
    '<N>' as on the wire (a relayed line).
    """
    head = f"<{priority}>" if priority is not None else ""
    tag = program if pid is None else f"{program}[{pid}]"
    return f"{head}{syslog_timestamp(at, stamp)} {host} {tag}: {message}"


def postfix(at: dt.datetime, host: str, program: str, pid: int, message: str) -> str:
    """A Postfix mail log line (BSD syslog): `Nov 27 19:02:11 mx1 postfix/smtpd[2204]: ...`.

    `program` is the daemon's syslog name ('postfix/smtpd', 'postfix/qmgr', ...) or a milter
    logging to the same file ('opendkim', 'opendmarc').
    """
    return f"{_stamps(at).bsd} {host} {program}[{pid}]: {message}"


def exim(at: dt.datetime, message: str, *, pid: int | None = None) -> str:
    """An Exim mainlog line: local `2026-11-27 19:02:11`, '[pid] ' with log_selector +pid,
    then the message (`1vXyZa-000abc-AB <= ...`, `Start queue run: pid=...`)."""
    head = f"[{pid}] " if pid is not None else ""
    return f"{_stamps(at).local} {head}{message}"


# ---------------------------------------------------------------------------------------------
# VPN: OpenVPN, Cisco ASA, FortiGate, Palo Alto GlobalProtect
# ---------------------------------------------------------------------------------------------


def openvpn(at: dt.datetime, host: str, message: str, *, program: str = "openvpn",
            pid: int | None = None) -> str:
    """An OpenVPN server line through syslog: `Nov 27 19:02:11 vpn1 openvpn[1187]: message`
    (`message` as OpenVPN logs it, e.g. '203.0.113.5:51234 TLS: Initial packet from ...')."""
    return syslog(at, host, program, message, pid=pid)


def cisco_asa(at: dt.datetime, host: str, severity: int, message_id: int, text: str) -> str:
    """A Cisco ASA syslog line with `logging timestamp` and `logging device-id hostname`:
    `Nov 27 2026 19:02:11 asa-chu-01 : %ASA-6-113005: text` (local time with the year)."""
    return f"{_stamps(at).asa} {host} : %ASA-{severity}-{message_id}: {text}"


def fortigate(at: dt.datetime, devname: str, devid: str, fields: Mapping[str, object]) -> str:
    """A FortiGate key=value log line (FortiOS 6.2+ disk or syslog format without header).

    The line starts `date=... time=... devname="..." devid="..." eventtime=<ns> tz="+0100"`
    (local date and time, nanoseconds since the epoch), then `fields` in their order: a str
    value is written in double quotes, any other value (int, ipaddress address) bare, as
    FortiOS writes numbers and addresses.
    """
    stamps = _stamps(at)
    nanoseconds = stamps.epoch * 1_000_000_000 + at.microsecond * 1_000
    body = " ".join(f'{key}="{value}"' if type(value) is str else f"{key}={value}"
                    for key, value in fields.items())
    return (f'date={stamps.local[:10]} time={stamps.local[11:]} devname="{devname}" '
            f'devid="{devid}" eventtime={nanoseconds} tz="{stamps.offset}" {body}')


def _csv(value: object, quoted: bool = False) -> str:
    """A PAN-OS CSV value: in double quotes (inner quotes doubled) when asked or when it holds
    a comma or a quote."""
    text = "" if value is None else str(value)
    if quoted or "," in text or '"' in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _panos_head(at: dt.datetime, syslog_host: str | None) -> str:
    """The BSD syslog header PAN-OS puts before a record it forwards, or nothing."""
    return f"{_stamps(at).bsd} {syslog_host} " if syslog_host else ""


def globalprotect(at: dt.datetime, event_id: str, stage: str, status: str, user: str,
                  public_ip: str, *, private_ip: str = "", machine: str = "",
                  auth_method: str = "", tunnel: str = "ipsec", region: str = "",
                  client_version: str = "", client_os: str = "", client_os_version: str = "",
                  error: str = "", description: str = "", location: str = "",
                  login_duration: int = 0, connect_method: str = "", portal: str = "",
                  gateway: str = "", host_id: str = "", device: str = "", serial: str = "",
                  sequence: int = 0,
                  high_resolution: bool = False, syslog_host: str | None = None) -> str:
    """A Palo Alto PAN-OS 10.x GLOBALPROTECT log record (CSV, the documented field order).

    `serial` is the firewall's; receive and generated time are at's local time
    ('2026/11/27 19:02:11'); with
    `high_resolution` the high-resolution timestamp field carries at with milliseconds and
    offset. Values with a comma or a quote are quoted; the description always is. With
    `syslog_host`, a BSD syslog header (`Nov 27 19:02:11 host `) comes first, as forwarded.
    """
    stamps = _stamps(at)
    high_res = at.isoformat(timespec="milliseconds") if high_resolution else ""
    fields = ["1", stamps.panos, serial, "GLOBALPROTECT", "0", "2561", stamps.panos, "vsys1",
              event_id, stage, auth_method, tunnel, user, region, machine, public_ip, "",
              private_ip, "", host_id, "", client_version, client_os, client_os_version, "1", "",
              error, description, status, location, login_duration, connect_method, "0", portal,
              sequence,
              "0x0", high_res, "", "0", "", "", gateway, "0", "0", "0", "0", "", device, "1", ""]
    record = ",".join(_csv(v, quoted=(i == 27)) for i, v in enumerate(fields))
    return _panos_head(at, syslog_host) + record


def globalprotect_system(at: dt.datetime, event_id: str, description: str, *,
                         severity: str = "informational", module: str = "general",
                         object_name: str = "", device: str = "", serial: str = "",
                         sequence: int = 0, syslog_host: str | None = None) -> str:
    """A PAN-OS SYSTEM log record of subtype globalprotect (CSV): event id such as
    'globalprotectgateway-auth-fail', and the description PAN-OS writes ('GlobalProtect
    gateway user authentication failed. Login from: ..., User name: ...'), always quoted.
    Times and `syslog_host` as in `globalprotect`."""
    stamps = _stamps(at)
    fields = ["1", stamps.panos, serial, "SYSTEM", "globalprotect", "0", stamps.panos, "",
              event_id, object_name, "0", "0", module, severity, description, sequence,
              "0x8000000000000000", "0", "0", "0", "0", "", device]
    record = ",".join(_csv(v, quoted=(i == 14)) for i, v in enumerate(fields))
    return _panos_head(at, syslog_host) + record
