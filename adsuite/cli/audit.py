"""`adsuite audit changes`: changes to managed objects and folders that no adsuite run made."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import click

from adsuite.audit import attribution as auditlib
from adsuite.audit.run import AuditReport, outside_changes
from adsuite.cli.console import default_path, emit_json, format_option, inventory_option, out
from adsuite.engine.session import Session
from adsuite.errors import EXIT_DRIFT, EXIT_ERROR, InputError
from adsuite.journal.store import Journal


@click.group()
def audit() -> None:
    """Evidence from the domain controllers' own logs."""


def parse_since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--since {text!r}: use a date or time like 2026-11-01 or 2026-11-01T08:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit.command()
@inventory_option
@click.option("--since", required=True, metavar="TIME", help="ISO date or time (UTC unless given).")
@click.option("--ticket", metavar="ID", help="Ticket that authorises reading the logs (recorded).")
@format_option()
@click.pass_context
def changes(
    ctx: click.Context, inventory: Path | None, since: str, ticket: str | None, fmt: str
) -> None:
    """List changes to managed objects and folders made outside adsuite, and who made them.

    Reads Samba DCs' JSON audit logs, Windows DCs' and file servers' Security logs (over
    WinRM).

    Exit status: 0 no change made outside adsuite, 2 changes listed, 1 a log could not be
    read, or an error.
    """
    start = parse_since(since)
    session = Session.for_inventory(
        default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    )
    with Journal.open(session.journal_path) as journal:
        journal.record_access(
            who=getpass.getuser(), what=f"audit changes since {since}", ticket=ticket
        )
        runs = [r for r in journal.runs() if r.mode in auditlib.WRITING_MODES]
        recorded = [c for r in runs for c in journal.changes(r.id)]
    with session.connect(write=False) as conn:
        report = outside_changes(session.domain, conn, start, recorded, datetime.now(UTC))
    if fmt == "json":
        emit_json(
            {
                "since": report.since.isoformat(timespec="seconds"),
                "changes": [r.to_dict() for r in report.rows],
                "notes": list(report.notes),
                "problems": list(report.problems),
            }
        )
        for line in [*report.notes, *report.problems]:
            click.echo(line, err=True)
    else:
        show(report)
    ctx.exit(EXIT_DRIFT if report.rows else EXIT_ERROR if report.problems else 0)


def show(report: AuditReport) -> None:
    for row in report.rows:
        attrs = ", ".join(row.attributes) or "-"
        detail = f" ({row.detail})" if row.detail else ""
        who = f"by {row.by} from {row.remote or 'unknown'} (logged by {row.source})"
        line = f"{row.time.isoformat(timespec='seconds')}  {row.operation:<7} {row.object}"
        out.print(f"{line}  [{attrs}]{detail}  {who}", markup=False)
    for line in [*report.notes, *report.problems]:
        out.print(line, markup=False)
    out.print(
        f"{len(report.rows)} change(s) outside adsuite since "
        f"{report.since.isoformat(timespec='seconds')}."
    )
