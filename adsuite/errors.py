"""The one exception root of adsuite, with typed fields the CLI turns into one line.

Every error a user can cause (bad input, a refused connection, a missing credential,
a conflict) is an :class:`AdsuiteError`. ``str(error)`` is the line shown to the user:
``file:line: message`` when the error points into a file. Messages never carry secrets.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2


class AdsuiteError(Exception):
    """Root of every error adsuite raises on purpose."""

    exit_code = EXIT_ERROR
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        return _one_line(f"{where}{self.message}")


def _one_line(text: str) -> str:
    """Control and format characters escaped: an error is exactly one line on a terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


class InputError(AdsuiteError):
    """A playbook, inventory or ticket is wrong: unknown key, bad type, bad name or DN."""

    kind = "input"


class CredentialError(AdsuiteError):
    """A credential reference cannot be resolved, or no keyring backend exists."""

    kind = "credential"


class ConnectionFailed(AdsuiteError):
    """A directory, file server or host could not be reached or refused the bind."""

    kind = "connection"


class BindRefused(ConnectionFailed):
    """The server answered and refused the credential (LDAP bind, SMB sign-in)."""


class DcUnreachable(ConnectionFailed):
    """A DC did not answer at all (no TCP/TLS connection), as opposed to refusing a bind."""


class ConnectionLost(ConnectionFailed):
    """A connection that was working broke mid-run (the DC stopped or closed it)."""


class DirectoryError(AdsuiteError):
    """The directory refused an operation (constraint, access denied, no such object)."""

    kind = "directory"
    code: int | None = None  # the LDAP result code, when the directory answered with one


class LeaseHeld(AdsuiteError):
    """Another run holds the domain's one-writer lease (or its PDC cannot be reached)."""

    kind = "lease"


class ConflictError(AdsuiteError):
    """A target changed between plan and apply; nothing was overwritten."""

    kind = "conflict"


class JournalError(AdsuiteError):
    """The journal cannot be opened, written or verified."""

    kind = "journal"


class LabError(AdsuiteError):
    """The local lab domain controller cannot be provisioned, started or stopped."""

    kind = "lab"


class RecoveryError(AdsuiteError):
    """A backup cannot be taken or found, or a restore drill cannot be set up."""

    kind = "recovery"
