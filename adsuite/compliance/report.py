"""The compliance report: every clause of the regulations, what enforces it, its state
from a fresh drift check, and the journal records that prove it.

:func:`build` records that the journal is read for the report (五.8), plans every
playbook the map names and journals each check as a drift run
(:mod:`adsuite.compliance.check`), reads the journal once and folds it into
evidence (:mod:`adsuite.journal.evidence`), and gives each clause one state:

- ``drift``: a playbook of the clause finds drift (warnings never count);
- ``error``: a playbook could not be loaded or checked (the one-line error is kept);
- ``not_enforced``: a playbook does not exist yet, or a ticket type has no rule or
  is not carried out by adsuite yet;
- ``evidence_missing``: a requirement of the map's evidence is not met (no drift
  check in the last 24 hours, a change without a before-image, a broken hash chain);
- ``not_checked``: nothing proves it — no playbook's drift, no directory-wide check
  (a ``check`` task naming the clause in a playbook the map lists under ``checks``)
  and no evidence rule; tickets alone carry a clause out but prove nothing;
- ``compliant``: none of these.

A clause's state is the conjunction of everything that proves it: the first that
applies, in that order, is its state; the reasons list all. A directory-wide check's
finding counts only for the clause it names. The report is compliant (exit 0) only
when every clause is.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from adsuite.compliance import probe as compliance_probe
from adsuite.compliance.check import (
    COMPLIANT,
    DRIFT,
    ERROR,
    NOT_ENFORCED,
    PlaybookCheck,
    check_playbooks,
    for_clause,
)
from adsuite.compliance.clause_map import Clause, Evidence, LoadedMap, OutOfScope, umbrella_imports
from adsuite.journal import evidence, evidence_recovery
from adsuite.journal import proofs as compliance_proofs
from adsuite.journal.chain import utc_timestamp
from adsuite.journal.evidence import Proof, Recent
from adsuite.journal.paths import default_journal_path
from adsuite.journal.records import AccessRecord, ChangeRecord, RunRecord, VerifyReport
from adsuite.journal.store import Journal
from adsuite.recovery import backup as backuplib
from adsuite.runtime.inventory import load_inventory

log = logging.getLogger(__name__)

EVIDENCE_MISSING = "evidence_missing"
NOT_CHECKED = "not_checked"
OUT_OF_SCOPE = "out_of_scope"
WORST_FIRST = (DRIFT, ERROR, NOT_ENFORCED, EVIDENCE_MISSING, NOT_CHECKED)
STATE_WORDS = {
    COMPLIANT: "compliant",
    DRIFT: "drift",
    ERROR: "error",
    NOT_ENFORCED: "not enforced yet",
    EVIDENCE_MISSING: "evidence missing",
    NOT_CHECKED: "not checked",
    OUT_OF_SCOPE: "out of scope",
}


@dataclass(frozen=True)
class TicketRule:
    """A ticket type's rule in the approvals file, in words."""

    type: str
    clause: str
    rule: str
    needs: str  # "approved by department_head and general_manager"
    carried_out_by: str | None  # the command that carries such tickets out; None: not yet


@dataclass(frozen=True)
class TicketRules:
    file: str
    rules: Mapping[str, TicketRule]
    known: frozenset[str]  # every ticket type adsuite knows, carried out or planned
    error: str | None = None  # the approvals file does not load


@dataclass(frozen=True)
class TicketCheck:
    type: str
    state: str  # compliant | not_enforced | error
    note: str
    rule: TicketRule | None
    runs: Proof


@dataclass(frozen=True)
class PlaybookPart:
    check: PlaybookCheck
    applied: Proof


@dataclass(frozen=True)
class ClauseReport:
    id: str
    title: str
    source: str | None
    requirement: str
    text_zh: str | None
    enforced_by: str
    state: str
    state_text: str
    reasons: tuple[str, ...]
    playbooks: tuple[PlaybookPart, ...]
    tickets: tuple[TicketCheck, ...]
    evidence: tuple[Proof, ...]
    checks: tuple[PlaybookCheck, ...] = ()  # directory-wide checks of this clause
    remedy: str | None = None  # the map's "what to do" when it is not compliant


