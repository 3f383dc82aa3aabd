"""The monthly change report for management (四.5): what changed, why, who approved it.

A pure summary of journal records for one calendar month (UTC): runs by kind, changes
by company and resource kind (logon collections and acknowledgements only record: their
entries are not changes to the domain and are not counted as such), tickets with their
requester and approvers, changes that failed, hit a conflict or were rolled back, and
what drift checks found. The changes made outside adsuite come from `audit changes`
(adsuite/cli/report.py puts them beside these).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adsuite.formats import dn as dnlib
from adsuite.journal.records import ChangeRecord, RunRecord

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
OTHER = "(domain-wide)"
RECORD_ONLY_MODES = frozenset({"usage", "acknowledge"})
"""Runs that only record (logon collections, acknowledgements): none of their journal
entries is a change to the domain, so none counts as one."""


@dataclass(frozen=True)
class TicketLine:
    ticket: str
    run_id: str
    started: str
    requester: str
    approvals: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class MonthlySummary:
    month: str
    runs_by_mode: dict[str, int]
    runs_by_status: dict[str, int]
    changes_by_company: dict[str, dict[str, int]]  # company -> kind -> applied changes
    outcomes: dict[str, int]
    tickets: list[TicketLine]
    problems: list[ChangeRecord]  # failed, conflict, skipped or still pending
    rollbacks: list[tuple[RunRecord, str]]  # rollback run, the run it undid
    drift_checks: int
    drift_findings: int
    drift_runs_with_findings: int
    companies: list[str] = field(default_factory=list)


def check_month(text: str) -> str:
    if not MONTH.match(text):
        raise ValueError(f"month must look like 2026-11, not {text!r}")
    return text


def company_of(target: str, base_dn: str, codes: Sequence[str]) -> str:
    """The company whose OU (directly under the base DN) holds *target*."""
    try:
        parts = dnlib.split(target)
    except ValueError:
        return OTHER
    depth = len(parts) - len(dnlib.split(base_dn))
    if depth < 1 or not dnlib.is_under(target, base_dn):
        return OTHER
    kind, value = parts[depth - 1]
    by_upper = {code.upper(): code for code in codes}
    return by_upper.get(value.upper(), OTHER) if kind == "OU" else OTHER


def summarize(
    month: str,
    runs: Sequence[RunRecord],
    changes: dict[str, list[ChangeRecord]],
    base_dn: str,
    codes: Sequence[str],
) -> MonthlySummary:
    """*runs*: all runs (filtered here by start month); *changes*: run id → its changes."""
    in_month = [r for r in runs if r.started.startswith(check_month(month))]
    by_company: dict[str, Counter[str]] = {}
    outcomes: Counter[str] = Counter()
    problems: list[ChangeRecord] = []
    for run in in_month:
        if run.mode in RECORD_ONLY_MODES:
            continue
        for change in changes.get(run.id, []):
            outcomes[change.outcome] += 1
            if change.outcome == "applied":
                company = company_of(change.target, base_dn, codes)
                by_company.setdefault(company, Counter())[change.resource] += 1
            else:
                problems.append(change)
    drifts = [r for r in in_month if r.mode == "drift"]
    findings = [len(r.extra.get("findings", [])) for r in drifts]
    return MonthlySummary(
        month=month,
        runs_by_mode=dict(Counter(r.mode for r in in_month)),
        runs_by_status=dict(Counter(r.status for r in in_month)),
        changes_by_company={c: dict(k) for c, k in sorted(by_company.items())},
        outcomes=dict(outcomes),
        tickets=[_ticket_line(r) for r in in_month if r.ticket],
        problems=problems,
        rollbacks=[
            (r, str(r.extra.get("rolls_back", "?"))) for r in in_month if r.mode == "rollback"
        ],
        drift_checks=len(drifts),
        drift_findings=sum(findings),
        drift_runs_with_findings=sum(1 for n in findings if n),
        companies=list(codes),
    )


def _ticket_line(run: RunRecord) -> TicketLine:
    """Ticket runs journal the ticket under ``extra["ticket"]`` (adsuite/tickets/model.py)."""
    ticket: dict[str, Any] = run.extra.get("ticket") or run.extra
    approvals: list[Any] = ticket.get("approvals") or []
    names = tuple(
        f"{a.get('name')} ({a.get('role')}, {a.get('time')})" if isinstance(a, dict) else str(a)
        for a in approvals
    )
    requester = str(ticket.get("requester") or "-")
    kind = f" ({ticket['type']})" if ticket.get("type") else ""
    return TicketLine(f"{run.ticket}{kind}", run.id, run.started, requester, names, run.status)
