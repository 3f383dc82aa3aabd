"""The compliance page's data: summary per state, severity and company; clauses worst
first; a finding two playbooks of a clause see is one row; what to do per finding."""

from __future__ import annotations

from adsuite.compliance import page
from adsuite.resources.base import Action
from tests.compliance_sample import ADMIN, BASE, EDITED, GUEST, MISSING, report

COMPANIES = ["HQ", "HANTONG"]


def test_clauses_are_grouped_worst_first_and_compliant_last() -> None:
    built = page.build(report(), BASE, COMPANIES)
    assert [(g.state, [v.clause.id for v in g.clauses]) for g in built.groups] == [
        ("drift", ["五.6"]),
        ("evidence_missing", ["四.1"]),
        ("compliant", ["三.4"]),
    ]
    assert built.verdict == "Compliance: 1 compliant, 1 drift, 1 evidence missing."


def test_a_finding_two_playbooks_see_is_one_row_grouped_by_company() -> None:
    view = page.build(report(), BASE, COMPANIES).groups[0].clauses[0]
    assert [(g.company, [r.finding.id for r in g.rows]) for g in view.groups] == [
        ("HQ", [MISSING.id]),
        ("HANTONG", [EDITED.id]),
        ("(domain-wide)", [ADMIN.id]),
    ]
    assert view.findings == 3 and [r.finding.id for r in view.warnings] == [GUEST.id]
    assert view.todo == "Remedy of 五.6."


def test_summary_counts_per_severity_and_per_company() -> None:
    built = page.build(report(), BASE, COMPANIES)
    assert built.by_severity == {"drift": 3, "warning": 1, "evidence_missing": 1, "error": 0}
    assert {c: (n.drift, n.warning, n.clauses) for c, n in built.by_company.items()} == {
        "HQ": (1, 0, ("五.6",)),
        "HANTONG": (1, 0, ("五.6",)),
        "(domain-wide)": (1, 1, ("五.6",)),
    }


def test_a_compliant_clause_has_no_remedy_shown() -> None:
    built = page.build(report(), BASE, COMPANIES)
    assert built.groups[-1].clauses[0].todo is None


def test_what_to_do_follows_the_write_that_would_fix_the_finding() -> None:
    assert page.action_of(MISSING) is Action.CREATE
    assert page.action_of(EDITED) is Action.UPDATE
    assert page.action_of(GUEST) is None  # a check's warning: no write fixes it
    rows = page.build(report(), BASE, COMPANIES).groups[0].clauses[0].groups
    assert rows[0].rows[0].todo.startswith("Run `adsuite apply group_domain.yml` to create it")
