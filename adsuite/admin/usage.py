"""`adsuite admin usage` as one journaled run: collect, store, reconcile, report.

Every run journals its directory connection's client address:port at its start, so a
logon of the service account from that endpoint is adsuite's own (automation). It
reads the privileged groups (who to watch), collects every DC's new logon events
(collect.py) into the event store, journals one change per DC (the watermark before
and after, the number and SHA-256 of the events stored), checks the stored events
against every earlier collection's digest, and reconciles the events since ``since``
with the check-outs and runs in the journal (reconcile.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adsuite.admin import collect as collectlib
from adsuite.admin.policy import AdminPolicy
from adsuite.admin.reconcile import Use, reconcile
from adsuite.admin.store import EventStore, digest, tampered
from adsuite.admin.windows import checkout_windows, run_connections
from adsuite.journal.proofs import FINDINGS_RESOURCE
from adsuite.journal.store import Journal
from adsuite.resources.privileged.io import privileged_state
from adsuite.runtime.connections import Connections

log = logging.getLogger(__name__)

MODE = "usage"
RESOURCE = "logon_events"


@dataclass(frozen=True)
class UsageReport:
    run_id: str
    since: datetime | None
    uses: list[Use]
    problems: list[str] = field(default_factory=list)  # DCs not read, events altered
    collected: list[collectlib.DcCollection] = field(default_factory=list)

    @property
    def findings(self) -> list[Use]:
        return [u for u in self.uses if u.finding]

    @property
    def clean(self) -> bool:
        return not self.findings and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "since": self.since.isoformat() if self.since else None,
            "uses": [u.row() for u in self.uses],
            "findings": len(self.findings),
            "problems": list(self.problems),
            "collected": {c.dc: {"new": len(c.events), "error": c.error} for c in self.collected},
        }


def usage(
    policy: AdminPolicy,
    conn: Connections,
    since: datetime | None,
    *,
    collect: bool = True,
    ticket: str | None = None,
) -> UsageReport:
    session = policy.session
    with Journal.open(session.journal_path) as journal:
        run_id = journal.start_run(
            mode=MODE,
            operator=session.operator(conn),
            playbook=str(session.playbook.path),
            playbook_sha256=session.playbook.sha256,
            inventory=str(session.inventory_path),
            ticket=ticket,
            extra={"since": since.isoformat() if since else None, "collect": collect},
        )
        try:
            report = _run(policy, conn, journal, run_id, since, collect)
            _journal_findings(journal, run_id, report.findings)
        except BaseException:
            journal.finish_run(run_id, status="failed", counts={})
            raise
        status = "ok" if report.clean else "drift"
        counts = {"events": len(report.uses), "findings": len(report.findings)}
        journal.finish_run(run_id, status=status, counts=counts)
    return report


def _run(
    policy: AdminPolicy,
    conn: Connections,
    journal: Journal,
    run_id: str,
    since: datetime | None,
    collect: bool,
) -> UsageReport:
    domain = policy.session.domain
    problems = [
        f"{dc}: neither samba_audit_dir nor winrm_host in the inventory; its logons are unknown"
        for dc in collectlib.uncollectable(domain)
    ]
    collections = _collect(policy, conn, journal) if collect else []
    with EventStore(journal.path) as store:
        problems += record_collections(journal, store, run_id, collections)
        problems += tampered(store, _collections(journal))
        events = store.events(since)
    runs = journal.runs()
    now = datetime.now(UTC)
    uses = reconcile(
        events, checkout_windows(runs), run_connections(runs, now), policy.spec.service_account
    )
    return UsageReport(run_id, since, uses, problems, collections)


def _collect(
    policy: AdminPolicy, conn: Connections, journal: Journal
) -> list[collectlib.DcCollection]:
    domain = policy.session.domain
    state = privileged_state(conn.ldap, domain.base_dn)
    watched = collectlib.watched_accounts(policy.spec, state, domain.realm)
    marks = watermarks(journal)
    found = [
        collectlib.collect_samba(dc, folder, watched, marks.get(dc))
        for dc, folder in collectlib.samba_folders(domain).items()
    ]
    hosts = collectlib.windows_hosts(domain)
    if hosts:
        found += collectlib.collect_windows(conn.winrm, hosts, watched, marks)
    return found


def record_collections(
    journal: Journal, store: EventStore, run_id: str, collections: list[collectlib.DcCollection]
) -> list[str]:
    """Store each DC's new events and journal the collection; the DCs that failed, in words."""
    problems = []
    for found in collections:
        new = store.add(found.events, run_id)
        _journal_collection(journal, run_id, found, new)
        if found.error:
            problems.append(f"{found.dc}: logons not collected: {found.error}")
    return problems


def _journal_collection(
    journal: Journal, run_id: str, found: collectlib.DcCollection, new: list[Any]
) -> None:
    number = journal.record_intent(
        run_id,
        resource=RESOURCE,
        target=found.dc,
        action="collect",
        before={"watermark": found.before},
        after={
            "watermark": found.after,
            "source": found.source,
            "events": len(new),
            "digest": digest(new),
        },
    )
    outcome = "failed" if found.error else "applied"
    journal.record_outcome(run_id, number, outcome, found.error)


def _journal_findings(journal: Journal, run_id: str, findings: list[Use]) -> None:
    """The run's findings, each with its stable id: what the compliance report counts as
    open (五.6) until `adsuite admin acknowledge` names it."""
    number = journal.record_intent(
        run_id,
        resource=FINDINGS_RESOURCE,
        target="super-administrator logons",
        action="reconcile",
        before=None,
        after={"findings": [u.row() for u in findings]},
    )
    journal.record_outcome(run_id, number, "applied", None)


def _collection_changes(journal: Journal) -> list[Any]:
    runs = [r for r in journal.runs() if r.mode == MODE]  # newest first
    return [c for r in runs for c in journal.changes(r.id) if c.resource == RESOURCE]


def watermarks(journal: Journal) -> dict[str, str]:
    """Each DC's watermark after its latest collection (newest run first)."""
    marks: dict[str, str] = {}
    for change in _collection_changes(journal):
        mark = (change.after or {}).get("watermark")
        if mark and change.target not in marks:
            marks[change.target] = str(mark)
    return marks


def _collections(journal: Journal) -> list[tuple[str, str, str]]:
    return [
        (c.run_id, c.target, str((c.after or {}).get("digest", "")))
        for c in _collection_changes(journal)
    ]
