"""One run of the pipeline: load → facts → plan → (apply → journal).

The CLI, a ticket and a scheduled drift check all come through here; only what is
shown to the user differs.
"""

from __future__ import annotations

import getpass
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from adsuite.connectors import credentials
from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.engine import planner
from adsuite.engine.executor import Outcome, apply_changes
from adsuite.engine.inventory import Inventory, load_inventory
from adsuite.engine.loader import Playbook, load_playbook
from adsuite.engine.planner import Plan
from adsuite.engine.progress import Progress, Silent
from adsuite.journal.paths import default_journal_path
from adsuite.journal.store import Journal
from adsuite.resources import registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyResult:
    run_id: str
    outcomes: tuple[Outcome, ...]

    def counts(self) -> dict[str, int]:
        counted = Counter(o.outcome for o in self.outcomes)
        return {k: counted.get(k, 0) for k in ("applied", "failed", "conflict", "skipped")}

    @property
    def status(self) -> str:
        counts = self.counts()
        if counts["conflict"]:
            return "conflict"
        return "failed" if counts["failed"] else "ok"


class Session:
    """A loaded playbook and inventory, bound to the domain they target."""

    def __init__(
        self, playbook_path: Path, inventory_path: Path, journal_path: Path | None = None
    ) -> None:
        self.inventory_path = inventory_path
        self.inventory: Inventory = load_inventory(inventory_path)
        self.playbook: Playbook = load_playbook(playbook_path, self.inventory, registry.specs())
        self.domain_key, self.domain = self.inventory.domain(planner.playbook_domain(self.playbook))
        self.journal_path = journal_path or self.inventory.journal or default_journal_path()

    def secret(self, name: str) -> Secret:
        entry = self.inventory.credentials.get(name)
        return credentials.resolve(name, entry.secret_file if entry else None)

    def endpoint(self) -> Endpoint:
        dc = self.domain.preferred()
        username = self.inventory.credentials[self.domain.credential].username
        return Endpoint(dc.ldap_url, str(dc.ca_file) if dc.ca_file else None, dc.tls_name, username)

    @contextmanager
    def directory(self) -> Iterator[Directory]:
        with Directory.connect(self.endpoint(), self.secret(self.domain.credential)) as directory:
            yield directory

    def plan(self, directory: Directory, progress: Progress | None = None) -> Plan:
        desired = planner.desired_by_kind(self.playbook)
        read = planner.read_from(directory, progress or Silent())
        return planner.build_plan(self.domain_key, self.domain, desired, read)

    def operator(self, directory: Directory) -> dict[str, str]:
        return {"os_user": getpass.getuser(), "bind_identity": directory.endpoint.username}

    def apply(
        self,
        plan: Plan,
        directory: Directory,
        *,
        ticket: str | None = None,
        progress: Progress | None = None,
    ) -> ApplyResult:
        """Apply exactly *plan*, journaling every change."""
        with Journal.open(self.journal_path) as journal:
            run_id = self._start(journal, "apply", directory, ticket)
            outcomes = apply_changes(
                plan.changes, directory, journal, run_id, self.secret, progress or Silent()
            )
            result = ApplyResult(run_id, tuple(outcomes))
            journal.finish_run(
                run_id, status=result.status, counts={**plan.counts(), **result.counts()}
            )
        return result

    def record_drift(self, plan: Plan, directory: Directory) -> str:
        """Journal that a drift check ran and what it found (no changes are made)."""
        with Journal.open(self.journal_path) as journal:
            run_id = self._start(journal, "drift", directory, None)
            journal.finish_run(
                run_id, status="drift" if plan.changes else "ok", counts=plan.counts()
            )
        return run_id

    def _start(self, journal: Journal, mode: str, directory: Directory, ticket: str | None) -> str:
        return journal.start_run(
            mode=mode,
            operator=self.operator(directory),
            playbook=str(self.playbook.path),
            playbook_sha256=self.playbook.sha256,
            inventory=str(self.inventory_path),
            ticket=ticket,
        )
