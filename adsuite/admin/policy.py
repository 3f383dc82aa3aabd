"""The allow-list a super-administrator command works from: the playbook's ``privileged`` task.

policy = load_policy(Path("playbooks/superadmin.yml"), Path("inventory/lab.yml"))
policy.spec.holders, policy.spec.accounts, policy.session.journal_path
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from adsuite.engine.session import Session
from adsuite.errors import InputError
from adsuite.resources.privileged import privileged
from adsuite.resources.privileged.spec import Account, Spec
from adsuite.source import Location

log = logging.getLogger(__name__)

DEFAULT_PLAYBOOK = "playbooks/superadmin.yml"


@dataclass(frozen=True)
class AdminPolicy:
    spec: Spec
    location: Location
    session: Session

    def account(self, name: str) -> tuple[str, Account]:
        """The declared super-administrator account *name*, or one InputError."""
        found = self.spec.account(name)
        if found is None:
            declared = ", ".join(self.spec.accounts) or "none"
            raise InputError(
                f"{name} is not a super-administrator account this playbook declares "
                f"(accounts: {declared})",
                file=self.location.file,
                line=self.location.line,
            )
        return found

    def check_holder(self, holder: str) -> None:
        if not self.spec.is_holder(holder):
            raise InputError(
                f"{holder} is not an allow-listed holder ({', '.join(self.spec.holders)}): "
                "五.6 lets only the 1-2 IT staff the IT head assigned use these accounts",
                file=self.location.file,
                line=self.location.line,
            )


def load_policy(playbook: Path, inventory: Path, journal_path: Path | None = None) -> AdminPolicy:
    """The playbook's one ``privileged`` task, with a session bound to its domain."""
    session = Session.from_files(playbook, inventory, journal_path)
    tasks = [t for play in session.playbook.plays for t in play.tasks if t.kind == privileged.NAME]
    if not tasks:
        raise InputError(
            f"declares no privileged task (the allow-list of {DEFAULT_PLAYBOOK})",
            file=str(playbook),
        )
    task = tasks[0]
    assert isinstance(task.spec, Spec)
    return AdminPolicy(task.spec, task.location, session)
