"""Changes made outside adsuite: the DCs' directory write log against the journal.

A write belongs to adsuite when it happened in an LDAP session that carried out a
journaled change (same object, inside the change's intent→outcome window, and — where
the journal recorded it — from the client address:port of adsuite's connection, so a
hand edit of the same object a moment later is not taken for adsuite's): every write
of that session is then adsuite's, including the ones a change makes on other objects
(the parent's ACE when an OU is protected). Any other write to an object
adsuite manages — one a journaled run touched, or anything inside an OU it manages —
is a change made outside adsuite.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adsuite.formats import dn as dnlib
from adsuite.formats.samba_audit import DirectoryWrite
from adsuite.journal.records import ChangeRecord

log = logging.getLogger(__name__)

SLACK = timedelta(seconds=2)  # clock granularity between the journal and the DC's log
WRITING_MODES = ("apply", "rollback", "ticket", "checkout", "checkin")


@dataclass(frozen=True)
class ManagedScope:
    objects: frozenset[str]  # DN keys adsuite has changed
    trees: frozenset[str]  # DN keys of OUs adsuite manages (their contents count too)

    def covers(self, dn: str) -> bool:
        key = dnlib.key(dn)
        return key in self.objects or any(key.endswith("," + tree) for tree in self.trees)


def scope_of(changes: Iterable[ChangeRecord]) -> ManagedScope:
    objects, trees = set(), set()
    for change in _in_directory(changes):
        objects.add(dnlib.key(change.target))
        if change.resource == "ou":
            trees.add(dnlib.key(change.target))
    return ManagedScope(frozenset(objects), frozenset(trees))


def _in_directory(changes: Iterable[ChangeRecord]) -> list[ChangeRecord]:
    """Changes to directory objects (a file_acl change targets a folder, not a DN)."""
    return [c for c in changes if dnlib.looks_like_dn(c.target)]


def adsuite_sessions(writes: Sequence[DirectoryWrite], changes: Iterable[ChangeRecord]) -> set[str]:
    """The LDAP sessions that carried out journaled changes."""
    by_dn: dict[str, list[DirectoryWrite]] = {}
    for write in writes:
        by_dn.setdefault(dnlib.key(write.dn), []).append(write)
    sessions: set[str] = set()
    for change in _in_directory(changes):
        start = datetime.fromisoformat(change.intent_at) - SLACK
        end = datetime.fromisoformat(change.outcome_at or change.intent_at) + SLACK
        for write in by_dn.get(dnlib.key(change.target), []):
            if not write.session_id or not start <= write.time <= end:
                continue
            if change.via and client_endpoint(write.remote) != change.via:
                continue  # someone else's connection wrote the same object meanwhile
            sessions.add(write.session_id)
    return sessions


def client_endpoint(remote: str | None) -> str | None:
    """Samba's ``ipv4:127.0.0.1:42743`` as ``127.0.0.1:42743`` (as adsuite journals it)."""
    if not remote:
        return None
    family, _, endpoint = remote.partition(":")
    return endpoint if family in ("ipv4", "ipv6") else remote


def outside_adsuite(
    writes: Sequence[DirectoryWrite], changes: Sequence[ChangeRecord], since: datetime
) -> list[DirectoryWrite]:
    """Successful writes since *since* to managed objects that no adsuite run made."""
    ours = adsuite_sessions(writes, changes)
    scope = scope_of(changes)
    return [
        w
        for w in writes
        if w.ok and w.time >= since and w.session_id not in ours and scope.covers(w.dn)
    ]
