"""Apply: run exactly the planned changes, journaling intent before and outcome after.

Before each change the target is read again; if it no longer matches what the plan
saw, the change is recorded as ``conflict`` and nothing is written to it. After a
failure or a conflict apply goes on with every change that does not depend on it
(engine/dependencies.py); those that do are recorded as ``skipped`` with the reason
naming the change they depend on. A lost connection to the DC skips everything after
it: the DC is gone, so every later write would fail the same way. A failure is
one line in the journal and for the CLI to show (the DC closed the connection, access
denied...); it is logged at info level, so the user does not read it twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adsuite.engine import protocols
from adsuite.engine.dependencies import Dependencies, Failure
from adsuite.errors import AdsuiteError, ConflictError, ConnectionLost
from adsuite.journal.store import Journal
from adsuite.resources.base import Change
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    change: Change
    outcome: str  # applied | failed | conflict | skipped
    error: str | None = None
    lost: bool = False  # the connection to the DC broke here (or before this skipped one)


def apply_changes(
    changes: tuple[Change, ...],
    conn: Connections,
    journal: Journal,
    run_id: str,
    progress: Progress,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    lost: Failure | None
    failed, lost = Dependencies(), None  # lost: the change at which the DC went away
    progress.start("applying", len(changes))
    for change in changes:
        number = journal.record_intent(
            run_id,
            resource=change.kind,
            target=change.target,
            action=str(change.action),
            before=change.before,
            after=change.after,
            via=conn.ldap.client,
        )
        blocker = lost or failed.blocker(change)
        if blocker is not None:
            gone = lost is not None
            outcome = Outcome(change, "skipped", _skip_reason(blocker, gone), lost=gone)
            failed.fail(change, blocker)
        else:
            outcome = _apply_one(change, conn)
            if outcome.outcome in ("failed", "conflict"):
                failure = Failure(number, change, outcome.outcome)
                failed.fail(change, failure)
                if outcome.lost:
                    lost = failure
        journal.record_outcome(run_id, number, outcome.outcome, outcome.error)
        outcomes.append(outcome)
        progress.advance()
    progress.finish()
    return outcomes


def _skip_reason(blocker: Failure, lost: bool) -> str:
    if lost:
        where = f"{blocker.change.kind} {blocker.change.target}"
        return f"the connection to the DC was lost at change {blocker.number} ({where})"
    return blocker.reason()


def _apply_one(change: Change, conn: Connections) -> Outcome:
    try:
        protocols.CHECKERS[type(change.expect)](conn, change.target, change.expect)
        for write in change.writes:
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
