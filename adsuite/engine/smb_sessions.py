"""SMB sessions of one run: one per inventory host, opened on first use, closed at the end.

Every SMB reader and writer (folder permissions; later SYSVOL files) gets its session
here, so a run signs in to each file server once and reuses the tree connects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from adsuite.connectors.smb import SmbEndpoint, SmbHost, Tree
from adsuite.engine.connections import Connections
from adsuite.errors import InputError
from adsuite.source import Location

log = logging.getLogger(__name__)


def host_session(conn: Connections, host: str, source: Location | None = None) -> SmbHost:
    """The signed-in session to inventory host *host* (with ``smb:``)."""
    entry = conn.inventory.hosts.get(host)
    if entry is None or entry.smb is None:
        known = ", ".join(k for k, h in conn.inventory.hosts.items() if h.smb) or "none"
        why = "is not in the inventory" if entry is None else "has no smb: access"
        raise InputError(
            f"host {host!r} {why} (hosts with smb: {known})",
            file=source.file if source else None,
            line=source.line if source else None,
        )
    access = entry.smb
    credential = conn.inventory.credentials[access.credential]
    endpoint = SmbEndpoint(entry.address, access.port, credential.username, access.server_name)

    def opener(c: Connections) -> tuple[SmbHost, Callable[[], None]]:
        session = SmbHost.connect(endpoint, c.sign_in(access.credential))
        return session, session.close

    session: SmbHost = conn.get(f"smb:{host}", opener)
    return session


def share_tree(conn: Connections, host: str, share: str, source: Location | None = None) -> Tree:
    return host_session(conn, host, source).tree(share)
