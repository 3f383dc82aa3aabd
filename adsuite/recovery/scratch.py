"""A scratch DC restored from a backup, walled off from every real DC while it runs.

``samba-tool domain backup restore`` already removes every other DC from the restored
database (their nTDSDSA objects, computer accounts, RID sets and sysvol references), clears
repsFrom/repsTo on every naming context and resets the krbtgt key twice; on top of that:

- the restore and the DC run in a network namespace of their own (``unshare --net``)
  holding only a loopback interface: no packet can reach a real DC, whatever the
  restored database says. adsuite reaches the scratch DC by entering that namespace from
  one thread (``setns``) that opens its LDAPS connection there;
- its own mount namespace gives it a private ``/run/samba`` (winbindd's socket), as
  scripts/lab-in-netns.sh does for the lab;
- ``server services`` drops ``drepl``, ``kcc`` and ``dnsupdate``: it has no replication
  service to start.

The folder holds every password hash of the domain: it is created 0700 and deleted with
the DC, also when the drill fails.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from adsuite.errors import RecoveryError
from adsuite.lab.config import LabPaths
from adsuite.lab.process import find_tool, running_pid, stop_process_group
from adsuite.lab.provision import last_meaningful_line
from adsuite.lab.smbconf import patch_smb_conf
from adsuite.recovery import sambatool

log = logging.getLogger(__name__)

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
STOP_TIMEOUT = 30.0
# $1 ip, $2 samba, $3 smb.conf: bring up the namespace's loopback, give samba its own
# /run/samba (the mount namespace keeps it private), and start it as a daemon.
_START = (
    'set -e; "$1" link set lo up; mkdir -p /run/samba; '
    'mount -t tmpfs -o mode=0755 none /run/samba; exec "$2" -s "$3" -D'
)


class ScratchDC:
    """One restore target: ``restore``, ``start``, ``run_inside``, and ``remove`` (always)."""

    def __init__(self, server_name: str, parent: Path | None = None) -> None:
        self.server_name = server_name.upper()
        self.folder = Path(tempfile.mkdtemp(prefix="adsuite-drill-", dir=parent))  # 0700
        self.paths = LabPaths(self.folder / "dc")

    @property
    def ca_file(self) -> Path:
        return self.paths.ca_file

    def restore(self, backup: Path) -> None:
        args = [
            "domain",
            "backup",
            "restore",
            f"--backup-file={backup}",
            f"--targetdir={self.paths.state_dir}",
            f"--newservername={self.server_name}",
        ]
        sambatool.run(args, prefix=[find_tool("unshare"), "--net"])

    def start(self) -> None:
        self._configure()
        command = [find_tool("unshare"), "--mount", "--net", "--propagation", "private"]
        command += ["sh", "-c", _START, "adsuite-drill", find_tool("ip"), find_tool("samba")]
        command.append(str(self.paths.smb_conf))
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            reason = last_meaningful_line(done.stderr + done.stdout)
            raise RecoveryError(f"the scratch DC did not start: {reason}")

    def pid(self) -> int | None:
        return running_pid(self.paths.pid_file)

    def run_inside(self, work: Callable[[], T]) -> T:
        """Run *work* on a thread inside the scratch DC's network namespace."""
        pid = self.pid()
        if pid is None:
            raise RecoveryError("the scratch DC is not running", hint=f"see {self.paths.samba_log}")
        return in_network_of(pid, work)

    def remove(self) -> None:
        """Stop the DC if it runs, and delete the folder."""
        pid = self.pid()
        try:
            if pid is not None:
                stop_process_group(pid, STOP_TIMEOUT)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _configure(self) -> None:
        paths = self.paths
        for folder in (paths.run_dir, paths.log_dir):
            folder.mkdir(mode=0o700, exist_ok=True)
        options = {
            "interfaces": "lo",
            "bind interfaces only": "yes",
            "server services": "-drepl -kcc -dnsupdate",
            "log file": str(paths.samba_log),
            "pid directory": str(paths.run_dir),
            "ncalrpc dir": str(paths.run_dir / "ncalrpc"),
            "ntp signd socket directory": str(paths.run_dir / "ntp_signd"),
        }
        text = paths.smb_conf.read_text(encoding="utf-8")
        paths.smb_conf.write_text(patch_smb_conf(text, {"global": options}), encoding="utf-8")


def in_network_of(pid: int, work: Callable[[], T]) -> T:
    """*work*'s result, run on a new thread that joined *pid*'s network namespace.

    A network namespace is per thread: the rest of the process stays where it is, and
    sockets the thread opens stay in the namespace they were opened in.
    """
    results: list[T] = []
    errors: list[BaseException] = []

    def enter_and_work() -> None:
        try:
            _join_network(pid)
            results.append(work())
        except BaseException as error:  # handed to the calling thread
            errors.append(error)

    thread = threading.Thread(target=enter_and_work, name="scratch-dc", daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def _join_network(pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            reason = os.strerror(ctypes.get_errno())
            raise RecoveryError(f"cannot enter the scratch DC's network namespace: {reason}")
    finally:
        os.close(fd)
