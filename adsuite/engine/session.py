"""One run of the pipeline: load → facts → plan → (apply → journal).

The CLI, a ticket and a scheduled drift check all come through here; only what is
shown to the user differs.
"""

from __future__ import annotations

import getpass
import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adsuite.connectors import credentials, endpoints
from adsuite.connectors.credentials import Login, Secret
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.engine import bind_check, drift, drift_incremental, drift_memo, planner, rollback
from adsuite.engine.executor import Outcome, apply_changes
from adsuite.engine.journal_guard import guard_from
from adsuite.engine.loader import Play, Playbook, defer_playbook, load_playbook
from adsuite.engine.planner import Plan
from adsuite.engine.playbook import desired_by_kind
from adsuite.engine.rollback import RollbackPlan
from adsuite.errors import AdsuiteError, DcUnreachable, InputError, LeaseHeld
from adsuite.journal import witness
from adsuite.journal.paths import default_journal_path
from adsuite.journal.store import Journal
from adsuite.resources import registry
from adsuite.runtime import lease, logins
from adsuite.runtime.connections import Connections
from adsuite.runtime.inventory import Inventory, load_inventory
from adsuite.runtime.lease import DomainLease, Notice
from adsuite.runtime.progress import Progress, Silent
from adsuite.source import Location

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
        self,
        playbook: Playbook,
        inventory: Inventory,
        inventory_path: Path,
        journal_path: Path | None = None,
    ) -> None:
        self.playbook = playbook
        self.inventory = inventory
        self.inventory_path = inventory_path
        self.domain_key, self.domain = inventory.domain(planner.playbook_domain(playbook))
        self.journal_path = journal_path or default_journal_path(inventory.journal)
        self.dc_key: str | None = None  # the one DC this run uses, chosen by connect()
        # Every writer of this file in the process MACs its entries and witnesses its run
        # ends (Journal.finish_run); resolved on first use, so a plan needs no key.
        witness.register(self.journal_path, lambda: guard_from(inventory, self.login, self.dc_key))

    @classmethod
    def from_files(
        cls,
        playbook_path: Path,
        inventory_path: Path,
        journal_path: Path | None = None,
        *,
        defer: bool = False,
    ) -> Session:
        """With *defer* (drift), an unchanged playbook's tasks are loaded from the cache
        when first needed: not at all when the check recalls its last outcome."""
        inventory = load_inventory(inventory_path)
        load = defer_playbook if defer else load_playbook
        playbook = load(playbook_path, inventory, registry.specs())
        return cls(playbook, inventory, inventory_path, journal_path)

    def secret(self, name: str) -> Secret:
        entry = self.inventory.credentials.get(name)
        return credentials.resolve(name, entry.secret_file if entry else None)

    def username(self, signed_in: Login | None = None) -> str:
        """Who the domain's credential binds as (a ccache's principal once read)."""
        username = self.inventory.credentials[self.domain.credential].username
        return username if signed_in is None else logins.identity(signed_in, username)

    def login(self, name: str) -> Login:
        """What credential *name* signs in with: its secret, or its Kerberos ticket."""
        return logins.login(self.inventory, name)

    def endpoint(self, key: str | None = None, signed_in: Login | None = None) -> Endpoint:
        """DC *key*'s endpoint; by default the DC this run uses (the preferred one until
        :meth:`connect` has chosen). Its username is *signed_in*'s principal for a ticket."""
        dc = self.domain.dcs[key or self.dc_key or self.domain.preferred_key]
        username = self.username(signed_in)
        ca_file = str(dc.ca_file) if dc.ca_file else None
        return Endpoint(dc.ldap_url, ca_file, dc.tls_name, username)

    @contextmanager
    def connect(
        self, *, write: bool = True, wait: float = 0.0, notice: Notice | None = None
    ) -> Iterator[Connections]:
        """Bind to the preferred DC; other connections open on first use.

        A writing run (the default; ``plan`` and ``drift`` pass ``write=False``) first
        takes the domain's one-writer lease on the PDC emulator, waiting up to *wait*
        seconds for another holder, so the facts it reads next are read under it; it
        is released when the block ends. *notice* hears that the run waits, and of
        changes an earlier run left pending.
        """
        password = self.login(self.domain.credential)
        tell = notice or log.warning
        with endpoints.scope(), self._bind_run_dc(password, tell) as directory:
            if not self.inventory.lab:
                warning = bind_check.over_privileged(
                    directory, self.domain.base_dn, self.domain.realm
                )
                if warning:
                    log.warning("%s", warning)
            held = self._lease(directory, password, wait, tell) if write else None
            conn = Connections(
                directory, self.inventory, self.secret, self.journal_path, held, self.login
            )
            try:
                if held is not None:
                    warn_pending(self.journal_path, tell)
                yield conn
            finally:
                conn.close()
                if held is not None:
                    held.release()

    def _bind_run_dc(self, password: Login, tell: Notice) -> Directory:
        """Bind to the preferred DC or, with ``failover: allowed``, the first DC in
        ``dcs`` order that answers; the whole run then stays on it (:attr:`dc_key`)."""
        order, missed = self.domain.dc_order(), []
        self.dc_key = None
        first_error: DcUnreachable | None = None
        for key in order:
            try:
                directory = Directory.connect(self.endpoint(key, password), password)
            except DcUnreachable as error:
                log.info("DC %s: %s", key, error)
                missed.append(key)
                first_error = first_error or error
                continue
            if missed:
                tell(
                    f"preferred DC {missed[0]} does not answer; failover is allowed, "
                    f"so this run uses {key} ({self.domain.dcs[key].ldap_url}) only"
                )
            self.dc_key = key
            return directory
        assert first_error is not None
        if len(self.domain.dcs) == 1:
            raise first_error
        if self.domain.failover == "refuse":
            raise DcUnreachable(
                f"preferred DC {order[0]}: {first_error.message}; domain {self.domain_key} "
                "has failover: refuse, so the run uses none of its other DCs",
                hint="start that DC, or set failover: allowed for the domain in the inventory",
            )
        raise DcUnreachable(
            f"no DC of domain {self.domain_key} answers (tried {', '.join(order)}): "
            f"{first_error.message}",
            hint="check that the DCs are running",
        )

    def _lease(
        self, directory: Directory, password: Login, wait: float, tell: Notice
    ) -> DomainLease:
        try:
            pdc = lease.connect_pdc(directory, self.domain, self.username(password), password)
        except DcUnreachable as error:
            raise LeaseHeld(
                f"the domain lease lives on the PDC emulator, which does not answer ({error}); "
                "a writing run takes it there only, so it refuses",
                hint="start the PDC emulator, or transfer its role to a DC that runs",
            ) from None
        return DomainLease.take(pdc, (self.domain_key, self.domain), self.journal_path, wait, tell)

    @classmethod
    def for_inventory(
        cls, inventory_path: Path, domain: str | None = None, journal_path: Path | None = None
    ) -> Session:
        """A session with no playbook of its own (rollback, reports), bound to *domain*."""
        inventory = load_inventory(inventory_path)
        key, _ = inventory.domain(domain)
        empty = Playbook(
            inventory_path, "", (Play("none", key, (), Location(str(inventory_path))),), ()
        )
        return cls(empty, inventory, inventory_path, journal_path)

    def plan(self, conn: Connections, progress: Progress | None = None) -> Plan:
        return self.plan_for(self.playbook, conn, progress)

    def snapshot_reader(
        self, conn: Connections, *, full: bool, max_age_hours: float
    ) -> drift_incremental.SnapshotReader:
        """Let a drift run read through its snapshot of this DC (docs/drift.md)."""
        username = self.inventory.credentials[self.domain.credential].username
        reader = drift_incremental.SnapshotReader(conn.ldap, username, self.domain.base_dn)
        with Journal.open(self.journal_path) as journal:  # it vouches for the snapshot
            reader.start(full=full, max_age_hours=max_age_hours, vouched=journal.snapshot_writer)
        return reader

    def check_drift(
        self,
        conn: Connections,
        reader: drift_incremental.SnapshotReader,
        progress: Progress | None = None,
    ) -> drift.Outcome:
        """A drift check read through *reader*: the plan's outcome, or the last check's
        when nothing it read has changed since (engine/drift_memo.py)."""
        return drift_memo.outcome(
            reader,
            drift_memo.key(self.playbook, self.inventory, self.domain_key),
            lambda: desired_by_kind(self.playbook),  # the tasks: loaded only now
            lambda desired, read: planner.build_plan(self.domain_key, self.domain, desired, read),
            planner.read_from(conn, progress or Silent()),
        )

    def plan_for(
        self, playbook: Playbook, conn: Connections, progress: Progress | None = None
    ) -> Plan:
        desired = desired_by_kind(playbook)
        read = planner.read_from(conn, progress or Silent())
        return planner.build_plan(self.domain_key, self.domain, desired, read)

    def rollback_plan(
        self, run_id: str, conn: Connections, progress: Progress | None = None
    ) -> RollbackPlan:
        """The reverse of journaled run *run_id*, planned against the directory as it is now."""
        with Journal.open(self.journal_path) as journal:
            run = journal.run(run_id)
            records = journal.changes(run.id)
        ticket_type = (run.extra.get("ticket") or {}).get("type") if run.ticket else None
        refused = rollback.ticket_refusal(ticket_type)
        plan_of = lambda playbook: self.plan_for(playbook, conn, progress)  # noqa: E731
        return rollback.build(
            run_id, records, self.domain_key, self.domain.base_dn, plan_of, refused
        )

    def operator(self, conn: Connections) -> dict[str, str]:
        """Who runs, as whom, and the run's directory connection as the DC sees it: its
        client address:port tells this run's logon and writes apart in the DC's logs."""
        found = {
            "os_user": getpass.getuser(),
            "bind_identity": conn.ldap.endpoint.username,
            "bound_at": conn.ldap.bound_at,  # the bind precedes the run
        }
        if conn.ldap.client:
            found["client"] = conn.ldap.client
        if self.dc_key is not None:  # the one DC of this run (failover may have chosen it)
            found["dc"] = self.dc_key
            found["dc_url"] = conn.ldap.endpoint.url
        return found

    def apply(
        self,
        plan: Plan,
        conn: Connections,
        *,
        ticket: str | None = None,
        extra: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        mode: str = "apply",
        claim: bool = False,
    ) -> ApplyResult:
        """Apply exactly *plan*, journaling every change, under the domain lease *conn* holds.

        With *claim* the run claims *ticket* as it starts (a ticket runs once): in the
        directory, against every other adsuite host, then in the journal with its
        run_start, where the claim rule of journal/claims.py decides a retry.
        """
        held: DomainLease | None = conn.lease
        if held is None:
            raise AdsuiteError("internal error: a writing run must hold the domain lease")
        held.check()
        with Journal.open(self.journal_path) as journal:
            if claim and ticket:
                known_here = any(run.ticket == ticket for run in journal.runs())
                held.claim_ticket(ticket, self.domain.base_dn, known_here=known_here)
            run_id = self._start(journal, mode, conn, ticket, extra, claim)
            held.bind_run(run_id)
            guarded = LeaseGuard(progress or Silent(), held)
            try:
                outcomes = apply_changes(plan.changes, conn, journal, run_id, guarded)
            except BaseException:  # interrupted or a journal write failed: end the run anyway
                journal.finish_run(run_id, status="failed", counts=plan.counts())
                raise
            result = ApplyResult(run_id, tuple(outcomes))
            counts = {**plan.counts(), **result.counts()}
            journal.finish_run(run_id, status=result.status, counts=counts)
        return result

    def record_drift(
        self, outcome: drift.Outcome, conn: Connections, reading: Mapping[str, Any] | None = None
    ) -> str:
        """Journal that a drift check ran and what it found (no changes are made), and
        how it read the directory (*reading*: full or incremental, the USN mark)."""
        found: dict[str, Any] = {  # a finding's identity across playbooks is (domain, id)
            "findings": [f.to_dict() for f in outcome.findings],
            "domain": self.domain_key,
        }
        if reading is not None:
            found["reading"] = dict(reading)
        with Journal.open(self.journal_path) as journal:
            run_id = self._start(journal, "drift", conn, None, found, False)
            status = "drift" if outcome.drifted else "ok"
            journal.finish_run(run_id, status=status, counts=outcome.counts)
        return run_id

    def _start(
        self,
        journal: Journal,
        mode: str,
        conn: Connections,
        ticket: str | None,
        extra: Mapping[str, Any] | None,
        claim: bool,
    ) -> str:
        return journal.start_run(
            mode=mode,
            operator=self.operator(conn),
            playbook=str(self.playbook.path),
            playbook_sha256=self.playbook.sha256,
            inventory=str(self.inventory_path),
            ticket=ticket,
            extra=extra,
            claim_ticket=claim,
        )


