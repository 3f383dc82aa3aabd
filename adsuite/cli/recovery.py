"""`adsuite backup` and `adsuite restore-drill`: DC backups and the timed restore drill.

Exit codes: backup 0 done, 1 error; restore-drill 0 passed, 2 the drill failed (the
restored DC did not work, or lacks what the journal says it should hold), 1 error.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from adsuite.cli.console import default_path, emit_json, err, format_option, inventory_option, out
from adsuite.engine.session import Session
from adsuite.errors import EXIT_DRIFT
from adsuite.recovery import backup as backuplib
from adsuite.recovery import drill as drilllib

TARGET_HOURS = 4  # 四.5: key services restored within 4 hours


def _session(inventory: Path | None, domain: str | None) -> Session:
    inv = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    return Session.for_inventory(inv, domain)


def _step(text: str) -> None:
    err.print(f"· {escape(text)}")


@click.command()
@inventory_option
@click.option("--domain", help="Inventory domain key, when the inventory has several.")
@format_option()
def backup(inventory: Path | None, domain: str | None, fmt: str) -> None:
    """Take an online backup of the domain's DC into the inventory's backups folder.

    Exit status: 0 backed up, 1 error."""
    session = _session(inventory, domain)
    _step(f"backing up {session.domain.preferred().host} (samba-tool domain backup online)")
    done = backuplib.take(session)
    if fmt == "json":
        doc = {"path": str(done.path), "size": done.size, "sha256": done.sha256,
               "removed": list(done.removed)}  # fmt: skip
        emit_json(doc, run_id=done.run_id)
        return
    out.print(f"backup:   {escape(str(done.path))}")
    out.print(f"size:     {done.size} bytes")
    out.print(f"sha256:   {done.sha256}")
    for name in done.removed:
        out.print(f"removed:  {escape(name)} (retention)")
    out.print(f"journal:  run {done.run_id}")


@click.command("restore-drill")
@inventory_option
@click.option("--domain", help="Inventory domain key, when the inventory has several.")
@format_option()
@click.pass_context
def restore_drill(ctx: click.Context, inventory: Path | None, domain: str | None, fmt: str) -> None:
    """Restore the newest backup into a scratch DC, time it, check it holds what the journal
    says.

    Exit status: 0 passed, 2 the drill failed (too slow, or missing what it should hold),
    1 error."""
    session = _session(inventory, domain)
    result = drilllib.run(session, _step)
    if fmt == "json":
        doc = {"backup": result.backup, "sha256": result.sha256, "seconds": result.seconds,
               "target_hours": TARGET_HOURS, "checked": result.checked,
               "problems": list(result.problems), "passed": result.passed}  # fmt: skip
        emit_json(doc, run_id=result.run_id)
        ctx.exit(0 if result.passed else EXIT_DRIFT)
    out.print(f"backup:        {escape(result.backup)} (sha256 {result.sha256[:16]}…)")
    if result.seconds is None:
        out.print("time to a working DC: none: it never answered LDAPS")
    else:
        minutes = result.seconds / 60
        within = "within" if result.seconds < TARGET_HOURS * 3600 else "OVER"
        out.print(
            f"time to a working DC: {result.seconds:.1f} s ({minutes:.1f} min), "
            f"{within} the {TARGET_HOURS} h target"
        )
    out.print(f"objects checked: {result.checked}, problems: {len(result.problems)}")
    for problem in result.problems:
        err.print(f"[red]{escape(problem)}[/red]")
    verdict = "[green]PASSED[/green]" if result.passed else "[red]FAILED[/red]"
    out.print(f"restore drill {verdict} (journal run {result.run_id})")
    ctx.exit(0 if result.passed else EXIT_DRIFT)
