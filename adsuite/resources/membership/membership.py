"""``membership``: who is in a group.

    - membership:
        group: HQ-IT-Admins
        members: [li.na, wang.fang]    # names or DNs
        mode: add                      # add | remove | exact

``add`` and ``remove`` touch only the members named; ``exact`` also removes everyone
else, and is never the default. DNs compare case-insensitively; groups over 1,500
members are read in ranges (the connector merges them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query, by_names
from adsuite.resources.base import Action, Change, Desired, Expect, Kind, LdapWrite, PlanContext
from adsuite.resources.directory.links import Mode
from adsuite.resources.naming import check_sam_account_name

NAME = "membership"
ORDER = 40
DELTA = True  # images hold what each change did: rollback undoes each on its own


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str
    members: list[str]
    mode: Mode = "add"

    @field_validator("group")
    @classmethod
    def _group(cls, value: str) -> str:
        return check_sam_account_name(value)

    @field_validator("members")
    @classmethod
    def _members(cls, values: list[str]) -> list[str]:
        for value in values:
            if not dnlib.looks_like_dn(value):
                check_sam_account_name(value)
        return values


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
    names = [_spec(d).group for d in desired]
    return by_names(ctx.base_dn, names, ("sAMAccountName", "member"), "(objectClass=group)")


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    names = {_spec(d).group for d in desired}
    names.update(m for d in desired for m in _spec(d).members if not dnlib.looks_like_dn(m))
    return names


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    groups: dict[str, Entry] = {}
    for query in queries(desired, ctx):
        for entry in ctx.entries(query):
            groups[(entry.text("sAMAccountName") or "").lower()] = entry
    changes = []
    for item in desired:
        change = _plan_one(item, groups.get(_spec(item).group.lower()), ctx)
        if change is not None:
            changes.append(change)
    return changes


def _plan_one(item: Desired, entry: Entry | None, ctx: PlanContext) -> Change | None:
    spec = _spec(item)
    if entry is None and spec.mode == "remove" and spec.group.lower() not in ctx.names:
        return None  # no such group: nobody to remove (e.g. a rollback after the group went)
    group_dn = ctx.resolve(spec.group, item)
    current = {
        dnlib.key(dn): dnlib.normalize(dn) for dn in (entry.texts("member") if entry else [])
    }
    named = {dnlib.key(dn): dn for dn in (ctx.resolve(m, item) for m in spec.members)}
    if spec.mode == "remove":
        to_add, to_remove = [], [current[k] for k in named if k in current]
    else:
        to_add = [named[k] for k in named if k not in current]
        to_remove = (
            [dn for k, dn in current.items() if k not in named] if spec.mode == "exact" else []
        )
    if not to_add and not to_remove:
        return None
    changes = {}
    if to_add:
        changes["member"] = ("add", sorted(to_add))
    writes = [LdapWrite("modify", group_dn, changes=changes)] if to_add else []
    if to_remove:
        writes.append(
            LdapWrite("modify", group_dn, changes={"member": ("delete", sorted(to_remove))})
        )
    expect = Expect(
        exists=True if entry is not None else None,
        has_dns={"member": tuple(sorted(to_remove))},
        lacks_dns={"member": tuple(sorted(to_add))},
    )
    before = {"removed": sorted(to_remove)} if to_remove else {}
    after = {"added": sorted(to_add)} if to_add else {}
    return Change(
        NAME, Action.UPDATE, group_dn, before, after, item.location, tuple(writes), expect
    )


def replay(
    target: str, before: Mapping[str, Any], after: Mapping[str, Any], *, undo: bool
) -> list[dict[str, Any]]:
    """Spec arguments that redo a journaled membership change, or undo it (for rollback)."""
    group = dnlib.rdn_value(target)
    added, removed = list(after.get("added", [])), list(before.get("removed", []))
    out = []
    if added:
        out.append({"group": group, "members": added, "mode": "remove" if undo else "add"})
    if removed:
        out.append({"group": group, "members": removed, "mode": "add" if undo else "remove"})
    return out


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=queries,
    declares=declares,
    references=references,
    plan=plan,
    delta=DELTA,
    replay=replay,
    recallable=True,
)
