"""Journal records as evidence for an auditor: runs, tickets, reads and before-images,
folded into a few dated lines and one sentence each.

Pure functions over the journal's read models (no database access): the compliance
report (adsuite/compliance/report.py) reads the journal once and hands the records
here. Every :class:`Proof` says what it shows, how many records it found, the latest
of them with their dates, and whether a requirement of the compliance map is met.

An apply run counts for a playbook when the run's playbook file has the same name
(its basename: the journal keeps the path as it was typed, which differs between
machines and working folders), or when it ran an umbrella playbook (site.yml) that
imports it. The run's sha256 then says whether it applied the file's current text.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from adsuite.journal.records import AccessRecord, ChangeRecord, RunRecord, VerifyReport

log = logging.getLogger(__name__)

LIST_LIMIT = 10
WRITING_MODES = frozenset({"apply", "rollback", "checkout", "checkin"})
KEEPS_BEFORE = frozenset({"update", "delete"})  # a creation has nothing before it


@dataclass(frozen=True)
class Line:
    """One dated record, in words."""

    at: str  # "2026-11-27 12:45 UTC"
    text: str
    run: str | None = None
    ticket: str | None = None


@dataclass(frozen=True)
class Proof:
    """What one source of evidence shows."""

    source: str
    what: str
    summary: str
    total: int
    lines: tuple[Line, ...] = ()
    met: bool = True  # False: a requirement the map sets is not met (summary says which)
    findings: int = 0  # open findings it names (五.6): the clause is drift, not missing


def when(timestamp: str) -> str:
    """A journal timestamp (``2026-11-27T12:45:38.123456Z``) as an auditor reads it."""
    return f"{timestamp[:10]} {timestamp[11:16]} UTC" if len(timestamp) >= 16 else timestamp


def count(number: int, noun: str) -> str:
    """``1 finding``, ``2 findings``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def file_name(path: str | None) -> str:
    """The file name of a journaled playbook path, whatever folder it was run from."""
    return PurePath(path.replace("\\", "/")).name if path else ""


def _counts(run: RunRecord) -> str:
    shown = [f"{k} {v}" for k, v in run.counts.items() if v]
    return ", ".join(shown) if shown else "nothing to change"


def apply_runs(
    runs: Iterable[RunRecord],
    name: str,
    sha256: str | None,
    umbrellas: Mapping[str, Collection[str]],
) -> Proof:
    """The apply runs of playbook *name* (a file name), newest first."""
    via = {u for u, imported in umbrellas.items() if name in imported}
    lines: list[Line] = []
    for run in runs:
        ran = file_name(run.playbook)
        if run.mode != "apply" or (ran != name and ran not in via):
            continue
        if ran != name:
            text = f"applied as part of {ran} ({run.status}; {_counts(run)})"
        else:
            same = "as it reads now" if run.playbook_sha256 == sha256 else "a version since changed"
            text = f"applied {ran} {same} ({run.status}; {_counts(run)})"
        lines.append(Line(when(run.started), text, run.id, run.ticket))
    if not lines:
        return Proof("apply_runs", f"apply runs of {name}", "never applied", 0)
    summary = f"{count(len(lines), 'apply run')}; the latest {lines[0].at}"
    return Proof("apply_runs", f"apply runs of {name}", summary, len(lines), tuple(lines[:3]))


def _ticket_of(run: RunRecord) -> dict[str, Any]:
    ticket = run.extra.get("ticket")
    return ticket if isinstance(ticket, dict) else {}


def _approvals(ticket: Mapping[str, Any]) -> str:
    given = [
        f"{a.get('name')} as {a.get('role')} at {a.get('time')}"
        for a in ticket.get("approvals") or []
        if isinstance(a, dict)
    ]
    return "; ".join(given) if given else "no approvals recorded"


def ticket_runs(runs: Iterable[RunRecord], ticket_type: str) -> Proof:
    """Runs that carried out tickets of *ticket_type*: who asked, who approved, when."""
    lines = []
    for run in runs:
        ticket = _ticket_of(run)
        if ticket.get("type") != ticket_type:
            continue
        text = (
            f"ticket {ticket.get('id') or run.ticket}, asked by {ticket.get('requester', '?')}, "
            f"approved by {_approvals(ticket)} ({run.mode} {run.status})"
        )
        lines.append(Line(when(run.started), text, run.id, run.ticket))
    what = f"{ticket_type} tickets carried out"
    if not lines:
        return Proof("ticket_runs", what, "none in the journal", 0)
    summary = f"{count(len(lines), 'ticket')}; the latest {lines[0].at}"
    return Proof("ticket_runs", what, summary, len(lines), tuple(lines[:LIST_LIMIT]))


def _run_words(run: RunRecord) -> str:
    extra = run.extra
    if run.mode == "drift":
        found = [
            f
            for f in extra.get("findings", [])
            if isinstance(f, dict) and f.get("severity") != "warning"
        ]
        return f"drift check of {file_name(run.playbook)}: {count(len(found), 'finding')}"
    if run.mode == "health":
        return f"health check of {extra.get('domain', '?')}: {run.status}"
    if run.mode == "rollback":
        return f"rolled back run {extra.get('rolls_back', '?')} ({run.status})"
    if run.mode in ("checkout", "checkin"):
        who = f" to {extra['holder']}" if extra.get("holder") else ""
        why = f": {extra['reason']}" if extra.get("reason") else ""
        return f"{run.mode} of {extra.get('account', '?')}{who}{why} ({run.status})"
    return f"{run.mode} {file_name(run.playbook)} ({run.status}; {_counts(run)})"


@dataclass(frozen=True)
class Recent:
    """A requirement that at least one run falls in the last *hours* (after *after*)."""

    hours: int
    after: str  # a journal timestamp: the report's time minus the hours


