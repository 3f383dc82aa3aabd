"""The live side of a health check: one bound LDAP connection per DC (a DC that does not
answer is kept with its error, never dropped), each DC's root DSE read once, and an SMB
session per DC opened on first use.

Checks read what they need from here; nothing here decides what is healthy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adsuite.connectors import endpoints
from adsuite.connectors.credentials import Login
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.connectors.smb import SmbEndpoint, SmbHost
from adsuite.errors import AdsuiteError, BindRefused
from adsuite.formats.ldap_query import Entry
from adsuite.health.model import Report, Thresholds
from adsuite.runtime import logins
from adsuite.runtime.inventory import Domain, DomainController, Inventory

log = logging.getLogger(__name__)

ROOT_DSE = (
    "currentTime",
    "dsServiceName",
    "dnsHostName",
    "defaultNamingContext",
    "configurationNamingContext",
    "schemaNamingContext",
)
SMB_PORT = 445
Journaled = Callable[[Directory, str, "str | None", str, Callable[[], None]], None]


@dataclass
class DcLink:
    """One DC of the inventory and what this run could open to it."""

    key: str
    dc: DomainController
    directory: Directory | None = None
    error: str | None = None  # why the LDAP connection of the inventory's ldap_url failed
    refused: bool = False  # the DC answered and refused the credential
    root: Entry | None = None
    local_time: datetime | None = None  # this host's clock halfway through the root DSE read
    smb: SmbHost | None = None
    smb_error: str | None = None

    @property
    def host(self) -> str:
        return self.dc.host

    @property
    def dns_name(self) -> str:
        """The DC's DNS name: as it says itself, else the inventory's TLS name or host."""
        said = self.root.text("dnsHostName") if self.root else None
        return (said or self.dc.tls_name or self.dc.host).lower()


@dataclass
class HealthContext:
    domain_key: str
    domain: Domain
    username: str
    password: Login  # a Secret, or a Kerberos ticket
    limits: Thresholds
    links: dict[str, DcLink]
    report: Report
    # writes a check makes (the replication probe) go through the run's journal:
    # (directory, dn, description before, after, the write itself)
    journaled: Journaled | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def answering(self) -> list[DcLink]:
        """The DCs bound over LDAP, in inventory order."""
        return [link for link in self.links.values() if link.directory is not None]

    def smb(self, link: DcLink) -> SmbHost | None:
        """The DC's SMB session, opened on first use; None (and ``smb_error``) if refused."""
        if link.smb is None and link.smb_error is None:
            endpoint = SmbEndpoint(link.host, SMB_PORT, self.username, link.dc.tls_name)
            try:
                link.smb = SmbHost.connect(endpoint, self.password, self.limits.timeout_seconds)
                self._closers.append(link.smb.close)
            except AdsuiteError as error:
                link.smb_error = str(error)
        return link.smb


def _endpoint(dc: DomainController, username: str, url: str | None = None) -> Endpoint:
    return Endpoint(
        url or dc.ldap_url, str(dc.ca_file) if dc.ca_file else None, dc.tls_name, username
    )


def bind(
    dc: DomainController, username: str, password: Login, timeout: int, url: str | None = None
) -> Directory:
    """A TLS-validated bind to *dc* at *url* (default: its inventory ldap_url); with a
    ticket, a sealed GSSAPI bind on the DC's port 389 whatever the URL says."""
    return Directory.connect(_endpoint(dc, username, url), password, timeout=timeout)


def _link(key: str, dc: DomainController, ctx: HealthContext) -> DcLink:
    link = DcLink(key, dc)
    try:
        link.directory = bind(dc, ctx.username, ctx.password, ctx.limits.timeout_seconds)
        ctx._closers.append(link.directory.close)
        before = datetime.now(UTC)
        link.root = link.directory.read("", ROOT_DSE)
        link.local_time = before + (datetime.now(UTC) - before) / 2
    except BindRefused as error:
        link.error, link.refused = str(error), True
    except AdsuiteError as error:
        link.error = str(error)
    return link


def _refuse_if_no_dc_took_the_credential(ctx: HealthContext) -> None:
    """A credential every DC refuses is the caller's mistake (exit 1), not an unhealthy
    domain: the DCs answered. One DC refusing while another binds is a finding."""
    refused = [link for link in ctx.links.values() if link.refused]
    if refused and not ctx.answering():
        raise BindRefused(refused[0].error or "bind refused", hint="check the credential")


@contextmanager
def open_context(inventory: Inventory, domain_key: str, password: Login) -> Iterator[HealthContext]:
    """Every DC of the domain connected (or its error kept); all closed when the block ends."""
    domain = inventory.domains[domain_key]
    username = logins.identity(password, inventory.credentials[domain.credential].username)
    report = Report(domain_key, tuple(domain.dcs))
    ctx = HealthContext(domain_key, domain, username, password, inventory.health, {}, report)
    with endpoints.scope():
        try:
            for key, dc in domain.dcs.items():
                ctx.links[key] = _link(key, dc, ctx)
            _refuse_if_no_dc_took_the_credential(ctx)
            yield ctx
        finally:
            for closer in reversed(ctx._closers):
                try:
                    closer()
                except Exception as error:  # closing must not hide the check's outcome
                    log.warning("closing a connection failed: %s", type(error).__name__)
