"""Credential references: a name in the inventory, the secret resolved at run time.

Resolution order for a credential named ``lab-admin``:

1. the environment variable ``ADSUITE_CRED_LAB_ADMIN`` (for CI);
2. the file ``$CREDENTIALS_DIRECTORY/lab-admin``: systemd's ``LoadCredential=`` hands a
   service its secrets there (a private, non-swappable mount only that service reads),
   which is how the units ``adsuite schedule`` writes get theirs;
3. the system keyring, service ``adsuite``, entry ``lab-admin`` (``adsuite creds set``);
4. a ``secret_file`` named in the inventory (the lab writes one, mode 0600).

A :class:`Secret` never shows its value in ``str``, ``repr``, logs or exceptions.

Secrets are never at rest in plain text, so a keyring backend that keeps them so is
refused, for reading and for writing: keyrings.alt's ``PlaintextKeyring`` and any
backend below keyring's own recommended priority of 1 (what keyring calls "not
recommended": file stores without an OS-protected key). A chainer is refused when any
backend it may write to is. ``keyring.backends.fail`` and ``null`` mean "no keyring".
"""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from adsuite.connectors.kerberos import Ticket
from adsuite.errors import CredentialError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

KEYRING_SERVICE = "adsuite"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Secret:
    """A secret value that refuses to be printed.

    Deliberately not a dataclass: ``dataclasses.asdict`` and friends would copy the
    value out of any record that holds one.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret(***)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def env_var_for(name: str) -> str:
    """The environment variable that overrides credential *name*."""
    return "ADSUITE_CRED_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise CredentialError(
            f"bad credential name {name!r}: use letters, digits, '.', '_' or '-' (max 64)"
        )
    return name


def resolve(name: str, secret_file: Path | None = None) -> Secret:
    """Find the secret for credential *name*; one clear error if there is none."""
    check_name(name)
    from_env = os.environ.get(env_var_for(name))
    if from_env:
        log.debug("credential %s from environment", name)
        return Secret(from_env)
    from_systemd = _systemd_credential(name)
    if from_systemd is not None:
        log.debug("credential %s from $CREDENTIALS_DIRECTORY", name)
        return Secret(_read_secret_file(from_systemd))
    from_keyring = _keyring_get(name)
    if from_keyring is not None:
        log.debug("credential %s from keyring", name)
        return Secret(from_keyring)
    if secret_file is not None and secret_file.exists():
        log.debug("credential %s from %s", name, secret_file)
        return Secret(_read_secret_file(secret_file))
    raise CredentialError(f"credential {name!r} not found", hint=_not_found_hint(name))


SYSTEMD_CREDENTIALS = "CREDENTIALS_DIRECTORY"


def _systemd_credential(name: str) -> Path | None:
    """``$CREDENTIALS_DIRECTORY/<name>`` when systemd gave this process that credential.

    *name* is checked first (letters, digits, '.', '_', '-', never leading '.'), so it
    cannot leave the folder.
    """
    folder = os.environ.get(SYSTEMD_CREDENTIALS, "")
    if not os.path.isabs(folder):
        return None
    path = Path(folder) / name
    return path if path.is_file() else None


def _not_found_hint(name: str) -> str:
    try:
        _backend()
    except CredentialError as error:
        return f"set {env_var_for(name)} ({error})"
    return f"run `adsuite creds set {name}` or set {env_var_for(name)}"


def store(name: str, secret: Secret) -> None:
    backend = _backend()
    backend.set_password(KEYRING_SERVICE, check_name(name), secret.reveal())


def delete(name: str) -> None:
    backend = _backend()
    import keyring.errors

    try:
        backend.delete_password(KEYRING_SERVICE, check_name(name))
    except keyring.errors.PasswordDeleteError as error:
        raise CredentialError(f"credential {name!r} is not in the keyring") from error


def backend_name() -> str | None:
    """The keyring backend in use, or None when there is no usable (or a refused) one."""
    try:
        return _qualified(_backend())
    except CredentialError:
        return None


def require_keyring() -> str:
    """The usable keyring backend's name; one line (CredentialError) when there is none."""
    return _qualified(_backend())


def keyring_status() -> str:
    """The keyring backend in use, or why there is none, for ``creds list``."""
    try:
        return _qualified(_backend())
    except CredentialError as error:
        return str(error)


def refusal(backend: KeyringBackend) -> str | None:
    """Why *backend* may not hold a secret (one line), or None when it may."""
    members = getattr(backend, "backends", None)
    if isinstance(members, list):  # keyring's ChainerBackend: any member may be written
        reasons = [r for r in map(refusal, members) if r]
        return reasons[0] if reasons else None
    name = _qualified(backend)
    if any(c.__name__ == "PlaintextKeyring" for c in type(backend).__mro__):
        return f"the keyring backend {name} keeps secrets in plain text; adsuite refuses it"
    try:
        priority = float(backend.priority)
    except Exception:  # an unviable backend says so by raising
        priority = 0.0
    if priority < 1:
        return (
            f"the keyring backend {name} (priority {priority:g}) is not an encrypted store "
            "keyring recommends; adsuite refuses it"
        )
    return None


def _backend() -> KeyringBackend:
    """The usable keyring backend; one line (CredentialError) when there is none."""
    import keyring
    import keyring.backends.fail
    import keyring.backends.null

    backend = keyring.get_keyring()
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        raise CredentialError(
            "no keyring backend is available on this machine",
            hint="use ADSUITE_CRED_<NAME> variables, or install an encrypted keyring backend",
        )
    reason = refusal(backend)
    if reason is not None:
        raise CredentialError(reason)
    return backend


def _qualified(backend: KeyringBackend) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def _keyring_get(name: str) -> str | None:
    try:
        backend = _backend()
    except CredentialError as error:
        log.debug("keyring not consulted for %s: %s", name, error)
        return None
    try:
        value: str | None = backend.get_password(KEYRING_SERVICE, name)
    except Exception as error:  # a locked or broken backend must not leak details
        log.warning("keyring lookup for %s failed: %s", name, type(error).__name__)
        return None
    return value


def _read_secret_file(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialError(f"{path}: secret file is readable by others; chmod 600 it")
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise CredentialError(f"{path}: cannot read secret file ({error.strerror})") from error


Login = Secret | Ticket  # what a connector signs in with: a password, or a Kerberos ticket
