"""Subcommands are imported when used: `adsuite --version` does not load the engine."""

from __future__ import annotations

import subprocess
import sys

import click

from adsuite.cli.commands import COMMANDS, LazyGroup
from adsuite.cli.main import cli


def test_every_listed_subcommand_resolves_to_a_click_command_under_its_name() -> None:
    ctx = click.Context(cli)
    assert isinstance(cli, LazyGroup)
    assert cli.list_commands(ctx) == list(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command)
        assert command.name == name


def test_version_imports_no_subcommand_and_no_engine() -> None:
    probe = (
        "import sys\n"
        "from adsuite.cli.main import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('adsuite.engine', 'adsuite.cli.')))\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = done.stdout.strip().splitlines()[-1].split(",")
    assert [m for m in loaded if m.startswith("adsuite.engine")] == []
    assert not [
        m
        for m in loaded
        if m.startswith("adsuite.cli.") and m not in ("adsuite.cli.main", "adsuite.cli.commands")
    ]
