"""The local lab domain controller: a real Samba AD DC in one state folder.

``Lab(config).up()`` provisions the domain on first use, starts ``samba`` as a daemon
and returns once an LDAPS bind, with the certificate validated against the lab's own
CA, succeeds. ``status()``, ``down()`` and ``destroy()`` complete the life cycle.
Only one DC can own ports 389/636/445/88 on a host at a time; tests share one.
"""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ldap3 import Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPInvalidCredentialsResult

from adsuite.errors import LabError
from adsuite.lab.config import LDAPS_PORT, LabConfig, LabPaths, LabStatus, make_status
from adsuite.lab.namespace import in_private_mounts
from adsuite.lab.process import (
    check_ports_free,
    find_tool,
    read_pid,
    require_root,
    running_pid,
    stop_process_group,
    wait_helpers_gone,
)
from adsuite.lab.provision import configure, last_meaningful_line, provision
from adsuite.lab.replica import MAX_DCS, Replica
from adsuite.lab.secret import read_secret

__all__ = ["Lab", "LabConfig", "LabStatus", "ldaps_bind"]

log = logging.getLogger(__name__)

OnStep = Callable[[str], None]
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
_POLL = 0.5


def _quiet(_step: str) -> None:
    pass


class Lab:
    """Provision, start, inspect and stop the lab DC described by a :class:`LabConfig`."""

    def __init__(self, config: LabConfig | None = None) -> None:
        self.config = config if config is not None else LabConfig()
        self.paths = LabPaths(self.config.state_dir)

    def status(self) -> LabStatus:
        pid = running_pid(self.paths.pid_file)
        return make_status(self.config, running=pid is not None, pid=pid)

    def admin_password(self) -> str:
        return read_secret(self.paths.secret_file)

    def replicas(self) -> list[Replica]:
        """The lab's other DCs that were ever joined (their state folders exist)."""
        found = [Replica(self.config, k) for k in range(2, MAX_DCS + 1)]
        return [replica for replica in found if replica.paths.smb_conf.is_file()]

    def up(
        self, on_step: OnStep | None = None, timeout: float = READY_TIMEOUT, dcs: int = 1
    ) -> LabStatus:
        """Start DC1 (see :meth:`up_first`), then join or start DC2 … DC*dcs*.

        With more than one DC, DC1 runs in a mount namespace of its own (lab/namespace.py)
        so that it resolves its partners through the lab's DNS; a DC1 started alone runs
        as a plain daemon (that also works where / is no mount point, as in a chroot), and
        is restarted into its namespace when a second DC joins.
        """
        several = dcs > 1 or bool(self.replicas())
        if several and self.status().running and not self._private_marker.exists():
            (on_step or _quiet)("restarting dc1 in a mount namespace of its own for its partners")
            self.down_first()
        status = self.up_first(on_step, timeout, private=several)
        for index in range(2, dcs + 1):
            Replica(self.config, index).up(on_step or _quiet)
        return status

    @property
    def _private_marker(self) -> Path:
        return self.config.state_dir / "dc1-private-mounts"  # DC1 runs in its namespace

    def up_first(
        self,
        on_step: OnStep | None = None,
        timeout: float = READY_TIMEOUT,
        private: bool | None = None,
    ) -> LabStatus:
        """Provision if needed, start, and wait for LDAPS. Harmless when already running.

        *private*: start DC1 in its own mount namespace (default: when the lab has
        other DCs)."""
        if private is None:
            private = bool(self.replicas())
        step = on_step or _quiet
        require_root("starting the lab DC")
        samba, samba_tool = find_tool("samba"), find_tool("samba-tool")
        current = self.status()
        if current.running:
            step(f"lab DC already running (pid {current.pid})")
            return current
        check_ports_free(self.config.host_ip, self.config.required_ports)
        if not current.provisioned:
            step(f"provisioning {self.config.realm} into {self.config.state_dir}")
            provision(self.config, samba_tool)
        step("configuring smb.conf (audit logs, data share) and the Kerberos overlay")
        configure(self.config)
        for attempt in (1, 2):
            step("starting samba")
            self._start(samba, private)
            step(f"waiting for an LDAPS bind on {current.ldap_url}")
            try:
                self.wait_ready(timeout)
                break
            except LabError as error:
                self.down_first()  # a half-started DC would make the next `up` a silent no-op
                wait_helpers_gone(self.paths.pid_file.parent)
                if attempt == 2 or "exited while starting" not in str(error):
                    raise
                step("samba exited while starting (see its log); starting it once more")
        status = self.status()
        step(f"lab DC ready (pid {status.pid})")
        return status

    def remove_replica(self, index: int) -> None:
        """Remove DC *index* from the domain and restart DC1 if it runs.

        The restart is needed: DC1's samba keeps the Kerberos service tickets it holds
        for ``GC/dcN.<realm>`` in memory, encrypted with the removed DC's keys, and
        a DC joined again under the same name refuses them (replication to it fails
        with WERR_GEN_FAILURE until DC1 restarts).
        """
        Replica(self.config, index).remove()
        if self.down_first():
            self.up_first()

    def down(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop every DC of the lab; return whether DC1 was running."""
        for replica in self.replicas():
            replica.down()
        return self.down_first(timeout)

    def down_first(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop DC1 only (its replicas keep running); return whether it was running."""
        pid = running_pid(self.paths.pid_file)
        if pid is None:
            return False
        require_root("stopping the lab DC")
        log.info("stopping samba pid %d", pid)
        stop_process_group(pid, timeout)
        wait_helpers_gone(self.paths.pid_file.parent)
        self.paths.pid_file.unlink(missing_ok=True)
        return True

    def destroy(self) -> None:
        """Stop the DC and delete its state folder, domain and secret included."""
        self.down()
        state_dir = self.config.state_dir
        if not state_dir.exists():
            return
        if any(state_dir.iterdir()) and not self.paths.smb_conf.exists():
            raise LabError(
                f"{state_dir} does not look like a lab state folder; not deleting it",
                hint="delete it by hand if you are sure",
            )
        shutil.rmtree(state_dir)

    def _start(self, samba: str, private: bool) -> None:
        self.paths.pid_file.unlink(missing_ok=True)  # stale: status() found no samba
        command = [samba, "-s", str(self.paths.smb_conf), "-D"]
        log.info("running %s", " ".join(command))
        self._private_marker.unlink(missing_ok=True)
        if private:
            command = in_private_mounts(command, self.paths.resolv_conf)
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode == 0 and private:
            self._private_marker.touch()
        if result.returncode != 0:
            reason = last_meaningful_line(result.stderr + result.stdout)
            raise LabError(f"samba did not start: {reason}", hint=f"see {self.paths.samba_log}")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Return once a TLS-validated LDAPS bind as the admin succeeds; raise on timeout."""
        status, password = self.status(), self.admin_password()
        deadline = time.monotonic() + timeout
        seen_pid, last_error = False, "no answer yet"
        while time.monotonic() < deadline:
            pid = running_pid(self.paths.pid_file)
            if pid is None and self._exited(seen_pid):
                raise LabError("samba exited while starting", hint=f"see {self.paths.samba_log}")
            seen_pid = seen_pid or pid is not None
            try:
                ldaps_bind(status, password)
                return
            except LDAPInvalidCredentialsResult:
                raise LabError(
                    f"the lab DC refused the password in {status.secret_file}",
                    hint="destroy the lab state folder and run `adsuite lab up` again",
                ) from None
            except (LDAPException, OSError) as error:
                last_error = str(error) or type(error).__name__
            time.sleep(_POLL)
        raise LabError(
            f"the lab DC did not accept an LDAPS bind on {status.ldap_url} within "
            f"{timeout:.0f} s (last error: {last_error})",
            hint=f"see {self.paths.samba_log}",
        )

    def _exited(self, seen_pid: bool) -> bool:
        """The pid file is gone after naming a samba, or names a process that is gone.
        A pid file that exists but holds no pid yet is samba still writing it."""
        written = read_pid(self.paths.pid_file)
        return seen_pid if written is None else True


def ldaps_bind(
    status: LabStatus, password: str, *, ca_file: str | None = None, timeout: int = 5
) -> None:
    """Simple-bind as the lab admin over LDAPS, validating the DC's certificate.

    ``timeout`` is whole seconds: ldap3 2.9.1 packs it into SO_RCVTIMEO as an integer.
    """
    tls = Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=ca_file or str(status.ca_file),
        valid_names=[status.tls_name],
    )
    host = status.ldap_url.removeprefix("ldaps://").rsplit(":", 1)[0]
    server = Server(host, port=LDAPS_PORT, use_ssl=True, tls=tls, connect_timeout=timeout)
    connection = Connection(
        server,
        user=status.admin_username,
        password=password,
        raise_exceptions=True,
        receive_timeout=timeout,
    )
    try:
        connection.bind()
    finally:
        connection.unbind()
