"""What the commands hand to a person: a password (once) and a report file (0600).

A password a run sets — a ticket's (new_employee, password_reset) or a super-administrator
check-out's — goes either into a new owner-only file (``--password-out``, created with
``O_EXCL`` before the run, the password written and synced before the change that sets
it) or once onto a terminal; never both, never to a pipe, and nowhere else. Every
``-o``/``--output`` report is written through :func:`write_output`, so each is a new
0600 file (see ``adsuite.private_files``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from adsuite import private_files
from adsuite.errors import InputError

if TYPE_CHECKING:  # the ticket machinery: imported by the commands that hand out passwords
    from adsuite.tickets.delivery import PasswordFile


def password_destination(path: Path | None, show: bool, needed: str) -> PasswordFile | None:
    """The file a password goes to (None: shown on the terminal); refused before any change.

    *needed* is the one line shown when neither ``--password-out`` nor ``--show-password``
    was given."""
    if path is not None and show:
        raise InputError("--password-out and --show-password exclude each other")
    if show:
        if not sys.stdout.isatty():
            raise InputError("--show-password needs a terminal; use --password-out FILE")
        return None
    if path is None:
        raise InputError(needed)
    from adsuite.tickets.delivery import PasswordFile

    destination = PasswordFile(path)
    destination.check()
    return destination


@contextmanager
def reserved(destination: PasswordFile | None) -> Iterator[None]:
    """Create the password file for the run inside. If the run is refused (an
    InputError: refused before any change) or stops before a password was kept in it
    (:meth:`PasswordFile.keep`, synced before the change that sets it), the file is
    removed; once one was kept and the run went on, it stays whatever happens next: the
    password may be set in the directory, and nobody else has it."""
    if destination is not None:
        destination.reserve()
    try:
        yield
    except InputError:
        if destination is not None:
            destination.discard()
        raise
    except BaseException:
        if destination is not None and not destination.kept:
            destination.discard()
        raise


def write_output(path: Path, text: str) -> None:
    """Write a report given with ``-o``: a new 0600 file replacing *path* atomically."""
    private_files.write_replacing(path, text if text.endswith("\n") else text + "\n")
