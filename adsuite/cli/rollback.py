"""`adsuite rollback RUN_ID`: plan the reverse of a journaled run, show it, apply it."""

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
    wait_option,
)
from adsuite.engine.session import Session
from adsuite.errors import EXIT_ERROR, InputError


@click.command()
@click.argument("run_id")
@inventory_option
@click.option("--domain", help="Inventory domain key, when the inventory has several.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option("--ticket", metavar="ID", help="Change ticket that authorises the rollback.")
@wait_option
@format_option()
@click.pass_context
def rollback(
    ctx: click.Context,
    run_id: str,
    inventory: Path | None,
    domain: str | None,
    yes: bool,
    ticket: str | None,
    wait: float,
    fmt: str,
) -> None:
    """Undo a run from its before-images. Objects changed since then are left alone.

    Exit status: 0 everything rolled back, 1 something left alone or failed, or an error.
    """
    if fmt == "json" and not yes:
        raise InputError("--format json needs --yes: there is no one to ask")
    inv = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    session = Session.for_inventory(inv, domain)
    source = f"journal run {run_id}"
    with session.connect(wait=wait, notice=notice) as conn:
        undo = session.rollback_plan(run_id, conn, Bar())
        if fmt == "text":
            out.print(render.plan_text(undo.plan, source))
        for target in undo.moved_on:
            err.print(f"[yellow]LEFT ALONE: {escape(target)} changed since run {run_id}[/yellow]")
        for reason in undo.unsupported:  # reasons quote "[System Access]" and the like
            err.print(f"[yellow]NOT ROLLED BACK: {escape(reason)}[/yellow]")
        if not undo.plan.empty and not yes:
            if not sys.stdin.isatty():
                raise InputError("refusing to roll back without confirmation: pass --yes")
            click.confirm("Apply this rollback?", abort=True, err=True)
        extra = {"rolls_back": run_id}
        result = session.apply(undo.plan, conn, ticket=ticket, extra=extra, mode="rollback")
    for line in render.outcome_lines(result):
        err.print(f"[red]{escape(line)}[/red]")
    if fmt == "json":
        doc = render.applied_doc(undo.plan, result, source, "rollback")
        emit_json(
            doc
            | {"rolls_back": run_id, "left_alone": list(undo.moved_on)}
            | {"not_rolled_back": list(undo.unsupported)}
        )
    else:
        out.print(render.apply_summary(result))
    complete = result.status == "ok" and not undo.moved_on and not undo.unsupported
    ctx.exit(0 if complete else EXIT_ERROR)
