"""`adsuite plan`, `adsuite apply` and `adsuite drift`: the pipeline from the shell.

Exit codes: 0 success (drift: clean), 1 error, failure or conflict, 2 drift found.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from adsuite.cli import render
from adsuite.cli.console import (
    Bar,
    default_path,
    emit_json,
    err,
    format_option,
    inventory_option,
    notice,
    out,
    playbook_argument,
    wait_option,
)
from adsuite.cli.handover import write_output
from adsuite.engine import drift as driftlib
from adsuite.engine import gc_pause
from adsuite.engine.drift_snapshot import DEFAULT_MAX_AGE_HOURS
from adsuite.engine.session import Session, previous_findings
from adsuite.errors import EXIT_DRIFT, EXIT_ERROR, InputError
from adsuite.journal.records import RunRecord
from adsuite.journal.store import Journal


def _runs(session: Session) -> list[RunRecord]:
    """The journal's runs, for the drift page's history."""
    with Journal.open(session.journal_path) as journal:
        return journal.runs()


def _session(playbook: Path | None, inventory: Path | None, *, defer: bool = False) -> Session:
    playbook = default_path(playbook, "ADSUITE_PLAYBOOK", "playbooks/site.yml", "playbook")
    inventory = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    return Session.from_files(playbook, inventory, defer=defer)


@click.command()
@playbook_argument
@inventory_option
@format_option()
def plan(playbook: Path | None, inventory: Path | None, fmt: str) -> None:
    """Show what apply would change, and change nothing (a dry run).

    Exit status: 0 planned (changes or none), 1 error."""
    with gc_pause.paused():  # a large plan is millions of objects, none of them cyclic
        session = _session(playbook, inventory)
        with session.connect(write=False) as conn:
            result = session.plan(conn, Bar())
        name = str(session.playbook.path)
        if fmt == "json":
            emit_json(render.plan_doc(result, name, "plan", stream=True))
        else:
            out.print(render.plan_text(result, name))


@click.command()
@playbook_argument
@inventory_option
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option("--ticket", metavar="ID", help="Change ticket this run carries out (journaled).")
@wait_option
@format_option()
@click.pass_context
def apply(
    ctx: click.Context,
    playbook: Path | None,
    inventory: Path | None,
    yes: bool,
    ticket: str | None,
    wait: float,
    fmt: str,
) -> None:
    """Show the plan, ask, then apply exactly that plan and journal every change.

    Exit status: 0 applied (or nothing to do, or declined), 1 error, a failed change or a
    conflict."""
    if fmt == "json" and not yes:
        raise InputError("--format json needs --yes: there is no one to ask")
    session = _session(playbook, inventory)
    name = str(session.playbook.path)
    with session.connect(wait=wait, notice=notice) as conn:
        planned = session.plan(conn, Bar())
        if fmt == "text":
            out.print(render.plan_text(planned, name))
        if not planned.empty and not yes:
            if not sys.stdin.isatty():
                raise InputError(
                    "refusing to apply without confirmation: pass --yes when not at a terminal"
                )
            click.confirm("Apply these changes?", abort=True, err=True)
        result = session.apply(planned, conn, ticket=ticket, progress=Bar())
    for line in render.outcome_lines(result):
        err.print(f"[red]{escape(line)}[/red]")
    if fmt == "json":
        emit_json(render.applied_doc(planned, result, name, "apply"))
    else:
        out.print(render.apply_summary(result))
    ctx.exit(0 if result.status == "ok" else EXIT_ERROR)


@click.command()
@playbook_argument
@inventory_option
@format_option("junit", "html")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write the report to a file instead."
)
@click.option(
    "--compare",
    metavar="RUN|last",
    help="Compare with an earlier drift check (run id or 'last'); exit 2 only on new drift.",
)
@click.option(
    "--full", is_flag=True, help="Read everything again instead of what changed since the last."
)
@click.option(
    "--max-age",
    type=click.FloatRange(min=0),
    default=DEFAULT_MAX_AGE_HOURS,
    show_default=True,
    metavar="HOURS",
    help="Read everything again when the last full read is older than this.",
)
@click.pass_context
def drift(
    ctx: click.Context,
    playbook: Path | None,
    inventory: Path | None,
    fmt: str,
    output: Path | None,
    compare: str | None,
    full: bool,
    max_age: float,
) -> None:
    """Report what has moved away from the declared state.

    The directory is read incrementally: only what changed on the DC since the last
    drift check (its USN), merged with what that check read; see docs/drift.md.

    Exit status: 0 clean, 2 drift found, 1 error."""
    session = _session(playbook, inventory, defer=True)  # tasks loaded unless recalled
    previous = None
    if compare:
        previous = previous_findings(session.journal_path, compare, session.playbook.sha256)
        if previous is None:
            notice("no earlier drift check of this playbook in the journal: every finding is new")
            previous = []
    with session.connect(write=False) as conn:
        reader = session.snapshot_reader(conn, full=full, max_age_hours=max_age)
        if reader.warning is not None:
            notice(f"warning: {reader.warning}; reading the directory in full")
        result = session.check_drift(conn, reader, Bar())
        reading = reader.summary()
        run_id = session.record_drift(result, conn, reading)
    comparison = None
    if previous is not None:
        comparison = driftlib.compare(result.findings, previous)
    name = str(session.playbook.path)
    renderers = {
        "text": lambda: render.drift_text(result, name, comparison, reading),
        "json": lambda: render.drift_json(result, name, comparison, run_id, reading),
        "junit": lambda: render.drift_junit(result, name),
        "html": lambda: render.drift_html(
            result, name, [c.code for c in session.inventory.companies], _runs(session), run_id
        ),
    }
    report = renderers[fmt]()
    if output is not None:
        write_output(output, report)
        err.print(f"report written to {output} (journal run {run_id})")
    elif fmt == "text":
        out.print(report, markup=False)
    else:
        click.echo(report)
    found = comparison.new if comparison is not None else result.findings
    drifted = bool(driftlib.drifted(found))  # warnings are shown, never counted as drift
    ctx.exit(EXIT_DRIFT if drifted else 0)
