"""`adsuite journal show|verify|export`: read the change journal (reads are journaled too)."""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from adsuite.cli.console import out
from adsuite.cli.handover import write_output
from adsuite.journal.paths import default_journal_path
from adsuite.journal.records import ChangeRecord, RunRecord
from adsuite.journal.store import Journal

journal_option = click.option(
    "--journal", "path", type=click.Path(path_type=Path), help="Journal file [env ADSUITE_JOURNAL]."
)
ticket_option = click.option(
    "--ticket", metavar="ID", help="Ticket that authorises this read (recorded)."
)


@click.group()
def journal() -> None:
    """The append-only, hash-chained record of every run and change."""


@journal.command()
@journal_option
@ticket_option
@click.option("--run", "run_id", metavar="ID", help="Show the changes of one run.")
@click.option("--limit", default=20, show_default=True, help="How many recent runs to list.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def show(path: Path | None, ticket: str | None, run_id: str | None, limit: int, fmt: str) -> None:
    """List recent runs, or the changes of one run."""
    with Journal.open(path or default_journal_path()) as store:
        what = f"journal show {run_id or f'last {limit}'}"
        store.record_access(who=getpass.getuser(), what=what, ticket=ticket)
        if run_id:
            _show_run(store.run(run_id), store.changes(run_id), fmt)
        else:
            _show_runs(store.runs(limit), fmt)


def _show_run(run: RunRecord, changes: list[ChangeRecord], fmt: str) -> None:
    if fmt == "json":
        doc = {"run": asdict(run), "changes": [asdict(c) for c in changes]}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    who = f"{run.operator.get('os_user')} as {run.operator.get('bind_identity')}"
    out.print(f"Run {run.id}: {run.mode} by {who}, {run.status}")
    out.print(f"  playbook {run.playbook} (sha256 {run.playbook_sha256})")
    out.print(f"  ticket {run.ticket or '-'}, started {run.started}, ended {run.ended or '-'}")
    table = Table("#", "outcome", "action", "kind", "target", "error")
    for c in changes:
        table.add_row(str(c.change_no), c.outcome, c.action, c.resource, c.target, c.error or "")
    out.print(table)


def _show_runs(runs: list[RunRecord], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([asdict(r) for r in runs], ensure_ascii=False, indent=2))
        return
    table = Table("run", "started", "mode", "status", "operator", "ticket", "counts")
    for r in runs:
        counts = ", ".join(f"{k} {v}" for k, v in r.counts.items() if v)
        user = r.operator.get("os_user", "")
        table.add_row(r.id, r.started[:19], r.mode, r.status, user, r.ticket or "", counts)
    out.print(table)


@journal.command()
@journal_option
def verify(path: Path | None) -> None:
    """Check the hash chain: find any edited, inserted or deleted entry. Exit 1 if broken."""
    with Journal.open(path or default_journal_path()) as store:
        report = store.verify()
        seq, digest = store.head()
    for problem in report.problems:
        click.echo(f"BROKEN: {problem}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if not report.ok:
        raise click.exceptions.Exit(1)
    click.echo(f"Journal intact: {report.entries_checked} entries, head {seq} {digest}")


@journal.command()
@journal_option
@ticket_option
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option("--run", "run_id", metavar="ID", help="Export one run only.")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write to a file instead of stdout."
)
def export(
    path: Path | None, ticket: str | None, fmt: str, run_id: str | None, output: Path | None
) -> None:
    """Export runs and changes with before and after images."""
    with Journal.open(path or default_journal_path()) as store:
        store.record_access(
            who=getpass.getuser(), what=f"journal export {fmt} {run_id or 'all'}", ticket=ticket
        )
        text = store.export(fmt, run_id)
    if output:
        write_output(output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"))
