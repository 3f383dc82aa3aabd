"""The output contract: every command takes ``--format json`` and prints one object."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from adsuite.cli.commands import COMMANDS
from adsuite.cli.console import emit_json
from adsuite.cli.main import cli

# a long-running server has no result to print: its output is the request log
NO_RESULT = {"serve"}


def leaf_commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in sorted(command.commands.items())]
        else:
            found.append((name, command))
    return found


@pytest.mark.parametrize(("name", "command"), leaf_commands(), ids=lambda v: str(v))
def test_every_command_offers_format_json(name: str, command: click.Command) -> None:
    if name in NO_RESULT:
        pytest.skip(f"{name} prints no result")
    formats = [p for p in command.params if p.name == "fmt"]
    assert formats, f"adsuite {name} has no --format"
    assert isinstance(formats[0].type, click.Choice)
    assert "json" in formats[0].type.choices


def test_the_run_id_comes_first_and_the_object_is_one_json_document() -> None:
    @click.command()
    def show() -> None:
        emit_json({"status": "ok", "名": "集团"}, run_id="r-1")

    printed = CliRunner().invoke(show).output
    assert list(json.loads(printed)) == ["run_id", "status", "名"]
    assert json.loads(printed)["run_id"] == "r-1"
    assert "集团" in printed  # not \\u-escaped


def test_apply_and_rollback_refuse_json_without_yes_before_reading_anything() -> None:
    for args in (
        ["apply", "nowhere.yml", "--format", "json"],
        ["rollback", "R", "--format", "json"],
    ):
        done = CliRunner().invoke(cli, args, standalone_mode=False)
        assert "--format json needs --yes" in str(done.exception)
