"""`adsuite audit changes`: changes to managed objects that no adsuite run made."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from adsuite.cli.console import default_path, inventory_option, out
from adsuite.connectors import samba_logs
from adsuite.connectors.ldap import Directory, Query, or_filter
from adsuite.engine import audit as auditlib
from adsuite.engine.session import Session
from adsuite.errors import EXIT_DRIFT, InputError
from adsuite.formats import samba_audit
from adsuite.formats.sid import sid_from_bytes
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
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def changes(
    ctx: click.Context, inventory: Path | None, since: str, ticket: str | None, fmt: str
) -> None:
    """List changes to managed objects made outside adsuite, and who made them. Exit 2 if any."""
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
    writes = [
        w
        for dc in session.domain.dcs.values()
        if dc.samba_audit_dir is not None
        for w in samba_audit.directory_writes(
            samba_logs.lines(dc.samba_audit_dir, samba_logs.DSDB_LOG)
        )
    ]
    if not writes and not any(dc.samba_audit_dir for dc in session.domain.dcs.values()):
        raise InputError(
            "no DC in the inventory has samba_audit_dir; Windows DCs need the WinRM collector"
        )
    found = auditlib.outside_adsuite(writes, recorded, start)
    with session.connect() as conn:
        names = account_names(
            conn.directory, session.domain.base_dn, {w.user_sid for w in found if w.user_sid}
        )
    rows: list[dict[str, Any]] = [
        {
            "time": w.time.isoformat(timespec="seconds"),
            "operation": w.operation,
            "dn": w.dn,
            "attributes": list(w.attributes),
            "by": names.get(w.user_sid or "", w.user_sid or "unknown"),
            "from": w.remote,
        }
        for w in found
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            attrs = ", ".join(row["attributes"]) or "-"
            who = f"by {row['by']} from {row['from']}"
            out.print(
                f"{row['time']}  {row['operation']:<7} {row['dn']}  [{attrs}]  {who}", markup=False
            )
        out.print(
            f"{len(rows)} change(s) outside adsuite since {start.isoformat(timespec='seconds')}."
        )
    ctx.exit(EXIT_DRIFT if rows else 0)


def account_names(directory: Directory, base_dn: str, sids: set[str]) -> dict[str, str]:
    """SID → sAMAccountName for the writers, in one search."""
    if not sids:
        return {}
    query = Query(base_dn, or_filter("objectSid", sorted(sids)), ("sAMAccountName", "objectSid"))
    out_names: dict[str, str] = {}
    for entry in directory.search(query):
        raw = entry.raw("objectSid")
        if raw:
            out_names[sid_from_bytes(raw[0])] = entry.text("sAMAccountName") or entry.dn
    return out_names
