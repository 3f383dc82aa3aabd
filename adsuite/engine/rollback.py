"""Rollback: plan the reverse of a journaled run from its before-images.

The run's applied changes are turned back into desired state — each object as its
before-image shows it, each membership change by its opposite — and planned like any
playbook against the directory as it is now. An object that has moved on since the
run (the directory no longer matches the run's after-image) is left alone and
reported, so a rollback never overwrites someone else's later edit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from adsuite.engine.loader import Play, Playbook, Task
from adsuite.engine.planner import Plan
from adsuite.formats import dn as dnlib
from adsuite.journal.records import ChangeRecord
from adsuite.resources import registry
from adsuite.resources.base import Change
from adsuite.source import Location

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RollbackPlan:
    run_id: str
    plan: Plan
    moved_on: tuple[str, ...]  # objects changed since the run: left alone
    unsupported: tuple[str, ...]  # changes that cannot be rolled back, with the reason


@dataclass(frozen=True)
class _Step:
    kind: str
    target: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    first: int  # change number in the run, for error locations


def _key(target: str) -> str:
    """Targets compare as DNs, case-insensitively; a GPO's target is its quoted name."""
    return dnlib.key(target) if dnlib.looks_like_dn(target) else target.lower()


def steps_of(records: Sequence[ChangeRecord]) -> list[_Step]:
    """Applied changes, one step per object: the first before-image and the last after.

    A kind whose images hold only what each change did (``DELTA = True``: members or
    ACEs added and removed) gets one step per change instead, so none is lost.
    """
    steps: dict[tuple[str, str], _Step] = {}
    for rec in records:
        if rec.outcome != "applied":
            continue
        key = (rec.resource, _key(rec.target))
        kind = registry.KINDS.get(rec.resource)
        if kind is not None and kind.delta:
            key = (rec.resource, f"{key[1]}#{rec.change_no}")  # each is undone on its own
        old = steps.get(key)
        if old is None:
            steps[key] = _Step(rec.resource, rec.target, rec.before, rec.after, rec.change_no)
        else:
            steps[key] = replace(
                old, before=_merge(old.before, rec.before), after=_then(old.after, rec.after)
            )
    return list(steps.values())


