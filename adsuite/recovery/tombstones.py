"""Deleted objects as the DC keeps them under CN=Deleted Objects: which tombstones were one
deleted subtree, and where each one lived. Pure: entries in, tombstones out.

A tombstone is named ``<name>\\nDEL:<objectGUID>`` and its ``lastKnownParent`` is a DN
link: it follows the parent, so a user deleted with its OU names the OU's tombstone
(``OU=X\\0ADEL:<guid>,CN=Deleted Objects,...``), and a parent brought back already names
the live OU. Samba 4.17 keeps no ``msDS-LastKnownRDN``: the RDN is the ``name`` before
``\\nDEL:``. The original DN is therefore rebuilt up the chain of parents.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adsuite.errors import InputError
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query

log = logging.getLogger(__name__)

ATTRIBUTES = ("objectGUID", "name", "lastKnownParent", "objectClass", "whenChanged", "*")
_DELETED_RDN = re.compile(r"^[^=]+=.*?(?:\\0A|\n)DEL:(?P<guid>[0-9a-fA-F-]{36}),", re.DOTALL)


@dataclass(frozen=True)
class Tombstone:
    """One deleted object: its tombstone DN, identity, RDN, parent link, and what it kept."""

    dn: str
    guid: str
    rdn_type: str
    rdn_value: str
    parent: str  # lastKnownParent as the DC returns it
    changed: str  # whenChanged: when it was deleted (nothing else writes a tombstone)
    entry: Entry

    @property
    def parent_guid(self) -> str | None:
        """The parent's objectGUID when the parent is a tombstone too."""
        match = _DELETED_RDN.match(self.parent + ",")
        return match["guid"].lower() if match else None


def query(base_dn: str) -> Query:
    """Every tombstone of the domain partition, with all it kept: one paged search."""
    return Query(
        f"CN=Deleted Objects,{base_dn}",
        "(isDeleted=TRUE)",
        ATTRIBUTES,
        scope="one",
        show_deleted=True,
    )


def guid_text(raw: bytes) -> str:
    return str(uuid.UUID(bytes_le=raw))


def parse(entries: Iterable[Entry]) -> list[Tombstone]:
    """The tombstones among *entries* (the Deleted Objects container itself is skipped)."""
    found = []
    for entry in entries:
        name, raw_guid = entry.text("name") or "", entry.raw("objectGUID")
        if "\nDEL:" not in name or not raw_guid:
            continue
        found.append(
            Tombstone(
                dn=entry.dn,
                guid=guid_text(raw_guid[0]),
                rdn_type=entry.dn.split("=", 1)[0].upper(),
                rdn_value=name.split("\nDEL:", 1)[0],
                parent=entry.text("lastKnownParent") or "",
                changed=entry.text("whenChanged") or "",
                entry=entry,
            )
        )
    return found


def original_dns(tombstones: Sequence[Tombstone]) -> dict[str, str]:
    """Each tombstone's DN before deletion, by objectGUID."""
    by_guid = {t.guid: t for t in tombstones}
    done: dict[str, str] = {}

    def resolve(stone: Tombstone, seen: frozenset[str]) -> str:
        if stone.guid in done:
            return done[stone.guid]
        parent_guid = stone.parent_guid
        if parent_guid in by_guid and parent_guid not in seen:
            parent = resolve(by_guid[parent_guid], seen | {stone.guid})
        else:
            parent = stone.parent
        rdn = f"{stone.rdn_type}={dnlib.escape_value(stone.rdn_value)}"
        done[stone.guid] = f"{rdn},{parent}"
        return done[stone.guid]

    for stone in tombstones:
        resolve(stone, frozenset())
    return done


def subtree(tombstones: Sequence[Tombstone], target_dn: str) -> list[Tombstone]:
    """The tombstone deleted last whose original DN is *target_dn*, and every tombstone
    whose parent chain leads to it (deleted with it), parents first. [] if none."""
    where = original_dns(tombstones)
    roots = [t for t in tombstones if dnlib.key(where[t.guid]) == dnlib.key(target_dn)]
    if not roots:
        return []
    root = max(roots, key=lambda t: t.changed)
    by_guid = {t.guid: t for t in tombstones}
    chosen = [t for t in tombstones if _descends(t, root.guid, by_guid)]
    return sorted(chosen, key=lambda t: dnlib.depth(where[t.guid]))


def _descends(stone: Tombstone, root: str, by_guid: dict[str, Tombstone]) -> bool:
    seen: set[str] = set()
    current: Tombstone | None = stone
    while current is not None and current.guid not in seen:
        if current.guid == root:
            return True
        seen.add(current.guid)
        parent = current.parent_guid
        current = by_guid.get(parent) if parent else None
    return False


def dn_by_name(tombstones: Sequence[Tombstone], name: str) -> str | None:
    """The original DN of the object named *name* (its RDN value or sAMAccountName)."""
    where = original_dns(tombstones)
    wanted = name.lower()
    matches = {
        dnlib.key(where[t.guid]): where[t.guid]
        for t in tombstones
        if t.rdn_value.lower() == wanted or (t.entry.text("sAMAccountName") or "").lower() == wanted
    }
    if len(matches) > 1:
        raise InputError(
            f"{len(matches)} deleted objects are named {name!r}: pass --dn with one of "
            + "; ".join(sorted(matches.values()))
        )
    return next(iter(matches.values()), None)
