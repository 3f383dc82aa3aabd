"""`adsuite report monthly` (the monthly change report, HTML or Markdown) and `adsuite
report compliance` (every clause of the regulations, its state and its evidence)."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

import click

from adsuite.admin import tickets as admin_tickets
from adsuite.audit.month import outside_in_month
from adsuite.audit.run import Row
from adsuite.cli.console import default_path, err, format_option, inventory_option, json_text
from adsuite.cli.handover import write_output
from adsuite.cli.render import HISTORY_DAYS
from adsuite.compliance import page as compliance_page
from adsuite.compliance import report as compliance
from adsuite.compliance.clause_map import DEFAULT_MAP, load_map
from adsuite.compliance.ticket_rules import ticket_rules
from adsuite.errors import EXIT_DRIFT, InputError
from adsuite.journal import drift_history, monthly
from adsuite.journal.paths import default_journal_path
from adsuite.journal.records import RunRecord
from adsuite.journal.store import Journal
from adsuite.runtime.inventory import load_inventory
from adsuite.templates import environment


@click.group()
def report() -> None:
    """Reports for management and auditors, from the journal."""


@report.command(name="monthly")
@inventory_option
@click.option("--month", required=True, metavar="YYYY-MM", help="Calendar month (UTC).")
@format_option("html", default="markdown")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write to a file instead of stdout."
)
@click.option(
    "--ticket", metavar="ID", help="Ticket that authorises reading the journal (recorded)."
)
def monthly_report(
    inventory: Path | None, month: str, fmt: str, output: Path | None, ticket: str | None
) -> None:
    """Runs, changes by company and kind, tickets and approvers, failures, rollbacks, drift.

    Exit status: 0 written, 1 error."""
    try:
        monthly.check_month(month)
    except ValueError as error:
        raise InputError(str(error)) from None
    inventory_path = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    inv = load_inventory(inventory_path)
    _, domain = inv.domain()
    path = default_journal_path(inv.journal)
    with Journal.open(path) as journal:
        journal.record_access(who=getpass.getuser(), what=f"report monthly {month}", ticket=ticket)
        runs = journal.runs()
        changes = {r.id: journal.changes(r.id) for r in runs if r.started.startswith(month)}
        intact = journal.verify().ok
    outside, outside_notes = outside_in_month(inventory_path, path, month)
    summary = monthly.summarize(
        month, runs, changes, domain.base_dn, [c.code for c in inv.companies]
    )
    if fmt == "json":
        doc = {"summary": asdict(summary), "journal": str(path), "journal_intact": intact}
        doc |= {"outside": [r.to_dict() for r in outside], "outside_notes": list(outside_notes)}
        text = json_text(doc) + "\n"
    else:
        text = _monthly_text(summary, fmt, domain.base_dn, path, intact, (outside, outside_notes))
    if output:
        write_output(output, text)
        err.print(f"report written to {output}")
    else:
        click.echo(text, nl=False)


def _monthly_text(
    summary: monthly.MonthlySummary,
    fmt: str,
    base_dn: str,
    path: Path,
    intact: bool,
    found_outside: tuple[list[Row], list[str]],
) -> str:
    outside, outside_notes = found_outside
    kinds = sorted({k for counts in summary.changes_by_company.values() for k in counts})
    name = "reports/monthly.html.j2" if fmt == "html" else "reports/monthly.md.j2"
    return (
        environment()
        .get_template(name)
        .render(
            s=summary,
            kinds=kinds,
            base_dn=base_dn,
            journal=path,
            intact=intact,
            outside=outside,
            outside_notes=outside_notes,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
    )


def _compliance_html(found: compliance.ComplianceReport) -> str:
    """The page: summary, clauses worst first, and every playbook's drift checks over the
    last days from the journal."""
    with Journal.open(Path(found.journal)) as journal:
        runs = journal.runs()
    return compliance_html(found, runs, datetime.now(UTC).date())


def compliance_html(
    found: compliance.ComplianceReport, runs: Sequence[RunRecord], today: date
) -> str:
    inv = load_inventory(Path(found.inventory))
    _, domain = inv.domain()
    days = drift_history.history(runs, days=HISTORY_DAYS, today=today)
    built = compliance_page.build(
        found,
        domain.base_dn,
        [c.code for c in inv.companies],
        days=days,
        chart=drift_history.chart(days),
    )
    template = environment().get_template("reports/compliance.html.j2")
    return template.render(
        p=built, words=compliance.STATE_WORDS, severity_words=compliance_page.SEVERITY_WORDS
    )


@report.command(name="compliance")
@inventory_option
@click.option(
    "--map",
    "map_path",
    type=click.Path(path_type=Path),
    help=f"Compliance map [env ADSUITE_COMPLIANCE_MAP, else {DEFAULT_MAP}].",
)
@format_option(default="html")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write to a file instead of stdout."
)
@click.option(
    "--ticket", metavar="ID", help="Ticket that authorises reading the journal (recorded)."
)
@click.pass_context
def compliance_report(
    ctx: click.Context,
    inventory: Path | None,
    map_path: Path | None,
    fmt: str,
    output: Path | None,
    ticket: str | None,
) -> None:
    """Every clause of the regulations: what enforces it, its state from a fresh drift
    check and directory-wide checks (journaled), and the journal records that prove it.

    Exit status: 0 every clause compliant, 2 one is not (drift, findings, missing
    evidence, not checked), 1 error."""
    inv = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    loaded = load_map(
        default_path(map_path, "ADSUITE_COMPLIANCE_MAP", DEFAULT_MAP, "compliance map")
    )
    checkout = {admin_tickets.TICKET_TYPE: "adsuite admin checkout"}
    rules = ticket_rules(loaded.resolve(loaded.map.approvals), checkout)
    found = compliance.build(loaded, inv, rules, reader=getpass.getuser(), ticket=ticket)
    text = json_text(found.to_dict()) + "\n" if fmt == "json" else _compliance_html(found)
    if output:
        write_output(output, text)
        err.print(f"report written to {output}")
    else:
        click.echo(text, nl=False)
    runs = found.drift_runs
    journaled = f"journal runs {runs[0]} to {runs[-1]}" if runs else "none could run"
    err.print(f"{compliance_page.verdict(found)} {len(runs)} drift checks ({journaled}).")
    ctx.exit(0 if found.compliant else EXIT_DRIFT)
