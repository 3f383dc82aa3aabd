"""Approvers and requesters checked against the directory: real, enabled, holding the role.

approvals.yml says per role how the directory tells who holds it (``held_by``): a
direct member of a group of a company the ticket concerns (``{company}-HR``), the
manager of the ticket's user, or the person the ticket type names (the data owner's
head). :func:`verify` is pure — the ticket, the rules, the accounts read and the
role groups found in, the first problem out as one ``file:line`` InputError naming
the clause — so role resolution is tested as data. The reads are bulk: every
approver and the requester are added to the ticket's own first search
(:func:`with_people`), and the role groups of the ticket's companies are one more.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from adsuite.formats import dn as dnlib
from adsuite.tickets.base import Account, Found, Needs, Scope
from adsuite.tickets.model import Approval, TicketFile
from adsuite.tickets.rules import Binding, Holder, LoadedRules, TypeRule

log = logging.getLogger(__name__)


def people(ticket: TicketFile) -> tuple[str, ...]:
    """The requester and every approver, by account name."""
    t = ticket.ticket
    return (t.requester, *(a.name for a in t.approvals))


def with_people(needs: Needs, ticket: TicketFile) -> Needs:
    """*needs* with the ticket's people added to its first (bulk) search."""
    return dataclasses.replace(needs, names=(*needs.names, *people(ticket)))


def role_groups(loaded: LoadedRules, rule: TypeRule, scope: Scope) -> tuple[str, ...]:
    """The group names that could make an approver of this ticket hold their role."""
    names = {
        holder.group.format(company=code)
        for role in rule.accepted_roles()
        for holder in loaded.rules.roles[role].held_by
        if holder.group is not None
        for code in scope.companies
    }
    return tuple(sorted(names))


def verify(
    ticket: TicketFile,
    loaded: LoadedRules,
    found: Found,
    groups: Mapping[str, Account],
    scope: Scope,
    bindings: Mapping[str, Binding],
) -> None:
    """Refuse a requester or approver who is not an enabled user, or an approver who
    does not hold the role they approve as. *groups*: role groups by lower name."""
    rule = loaded.rule_for(ticket)
    _person(ticket, ("requester",), "requester", ticket.ticket.requester, found, rule)
    for index, approval in enumerate(ticket.ticket.approvals):
        path = ("approvals", index, "name")
        account = _person(ticket, path, "approver", approval.name, found, rule)
        role = loaded.rules.roles[approval.role]
        if not any(_holds(h, account, approval, groups, scope, bindings) for h in role.held_by):
            ways = " or ".join(_words(h, approval, scope) for h in role.held_by)
            raise ticket.error(
                path,
                f"approver {approval.name} does not hold the role {approval.role}: "
                f"not {ways} ({rule.clause})",
            )
    log.debug(
        "ticket %s: %d approvers hold their roles", ticket.ticket.id, len(ticket.ticket.approvals)
    )


def _person(
    ticket: TicketFile,
    path: tuple[str | int, ...],
    what: str,
    name: str,
    found: Found,
    rule: TypeRule,
) -> Account:
    account = found.account(name)
    if account is None:
        raise ticket.error(path, f"{what} {name} does not exist in the directory ({rule.clause})")
    if account.kind != "user":
        raise ticket.error(path, f"{what} {name} is a {account.kind}, not a user ({rule.clause})")
    if account.enabled is False:
        raise ticket.error(
            path,
            f"{what} {name} is disabled; a disabled account neither asks nor "
            f"approves ({rule.clause})",
        )
    return account


def _holds(
    holder: Holder,
    account: Account,
    approval: Approval,
    groups: Mapping[str, Account],
    scope: Scope,
    bindings: Mapping[str, Binding],
) -> bool:
    if holder.group is not None:
        for code in scope.companies:
            group = groups.get(holder.group.format(company=code).lower())
            if (
                group is not None
                and group.kind == "group"
                and dnlib.key(group.dn) in account.member_of
            ):
                return True
        return False
    if holder.manager_of is not None:
        return scope.manager is not None and dnlib.key(scope.manager) == dnlib.key(account.dn)
    binding = bindings.get(approval.role)
    return binding is not None and approval.name.casefold() in binding.names


def _words(holder: Holder, approval: Approval, scope: Scope) -> str:
    if holder.group is not None:
        names = [holder.group.format(company=code) for code in scope.companies]
        return f"a member of {' or '.join(names)}" if names else f"a member of {holder.group}"
    if holder.manager_of is not None:
        return f"the manager of {scope.subject}" if scope.subject else "the user's manager"
    return "the person this ticket names"