def _merge(
    first: Mapping[str, Any] | None, later: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    if first is None:
        return None  # the run created it: undoing means removing it
    return {**(later or {}), **first}


def _then(
    first: Mapping[str, Any] | None, later: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    return None if later is None else {**(first or {}), **later}


def spec_args(step: _Step, base_dn: str, *, undo: bool) -> list[dict[str, Any]]:
    """Desired state that undoes *step* (or redoes it, to see whether the object moved on)."""
    kind = registry.KINDS.get(step.kind)
    if kind is None or kind.undo:
        raise ValueError(cannot_undo(step.kind))
    if kind.replay is not None:
        return kind.replay(step.target, step.before or {}, step.after or {}, undo=undo)
    if kind.restore is not None:
        return [kind.restore(step.target, step.before if undo else step.after, base_dn)]
    raise ValueError(cannot_undo(step.kind))


# Journaled resources that are no resource kind (adsuite/admin writes them), and why a
# rollback leaves them alone; a kind says the same with its record's ``undo``.
NOT_KINDS = {
    "admin_account": "a super-administrator check-out or check-in set a password nobody "
    "keeps; check the account in (adsuite admin checkin), which rotates it and restores "
    "the account's resting state",
    "logon_events": "a collection of logon events changed nothing in the domain",
    # adsuite recover (adsuite/recovery/recover.py)
    "recovered_object": "undoing a recovery means deleting the objects again; adsuite "
    "does not delete what it brought back on its own: delete them by hand if that is meant",
    "recovered_membership": "a recovered membership goes with its recovered object; "
    "remove it with a playbook's membership if it should not be there",
}


def cannot_undo(kind: str) -> str:
    """Why changes of *kind* are not rolled back: by design (the kind's ``UNDO``), or not yet."""
    found = registry.KINDS.get(kind)
    reason = found.undo if found is not None else NOT_KINDS.get(kind)
    return (
        f"cannot be undone: {reason}" if reason else f"adsuite cannot roll back {kind} changes yet"
    )


def _once(
    steps: Sequence[tuple[_Step, list[dict[str, Any]]]],
) -> list[tuple[_Step, list[dict[str, Any]]]]:
    """Each kind's spec arguments once: several changes may restore one object alike (a
    GPO's own change and its links' changes all carry the GPO's images)."""
    seen: list[tuple[str, dict[str, Any]]] = []
    out = []
    for step, many in steps:
        fresh = [args for args in many if (step.kind, args) not in seen]
        seen += [(step.kind, args) for args in fresh]
        out.append((step, fresh))
    return out


def playbook_for(
    run_id: str, domain: str, steps: Sequence[tuple[_Step, list[dict[str, Any]]]]
) -> Playbook:
    # a kind may take its undo in a form no playbook can write: its ``rollback_spec``
    specs = {name: kind.undo_spec for name, kind in registry.KINDS.items()}
    tasks = tuple(
        Task(
            step.kind,
            f"rollback of change {step.first}",
            specs[step.kind].model_validate(args),
            Location(f"run {run_id}", step.first),
            None,
        )
        for step, many in _once(steps)
        for args in many
    )
    play = Play(f"rollback of run {run_id}", domain, tasks, Location(f"run {run_id}"))
    return Playbook(Path(f"rollback-{run_id}"), f"rollback:{run_id}", (play,), ())


def _checked(step: _Step, base_dn: str, *, undo: bool) -> list[dict[str, Any]]:
    """:func:`spec_args`, validated against the kind's model (ValueError if refused)."""
    many = spec_args(step, base_dn, undo=undo)
    model = registry.KINDS[step.kind].undo_spec
    for args in many:
        model.model_validate(args)
    return many


def _object(change: Change) -> tuple[str, str]:
    """One object of one kind: a GPO link on the domain and its password policy differ."""
    return change.kind, _key(change.target)


# Ticket runs whose undoing would itself be a change the rules send through a ticket:
# a rollback leaves them alone and says which ticket to file instead.
TICKET_RUNS = {
    "permission_change": "the data owner's department head approved this access change "
    "(五.5), and changing it back is a permission change too: file a permission_change "
    "ticket for it",
    "elevation_revoke": "putting an elevated member back needs a new elevation ticket "
    "with both approvals (二.1.b)",
}


def ticket_refusal(ticket_type: str | None) -> str | None:
    """Why a run of a ticket of *ticket_type* is not rolled back; None if it may be."""
    reason = TICKET_RUNS.get(ticket_type or "")
    return f"cannot be undone by a rollback: {reason}" if reason else None


def build(
    run_id: str,
    records: Sequence[ChangeRecord],
    domain_key: str,
    base_dn: str,
    plan_of: Callable[[Playbook], Plan],
    refused: str | None = None,
) -> RollbackPlan:
    """*plan_of* plans a playbook against the live directory; *refused* (a reason) leaves
    every change of the run alone (see :func:`ticket_refusal`)."""
    undo, redo, unsupported = [], [], []
    for step in reversed(steps_of(records)):
        if refused:
            unsupported.append(f"{step.kind} {step.target}: {refused}")
            continue
        try:  # both or neither: an undo is never planned without its moved-on check
            back, again = (_checked(step, base_dn, undo=flag) for flag in (True, False))
        except ValueError as error:  # pydantic's ValidationError is a ValueError too
            unsupported.append(f"{step.kind} {step.target}: {error}")
            continue
        undo.append((step, back))
        redo.append((step, again))
    reverse = plan_of(playbook_for(run_id, domain_key, undo))
    pending = {_object(c) for c in reverse.changes}
    moved = plan_of(playbook_for(run_id, domain_key, redo)) if pending else reverse
    # only an object that still needs undoing can have moved on; one already back
    # in its before state (e.g. rolled back twice) plans nothing and is fine
    moved_on = {_object(c): c.target for c in moved.changes if _object(c) in pending}
    kept = tuple(c for c in reverse.changes if _object(c) not in moved_on)
    plan = Plan(reverse.domain, reverse.base_dn, kept, reverse.objects_read, reverse.queries)
    return RollbackPlan(run_id, plan, tuple(moved_on.values()), tuple(unsupported))
