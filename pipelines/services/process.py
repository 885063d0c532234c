"""Run a long-lived local server as a detached process, tracked by a pid file; stop it by pid.

    spawn(command, folder, name, env) -> pid     (stdout+stderr to folder/NAME.log, pid to NAME.pid)
    running_pid(folder, name) -> pid or None     (only if that pid is still the process we started)
    stop(folder, name, grace_s) -> bool          (SIGTERM to its process group, SIGKILL after grace)
    wait_for(check, timeout_s, what, log) -> None (VigieError naming the log when it times out)

A process is "ours" when its pid file exists and /proc/PID/cmdline still contains the marker
written next to it (so a recycled pid is never signalled). Each server runs in its own session
and process group, so `make kafka-start` returns while the server keeps running, and stopping it
also ends any child it made.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from pipelines.errors import VigieError

LOOPBACK = "127.0.0.1"


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def env_port(variable: str, default: int) -> int:
    """A port number from the environment variable `variable`, else `default`."""
    value = os.environ.get(variable, str(default))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise VigieError(f"{variable}={value!r} is not a port number; set it to e.g. {default}")
    return int(value)


def spawn(command: Sequence[str], folder: Path, name: str, env: Mapping[str, str] | None = None,
          cwd: Path | None = None, marker: str | None = None) -> int:
    """Start `command` detached (own session), logging to folder/NAME.log; return its pid.

    `marker` (default: the command's last word) is what later identifies the process."""
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / f"{name}.log", "ab")
    try:
        process = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, cwd=cwd or folder,
                                   env=dict(env) if env is not None else None,
                                   start_new_session=True)
    except OSError as error:
        raise VigieError(f"could not start {name} ({error}); check that {command[0]} is installed")
    finally:
        log.close()
    (folder / f"{name}.pid").write_text(f"{process.pid}\n{marker or command[-1]}\n")
    return process.pid


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def running_pid(folder: Path, name: str) -> int | None:
    """The pid of `name` started in `folder`, if that process is still alive; else None."""
    try:
        pid_text, marker = (folder / f"{name}.pid").read_text().splitlines()[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    state = _proc_state(pid)
    if state is None or state == "Z" or marker not in _cmdline(pid):
        return None
    return pid


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def stop(folder: Path, name: str, grace_s: float = 30) -> bool:
    """Stop `name` (SIGTERM to its group, SIGKILL after `grace_s`); False if it was not running."""
    pid = running_pid(folder, name)
    if pid is None:
        (folder / f"{name}.pid").unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.2)
    if _group_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.2)
    _reap(pid)
    (folder / f"{name}.pid").unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in process group `pgid`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _reap(pid: int) -> None:
    """Collect the exit status when the server is our own child (started in this process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def group_pids(pgid: int) -> list[int]:
    """Live processes of process group `pgid` (to show that a stop left nothing behind)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, log: Path,
             alive: Callable[[], bool] | None = None, interval_s: float = 0.5) -> float:
    """Poll `check` until it is true; return the seconds waited.

    Raises VigieError naming `what` and `log` on timeout, or as soon as `alive` says the
    process died.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        if alive is not None and not alive() and not _still_alive(alive):
            raise VigieError(f"{what} exited during start-up: {last_error(log)}; see {log}")
        time.sleep(interval_s)
    raise VigieError(f"{what} did not become ready within {timeout_s:.0f} s "
                     f"({last_error(log)}); see {log}")


def _still_alive(alive: Callable[[], bool], confirm_s: float = 2.0) -> bool:
    """Whether a process that `alive` just reported dead shows up alive again within
    `confirm_s`: a look at /proc can miss a process that is starting (an expansion service was
    reported "exited during start-up" while it went on to listen)."""
    deadline = time.monotonic() + confirm_s
    while time.monotonic() < deadline:
        time.sleep(0.25)
        if alive():
            return True
    return False


def last_error(log: Path) -> str:
    """The last line of `log` that looks like an error, shortened for a one-line message."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    for line in reversed(lines):
        if any(word in line for word in ("ERROR", "Exception", "Error:", "error:")):
            return line.strip()[:200]
    return "no error in its log"


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket process `pid` listens on, from /proc (IPv4-mapped
    IPv6 addresses shown as IPv4; "0.0.0.0" or "::" means every interface)."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return []
    found = []
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                found.append((_proc_address(address), int(port, 16)))
    return sorted(set(found))


def _proc_address(text: str) -> str:
    """An address as /proc/net/tcp{,6} writes it (little-endian 32-bit words) in dotted form."""
    import ipaddress
    raw = bytes.fromhex(text)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)
