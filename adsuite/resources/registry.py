"""Every resource kind adsuite knows, by the key a task uses: each module's ``KIND``
record (adsuite/resources/base.py ``Kind``) lists its hooks; nothing is found by probing.

The table is plain data — a kind's name and the module that holds its ``KIND`` — and a
module is imported the first time its kind is asked for. A run of an ou/group/user
playbook so never imports the GPO or file_acl models (their pydantic classes, the
SMB and WinRM code under them); iterating :data:`KINDS` or :func:`specs` still gives
every kind, importing each.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator, Mapping
from typing import TypeVar

from pydantic import BaseModel

from adsuite.resources.base import Kind

# task key -> the module whose ``KIND`` it is, in the order kinds are listed
MODULES: Mapping[str, str] = {
    "ou": "adsuite.resources.directory.ou",
    "group": "adsuite.resources.accounts.group",
    "user": "adsuite.resources.accounts.user",
    "membership": "adsuite.resources.membership.membership",
    "password_policy": "adsuite.resources.password.password_policy",
    "pso": "adsuite.resources.password.pso",
    "site": "adsuite.resources.directory.site",
    "site_link": "adsuite.resources.directory.site_link",
    "subnet": "adsuite.resources.directory.subnet",
    "computer": "adsuite.resources.accounts.computer",
    "password_reset": "adsuite.resources.accounts.password_reset",
    "delegation": "adsuite.resources.delegation.delegation",
    "file_acl": "adsuite.resources.file_acl.file_acl",
    "privileged": "adsuite.resources.privileged.privileged",
    "gpo": "adsuite.resources.gpo.gpo",
    "default_domain_policy": "adsuite.resources.gpo.default_domain_policy",
    "ticketed_membership": "adsuite.resources.membership.ticketed_membership",
    "check": "adsuite.resources.check.check",
}


@functools.cache
def kind(name: str) -> Kind:
    """The ``KIND`` of the task key *name*, its module imported on first use (KeyError
    for a name no kind has)."""
    module = importlib.import_module(MODULES[name])
    found = getattr(module, "KIND", None)
    if not isinstance(found, Kind) or found.name != name:
        raise RuntimeError(f"{MODULES[name]} holds no KIND named {name!r}")
    return found


V = TypeVar("V")


class _ByKindName(Mapping[str, V]):
    """A mapping keyed by the table's kind names: membership and iteration read the
    table; only reading a value imports its kind's module."""

    def __getitem__(self, name: str) -> V:
        raise NotImplementedError

    def __contains__(self, name: object) -> bool:
        return name in MODULES

    def __iter__(self) -> Iterator[str]:
        return iter(MODULES)

    def __len__(self) -> int:
        return len(MODULES)


class _Kinds(_ByKindName[Kind]):
    """The kinds by name."""

    def __getitem__(self, name: str) -> Kind:
        return kind(name)


class Specs(_ByKindName[type[BaseModel]]):
    """Each kind's desired-state model, for the playbook loader; a model's module is
    imported when the loader first meets a task of that kind."""

    def __getitem__(self, name: str) -> type[BaseModel]:
        return kind(name).spec

    def origin(self, name: str) -> str:
        """Where the kind is defined, without importing it (the playbook cache's key)."""
        return MODULES[name]


KINDS: Mapping[str, Kind] = _Kinds()


def specs() -> Specs:
    """The desired-state model of each kind, for the playbook loader."""
    return Specs()


def order(name: str) -> int:
    return kind(name).order
