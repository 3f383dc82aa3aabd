"""`adsuite recover`: bring back a deleted object and what was below it, from its tombstone
or the newest backup, with its attributes and group memberships (docs/recovery.md).

The plan is shown first; ``--dry-run`` stops there. Exit codes: 0 recovered (what could
not come back is named, not an error), 1 an error or a step the DC refused.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from adsuite.cli.console import (
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
from adsuite.recovery import recover as recoverlib
from adsuite.recovery.recover_plan import SOURCES, RecoveryPlan


@click.command()
@inventory_option
@click.option("--domain", help="Inventory domain key, when the inventory has several.")
@click.option("--dn", help="The DN the deleted object had.")
@click.option("--name", help="The deleted object's name (RDN value or sAMAccountName).")
@click.option(
    "--from",
    "source",
    type=click.Choice(SOURCES),
    default="auto",
    show_default=True,
    help="tombstone: reanimate only; backup: create anew from the newest backup; "
    "auto: reanimate what the DC kept, create the rest from the backup.",
)
@click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Recover without asking.")
@wait_option
@format_option()
@click.pass_context
def recover(
    ctx: click.Context,
    inventory: Path | None,
    domain: str | None,
    dn: str | None,
    name: str | None,
    source: str,
    dry_run: bool,
    yes: bool,
    wait: float,
    fmt: str,
) -> None:
    """Bring back a deleted object with what was below it, its attributes and memberships.

    Exit status: 0 recovered (what could not come back is named) or planned with
    --dry-run, 1 error or a step the DC refused."""
    if (dn is None) == (name is None):
        raise InputError("pass exactly one of --dn and --name")
    if fmt == "json" and not (yes or dry_run):
        raise InputError("--format json needs --yes or --dry-run: there is no one to ask")
    path = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    session = Session.for_inventory(path, domain)
    with session.connect(write=not dry_run, wait=wait, notice=notice) as conn:
        plan = recoverlib.make_plan(session, conn, dn, name, source)
        if fmt == "text":
            out.print(escape(plan_text(plan)))
        if dry_run:
            if fmt == "json":
                emit_json(plan_doc(plan) | {"dry_run": True})
            return
        if not yes:
            if not sys.stdin.isatty():
                raise InputError("refusing to recover without confirmation: pass --yes")
            click.confirm("Recover these objects?", abort=True, err=True)
        result = recoverlib.apply(session, conn, plan, _step)
    for line in result.failed:
        err.print(f"[red]{escape(line)}[/red]")
    if fmt == "json":
        doc = plan_doc(plan) | {"dry_run": False, "status": result.status,
                                "applied": result.applied, "failed": list(result.failed),
                                "refused": list(result.refused)}  # fmt: skip
        emit_json(doc, run_id=result.run_id)
    else:
        for line in result.refused:
            out.print(f"not restored: {escape(line)}")
        out.print(
            f"recover {result.status}: {result.applied} written (journal run {result.run_id})"
        )
    ctx.exit(0 if result.status == "ok" else EXIT_ERROR)


def _step(text: str) -> None:
    err.print(f"· {escape(text)}")


def plan_text(plan: RecoveryPlan) -> str:
    lines = [f"recover {plan.target}", f"backup: {plan.backup or 'none'}"]
    for obj in plan.objects:
        what = f"{obj.kind} {obj.dn}"
        if obj.tombstone_dn:
            lines.append(f"  reanimate: {what} (objectGUID {obj.guid})")
            lines.append(f"    from the tombstone: {', '.join(obj.kept) or '(nothing else)'}")
        else:
            lines.append(f"  create from the backup: {what} (was objectGUID {obj.guid})")
        source = f"from the {obj.restored_from}:".ljust(20)
        lines.append(f"    {source}{', '.join(sorted(obj.restored)) or '(nothing)'}")
        lines += [f"    not recoverable:    {lost}" for lost in obj.lost]
    if plan.memberships:
        lines.append("  memberships (from the backup):")
        lines += [f"    + {m.member} in {m.group}" for m in plan.memberships]
    lines += [f"  not recoverable: {lost}" for lost in plan.lost]
    return "\n".join(lines)


def plan_doc(plan: RecoveryPlan) -> dict[str, Any]:
    objects = [
        {
            "dn": obj.dn,
            "kind": obj.kind,
            "action": "reanimate" if obj.tombstone_dn else "create",
            "objectGUID": obj.guid,
            "tombstone": obj.tombstone_dn,
            "from_tombstone": list(obj.kept),
            "restored_from": obj.restored_from,
            "restored": recoverlib.printable(obj.restored),
            "not_recoverable": list(obj.lost),
        }
        for obj in plan.objects
    ]
    memberships = [{"group": m.group, "member": m.member} for m in plan.memberships]
    return {"target": plan.target, "backup": plan.backup, "objects": objects,
            "memberships": memberships, "not_recoverable": list(plan.lost)}  # fmt: skip
