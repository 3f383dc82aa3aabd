"""Apply: run exactly the planned changes, journaling intent before and outcome after.

Before each change the target is read again; if it no longer matches what the plan
saw, the change is recorded as ``conflict`` and nothing is written to it. A create
whose first write adds the target is checked by that add instead (it fails if the
target exists; only then is the target read, to tell a conflict from another refusal).
Changes are journaled in batches (:data:`BATCH`): every intent of a batch is committed
before its first write is sent, the outcomes after its last. After a
failure or a conflict apply goes on with every change that does not depend on it
(engine/dependencies.py); those that do are recorded as ``skipped`` with the reason
naming the change they depend on. A lost connection to the DC skips everything after
it: the DC is gone, so every later write would fail the same way. A failure is
one line in the journal and for the CLI to show (the DC closed the connection, access
denied...); it is logged at info level, so the user does not read it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adsuite.engine import protocols
from adsuite.engine.dependencies import Dependencies, Failure
from adsuite.errors import AdsuiteError, ConflictError, ConnectionLost, DirectoryError
from adsuite.formats import dn as dnlib
from adsuite.journal.store import Intent, Journal
from adsuite.resources.base import Change, Expect, LdapWrite
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)

_ENTRY_ALREADY_EXISTS = 68
Checker = Callable[[Connections, str, Any], None]


@dataclass(frozen=True)
class Outcome:
    change: Change
    outcome: str  # applied | failed | conflict | skipped
    error: str | None = None
    lost: bool = False  # the connection to the DC broke here (or before this skipped one)


BATCH = 50  # changes per journal commit: intents before their writes, outcomes after


def apply_changes(
    changes: tuple[Change, ...],
    conn: Connections,
    journal: Journal,
    run_id: str,
    progress: Progress,
) -> list[Outcome]:
    """Apply *changes* in order, in batches: the batch's intents are committed (one sync)
    before any of its writes is sent, its outcomes in one commit after its last write.
    A crash mid-batch leaves intents with no outcome, whose writes may or may not have
    been sent: the next writing run names them (engine/session.py warn_pending)."""
    run = _Run(conn, journal, run_id, progress)
    progress.start("applying", len(changes))
    for first in range(0, len(changes), BATCH):
        run.batch(changes[first : first + BATCH])
    progress.finish()
    return run.outcomes


class _Run:
    """What one apply has done so far: outcomes, failures, and the change the DC went
    away at."""

    def __init__(self, conn: Connections, journal: Journal, run_id: str, progress: Progress):
        self.conn, self.journal, self.run_id, self.progress = conn, journal, run_id, progress
        self.outcomes: list[Outcome] = []
        self.failed = Dependencies()
        self.lost: Failure | None = None  # the change at which the DC went away

    def batch(self, changes: tuple[Change, ...]) -> None:
        via = self.conn.ldap.client
        intents = [Intent(c.kind, c.target, str(c.action), c.before, c.after, via) for c in changes]
        numbers = self.journal.record_intents(self.run_id, intents)
        done: list[tuple[int, str, str | None]] = []
        sending = 0  # 1 while a change's writes may be on their way
        try:
            for number, change in zip(numbers, changes, strict=True):
                sending = 1
                outcome = self.one(number, change)
                done.append((number, outcome.outcome, outcome.error))
                sending = 0
                self.outcomes.append(outcome)
                self.progress.advance()  # may stop the run (a lost lease): after the outcome
        finally:
            # Whatever stopped the batch, no intent is left claiming a write never sent;
            # one stopped while sending stays pending: nobody knows whether it arrived.
            unsent = numbers[len(done) + sending :]
            done += [(n, "skipped", "not attempted: the run stopped") for n in unsent]
            self.journal.record_outcomes(self.run_id, done)

    def one(self, number: int, change: Change) -> Outcome:
        blocker = self.lost or self.failed.blocker(change)
        if blocker is not None:
            gone = self.lost is not None
            self.failed.fail(change, blocker)
            return Outcome(change, "skipped", _skip_reason(blocker, gone), lost=gone)
        outcome = _apply_one(change, self.conn)
        if outcome.outcome in ("failed", "conflict"):
            failure = Failure(number, change, outcome.outcome)
            self.failed.fail(change, failure)
            if outcome.lost:
                self.lost = failure
        return outcome


def _the_add_checks(change: Change) -> bool:
    """True for a create whose first write adds the target: the add itself fails if the
    target exists (entryAlreadyExists), so no read before it is needed."""
    expect, writes = change.expect, change.writes
    return (
        isinstance(expect, Expect)
        and expect.exists is False
        and not (expect.raw or expect.has_dns or expect.lacks_dns)
        and bool(writes)
        and isinstance(writes[0], LdapWrite)
        and writes[0].op == "add"
        and dnlib.key(writes[0].dn) == dnlib.key(change.target)
    )


def _add_or_conflict(change: Change, conn: Connections, check: Checker) -> None:
    """The add; refused as existing, the target is read as the check before would have
    (someone created it: a conflict), else the refusal stands (e.g. a name in use)."""
    try:
        protocols.WRITERS[LdapWrite](conn, change.writes[0])
    except DirectoryError as error:
        if error.code != _ENTRY_ALREADY_EXISTS:
            raise
        check(conn, change.target, change.expect)
        raise


def _skip_reason(blocker: Failure, lost: bool) -> str:
    if lost:
        where = f"{blocker.change.kind} {blocker.change.target}"
        return f"the connection to the DC was lost at change {blocker.number} ({where})"
    return blocker.reason()


def _apply_one(change: Change, conn: Connections) -> Outcome:
    check, by_add = protocols.CHECKERS[type(change.expect)], _the_add_checks(change)
    try:
        if by_add:
            _add_or_conflict(change, conn, check)
        else:
            check(conn, change.target, change.expect)
        for write in change.writes[1 if by_add else 0 :]:
            protocols.WRITERS[type(write)](conn, write)
    except ConflictError as error:
        log.info("conflict on %s: %s", change.target, error)
        return Outcome(change, "conflict", str(error))
    except ConnectionLost as error:  # the DC is gone: the rest is skipped, not attempted
        log.info("failed on %s: %s", change.target, error)
        return Outcome(change, "failed", str(error), lost=True)
    except AdsuiteError as error:  # the directory, a file server or a host refused
        log.info("failed on %s: %s", change.target, error)
        return Outcome(change, "failed", str(error))
    except Exception as error:  # a bug must still leave a recorded outcome, not a gap
        log.debug("internal error on %s", change.target, exc_info=True)  # -vv shows it
        return Outcome(change, "failed", f"internal error: {type(error).__name__}")
    return Outcome(change, "applied")
