"""Windows Security events (``get_security_changes.ps1``) as directory and folder writes.

Pure functions. From a Windows DC:

- 5136 (modified): one event per attribute value added (``%%14674``) or deleted
  (``%%14675``); the events of one LDAP operation share an ``OpCorrelationID`` and
  become one ``Modify`` listing the attributes (values are never read);
- 5137 (created) ``Add``, 5141 (deleted) ``Delete``, 5139 (moved or renamed) ``Move``
  at ``NewObjectDN`` with ``OldObjectDN`` kept;
- 4728/4729 (global), 4732/4733 (domain local), 4756/4757 (universal group) member
  added/removed: a ``Modify`` of the group's ``member``, the group named by
  ``TargetSid`` (its DN resolved by the caller), the member by ``MemberName``. The
  5136 ``member`` event of the same change, when the group's SACL also logs one, is
  dropped so the change is listed once, with its member.

From a Windows file server: 4670 (permissions changed) and 4907 (auditing settings
changed) on a folder or file, its local path mapped back to the share path the journal
uses (``D:\\Shares\\data\\HQ`` → ``\\\\fs1\\data\\HQ``).

Who: ``SubjectUserSid``/``SubjectDomainName\\SubjectUserName``. The session is the
host and ``SubjectLogonId``; the 4624 logon that opened it (``TargetLogonId``, the
latest one at or before the event: logon ids repeat after a reboot) gives the client
``IpAddress:IpPort``, which adsuite compares with the address:port its own LDAP
connection journaled (:mod:`adsuite.audit.attribution`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adsuite.formats import dn as dnlib
from adsuite.formats.samba_audit import DirectoryWrite

log = logging.getLogger(__name__)

MODIFIED, CREATED, MOVED, DELETED = 5136, 5137, 5139, 5141
MEMBER_ADDED = {4728: "global", 4732: "domain local", 4756: "universal"}
MEMBER_REMOVED = {4729: "global", 4733: "domain local", 4757: "universal"}
DIRECTORY_EVENTS = (MODIFIED, CREATED, MOVED, DELETED, *MEMBER_ADDED, *MEMBER_REMOVED)
PERMISSIONS, AUDITING = 4670, 4907
FOLDER_EVENTS = (PERMISSIONS, AUDITING)
FOLDER_OBJECT_TYPES = ("File",)  # folders and files alike
SAME_CHANGE = timedelta(seconds=2)  # a 4728 and the 5136 of the same member change
_NONE = ("", "-")


@dataclass(frozen=True)
class SecurityEvent:
    record: int
    event_id: int
    at: datetime
    data: Mapping[str, str]

    def get(self, name: str) -> str | None:
        value = self.data.get(name)
        return None if value is None or value in _NONE else value


@dataclass(frozen=True)
class Logon:
    """A 4624: which logon session, when, from which client address:port."""

    logon_id: str
    at: datetime
    remote: str | None


@dataclass(frozen=True)
class FolderWrite:
    """A permission (4670) or auditing (4907) change of a folder or file on a file server."""

    time: datetime
    host: str
    operation: str  # Permissions | Auditing
    path: str  # \\host\share\folder, as the journal names file_acl targets
    attributes: tuple[str, ...]  # owner, group, dacl, sacl: the parts that differ
    user_sid: str | None
    user_name: str | None
    session_id: str | None
    remote: str | None


def when(text: str) -> datetime:
    """``2026-11-27T12:00:01.1234567Z`` (PowerShell's 'o' in UTC) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def split_items(items: Iterable[Any]) -> tuple[list[SecurityEvent], list[Logon]]:
    """The script's objects: change events (``Kind`` event) and the sessions' logons."""
    events, logons = [], []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        data = {str(k): str(v) for k, v in (item.get("Data") or {}).items() if v is not None}
        event = SecurityEvent(
            int(item["RecordId"]), int(item["EventId"]), when(str(item["TimeCreated"])), data
        )
        if item.get("Kind") == "logon":
            logon_id = event.get("TargetLogonId")
            if logon_id:
                logons.append(Logon(logon_id.lower(), event.at, _remote(event)))
        else:
            events.append(event)
    return events, logons


def _remote(event: SecurityEvent) -> str | None:
    """``IpAddress:IpPort`` as adsuite journals its own end (``10.0.0.5:50123``); None
    when the logon names no client port (nothing to compare then)."""
    address = (event.get("IpAddress") or "").removeprefix("::ffff:")
    port = event.get("IpPort")
    return f"{address}:{port}" if address and port and port != "0" else None


class Sessions:
    """Each logon session of one host, with the client it logged on from."""

    def __init__(self, host: str, logons: Sequence[Logon]) -> None:
        self.host = host
        self._by_id: dict[str, list[Logon]] = {}
        for logon in sorted(logons, key=lambda x: x.at):
            self._by_id.setdefault(logon.logon_id, []).append(logon)

    def of(self, event: SecurityEvent) -> tuple[str | None, str | None]:
        """(session id, client address:port or None when its logon is not in the log)."""
        logon_id = (event.get("SubjectLogonId") or "").lower()
        if not logon_id:
            return None, None
        opened = [x for x in self._by_id.get(logon_id, []) if x.at <= event.at]
        return f"{self.host}/{logon_id}", opened[-1].remote if opened else None


def who(event: SecurityEvent) -> tuple[str | None, str | None]:
    name, domain = event.get("SubjectUserName"), event.get("SubjectDomainName")
    return event.get("SubjectUserSid"), (f"{domain}\\{name}" if domain and name else name)


def directory_writes(
    dc: str,
    events: Sequence[SecurityEvent],
    logons: Sequence[Logon],
    group_dns: Mapping[str, str],
) -> list[DirectoryWrite]:
    """One DC's change events as writes, oldest first. ``group_dns``: group SID → DN."""
    sessions = Sessions(dc, logons)
    writes: list[DirectoryWrite] = []
    modified: dict[tuple[str, str], list[SecurityEvent]] = {}
    for event in events:
        if event.event_id == MODIFIED:
            key = (event.get("OpCorrelationID") or str(event.record), event.get("ObjectDN") or "")
            modified.setdefault(key, []).append(event)
        else:
            write = _single(dc, event, sessions, group_dns)
            writes += [write] if write is not None else []
    writes += [_modify(dc, group, sessions) for group in modified.values()]
    return _without_doubles(sorted(writes, key=lambda w: w.time))


def _write(
    dc: str, event: SecurityEvent, sessions: Sessions, operation: str, dn: str, **more: Any
) -> DirectoryWrite:
    session, remote = sessions.of(event)
    sid, name = who(event)
    return DirectoryWrite(
        event.at, operation, dn, sid, session, remote, more.pop("attributes", ()), True,
        source=dc, user_name=name, **more,
    )  # fmt: skip


def _modify(dc: str, group: Sequence[SecurityEvent], sessions: Sessions) -> DirectoryWrite:
    first = group[0]
    names = sorted({e.get("AttributeLDAPDisplayName") or "?" for e in group}, key=str.lower)
    return _write(
        dc, first, sessions, "Modify", first.get("ObjectDN") or "", attributes=tuple(names)
    )


def _single(
    dc: str, event: SecurityEvent, sessions: Sessions, group_dns: Mapping[str, str]
) -> DirectoryWrite | None:
    if event.event_id == CREATED:
        return _write(dc, event, sessions, "Add", event.get("ObjectDN") or "")
    if event.event_id == DELETED:
        return _write(dc, event, sessions, "Delete", event.get("ObjectDN") or "")
    if event.event_id == MOVED:
        old = event.get("OldObjectDN")
        return _write(
            dc, event, sessions, "Move", event.get("NewObjectDN") or "",
            old_dn=old, detail=f"moved from {old}" if old else None,
        )  # fmt: skip
    if event.event_id in MEMBER_ADDED or event.event_id in MEMBER_REMOVED:
        sign = "+" if event.event_id in MEMBER_ADDED else "-"
        group = event.get("TargetSid") or ""
        named = f"{event.get('TargetDomainName') or ''}\\{event.get('TargetUserName') or group}"
        member = event.get("MemberName") or event.get("MemberSid") or "?"
        dn = group_dns.get(group) or named.lstrip("\\")
        return _write(
            dc, event, sessions, "Modify", dn, attributes=("member",),
            detail=f"{sign} member {member}",
        )  # fmt: skip
    log.debug("event %s of %s is not a directory change", event.event_id, dc)
    return None


def _without_doubles(writes: list[DirectoryWrite]) -> list[DirectoryWrite]:
    """Drop a 5136 ``member`` Modify that a 4728-style event of the same session tells."""
    told: dict[tuple[str | None, str], list[datetime]] = {}
    for write in writes:
        if write.detail and write.attributes == ("member",):
            told.setdefault((write.session_id, dn_key(write.dn)), []).append(write.time)

    def double(write: DirectoryWrite) -> bool:
        if write.attributes != ("member",) or write.detail is not None:
            return False
        times = told.get((write.session_id, dn_key(write.dn)), [])
        return any(abs(moment - write.time) <= SAME_CHANGE for moment in times)

    return [w for w in writes if not double(w)]


def dn_key(dn: str) -> str:
    """A DN's comparison key; anything else (a group a Windows event names as
    ``DOMAIN\\name`` because the directory no longer has it) as it is, case-folded."""
    try:
        return dnlib.key(dn)
    except ValueError:
        return dn.casefold()


def sd_parts_changed(old: str | None, new: str | None) -> tuple[str, ...]:
    """Which parts of two SDDL strings differ: owner, group, dacl, sacl."""
    before, after = _sddl_parts(old or ""), _sddl_parts(new or "")
    names = {"O": "owner", "G": "group", "D": "dacl", "S": "sacl"}
    return tuple(names[p] for p in "OGDS" if before.get(p) != after.get(p))


def _sddl_parts(sddl: str) -> dict[str, str]:
    """Split at the ``O:``, ``G:``, ``D:`` and ``S:`` marks outside the ACEs' parentheses."""
    depth, marks = 0, []
    for index, char in enumerate(sddl):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ":" and depth == 0 and index > 0 and sddl[index - 1] in "OGDS":
            marks.append((sddl[index - 1], index - 1))
    ends = [start for _, start in marks[1:]] + [len(sddl)]
    return {part: sddl[start + 2 : end] for (part, start), end in zip(marks, ends, strict=True)}


def folder_writes(
    host: str,
    events: Sequence[SecurityEvent],
    logons: Sequence[Logon],
    roots: Mapping[str, str],
) -> list[FolderWrite]:
    """One file server's 4670/4907 events under the given shares (name → local path)."""
    sessions = Sessions(host, logons)
    writes = []
    for event in events:
        path = unc_path(host, event.get("ObjectName") or "", roots)
        if path is None or event.event_id not in FOLDER_EVENTS:
            continue
        session, remote = sessions.of(event)
        sid, name = who(event)
        parts: tuple[str, ...]
        if event.event_id == AUDITING:
            operation, parts = "Auditing", ("sacl",)
        else:
            operation = "Permissions"
            parts = sd_parts_changed(event.get("OldSd"), event.get("NewSd")) or ("dacl",)
        writes.append(
            FolderWrite(event.at, host, operation, path, parts, sid, name, session, remote)
        )
    return sorted(writes, key=lambda w: w.time)


def unc_path(host: str, local: str, roots: Mapping[str, str]) -> str | None:
    """``D:\\Shares\\data\\HQ``, share ``data`` at ``D:\\Shares\\data`` → ``\\\\host\\data\\HQ``."""
    folded = local.rstrip("\\").casefold()
    for share, root in sorted(roots.items(), key=lambda r: -len(r[1])):
        base = root.rstrip("\\").casefold()
        if folded == base or folded.startswith(base + "\\"):
            rest = local.rstrip("\\")[len(base) :]
            return f"\\\\{host}\\{share}{rest}"
    return None
