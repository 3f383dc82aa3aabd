"""Rollback of GPO changes: the spec arguments that undo (or redo) a journaled change,
and how a GPO a rollback declares is planned.

Every change of a GPO — its own and those of the OUs it is linked to — journals the
GPO's images (:mod:`adsuite.resources.gpo.image`), so any of them alone restores it;
engine/rollback.py plans the same arguments once. A rollback puts a GPO back as one
change: its settings, security filtering, status and links together (each link a
read-modify-write of its container's ``gPLink``), so a GPO that has moved on since the
run is left alone whole, links included. Its redo carries the version the run left it
at: a GPO at another version was edited since (the Group Policy editor bumps it).

A GPO the run deleted is created again with its old GUID — nothing else can hold that
GUID, and links, reports and backups that name it stay right — at a version above the
one it had, so clients that saw the old one read it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from adsuite.resources.base import Action, Change, Desired, PlanContext
from adsuite.resources.gpo import requests as io
from adsuite.resources.gpo.image import SPECS, UNRESTORABLE, absent
from adsuite.resources.gpo.links import LinkEdits
from adsuite.resources.gpo.spec import RollbackSpec

log = logging.getLogger(__name__)

PREDATES = (
    "cannot roll back: this run predates GPO rollback (its journal entries hold no GPO "
    "images); restore the GPO with a playbook"
)


def replay(
    target: str, before: Mapping[str, Any], after: Mapping[str, Any], *, undo: bool
) -> list[dict[str, Any]]:
    """Spec arguments that undo one journaled gpo change (or redo it, *undo* False)."""
    if not before:  # the run created the GPO: undoing removes exactly that one
        made = _images(after)
        return [absent(s["name"], s.get("guid")) for s in made] if undo else made
    if not after:  # the run deleted it: a GPO of that name since is one that moved on
        had = _images(before)
        return had if undo else [absent(s["name"]) for s in had]
    return _images(before if undo else after)


def _images(side: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = side.get(SPECS)
    if not isinstance(found, list) or not all(isinstance(s, dict) for s in found):
        raise ValueError(PREDATES)
    for spec in found:
        if UNRESTORABLE in spec:
            raise ValueError(f"cannot roll back GPO {spec.get('name')!r}: {spec[UNRESTORABLE]}")
    return [dict(s) for s in found]


def moved_on_words(spec: RollbackSpec, state: io.GpoState | None) -> tuple[str, str] | None:
    """(now, as the run left it) when the GPO's version says someone edited it since."""
    left = spec.rollback.left_at_version
    if left is None or state is None:
        return None
    now = state.version_number & 0xFFFFFFFF
    return None if now == left else (str(now), f"{left} (as the run left it)")


def fold(
    base: Change | None,
    item: Desired,
    state: io.GpoState | None,
    links: LinkEdits | None,
    ctx: PlanContext,
) -> Change | None:
    """One change for the GPO: *base* (its own, if any) with its link edits and, when the
    version says it was edited since the run, the words that make it moved on."""
    spec = item.spec
    assert isinstance(spec, RollbackSpec)
    edited = moved_on_words(spec, state)
    edits = links.writes if links else ()
    if base is None and not edits and edited is None:
        return None
    if base is None:
        assert state is not None
        expect = io.GpoExpect(
            ctx.realm, ctx.base_dn, state.guid, state.name or "", True, state.fingerprint()
        )
        base = Change("gpo", Action.UPDATE, f'"{spec.name}"', {}, {}, item.location, (), expect)
    was = {**(links.before if links else {}), **({"version": edited[0]} if edited else {})}
    will = {**(links.after if links else {}), **({"version": edited[1]} if edited else {})}
    return replace(
        base,
        before=None if base.before is None else {**base.before, **was},
        after=None if base.after is None else {**base.after, **will},
        writes=_ordered(base, edits),
        expect=replace(base.expect, links=links.expect if links else ()),
    )


def _ordered(base: Change, edits: Sequence[io.GpLinkEdit]) -> tuple[Any, ...]:
    """Unlink before a deletion; link after a creation or an update."""
    if base.action is Action.DELETE:
        return (*edits, *base.writes)
    return (*base.writes, *edits)
