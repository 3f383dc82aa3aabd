"""The lab administrator's password: generated once, kept in a 0600 file, never logged."""

from __future__ import annotations

import logging
import os
import secrets
import string
from pathlib import Path

from adsuite.errors import LabError

log = logging.getLogger(__name__)

PASSWORD_LENGTH = 24
# No quote, backslash, '%', '=', '#' or blank: the password goes into smbclient
# auth files and smb.conf-style "key = value" lines unquoted.
_SYMBOLS = "-_.+:!"
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS)
_ALPHABET = "".join(_CLASSES)


def generate_password(length: int = PASSWORD_LENGTH) -> str:
    """A random password with all four AD complexity classes (lower, upper, digit, symbol)."""
    if length < len(_CLASSES):
        raise ValueError(f"a password needs at least {len(_CLASSES)} characters")
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if all(any(char in chars for char in candidate) for chars in _CLASSES):
            return candidate


def write_secret(path: Path, password: str) -> None:
    """Create ``path`` with mode 0600 (never world-readable, not even for a moment)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    log.debug("wrote the lab admin secret to %s", path)


def read_secret(path: Path) -> str:
    try:
        password = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise LabError(
            f"no lab admin secret at {path}", hint="run `adsuite lab up` to provision the lab"
        ) from None
    except PermissionError:
        raise LabError(f"cannot read the lab admin secret {path}", hint="run as root") from None
    if not password:
        raise LabError(f"the lab admin secret {path} is empty", hint="destroy and re-provision")
    return password


def ensure_journal_key(path: Path) -> bool:
    """Write a random journal MAC key (64 hex digits) unless one is there; True if written."""
    if path.exists():
        return False
    write_secret(path, secrets.token_hex(32))
    log.info("wrote a journal MAC key to %s", path)
    return True