class LeaseGuard:
    """Progress that, between two changes, stops a run whose lease was lost."""

    def __init__(self, inner: Progress, held: DomainLease) -> None:
        self._inner, self._held = inner, held

    def start(self, label: str, total: int) -> None:
        self._inner.start(label, total)

    def advance(self, steps: int = 1) -> None:
        self._inner.advance(steps)
        self._held.check()

    def finish(self) -> None:
        self._inner.finish()


def warn_pending(journal_path: Path, tell: Notice) -> None:
    """Tell of changes an earlier run intended and never recorded an outcome for."""
    if not journal_path.exists():
        return
    with Journal.open(journal_path) as journal:
        pending = journal.pending_changes()
    by_run: dict[str, list[str]] = {}
    for change in pending:
        by_run.setdefault(change.run_id, []).append(
            f"{change.action} {change.resource} {change.target}"
        )
    for run_id, changes in by_run.items():
        tell(
            f"run {run_id} has {len(changes)} pending change(s), intended but with no "
            f"outcome in the journal: sent or not, the run stopped first (check them in "
            f"the directory): {'; '.join(changes)}"
        )


def previous_findings(journal_path: Path, reference: str, playbook_sha256: str) -> list[Any] | None:
    """The findings of an earlier drift check: a run id, or ``last`` for the latest
    check of the same playbook — None when there is none yet (the first check, or the
    first after the playbook changed): then every finding is new."""
    with Journal.open(journal_path) as journal:
        if reference != "last":
            run = journal.run(reference)
        else:
            runs = [
                r
                for r in journal.runs()
                if r.mode == "drift" and r.playbook_sha256 == playbook_sha256
            ]
            if not runs:
                return None
            run = runs[0]
    if run.mode != "drift":
        raise InputError(f"run {run.id} is a {run.mode} run, not a drift check")
    found: list[Any] = run.extra.get("findings", [])
    return found
