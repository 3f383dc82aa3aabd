"""More DCs for the lab domain: DCk joins as a full DC on 127.0.0.k, state in ``<state>/dck``.

What the join and replication need (verified on Samba 4.17, docs/lab.md): each DC runs in
its own mount namespace (:mod:`adsuite.lab.namespace`) with a resolv.conf naming DC1's
internal DNS; ``interfaces = 127.0.0.k/8`` (with a mask, so Samba takes the address
without probing it on ``lo``); and the DCs' A, CNAME and SRV records registered with
``samba_dnsupdate --current-ip`` — provisioning drops a 127.0.0.1 host address and
Samba's own DNS update skips loopback addresses, so neither DC is in DNS otherwise.
A first replication of every partition in both directions then sets up the change
notifications, so a change reaches the other DC in about a second.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import subprocess
import time
from collections.abc import Callable

from ldap3.core.exceptions import LDAPException

from adsuite.errors import LabError
from adsuite.lab.config import FIRST_DC_IP, LabConfig, LabPaths, LabStatus, base_dn, make_status
from adsuite.lab.namespace import in_private_mounts, resolv_conf_text
from adsuite.lab.process import (
    check_ports_free,
    find_tool,
    running_pid,
    stop_process_group,
    wait_helpers_gone,
)
from adsuite.lab.provision import last_meaningful_line, run_samba_tool
from adsuite.lab.secret import read_secret
from adsuite.lab.smbconf import krb5_overlay_text, lab_smb_conf_options, patch_smb_conf

log = logging.getLogger(__name__)

PULL_ATTEMPTS = 3

MAX_DCS = 9
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
_POLL = 0.5
OnStep = Callable[[str], None]


def replica_config(primary: LabConfig, index: int) -> LabConfig:
    """DC number *index* (2 or more) of the lab whose DC1 is *primary*."""
    if not 2 <= index <= MAX_DCS:
        raise LabError(f"a lab has DCs 1 to {MAX_DCS}, not DC {index}")
    return dataclasses.replace(
        primary,
        state_dir=primary.state_dir / f"dc{index}",
        host_name=f"dc{index}",
        host_ip=f"127.0.0.{index}",
    )


def partitions(realm: str) -> tuple[str, ...]:
    """The naming contexts every lab DC holds (replicated in this order)."""
    domain = base_dn(realm)
    return (
        f"CN=Schema,CN=Configuration,{domain}",
        f"CN=Configuration,{domain}",
        domain,
        f"DC=DomainDnsZones,{domain}",
        f"DC=ForestDnsZones,{domain}",
    )


def join_args(config: LabConfig) -> list[str]:
    """samba-tool's arguments to join *config*'s DC to the lab domain (password appended)."""
    return [
        "domain",
        "join",
        config.realm.lower(),
        "DC",
        f"--targetdir={config.state_dir}",
        f"--server={FIRST_DC_IP}",
        f"--username=Administrator@{config.realm}",
        f"--option=netbios name={config.host_name.upper()}",
        f"--option=interfaces={config.host_ip}/8",
        "--option=bind interfaces only=yes",
        "--dns-backend=SAMBA_INTERNAL",
    ]


class Replica:
    """DC number *index* of the lab whose DC1 is configured by *primary*."""

    def __init__(self, primary: LabConfig, index: int) -> None:
        self.primary = primary
        self.index = index
        self.config = replica_config(primary, index)
        self.paths = LabPaths(self.config.state_dir)
        self.admin_secret = LabPaths(primary.state_dir).secret_file

    @property
    def name(self) -> str:
        return self.config.host_name

    def joined(self) -> bool:
        return self.paths.smb_conf.is_file() and self.paths.sam_ldb.is_file()

    def status(self) -> LabStatus:
        pid = running_pid(self.paths.pid_file)
        status = make_status(self.config, running=pid is not None, pid=pid)
        return dataclasses.replace(status, provisioned=self.joined(), secret_file=self.admin_secret)

    def up(self, on_step: OnStep) -> LabStatus:
        """Join (first time), start and wait for DCk; then replicate both ways once."""
        if self.status().running:
            on_step(f"{self.name} already running")
            return self.status()
        check_ports_free(self.config.host_ip, self.config.required_ports)
        self._write_resolv_conf()
        if not self.joined():
            on_step(f"joining {self.name} ({self.config.host_ip}) to {self.config.realm}")
            self._join()
        self._configure()
        on_step(f"registering dc1 and {self.name} in the lab DNS")
        self._register_dns()
        on_step(f"starting {self.name}")
        self._start()
        try:
            self._wait_ready()
        except LabError:
            self.down()
            raise
        on_step(f"replicating every partition between dc1 and {self.name}")
        self.replicate_both_ways()
        return self.status()

    def down(self) -> bool:
        pid = running_pid(self.paths.pid_file)
        if pid is None:
            return False
        log.info("stopping %s (samba pid %d)", self.name, pid)
        stop_process_group(pid, STOP_TIMEOUT)
        wait_helpers_gone(self.paths.pid_file.parent)
        self.paths.pid_file.unlink(missing_ok=True)
        return True

    def remove(self) -> None:
        """Stop DCk, remove every reference to it from the domain (on DC1) and its folder."""
        self.down()
        if self.joined():
            args = [
                "domain",
                "demote",
                f"--remove-other-dead-server={self.name.upper()}",
                f"--URL=ldap://{FIRST_DC_IP}",
                f"--username=Administrator@{self.config.realm}",
            ]
            self._write_resolv_conf()
            samba_tool = find_tool("samba-tool")
            run_samba_tool(samba_tool, self.admin_secret, "--password", args, self._wrap)
            # DC1's KCC drops the removed DC's repsFrom/repsTo now, not in 5 minutes.
            kcc = ["drs", "kcc", FIRST_DC_IP, f"--username=Administrator@{self.config.realm}"]
            run_samba_tool(samba_tool, self.admin_secret, "--password", kcc, self._wrap)
        shutil.rmtree(self.config.state_dir, ignore_errors=True)

    def _wrap(self, command: list[str]) -> list[str]:
        return in_private_mounts(command, self.paths.resolv_conf)

    def _write_resolv_conf(self) -> None:
        self.paths.resolv_conf.parent.mkdir(parents=True, exist_ok=True)
        text = resolv_conf_text(self.config.realm, [FIRST_DC_IP, self.config.host_ip])
        self.paths.resolv_conf.write_text(text, encoding="utf-8")

    def _join(self) -> None:
        samba_tool = find_tool("samba-tool")
        try:
            run_samba_tool(
                samba_tool, self.admin_secret, "--password", join_args(self.config), self._wrap
            )
        except BaseException:
            for child in ("etc/smb.conf", "private/sam.ldb"):
                (self.config.state_dir / child).unlink(missing_ok=True)
            raise

    def _configure(self) -> None:
        options = lab_smb_conf_options(self.paths)
        options["global"] |= {
            "interfaces": f"{self.config.host_ip}/8",
            "bind interfaces only": "yes",
        }
        text = self.paths.smb_conf.read_text(encoding="utf-8")
        self.paths.smb_conf.write_text(patch_smb_conf(text, options), encoding="utf-8")
        self.paths.krb5_overlay.write_text(krb5_overlay_text(self.config), encoding="utf-8")
        for folder in (self.paths.data_dir, self.paths.log_dir, self.paths.run_dir):
            folder.mkdir(mode=0o755, exist_ok=True)

    def _register_dns(self) -> None:
        tool = find_tool("samba_dnsupdate")
        primary = LabPaths(self.primary.state_dir)
        for smb_conf, ip in (
            (primary.smb_conf, FIRST_DC_IP),
            (self.paths.smb_conf, self.config.host_ip),
        ):
            command = [
                tool,
                "-s",
                str(smb_conf),
                f"--current-ip={ip}",
                f"--rpc-server-ip={FIRST_DC_IP}",
                "--use-samba-tool",
            ]
            self._run(command, "samba_dnsupdate")

    def _start(self) -> None:
        self.paths.pid_file.unlink(missing_ok=True)
        self._run([find_tool("samba"), "-s", str(self.paths.smb_conf), "-D"], "samba")

    def _run(self, command: list[str], what: str) -> None:
        log.info("running %s", " ".join(command))
        result = subprocess.run(
            self._wrap(command), capture_output=True, text=True, timeout=120, check=False
        )
        log.debug("%s output:\n%s", what, result.stdout + result.stderr)
        if result.returncode != 0:
            reason = last_meaningful_line(result.stderr + result.stdout)
            raise LabError(
                f"{what} failed for {self.name}: {reason}", hint=f"see {self.paths.samba_log}"
            )

    def _wait_ready(self) -> None:
        from adsuite.lab.samba import ldaps_bind  # samba.py imports this module

        status, password = self.status(), read_secret(self.admin_secret)
        deadline, last_error = time.monotonic() + READY_TIMEOUT, "no answer yet"
        while time.monotonic() < deadline:
            try:
                ldaps_bind(status, password)
                return
            except (LDAPException, OSError) as error:
                last_error = str(error) or type(error).__name__
            time.sleep(_POLL)
        raise LabError(
            f"{self.name} did not accept an LDAPS bind on {status.ldap_url} "
            f"within {READY_TIMEOUT:.0f} s (last error: {last_error})",
            hint=f"see {self.paths.samba_log}",
        )

    def replicate_both_ways(self) -> None:
        """One forced pull of every partition each way (a DC that just started may drop
        the first DRS connection: each pull is tried up to three times)."""
        samba_tool = find_tool("samba-tool")
        realm = self.config.realm.lower()
        first, this = f"dc1.{realm}", f"{self.name}.{realm}"
        for destination, source in ((this, first), (first, this)):
            for partition in partitions(self.config.realm):
                args = [
                    "drs",
                    "replicate",
                    destination,
                    source,
                    partition,
                    f"--username=Administrator@{self.config.realm}",
                ]
                self._pull(samba_tool, args)

    def _pull(self, samba_tool: str, args: list[str]) -> None:
        for attempt in range(1, PULL_ATTEMPTS + 1):
            try:
                run_samba_tool(samba_tool, self.admin_secret, "--password", args, self._wrap)
                return
            except LabError as error:
                if attempt == PULL_ATTEMPTS:
                    raise
                log.info("%s (attempt %d of %d); again in 2 s", error, attempt, PULL_ATTEMPTS)
                time.sleep(2)
