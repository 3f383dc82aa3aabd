"""Every protocol's readers, writers and checkers, in three tables the pipeline looks up
by request type: facts.gather reads with ``READERS``, the executor writes with
``WRITERS`` after checking with ``CHECKERS``.

Each protocol module (a kind's ``io.py`` or ``*_io.py``) lists its own part (``READS``,
``WRITES``, ``CHECKS``) as plain data; nothing registers itself at import. Which
protocol modules handle a request type is :data:`ROUTES`, by the module that defines
the type, so a run imports only the protocols of the requests it makes: an LDAP-only
drift never loads the SMB, WinRM or GPO code. Two protocol modules claiming one type
is an error at the first lookup that imports both; tests/unit/test_protocols.py
imports every route and checks each claimed type is routed to its claimant.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, Generic, TypeVar

from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

Reader = Callable[[Connections, Sequence[Any], Progress], dict[Any, Any]]
Writer = Callable[[Connections, Any], None]
Checker = Callable[[Connections, str, Any], None]
F = TypeVar("F")

# the module that defines a request type -> the protocol modules that handle its types
ROUTES: Mapping[str, tuple[str, ...]] = {
    "adsuite.formats.ldap_query": ("adsuite.resources.directory.io",),  # Query: paged searches
    "adsuite.resources.base": ("adsuite.resources.directory.io",),  # LdapWrite, Expect
    "adsuite.resources.check.facts": ("adsuite.resources.check.io",),  # directory-wide rules
    "adsuite.resources.delegation.facts": ("adsuite.resources.delegation.io",),  # ACE trustees
    "adsuite.resources.delegation.dacl": ("adsuite.resources.delegation.io",),  # DACL edits
    "adsuite.resources.file_acl.requests": ("adsuite.resources.file_acl.io",),  # SMB or WinRM
    "adsuite.resources.file_acl.grants": ("adsuite.resources.file_acl.grants_io",),  # journal
    "adsuite.resources.gpo.requests": ("adsuite.resources.gpo.io",),  # GPOs: LDAP + SMB
    "adsuite.resources.membership.tickets": ("adsuite.resources.membership.tickets_io",),
    "adsuite.resources.privileged.facts": ("adsuite.resources.privileged.io",),  # by SID
    "adsuite.resources.privileged.rest": ("adsuite.resources.privileged.io",),  # resting
    "adsuite.resources.accounts.password_reset": ("adsuite.resources.accounts.password_io",),
}


def merged(*parts: Mapping[Any, Any]) -> dict[type, Any]:
    """One table from several protocols' parts; a type two of them claim is an error."""
    out: dict[type, Any] = {}
    for part in parts:
        clash = set(out) & set(part)
        if clash:
            raise RuntimeError(f"two protocols handle {sorted(t.__name__ for t in clash)}")
        out.update(part)
    return out


class Table(MutableMapping[type, F], Generic[F]):
    """One of the three tables: a request type's entry comes from the protocol modules
    :data:`ROUTES` names for the type's module, imported on first lookup. Setting an
    entry (a test's fake protocol) shadows the routed one; iterating imports every route.
    """

    def __init__(self, part: str, routes: Mapping[str, tuple[str, ...]] = ROUTES) -> None:
        self.part = part  # "READS", "WRITES" or "CHECKS"
        self.routes = routes
        self._set: dict[type, F] = {}
        self._found: dict[type, F] = {}

    def __getitem__(self, request_type: type) -> F:
        found = self._set.get(request_type)
        if found is None:
            found = self._found.get(request_type)
        if found is None:
            found = self._route(request_type.__module__).get(request_type)
            if found is None:
                raise KeyError(request_type)
            self._found[request_type] = found
        return found

    def _route(self, module: str) -> dict[type, F]:
        protocols = [importlib.import_module(name) for name in self.routes.get(module, ())]
        return merged(*(getattr(protocol, self.part, {}) for protocol in protocols))

    def __setitem__(self, request_type: type, handler: F) -> None:
        self._set[request_type] = handler

    def __delitem__(self, request_type: type) -> None:
        del self._set[request_type]

    def everything(self) -> dict[type, F]:
        """Every routed protocol's entries (each protocol module once), then any set."""
        names = dict.fromkeys(name for route in self.routes.values() for name in route)
        protocols = [importlib.import_module(name) for name in names]
        return {**merged(*(getattr(p, self.part, {}) for p in protocols)), **self._set}

    def __iter__(self) -> Iterator[type]:
        return iter(self.everything())

    def __len__(self) -> int:
        return len(self.everything())


READERS: Table[Reader] = Table("READS")
WRITERS: Table[Writer] = Table("WRITES")
CHECKERS: Table[Checker] = Table("CHECKS")
