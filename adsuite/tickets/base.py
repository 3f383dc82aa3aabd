"""What every ticket type shares: its interface, what it reads, and what it sees.

A ticket type is a :class:`TicketType` in a module of its own: a pydantic model of its
parameters, ``needs`` (what to read from the directory, decided from the parameters
alone; unknown companies are refused here), and ``build`` (the facts read → the
playbook tasks of the run, refusing anything the facts contradict). ``bind_roles``
may tie an approver role to named people for one ticket; ``scope`` says, from the
facts, which companies' role holders (and which user's manager) may approve it.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from adsuite.engine.loader import Task
from adsuite.errors import InputError
from adsuite.formats import dn as dnlib
from adsuite.formats.yaml_source import validation_error
from adsuite.resources import registry
from adsuite.resources.accounts.password_reset import TICKET_CONTEXT
from adsuite.runtime.inventory import Company, Inventory
from adsuite.source import Location
from adsuite.tickets.model import TicketFile
from adsuite.tickets.rules import Binding

log = logging.getLogger(__name__)

ParamPath = tuple[str | int, ...]  # a path inside the ticket's ``parameters``
GENERATED = "ticket-generated"  # the credential name a ticket's new password is set from


@dataclass(frozen=True)
class Needs:
    """What a ticket reads before it is built: accounts by name, OUs by DN, groups of users."""

    names: tuple[str, ...] = ()  # sAMAccountNames (users, groups, computers with '$')
    ous: tuple[str, ...] = ()  # OU DNs whose existence matters
    groups_of: tuple[str, ...] = ()  # users whose direct group memberships are read


@dataclass(frozen=True)
class Account:
    name: str  # sAMAccountName as the directory spells it
    dn: str
    kind: str  # user | group | computer | other
    enabled: bool | None = None
    upn: str | None = None
    member_of: frozenset[str] = frozenset()  # DN keys of its direct groups (memberOf)
    manager: str | None = None  # its manager's DN


@dataclass(frozen=True)
class Group:
    name: str
    dn: str


@dataclass(frozen=True)
class Found:
    """The facts a ticket is checked and built against."""

    accounts: Mapping[str, Account]  # lower sAMAccountName -> account
    ous: frozenset[str]  # DN keys of the OUs that exist
    groups_of: Mapping[str, tuple[Group, ...]]  # lower user name -> its groups

    def account(self, name: str) -> Account | None:
        return self.accounts.get(name.lower())


@dataclass(frozen=True)
class Scope:
    """Whose role holders may approve a ticket: its companies, its user's manager."""

    companies: tuple[str, ...] = ()  # company codes, for role groups like {company}-HR
    subject: str | None = None  # the ticket's user, in words
    manager: str | None = None  # the DN of that user's manager


@dataclass(frozen=True)
class Build:
    """A ticket turned into a run: its tasks and what the run records beside them."""

    tasks: tuple[Task, ...]
    summary: str  # one line: "new account zhang.wei in HQ"
    record: Mapping[str, Any] = field(default_factory=dict)  # journaled with the run
    memberships_first: bool = False  # group changes before the account moves
    passwords: Mapping[str, str] = field(default_factory=dict)  # credential -> account


