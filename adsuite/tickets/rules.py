"""Approval rules as data: which approver roles and confirmations each ticket type needs.

``playbooks/approvals.yml`` names every approver role, and for each ticket type the
clause of the regulations its rule comes from, the approvals it needs and the facts
(confirmations) the ticket must record. Every ticket is checked against that file
before anything changes, so changing a rule needs no code:

    roles:
      department_head:
        what: the head of the employee's department
        held_by: [{manager_of: subject}, {group: "{company}-Department-Heads"}]
      general_manager:
        what: the company's general manager (总经理)
        held_by: [{group: "{company}-GM"}]
    types:
      elevation:
        clause: 二.1.b
        rule: the user applies, the department head agrees, the general manager approves
        approvals: [department_head, general_manager]   # each by a different person
      password_reset:
        clause: 五.9
        rule: a written request and a verified identity; a phone call is never enough
        confirmations:
          identity_verification:
            what: how, and by whom, the requester's identity was verified
            fields: [method, verified_by]
            accepted: {method: [in person with an ID card, video call showing the ID card]}

An item of ``approvals`` is a role or ``{any_of: [role, role]}``; each item needs its
own approver. Beyond the file, adsuite always holds that approvals carry a time that
is not in the future, that one person's approval counts once, and that the requester
never approves their own ticket (segregation of duties). A ticket type may bind a
role to named people (:class:`Binding`), e.g. the data owner's department head.
Whether each person exists and holds the role (``held_by``) is checked against the
directory by :mod:`adsuite.tickets.approvers`.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adsuite.formats.yaml_source import LocatedValueError, SourceDoc, read_yaml, validation_error
from adsuite.tickets.model import Approval, TicketFile

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _check_name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{what} {value!r} must be lower-case letters, digits and _")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnyOf(_Model):
    any_of: list[str] = Field(min_length=1)


class Confirmation(_Model):
    what: str = Field(min_length=1)
    fields: list[str] = Field(default_factory=list)
    accepted: dict[str, list[str]] = Field(default_factory=dict)  # field -> the only values

    @model_validator(mode="after")
    def _accepted_fields(self) -> Confirmation:
        for name, values in self.accepted.items():
            if name not in self.fields:
                raise LocatedValueError(
                    f"accepted values for '{name}', which is not one of fields {self.fields}",
                    ("accepted", name),
                )
            if not values:
                raise LocatedValueError("needs at least one accepted value", ("accepted", name))
        return self

    def allows(self, field: str, value: str) -> bool:
        wanted = self.accepted.get(field)
        return wanted is None or _words(value) in {_words(v) for v in wanted}


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


class Holder(_Model):
    """One way the directory says who holds a role; exactly one of the three."""

    group: str | None = None  # "{company}-HR": a direct member of it, in the ticket's company
    manager_of: Literal["subject"] | None = None  # the ticket subject's ``manager``
    named_by: Literal["ticket_type"] | None = None  # the person the ticket type binds

    @model_validator(mode="after")
    def _one_way(self) -> Holder:
        given = [v for v in (self.group, self.manager_of, self.named_by) if v is not None]
        if len(given) != 1:
            raise ValueError(
                "a holder is one of {group: NAME}, {manager_of: subject}, {named_by: ticket_type}"
            )
        if self.group is not None:
            fields = {f for _, f, _, _ in string.Formatter().parse(self.group) if f is not None}
            if not fields <= {"company"}:
                raise ValueError(f"group {self.group!r} may only use {{company}}")
        return self


class Role(_Model):
    what: str = Field(min_length=1)
    held_by: list[Holder] = Field(min_length=1)


class TypeRule(_Model):
    clause: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    approvals: list[str | AnyOf] = Field(default_factory=list)
    confirmations: dict[str, Confirmation] = Field(default_factory=dict)

    def requirements(self) -> list[tuple[str, ...]]:
        """Each approval item as the roles that meet it."""
        return [(i,) if isinstance(i, str) else tuple(i.any_of) for i in self.approvals]

    def accepted_roles(self) -> set[str]:
        return {role for roles in self.requirements() for role in roles}


class Rules(_Model):
    roles: dict[str, Role] = Field(min_length=1)
    types: dict[str, TypeRule] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _role_names(cls, value: dict[str, Role]) -> dict[str, Role]:
        for name in value:
            _check_name(name, "role")
        return value

    @model_validator(mode="after")
    def _known_roles(self) -> Rules:
        for type_name, rule in self.types.items():
            for index, item in enumerate(rule.approvals):
                roles = [item] if isinstance(item, str) else item.any_of
                path: tuple[str | int, ...] = ("types", type_name, "approvals", index)
                for role in roles:
                    if role not in self.roles:
                        raise LocatedValueError(_unknown("role", role, self.roles), path)
        return self


@dataclass(frozen=True)
class LoadedRules:
    rules: Rules
    doc: SourceDoc
    sha256: str

    @property
    def file(self) -> str:
        return self.doc.file

    def rule_for(self, ticket: TicketFile) -> TypeRule:
        rule = self.rules.types.get(ticket.ticket.type)
        if rule is None:
            raise ticket.error(
                ("type",),
                f"ticket type '{ticket.ticket.type}' has no approval rule in {self.file}; "
                "every ticket type needs one",
            )
        return rule


@dataclass(frozen=True)
class Binding:
    """A role that, for one ticket, only named people may fill."""

    names: frozenset[str]  # casefolded
    who: str  # in words, for the error: "the head of Finance, which owns \\fs1\\finance"


@dataclass(frozen=True)
class Satisfied:
    needs: str  # "hr or department_head"
    approval: Approval

    def record(self) -> dict[str, str]:
        return {"needs": self.needs, **self.approval.record()}


def load_rules(path: Path, known_types: Sequence[str]) -> LoadedRules:
    """Read and validate the approval rules at *path*; ticket types must be known ones."""
    doc, raw = read_yaml(path, str(path))
    if not isinstance(doc.data, dict):
        raise doc.error((), "approval rules must be a mapping with 'roles' and 'types'")
    try:
        rules = Rules.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(doc, exc, base=(), what="approval rules", model=Rules) from None
    for name in rules.types:
        if name not in known_types:
            raise doc.error(("types", name), _unknown("ticket type", name, known_types))
    log.debug("approval rules for %d ticket types from %s", len(rules.types), path)
    return LoadedRules(rules, doc, hashlib.sha256(raw).hexdigest())


def check_ticket(
    ticket: TicketFile,
    loaded: LoadedRules,
    *,
    now: datetime,
    bindings: Mapping[str, Binding] | None = None,
) -> list[Satisfied]:
    """Check approvals and confirmations against the rule of the ticket's type.

    Returns which approval met which requirement; raises the first problem as one
    ``file:line`` InputError.
    """
    rule = loaded.rule_for(ticket)
    for index, approval in enumerate(ticket.ticket.approvals):
        _check_approval(ticket, loaded, rule, index, approval, now, bindings or {})
    satisfied = _match(ticket, rule)
    _check_confirmations(ticket, rule)
    return satisfied


def _check_approval(
    ticket: TicketFile,
    loaded: LoadedRules,
    rule: TypeRule,
    index: int,
    approval: Approval,
    now: datetime,
    bindings: Mapping[str, Binding],
) -> None:
    """The role an approval names: known, and one this ticket type takes."""
    t, path = ticket.ticket, ("approvals", index)
    if approval.role not in loaded.rules.roles:
        raise ticket.error((*path, "role"), _unknown("role", approval.role, loaded.rules.roles))
    if approval.role not in rule.accepted_roles():
        raise ticket.error(
            (*path, "role"),
            f"approval by {approval.name} as {approval.role} does not count for ticket "
            f"type {t.type}, which needs {_needs_words(rule)} ({rule.clause})",
        )
    _check_person(ticket, index, approval, now, bindings)


def _check_person(
    ticket: TicketFile,
    index: int,
    approval: Approval,
    now: datetime,
    bindings: Mapping[str, Binding],
) -> None:
    """Who approved, and when: not the requester, not twice, not later than now."""
    t, path = ticket.ticket, ("approvals", index)
    if approval.name.casefold() == t.requester.casefold():
        raise ticket.error(
            (*path, "name"),
            f"{approval.name} requested this ticket and cannot approve it (segregation of duties)",
        )
    for earlier in t.approvals[:index]:
        if earlier.name.casefold() == approval.name.casefold():
            first = ticket.doc.line_for(("approvals", t.approvals.index(earlier)))
            raise ticket.error(
                (*path, "name"),
                f"{approval.name} approves twice (first at line {first}); "
                "one person's approval counts once",
            )
    if approval.time > now:
        raise ticket.error(
            (*path, "time"),
            f"approval by {approval.name} is dated {approval.time.isoformat()}, in the "
            f"future (now {now.astimezone(approval.time.tzinfo).isoformat(timespec='seconds')})",
        )
    binding = bindings.get(approval.role)
    if binding is not None and approval.name.casefold() not in binding.names:
        raise ticket.error(
            (*path, "name"),
            f"approval by {approval.name} as {approval.role}: for this ticket that must "
            f"be {binding.who}",
        )


def _match(ticket: TicketFile, rule: TypeRule) -> list[Satisfied]:
    """Give each requirement its own approval (a small bipartite matching)."""
    requirements = rule.requirements()
    approvals = ticket.ticket.approvals
    chosen = _assign(requirements, approvals, 0, frozenset())
    if chosen is None:
        missing = _first_unmet(requirements, approvals)
        given = "none given" if not approvals else "no other approver has that role"
        raise ticket.error(
            ("approvals",),
            f"ticket type {ticket.ticket.type} needs an approval by {' or '.join(missing)} "
            f"({rule.clause}: {rule.rule}); {given}",
        )
    return [
        Satisfied(" or ".join(roles), approvals[i])
        for roles, i in zip(requirements, chosen, strict=True)
    ]


def _assign(
    requirements: list[tuple[str, ...]],
    approvals: Sequence[Approval],
    at: int,
    used: frozenset[int],
) -> list[int] | None:
    if at == len(requirements):
        return []
    for index, approval in enumerate(approvals):
        if index in used or approval.role not in requirements[at]:
            continue
        rest = _assign(requirements, approvals, at + 1, used | {index})
        if rest is not None:
            return [index, *rest]
    return None


def _first_unmet(
    requirements: list[tuple[str, ...]], approvals: Sequence[Approval]
) -> tuple[str, ...]:
    """The first requirement that cannot be met alongside the ones before it."""
    for count in range(1, len(requirements) + 1):
        if _assign(requirements[:count], approvals, 0, frozenset()) is None:
            return requirements[count - 1]
    return requirements[-1]


def _check_confirmations(ticket: TicketFile, rule: TypeRule) -> None:
    t, given = ticket.ticket, ticket.ticket.confirmations
    for name in given:
        if name not in rule.confirmations:
            known = list(rule.confirmations)
            raise ticket.error(
                ("confirmations", name),
                _unknown("confirmation", name, known, f" for ticket type {t.type}")
                if known
                else f"ticket type {t.type} takes no confirmations, not '{name}'",
            )
    for name, wanted in rule.confirmations.items():
        if name not in given:
            raise ticket.error(
                ("confirmations",),
                f"ticket type {t.type} needs confirmation '{name}': {wanted.what} ({rule.clause})",
            )
        value = given[name]
        for field in wanted.fields:
            if not isinstance(value, dict) or not value.get(field):
                raise ticket.error(
                    ("confirmations", name),
                    f"confirmation '{name}' needs '{field}': {wanted.what} ({rule.clause})",
                )
            if not wanted.allows(field, value[field]):
                raise ticket.error(
                    ("confirmations", name, field),
                    f"confirmation '{name}': {field} '{value[field]}' is not accepted "
                    f"({rule.clause}: {rule.rule}); accepted: "
                    f"{'; '.join(wanted.accepted[field])}",
                )


def _needs_words(rule: TypeRule) -> str:
    items = [" or ".join(roles) for roles in rule.requirements()]
    return " and ".join(items) if items else "no approvals"


def _unknown(
    what: str, name: str, known: Mapping[str, Any] | Sequence[str], where: str = ""
) -> str:
    names = list(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(names)}"
    return f"unknown {what} '{name}'{where} ({hint})"
