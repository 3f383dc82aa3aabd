"""Shell completion as docs/shell-completion.md tells users to set it up: bash sources
what ``_ADSUITE_COMPLETE=bash_source adsuite`` prints and completes commands and choices."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent  # the venv's bin, where the adsuite script is


def complete(words: list[str]) -> list[str]:
    """COMPREPLY after bash completes the last of *words* with adsuite's own function."""
    script = (
        'eval "$(_ADSUITE_COMPLETE=bash_source adsuite)"\n'
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))\n'
        '_adsuite_completion adsuite\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "-c", script, "bash", *words],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split()


@pytest.mark.skipif(not shutil.which("bash") or not (BIN / "adsuite").exists(), reason="no bash")
def test_bash_completes_subcommands_nested_commands_and_option_choices() -> None:
    assert complete(["adsuite", "jou"]) == ["journal"]
    assert complete(["adsuite", "journal", ""]) == ["export", "follow", "show", "verify"]
    assert complete(["adsuite", "restore"]) == ["restore-drill"]
    assert complete(["adsuite", "drift", "--format", ""]) == ["text", "json", "junit", "html"]
