"""Group members that approved tickets allow: the journal's answer to "who may be in it".

A ``ticketed_membership`` task (:mod:`adsuite.resources.membership.ticketed_membership`) allows
in a group only the members an approved ticket put there. A ticket type that grants
such a membership records it in its run's ``extra.record`` under :data:`RECORD_KEY`,

    {"membership_ticket": {"action": "grant", "group": "HQ-Elevated", "member": "zhang.wei"}}

(or a list of such, when one ticket grants several memberships: an elevation grants the
class group and the one workstation's ``<CODE>-LA-<COMPUTER>`` group), and its revoking
type records ``"action": "revoke"`` (:class:`Source` pairs them). A
grant is in force from its ticket's successful apply run until a later successful run
takes it back: a revoke ticket, a ``leaver`` or ``transfer`` ticket whose run took
the member out of the group (their records name the groups left), or a successful
``adsuite rollback`` of the ticket's own run — a rolled-back grant counts as approved
no longer, and putting the member back needs a new ticket (a ticket runs once). A
removal by hand takes the member out but leaves the approvals standing, which the
kind reports as a warning until a revoke ticket closes them. Only a ticket grants:
rolling back a run that ended a grant (a revoke, a leaver, or that rollback itself)
puts the member back in the group but not the grant, so the member is drift until a
new ticket approves it. A later grant of the same membership replaces the earlier one.

The kind asks for :class:`TicketMembersRead`; the engine's reader
(``adsuite/resources/membership/tickets_io.py``) reads the journal once through the same
mechanism as file_acl's ticket grants (``Journal.runs_for``, the run's journal from
the connections) with the rollbacks of those runs (``Journal.rollbacks_of``), folds
it here with :func:`fold`, and reads the group, its members' names and the granted
accounts' DNs from the directory, so planning stays pure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from adsuite.resources.file_acl.grants import RunLike

log = logging.getLogger(__name__)

RECORD_KEY = "membership_ticket"  # the key of a grant or revoke in a ticket run's record
GRANT, REVOKE = "grant", "revoke"
ROLLBACK_MODE = "rollback"  # a run of `adsuite rollback`; its extra names the run it undid
ROLLS_BACK = "rolls_back"


@dataclass(frozen=True)
class Source:
    """The ticket type that grants a membership and the one that takes it back."""

    grant: str
    revoke: str
    wanted: str  # in words, for findings: "an approved elevation ticket"


SOURCES: Mapping[str, Source] = {
    "elevation": Source("elevation", "elevation_revoke", "an approved elevation ticket"),
}
# Ticket types that take an account out of groups, and the field of their run's
# record that names those groups (a list of names, or of {name, dn}).
ENDED_BY: Mapping[str, str] = {"leaver": "member_of", "transfer": "groups_removed"}


def ticket_types(source: Source) -> list[str]:
    """Every ticket type whose runs the fold of *source* reads."""
    return [source.grant, source.revoke, *ENDED_BY]


@dataclass(frozen=True)
class TicketMembersRead:
    """The members of one group and the ticket grants in force for it."""

    group: str  # sAMAccountName
    ticket_type: str  # a key of SOURCES
    base_dn: str


@dataclass(frozen=True)
class Member:
    dn: str
    name: str  # sAMAccountName as the directory has it ('' if it could not be read)


@dataclass(frozen=True)
class Grant:
    """One membership an approved ticket granted and nobody took back."""

    ticket: str
    run_id: str
    member: str  # sAMAccountName as the ticket named it
    approvers: tuple[str, ...] = ()  # "li.na (department_head)"
    dn: str | None = None  # the account's DN now, set by the reader (None: no such account)

    def words(self) -> str:
        by = f", approved by {', '.join(self.approvers)}" if self.approvers else ""
        return f"ticket {self.ticket} (run {self.run_id}{by})"


@dataclass(frozen=True)
class GroupTickets:
    """What the reader answers for a :class:`TicketMembersRead`."""

    dn: str | None  # the group's DN; None: the directory has no such group (yet)
    members: tuple[Member, ...] = ()
    grants: tuple[Grant, ...] = ()  # in force


def grant_record(action: str, group: str, member: str) -> dict[str, Any]:
    """What a granting or revoking ticket puts in its run's record."""
    return {RECORD_KEY: {"action": action, "group": group, "member": member}}


def grants_record(action: str, groups: Iterable[str], member: str) -> dict[str, Any]:
    """The record of a ticket that grants (or revokes) *member* in several groups at once."""
    return {RECORD_KEY: [{"action": action, "group": g, "member": member} for g in groups]}


def fold(runs: Iterable[RunLike], source: Source) -> dict[str, dict[str, Grant]]:
    """Lower group name -> lower member name -> the grant in force, from journal runs
    in any order (they are taken in journal order)."""
    state: dict[str, dict[str, Grant]] = {}
    for run in sorted(runs, key=lambda r: r.start_seq):
        undone = rolled_back(run)
        if undone is not None:  # a rollback of a granting run ends the grants it made
            for members in state.values():
                for name in [m for m, g in members.items() if g.run_id == undone]:
                    del members[name]
            continue
        for group, member, grant in _effects(run, source):
            members = state.setdefault(group.lower(), {})
            if grant is None:
                members.pop(member.lower(), None)
            else:
                members[member.lower()] = grant
    return {group: members for group, members in state.items() if members}


def rolled_back(run: RunLike) -> str | None:
    """The id of the run *run* successfully rolled back; None if it is no such rollback."""
    undone = run.extra.get(ROLLS_BACK)
    if run.mode != ROLLBACK_MODE or run.status != "ok" or not isinstance(undone, str):
        return None
    return undone


def _effects(run: RunLike, source: Source) -> Iterator[tuple[str, str, Grant | None]]:
    """(group, member, grant or None for an end) for each membership *run* grants or ends."""
    if run.mode != "apply" or run.status != "ok" or not run.ticket:
        return
    ticket = run.extra.get("ticket") or {}
    kind = ticket.get("type")
    record = run.extra.get("record") or {}
    if kind in (source.grant, source.revoke):
        data = record.get(RECORD_KEY) or {}
        for item in data if isinstance(data, list) else [data]:
            fields = item if isinstance(item, Mapping) else {}
            group, member, action = fields.get("group"), fields.get("member"), fields.get("action")
            if not isinstance(group, str) or not isinstance(member, str) or not group or not member:
                log.warning("journal run %s: unreadable %s record", run.id, kind)
                return
            if action == GRANT and kind == source.grant:
                yield group, member, Grant(run.ticket, run.id, member, _approvers(run.extra))
            elif action == REVOKE:
                yield group, member, None
    elif isinstance(kind, str) and kind in ENDED_BY:
        user = (ticket.get("parameters") or {}).get("user")
        if isinstance(user, str) and user:
            for group in _group_names(record.get(ENDED_BY[kind])):
                yield group, user, None


def _group_names(value: Any) -> list[str]:
    out = []
    for item in value if isinstance(value, list) else []:
        name = item.get("name") if isinstance(item, Mapping) else item
        if isinstance(name, str) and name:
            out.append(name)
    return out


def _approvers(extra: Mapping[str, Any]) -> tuple[str, ...]:
    satisfied = (extra.get("approval_rules") or {}).get("satisfied") or []
    return tuple(
        f"{s.get('name')} ({s.get('role')})"
        for s in satisfied
        if isinstance(s, Mapping) and s.get("name")
    )
