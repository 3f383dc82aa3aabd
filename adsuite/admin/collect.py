"""Collect super-administrator logons from every DC, incrementally, into the event store.

Which accounts: every account the playbook names (super-administrator accounts and the
service account), the built-in Administrator, and everyone effectively in a privileged
group now (nested groups and primary groups included) — read in bulk from the
directory. From a Samba DC (``samba_audit_dir``): its ``auth_audit.log``, from the last
collected time on. From a Windows DC (``winrm_host``): ``get_logon_events.ps1`` over
WinRM, batches of :data:`BATCH` events after the last collected EventRecordID, every
Windows DC at once (bounded by the run's WinRM sessions). A DC that cannot be read is
that DC's error, reported as a finding; the others are still collected.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from adsuite.admin.events import EVENT_IDS, LogonEvent, Watched, from_samba, from_windows
from adsuite.connectors import samba_logs
from adsuite.connectors.winrm import ScriptResult, WinRmError, WinRmSessions
from adsuite.errors import AdsuiteError
from adsuite.formats import dn as dnlib
from adsuite.formats.samba_audit import logons
from adsuite.resources.privileged.facts import PrivilegedState
from adsuite.resources.privileged.spec import Spec
from adsuite.runtime.inventory import Domain

log = logging.getLogger(__name__)

SCRIPT = "get_logon_events"
BATCH = 1000
MAX_ROUNDS = 50  # at most BATCH * MAX_ROUNDS new events per DC per collection


@dataclass
class DcCollection:
    """What one collection got from one DC: new events and the watermark after them."""

    dc: str
    source: str  # samba | windows
    before: str | None  # watermark: a time (Samba) or an EventRecordID (Windows)
    after: str | None = None
    events: list[LogonEvent] = field(default_factory=list)
    error: str | None = None


def watched_accounts(spec: Spec, state: PrivilegedState, realm: str) -> Watched:
    keys = {k for group in state.groups.values() for k in group.effective}
    principals = [state.principals[k] for k in keys if k in state.principals]
    if state.builtin_administrator is not None:
        principals.append(state.builtin_administrator)
    named = {n.lower() for n in (*spec.accounts, spec.service_account)}
    for principal in state.principals.values():
        if principal.name.lower() in named:
            principals.append(principal)
    names = {p.name.lower() for p in principals} | named
    return Watched(
        frozenset(names),
        {p.sid: p.name.lower() for p in principals},
        {dnlib.key(p.dn): p.name.lower() for p in principals},
        realm,
    )


def collect_samba(dc: str, folder: str, watched: Watched, watermark: str | None) -> DcCollection:
    result = DcCollection(dc, "samba", watermark)
    since = datetime.fromisoformat(watermark) if watermark else None
    latest = since
    try:
        for logon in logons(samba_logs.lines(Path(folder), samba_logs.AUTH_LOG)):
            if since is not None and logon.time < since:
                continue
            latest = max(latest, logon.time) if latest else logon.time
            event = from_samba(dc, logon, watched)
            if event is not None:
                result.events.append(event)
    except AdsuiteError as error:
        result.error = str(error)
    result.after = latest.isoformat(timespec="microseconds") if latest else watermark
    return result


def collect_windows(
    sessions: WinRmSessions,
    hosts: Mapping[str, str],
    watched: Watched,
    watermarks: Mapping[str, str | None],
) -> list[DcCollection]:
    """Every Windows DC at once, batch after batch, until each has no more new events."""
    found = {dc: DcCollection(dc, "windows", watermarks.get(dc)) for dc in hosts}
    position = {dc: int(watermarks.get(dc) or 0) for dc in hosts}
    pending = list(hosts)
    by_host = {host: dc for dc, host in hosts.items()}
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        answers = sessions.run_on_hosts(
            [hosts[dc] for dc in pending],
            SCRIPT,
            lambda host: _parameters(watched, position[by_host[host]]),
        )
        pending = [dc for dc in pending if _take(found[dc], answers[hosts[dc]], watched, position)]
    for dc, collection in found.items():
        collection.after = str(position[dc]) if position[dc] else collection.before
    return list(found.values())


def _parameters(watched: Watched, after: int) -> dict[str, object]:
    return {
        "EventIds": list(EVENT_IDS),
        "Accounts": watched.spellings(),
        "AfterRecordId": after,
        "MaxEvents": BATCH,
    }


def _take(
    collection: DcCollection,
    answer: ScriptResult | WinRmError,
    watched: Watched,
    position: dict[str, int],
) -> bool:
    """Keep one batch's events; True when the DC may have more."""
    if isinstance(answer, WinRmError):
        collection.error = str(answer)
        return False
    if answer.errors:
        collection.error = f"{collection.dc}: {answer.errors[0].message}"
        return False
    items = [item for item in answer.output if isinstance(item, Mapping)]
    for item in items:
        position[collection.dc] = max(position[collection.dc], int(item["RecordId"]))
        event = from_windows(collection.dc, item, watched)
        if event is not None:
            collection.events.append(event)
    return len(items) >= BATCH


def windows_hosts(domain: Domain) -> dict[str, str]:
    return {name: dc.winrm_host for name, dc in domain.dcs.items() if dc.winrm_host}


def samba_folders(domain: Domain) -> dict[str, str]:
    return {name: str(dc.samba_audit_dir) for name, dc in domain.dcs.items() if dc.samba_audit_dir}


def uncollectable(domain: Domain) -> Sequence[str]:
    """DCs the inventory gives no way to read logons from."""
    return [n for n, dc in domain.dcs.items() if not dc.winrm_host and not dc.samba_audit_dir]
