"""The live connections of one run, typed: the directory always (``conn.ldap``), an SMB
session per file server (``conn.smb(host)``, ``conn.tree(host, share)``) and the WinRM
sessions (``conn.winrm``) on first use, all closed together at the end of the run.
The SMB connector (smbprotocol, pyspnego) is imported only by a run that opens SMB.

A run signs in to each host once and reuses the session (and its tree connects) for
every later read and write. Secrets are resolved only when a host is first used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from adsuite.connectors.credentials import Login, Secret
from adsuite.connectors.ldap import Directory
from adsuite.connectors.winrm import WinRmSessions, WinRmTarget
from adsuite.errors import InputError
from adsuite.runtime.inventory import Domain, Inventory
from adsuite.source import Location

if TYPE_CHECKING:
    from adsuite.connectors.smb import SmbEndpoint, SmbHost, Tree
    from adsuite.runtime.lease import DomainLease

log = logging.getLogger(__name__)

MAX_PARALLEL_HOSTS = 4  # WinRM hosts worked on at once
SMB_PORT = 445  # a DC's SYSVOL


@dataclass
class Connections:
    ldap: Directory
    inventory: Inventory
    secret: Callable[[str], Secret]
    journal_path: Path | None = None  # the run's journal, for readers that consult it
    lease: DomainLease | None = None  # the domain's one-writer lease when writing
    login: Callable[[str], Login] | None = None  # a credential's secret or Kerberos ticket
    winrm_workers: int = MAX_PARALLEL_HOSTS
    _smb: dict[str, SmbHost] = field(default_factory=dict)  # by inventory host, "dc:<realm>"
    _winrm: WinRmSessions | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def sign_in(self, name: str) -> Login:
        """What a connector signs in with as credential *name* (a ticket for ``kerberos:``)."""
        return self.login(name) if self.login is not None else self.secret(name)

    def smb(self, host: str, source: Location | None = None) -> SmbHost:
        """The signed-in SMB session to inventory host *host* (one with ``smb:``)."""
        session = self._smb.get(host)
        if session is None:
            from adsuite.connectors.smb import SmbHost  # smbprotocol: only for a run that uses SMB

            endpoint, credential = smb_endpoint(self.inventory, host, source)
            session = SmbHost.connect(endpoint, self.sign_in(credential))
            self._smb[host] = session
            self._closers.append(session.close)
        return session

    def dc_smb(self, domain: Domain) -> SmbHost:
        """SMB to the DC this run's directory connection uses, if it is one of *domain*'s
        (a run that failed over reads SYSVOL from the same DC as LDAP), else to the
        domain's preferred DC; signed in as the domain's credential."""
        key = f"dc:{domain.realm.lower()}"
        session = self._smb.get(key)
        if session is None:
            from adsuite.connectors.smb import SmbEndpoint, SmbHost

            here = [dc for dc in domain.dcs.values() if dc.ldap_url == self.ldap.endpoint.url]
            dc = here[0] if here else domain.preferred()
            username = self.inventory.credentials[domain.credential].username
            endpoint = SmbEndpoint(dc.host, SMB_PORT, username, dc.tls_name)
            session = SmbHost.connect(endpoint, self.sign_in(domain.credential))
            self._smb[key] = session
            self._closers.append(session.close)
        return session

    def tree(self, host: str, share: str, source: Location | None = None) -> Tree:
        """Share *share* on *host*, connected once per run."""
        return self.smb(host, source).tree(share)

    @property
    def winrm(self) -> WinRmSessions:
        """The run's WinRM sessions: a host's session opens on its first script."""
        if self._winrm is None:
            self._winrm = WinRmSessions(
                lambda host: winrm_target(self.inventory, host, self.sign_in),
                max_workers=self.winrm_workers,
            )
            self._closers.append(self._winrm.close)
        return self._winrm

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception as error:  # closing must not hide the run's real outcome
                log.warning("closing a connection failed: %s", type(error).__name__)
        self._closers.clear()
        self._smb.clear()
        self._winrm = None


def smb_endpoint(
    inventory: Inventory, host: str, source: Location | None = None
) -> tuple[SmbEndpoint, str]:
    """How to reach inventory host *host* over SMB, and the name of its credential."""
    from adsuite.connectors.smb import SmbEndpoint

    entry = inventory.hosts.get(host)
    if entry is None or entry.smb is None:
        known = ", ".join(k for k, h in inventory.hosts.items() if h.smb) or "none"
        why = "is not in the inventory" if entry is None else "has no smb: access"
        raise InputError(
            f"host {host!r} {why} (hosts with smb: {known})",
            file=source.file if source else None,
            line=source.line if source else None,
        )
    access = entry.smb
    username = inventory.credentials[access.credential].username
    endpoint = SmbEndpoint(entry.address, access.port, username, access.server_name)
    return endpoint, access.credential


def winrm_target(inventory: Inventory, host: str, secret: Callable[[str], Login]) -> WinRmTarget:
    """How to reach inventory host *host* over WinRM (its credential resolved now)."""
    entry = inventory.hosts.get(host)
    if entry is None or entry.winrm is None:
        known = ", ".join(sorted(k for k, h in inventory.hosts.items() if h.winrm)) or "none"
        raise InputError(f"host '{host}' has no winrm entry in the inventory (known: {known})")
    access = entry.winrm
    return WinRmTarget(
        name=host,
        url=access.url,
        username=inventory.credentials[access.credential].username,
        password=secret(access.credential),
        client=access.client,
        auth=access.auth,
        ca_file=access.ca_file,
        timeout=float(access.timeout),
    )
