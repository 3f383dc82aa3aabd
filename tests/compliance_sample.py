"""A compliance report as plain data, for the page's unit and browser tests: one clause
in drift (a finding per company, one seen by two playbooks, a planted <script>, a long
DN, a warning), one with evidence missing, one compliant."""

from __future__ import annotations

from pathlib import Path

from adsuite.compliance.check import COMPLIANT, DRIFT, PlaybookCheck
from adsuite.compliance.report import (
    EVIDENCE_MISSING,
    ClauseReport,
    ComplianceReport,
    PlaybookPart,
)
from adsuite.engine.drift import Finding
from adsuite.journal.evidence import Line, Proof

BASE = "DC=group,DC=example,DC=com"
INVENTORY = Path(__file__).resolve().parents[1] / "inventory" / "lab.yml"
PLANTED = '<script>document.body.dataset.pwned="yes"</script>'
LONG_DN = ",".join(f"OU=DepartmentOfVeryLongNames{i}" for i in range(6)) + f",OU=HQ,{BASE}"

HANTONG_OU = f"OU=Workstations,OU=HANTONG,{BASE}"
EDITED = Finding(
    "86e133a21afa", "ou", HANTONG_OU,
    f'ou {HANTONG_OU}: differs: description is "{PLANTED}", want "HANTONG Workstations"',
    "playbooks/group_domain.yml:35",
)  # fmt: skip
MISSING = Finding(
    "1f0c9a7e2b44", "ou", LONG_DN, f"ou {LONG_DN}: missing", "playbooks/group_domain.yml:20"
)
ADMIN = Finding(
    "e8842d396548", "privileged", f"CN=Domain Admins,CN=Users,{BASE}",
    f"privileged CN=Domain Admins,CN=Users,{BASE}: differs: has unwanted member Guest",
    "playbooks/superadmin.yml:14",
)  # fmt: skip
GUEST = Finding(
    "77aa01bb02cc", "check", f"CN=Guest,CN=Users,{BASE}",
    f"check CN=Guest,CN=Users,{BASE}: is disabled but not in a company's Disabled OU",
    "playbooks/checks.yml:9", "warning", "二.2.c",
)  # fmt: skip
NOTHING = Proof("runs", "n/a", "none", 0)


def _check(name: str, *found: Finding, warnings: tuple[Finding, ...] = ()) -> PlaybookCheck:
    state = DRIFT if found else COMPLIANT
    return PlaybookCheck(
        name, f"playbooks/{name}", state, found, warnings, drift_run="20261206T000000Z-abcdef"
    )


def _clause(
    clause_id: str, state: str, words: str, *parts: PlaybookCheck, evidence: tuple[Proof, ...] = ()
) -> ClauseReport:
    return ClauseReport(
        clause_id, f"Title of {clause_id}", None, "What it requires.", None, "How it is enforced.",
        state, words, (f"reason of {clause_id}",) if state != COMPLIANT else (),
        tuple(PlaybookPart(p, NOTHING) for p in parts), (), evidence, (),
        f"Remedy of {clause_id}.",
    )  # fmt: skip


def report() -> ComplianceReport:
    stale = Proof(
        "health", "health checks", "none in the 24 hours before this report", 1,
        (Line("2026-12-01 08:00 UTC", "unhealthy: dc1 kerberos", "r-health"),), met=False,
    )  # fmt: skip
    clauses = (
        _clause("三.4", COMPLIANT, "compliant", _check("sites.yml")),
        _clause(
            "五.6",
            DRIFT,
            "drift (3 findings)",
            _check("group_domain.yml", EDITED, MISSING, warnings=(GUEST,)),
            _check("site.yml", EDITED, ADMIN),
        ),
        _clause("四.1", EVIDENCE_MISSING, "evidence missing", evidence=(stale,)),
    )
    return ComplianceReport(
        "2026-12-06T10:00:00Z", str(INVENTORY), "/tmp/journal.sqlite", "playbooks/compliance.yml",
        "playbooks/approvals.yml", "auditor", None, "2026-11-05T10:00:00Z",
        Proof("chain", "chain", "intact: 12 entries verified", 12), clauses, (), ("r1",),
    )  # fmt: skip
