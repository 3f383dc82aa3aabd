"""What a drift report page shows, as plain data: a summary first (per severity, per
company, per kind), then the findings grouped by company, each with what to do, and
the warnings apart — they are shown, never counted as drift (as the CLI says).

Pure: the drift's outcome, the inventory's company codes and the history (from
:mod:`adsuite.journal.drift_history`) in, a :class:`DriftPage` out. The template
(``templates/reports/drift.html.j2``) only lays it out; jinja2 escapes every value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from adsuite.engine import drift
from adsuite.journal.drift_history import Chart, Day
from adsuite.journal.monthly import OTHER, company_of
from adsuite.resources.base import Action

SEVERITIES = ("drift", "warning")


@dataclass(frozen=True)
class Row:
    finding: drift.Finding
    company: str
    todo: str
    found_by: str = ""  # the playbook whose check shows it (the compliance page names it)

    @property
    def detail(self) -> str:
        """The finding's words without the kind and object the row already shows."""
        prefix = f"{self.finding.kind} {self.finding.target}: "
        text = self.finding.text
        return text[len(prefix) :] if text.startswith(prefix) else text


@dataclass(frozen=True)
class Group:
    company: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class DriftPage:
    domain: str
    base_dn: str
    playbook: str
    generated: str
    objects_read: int
    queries: int
    headline: str  # the CLI's last line, word for word: "Clean: no drift." / "Drift: 2 findings."
    by_severity: dict[str, int]
    by_company: dict[str, dict[str, int]]  # company -> severity -> count
    by_kind: dict[str, int]  # drift findings only
    groups: tuple[Group, ...]  # drift findings, per company
    warnings: tuple[Row, ...]
    days: tuple[Day, ...]
    chart: Chart | None
    run_id: str | None


def what_to_do(found: drift.Finding, action: Action | None, playbook: str) -> str:
    """One sentence an administrator can act on."""
    where = f" at {found.source}" if found.source else ""
    if found.severity == "warning":
        return "Review it: shown for information, not counted as drift, and no apply changes it."
    if action is None:
        return (
            "Fix the object by hand (adsuite does not write it), or record an exemption in the "
            f"check{where}; the next drift check shows it fixed."
        )
    if action is Action.CREATE:
        return (
            f"Run `adsuite apply {playbook}` to create it, or remove the task{where} "
            "if it should no longer exist."
        )
    if action is Action.DELETE:
        return f"Run `adsuite apply {playbook}` to remove it, or declare it{where} if it is wanted."
    return (
        "Someone changed it outside the playbook: see who with "
        f"`adsuite audit changes --since DATE`, then run "
        f"`adsuite apply {playbook}` to restore it, or declare the new value{where}."
    )


def headline(found: Sequence[drift.Finding]) -> str:
    n = len(drift.drifted(found))
    return "Clean: no drift." if not n else f"Drift: {n} finding{'s' if n != 1 else ''}."


def build(
    outcome: drift.Outcome,
    playbook: str,
    companies: Sequence[str],
    *,
    generated: str,
    days: Sequence[Day] = (),
    chart: Chart | None = None,
    run_id: str | None = None,
) -> DriftPage:
    found = outcome.findings
    actions = [Action(a) if a is not None else None for a in outcome.actions]
    rows = [
        Row(f, company_of(f.target, outcome.base_dn, companies), what_to_do(f, a, playbook))
        for f, a in zip(found, actions, strict=True)
    ]
    drifting = [r for r in rows if r.finding.severity != "warning"]
    return DriftPage(
        domain=outcome.domain,
        base_dn=outcome.base_dn,
        playbook=playbook,
        generated=generated,
        objects_read=outcome.objects_read,
        queries=outcome.queries,
        headline=headline(found),
        by_severity={s: sum(1 for r in rows if _severity(r) == s) for s in SEVERITIES},
        by_company=_by_company(rows, companies),
        by_kind=dict(Counter(r.finding.kind for r in drifting).most_common()),
        groups=_groups(drifting, companies),
        warnings=tuple(r for r in rows if r.finding.severity == "warning"),
        days=tuple(days),
        chart=chart,
        run_id=run_id,
    )


def _severity(row: Row) -> str:
    return "warning" if row.finding.severity == "warning" else "drift"


def _order(companies: Sequence[str]) -> list[str]:
    return [*companies, OTHER]


def _by_company(rows: Sequence[Row], companies: Sequence[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for company in _order(companies):
        mine = [r for r in rows if r.company == company]
        if mine or company != OTHER:
            out[company] = {s: sum(1 for r in mine if _severity(r) == s) for s in SEVERITIES}
    return out


def _groups(rows: Sequence[Row], companies: Sequence[str]) -> tuple[Group, ...]:
    groups = []
    for company in _order(companies):
        mine = tuple(r for r in rows if r.company == company)
        if mine:
            groups.append(Group(company, mine))
    return tuple(groups)
