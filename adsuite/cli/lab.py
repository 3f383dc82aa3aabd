"""`adsuite lab up|status|down`: the local Samba AD DC for the demo and the tests."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from adsuite.cli.console import emit_json, format_option
from adsuite.lab.config import STATE_DIR_ENV, LabConfig, LabStatus
from adsuite.lab.replica import MAX_DCS
from adsuite.lab.samba import Lab

log = logging.getLogger(__name__)

EXIT_NOT_RUNNING = 3

_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Lab state folder [default: ${STATE_DIR_ENV} or /var/lib/adsuite/lab].",
)


def _lab(state_dir: Path | None) -> Lab:
    return Lab(LabConfig() if state_dir is None else LabConfig(state_dir=state_dir))


def _echo_status(status: LabStatus) -> None:
    state = f"running (pid {status.pid})" if status.running else "not running"
    if not status.provisioned:
        state += ", not provisioned"
    click.echo(f"lab DC:        {state}")
    click.echo(f"state folder:  {status.state_dir}")
    click.echo(f"realm:         {status.realm} ({status.base_dn})")
    click.echo(f"LDAP URL:      {status.ldap_url} (TLS name {status.tls_name})")
    click.echo(f"CA file:       {status.ca_file}")
    click.echo(f"credential:    {status.credential_name} = {status.admin_username}")
    click.echo(f"secret file:   {status.secret_file}")
    click.echo(f"audit logs:    {status.auth_audit_log.parent}")
    click.echo(f"journal key:   lab-journal-key in {status.journal_key_file}")


def _progress(step: str) -> None:
    click.echo(f"· {step}", err=True)


@click.group("lab")
def lab() -> None:
    """Run a local Samba AD domain controller (needs root and Debian's samba packages)."""


@lab.command("up")
@_state_dir_option
@click.option(
    "--dcs",
    type=click.IntRange(1, MAX_DCS),
    default=1,
    show_default=True,
    help="How many DCs: DC1 on 127.0.0.1, DCk joined on 127.0.0.k.",
)
@format_option()
def up(state_dir: Path | None, dcs: int, fmt: str) -> None:
    """Provision the lab domain if needed, start it and wait until LDAPS answers.

    Exit status: 0 running, 1 error."""
    lab_ = _lab(state_dir)
    started = lab_.up(on_step=_progress, dcs=dcs)
    if fmt == "json":
        emit_json(
            {**started.to_dict(), "replicas": [r.status().to_dict() for r in lab_.replicas()]}
        )
        return
    _echo_status(started)
    _echo_replicas(lab_)


def _echo_replicas(lab_: Lab) -> None:
    for replica in lab_.replicas():
        status = replica.status()
        state = f"running (pid {status.pid})" if status.running else "not running"
        click.echo(
            f"{replica.name}:           {state}, {status.ldap_url} (TLS name "
            f"{status.tls_name}, CA {status.ca_file})"
        )


@lab.command("status")
@_state_dir_option
@format_option()
@click.pass_context
def status(ctx: click.Context, state_dir: Path | None, fmt: str) -> None:
    """Show where the lab is and how to reach it.

    Exit status: 0 the lab DC is running, 3 it is not, 1 error.
    """
    lab_ = _lab(state_dir)
    current = lab_.status()
    if fmt == "json":
        emit_json(
            {**current.to_dict(), "replicas": [r.status().to_dict() for r in lab_.replicas()]}
        )
    else:
        _echo_status(current)
        _echo_replicas(lab_)
    if not current.running:
        ctx.exit(EXIT_NOT_RUNNING)


@lab.command("down")
@_state_dir_option
@format_option()
def down(state_dir: Path | None, fmt: str) -> None:
    """Stop every lab DC (the domain and files stay for the next `lab up`).

    Exit status: 0 stopped (or not running), 1 error."""
    stopped = _lab(state_dir).down()
    if fmt == "json":
        emit_json({"stopped": stopped})
        return
    click.echo("lab DC stopped" if stopped else "lab DC was not running")
