"""The changes made outside adsuite in one calendar month, for the monthly report (四.5).

`adsuite audit changes` (:func:`adsuite.audit.run.outside_changes`) over the
month: every change to a managed object or folder that no journaled adsuite run made,
read from the DCs' (and file servers') own logs. What cannot be read is said in a note,
never skipped: the report still lists adsuite's own changes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from adsuite.audit import attribution as auditlib
from adsuite.audit.run import Row, outside_changes
from adsuite.engine.session import Session
from adsuite.errors import AdsuiteError
from adsuite.journal.store import Journal

log = logging.getLogger(__name__)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``2026-11`` → (its first moment, the next month's first moment), UTC."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def outside_in_month(
    inventory_path: Path, journal_path: Path, month: str
) -> tuple[list[Row], list[str]]:
    """(changes made outside adsuite in *month*, notes on what could not be read)."""
    session = Session.for_inventory(inventory_path, journal_path=journal_path)
    domain = session.domain
    if not any(dc.samba_audit_dir or dc.winrm_host for dc in domain.dcs.values()):
        return [], ["unknown: no DC in the inventory has samba_audit_dir or winrm_host"]
    start, end = month_bounds(month)
    with Journal.open(journal_path) as journal:
        runs = [r for r in journal.runs() if r.mode in auditlib.WRITING_MODES]
        recorded = [c for r in runs for c in journal.changes(r.id)]
    try:
        with session.connect(write=False) as conn:
            report = outside_changes(domain, conn, start, recorded, min(end, datetime.now(UTC)))
    except AdsuiteError as error:
        return [], [f"unknown: the change logs were not read: {error}"]
    rows = [r for r in report.rows if start <= r.time < end]
    return rows, [*report.problems, *report.notes]
