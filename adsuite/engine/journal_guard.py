"""The journal's guard from the inventory: its MAC key credential and its witnesses.

:class:`~adsuite.engine.session.Session` registers it for its journal file, so every
writer in the process MACs entries and every run end writes the witnesses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from adsuite.connectors.credentials import Login
from adsuite.connectors.ldap import Endpoint
from adsuite.journal.seal import KeyRef
from adsuite.journal.witness import Guard, Witness
from adsuite.journal.witness_file import FileWitness
from adsuite.journal.witness_ldap import DirectoryWitness
from adsuite.runtime.inventory import Inventory

log = logging.getLogger(__name__)

DIRECTORY = "directory witness"
FILE = "file witness"
MAC_KEY = "MAC key"


def guard_from(
    inventory: Inventory, secret: Callable[[str], Login], run_dc: str | None = None
) -> Guard:
    """The guard *inventory* describes; what it leaves out is named in ``absent``.

    *run_dc* is the DC the run uses (failover may have chosen it): the directory
    witness asks it which DC is the PDC emulator, instead of the preferred DC."""
    settings = inventory.journal_guard
    if settings is None:
        return Guard(absent=(MAC_KEY, DIRECTORY, FILE))
    key = None
    if settings.mac_key is not None:
        entry = inventory.credentials[settings.mac_key]
        key = KeyRef(settings.mac_key, entry.secret_file)
    witnesses: list[Witness] = []
    if settings.directory is not None:
        witnesses.append(
            _directory_witness(inventory, settings.directory, settings.container, secret, run_dc)
        )
    if settings.file is not None:
        witnesses.append(FileWitness(settings.file))
    absent = [
        name
        for name, present in (
            (MAC_KEY, key is not None),
            (DIRECTORY, settings.directory is not None),
            (FILE, settings.file is not None),
        )
        if not present
    ]
    return Guard(key=key, witnesses=tuple(witnesses), absent=tuple(absent))


def _directory_witness(
    inventory: Inventory,
    domain_key: str,
    container: str | None,
    secret: Callable[[str], Login],
    run_dc: str | None,
) -> DirectoryWitness:
    domain = inventory.domains[domain_key]
    username = inventory.credentials[domain.credential].username
    dcs = {
        key: Endpoint(dc.ldap_url, str(dc.ca_file) if dc.ca_file else None, dc.tls_name, username)
        for key, dc in domain.dcs.items()
    }
    preferred = run_dc if run_dc in domain.dcs else domain.preferred_key
    return DirectoryWitness(
        dcs=dcs,
        preferred=preferred,
        password=lambda: secret(domain.credential),
        base_dn=domain.base_dn,
        container=container or f"CN=System,{domain.base_dn}",
    )
