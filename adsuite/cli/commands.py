"""The subcommands `adsuite` offers, each in its own module, imported only when used.

`adsuite plan` need not import the web server, nor `adsuite --version` the engine: a
command's module is imported when click asks for that command (running it, or listing
it in ``--help``).
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute", in the order `adsuite --help` lists them
COMMANDS: dict[str, str] = {
    "plan": "adsuite.cli.run:plan",
    "apply": "adsuite.cli.run:apply",
    "drift": "adsuite.cli.run:drift",
    "health": "adsuite.cli.health:health",
    "rollback": "adsuite.cli.rollback:rollback",
    "audit": "adsuite.cli.audit:audit",
    "admin": "adsuite.cli.admin:admin",
    "report": "adsuite.cli.report:report",
    "ticket": "adsuite.cli.ticket:ticket",
    "serve": "adsuite.cli.serve:serve",
    "backup": "adsuite.cli.recovery:backup",
    "restore-drill": "adsuite.cli.recovery:restore_drill",
    "recover": "adsuite.cli.recover:recover",
    "journal": "adsuite.cli.journal:journal",
    "schedule": "adsuite.cli.schedule:schedule",
    "creds": "adsuite.cli.creds:creds",
    "lab": "adsuite.cli.lab:lab",
}


class LazyGroup(click.Group):
    """A click group whose subcommands come from :data:`COMMANDS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *sorted(set(super().list_commands(ctx)) - set(COMMANDS))]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where} is not a click command")
        return command