@dataclass
class TicketEnv:
    """What a ticket type sees: the ticket, the inventory and the domain it targets."""

    ticket: TicketFile
    inventory: Inventory
    domain_key: str
    base_dn: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    journal_path: Path | None = None
    playbook: Path | None = None  # the playbook a ticket type checks against (--playbook)

    @property
    def id(self) -> str:
        return self.ticket.ticket.id

    def error(self, path: ParamPath, message: str) -> InputError:
        """An InputError at a parameter's line."""
        return self.ticket.error(("parameters", *path), message)

    def location(self, path: ParamPath) -> Location:
        return Location(self.ticket.file, self.ticket.doc.line_for(("parameters", *path)))

    def company(self, code: str, path: ParamPath) -> Company:
        for company in self.inventory.companies:
            if company.code == code:
                return company
        codes = [c.code for c in self.inventory.companies]
        close = difflib.get_close_matches(code, codes, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(codes) or 'none'}"
        raise self.error(path, f"unknown company '{code}' ({hint})")

    def company_of(self, dn: str) -> Company | None:
        """The company whose root OU holds *dn*."""
        for company in self.inventory.companies:
            if dnlib.is_under(dn, self.ou_dn(company.code)):
                return company
        return None

    def ou_dn(self, path: str) -> str:
        return dnlib.ou_path_to_dn(path, self.base_dn)

    def require(self, found: Found, name: str, kind: str, path: ParamPath) -> Account:
        account = found.account(name)
        if account is None:
            raise self.error(path, f"no {kind} named '{name}' in the domain")
        if account.kind != kind:
            raise self.error(path, f"'{name}' is a {account.kind}, not a {kind}")
        return account

    def require_absent(self, found: Found, name: str, kind: str, path: ParamPath) -> None:
        account = found.account(name)
        if account is not None:
            raise self.error(
                path,
                f"{account.kind} '{account.name}' already exists ({account.dn}); "
                f"this ticket creates a new {kind}",
            )

    def require_ou(self, found: Found, dn: str, path: ParamPath, what: str) -> None:
        if dnlib.key(dn) not in found.ous:
            raise self.error(
                path, f"{what} ({dn}) does not exist; apply playbooks/group_domain.yml first"
            )

    def task(self, kind: str, args: Mapping[str, Any], path: ParamPath, name: str) -> Task:
        """A playbook task of *kind*, validated as a playbook's would be, at *path*'s line."""
        model = registry.KINDS[kind].spec
        try:
            spec = model.model_validate(dict(args), context={TICKET_CONTEXT: self.id})
        except ValidationError as exc:
            raise validation_error(
                self.ticket.doc, exc, base=("parameters",), what=f"{kind} task", model=model
            ) from None
        return Task(kind, name, spec, self.location(path), None)


def subject_scope(
    env: TicketEnv, found: Found, companies: Sequence[str], subject: str | None
) -> Scope:
    """*companies* and, if the subject user exists, the company whose OU holds it and
    its manager."""
    codes = list(companies)
    account = found.account(subject) if subject else None
    home = env.company_of(account.dn) if account else None
    if home is not None and home.code not in codes:
        codes.append(home.code)
    manager = account.manager if account else None
    return Scope(tuple(codes), subject, manager)


NeedsFn = Callable[[TicketEnv, Any], Needs]
BuildFn = Callable[[TicketEnv, Any, Found], Build]
BindFn = Callable[[TicketEnv, Any], Mapping[str, Binding]]
ScopeFn = Callable[[TicketEnv, Any, Found], Scope]


def _no_bindings(env: TicketEnv, params: Any) -> Mapping[str, Binding]:
    return {}


def _no_scope(env: TicketEnv, params: Any, found: Found) -> Scope:
    return Scope()


@dataclass(frozen=True)
class TicketType:
    """One ticket type: its parameters and how a ticket of it becomes a run."""

    name: str
    params: type[BaseModel]
    needs: NeedsFn
    build: BuildFn
    bind_roles: BindFn = _no_bindings
    sets_password: bool = False  # its run sets a password that must be delivered
    scope: ScopeFn = _no_scope  # whose role holders may approve (approvers.py)


def membership_tasks(
    env: TicketEnv, account: Account, groups: Sequence[str], mode: str, path: ParamPath, why: str
) -> list[Task]:
    """One membership task per group: *account* added to or removed from it.

    The member is named by its DN as read, not by its name: a ticket that also moves
    the account declares it at its new DN, and these changes run before the move.
    """
    return [
        env.task("membership", {"group": g, "members": [account.dn], "mode": mode}, path, why)
        for g in groups
    ]
