"""`adsuite ticket check|apply`: change tickets whose approvals are checked first.

A ticket is validated completely — its form, type and parameters, its approvals and
confirmations against the approval rules, and the directory facts it relies on —
before its plan is shown; only then is it applied and journaled.

Exit codes: 0 valid (check) or applied (apply), 1 invalid ticket, failure or conflict.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

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
from adsuite.cli.handover import password_destination, reserved
from adsuite.errors import EXIT_ERROR, InputError
from adsuite.tickets.delivery import PasswordFile
from adsuite.tickets.runner import (
    DEFAULT_RULES,
    Checked,
    TicketPlan,
    TicketResult,
    TicketRunner,
    check_offline,
)

ticket_argument = click.argument("file", type=click.Path(path_type=Path))
rules_option = click.option(
    "--rules",
    type=click.Path(path_type=Path),
    help=f"Approval rules [env ADSUITE_APPROVALS, else {DEFAULT_RULES}].",
)
playbook_option = click.option(
    "--playbook",
    type=click.Path(path_type=Path),
    help="The file-server playbook a permission_change ticket's folder is declared in "
    "[env ADSUITE_FILESERVER_PLAYBOOK, else playbooks/fileserver_audit.yml].",
)


def _checked(
    file: Path, inventory: Path | None, rules: Path | None, playbook: Path | None
) -> Checked:
    inventory = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    rules = default_path(rules, "ADSUITE_APPROVALS", DEFAULT_RULES, "approval rules file")
    return check_offline(file, inventory, rules, playbook=playbook)


@click.group()
def ticket() -> None:
    """Carry out change tickets (accounts, devices, file-server permissions)."""


@ticket.command()
@ticket_argument
@inventory_option
@rules_option
@playbook_option
@click.option("--offline", is_flag=True, help="Do not read the directory (no plan).")
@format_option()
def check(
    file: Path,
    inventory: Path | None,
    rules: Path | None,
    playbook: Path | None,
    offline: bool,
    fmt: str,
) -> None:
    """Validate a ticket completely and show its plan; change nothing.

    Exit status: 0 valid, 1 invalid or an error."""
    checked = _checked(file, inventory, rules, playbook)
    if offline:
        if fmt == "json":
            emit_json({"valid": True, "ticket": _ticket_doc(checked, None)})
        else:
            out.print(_header(checked, None), markup=False)
            out.print(f"Ticket {checked.file.ticket.id} passes the checks that need no directory.")
        return
    runner = TicketRunner(checked)
    with runner.connect(write=False) as conn:
        planned = runner.plan(conn, Bar())
    if fmt == "json":
        emit_json({"valid": True, "ticket": _ticket_doc(checked, planned), "plan": _plan(planned)})
        return
    out.print(_header(checked, planned), markup=False)
    out.print(render.plan_text(planned.plan, checked.file.file))
    out.print(f"Ticket {checked.file.ticket.id} is valid; nothing was changed.")


@ticket.command()
@ticket_argument
@inventory_option
@rules_option
@playbook_option
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option(
    "--password-out",
    type=click.Path(path_type=Path),
    help="Write a password the ticket sets to this new file (mode 0600), once.",
)
@click.option(
    "--show-password", is_flag=True, help="Show a password the ticket sets once, on a terminal."
)
@format_option()
@wait_option
@click.pass_context
def apply(
    ctx: click.Context,
    file: Path,
    inventory: Path | None,
    rules: Path | None,
    playbook: Path | None,
    yes: bool,
    password_out: Path | None,
    show_password: bool,
    fmt: str,
    wait: float,
) -> None:
    """Validate a ticket, show its plan, ask, apply exactly that plan and journal it.

    Exit status: 0 applied (or declined), 1 invalid ticket, a failed change, a conflict or
    an error."""
    checked = _checked(file, inventory, rules, playbook)
    if fmt == "json" and not yes:
        raise InputError("--format json needs --yes: there is no one to ask")
    if fmt == "json" and show_password:
        raise InputError("--show-password works with text output; use --password-out FILE")
    delivery = _delivery(checked, password_out, show_password)
    runner = TicketRunner(checked)
    with runner.connect(wait=wait, notice=notice) as conn:
        planned = runner.plan(conn, Bar())
        if fmt == "text":
            out.print(_header(checked, planned), markup=False)
            out.print(render.plan_text(planned.plan, checked.file.file))
        _confirm(planned, yes)
        done = _apply(runner, planned, conn, delivery)
    delivered = delivery.deliver(done.deliveries, checked.file.ticket.id) if delivery else False
    for line in render.outcome_lines(done.result):
        err.print(line, style="red", markup=False)
    if fmt == "json":
        doc = _result_doc(checked, planned, done, delivery, delivered)
        emit_json(doc, run_id=done.result.run_id)
    else:
        out.print(render.apply_summary(done.result))
        _show_passwords(done, delivery, delivered, show_password)
    ctx.exit(0 if done.result.status == "ok" else EXIT_ERROR)


def _delivery(checked: Checked, path: Path | None, show: bool) -> PasswordFile | None:
    """Where a password the ticket sets goes; refused before anything is read or changed."""
    kind = checked.kind.name
    if not checked.kind.sets_password:
        if path is not None or show:
            raise InputError(f"a {kind} ticket sets no password: drop the password option")
        return None
    return password_destination(
        path,
        show,
        f"a {kind} ticket sets a password: pass --password-out FILE (a new file, mode "
        "0600) or --show-password (shown once on this terminal)",
    )


def _confirm(planned: TicketPlan, yes: bool) -> None:
    if planned.plan.empty or yes:
        return
    if not sys.stdin.isatty():
        raise InputError(
            "refusing to apply without confirmation: pass --yes when not at a terminal"
        )
    click.confirm("Apply this ticket?", abort=True, err=True)


def _apply(
    runner: TicketRunner, planned: TicketPlan, conn: Any, delivery: PasswordFile | None
) -> TicketResult:
    """Apply; the password file holds the password before the change that sets it, and is
    removed only when the run stopped before that (see :func:`handover.reserved`)."""
    with reserved(delivery):
        return runner.apply(planned, conn, Bar(), keep=delivery)


def _show_passwords(
    done: TicketResult, delivery: PasswordFile | None, delivered: bool, show: bool
) -> None:
    if delivery is not None:
        if delivered:
            accounts = ", ".join(d.account for d in done.deliveries if d.set)
            out.print(
                f"New password for {accounts} written to {delivery.path} (mode 0600): hand it "
                "over in person; it must be changed at the first logon."
            )
        else:
            out.print("No password was set; the password file was removed.")
    if show:
        for item in done.deliveries:
            if item.set:  # shown once, on the terminal only (checked before the run)
                out.print(f"New password for {item.account}: {item.secret.reveal()}", markup=False)


def _header(checked: Checked, planned: TicketPlan | None) -> str:
    t, rule = checked.file.ticket, checked.rule
    summary = f": {planned.build.summary}" if planned else ""
    lines = [f"Ticket {t.id}, {t.type} ({rule.clause}){summary}", f"  requested by {t.requester}"]
    for s in checked.satisfied:
        a = s.approval
        lines.append(f"  approved by {a.name} as {a.role} at {a.time.isoformat()}")
    for name, value in t.confirmations.items():
        parts = value.items() if isinstance(value, dict) else [("", value)]
        shown = ", ".join(f"{k} {v}".strip() for k, v in parts)
        lines.append(f"  confirmed {name}: {shown}")
    lines.append(f"  rules met: {checked.rules.file} ({rule.rule})")
    return "\n".join(lines)


def _ticket_doc(checked: Checked, planned: TicketPlan | None) -> dict[str, Any]:
    t = checked.file.ticket
    return {
        "id": t.id,
        "type": t.type,
        "requester": t.requester,
        "clause": checked.rule.clause,
        "summary": planned.build.summary if planned else None,
        "approvals": [s.record() for s in checked.satisfied],
        "confirmations": dict(t.confirmations),
    }


def _plan(planned: TicketPlan) -> dict[str, Any]:
    plan = planned.plan
    return {
        "domain": plan.domain,
        "counts": plan.counts(),
        "changes": [c.summary() for c in plan.changes],
    }


def _result_doc(
    checked: Checked,
    planned: TicketPlan,
    done: TicketResult,
    delivery: PasswordFile | None,
    delivered: bool,
) -> dict[str, Any]:
    return {
        "ticket": _ticket_doc(checked, planned),
        "plan": _plan(planned),
        "result": render.result_doc(done.result),
        "password_file": str(delivery.path) if delivery and delivered else None,
    }
