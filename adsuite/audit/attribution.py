"""Changes made outside adsuite: the DCs' and file servers' change logs against the journal.

**Directory writes** (Samba's JSON audit log; Windows DCs' Security events, see
:mod:`adsuite.audit.windows`). A write belongs to adsuite when it happened in a
session that carried out a journaled change: the session (Samba: the LDAP session id;
Windows: the DC and ``SubjectLogonId``) wrote the change's target inside the change's
intent→outcome window (± :data:`SLACK`), and

- the client address:port the DC logged for the session equals the ``via`` the
  journal recorded for the change (the address:port of adsuite's own LDAP
  connection), or the journal recorded no ``via`` (older entries): then every write
  of that session is adsuite's, including the ones a change makes on other objects
  (the parent's ACE when an OU is protected);
- the DC logged no client for the session (Windows: no 4624 for that logon id in the
  log's lookback; logon auditing off; no port): then only its writes inside windows
  of journaled changes it matched are adsuite's — the time window alone decides, and
  a hand edit of the same object in the same seconds by the same logon session would
  be taken for adsuite's;
- the address:port differs: someone else's connection wrote the object meanwhile.

A GPO change's target is its name; :mod:`adsuite.audit.gpo` replaces it with
the DN of its group policy container, whose children count too. Any other write to an
object adsuite manages — one a journaled run touched, anything inside an OU it
manages, a GPO container it manages and its children, either end of a move — is a
change made outside adsuite.

**Folder writes** (Windows file servers' 4670/4907). A folder adsuite manages is a
journaled ``file_acl`` target (``\\\\host\\share\\path``) and everything below it. An
event there is adsuite's when a journaled ``file_acl`` change of the same path was
running (intent→outcome ± :data:`SLACK`) and the event's subject is the account
adsuite writes to that host as (its ``smb`` credential), when the inventory names it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adsuite.audit.windows import FolderWrite, dn_key
from adsuite.formats import dn as dnlib
from adsuite.formats.samba_audit import DirectoryWrite
from adsuite.journal.records import ChangeRecord

log = logging.getLogger(__name__)

SLACK = timedelta(seconds=2)  # clock granularity between the journal and the DC's log
WRITING_MODES = ("apply", "rollback", "ticket", "checkout", "checkin")
FILE_ACL = "file_acl"
_GPC = re.compile(r"cn=\{[0-9a-f-]{36}\},cn=policies,cn=system,.*$")

Window = tuple[datetime, datetime]


def gpc_of(key: str) -> str | None:
    """The group policy container a DN key is (or lies inside), as a key."""
    found = _GPC.search(key)
    return (
        found.group() if found and (found.start() == 0 or key[found.start() - 1] == ",") else None
    )


@dataclass(frozen=True)
class ManagedScope:
    objects: frozenset[str]  # DN keys adsuite has changed
    trees: frozenset[str]  # DN keys of OUs and GPO containers adsuite manages (contents too)

    def covers(self, dn: str) -> bool:
        key = dn_key(dn)
        return key in self.objects or any(key.endswith("," + tree) for tree in self.trees)


def scope_of(changes: Iterable[ChangeRecord]) -> ManagedScope:
    objects, trees = set(), set()
    for change in _in_directory(changes):
        key = dnlib.key(change.target)
        objects.add(key)
        if change.resource == "ou" or gpc_of(key) == key:
            trees.add(key)
    return ManagedScope(frozenset(objects), frozenset(trees))


def _in_directory(changes: Iterable[ChangeRecord]) -> list[ChangeRecord]:
    """Changes to directory objects (a file_acl change targets a folder, not a DN)."""
    return [c for c in changes if dnlib.looks_like_dn(c.target)]


def window(change: ChangeRecord) -> Window:
    start = datetime.fromisoformat(change.intent_at) - SLACK
    return start, datetime.fromisoformat(change.outcome_at or change.intent_at) + SLACK


@dataclass
class Attribution:
    """Which sessions are adsuite's: wholly (``proven``) or only inside some windows."""

    proven: set[str] = field(default_factory=set)
    windows: dict[str, list[Window]] = field(default_factory=dict)

    def owns(self, write: DirectoryWrite) -> bool:
        session = write.session_id
        if not session:
            return False
        inside = any(s <= write.time <= e for s, e in self.windows.get(session, []))
        return session in self.proven or inside


