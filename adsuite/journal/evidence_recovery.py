"""Evidence for 四.5 from the journal: the newest DC backup and the last timed restore drill.

Pure functions over run records. A backup run (mode ``backup``) proves a backup only when
it ended ``ok``; a drill (mode ``restore_drill``) only when it passed (``ok``) and its
measured time to a working DC (``counts.milliseconds``) is under the target: a run's
existence alone proves nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from adsuite.journal.evidence import LIST_LIMIT, Line, Proof, Recent, when
from adsuite.journal.records import RunRecord

log = logging.getLogger(__name__)

BACKUP_MODE = "backup"
DRILL_MODE = "restore_drill"


def _duration(run: RunRecord) -> str:
    ms = run.counts.get("milliseconds")
    if ms is None:
        return "no working DC"
    return f"{ms / 1000:.1f} s to a working DC" if ms < 60_000 else f"{ms / 60_000:.1f} min"


def _drill_words(run: RunRecord) -> str:
    verdict = "passed" if run.status == "ok" else f"{run.status}"
    problems = run.counts.get("problems", 0)
    found = f", {problems} problems" if problems else ""
    return f"drill of {run.extra.get('backup', '?')}: {verdict}, {_duration(run)}{found}"


def restore_drill(runs: Sequence[RunRecord], what: str, recent: Recent, target_hours: int) -> Proof:
    """Met when the newest drill in the window passed in under *target_hours*."""
    drills = [r for r in runs if r.mode == DRILL_MODE and r.started >= recent.after]
    lines = tuple(Line(when(r.started), _drill_words(r), r.id) for r in drills)
    if not drills:
        summary = f"no restore drill in the {recent.hours} hours before this report"
        return Proof("restore_drill", what, summary, 0, met=False)
    latest = drills[0]
    ms = latest.counts.get("milliseconds")
    fast = ms is not None and ms < target_hours * 3_600_000
    met = latest.status == "ok" and fast
    verdict = "passed" if latest.status == "ok" else "FAILED"
    summary = (
        f"the latest {when(latest.started)}: {verdict}, {_duration(latest)} "
        f"against the {target_hours} h target"
    )
    if latest.status == "ok" and not fast:
        summary += ": too slow"
    return Proof("restore_drill", what, summary, len(drills), lines[:LIST_LIMIT], met)


def backups(runs: Sequence[RunRecord], what: str, now: datetime, within_hours: int | None) -> Proof:
    """Met when the newest successful backup is younger than *within_hours* (else the
    ``stale_after_hours`` that backup run journaled from the inventory)."""
    done = [r for r in runs if r.mode == BACKUP_MODE and r.status == "ok"]
    if not done:
        return Proof("backups", what, "no successful backup in the journal", 0, met=False)
    latest = done[0]
    hours = within_hours or int(latest.extra.get("stale_after_hours") or 26)
    age = now - datetime.fromisoformat(latest.started.replace("Z", "+00:00"))
    stale = age > timedelta(hours=hours)
    size = latest.counts.get("bytes", 0)
    lines = tuple(
        Line(
            when(r.started),
            f"backup of {r.extra.get('dc', '?')}: {r.counts.get('bytes', 0)} bytes",
            r.id,
        )
        for r in done[:LIST_LIMIT]
    )
    summary = (
        f"the newest {when(latest.started)} ({age.total_seconds() / 3600:.1f} h old, {size} bytes)"
        f"{': STALE, older than' if stale else ', within'} {hours} h"
    )
    return Proof("backups", what, summary, len(done), lines, not stale)
