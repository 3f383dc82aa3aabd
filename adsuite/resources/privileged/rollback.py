"""Rolling back a ``privileged`` change — which may put back what the allow-list forbids.

The kind changes three things, each journaled with what undoing it needs:

- a privileged group's ``member`` values (target: the group; ``removed`` / ``added``);
- an account's primary group, moved from a privileged group to Domain Users (target:
  the account; ``primary_group`` before and after, and ``also_member_of``: which of the
  two groups also held a ``member`` value for it — setting a primary group needs a
  member value there first, and the directory turns the old primary group into one);
- the built-in Administrator's "sensitive and cannot be delegated" flag
  (``not_delegated``).

:func:`replay` turns the journaled images into a :class:`RollbackSpec` (a form no
playbook can write) that puts the object back as the before-image shows it, or — the
redo that tells whether it moved on — as the after-image shows it.

Undoing what the kind did is re-granting super-administrator rights the playbook's
allow-list did not grant (五.6). A rollback does it anyway — it is how an
administrator quickly restores a service a removal broke (四.5), journaled with who
did it — but the plan says so on every such line, and the next drift check reports
the account until the ``privileged`` task declares it (the next apply takes it away
again). A primary-group move journaled before ``also_member_of`` existed is not rolled
back: whether the account was also in Domain Users is not known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query, or_filter
from adsuite.resources.base import Action, Change, Desired, Expect, LdapWrite, PlanContext
from adsuite.resources.privileged.facts import (
    DOMAIN_RIDS,
    DOMAIN_USERS_RID,
    NOT_DELEGATED,
    PRINCIPAL_ATTRIBUTES,
    PrivilegedState,
)

DOMAIN_USERS = "Domain Users"
RIDS = {**DOMAIN_RIDS, DOMAIN_USERS: DOMAIN_USERS_RID}  # the groups that can be primary
ALSO = "also_member_of"
MARK = "rollback"  # in a rollback's own change: it puts back, it does not enforce
CLAUSE = "五.6"
PREDATES = (
    f"cannot roll back: this run predates the {ALSO} field of primary-group moves (whether "
    "the account was also a member of Domain Users is not known)"
)


class RollbackSpec(BaseModel):
    """Rollback only, never in a playbook: one privileged object as a journaled image shows it."""

    model_config = ConfigDict(extra="forbid")

    target: str  # DN of the group or the account
    group: str | None = None  # the privileged group's label
    add: list[str] = Field(default_factory=list)  # member DNs to put in the group
    remove: list[str] = Field(default_factory=list)
    primary_group: str | None = None  # the label to make the account's primary group
    member_values: list[str] = Field(default_factory=list)  # of `group` and Domain Users
    not_delegated: bool | None = None


def replay(
    target: str, before: Mapping[str, Any], after: Mapping[str, Any], *, undo: bool
) -> list[dict[str, Any]]:
    """Spec arguments that undo a journaled privileged change (or redo it)."""
    view = before if undo else after
    if "enabled" in view:  # privileged_rest.py: an account put back to rest, disabled
        raise ValueError(
            "cannot roll back disabling an account that rests disabled: check it out "
            "(adsuite admin checkout) to use it"
        )
    args: dict[str, Any] = {"target": target, "group": before.get("group") or after.get("group")}
    removed, added = list(before.get("removed", [])), list(after.get("added", []))
    args["add"], args["remove"] = (removed, added) if undo else (added, removed)
    if "primary_group" in view:
        if ALSO not in before or ALSO not in after:
            raise ValueError(PREDATES)
        args["primary_group"], args["member_values"] = view["primary_group"], list(view[ALSO])
        if args["primary_group"] not in RIDS:
            raise ValueError(f"cannot roll back: unknown primary group {args['primary_group']!r}")
    if isinstance(view.get("not_delegated"), bool):
        args["not_delegated"] = view["not_delegated"]
    return [args]


def _spec(item: Desired) -> RollbackSpec:
    assert isinstance(item.spec, RollbackSpec)
    return item.spec


def identity(spec: RollbackSpec) -> str:
    return f"rollback {dnlib.key(spec.target)}"


def accounts_query(desired: Sequence[Desired], ctx: PlanContext) -> Query:
    """The accounts a rollback sets attributes on or puts back in groups, in one search."""
    dns = {dnlib.normalize(_spec(d).target) for d in desired}
    dns |= {dnlib.normalize(dn) for d in desired for dn in _spec(d).add}
    return Query(ctx.base_dn, or_filter("distinguishedName", sorted(dns)), PRINCIPAL_ATTRIBUTES)


def plan(desired: Sequence[Desired], ctx: PlanContext, state: PrivilegedState) -> list[Change]:
    found = {dnlib.key(e.dn): e for e in ctx.entries(accounts_query(desired, ctx))}
    changes: list[Change] = []
    for item in desired:
        spec = _spec(item)
        if spec.add or spec.remove:
            changes += _members(item, spec, state, found)
        entry = found.get(dnlib.key(spec.target))
        if entry is not None and spec.primary_group is not None:
            changes += _primary_group(item, spec, entry, state)
        if entry is not None and spec.not_delegated is not None:
            changes += _not_delegated(item, spec, entry)
    return changes


def _members(
    item: Desired, spec: RollbackSpec, state: PrivilegedState, found: Mapping[str, Entry]
) -> list[Change]:
    group = state.group_by_key(dnlib.key(spec.target))
    if group is None:
        return []
    current, primary = group.direct(), set(group.primary)
    # an account deleted since cannot be put back; a primary-group member needs no value
    add = [
        dnlib.normalize(dn)
        for dn in spec.add
        if (k := dnlib.key(dn)) not in current and k not in primary and k in found
    ]
    remove = [current[k] for k in map(dnlib.key, spec.remove) if k in current]
    if not add and not remove:
        return []
    add, remove = sorted(add), sorted(remove)
    writes = [_member_write(group.dn, "add", *add)] if add else []
    writes += [_member_write(group.dn, "delete", *remove)] if remove else []
    expect = Expect(True, has_dns={"member": tuple(remove)}, lacks_dns={"member": tuple(add)})
    before: dict[str, Any] = {"group": group.label, **({"removed": remove} if remove else {})}
    after: dict[str, Any] = {"group": group.label, MARK: True, **({"added": add} if add else {})}
    return [_change(item, group.dn, before, after, writes, expect)]


def _change(
    item: Desired,
    target: str,
    before: dict[str, Any],
    after: dict[str, Any],
    writes: Sequence[LdapWrite],
    expect: Expect,
) -> Change:
    return Change(
        "privileged", Action.UPDATE, target, before, after, item.location, tuple(writes), expect
    )


def _group_dns(state: PrivilegedState) -> dict[str, str]:
    out = {label: g.dn for label, g in state.groups.items() if label in RIDS}
    return {**out, DOMAIN_USERS: state.domain_users_dn} if state.domain_users_dn else out


def _primary_group(
    item: Desired, spec: RollbackSpec, entry: Entry, state: PrivilegedState
) -> list[Change]:
    """Make ``primary_group`` the account's primary group, with the member values asked for."""
    dns = _group_dns(state)
    want = spec.primary_group or ""
    involved = {label for label in (spec.group or "", DOMAIN_USERS) if label in dns}
    if want not in dns:
        return []
    rid = entry.integer("primaryGroupID")
    now = next((label for label, r in RIDS.items() if r == rid), str(rid))
    member_of = {dnlib.key(dn) for dn in entry.texts("memberOf")}
    was = {label for label in involved if dnlib.key(dns[label]) in member_of}
    values = set(was)
    wanted = {label for label in spec.member_values if label in involved} - {want}
    writes = []
    if now != want:
        if want not in values:  # the directory sets a primary group only for a member
            writes.append(_member_write(dns[want], "add", entry.dn))
        pgid = {"primaryGroupID": ("replace", [str(RIDS[want])])}
        writes.append(LdapWrite("modify", entry.dn, changes=pgid))
        values = (values - {want}) | ({now} & involved)  # the old primary turns into a value
    writes += [_member_write(dns[g], "add", entry.dn) for g in sorted(wanted - values)]
    writes += [_member_write(dns[g], "delete", entry.dn) for g in sorted(values - wanted)]
    if not writes:
        return []
    expect = Expect(True, raw={k: entry.raw(k) for k in ("primaryGroupID", "objectGUID")})
    before = {"group": spec.group, "primary_group": now, ALSO: sorted(was)}
    after = {"group": spec.group, "primary_group": want, ALSO: sorted(wanted), MARK: True}
    return [_change(item, entry.dn, before, after, writes, expect)]


