"""The live connections of one run: the directory always, others on first use.

Fact readers and writers for other protocols (SMB, WinRM) find what they need here
through :meth:`Connections.get`, which opens and caches a connection per key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adsuite.connectors.credentials import Login, Secret
from adsuite.connectors.ldap import Directory
from adsuite.engine.inventory import Inventory

log = logging.getLogger(__name__)


@dataclass
class Connections:
    directory: Directory
    inventory: Inventory
    secret: Callable[[str], Secret]
    journal_path: Path | None = None  # the run's journal, for readers that consult it
    lease: Any = None  # the domain's one-writer lease (engine.lease.DomainLease) when writing
    login: Callable[[str], Login] | None = None  # a credential's secret or Kerberos ticket
    _opened: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def sign_in(self, name: str) -> Login:
        """What a connector signs in with as credential *name* (a ticket for ``kerberos:``)."""
        return self.login(name) if self.login is not None else self.secret(name)

    def get(self, key: str, opener: Callable[[Connections], tuple[Any, Callable[[], None]]]) -> Any:
        """The connection cached under *key*, opened with *opener* (returns it and a closer)."""
        if key not in self._opened:
            connection, closer = opener(self)
            self._opened[key] = connection
            self._closers.append(closer)
        return self._opened[key]

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception as error:  # closing must not hide the run's real outcome
                log.warning("closing a connection failed: %s", type(error).__name__)
        self._closers.clear()
        self._opened.clear()
