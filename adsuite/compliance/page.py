"""What the compliance report page shows, as plain data: a summary first (clauses per
state, findings per severity and per company, every clause in one table), then the
clauses grouped by state, the non-compliant first, each with its findings grouped by
company, what to do per finding and per clause (the map's ``remedy``), and its
warnings apart — shown, never counted.

Pure: the :class:`ComplianceReport`, the inventory's base DN and company codes and
the drift history in, a :class:`CompliancePage` out. The template
(``templates/reports/compliance.html.j2``) only lays it out; jinja2 escapes every value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adsuite.compliance.check import COMPLIANT, ERROR, PlaybookCheck
from adsuite.compliance.report import (
    STATE_WORDS,
    WORST_FIRST,
    ClauseReport,
    ComplianceReport,
)
from adsuite.engine import drift
from adsuite.engine.drift_page import Group, Row, what_to_do
from adsuite.journal.drift_history import Chart, Day
from adsuite.journal.evidence import Proof
from adsuite.journal.monthly import OTHER, company_of
from adsuite.resources.base import Action

SEVERITIES = ("drift", "warning", "evidence_missing", "error")
SEVERITY_WORDS = {
    "drift": "drift findings",
    "warning": "warnings (not drift)",
    "evidence_missing": "evidence requirements not met",
    "error": "checks that could not run",
}


@dataclass(frozen=True)
class ClauseView:
    clause: ClauseReport
    anchor: str  # the id of its section on the page
    groups: tuple[Group, ...]  # drift findings, per company
    warnings: tuple[Row, ...]
    unmet: tuple[Proof, ...]  # evidence that is missing or names findings
    todo: str | None  # the map's remedy, shown when the clause is not compliant

    @property
    def findings(self) -> int:
        return sum(len(g.rows) for g in self.groups) + sum(p.findings for p in self.unmet)


@dataclass(frozen=True)
class StateGroup:
    state: str
    words: str
    clauses: tuple[ClauseView, ...]


@dataclass(frozen=True)
class CompanyCount:
    drift: int
    warning: int
    clauses: tuple[str, ...]  # clauses a drift finding in the company makes non-compliant


@dataclass(frozen=True)
class CompliancePage:
    report: ComplianceReport
    verdict: str  # the CLI's words: "Compliance: 3 compliant, 2 drift."
    by_state: dict[str, int]
    by_severity: dict[str, int]
    by_company: dict[str, CompanyCount]
    clauses: tuple[ClauseView, ...]  # map order, for the summary table
    groups: tuple[StateGroup, ...]  # worst state first
    days: tuple[Day, ...]
    chart: Chart | None


def action_of(found: drift.Finding) -> Action | None:
    """The write that would fix a playbook finding (None: a check's or a notice's)."""
    detail = found.text.removeprefix(f"{found.kind} {found.target}: ")
    for action, word in drift.WORDS.items():
        if found.clause is None and found.severity != "warning" and detail.startswith(word):
            return action
    return None


def _rows(
    checks: Sequence[PlaybookCheck], warnings: bool, base_dn: str, companies: Sequence[str]
) -> list[Row]:
    rows: dict[str, Row] = {}  # a finding two playbooks of the clause see is one row
    for check in checks:
        for f in check.warnings if warnings else check.findings:
            todo = what_to_do(f, action_of(f), check.name)
            rows.setdefault(
                f.id, Row(f, company_of(f.target, base_dn, companies), todo, check.name)
            )
    return list(rows.values())


def _groups(rows: Sequence[Row], companies: Sequence[str]) -> tuple[Group, ...]:
    order = [*companies, OTHER]
    return tuple(
        Group(c, tuple(r for r in rows if r.company == c))
        for c in order
        if any(r.company == c for r in rows)
    )


def _checks(clause: ClauseReport) -> list[PlaybookCheck]:
    return [*(p.check for p in clause.playbooks), *clause.checks]


def clause_view(
    clause: ClauseReport, index: int, base_dn: str, companies: Sequence[str]
) -> ClauseView:
    checks = _checks(clause)
    rows = _rows(checks, False, base_dn, companies)
    unmet = tuple(p for p in clause.evidence if p.findings or not p.met)
    todo = clause.remedy if clause.state != COMPLIANT else None
    warnings = tuple(_rows(checks, True, base_dn, companies))
    return ClauseView(clause, f"clause-{index}", _groups(rows, companies), warnings, unmet, todo)


def _by_company(views: Sequence[ClauseView], companies: Sequence[str]) -> dict[str, CompanyCount]:
    out: dict[str, CompanyCount] = {}
    for company in [*companies, OTHER]:
        drifted = {
            r.finding.id for v in views for g in v.groups if g.company == company for r in g.rows
        }
        warned = {r.finding.id for v in views for r in v.warnings if r.company == company}
        named = tuple(v.clause.id for v in views if any(g.company == company for g in v.groups))
        if company != OTHER or drifted or warned:
            out[company] = CompanyCount(len(drifted), len(warned), named)
    return out


def _by_severity(views: Sequence[ClauseView]) -> dict[str, int]:
    drifted = {r.finding.id for v in views for g in v.groups for r in g.rows}
    warned = {r.finding.id for v in views for r in v.warnings}
    proofs = {(p.source, p.what): p for v in views for p in v.unmet}.values()
    checks = {
        k.name
        for v in views
        for k in (*(p.check for p in v.clause.playbooks), *v.clause.checks)
        if k.state == ERROR
    }
    return {
        "drift": len(drifted) + sum(p.findings for p in proofs),
        "warning": len(warned),
        "evidence_missing": sum(1 for p in proofs if not p.met and not p.findings),
        "error": len(checks),
    }


def verdict(report: ComplianceReport) -> str:
    counts = ", ".join(f"{n} {STATE_WORDS[s]}" for s, n in report.counts().items())
    return f"Compliance: {counts}."


def build(
    report: ComplianceReport,
    base_dn: str,
    companies: Sequence[str],
    *,
    days: Sequence[Day] = (),
    chart: Chart | None = None,
) -> CompliancePage:
    views = tuple(
        clause_view(c, i, base_dn, companies) for i, c in enumerate(report.clauses, start=1)
    )
    groups = tuple(
        StateGroup(state, STATE_WORDS[state], tuple(v for v in views if v.clause.state == state))
        for state in (*WORST_FIRST, COMPLIANT)
        if any(v.clause.state == state for v in views)
    )
    return CompliancePage(
        report=report,
        verdict=verdict(report),
        by_state=report.counts(),
        by_severity=_by_severity(views),
        by_company=_by_company(views, companies),
        clauses=views,
        groups=groups,
        days=tuple(days),
        chart=chart,
    )