def attribute(writes: Sequence[DirectoryWrite], changes: Iterable[ChangeRecord]) -> Attribution:
    """The sessions that carried out journaled changes (the rule in the module docstring)."""
    by_key: dict[str, list[DirectoryWrite]] = {}
    for write in writes:
        key = dn_key(write.dn)
        by_key.setdefault(key, []).append(write)
        container = gpc_of(key)
        if container is not None and container != key:
            by_key.setdefault(container, []).append(write)  # a GPO's child counts as it
    found = Attribution()
    for change in _in_directory(changes):
        start, end = window(change)
        via = _comparable(change.via)
        for write in by_key.get(dnlib.key(change.target), []):
            if not write.session_id or not start <= write.time <= end:
                continue
            endpoint = client_endpoint(write.remote)
            if via is None or endpoint == via:
                found.proven.add(write.session_id)
            elif endpoint is None:
                found.windows.setdefault(write.session_id, []).append((start, end))
    return found


def client_endpoint(remote: str | None) -> str | None:
    """Samba's ``ipv4:127.0.0.1:42743`` as ``127.0.0.1:42743`` (as adsuite journals it)."""
    if not remote:
        return None
    family, _, endpoint = remote.partition(":")
    return _comparable(endpoint if family in ("ipv4", "ipv6") else remote)


def _comparable(endpoint: str | None) -> str | None:
    return endpoint.removeprefix("::ffff:").lower() if endpoint else None


def outside_adsuite(
    writes: Sequence[DirectoryWrite], changes: Sequence[ChangeRecord], since: datetime
) -> list[DirectoryWrite]:
    """Successful writes since *since* to managed objects that no adsuite run made."""
    ours = attribute(writes, changes)
    scope = scope_of(changes)
    return [
        w
        for w in writes
        if w.ok
        and w.time >= since
        and not ours.owns(w)
        and (scope.covers(w.dn) or (w.old_dn is not None and scope.covers(w.old_dn)))
    ]


def folder_key(path: str) -> str:
    return path.rstrip("\\").casefold()


def folder_host(path: str) -> str:
    """``\\\\fs1\\data\\HQ`` → ``fs1``."""
    return path.lstrip("\\").split("\\", 1)[0]


def folder_changes(changes: Iterable[ChangeRecord]) -> list[ChangeRecord]:
    return [c for c in changes if c.resource == FILE_ACL and c.target.startswith("\\\\")]


def plain_account(name: str | None) -> str | None:
    """``GROUP\\svc``, ``svc@GROUP.EXAMPLE.COM`` or ``svc`` → ``svc``."""
    if not name:
        return None
    return name.rsplit("\\", 1)[-1].split("@", 1)[0].casefold()


def outside_adsuite_folders(
    writes: Sequence[FolderWrite],
    changes: Sequence[ChangeRecord],
    since: datetime,
    accounts: Mapping[str, str | None],
) -> list[FolderWrite]:
    """Folder changes since *since* under managed folders that no adsuite run made.

    ``accounts``: host → the account adsuite writes to it as (None: not known).
    """
    journaled = folder_changes(changes)
    managed: dict[str, set[str]] = {}
    spans: dict[str, list[tuple[datetime, datetime]]] = {}  # folder -> its changes' windows
    for change in journaled:
        managed.setdefault(folder_host(change.target).casefold(), set()).add(
            folder_key(change.target)
        )
        spans.setdefault(folder_key(change.target), []).append(window(change))

    def covered(write: FolderWrite) -> bool:
        key = folder_key(write.path)
        roots = managed.get(write.host.casefold(), set())
        return any(key == root or key.startswith(root + "\\") for root in roots)

    def ours(write: FolderWrite) -> bool:
        account = plain_account(accounts.get(write.host))
        if account is not None and plain_account(write.user_name) != account:
            return False
        spans_here = spans.get(folder_key(write.path), [])
        return any(start <= write.time <= end for start, end in spans_here)

    return [w for w in writes if w.time >= since and covered(w) and not ours(w)]
