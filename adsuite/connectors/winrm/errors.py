"""The errors of the WinRM connector, one class per thing a caller reacts to differently.

Messages name the host and the script, never a parameter value (values may be secrets);
a script failure carries the PowerShell error record's message, which is the remote
side's own text.
"""

from __future__ import annotations

from adsuite.errors import AdsuiteError, ConnectionFailed


class WinRmError(AdsuiteError):
    """A WinRM request failed: the root of every error below."""

    kind = "winrm"

    def __init__(self, message: str, *, host: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.host = host


class WinRmUnreachable(WinRmError, ConnectionFailed):
    """The host did not answer: refused, no route, DNS, connect timeout, TLS not trusted."""

    kind = "connection"
    transient = False  # set when opening again may help (refused, reset, timed out)


class WinRmAuthFailed(WinRmError, ConnectionFailed):
    """The host rejected the credentials, or the account may not use the endpoint."""

    kind = "connection"


class WinRmScriptFailed(WinRmError):
    """The script ended with a terminating error (the pipeline failed)."""

    def __init__(
        self, message: str, *, host: str, script: str, error_id: str | None = None
    ) -> None:
        super().__init__(message, host=host)
        self.script = script
        self.error_id = error_id


class WinRmTimeout(WinRmError):
    """The script ran longer than the host's timeout; adsuite asked the host to stop it."""

    def __init__(self, message: str, *, host: str, script: str, seconds: float) -> None:
        super().__init__(message, host=host)
        self.script = script
        self.seconds = seconds
