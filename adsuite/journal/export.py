"""Exporting runs and their changes: JSON (runs with changes) or CSV (one row per change).

Values are written as recorded: the CSV does not defuse cells that a spreadsheet
would read as formulas (a target or an error text starting with ``=``); treat the
file as data and import it, do not open it with formulas enabled.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from adsuite.errors import JournalError
from adsuite.journal.records import ChangeRecord, RunRecord

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("json", "csv")

RunWithChanges = tuple[RunRecord, list[ChangeRecord]]

CSV_COLUMNS = (
    "run_id",
    "run_started",
    "run_ended",
    "run_mode",
    "run_status",
    "os_user",
    "bind_identity",
    "playbook",
    "playbook_sha256",
    "inventory",
    "ticket",
    "change_no",
    "resource",
    "target",
    "action",
    "before",
    "after",
    "outcome",
    "error",
    "intent_at",
    "outcome_at",
)


def check_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        known = ", ".join(EXPORT_FORMATS)
        raise JournalError(f"unknown export format {fmt!r}; choose one of {known}")


def render(fmt: str, runs: Sequence[RunWithChanges]) -> str:
    """The runs in format ``fmt`` (``json`` or ``csv``)."""
    check_format(fmt)
    return to_json(runs) if fmt == "json" else to_csv(runs)


def to_json(runs: Sequence[RunWithChanges]) -> str:
    """A JSON list of runs, each with a ``changes`` list."""
    document = [{**asdict(run), "changes": [asdict(c) for c in changes]} for run, changes in runs]
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def to_csv(runs: Sequence[RunWithChanges]) -> str:
    """CSV with a header and one row per change, each repeating its run's columns."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for run, changes in runs:
        for change in changes:
            writer.writerow(_csv_row(run, change))
    return out.getvalue()


def _csv_row(run: RunRecord, change: ChangeRecord) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "run_started": run.started,
        "run_ended": run.ended or "",
        "run_mode": run.mode,
        "run_status": run.status,
        "os_user": run.operator.get("os_user", ""),
        "bind_identity": run.operator.get("bind_identity", ""),
        "playbook": run.playbook or "",
        "playbook_sha256": run.playbook_sha256 or "",
        "inventory": run.inventory or "",
        "ticket": run.ticket or "",
        "change_no": change.change_no,
        "resource": change.resource,
        "target": change.target,
        "action": change.action,
        "before": _json_cell(change.before),
        "after": _json_cell(change.after),
        "outcome": change.outcome,
        "error": change.error or "",
        "intent_at": change.intent_at,
        "outcome_at": change.outcome_at or "",
    }


def _json_cell(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
