"""Every command's ``--help`` says what its exit codes mean, and a usage error is exit 1
(2 is "found something": drift, unhealthy, not compliant)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from adsuite.cli.commands import COMMANDS
from adsuite.cli.main import cli, main


def every_command() -> list[tuple[str, click.Command]]:
    """The root group, each command, each group and each of its subcommands."""
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = [("adsuite", cli)]
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in sorted(command.commands.items())]
    return found


def leaves() -> list[str]:
    return [name for name, c in every_command() if not isinstance(c, click.Group)]


@pytest.mark.parametrize("name", leaves())
def test_every_command_help_has_an_exit_status_line(name: str) -> None:
    shown = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert shown.exit_code == 0, shown.output
    exits = [line.strip() for line in shown.output.splitlines() if line.strip().startswith("Exit")]
    assert exits, f"adsuite {name} --help states no exit codes"
    assert exits[0].startswith("Exit status: 0 "), exits[0]


def test_the_top_level_help_states_the_convention() -> None:
    shown = CliRunner().invoke(cli, ["--help"]).output
    assert "Exit status: 0 ok, 2 something found" in shown


@pytest.mark.parametrize(
    "args", [["drift", "--no-such-option"], ["no-such-command"], ["plan", "a", "b"]]
)
def test_a_usage_error_exits_1_not_the_drift_code(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 1
    assert "Traceback" not in capsys.readouterr().err
