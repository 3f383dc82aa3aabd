"""``ticketed_membership``: only members an approved ticket put there may be in a group.

    - ticketed_membership:
        group: HQ-Elevated
        ticket_type: elevation      # grants come from elevation tickets (二.1.b)
        clause: 二.1.b              # optional; named in every finding

An allow-list whose entries are tickets, not playbook lines: a member of the group is
allowed while an elevation ticket for it — approved, successfully applied and not
taken back since (:mod:`adsuite.resources.membership.tickets`) — is in the journal.
Every other member is drift, in words ("HQ-Elevated has zhang.wei without an
approved elevation ticket (二.1.b)"), and apply removes it. The tickets are the
only way in: apply never adds a member, even one whose ticket is in force but who
was taken out by hand — granting administrator rights is the ticket's act, not a
repair's — so that case is a warning only, until an ``elevation_revoke`` ticket
closes it.

A dedicated kind rather than a ``membership`` option, so ``membership`` keeps its one
meaning (the members a playbook names are added) and this one its own: tickets
allow, nobody adds. Give the group no ``membership`` task as well: that one would add
what this one removes. A removal is not rolled back by ``adsuite rollback`` (``UNDO``:
putting back a member without an approved ticket needs that ticket). Rolling back a
ticket's own run ends its grant (:mod:`adsuite.resources.membership.tickets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.formats import dn as dnlib
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Expect,
    Kind,
    LdapWrite,
    Notice,
    PlanContext,
    first_error,
)
from adsuite.resources.membership.tickets import SOURCES, GroupTickets, Member, TicketMembersRead
from adsuite.resources.naming import check_sam_account_name

NAME = "ticketed_membership"
ORDER = 42  # after membership (40): the same group facts, and users a run creates
UNDO = (
    "it took out members no approved ticket allowed; putting one back would grant what "
    "only an approved ticket grants (二.1.b for elevation): carry out a ticket for them"
)

__all__ = [
    "NAME",
    "ORDER",
    "UNDO",
    "Spec",
    "declares",
    "describe",
    "finding_aspects",
    "identity",
    "notices",
    "plan",
    "queries",
    "references",
]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str
    ticket_type: str
    clause: str | None = Field(default=None, min_length=1, max_length=32)

    @field_validator("group")
    @classmethod
    def _group(cls, value: str) -> str:
        return check_sam_account_name(value)

    @field_validator("ticket_type")
    @classmethod
    def _ticket_type(cls, value: str) -> str:
        if value not in SOURCES:
            raise ValueError(
                f"ticket type {value!r} grants no group membership (known: {', '.join(SOURCES)})"
            )
        return value


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def identity(spec: Spec) -> str:
    return spec.group.lower()  # two allow-lists of one group would call each other's drift


def request(item: Desired, ctx: PlanContext) -> TicketMembersRead:
    spec = _spec(item)
    return TicketMembersRead(spec.group, spec.ticket_type, ctx.base_dn)


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[TicketMembersRead]:
    return [request(d, ctx) for d in desired]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return {_spec(d).group for d in desired}


def _state(item: Desired, ctx: PlanContext) -> GroupTickets | None:
    """The group as read, or None for a group this run creates (it has no members yet)."""
    state = ctx.fact(request(item, ctx))
    if not isinstance(state, GroupTickets):
        raise first_error(item, f"the members and tickets of {_spec(item).group} were not read")
    if state.dn is None:
        ctx.resolve(_spec(item).group, item)  # neither in the domain nor declared: an error
        return None
    return state


def _allowed(state: GroupTickets) -> set[str]:
    return {dnlib.key(g.dn) for g in state.grants if g.dn}


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    changes = []
    for item in desired:
        state = _state(item, ctx)
        if state is None:
            continue
        allowed = _allowed(state)
        unticketed = sorted(
            (m for m in state.members if dnlib.key(m.dn) not in allowed),
            key=lambda m: dnlib.key(m.dn),
        )
        if unticketed:
            changes.append(_removal(item, state, unticketed))
    return changes


def _removal(item: Desired, state: GroupTickets, members: Sequence[Member]) -> Change:
    assert state.dn is not None
    spec = _spec(item)
    removed = [dnlib.normalize(m.dn) for m in members]
    write = LdapWrite("modify", state.dn, changes={"member": ("delete", removed)})
    expect = Expect(True, has_dns={"member": tuple(removed)})
    before: dict[str, Any] = {
        "group": spec.group,
        "removed": removed,
        "names": [m.name or dnlib.rdn_value(m.dn) for m in members],
        "ticket_type": spec.ticket_type,
        "clause": spec.clause,
    }
    after = {"group": spec.group}
    return Change(NAME, Action.UPDATE, state.dn, before, after, item.location, (write,), expect)


def notices(desired: Sequence[Desired], ctx: PlanContext) -> list[Notice]:
    """Members whose ticket is in force but who are not in the group: never re-added."""
    out = []
    for item in desired:
        state = _state(item, ctx)
        if state is None:
            continue
        spec, present = _spec(item), {dnlib.key(m.dn) for m in state.members}
        revoke = SOURCES[spec.ticket_type].revoke
        for grant in state.grants:
            if grant.dn is None or dnlib.key(grant.dn) in present:
                continue
            text = (
                f"{spec.group} lacks {grant.member}, whose {grant.words()} is in force: "
                f"not re-added; a ticket of type {revoke} closes it"
            )
            out.append(Notice(NAME, state.dn or "", text, item.location, "warning"))
    return out


def _wanted(before: dict[str, Any]) -> str:
    source = SOURCES.get(str(before.get("ticket_type")))
    wanted = source.wanted if source else f"an approved {before.get('ticket_type')} ticket"
    clause = before.get("clause")
    return f"{wanted} ({clause})" if clause else wanted


def describe(change: Change, *, drift: bool) -> list[str]:
    """Each member without a ticket: "HQ-Elevated has zhang.wei without an approved …"."""
    before = dict(change.before or {})
    pairs = zip(before.get("removed", []), before.get("names", []), strict=False)
    wanted = _wanted(before)
    if drift:
        return [f"{before.get('group')} has {name} without {wanted}" for _, name in pairs]
    return [f"- member {dn} ({name}: no {wanted.removeprefix('an ')})" for dn, name in pairs]


def finding_aspects(change: Change) -> list[str]:
    """What a drift finding's id depends on: which members, so each new one is new."""
    return sorted(f"-{dnlib.key(dn)}" for dn in (change.before or {}).get("removed", []))


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=queries,
    declares=declares,
    references=references,
    plan=plan,
    identity=identity,
    notices=notices,
    describe=describe,
    finding_aspects=finding_aspects,
    undo=UNDO,
)
