"""Run samba-tool with ``--adminpass`` read from a file instead of from the command line.

Usage: ``<samba-tool's python> samba_tool_wrapper.py <samba-tool> <secret file> <option> ARGS...``
where ``<option>`` is the password's option name (``--adminpass`` to provision,
``--password`` to join or replicate as the admin).
A command line is readable by every local user (``/proc/<pid>/cmdline``, ``ps``);
this script appends the password to samba-tool's ``sys.argv`` inside the process,
so it is never part of any visible command line. It runs under Samba's own Python,
so it imports nothing from adsuite.
"""

from __future__ import annotations

import runpy
import sys


def main(argv: list[str]) -> None:
    tool, secret_file, option, *args = argv
    with open(secret_file, encoding="utf-8") as handle:
        password = handle.read().strip()
    sys.argv = [tool, *args, f"{option}={password}"]
    runpy.run_path(tool, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
