"""Canned answers of the fake WinRM endpoint: what a test declares a script does.

The fake cannot run PowerShell. A test declares, per script name, a
:class:`CannedScript` — the objects it returns, the errors and warnings it writes, the
terminating error it throws, how long it sleeps — and the fake answers exactly that
whenever the text of ``templates/powershell/NAME.ps1`` arrives. This proves the
protocol, the parameter passing and the parsing of output and errors; it proves
nothing about what PowerShell or Windows would do with the script.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psrpcore.types as ps

Output = Sequence[Any] | Callable[[dict[str, Any]], Sequence[Any]]


@dataclass(frozen=True)
class CannedError:
    """An error record the canned script writes (or throws, as ``fails_with``)."""

    message: str
    error_id: str = "FakeCannedError"
    category: str = "NotSpecified"


@dataclass(frozen=True)
class CannedScript:
    """What the fake answers for one script. ``output`` may compute from the parameters."""

    output: Output = ()
    errors: Sequence[CannedError] = ()
    warnings: Sequence[str] = ()
    fails_with: CannedError | None = None
    sleeps: float | Callable[[dict[str, Any]], float] = 0.0


@dataclass
class CannedOutcome:
    output: list[Any] = field(default_factory=list)
    errors: list[CannedError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failure: CannedError | None = None
    stopped: bool = False


@dataclass(frozen=True)
class FakeCall:
    """One script run the fake received: which client, which script, which values."""

    client: str
    script: str
    parameters: dict[str, Any]


NO_CANNED_ANSWER = CannedError(
    "the fake WinRM endpoint has no canned answer for this script",
    error_id="FakeNoCannedAnswer",
)


def play(canned: CannedScript, parameters: dict[str, Any], stop: threading.Event) -> CannedOutcome:
    """Act out a canned script: sleep (until stopped), then its streams and outcome."""
    sleeps = canned.sleeps(parameters) if callable(canned.sleeps) else canned.sleeps
    if sleeps and stop.wait(sleeps):
        return CannedOutcome(stopped=True)
    output = canned.output(parameters) if callable(canned.output) else canned.output
    return CannedOutcome(
        output=list(output),
        errors=list(canned.errors),
        warnings=list(canned.warnings),
        failure=canned.fails_with,
    )


def to_powershell(value: Any) -> Any:
    """A canned Python value as PowerShell would emit it: a top-level dict is a PSCustomObject."""
    if isinstance(value, Mapping):
        return ps.PSCustomObject(**{str(key): item for key, item in value.items()})
    return value


def from_powershell(value: Any) -> Any:
    """A value psrpcore deserialized, as plain Python (to compare with what was sent)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, Mapping):
        return {from_powershell(key): from_powershell(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [from_powershell(item) for item in value]
    if isinstance(value, ps.PSObject):
        members = value.PSObject.extended_properties + value.PSObject.adapted_properties
        return {member.name: from_powershell(member.get_value(value)) for member in members}
    return value


class ConcurrencyMeter:
    """Counts pipelines running at once, across every fake endpoint that shares it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0

    def __enter__(self) -> ConcurrencyMeter:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0)  # let a racing thread see the peak before it drops
        with self._lock:
            self.running -= 1