def mode_runs(
    runs: Iterable[RunRecord],
    modes: Collection[str],
    what: str,
    since: str,
    *,
    exclude: Collection[str] = (),
    recent: Recent | None = None,
    require_ticket: bool = False,
) -> Proof:
    """Runs in *modes* since *since* (timestamps sort as text), except those *exclude*
    names (the report's own); met unless a requirement fails."""
    chosen = [r for r in runs if r.mode in modes and r.started >= since and r.id not in exclude]
    lines = tuple(Line(when(r.started), _run_words(r), r.id, r.ticket) for r in chosen)
    summary = f"{len(chosen)} since {when(since)}"
    met, problems = True, []
    if recent is not None and not any(r.started >= recent.after for r in chosen):
        met = False
        problems.append(f"none in the {recent.hours} hours before this report")
    untracked = [r for r in chosen if not r.ticket]
    if require_ticket and untracked:
        met = False
        problems.append(f"{len(untracked)} named no ticket")
    if problems:
        summary += ": " + "; ".join(problems)
    shown = lines[:LIST_LIMIT]
    if require_ticket and untracked:  # the ones without a ticket are the ones to see
        shown = tuple(line for line in lines if not line.ticket)[:LIST_LIMIT]
    return Proof("runs", what, summary, len(chosen), shown, met)


def _health_findings(run: RunRecord) -> list[str]:
    found = run.extra.get("findings", [])
    return [str(f.get("text") or f.get("id")) for f in found if isinstance(f, dict)]


def health_runs(runs: Iterable[RunRecord], what: str, since: str, recent: Recent) -> Proof:
    """Health checks since *since*: met only when one ran in the last *recent* hours and
    the newest of each domain found it healthy. An unhealthy newest check names its
    findings (the clause is then drift, not missing evidence); a check that did not end
    healthy (unhealthy, interrupted) never counts as "checked and fine"."""
    chosen = [r for r in runs if r.mode == "health" and r.started >= since]
    lines = tuple(Line(when(r.started), _run_words(r), r.id) for r in chosen)
    summary = f"{len(chosen)} since {when(since)}"
    if not any(r.started >= recent.after for r in chosen):
        summary += f": none in the {recent.hours} hours before this report"
        return Proof("health", what, summary, len(chosen), lines[:LIST_LIMIT], met=False)
    newest: dict[str, RunRecord] = {}
    for run in sorted(chosen, key=lambda r: r.start_seq):
        newest[str(run.extra.get("domain", "?"))] = run
    bad = [r for r in newest.values() if r.status != "healthy"]
    if not bad:
        return Proof("health", what, summary + ", the newest healthy", len(chosen), lines[:3])
    named = [f for r in bad for f in _health_findings(r)]
    words = "; ".join(f"{r.extra.get('domain', '?')} {r.status} ({r.id})" for r in bad)
    summary += f": the newest found {words}" + (f": {'; '.join(named[:3])}" if named else "")
    if len(named) > 3:
        summary += f"; and {len(named) - 3} more"
    found = [Line(when(r.started), text, r.id) for r in bad for text in _health_findings(r)]
    shown = tuple(found[:LIST_LIMIT]) or lines[:LIST_LIMIT]
    return Proof("health", what, summary, len(chosen), shown, met=False, findings=len(named))


def access(accesses: Sequence[AccessRecord], what: str, since: str, require_ticket: bool) -> Proof:
    """Reads of the journal since *since*; met unless a ticket is required and missing."""
    chosen = [a for a in accesses if a.at >= since]
    lines = tuple(Line(when(a.at), f"{a.who} read: {a.what}", ticket=a.ticket) for a in chosen)
    untracked = sum(1 for a in chosen if not a.ticket)
    summary = f"{count(len(chosen), 'read')} since {when(since)}, {untracked} without a ticket"
    met = not (require_ticket and untracked)
    return Proof("access", what, summary, len(chosen), lines[:LIST_LIMIT], met)


def before_images(
    runs: Sequence[RunRecord], changes: Sequence[ChangeRecord], what: str, since: str
) -> Proof:
    """Applied updates and deletions of writing runs since *since*: each keeps its before."""
    started = {r.id: r for r in runs if r.mode in WRITING_MODES and r.started >= since}
    kept: dict[str, list[bool]] = {}
    for change in changes:
        counted = change.outcome == "applied" and change.action in KEEPS_BEFORE
        if counted and change.run_id in started:
            kept.setdefault(change.run_id, []).append(change.before is not None)
    lines = []
    for run_id in sorted(kept, key=lambda i: started[i].start_seq, reverse=True):
        run, flags = started[run_id], kept[run_id]
        missing = flags.count(False)
        state = "all with" if not missing else f"{missing} without"
        text = f"{len(flags)} updates or deletions by {run.mode} {file_name(run.playbook)}"
        lines.append(Line(when(run.started), f"{text}, {state} a before-image", run_id))
    total = sum(len(f) for f in kept.values())
    missing = sum(f.count(False) for f in kept.values())
    summary = f"{total} updates and deletions since {when(since)}, {missing} without a before-image"
    return Proof("before_images", what, summary, total, tuple(lines[:LIST_LIMIT]), missing == 0)


def chain(report: VerifyReport, what: str) -> Proof:
    """Whether the hash chain of the journal verifies."""
    if report.ok:
        summary = f"intact: {report.entries_checked} entries verified"
        return Proof("chain", what, summary, report.entries_checked)
    lines = tuple(Line("", problem) for problem in report.problems[:LIST_LIMIT])
    summary = f"BROKEN: {report.problems[0]}" if report.problems else "BROKEN"
    return Proof("chain", what, summary, report.entries_checked, lines, met=False)
