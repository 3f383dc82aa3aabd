"""``journal verify`` in full: the chain, its MACs, and the file against every witness.

The file is opened read-only and never created: a missing journal is reported with
what the witnesses say it held. When everything matches, the witnesses are moved
forward to the current head, as at the end of a run.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import replace
from pathlib import Path

from adsuite.errors import AdsuiteError
from adsuite.journal.records import VerifyReport
from adsuite.journal.schema import connect_readonly
from adsuite.journal.store import Journal
from adsuite.journal.witness import Facts, Guard, Witness, journal_name, missing_file_problems

log = logging.getLogger(__name__)

_SEQS = re.compile(r"seq (\d+)(?:–(\d+))?: ")
_FROM = re.compile(r"entries from seq (\d+) ")
_RUNS_BETWEEN = "SELECT DISTINCT run_id FROM entries WHERE seq BETWEEN ? AND ? ORDER BY seq"


def check_journal(path: Path, guard: Guard) -> VerifyReport:
    """Verify the journal at *path* with *guard*'s key and witnesses; never creates it."""
    if not path.is_file():
        problems = missing_file_problems(journal_name(path), path, guard.witnesses)
        return VerifyReport(ok=False, entries_checked=0, problems=problems)
    with Journal(connect_readonly(path), path, guard) as journal:
        report = journal.verify()
        facts = journal.facts()
        problems, notes = list(report.problems), list(report.notes)
        witnessed: list[str] = []
        for witness in guard.witnesses:
            found, line = _compare(journal, facts, witness)
            problems.extend(found)
            if line is not None:
                (witnessed if line.endswith("matches") else notes).append(line)
        if not problems:
            journal.witness()
            problems.extend(journal.witness_failures)
    return replace(report, ok=not problems, problems=problems, notes=notes, witnessed=witnessed)


def _compare(journal: Journal, facts: Facts, witness: Witness) -> tuple[list[str], str | None]:
    """Problems the witness shows, or else one line saying what it holds."""
    try:
        seen = witness.read(journal.name)
    except AdsuiteError as exc:
        return [f"the {witness.name} cannot be read: {exc}"], None
    if seen is None:
        return [], f"{witness.name}: no head for this journal yet (it is written now)"
    found = journal.compare(facts, seen, witness.name)
    return found, None if found else f"{witness.name}: head {seen.seq} of {facts.last_seq}, matches"


def unverified_runs(path: Path, guard: Guard) -> tuple[dict[str, str], list[str]]:
    """Which runs hold entries the chain or its MACs do not verify, each with the first
    problem; and the problems no run can be named for. Only the file is read (with the
    guard's key, else the one the file names): no witness is asked."""
    with Journal(connect_readonly(path), path, Guard(key=guard.key)) as journal:
        problems = journal.verify().problems
    runs: dict[str, str] = {}
    unplaced: list[str] = []
    conn = connect_readonly(path)
    try:
        for problem in problems:
            span = _span(problem)
            named = _runs_between(conn, *span) if span else []
            for run_id in named:
                runs.setdefault(run_id, problem)
            if not named:
                unplaced.append(problem)
    finally:
        conn.close()
    return runs, unplaced


def _span(problem: str) -> tuple[int, int] | None:
    found = _SEQS.match(problem)
    if found:
        return int(found[1]), int(found[2] or found[1])
    since = _FROM.match(problem)
    return (int(since[1]), 2**62) if since else None


def _runs_between(conn: sqlite3.Connection, first: int, last: int) -> list[str]:
    return [str(row[0]) for row in conn.execute(_RUNS_BETWEEN, (first, last))]