@dataclass(frozen=True)
class ComplianceReport:
    generated: str
    inventory: str
    journal: str
    map_file: str
    approvals_file: str
    reader: str
    ticket: str | None
    evidence_since: str
    chain: Proof
    clauses: tuple[ClauseReport, ...]
    out_of_scope: tuple[OutOfScope, ...]
    drift_runs: tuple[str, ...]  # the checks this report ran, as journaled

    def counts(self) -> dict[str, int]:
        counted = Counter(c.state for c in self.clauses)
        return {state: counted[state] for state in (COMPLIANT, *WORST_FIRST) if counted[state]}

    @property
    def drifted(self) -> bool:
        return any(c.state == DRIFT for c in self.clauses)

    @property
    def compliant(self) -> bool:
        """Every clause compliant (the CLI's exit 0; else 2)."""
        return all(c.state == COMPLIANT for c in self.clauses)

    def to_dict(self) -> dict[str, Any]:
        doc = _fields(self)
        doc["counts"] = self.counts()
        return doc


def plain(value: Any) -> Any:
    """Dataclasses, pydantic models, tuples and mappings as JSON-ready data."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [plain(v) for v in value]
    return value


def _fields(value: Any) -> dict[str, Any]:
    return {f.name: plain(getattr(value, f.name)) for f in fields(value)}


def ticket_check(ticket_type: str, rules: TicketRules, runs: Sequence[RunRecord]) -> TicketCheck:
    """Whether tickets of *ticket_type* are enforced: a rule, and adsuite carries them out."""
    proof = evidence.ticket_runs(runs, ticket_type)
    rule = rules.rules.get(ticket_type)
    if rules.error is not None:
        return TicketCheck(
            ticket_type, ERROR, f"the approval rules do not load: {rules.error}", rule, proof
        )
    if rule is None:
        note = f"{rules.file} has no rule for {ticket_type} tickets"
        return TicketCheck(ticket_type, NOT_ENFORCED, note, None, proof)
    if rule.carried_out_by is None:
        note = (
            f"the rule is in {rules.file}, but adsuite does not carry out {ticket_type} tickets yet"
        )
        return TicketCheck(ticket_type, NOT_ENFORCED, note, rule, proof)
    note = (
        f"{rule.carried_out_by} checks every {ticket_type} ticket against {rules.file} "
        "before anything changes"
    )
    return TicketCheck(ticket_type, COMPLIANT, note, rule, proof)


def clause_state(
    playbooks: Sequence[PlaybookCheck],
    tickets: Sequence[TicketCheck],
    proofs: Sequence[Proof],
    checks: Sequence[PlaybookCheck] = (),
) -> tuple[str, str, list[str]]:
    """(state, the state in words, every reason it is not compliant)."""
    states: set[str] = set()
    reasons: list[str] = []
    findings = 0
    for check in (*playbooks, *checks):
        states.add(check.state)
        if check.state == DRIFT:
            findings += len(check.findings)
            reasons.append(f"{check.name}: {evidence.count(len(check.findings), 'finding')}")
        elif check.state == ERROR:
            reasons.append(f"{check.name}: {check.error}")
        elif check.state == NOT_ENFORCED:
            reasons.append(f"{check.name} does not exist yet")
    for ticket in tickets:
        states.add(ticket.state)
        if ticket.state != COMPLIANT:
            reasons.append(f"{ticket.type} tickets: {ticket.note}")
    for proof in proofs:
        if proof.findings:
            states.add(DRIFT)
            findings += proof.findings
            reasons.append(f"{proof.what}: {proof.summary}")
        elif not proof.met:
            states.add(EVIDENCE_MISSING)
            reasons.append(f"{proof.what}: {proof.summary}")
    if not (playbooks or checks or proofs):
        states.add(NOT_CHECKED)
        reasons.append(
            "nothing checks it: no playbook drift, no directory-wide check and no evidence "
            "rule proves it (tickets carry it out but prove nothing about the directory)"
        )
    state = next((s for s in WORST_FIRST if s in states), COMPLIANT)
    words = (
        f"drift ({evidence.count(findings, 'finding')})" if state == DRIFT else STATE_WORDS[state]
    )
    return state, words, reasons


@dataclass(frozen=True)
class JournalFacts:
    """Everything the report reads from the journal, read once."""

    runs: list[RunRecord]
    accesses: list[AccessRecord]
    changes: list[ChangeRecord]  # of writing runs since the earliest evidence window
    verify: VerifyReport
    collections: list[ChangeRecord] = dataclasses.field(default_factory=list)  # usage runs'
    backup_files: list[ChangeRecord] = dataclasses.field(default_factory=list)  # the newest's


def read_journal(path: Path, since: str) -> JournalFacts:
    with Journal.open(path) as journal:
        runs = journal.runs()
        writing = [r for r in runs if r.mode in evidence.WRITING_MODES and r.started >= since]
        changes = [c for r in writing for c in journal.changes(r.id)]
        usage = [r for r in runs if r.mode == compliance_proofs.USAGE_MODE and r.started >= since]
        collections = [c for r in usage for c in journal.changes(r.id)]
        newest = [r for r in runs if r.mode == backuplib.MODE and r.status == "ok"][:1]
        files = [c for r in newest for c in journal.changes(r.id)]
        accesses, verified = journal.accesses(since), journal.verify()
        return JournalFacts(runs, accesses, changes, verified, collections, files)


@dataclass(frozen=True)
class _Context:
    checks: Mapping[str, PlaybookCheck]
    rules: TicketRules
    facts: JournalFacts
    umbrellas: Mapping[str, frozenset[str]]
    now: datetime
    days: int
    own_runs: frozenset[str]
    check_playbooks: tuple[str, ...] = ()
    probe: compliance_proofs.AuditProbe | None = None


def _since(ctx: _Context, days: int | None, hours: int | None = None) -> str:
    reach = timedelta(days=days or ctx.days)
    if hours is not None:
        reach = max(reach, timedelta(hours=hours))
    return utc_timestamp(ctx.now - reach)


def _proof(item: Evidence, ctx: _Context) -> Proof:
    since = _since(ctx, item.within_days, item.within_hours)
    facts = ctx.facts
    hours = item.within_hours
    recent = Recent(hours, utc_timestamp(ctx.now - timedelta(hours=hours))) if hours else None
    if item.source == "health" and recent is not None:
        return evidence.health_runs(facts.runs, item.what, since, recent)
    if item.source == "runs":
        return evidence.mode_runs(
            facts.runs,
            item.modes,
            item.what,
            since,
            exclude=ctx.own_runs,
            recent=recent,
            require_ticket=item.require_ticket,
        )
    if item.source == "access" and item.approved_by:
        return compliance_proofs.approved_reads(
            facts.accesses, facts.runs, item.approved_by, item.what, since
        )
    if item.source == "access":
        return evidence.access(facts.accesses, item.what, since, item.require_ticket)
    if item.source == "privileged_use":
        return compliance_proofs.privileged_use(facts.runs, facts.collections, item.what, since)
    if item.source == "audit_trail":
        return compliance_proofs.audit_trail(ctx.probe, item.what)
    if item.source == "restore_drill" and recent is not None and item.target_hours:
        return evidence_recovery.restore_drill(facts.runs, item.what, recent, item.target_hours)
    if item.source == "backups":
        proof = evidence_recovery.backups(facts.runs, item.what, ctx.now, item.within_hours)
        gone = backuplib.missing_on_disk(facts.runs, facts.backup_files) if proof.met else None
        if gone is not None:  # the journal says so, the folder does not: not evidence
            return dataclasses.replace(proof, summary=f"{proof.summary}; but {gone}", met=False)
        return proof
    if item.source == "before_images":
        return evidence.before_images(facts.runs, facts.changes, item.what, since)
    return evidence.chain(facts.verify, item.what)


def _clause(clause: Clause, ctx: _Context) -> ClauseReport:
    parts = []
    for name in clause.playbooks:
        check = for_clause(ctx.checks[name], clause.id)
        applied = evidence.apply_runs(ctx.facts.runs, Path(name).name, check.sha256, ctx.umbrellas)
        parts.append(PlaybookPart(check, applied))
    checks = [
        for_clause(ctx.checks[name], clause.id)
        for name in ctx.check_playbooks
        if name not in clause.playbooks
        and (ctx.checks[name].tasks_for(clause.id) or ctx.checks[name].state == ERROR)
    ]
    tickets = [ticket_check(t, ctx.rules, ctx.facts.runs) for t in clause.tickets]
    proofs = [_proof(item, ctx) for item in clause.evidence]
    state, words, reasons = clause_state([p.check for p in parts], tickets, proofs, checks)
    return ClauseReport(
        clause.id,
        clause.title,
        clause.source,
        clause.requirement,
        clause.text_zh,
        clause.enforced_by,
        state,
        words,
        tuple(reasons),
        tuple(parts),
        tuple(tickets),
        tuple(proofs),
        tuple(checks),
        clause.remedy,
    )


def check_ticket_types(loaded: LoadedMap, rules: TicketRules) -> None:
    """A ticket type adsuite does not know at all is a typo in the map: file:line."""
    for c_index, clause in enumerate(loaded.map.clauses):
        for t_index, name in enumerate(clause.tickets):
            if name not in rules.known and name not in rules.rules:
                known = ", ".join(sorted(rules.known))
                raise loaded.ticket_error(
                    c_index, t_index, f"unknown ticket type '{name}' (known: {known})"
                )


def build(
    loaded: LoadedMap,
    inventory_path: Path,
    rules: TicketRules,
    *,
    reader: str,
    ticket: str | None = None,
    journal_path: Path | None = None,
    now: datetime | None = None,
) -> ComplianceReport:
    """Check every clause of *loaded* against the domain and the journal."""
    check_ticket_types(loaded, rules)
    inventory = load_inventory(inventory_path)
    journal_path = journal_path or default_journal_path(inventory.journal)
    with Journal.open(journal_path) as journal:  # reading the journal is recorded (五.8)
        journal.record_access(who=reader, what=f"report compliance {loaded.path}", ticket=ticket)
    named = [(name, loaded.resolve(name)) for name in loaded.playbook_names()]
    checks = check_playbooks(named, inventory, inventory_path, journal_path)
    probed = any(e.source == "audit_trail" for c in loaded.map.clauses for e in c.evidence)
    probe = compliance_probe.probe(inventory_path, journal_path) if probed else None
    now = now or datetime.now(UTC)
    days = loaded.map.evidence_days
    reach = max([days, *(e.within_days or 0 for c in loaded.map.clauses for e in c.evidence)])
    hours = max([0, *(e.within_hours or 0 for c in loaded.map.clauses for e in c.evidence)])
    earliest = utc_timestamp(now - max(timedelta(days=reach), timedelta(hours=hours)))
    facts = read_journal(journal_path, earliest)
    own = frozenset(c.drift_run for c in checks.values() if c.drift_run)
    ctx = _Context(
        checks,
        rules,
        facts,
        umbrella_imports(loaded),
        now,
        days,
        own,
        tuple(loaded.map.checks),
        probe,
    )
    return ComplianceReport(
        generated=utc_timestamp(now),
        inventory=str(inventory_path),
        journal=str(journal_path),
        map_file=str(loaded.path),
        approvals_file=rules.file,
        reader=reader,
        ticket=ticket,
        evidence_since=utc_timestamp(now - timedelta(days=days)),
        chain=evidence.chain(facts.verify, "the journal's hash chain"),
        clauses=tuple(_clause(clause, ctx) for clause in loaded.map.clauses),
        out_of_scope=tuple(loaded.map.out_of_scope),
        drift_runs=tuple(sorted(own)),
    )
