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


def steps_of(records: Sequence[ChangeRecord]) -> list[_Step]:
    """Applied changes, one step per object: the first before-image and the last after."""
    steps: dict[tuple[str, str], _Step] = {}
    for rec in records:
        if rec.outcome != "applied":
            continue
        key = (rec.resource, dnlib.key(rec.target))
        if rec.resource == "membership":
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
    module = registry.KINDS.get(step.kind)
    if module is not None and hasattr(module, "replay"):
        replay: Callable[..., list[dict[str, Any]]] = module.replay
        return replay(step.target, step.before or {}, step.after or {}, undo=undo)
    if module is not None and hasattr(module, "restore"):
        restore: Callable[..., dict[str, Any]] = module.restore
        return [restore(step.target, step.before if undo else step.after, base_dn)]
    raise ValueError(f"adsuite cannot roll back {step.kind} changes yet")


def playbook_for(
    run_id: str, domain: str, steps: Sequence[tuple[_Step, list[dict[str, Any]]]]
) -> Playbook:
    specs = registry.specs()
    tasks = tuple(
        Task(
            step.kind,
            f"rollback of change {step.first}",
            specs[step.kind].model_validate(args),
            Location(f"run {run_id}", step.first),
            None,
            (),
        )
        for step, many in steps
        for args in many
    )
    play = Play(f"rollback of run {run_id}", domain, tasks, Location(f"run {run_id}"))
    return Playbook(Path(f"rollback-{run_id}"), f"rollback:{run_id}", (play,), ())


def build(
    run_id: str,
    records: Sequence[ChangeRecord],
    domain_key: str,
    base_dn: str,
    plan_of: Callable[[Playbook], Plan],
) -> RollbackPlan:
    """*plan_of* plans a playbook against the live directory."""
    undo, redo, unsupported = [], [], []
    for step in reversed(steps_of(records)):
        try:
            undo.append((step, spec_args(step, base_dn, undo=True)))
            redo.append((step, spec_args(step, base_dn, undo=False)))
        except ValueError as error:
            unsupported.append(f"{step.kind} {step.target}: {error}")
    reverse = plan_of(playbook_for(run_id, domain_key, undo))
    pending = {dnlib.key(c.target) for c in reverse.changes}
    moved = plan_of(playbook_for(run_id, domain_key, redo)) if pending else reverse
    # only an object that still needs undoing can have moved on; one already back
    # in its before state (e.g. rolled back twice) plans nothing and is fine
    moved_on = {
        dnlib.key(c.target): c.target for c in moved.changes if dnlib.key(c.target) in pending
    }
    kept = tuple(c for c in reverse.changes if dnlib.key(c.target) not in moved_on)
    plan = Plan(reverse.domain, reverse.base_dn, kept, reverse.objects_read, reverse.queries)
    return RollbackPlan(run_id, plan, tuple(moved_on.values()), tuple(unsupported))
