"""`adsuite journal show|verify|export`: read the change journal (reads are journaled too)."""

from __future__ import annotations

import getpass
from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from adsuite.cli.console import default_path, emit_json, format_option, inventory_option, out
from adsuite.cli.handover import write_output
from adsuite.engine.journal_guard import DIRECTORY, FILE, MAC_KEY, guard_from
from adsuite.errors import InputError, JournalError
from adsuite.journal.check import check_journal, unverified_runs
from adsuite.journal.paths import default_journal_path
from adsuite.journal.records import ChangeRecord, RunRecord, VerifyReport
from adsuite.journal.schema import connect_readonly
from adsuite.journal.store import Journal
from adsuite.journal.witness import Guard
from adsuite.runtime import logins
from adsuite.runtime.inventory import load_inventory

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
@format_option()
@inventory_option
def show(
    path: Path | None,
    ticket: str | None,
    run_id: str | None,
    limit: int,
    fmt: str,
    inventory: Path | None,
) -> None:
    """List recent runs, or the changes of one run.

    Each shown run is checked against the chain and its MACs (the inventory's
    `journal_guard` key, else the one the file names): a run with entries that do not
    verify is shown UNVERIFIED and a warning names `adsuite journal verify`. A missing
    journal is reported, never created.

    Exit status: 0 shown and verified, 1 a shown run does not verify, or an error.
    """
    guard, journal_path = _guard(inventory, path)
    _require_file(journal_path)
    unverified, unplaced = unverified_runs(journal_path, guard)
    with Journal.open(journal_path, guard=Guard(key=guard.key)) as store:
        what = f"journal show {run_id or f'last {limit}'}"
        store.record_access(who=getpass.getuser(), what=what, ticket=ticket)
        if run_id:
            _show_run(store.run(run_id), store.changes(run_id), fmt, unverified)
            shown = [run_id]
        else:
            runs = store.runs(limit)
            _show_runs(runs, fmt, unverified)
            shown = [r.id for r in runs]
    bad = [r for r in shown if r in unverified]
    if bad or unplaced:
        named = f"{len(bad)} run(s) shown" if bad else "the journal"
        click.echo(
            f"warning: {named} hold entries that do not verify (forged, edited or rebuilt):"
            " run `adsuite journal verify`",
            err=True,
        )
        raise click.exceptions.Exit(1)


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise JournalError(f"no journal file at {path} (--journal or ADSUITE_JOURNAL)")


def _status(run: RunRecord, unverified: dict[str, str]) -> str:
    return f"{run.status} (UNVERIFIED)" if run.id in unverified else run.status


def _show_run(
    run: RunRecord, changes: list[ChangeRecord], fmt: str, unverified: dict[str, str]
) -> None:
    if fmt == "json":
        doc = {
            "run": asdict(run),
            "changes": [asdict(c) for c in changes],
            "unverified": unverified.get(run.id),
        }
        emit_json(doc)
        return
    who = f"{run.operator.get('os_user')} as {run.operator.get('bind_identity')}"
    out.print(f"Run {run.id}: {run.mode} by {who}, {_status(run, unverified)}")
    if run.id in unverified:
        out.print(f"  UNVERIFIED: {unverified[run.id]}")
    out.print(f"  playbook {run.playbook} (sha256 {run.playbook_sha256})")
    out.print(f"  ticket {run.ticket or '-'}, started {run.started}, ended {run.ended or '-'}")
    table = Table("#", "outcome", "action", "kind", "target", "error")
    for c in changes:
        table.add_row(str(c.change_no), c.outcome, c.action, c.resource, c.target, c.error or "")
    out.print(table)


def _show_runs(runs: list[RunRecord], fmt: str, unverified: dict[str, str]) -> None:
    if fmt == "json":
        emit_json({"runs": [{**asdict(r), "unverified": unverified.get(r.id)} for r in runs]})
        return
    table = Table("run", "started", "mode", "status", "operator", "ticket", "counts")
    for r in runs:
        counts = ", ".join(f"{k} {v}" for k, v in r.counts.items() if v)
        user = r.operator.get("os_user", "")
        status = _status(r, unverified)
        table.add_row(r.id, r.started[:19], r.mode, status, user, r.ticket or "", counts)
    out.print(table)


@journal.command()
@journal_option
@inventory_option
@format_option()
def verify(path: Path | None, inventory: Path | None, fmt: str) -> None:
    """Check the chain, its MACs and every witness of the head.

    The inventory's `journal_guard` names the MAC key and the witnesses; without one
    only the chain is checked and the missing protections are named. The file is
    opened read-only: a missing journal is reported, never recreated.

    Exit status: 0 verified, 1 anything missing or forged, or an error.
    """
    guard, journal_path = _guard(inventory, path)
    report = check_journal(journal_path, guard)
    if fmt == "json":
        _verify_json(journal_path, guard, report)
        return
    for problem in report.problems:
        click.echo(f"BROKEN: {problem}", err=True)
    for line in report.witnessed:
        click.echo(f"witness: {line}")
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for absent in guard.absent:
        click.echo(
            f"warning: no {absent} in the inventory's journal_guard: {_RISK[absent]}", err=True
        )
    if not report.ok:
        raise click.exceptions.Exit(1)
    if report.mac_since is not None:
        click.echo(f"MACs: entries {report.mac_since}–{report.entries_checked} verify with the key")
    with Journal(connect_readonly(journal_path), journal_path, guard) as store:
        seq, digest = store.head()
    click.echo(f"Journal intact: {report.entries_checked} entries, head {seq} {digest}")


def _verify_json(journal_path: Path, guard: Guard, report: VerifyReport) -> None:
    head = None
    if report.ok:
        with Journal(connect_readonly(journal_path), journal_path, guard) as store:
            seq, digest = store.head()
        head = {"seq": seq, "hash": digest}
    missing = {absent: _RISK[absent] for absent in guard.absent}
    emit_json(
        {
            "journal": str(journal_path),
            "intact": report.ok,
            "entries": report.entries_checked,
            "head": head,
            "mac_since": report.mac_since,
            "problems": list(report.problems),
            "witnessed": list(report.witnessed),
            "notes": list(report.notes),
            "missing_protections": missing,
        }
    )
    if not report.ok:
        raise click.exceptions.Exit(1)


_RISK = {
    MAC_KEY: "rows forged with recomputed hashes are not detected",
    DIRECTORY: "a truncated tail, removed runs or a deleted file are not detected",
    FILE: "no second, append-only record of the heads",
}


def _guard(inventory: Path | None, path: Path | None) -> tuple[Guard, Path]:
    """The inventory's guard and journal path; no guard when no inventory can be found."""
    try:
        inventory_path = default_path(
            inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory"
        )
    except InputError:
        return Guard(absent=(MAC_KEY, DIRECTORY, FILE)), path or default_journal_path()
    loaded = load_inventory(inventory_path)
    # the directory witness binds as the domain's credential: a password or a ticket
    guard = guard_from(loaded, lambda name: logins.login(loaded, name))
    return guard, path or default_journal_path(loaded.journal)


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
    """Export runs and changes with before and after images. A missing journal is
    reported, never created.

    Exit status: 0 exported, 1 error."""
    journal_path = path or default_journal_path()
    _require_file(journal_path)
    with Journal.open(journal_path) as store:
        store.record_access(
            who=getpass.getuser(), what=f"journal export {fmt} {run_id or 'all'}", ticket=ticket
        )
        text = store.export(fmt, run_id)
    if output:
        write_output(output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"))


from adsuite.cli.follow import follow  # noqa: E402  (it uses _guard above)

journal.add_command(follow)
