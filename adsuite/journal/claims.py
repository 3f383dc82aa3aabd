"""When a ticket may not be carried out again: the rule a ``ticket_claim`` enforces.

A run of a ticket claims its id in the transaction that starts it, so of two runs of
one ticket only one gets past :func:`check`. An earlier run that ended ``ok`` carried
the ticket out; one still running, or interrupted with changes whose outcome nobody
knows, holds it. An earlier run that ended failed or in a conflict did not carry it
out: the ticket may be run again (its plan is made from the directory as it is now).
"""

from __future__ import annotations

import logging

from adsuite.errors import InputError
from adsuite.journal.records import STATUS_INCOMPLETE, STATUS_RUNNING, RunRecord

log = logging.getLogger(__name__)

_HOLDS = {
    "ok": "was already carried out",
    STATUS_RUNNING: "is being carried out",
    STATUS_INCOMPLETE: "was interrupted with changes whose outcome is unknown",
}


def check(ticket: str | None, runs: list[tuple[RunRecord, bool]]) -> None:
    """Refuse (InputError naming the earlier run) when *runs* show *ticket* taken."""
    if not ticket:
        raise InputError("a ticket claim needs a ticket id")
    for run, claimed in runs:  # newest first
        counts = claimed or (run.mode == "apply" and run.status == "ok")
        if counts and run.status in _HOLDS:
            raise InputError(
                f"ticket {ticket} {_HOLDS[run.status]} (journal run {run.id}, {run.started}); "
                "a ticket runs once"
            )
