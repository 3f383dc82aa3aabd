"""`adsuite audit changes` end to end: read every change log, reconcile, one list of rows.

Sources: each Samba DC's ``dsdb_audit.log`` (``samba_audit_dir``); each Windows DC's
Security log over WinRM (``winrm_host``; :mod:`adsuite.audit.collect`); the
Security log of each Windows file server (an inventory host with ``winrm:``) that holds
a folder the journal's ``file_acl`` changes name. A file server without ``winrm:`` is
taken for a Samba server, which keeps no such log: that is said in one line, not
skipped silently. Directory lookups are one search each: the SIDs of writers and of
the groups in Windows membership events, and (when the journal holds GPO changes) the
group policy containers. Reconciliation: :mod:`adsuite.audit.attribution`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adsuite.audit import attribution as audit
from adsuite.audit import collect as audit_collect
from adsuite.audit import gpo as audit_gpo
from adsuite.audit import windows as audit_windows
from adsuite.audit.windows import FolderWrite
from adsuite.connectors import samba_logs
from adsuite.connectors.ldap import Directory
from adsuite.connectors.winrm import WinRmSessions
from adsuite.errors import AdsuiteError, InputError
from adsuite.formats import samba_audit
from adsuite.formats.ldap_query import Query, entries_of
from adsuite.formats.samba_audit import DirectoryWrite
from adsuite.journal.records import ChangeRecord
from adsuite.runtime.connections import Connections
from adsuite.runtime.inventory import Domain

log = logging.getLogger(__name__)

SESSION_MARGIN = timedelta(minutes=10)  # read this much before --since: sessions straddle it


@dataclass(frozen=True)
class Row:
    """One change made outside adsuite, whatever logged it."""

    time: datetime
    source: str  # the DC or file server that logged it
    operation: str
    object: str  # a DN, or a folder's \\host\share\path
    attributes: tuple[str, ...]
    by: str
    remote: str | None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(timespec="seconds"),
            "source": self.source,
            "operation": self.operation,
            "object": self.object,
            "attributes": list(self.attributes),
            "by": self.by,
            "from": self.remote,
            "detail": self.detail,
        }


@dataclass
class AuditReport:
    since: datetime
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what cannot be known, and why
    problems: list[str] = field(default_factory=list)  # sources that could not be read


def outside_changes(
    domain: Domain,
    conn: Connections,
    since: datetime,
    recorded: Sequence[ChangeRecord],
    now: datetime,
) -> AuditReport:
    """Every change to a managed object or folder since *since* that no adsuite run made."""
    report = AuditReport(since)
    unreadable = [n for n, dc in domain.dcs.items() if not dc.samba_audit_dir and not dc.winrm_host]
    if len(unreadable) == len(domain.dcs):
        raise InputError(
            "no DC in the inventory has samba_audit_dir or winrm_host: no change log to read"
        )
    report.problems += [
        f"{name}: neither samba_audit_dir nor winrm_host in the inventory; its changes are unknown"
        for name in unreadable
    ]
    start = since - SESSION_MARGIN
    samba = _samba_writes(domain, report)
    windows = _windows_events(domain, conn, start, now, report)
    sids = {e.get("TargetSid") for h in windows.values() for e in h.events}
    sids |= {e.get("SubjectUserSid") for h in windows.values() for e in h.events}
    sids |= {w.user_sid for w in samba if w.time >= start}
    accounts = sid_accounts(conn.ldap, domain.base_dn, {s for s in sids if s})
    writes = samba + _windows_writes(windows, {sid: dn for sid, (dn, _) in accounts.items()})
    changes = _with_gpo_containers(conn.ldap, domain.base_dn, recorded, report)
    found = audit.outside_adsuite(writes, changes, since)
    names = {sid: name for sid, (_, name) in accounts.items()}
    report.rows += [_directory_row(w, names) for w in found]
    report.rows += [_folder_row(w, names) for w in _folders(conn, recorded, start, now, report)]
    report.rows.sort(key=lambda r: (r.time, r.source))
    return report


def _samba_writes(domain: Domain, report: AuditReport) -> list[DirectoryWrite]:
    writes: list[DirectoryWrite] = []
    for name, dc in domain.dcs.items():
        if dc.samba_audit_dir is None:
            continue
        try:
            lines = samba_logs.lines(Path(dc.samba_audit_dir), samba_logs.DSDB_LOG)
            writes += samba_audit.directory_writes(lines, source=name)
        except AdsuiteError as error:
            report.problems.append(f"{name}: changes not read: {error}")
    return writes


def _windows_events(
    domain: Domain, conn: Connections, start: datetime, end: datetime, report: AuditReport
) -> dict[str, audit_collect.HostEvents]:
    hosts: dict[str, str] = {}
    for name, dc in domain.dcs.items():
        if dc.winrm_host and dc.winrm_host not in hosts.values():
            hosts[name] = dc.winrm_host
    if not hosts:
        return {}
    found = audit_collect.collect(conn.winrm, hosts, audit_windows.DIRECTORY_EVENTS, start, end)
    _report_hosts(found.values(), "changes", report)
    return {name: host for name, host in found.items() if host.error is None}


def _report_hosts(
    hosts: Iterable[audit_collect.HostEvents], what: str, report: AuditReport
) -> None:
    for host in hosts:
        if host.error is not None:
            report.problems.append(f"{host.name}: {what} not read: {host.error}")
        elif host.cut_short:
            limit = audit_collect.BATCH * audit_collect.MAX_ROUNDS
            report.problems.append(
                f"{host.name}: more than {limit} events in the window; only the oldest were read"
                " (use a later --since)"
            )


def _windows_writes(
    windows: Mapping[str, audit_collect.HostEvents], group_dns: Mapping[str, str]
) -> list[DirectoryWrite]:
    return [
        write
        for name, host in windows.items()
        for write in audit_windows.directory_writes(name, host.events, host.logons, group_dns)
    ]


def sid_accounts(directory: Directory, base_dn: str, sids: set[str]) -> dict[str, tuple[str, str]]:
    """SID → (DN, sAMAccountName), in one search per 500 SIDs."""
    found = entries_of(directory.search, base_dn, sids, ("sAMAccountName",))
    return {sid: (e.dn, e.text("sAMAccountName") or e.dn) for sid, e in found.items()}


def _with_gpo_containers(
    directory: Directory, base_dn: str, recorded: Sequence[ChangeRecord], report: AuditReport
) -> list[ChangeRecord]:
    if not any(audit_gpo.by_name(c) for c in recorded):
        return list(recorded)
    query = Query(
        audit_gpo.containers_base(base_dn),
        "(objectClass=groupPolicyContainer)",
        audit_gpo.CONTAINER_ATTRIBUTES,
        scope="one",
    )
    containers = [
        audit_gpo.Container(
            e.dn, e.text("displayName"), audit_gpo.generalized_time(e.text("whenCreated"))
        )
        for e in directory.search(query)
    ]
    changes, missing = audit_gpo.with_containers(recorded, containers, base_dn)
    report.notes += [
        f'GPO "{name}": not in the directory under that name (renamed or deleted outside'
        " adsuite?); its container is not checked"
        for name in missing
    ]
    return changes


def _windows_file_servers(
    conn: Connections, recorded: Sequence[ChangeRecord], report: AuditReport
) -> dict[str, set[str]]:
    """Host → the shares of its journaled folders, for the file servers with ``winrm:``;
    the others said in words."""
    shares: dict[str, set[str]] = {}
    for change in audit.folder_changes(recorded):
        host, share = [*change.target.lstrip("\\").split("\\"), ""][:2]
        shares.setdefault(host, set()).add(share)
    hosts = conn.inventory.hosts
    windows = {h: s for h, s in shares.items() if h in hosts and hosts[h].winrm}
    report.notes += [
        f"file server {host}: not in the inventory; its permission changes are not checked"
        for host in sorted(set(shares) - set(hosts))
    ]
    report.notes += [
        f"file server {host}: no change log; use `adsuite drift` for its ACLs"
        for host in sorted(set(shares) & set(hosts) - set(windows))
    ]
    return windows


def _folders(
    conn: Connections,
    recorded: Sequence[ChangeRecord],
    start: datetime,
    end: datetime,
    report: AuditReport,
) -> list[FolderWrite]:
    windows = _windows_file_servers(conn, recorded, report)
    if not windows:
        return []
    sessions = conn.winrm
    roots = _share_roots(sessions, windows, report)
    found = audit_collect.collect(
        sessions,
        {h: h for h in roots},
        audit_windows.FOLDER_EVENTS,
        start,
        end,
        audit_windows.FOLDER_OBJECT_TYPES,
    )
    _report_hosts(found.values(), "permission changes", report)
    writes = [
        w
        for h, events in found.items()
        if events.error is None
        for w in audit_windows.folder_writes(h, events.events, events.logons, roots[h])
    ]
    return audit.outside_adsuite_folders(writes, recorded, report.since, _smb_accounts(conn, roots))


def _share_roots(
    sessions: WinRmSessions, shares: Mapping[str, set[str]], report: AuditReport
) -> dict[str, dict[str, str]]:
    roots: dict[str, dict[str, str]] = {}
    for host, answer in audit_collect.share_roots(sessions, shares).items():
        if isinstance(answer, str):
            report.problems.append(f"{host}: permission changes not read: {answer}")
            continue
        roots[host] = {s: answer[s.casefold()] for s in shares[host] if s.casefold() in answer}
        report.problems += [
            f"file server {host}: no share {s!r}; its folders are not checked"
            for s in sorted(shares[host])
            if s.casefold() not in answer
        ]
    return {host: found for host, found in roots.items() if found}


def _smb_accounts(conn: Connections, hosts: Iterable[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for host in hosts:
        smb = conn.inventory.hosts[host].smb
        out[host] = conn.inventory.credentials[smb.credential].username if smb else None
    return out


def _directory_row(write: DirectoryWrite, names: Mapping[str, str]) -> Row:
    by = names.get(write.user_sid or "") or write.user_name or write.user_sid or "unknown"
    return Row(
        write.time, write.source, write.operation, write.dn, write.attributes, by,
        write.remote, write.detail,
    )  # fmt: skip


def _folder_row(write: FolderWrite, names: Mapping[str, str]) -> Row:
    by = names.get(write.user_sid or "") or write.user_name or write.user_sid or "unknown"
    return Row(
        write.time, write.host, write.operation, write.path, write.attributes, by, write.remote
    )
