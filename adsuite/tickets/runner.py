"""A ticket as a run: validated completely, planned by the engine, applied, journaled.

:func:`check_offline` does every check that needs no directory — the ticket's form,
its type, its parameters, its approvals and confirmations against the rules file,
its companies, and that it has not been carried out before. :class:`TicketRunner`
then reads the facts the type needs, builds the playbook tasks (refusing a ticket
the facts contradict), checks that the requester and approvers are enabled users
holding their roles (:mod:`adsuite.tickets.approvers`), and plans the tasks through
the normal engine. Only then is anything applied: the run journals the ticket id, and the
requester, approvals, the rule that was met and the type's record in the run's
``extra``.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from adsuite.connectors.credentials import Secret
from adsuite.engine.loader import Play, Playbook
from adsuite.engine.planner import Plan
from adsuite.engine.session import ApplyResult, Session
from adsuite.errors import InputError
from adsuite.formats.yaml_source import validation_error
from adsuite.journal import claims
from adsuite.journal.paths import default_journal_path
from adsuite.journal.store import Journal
from adsuite.resources.accounts.password_reset import PasswordWrite
from adsuite.resources.base import Change, LdapWrite, SecretRef
from adsuite.resources.directory.io import generate_password
from adsuite.runtime.connections import Connections
from adsuite.runtime.inventory import Inventory, load_inventory
from adsuite.runtime.lease import Notice
from adsuite.runtime.progress import Progress
from adsuite.source import Location
from adsuite.tickets import approvers, directory, registry
from adsuite.tickets.base import Build, Found, Needs, TicketEnv, TicketType
from adsuite.tickets.model import TicketFile, read_ticket
from adsuite.tickets.rules import (
    Binding,
    LoadedRules,
    Satisfied,
    TypeRule,
    check_ticket,
    load_rules,
)

log = logging.getLogger(__name__)

DEFAULT_RULES = "playbooks/approvals.yml"


@dataclass(frozen=True)
class Checked:
    """A ticket that passed every check that needs no directory."""

    file: TicketFile
    rules: LoadedRules
    rule: TypeRule
    kind: TicketType
    params: BaseModel
    env: TicketEnv
    needs: Needs
    satisfied: tuple[Satisfied, ...]
    inventory_path: Path
    journal_path: Path
    bindings: Mapping[str, Binding] = dataclasses.field(default_factory=dict)

    @property
    def inventory(self) -> Inventory:
        return self.env.inventory


@dataclass(frozen=True)
class TicketPlan:
    """The facts read, the tasks built from them, and the plan the engine made."""

    found: Found
    build: Build
    session: Session
    plan: Plan


@dataclass(frozen=True)
class Delivery:
    """A password the run set, for the operator to hand over out of band."""

    account: str
    secret: Secret
    set: bool  # False: the change that would set it did not apply
    must_change: bool = True  # a ticket's user changes it at first logon; a check-out's holder not


class PasswordKeeper(Protocol):
    """Where a generated password goes before the change that sets it (a 0600 file)."""

    def keep(self, deliveries: tuple[Delivery, ...], ticket_id: str) -> None: ...


@dataclass(frozen=True)
class TicketResult:
    result: ApplyResult
    deliveries: tuple[Delivery, ...]


def check_offline(
    ticket_path: Path,
    inventory_path: Path,
    rules_path: Path,
    *,
    now: datetime | None = None,
    journal_path: Path | None = None,
    playbook: Path | None = None,
) -> Checked:
    """Validate a ticket without the directory; the first problem is one InputError.

    *playbook* is the one a ticket type checks against, if it uses one (the file-server
    playbook of a permission_change ticket); the type has its default.
    """
    rules = load_rules(rules_path, registry.known())
    inventory = load_inventory(inventory_path)
    file = read_ticket(ticket_path)
    kind = _kind(file, rules)
    rule = rules.rule_for(file)
    params = _params(file, kind)
    now = now or datetime.now(UTC)
    journal = journal_path or default_journal_path(inventory.journal)
    env = dataclasses.replace(
        _env(file, inventory), now=now, journal_path=journal, playbook=playbook
    )
    bindings = kind.bind_roles(env, params)
    satisfied = check_ticket(file, rules, now=now, bindings=bindings)
    needs = approvers.with_people(kind.needs(env, params), file)
    _not_carried_out(file, journal)
    return Checked(
        file,
        rules,
        rule,
        kind,
        params,
        env,
        needs,
        tuple(satisfied),
        inventory_path,
        journal,
        bindings,
    )


def _kind(file: TicketFile, rules: LoadedRules) -> TicketType:
    name = file.ticket.type
    kind = registry.IMPLEMENTED.get(name)
    if kind is not None:
        return kind
    if name in registry.known():
        raise file.error(
            ("type",),
            f"ticket type '{name}' has an approval rule ({rules.file}) but adsuite "
            "does not carry it out yet",
        )
    close = difflib.get_close_matches(name, registry.known(), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(registry.IMPLEMENTED)}"
    raise file.error(("type",), f"unknown ticket type '{name}' ({hint})")


def _params(file: TicketFile, kind: TicketType) -> BaseModel:
    try:
        return kind.params.model_validate(file.ticket.parameters)
    except ValidationError as exc:
        raise validation_error(
            file.doc, exc, base=("parameters",), what="parameters", model=kind.params
        ) from None


def _env(file: TicketFile, inventory: Inventory) -> TicketEnv:
    try:
        key, domain = inventory.domain(file.ticket.domain)
    except InputError as exc:
        raise file.error(("domain",), exc.message) from None
    return TicketEnv(file, inventory, key, domain.base_dn)


def _not_carried_out(file: TicketFile, journal_path: Path) -> None:
    """A ticket runs once: its approvals were given for one change, not for replays.

    Checked before the run to refuse early; the claim that decides is made as the run
    starts, under the domain lease (``Journal.start_run(claim_ticket=True)``).
    """
    if not journal_path.exists():
        return
    with Journal.open(journal_path) as journal:
        runs = journal.ticket_runs(file.ticket.id)
    try:
        claims.check(file.ticket.id, runs)
    except InputError as exc:
        raise file.error(("id",), f"{exc.message}, so file a new one") from None


class _TicketSession(Session):
    """A session whose credential lookup knows the passwords this ticket generates."""

    def __init__(
        self, playbook: Playbook, checked: Checked, generated: Mapping[str, Secret]
    ) -> None:
        super().__init__(playbook, checked.inventory, checked.inventory_path, checked.journal_path)
        self._generated = generated

    def secret(self, name: str) -> Secret:
        found = self._generated.get(name)
        return found if found is not None else super().secret(name)


class TicketRunner:
    """Plans and applies one checked ticket over one connection to its domain."""

    def __init__(self, checked: Checked) -> None:
        self.checked = checked
        self._generated: dict[str, Secret] = {}
        self._connector = _TicketSession(self._playbook(()), checked, self._generated)

    @contextmanager
    def connect(
        self, *, write: bool = True, wait: float = 0.0, notice: Notice | None = None
    ) -> Iterator[Connections]:
        """Bind to the ticket's domain; to carry it out (*write*), under the domain lease,
        after which the ticket is checked again against the journal: a run of the same
        ticket that held the lease before this one is named, not raced."""
        with self._connector.connect(write=write, wait=wait, notice=notice) as conn:
            if write:
                _not_carried_out(self.checked.file, self.checked.journal_path)
            yield conn

    def plan(self, conn: Connections, progress: Progress | None = None) -> TicketPlan:
        """Read the facts, build the tasks (refusing what the facts contradict), plan."""
        c = self.checked
        found = directory.read(conn, c.env.base_dn, c.needs, progress)
        build = c.kind.build(c.env, c.params, found)
        self._verify_people(conn, found, progress)
        session = _TicketSession(self._playbook(build.tasks), c, self._generated)
        plan = session.plan(conn, progress)
        if build.memberships_first:
            ordered = sorted(plan.changes, key=lambda change: change.kind != "membership")
            plan = dataclasses.replace(plan, changes=tuple(ordered))
        return TicketPlan(found, build, session, plan)

    def _verify_people(self, conn: Connections, found: Found, progress: Progress | None) -> None:
        """The requester and approvers: enabled users holding their roles (before any write)."""
        c = self.checked
        scope = c.kind.scope(c.env, c.params, found)
        names = approvers.role_groups(c.rules, c.rule, scope)
        groups = directory.read_accounts(conn, c.env.base_dn, names, progress)
        approvers.verify(c.file, c.rules, found, groups, scope, c.bindings)

    def apply(
        self,
        planned: TicketPlan,
        conn: Connections,
        progress: Progress | None = None,
        *,
        keep: PasswordKeeper | None = None,
        origin: Mapping[str, Any] | None = None,
    ) -> TicketResult:
        """Generate the ticket's passwords, hand them to *keep* (written before the change
        that sets them), apply exactly *planned* claiming the ticket, journal it.

        *origin* goes into the run's ``extra`` (e.g. the serve queue's run reference).
        """
        ticket = self.checked.file.ticket.id
        for name in planned.build.passwords:
            self._generated[name] = generate_password()
        if keep is not None and planned.build.passwords:
            pending = tuple(
                Delivery(account, self._generated[name], False)
                for name, account in planned.build.passwords.items()
            )
            keep.keep(pending, ticket)
        result = planned.session.apply(
            planned.plan,
            conn,
            ticket=ticket,
            extra=self.extra(planned) | dict(origin or {}),
            progress=progress,
            claim=True,
        )
        return TicketResult(result, self._deliveries(planned, result))

    def extra(self, planned: TicketPlan) -> dict[str, Any]:
        """What the run journals beside its changes: the ticket, the rule met, the record."""
        c = self.checked
        return {
            "ticket": c.file.record(),
            "approval_rules": {
                "file": c.rules.file,
                "sha256": c.rules.sha256,
                "clause": c.rule.clause,
                "satisfied": [s.record() for s in c.satisfied],
            },
            "record": dict(planned.build.record),
        }

    def _playbook(self, tasks: tuple[Any, ...]) -> Playbook:
        c = self.checked
        path = Path(c.file.file)
        name = f"ticket {c.file.ticket.id} ({c.file.ticket.type})"
        play = Play(name, c.env.domain_key, tasks, Location(c.file.file, 1))
        return Playbook(path, c.file.sha256, (play,), (path,))

    def _deliveries(self, planned: TicketPlan, result: ApplyResult) -> tuple[Delivery, ...]:
        out = []
        for name, account in planned.build.passwords.items():
            done = any(
                o.outcome == "applied" and _sets_password_from(o.change, name)
                for o in result.outcomes
            )
            out.append(Delivery(account, self._generated[name], done))
        return tuple(out)


def _sets_password_from(change: Change, credential: str) -> bool:
    for write in change.writes:
        if isinstance(write, PasswordWrite) and write.password.credential == credential:
            return True
        if isinstance(write, LdapWrite):
            ref = write.attributes.get("unicodePwd")
            if isinstance(ref, SecretRef) and ref.credential == credential:
                return True
    return False
