"""Rolling back a ``delegation`` change: exactly the ACEs a run granted and revoked.

A delegation change journals, beside the rights in words, the ACEs themselves under
``aces`` — in ``before`` those the change took off the OU, in ``after`` those it put
on — as SDDL with literal SIDs (:func:`adsuite.resources.delegation.dacl.ace_to_sddl`). A
trustee the same run created had no SID at plan time: its ACE is journaled with the
placeholder SID ``S-1-0-0`` and the trustee's name, and the SID is looked up by name
when the rollback is planned.

:func:`replay` turns a journaled change into a :class:`RollbackSpec` — a form no
playbook can write — that takes off the ACEs the run put on and puts back the ones it
took off (``undo``), or the reverse (the redo that tells whether the OU moved on).
Only those ACEs are touched: ACEs adsuite does not manage, inherited ACEs, the OU
class's defaults and the protection ACEs stay as they are. A restored deny ACE goes
before the explicit allow ACEs (canonical order); the DACL holds the same ACEs as
before the run, though not necessarily in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adsuite.errors import InputError
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query, by_names, sids_found
from adsuite.formats.security_descriptor import Ace
from adsuite.resources.base import Action, Change, Desired, Expect, PlanContext
from adsuite.resources.delegation import dacl
from adsuite.resources.delegation.dacl import AceShape, Grant
from adsuite.resources.directory import ou

IMAGE = "aces"  # the key of the ACE images in a delegation change's before and after
PENDING_SID = "S-1-0-0"  # stands in for the SID of a trustee the run had yet to create
SD = "nTSecurityDescriptor"
PREDATES = (
    "cannot roll back: this run predates the ACE images delegation changes journal "
    "(only the rights in words were recorded, not which ACEs changed)"
)


class AceImage(BaseModel):
    """One ACE as journaled: the line it belongs to, its SDDL, and a trustee to look up."""

    model_config = ConfigDict(extra="forbid")

    what: str
    ace: str
    trustee: str | None = None  # the SID in ``ace`` is PENDING_SID: look this name up


class RollbackSpec(BaseModel):
    """Rollback only, never in a playbook: put exact ACEs on an OU and take others off."""

    model_config = ConfigDict(extra="forbid")

    ou: str  # DN
    put: list[AceImage] = Field(default_factory=list)
    take: list[AceImage] = Field(default_factory=list)
    before: dict[str, str] = Field(default_factory=dict)  # the rights in words, as shown
    after: dict[str, str] = Field(default_factory=dict)


def image(what: str, ace: Ace, trustee: str | None = None) -> dict[str, str]:
    """What a change journals for one ACE it grants or revokes."""
    out = {"what": what, "ace": dacl.ace_to_sddl(ace)}
    return {**out, "trustee": trustee} if trustee else out


def replay(
    target: str, before: Mapping[str, Any], after: Mapping[str, Any], *, undo: bool
) -> list[dict[str, Any]]:
    """Spec arguments that undo a journaled delegation change (or redo it)."""
    if IMAGE not in before and IMAGE not in after:
        raise ValueError(PREDATES)
    taken_off, put_on = _images(before), _images(after)
    words_before = {k: str(v) for k, v in before.items() if k != IMAGE}
    words_after = {k: str(v) for k, v in after.items() if k != IMAGE}
    if undo:
        put, take, shown = taken_off, put_on, (words_after, words_before)
    else:
        put, take, shown = put_on, taken_off, (words_before, words_after)
    return [{"ou": target, "put": put, "take": take, "before": shown[0], "after": shown[1]}]


def _images(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = view.get(IMAGE) or []
    try:
        images = [AceImage.model_validate(item).model_dump(exclude_none=True) for item in found]
        for item in images:
            dacl.ace_from_sddl(item["ace"])
    except (ValueError, InputError, TypeError) as error:
        raise ValueError(
            f"cannot roll back: unreadable ACE image in the journal ({error})"
        ) from None
    return images


def _spec(item: Desired) -> RollbackSpec:
    assert isinstance(item.spec, RollbackSpec)
    return item.spec


def identity(spec: RollbackSpec) -> str:
    return f"rollback {dnlib.key(spec.ou)}"


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
    names = [i.trustee for d in desired for i in (*_spec(d).put, *_spec(d).take) if i.trustee]
    return [ou.all_ous(ctx), *by_names(ctx.base_dn, names)]


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    ous = {dnlib.key(e.dn): e for e in ctx.entries(ou.all_ous(ctx))}
    sids = sids_found(e for q in queries(desired, ctx)[1:] for e in ctx.entries(q))
    changes = [_plan_one(d, ous.get(dnlib.key(_spec(d).ou)), sids, ctx) for d in desired]
    return [c for c in changes if c is not None]


def _ace(item: AceImage, sids: Mapping[str, str]) -> Ace | None:
    """The ACE an image stands for now; None for a trustee that cannot be found."""
    ace = dacl.ace_from_sddl(item.ace)
    if item.trustee is None:
        return ace
    sid = sids.get(item.trustee.lower())
    return None if sid is None else Ace(ace.ace_type, ace.flags, ace.mask, sid, *_guids(ace))


def _guids(ace: Ace) -> tuple[Any, Any]:
    return ace.object_type, ace.inherited_object_type


def _plan_one(
    item: Desired, entry: Entry | None, sids: Mapping[str, str], ctx: PlanContext
) -> Change | None:
    spec = _spec(item)
    if entry is None or not entry.raw(SD):
        return None  # the OU is gone: there is nothing to put ACEs back on
    have = set(dacl.explicit_aces(entry.raw(SD)[0]))
    take = [(i, a) for i in spec.take if (a := _ace(i, sids)) is not None and a in have]
    put = [(i, a) for i in spec.put if (a := _ace(i, sids)) is not None and a not in have]
    unknown = [i for i in spec.put if _ace(i, sids) is None]  # created at apply, if ever
    if not take and not put and not unknown:
        return None
    shown = {i.what for i, _ in (*take, *put)} | {i.what for i in unknown}
    keys = [k for k in spec.after if k in shown] + sorted(shown - set(spec.after))
    before: dict[str, Any] = {k: spec.before.get(k, "?") for k in keys}
    after: dict[str, Any] = {k: spec.after.get(k, "?") for k in keys}
    before[IMAGE] = [image(i.what, a, i.trustee) for i, a in take]
    after[IMAGE] = [image(i.what, a, i.trustee) for i, a in put]
    after[IMAGE] += [i.model_dump(exclude_none=True) for i in unknown]
    grants = tuple(_grant(i) for i in unknown)
    edit = dacl.DaclEdit(
        entry.dn, ctx.base_dn, grants, tuple(a for _, a in take), tuple(a for _, a in put)
    )
    expect = Expect(True, raw={"objectGUID": entry.raw("objectGUID")})
    return Change(
        "delegation", Action.UPDATE, entry.dn, before, after, item.location, (edit,), expect
    )


def _grant(item: AceImage) -> Grant:
    ace = dacl.ace_from_sddl(item.ace)
    assert item.trustee is not None
    return Grant(item.trustee, None, AceShape(ace.flags, ace.mask, *_guids(ace)))
