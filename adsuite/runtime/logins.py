"""How a run signs in as an inventory credential: a password, or a Kerberos ticket.

A credential with ``kerberos:`` yields a :class:`~adsuite.connectors.kerberos.Ticket`
(from its keytab or ccache); any other yields its :class:`Secret`, resolved in the
usual order (connectors/credentials.py). Connectors take either.

A keytab is signed in once per process (connectors/kerberos.py keeps the ticket), so
every bind of a run — its directory, the lease's, the witness's, SMB — shares one TGT:
one AS exchange per run.
"""

from __future__ import annotations

import logging

from adsuite.connectors import credentials, kerberos
from adsuite.connectors.credentials import Login
from adsuite.connectors.kerberos import Ticket
from adsuite.runtime.inventory import Inventory

log = logging.getLogger(__name__)


def login(inventory: Inventory, name: str) -> Login:
    entry = inventory.credentials.get(name)
    if entry is None or entry.kerberos is None:
        return credentials.resolve(name, entry.secret_file if entry else None)
    source = entry.kerberos
    return kerberos.login(
        keytab=source.keytab,
        principal=source.principal,
        ccache=source.ccache,
        config=source.config,
        what=f"credential {name!r}",
    )


def identity(signed_in: Login, username: str) -> str:
    """Who *signed_in* binds as: a ticket's principal (read from a ccache when the
    inventory names none), else the inventory's *username*."""
    if isinstance(signed_in, Ticket) and signed_in.principal:
        return signed_in.principal
    return username
