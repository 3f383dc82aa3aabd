"""`adsuite admin acknowledge`: a logon finding (五.6) explained on a ticket, journaled.

A finding of a logon collection (an unrecorded or failed logon of a super-administrator
account) stays open — the compliance report's 五.6 is drift, naming it — until a run of
mode ``acknowledge`` names its id with a ticket and a reason. Ids are the stable ones
the collection journaled (account, client endpoint and time of the logon). An id no
collection journaled, or one already acknowledged, is refused before anything is written.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from adsuite.errors import InputError
from adsuite.journal.proofs import (
    ACK_MODE,
    FINDINGS_RESOURCE,
    USAGE_MODE,
    acknowledged,
    recorded_findings,
)
from adsuite.journal.store import Journal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Acknowledged:
    run_id: str
    findings: tuple[str, ...]


def acknowledge(
    journal_path: Path, ids: Sequence[str], ticket: str, reason: str, inventory: str
) -> Acknowledged:
    """Journal one ``acknowledge`` run naming *ids*; InputError if one is not open."""
    if not ticket.strip() or not reason.strip():
        raise InputError("acknowledging a finding needs a ticket and a reason")
    wanted = tuple(dict.fromkeys(i.strip() for i in ids))
    with Journal.open(journal_path) as journal:
        runs = journal.runs()
        usage = [r for r in runs if r.mode == USAGE_MODE]
        changes = [
            c for r in usage for c in journal.changes(r.id) if c.resource == FINDINGS_RESOURCE
        ]
        known, done = recorded_findings(runs, changes), acknowledged(runs)
        for finding in wanted:
            if finding not in known:
                raise InputError(f"no logon collection in the journal found {finding}")
            if finding in done:
                raise InputError(
                    f"{finding} was already acknowledged (journal run {done[finding].id}, "
                    f"ticket {done[finding].ticket})"
                )
        run_id = journal.start_run(
            mode=ACK_MODE,
            operator={"os_user": getpass.getuser()},
            inventory=inventory,
            ticket=ticket,
            extra={"findings": list(wanted), "reason": reason},
        )
        journal.finish_run(run_id, status="ok", counts={"acknowledged": len(wanted)})
    return Acknowledged(run_id, wanted)
