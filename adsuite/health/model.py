"""What a health check finds and measures: findings with stable ids, info lines, the
measured values per DC, and the thresholds they are held to (as data).

A finding's id names the DC (or ``domain``), the check and, where a check speaks of
several things, the thing (a GPO's GUID, an FSMO role): ``health:dc1:ldaps``,
``health:dc1:gpo:{31B2F340-016D-11D2-945F-00C04FB984F9}``, ``health:domain:fsmo:pdc``.
Measured numbers stay out of the id, so the same fault keeps its id from day to day.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from adsuite.runtime.inventory import HealthLimits as Thresholds

log = logging.getLogger(__name__)

DOMAIN = "domain"  # the "DC" of a finding about the domain as a whole
Severity = Literal["error", "warning"]
__all__ = ["DOMAIN", "Finding", "Info", "Report", "Thresholds", "finding"]


@dataclass(frozen=True)
class Finding:
    id: str
    dc: str
    check: str
    text: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def finding(dc: str, check: str, text: str, *, about: str | None = None, **kw: Any) -> Finding:
    """A finding with its stable id: ``health:<dc>:<check>[:<about>]``."""
    ident = f"health:{dc}:{check}" + (f":{about}" if about else "")
    return Finding(ident, dc, check, text, **kw)


@dataclass(frozen=True)
class Info:
    """A line that is said, not found: a check that does not apply, a value in range."""

    dc: str
    check: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    domain: str
    dcs: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)
    info: list[Info] = field(default_factory=list)
    measured: dict[str, dict[str, Any]] = field(default_factory=dict)  # dc -> name -> value

    @property
    def healthy(self) -> bool:
        return not self.findings

    @property
    def status(self) -> str:
        return "healthy" if self.healthy else "unhealthy"

    def measure(self, dc: str, name: str, value: Any) -> None:
        self.measured.setdefault(dc, {})[name] = value

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "status": self.status,
            "dcs": list(self.dcs),
            "findings": [f.to_dict() for f in self.findings],
            "info": [i.to_dict() for i in self.info],
            "measured": self.measured,
        }
