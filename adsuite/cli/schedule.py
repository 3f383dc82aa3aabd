"""`adsuite schedule`: write the systemd units that run adsuite unattended for an inventory.

Exit codes: 0 written (or shown with --dry-run), 1 error (a differing unit without
--force, a bad path): then nothing is written.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
from rich.markup import escape

from adsuite.cli.console import default_path, emit_json, err, format_option, inventory_option, out
from adsuite.errors import InputError
from adsuite.schedule import units as schedulelib


def _adsuite_binary(given: Path | None) -> Path:
    if given is not None:
        return given.absolute()
    beside = Path(sys.executable).parent / "adsuite"
    found = beside if beside.is_file() else shutil.which("adsuite")
    if found is None:
        raise InputError("cannot find the adsuite executable: pass --adsuite PATH")
    return Path(found).absolute()


@click.command()
@inventory_option
@click.option(
    "--playbook",
    type=click.Path(path_type=Path),
    default=Path("playbooks/site.yml"),
    show_default=True,
    help="Playbook the daily drift check compares with.",
)
@click.option(
    "--dest",
    type=click.Path(path_type=Path),
    default=Path("/etc/systemd/system"),
    show_default=True,
    help="Folder the units are written to.",
)
@click.option("--domain", help="Inventory domain key, when the inventory has several.")
@click.option("--listen", default="127.0.0.1:8443", show_default=True, help="adsuite serve's.")
@click.option(
    "--desk-secret",
    default="service-desk",
    show_default=True,
    help="Credential adsuite serve checks webhook signatures with.",
)
@click.option(
    "--adsuite",
    "binary",
    type=click.Path(path_type=Path),
    help="The adsuite executable the units run [default: this one].",
)
@click.option("--force", is_flag=True, help="Replace units that differ from what is written.")
@click.option("--dry-run", is_flag=True, help="Print the units; write nothing.")
@format_option()
def schedule(
    inventory: Path | None,
    playbook: Path,
    dest: Path,
    domain: str | None,
    listen: str,
    desk_secret: str,
    binary: Path | None,
    force: bool,
    dry_run: bool,
    fmt: str,
) -> None:
    """Write the drift, health, backup and restore-drill timers, the serve and SIEM
    services and their OnFailure alert as systemd units for the inventory.

    Exit status: 0 written (or shown with --dry-run), 1 error (a differing unit without
    --force included)."""
    inv = default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    request = schedulelib.Request(
        inventory=inv.absolute(),
        playbook=playbook.absolute(),
        adsuite=_adsuite_binary(binary),
        listen=listen,
        desk_secret=desk_secret,
        domain=domain,
    )
    plan = schedulelib.plan(request)
    written = [] if dry_run else schedulelib.install(plan.units, dest, force=force)
    if fmt == "json":
        _json(plan, written, dry_run)
    elif dry_run:
        for unit in plan.units:
            out.print(f"# --- {escape(unit.name)}", markup=False)
            out.print(unit.text, markup=False, end="")
    else:
        for done in written:
            out.print(f"{done.status:<9} {escape(str(done.path))}")
        _next_steps(plan, dest)


def _json(plan: schedulelib.Plan, written: list[schedulelib.Written], dry_run: bool) -> None:
    status = {done.name: (str(done.path), done.status) for done in written}
    units = [
        {
            "name": unit.name,
            "path": status[unit.name][0] if unit.name in status else None,
            "status": status[unit.name][1] if unit.name in status else "not written",
            **({"text": unit.text} if dry_run else {}),
        }
        for unit in plan.units
    ]
    emit_json(
        {
            "units": units,
            "timers": plan.timers,
            "services": plan.services,
            "encrypt_credentials": plan.encrypt,
        }
    )


def _next_steps(plan: schedulelib.Plan, dest: Path) -> None:
    err.print("next:")
    for name in plan.encrypt:
        path = schedulelib.CREDSTORE / f"{name}.cred"
        err.print(f"  systemd-creds encrypt --name={name} - {path}   # type the secret, Ctrl-D")
    if dest != Path("/etc/systemd/system"):
        err.print(f"  link or copy the units from {dest} to /etc/systemd/system")
    err.print("  systemctl daemon-reload")
    err.print(f"  systemctl enable --now {' '.join([*plan.timers, *plan.services])}")
