"""`adsuite admin checkout|checkin|usage|acknowledge`: super-administrator accounts in
use (五.6).

The allow-list is the ``privileged`` task of ``--playbook`` (default
``$ADSUITE_SUPERADMIN_PLAYBOOK``, else playbooks/superadmin.yml). Exit codes: 0 done
or clean, 1 refused or failed, 2 (usage) unrecorded or failed logons found.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from adsuite.admin.acknowledge import acknowledge
from adsuite.admin.checkout import CheckedOut, CheckoutRequest, checkin, checkout
from adsuite.admin.policy import DEFAULT_PLAYBOOK, AdminPolicy, load_policy
from adsuite.admin.usage import UsageReport, usage
from adsuite.cli import render
from adsuite.cli.audit import parse_since
from adsuite.cli.console import (
    default_path,
    emit_json,
    err,
    format_option,
    inventory_option,
    json_text,
    notice,
    out,
)
from adsuite.cli.handover import password_destination, reserved, write_output
from adsuite.connectors.credentials import Secret
from adsuite.errors import EXIT_DRIFT, EXIT_ERROR, InputError
from adsuite.templates import environment
from adsuite.tickets.runner import Delivery

playbook_option = click.option(
    "-p",
    "--playbook",
    type=click.Path(path_type=Path),
    help="Playbook with the privileged task "
    f"[env ADSUITE_SUPERADMIN_PLAYBOOK, else {DEFAULT_PLAYBOOK}].",
)
holder_option = click.option(
    "--holder", metavar="NAME", help="The allow-listed holder doing this [default: your OS user]."
)


def _policy(playbook: Path | None, inventory: Path | None) -> AdminPolicy:
    playbook = default_path(
        playbook, "ADSUITE_SUPERADMIN_PLAYBOOK", DEFAULT_PLAYBOOK, "super-administrator playbook"
    )
    inventory = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    return load_policy(playbook, inventory)


@click.group()
def admin() -> None:
    """Super-administrator accounts: check-out, check-in and the usage log (五.6)."""


@admin.command("checkout")
@click.argument("account")
@click.option("--ticket", required=True, metavar="ID", help="The ticket that approves this use.")
@click.option(
    "--reason", required=True, metavar="TEXT", help="Why a personal account cannot do it."
)
@click.option(
    "--ticket-file", type=click.Path(path_type=Path), help="The approved admin_checkout ticket."
)
@click.option(
    "--rules", type=click.Path(path_type=Path), help="Approval rules [playbooks/approvals.yml]."
)
@holder_option
@click.option(
    "--password-out",
    type=click.Path(path_type=Path),
    help="Write the new password to this new file (mode 0600), once.",
)
@click.option("--show-password", is_flag=True, help="Show the new password once, on this terminal.")
@playbook_option
@inventory_option
@format_option()
@click.pass_context
def checkout_command(
    ctx: click.Context,
    account: str,
    ticket: str,
    reason: str,
    ticket_file: Path | None,
    rules: Path | None,
    holder: str | None,
    password_out: Path | None,
    show_password: bool,
    playbook: Path | None,
    inventory: Path | None,
    fmt: str,
) -> None:
    """Check ACCOUNT out: a fresh password handed over once (--password-out FILE or
    --show-password) and stored nowhere, the account enabled, journaled with who and why.

    Exit status: 0 checked out, 1 refused, failed or an error."""
    if fmt == "json" and show_password:
        raise InputError("--show-password works with text output; use --password-out FILE")
    destination = password_destination(
        password_out,
        show_password,
        "a check-out hands its new password over once: pass --password-out FILE (a new "
        "file, mode 0600) or --show-password (shown once on this terminal)",
    )
    policy = _policy(playbook, inventory)
    request = CheckoutRequest(
        account, holder or getpass.getuser(), ticket, reason, ticket_file, rules
    )

    def keep(name: str, secret: Secret) -> None:
        if destination is not None:
            destination.keep((Delivery(name, secret, True, must_change=False),), ticket)

    with policy.session.connect(notice=notice) as conn, reserved(destination):
        done = checkout(policy, conn, request, keep)
    handed = Delivery(done.account, done.secret, done.result.status == "ok", must_change=False)
    delivered = destination.deliver((handed,), ticket) if destination else False
    for line in render.outcome_lines(done.result):
        err.print(line, style="red", markup=False)
    if fmt == "json":
        written = str(destination.path) if destination and delivered else None
        emit_json(_checkout_doc(done, request, written), run_id=done.result.run_id)
        ctx.exit(0 if done.result.status == "ok" else EXIT_ERROR)
    if done.result.status != "ok":
        gone = "; the password file was removed" if destination else ""
        out.print(f"{done.account} was not checked out{gone}. Journal run {done.result.run_id}.")
        ctx.exit(EXIT_ERROR)
    where = (
        f"written to {destination.path} (mode 0600)" if delivered and destination else "shown below"
    )
    out.print(
        f"{done.account} is checked out to {request.holder} (ticket {ticket}); its password is "
        f"{where}, once, and stored nowhere else. Check it in when done: adsuite admin checkin "
        f"{done.account}. Journal run {done.result.run_id}.",
        markup=False,
    )
    if show_password:  # on a terminal only (checked before the run), once
        out.print(f"Password of {done.account}: {done.secret.reveal()}", markup=False)


def _checkout_doc(
    done: CheckedOut, request: CheckoutRequest, written: str | None
) -> dict[str, Any]:
    return {
        "account": done.account,
        "holder": request.holder,
        "ticket": request.ticket,
        "checked_out": done.result.status == "ok",
        "password_file": written,
        "result": render.result_doc(done.result),
    }


@admin.command("checkin")
@click.argument("account")
@holder_option
@playbook_option
@inventory_option
@format_option()
@click.pass_context
def checkin_command(
    ctx: click.Context,
    account: str,
    holder: str | None,
    playbook: Path | None,
    inventory: Path | None,
    fmt: str,
) -> None:
    """Check ACCOUNT in: a new password nobody knows, back to its resting state.

    Exit status: 0 checked in, 1 refused, failed or an error."""
    policy = _policy(playbook, inventory)
    with policy.session.connect(notice=notice) as conn:
        result = checkin(policy, conn, account, holder or getpass.getuser())
    for line in render.outcome_lines(result):
        err.print(line, style="red", markup=False)
    if fmt == "json":
        doc = {"account": account, "checked_in": result.status == "ok"}
        emit_json(doc | {"result": render.result_doc(result)}, run_id=result.run_id)
        ctx.exit(0 if result.status == "ok" else EXIT_ERROR)
    if result.status != "ok":
        out.print(f"{account} was not checked in. Journal run {result.run_id}.")
        ctx.exit(EXIT_ERROR)
    out.print(f"{account} is checked in; its password was rotated. Journal run {result.run_id}.")


@admin.command("usage")
@click.option("--since", metavar="TIME", help="ISO date or time (UTC unless given) [all].")
@format_option("html")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the report here.")
@click.option("--no-collect", is_flag=True, help="Report what is stored; read no DC logs.")
@click.option("--ticket", metavar="ID", help="Ticket that authorises reading the logs (五.8).")
@playbook_option
@inventory_option
@click.pass_context
def usage_command(
    ctx: click.Context,
    since: str | None,
    fmt: str,
    output: Path | None,
    no_collect: bool,
    ticket: str | None,
    playbook: Path | None,
    inventory: Path | None,
) -> None:
    """Collect the super-administrators' logons from every DC and reconcile each one.

    Exit status: 0 every use accounted for, 2 a use no check-out or run accounts for, or a
    failed logon, 1 error."""
    policy = _policy(playbook, inventory)
    start = parse_since(since) if since else None
    with policy.session.connect(write=False) as conn:
        report = usage(policy, conn, start, collect=not no_collect, ticket=ticket)
    text = {"text": _text, "json": _json, "html": _html}[fmt](report)
    if output is not None:
        write_output(output, text)
        err.print(f"report written to {output} (journal run {report.run_id})")
    else:
        click.echo(text)
    ctx.exit(0 if report.clean else EXIT_DRIFT)


@admin.command("acknowledge")
@click.argument("findings", nargs=-1, required=True, metavar="FINDING_ID...")
@click.option("--ticket", required=True, metavar="ID", help="The ticket that explains the logon.")
@click.option("--reason", required=True, metavar="TEXT", help="What the logon was.")
@playbook_option
@inventory_option
@format_option()
def acknowledge_command(
    findings: tuple[str, ...],
    ticket: str,
    reason: str,
    playbook: Path | None,
    inventory: Path | None,
    fmt: str,
) -> None:
    """Acknowledge logon findings of `admin usage` (their ids) on a ticket: journaled, and
    the compliance report no longer counts them (五.6).

    Exit status: 0 acknowledged, 1 error (an unknown finding id included)."""
    policy = _policy(playbook, inventory)
    session = policy.session
    done = acknowledge(session.journal_path, findings, ticket, reason, str(session.inventory_path))
    if fmt == "json":
        doc = {"acknowledged": list(done.findings), "ticket": ticket, "reason": reason}
        emit_json(doc, run_id=done.run_id)
        return
    out.print(
        f"Acknowledged {', '.join(done.findings)} on ticket {ticket}. Journal run {done.run_id}.",
        markup=False,
    )


def _text(report: UsageReport) -> str:
    lines = []
    for use in report.uses:
        e = use.event
        label = use.verdict.upper() if use.finding else "ok   "
        named = f" [{use.id}]" if use.finding else ""
        lines.append(
            f"  {label:<10} {e.at.isoformat(timespec='seconds')} {e.dc} {e.account} "
            f"{e.event_id} from {e.remote or '?'} ({e.service or '-'}): {use.explain()}{named}"
        )
    lines += [f"  PROBLEM    {p}" for p in report.problems]
    n = len(report.findings)
    lines.append(
        f"{len(report.uses)} logon(s) of super-administrator accounts, {n} finding(s)"
        f"{', ' + str(len(report.problems)) + ' problem(s)' if report.problems else ''}. "
        f"Journal run {report.run_id}."
    )
    return "\n".join(lines)


def _json(report: UsageReport) -> str:
    return json_text({"run_id": report.run_id, **report.to_dict()})


def _html(report: UsageReport) -> str:
    template = environment().get_template("reports/usage.html.j2")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return template.render(report=report, generated=generated)
