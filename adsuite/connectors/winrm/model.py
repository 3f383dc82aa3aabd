"""What a WinRM call is given and what it returns, whichever client carries it.

A :class:`WinRmTarget` says how to reach one host; a :class:`WinRmSession` runs named
scripts there and returns a :class:`ScriptResult`: the output as plain Python values
(objects become dicts), the non-terminating errors and the warnings.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

from adsuite.connectors.credentials import Login
from adsuite.connectors.kerberos import Ticket

log = logging.getLogger(__name__)

Client = Literal["pypsrp", "pywinrm"]
Auth = Literal["kerberos", "ntlm", "credssp"]


@dataclass(frozen=True)
class WinRmTarget:
    """How to reach one host. ``timeout`` bounds one script run, in seconds."""

    name: str
    url: str
    username: str
    password: Login = field(repr=False)  # a Secret, or a Kerberos Ticket (auth kerberos)
    client: Client = "pypsrp"
    auth: Auth = "kerberos"
    ca_file: Path | None = None
    timeout: float = 30.0
    connect_timeout: float = 10.0
    retries: int = 2
    retry_backoff: float = 1.0

    @property
    def ticket(self) -> Ticket | None:
        """The Kerberos ticket this target signs in with, when its credential has one."""
        return self.password if isinstance(self.password, Ticket) else None

    def sign_in(self) -> tuple[str | None, str | None]:
        """(username, password) for the client: both None with a ticket, so pyspnego
        takes the ticket from the cache :func:`kerberos.environment` points at."""
        if isinstance(self.password, Ticket):
            return None, None
        return self.username, self.password.reveal()

    @property
    def https(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @property
    def hostname(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (5986 if self.https else 5985)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path.lstrip("/") or "wsman"


@dataclass(frozen=True)
class PsError:
    """One PowerShell error record: its message, FullyQualifiedErrorId and category."""

    message: str
    error_id: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class ScriptResult:
    """What one script run returned. ``errors`` are non-terminating error records."""

    host: str
    script: str
    output: list[Any]
    errors: list[PsError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def had_errors(self) -> bool:
        return bool(self.errors)


class WinRmSession(ABC):
    """One open session (a runspace pool or a WinRS shell) on one host, reused per run.

    A session is used by one thread at a time; :func:`run_on_hosts` runs hosts in
    parallel, each with its own session.
    """

    def __init__(self, target: WinRmTarget) -> None:
        self.target = target

    @abstractmethod
    def run(
        self,
        script: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> ScriptResult:
        """Run ``templates/powershell/SCRIPT.ps1`` with ``parameters`` bound as its parameters."""

    @abstractmethod
    def close(self) -> None:
        """Close the remote session; errors while closing are logged, not raised."""

    def __enter__(self) -> WinRmSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
