"""The fresh drift check behind a compliance report: every playbook the map names,
planned against its domain and journaled as a drift run, so the check is evidence too.

Playbooks are grouped by domain and each domain is bound once: every playbook of it
is planned over that one connection. A playbook that does not exist yet is "not
enforced yet"; one that does not load, or whose domain cannot be reached or planned,
is an error with its one line.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adsuite.engine import drift
from adsuite.engine.loader import Playbook, load_playbook
from adsuite.engine.session import Session
from adsuite.errors import AdsuiteError
from adsuite.resources import registry
from adsuite.resources.check import check as check_kind
from adsuite.runtime.connections import Connections
from adsuite.runtime.inventory import Inventory

log = logging.getLogger(__name__)

COMPLIANT = "compliant"
DRIFT = "drift"
NOT_ENFORCED = "not_enforced"
ERROR = "error"


@dataclass(frozen=True)
class PlaybookCheck:
    """One playbook's state from the fresh drift check."""

    name: str  # as the map names it
    path: str
    state: str  # compliant | drift | not_enforced | error
    findings: tuple[drift.Finding, ...] = ()  # counted as drift
    warnings: tuple[drift.Finding, ...] = ()  # shown, never counted
    error: str | None = None
    drift_run: str | None = None  # the journal run that recorded this check
    sha256: str | None = None
    objects_read: int = 0
    check_tasks: tuple[tuple[str, int], ...] = ()  # (clause, how many check tasks prove it)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "state": self.state,
            "findings": [f.to_dict() for f in self.findings],
            "warnings": [f.to_dict() for f in self.warnings],
            "error": self.error,
            "drift_run": self.drift_run,
            "sha256": self.sha256,
            "objects_read": self.objects_read,
            "check_tasks": dict(self.check_tasks),
        }

    def tasks_for(self, clause: str) -> int:
        return dict(self.check_tasks).get(clause, 0)


def for_clause(check: PlaybookCheck, clause: str) -> PlaybookCheck:
    """*check* as one clause sees it: a directory-wide check's finding counts only for
    the clause it names; every other finding counts for every clause of the playbook."""
    if check.state in (NOT_ENFORCED, ERROR):
        return check
    mine = tuple(f for f in check.findings if f.clause in (None, clause))
    warned = tuple(f for f in check.warnings if f.clause in (None, clause))
    state = DRIFT if mine else COMPLIANT
    return dataclasses.replace(check, state=state, findings=mine, warnings=warned)


def check_clauses(playbook: Playbook) -> tuple[tuple[str, int], ...]:
    """(clause, number of ``check`` tasks naming it) of a loaded playbook."""
    counted = Counter(
        str(getattr(task.spec, "clause", ""))
        for play in playbook.plays
        for task in play.tasks
        if task.kind == check_kind.NAME
    )
    return tuple(sorted(counted.items()))


def from_findings(
    name: str, path: str, found: Sequence[drift.Finding], **known: Any
) -> PlaybookCheck:
    """A checked playbook's state: drift when a finding counts (warnings never do)."""
    counted = tuple(drift.drifted(found))
    warnings = tuple(f for f in found if f.severity == "warning")
    state = DRIFT if counted else COMPLIANT
    return PlaybookCheck(name, path, state, counted, warnings, **known)


def check_playbooks(
    named: Sequence[tuple[str, Path]],
    inventory: Inventory,
    inventory_path: Path,
    journal_path: Path,
) -> dict[str, PlaybookCheck]:
    """Plan each (name, path) against its domain and journal it as a drift run."""
    checks: dict[str, PlaybookCheck] = {}
    by_domain: dict[str, list[tuple[str, Session]]] = {}
    for name, path in named:
        if not path.exists():
            checks[name] = PlaybookCheck(name, str(path), NOT_ENFORCED)
            continue
        try:
            playbook = load_playbook(path, inventory, registry.specs())
            session = Session(playbook, inventory, inventory_path, journal_path)
        except AdsuiteError as error:
            checks[name] = PlaybookCheck(name, str(path), ERROR, error=str(error))
            continue
        by_domain.setdefault(session.domain_key, []).append((name, session))
    for sessions in by_domain.values():
        checks.update(_check_domain(sessions))
    return checks


def _check_domain(sessions: Sequence[tuple[str, Session]]) -> dict[str, PlaybookCheck]:
    """Bind once to the domain, then plan each playbook over that connection."""
    checks: dict[str, PlaybookCheck] = {}
    try:
        with sessions[0][1].connect(write=False) as conn:
            for name, session in sessions:
                checks[name] = _check_one(name, session, conn)
    except AdsuiteError as error:  # the bind (or closing the connections) failed
        log.warning("compliance: domain %s: %s", sessions[0][1].domain_key, error)
        for name, session in sessions:
            path = str(session.playbook.path)
            checks.setdefault(name, PlaybookCheck(name, path, ERROR, error=str(error)))
    return checks


def _check_one(name: str, session: Session, conn: Connections) -> PlaybookCheck:
    path, sha = str(session.playbook.path), session.playbook.sha256
    try:
        outcome = drift.outcome(session.plan(conn))
        run_id = session.record_drift(outcome, conn)
    except AdsuiteError as error:
        log.info("compliance: %s: %s", name, error)
        return PlaybookCheck(name, path, ERROR, error=str(error), sha256=sha)
    return from_findings(
        name,
        path,
        outcome.findings,
        drift_run=run_id,
        sha256=sha,
        objects_read=outcome.objects_read,
        check_tasks=check_clauses(session.playbook),
    )
