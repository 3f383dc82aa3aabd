"""Files adsuite writes for a person to read: created owner-only (0600), never widened.

Two ways, one place:

- :func:`create_new` reserves a new file (``O_CREAT | O_EXCL``, mode 0600) and refuses
  a path that exists. For a password handed over once: a secret never overwrites
  anything, and a file someone else prepared (or a symlink planted there) is refused.
- :func:`write_replacing` writes a whole report (``-o``/``--output``): a new 0600 file
  beside the target, then an atomic rename over it. Reports are made again on a
  schedule into the same path, so refusing an existing file would break every second
  run; the rename means a reader sees the old or the new report, never half of one,
  and the result is always a new owner-only file — an existing file's wider mode or a
  symlink at the path is replaced, never written through.

Both create the file with its final mode (``os.open`` with 0o600), so there is no
moment when it is readable by others; the umask can only narrow it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from adsuite.errors import InputError

MODE = 0o600
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def check_new(path: Path) -> None:
    """Refuse, before any work, a path that exists or whose folder does not."""
    if path.exists() or path.is_symlink():
        raise InputError(f"{path}: already exists; a password file is never overwritten")
    if not path.parent.is_dir():
        raise InputError(f"{path}: its folder does not exist")


def create_new(path: Path) -> int:
    """A new owner-only file at *path*, open for writing; one line if it cannot be."""
    check_new(path)
    try:
        return os.open(path, _NEW, MODE)
    except OSError as exc:
        raise InputError(f"{path}: cannot create: {exc.strerror or exc}") from None


def check_replaceable(path: Path) -> None:
    """Refuse, before any work, an output path that cannot take a report."""
    if not path.parent.is_dir():
        raise InputError(f"{path}: its folder does not exist")
    if path.is_symlink():
        return  # the link itself is replaced, not followed
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        raise InputError(f"{path}: not a regular file; leave out -o to write to stdout")


def write_replacing(path: Path, text: str) -> None:
    """Write *text* to *path* as a new 0600 file, replacing what was there atomically."""
    check_replaceable(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(temporary, _NEW, MODE)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
