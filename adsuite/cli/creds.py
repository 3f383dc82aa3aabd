"""`adsuite creds set|delete|list`: credential references kept in the system keyring."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.table import Table

from adsuite.cli.console import default_path, emit_json, format_option, inventory_option, out
from adsuite.connectors import credentials
from adsuite.errors import CredentialError
from adsuite.runtime.inventory import load_inventory


@click.group()
def creds() -> None:
    """Secrets by name: set in the keyring, or ADSUITE_CRED_<NAME> in the environment."""


@creds.command(name="set")
@click.argument("name")
@format_option()
def set_(name: str, fmt: str) -> None:
    """Store the secret for NAME in the keyring (asked for, never echoed).

    Exit status: 0 stored, 1 error (no usable keyring backend included)."""
    credentials.check_name(name)
    credentials.require_keyring()  # refused before the secret is asked for
    value = click.prompt(f"Secret for {name}", hide_input=True, confirmation_prompt=True, err=True)
    credentials.store(name, credentials.Secret(value))
    if fmt == "json":
        emit_json({"stored": name, "keyring": credentials.backend_name()})
    else:
        click.echo(f"stored {name} in the keyring ({credentials.backend_name()})")


@creds.command()
@click.argument("name")
@format_option()
def delete(name: str, fmt: str) -> None:
    """Remove the secret for NAME from the keyring.

    Exit status: 0 removed, 1 error."""
    credentials.delete(name)
    if fmt == "json":
        emit_json({"deleted": name})
        return
    click.echo(f"deleted {name} from the keyring")


@creds.command(name="list")
@inventory_option
@format_option()
def list_(inventory: Path | None, fmt: str) -> None:
    """List the credentials an inventory names and where each resolves (never the value).

    Exit status: 0 listed (resolved or not), 1 error."""
    inv = load_inventory(
        default_path(inventory, "ADSUITE_INVENTORY", "inventory/lab.yml", "inventory")
    )
    if fmt == "json":
        found = [
            {"name": name, "username": e.username, "found_in": _where(name, e.secret_file)}
            for name, e in sorted(inv.credentials.items())
        ]
        emit_json({"credentials": found, "keyring": credentials.keyring_status()})
        return
    table = Table("name", "username", "found in")
    for name, entry in sorted(inv.credentials.items()):
        table.add_row(name, entry.username, _where(name, entry.secret_file))
    out.print(table)
    out.print(f"keyring: {credentials.keyring_status()}", markup=False)


def _where(name: str, secret_file: Path | None) -> str:
    if os.environ.get(credentials.env_var_for(name)):
        return f"environment ({credentials.env_var_for(name)})"
    try:
        credentials.resolve(name)
        return "keyring"
    except CredentialError:
        pass
    if secret_file is not None and secret_file.exists():
        return f"file {secret_file}"
    return "MISSING"