def _member_write(group_dn: str, op: str, *members: str) -> LdapWrite:
    return LdapWrite("modify", group_dn, changes={"member": (op, list(members))})


def _not_delegated(item: Desired, spec: RollbackSpec, entry: Entry) -> list[Change]:
    uac = entry.integer("userAccountControl") or 0
    want = bool(spec.not_delegated)
    if bool(uac & NOT_DELEGATED) == want:
        return []
    value = uac | NOT_DELEGATED if want else uac & ~NOT_DELEGATED
    write = LdapWrite("modify", entry.dn, changes={"userAccountControl": ("replace", [str(value)])})
    expect = Expect(True, raw={k: entry.raw(k) for k in ("userAccountControl", "objectGUID")})
    before, after = {"not_delegated": not want}, {"not_delegated": want, MARK: True}
    return [_change(item, entry.dn, before, after, [write], expect)]


def describe(change: Change) -> list[str]:
    """A rollback's change in words, saying plainly what it gives back (五.6)."""
    before, after = change.before or {}, change.after or {}
    back = f"drift unless the privileged task declares it, {CLAUSE}"
    if "primary_group" in after:
        line = f"primary group: {before.get('primary_group')} → {after['primary_group']}"
        if after["primary_group"] != DOMAIN_USERS:
            line += f" (puts back super-administrator rights no member list shows: {back})"
        return [line, *_values(before.get(ALSO, []), after.get(ALSO, []))]
    if "not_delegated" in after:
        line = f"not_delegated: {_flag(before['not_delegated'])} → {_flag(after['not_delegated'])}"
        if not after["not_delegated"]:
            line += f" (the built-in Administrator may be delegated again, which {CLAUSE} forbids)"
        return [line]
    added = [
        f"+ member {dn} (puts back super-administrator rights: {back})"
        for dn in after.get("added", [])
    ]
    return added + [f"- member {dn}" for dn in before.get("removed", [])]


def _values(was: Sequence[str], will: Sequence[str]) -> list[str]:
    return [f"+ member value in {g}" for g in will if g not in was] + [
        f"- member value in {g}" for g in was if g not in will
    ]


def _flag(value: Any) -> str:
    return "true" if value else "false"
