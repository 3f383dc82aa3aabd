"""Evidence that must name what is wrong, not just count records: the open findings of
the super-administrator logon collections (五.6), the journal reads without an approved
ticket (五.8), and the audit chain's record of the report's own write (五.7).

Pure functions over journal records (the report reads the journal once):

- a logon collection (``admin usage``, mode ``usage``) journals its findings as one
  change of resource ``logon_findings`` whose ``after`` lists each finding's row, with
  its stable id (account, client endpoint and time of the logon). A finding stays open
  until an ``acknowledge`` run (``adsuite admin acknowledge``, with a ticket and a
  reason) names its id. Open findings over the evidence window count as drift;
- a read of the journal counts as approved when its ticket is a ticket the journal
  holds as carried out by adsuite with its approvals checked against the approvals
  file, one of them by the role the map names (``approved_by``, e.g. ``it_head``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adsuite.journal.evidence import LIST_LIMIT, Line, Proof, count, when
from adsuite.journal.records import AccessRecord, ChangeRecord, RunRecord

log = logging.getLogger(__name__)

USAGE_MODE = "usage"
ACK_MODE = "acknowledge"
FINDINGS_RESOURCE = "logon_findings"


def recorded_findings(
    runs: Iterable[RunRecord], changes: Iterable[ChangeRecord], since: str = ""
) -> dict[str, dict[str, Any]]:
    """Every finding a logon collection since *since* journaled, by id (the newest row)."""
    started = {r.id: r.started for r in runs if r.mode == USAGE_MODE and r.started >= since}
    found: dict[str, dict[str, Any]] = {}
    for change in sorted(changes, key=lambda c: c.intent_seq):
        if change.resource != FINDINGS_RESOURCE or change.run_id not in started:
            continue
        for row in (change.after or {}).get("findings") or []:
            if isinstance(row, dict) and row.get("id"):
                found[str(row["id"])] = {**row, "run": change.run_id}
    return found


def acknowledged(runs: Iterable[RunRecord]) -> dict[str, RunRecord]:
    """Finding id → the acknowledge run (finished ok) that names it."""
    done: dict[str, RunRecord] = {}
    for run in runs:
        if run.mode != ACK_MODE or run.status != "ok":
            continue
        for finding in run.extra.get("findings") or []:
            done.setdefault(str(finding), run)
    return done


def _finding_words(row: Mapping[str, Any]) -> str:
    return (
        f"{row['id']}: {row.get('verdict', '?')} logon of {row.get('account', '?')} "
        f"from {row.get('remote') or '?'} on {row.get('dc', '?')} "
        f"({row.get('explanation', '')}; collected by run {row.get('run', '?')})"
    )


def privileged_use(
    runs: Sequence[RunRecord], changes: Sequence[ChangeRecord], what: str, since: str
) -> Proof:
    """Open findings (unrecorded or failed logons not acknowledged) of collections since
    *since*: each named; any open is drift (``findings``)."""
    collections = [r for r in runs if r.mode == USAGE_MODE and r.started >= since]
    found = recorded_findings(runs, changes, since)
    acks = acknowledged(runs)
    open_rows = [row for key, row in found.items() if key not in acks]
    open_rows.sort(key=lambda row: str(row.get("at", "")))
    lines = tuple(
        Line(when(str(row.get("at", ""))), _finding_words(row), str(row.get("run")))
        for row in open_rows
    )
    closed = len(found) - len(open_rows)
    summary = (
        f"{count(len(collections), 'logon collection')} since {when(since)}: "
        f"{count(len(open_rows), 'open finding')}, {closed} acknowledged"
    )
    if open_rows:
        named = [str(row["id"]) for row in open_rows[:LIST_LIMIT]]
        more = f" and {len(open_rows) - LIST_LIMIT} more" if len(open_rows) > LIST_LIMIT else ""
        summary += f" (open: {', '.join(named)}{more})"
    if not collections:
        summary = f"no logon collection since {when(since)}: the logons are unknown"
        return Proof("privileged_use", what, summary, 0, met=False)
    return Proof(
        "privileged_use",
        what,
        summary,
        len(found),
        lines[:LIST_LIMIT],
        met=not open_rows,
        findings=len(open_rows),
    )


def _approved_tickets(runs: Iterable[RunRecord], role: str) -> dict[str, str]:
    """Ticket id → who approved it as *role*, for tickets adsuite carried out with their
    approvals checked against the approvals file (ticket runs and check-outs)."""
    approved: dict[str, str] = {}
    for run in runs:
        ticket = run.extra.get("ticket")
        if run.status != "ok" or not isinstance(ticket, dict) or not ticket.get("id"):
            continue
        rules = run.extra.get("approval_rules")
        satisfied = (rules or {}).get("satisfied") if isinstance(rules, dict) else None
        if satisfied is None and ticket.get("checked"):
            satisfied = ticket.get("satisfied")
        for given in satisfied or []:
            if isinstance(given, dict) and given.get("role") == role:
                approved.setdefault(str(ticket["id"]), str(given.get("name", "?")))
    return approved


def approved_reads(
    accesses: Sequence[AccessRecord],
    runs: Sequence[RunRecord],
    role: str,
    what: str,
    since: str,
) -> Proof:
    """Reads of the journal since *since*: met when every one names a ticket approved by
    *role* (see the module docstring); the reads that do not are named."""
    approved = _approved_tickets(runs, role)
    chosen = [a for a in accesses if a.at >= since]
    bad = [a for a in chosen if not a.ticket or a.ticket not in approved]

    def words(a: AccessRecord) -> str:
        if not a.ticket:
            return f"{a.who} read: {a.what} — no ticket"
        if a.ticket not in approved:
            return f"{a.who} read: {a.what} — ticket {a.ticket} is no ticket {role} approved"
        return f"{a.who} read: {a.what} — ticket {a.ticket}, approved by {approved[a.ticket]}"

    shown = bad if bad else chosen
    lines = tuple(Line(when(a.at), words(a), ticket=a.ticket) for a in shown)
    summary = (
        f"{count(len(chosen), 'read')} since {when(since)}, {len(bad)} without a ticket "
        f"approved by {role}"
    )
    return Proof("access", what, summary, len(chosen), lines[:LIST_LIMIT], met=not bad)


@dataclass(frozen=True)
class AuditProbe:
    """The report's own write and whether a DC's audit log recorded it."""

    dn: str
    run_id: str | None
    client: str | None  # the connection's client address:port
    recorded_by: str | None  # the DC whose log holds the record; None: none does
    error: str | None = None
    note: str | None = None  # e.g. DCs whose logs this cannot read


def audit_trail(probe: AuditProbe | None, what: str) -> Proof:
    """五.7: met only when the audit log holds the report's own write, by identity."""
    if probe is None:
        return Proof("audit_trail", what, "no audit probe was made", 0, met=False)
    if probe.error is not None:
        summary = f"the audit chain was not tested: {probe.error}"
        return Proof("audit_trail", what, summary, 0, met=False)
    write = f"the write of run {probe.run_id} to {probe.dn} from {probe.client}"
    if probe.recorded_by is None:
        summary = f"the audit chain produced no record of this check's own write ({write})"
        lines = (Line("", probe.note),) if probe.note else ()
        return Proof("audit_trail", what, summary, 0, lines, met=False)
    summary = f"{probe.recorded_by} logged {write}"
    return Proof("audit_trail", what, summary, 1)
