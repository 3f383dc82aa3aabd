"""The wiring of ``adsuite serve`` to the ticket framework (``adsuite.tickets``).

:class:`LiveTicketRunner` carries a queued ticket out exactly as ``adsuite ticket
apply --yes`` would: the ticket is written to the server's spool folder (the file the
journal names, with its hash; created 0600 and removed when the run ends), checked
completely, planned, applied and journaled. :class:`LiveTicketCheck` makes the same
offline check at intake, on a spool file that lives only as long as the check.
A password the ticket sets goes into a new file in ``--password-dir`` (mode 0600),
never into the answer to the service desk. :func:`ticket_types` reads which types
the approval rules name and adsuite carries out.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adsuite.errors import InputError
from adsuite.journal.records import RunRecord
from adsuite.journal.store import Journal
from adsuite.runtime.inventory import Inventory
from adsuite.serve.contract import INTERRUPTED, ChangeOutcome, Job, RunResult, TicketTypes
from adsuite.serve.intake import DomainOf
from adsuite.tickets import registry
from adsuite.tickets.delivery import PasswordFile
from adsuite.tickets.rules import load_rules
from adsuite.tickets.runner import Checked, TicketResult, TicketRunner, check_offline

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def ticket_types(rules_path: Path, password_dir: Path | None) -> TicketTypes:
    """The types the rules file names and adsuite carries out (passwords need a folder)."""
    rules = load_rules(rules_path, registry.known())
    accepted: set[str] = set()
    unavailable: dict[str, str] = {}
    for name in rules.rules.types:
        kind = registry.IMPLEMENTED.get(name)
        if kind is None:
            unavailable[name] = (
                f"it has a rule in {rules.file}, but adsuite does not carry it out yet"
            )
        elif kind.sets_password and password_dir is None:
            unavailable[name] = "it sets a password, and this server has no --password-dir for it"
        else:
            accepted.add(name)
    return TicketTypes(frozenset(accepted), unavailable)


def domain_resolver(inventory: Inventory) -> DomainOf:
    """A ticket's ``domain`` (or none: the inventory's only domain) → the domain key."""
    return lambda name: inventory.domain(name)[0]


class LiveTicketRunner:
    """Validates, plans, applies and journals one queued ticket against its domain."""

    def __init__(
        self,
        rules: Path,
        journal: Path,
        spool: Path,
        password_dir: Path | None,
        lease_wait: float = 600.0,
    ) -> None:
        self.lease_wait = lease_wait  # how long a ticket waits for another run's domain lease
        self.rules = rules
        self.journal = journal
        self.spool = spool
        self.password_dir = password_dir

    def __call__(self, job: Job) -> RunResult:
        if job.attempt > 1:
            earlier = self._carried_out_before(job)
            if earlier is not None:
                return earlier
        with spooled(self.spool, job.id, job.ticket) as path:
            return self._carry_out(path, job)

    def _carry_out(self, path: Path, job: Job) -> RunResult:
        checked = check_offline(path, job.inventory, self.rules, journal_path=self.journal)
        runner = TicketRunner(checked)
        delivery = self._delivery(checked, job)
        with runner.connect(wait=self.lease_wait) as conn:
            planned = runner.plan(conn)
            if delivery is not None:
                delivery.reserve()
            try:
                done = runner.apply(planned, conn, keep=delivery, origin={"serve_run": job.id})
            except InputError:  # refused before any change: the file holds nothing set
                if delivery is not None:
                    delivery.discard()
                raise
        notes = self._deliver(done, delivery, checked.file.ticket.id)
        return RunResult(
            done.result.run_id, done.result.status, _outcomes(done), planned.build.summary, notes
        )

    def _delivery(self, checked: Checked, job: Job) -> PasswordFile | None:
        if not checked.kind.sets_password:
            return None
        if self.password_dir is None:
            raise InputError(
                f"a {checked.kind.name} ticket sets a password: start with --password-dir"
            )
        destination = PasswordFile(self._password_path(job))
        if job.attempt > 1 and destination.path.exists():
            # no journal run of this job exists (see __call__): nothing was set from it
            log.warning("run %s: %s held no password that was set; removed", job.id, destination)
            destination.path.unlink()
        destination.check()
        return destination

    def _password_path(self, job: Job) -> Path:
        assert self.password_dir is not None
        name = _UNSAFE.sub("_", str(job.ticket.get("id")))
        return self.password_dir / f"{name}-{job.id}.txt"

    def _deliver(
        self, done: TicketResult, delivery: PasswordFile | None, ticket: str
    ) -> tuple[str, ...]:
        if delivery is None or not delivery.deliver(done.deliveries, ticket):
            return ()
        accounts = ", ".join(d.account for d in done.deliveries if d.set)
        return (
            f"the new password of {accounts} is in {delivery.path.name} in the adsuite server's "
            "password folder: hand it over in person; it must be changed at the first logon",
        )

    def _carried_out_before(self, job: Job) -> RunResult | None:
        """The journal run an earlier attempt of *job* started, reported instead of run again.

        A run that ended is reported as it ended; one the server left without an end is
        ``interrupted``, with each change's outcome (``pending``: nobody knows).
        """
        if not self.journal.exists():
            return None
        with Journal.open(self.journal) as journal:
            named = journal.ticket_runs(str(job.ticket.get("id")))
            runs = [run for run, _ in named if _of(run, job)]
            if not runs:
                return None
            changes = journal.changes(runs[0].id)
        run = runs[0]
        outcomes = tuple(
            ChangeOutcome(c.resource, c.action, c.target, c.outcome, c.error) for c in changes
        )
        interrupted = run.ended is None
        return RunResult(
            run.id,
            INTERRUPTED if interrupted else run.status,
            outcomes,
            None,
            (self._restart_note(job, interrupted),),
        )

    def _restart_note(self, job: Job, interrupted: bool) -> str:
        note = (
            "the server stopped during this run; it was not run again: check the changes "
            "marked pending in the directory"
            if interrupted
            else "carried out before the server restarted; found in the journal"
        )
        if not _sets_password(job):
            return note
        kept = self._password_path(job) if self.password_dir is not None else None
        if kept is None or not kept.exists():
            return note + " (a password it set was not delivered: reset it)"
        return note + (
            f"; the password generated for it is in {kept.name} in the server's password "
            "folder (written before the change that sets it)"
        )


class LiveTicketCheck:
    """``adsuite ticket check --offline`` on a mapped document, at intake."""

    def __init__(self, rules: Path, journal: Path, spool: Path, inventory: Path) -> None:
        self.rules = rules
        self.journal = journal
        self.spool = spool
        self.inventory = inventory

    def __call__(self, document: Mapping[str, Any], domain: str) -> None:
        with spooled(self.spool, f"check-{secrets.token_hex(6)}", document) as path:
            check_offline(path, self.inventory, self.rules, journal_path=self.journal)


@contextmanager
def spooled(folder: Path, name: str, document: Mapping[str, Any]) -> Iterator[Path]:
    """*document* as a JSON file only this user reads (0600 from its creation), removed after."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    data = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    path.unlink(missing_ok=True)  # left by a server that died while it ran: written anew
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        yield path
    finally:
        path.unlink(missing_ok=True)


def _of(run: RunRecord, job: Job) -> bool:
    """Whether *run* is this queued job's: named by reference, or (runs journaled before
    runs carried it) the same ticket, carried out ok since the job was received."""
    if run.extra.get("serve_run") is not None:
        return bool(run.extra["serve_run"] == job.id)
    return (
        run.ticket == job.ticket.get("id")
        and run.mode == "apply"
        and run.status == "ok"
        and run.started >= job.received.removesuffix("Z")
    )


def _sets_password(job: Job) -> bool:
    kind = registry.IMPLEMENTED.get(str(job.ticket.get("type")))
    return kind is not None and kind.sets_password


def _outcomes(done: TicketResult) -> tuple[ChangeOutcome, ...]:
    return tuple(
        ChangeOutcome(o.change.kind, str(o.change.action), o.change.target, o.outcome, o.error)
        for o in done.result.outcomes
    )
