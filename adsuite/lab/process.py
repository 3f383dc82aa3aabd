"""Host checks and process control for the lab DC: root, Samba binaries, free ports, pid.

The lab's Samba runs as a daemon in its own session: its pid file names the session
leader, and every worker shares that process group.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from adsuite.errors import LabError

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
    "samba samba-ad-dc winbind krb5-user ldb-tools smbclient"
)
_SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise LabError(
            f"{action} needs root (Samba binds privileged ports and owns its files)",
            hint="run it with sudo, or as root",
        )


def find_tool(name: str) -> str:
    """The path of a Samba binary, looking in sbin folders a user's PATH may lack."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN_DIRS])
    found = shutil.which(name, path=search)
    if found is None:
        raise LabError(f"`{name}` is not installed", hint=INSTALL_HINT)
    return found


def check_ports_free(host: str, ports: Iterable[int]) -> None:
    """Raise naming the first port on ``host`` that another process already holds."""
    for port in ports:
        if not _port_free(host, port):
            raise LabError(
                f"port {port} on {host} is already in use by another process",
                hint=f"stop that service first (see `ss -ltnp 'sport = :{port}'`)",
            )


def _port_free(host: str, port: int) -> bool:
    # SO_REUSEADDR so a TIME_WAIT connection does not count as "taken", just as for Samba.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise LabError(f"cannot check port {port} on {host}: {error.strerror}") from None
    return True


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def is_samba(pid: int) -> bool:
    """True if ``pid`` is alive and is a samba process (not a recycled pid)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return comm == "samba" and state[0] != "Z"


def running_pid(pid_file: Path) -> int | None:
    pid = read_pid(pid_file)
    return pid if pid is not None and is_samba(pid) else None


def stop_process_group(pid: int, timeout: float) -> None:
    """SIGTERM the samba session leader; SIGKILL its whole group if it outlives ``timeout``."""
    group = _own_group(pid)
    _signal(pid, signal.SIGTERM)
    if _wait_gone(pid, group, timeout):
        return
    log.warning("samba pid %d ignored SIGTERM for %.0f s; killing it", pid, timeout)
    if group is not None:
        _signal_group(group, signal.SIGKILL)
    else:
        _signal(pid, signal.SIGKILL)
    if not _wait_gone(pid, group, 5.0):
        raise LabError(f"samba pid {pid} did not stop, even after SIGKILL")


HELPER_PID_FILES = ("smbd.pid", "winbindd.pid")


def wait_helpers_gone(run_dir: Path, timeout: float = 30.0) -> None:
    """Wait until the smbd and winbindd a stopped samba started have gone too: they
    leave in their own time, in a process group of their own, and a new samba started
    beside them (an immediate restart) finds their pid files and ports taken and exits.
    One still there after *timeout* is killed."""
    for name in HELPER_PID_FILES:
        pid = read_pid(run_dir / name)
        if pid is None:
            continue
        if not _wait_pid(pid, timeout):
            log.warning("%s pid %d outlived its samba for %.0f s; killing it", name, pid, timeout)
            _signal(pid, signal.SIGKILL)
            _wait_pid(pid, 5.0)


def _wait_pid(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state[0] != "Z"


def _own_group(pid: int) -> int | None:
    try:
        return pid if os.getpgid(pid) == pid else None
    except ProcessLookupError:
        return None


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _alive(pid: int, group: int | None) -> bool:
    """While the leader heads its own group, wait for every worker, not just the leader."""
    if group is None:
        return is_samba(pid)
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, group: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, group):
            return True
        time.sleep(0.1)
    return not _alive(pid, group)
