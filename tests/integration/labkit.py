"""Types the integration tests share: the lab as the tests see it, a CLI result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adsuite.engine.session import Session
from adsuite.lab.samba import LabStatus


@dataclass(frozen=True)
class Lab:
    status: LabStatus
    inventory: Path
    journal: Path

    def session(self, playbook: Path) -> Session:
        return Session.from_files(playbook, self.inventory, self.journal)


@dataclass(frozen=True)
class Cli:
    code: int
    out: str
    err: str
