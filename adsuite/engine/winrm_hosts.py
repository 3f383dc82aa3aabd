"""The inventory's ``hosts[].winrm`` entries as WinRM targets, and one session set per run.

``winrm_sessions(connections)`` gives the run's :class:`WinRmSessions`: a host's
session is opened on first use, reused for every later script in the run, and closed
with the run's other connections. Secrets are resolved only when a host is first used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from adsuite.connectors.credentials import Login
from adsuite.connectors.winrm import WinRmSessions, WinRmTarget
from adsuite.engine.connections import Connections
from adsuite.engine.inventory import Inventory
from adsuite.errors import InputError

log = logging.getLogger(__name__)

MAX_PARALLEL_HOSTS = 4


def winrm_target(inventory: Inventory, host: str, secret: Callable[[str], Login]) -> WinRmTarget:
    """How to reach inventory host ``host`` over WinRM (its credential resolved now)."""
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


def winrm_sessions(
    connections: Connections, *, max_workers: int = MAX_PARALLEL_HOSTS
) -> WinRmSessions:
    """The run's WinRM sessions (created once per run, closed with the run)."""

    def opener(conn: Connections) -> tuple[WinRmSessions, Callable[[], None]]:
        sessions = WinRmSessions(
            lambda host: winrm_target(conn.inventory, host, conn.sign_in), max_workers=max_workers
        )
        return sessions, sessions.close

    sessions: WinRmSessions = connections.get("winrm", opener)
    return sessions
