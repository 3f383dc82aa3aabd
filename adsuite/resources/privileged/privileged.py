"""``privileged``: who holds super-administrator rights (五.6), as an allow-list.

Exact membership of Domain Admins, Enterprise Admins, Schema Admins, Administrators
and the Account, Server, Backup and Print Operators (see privileged_spec.py for the
task). Members count however they got there: a ``member`` value, a nested group, or a
``primaryGroupID`` (a user whose primary group is Domain Admins has no ``member`` value
in it). A member the playbook does not declare is drift and apply removes it — a
primary-group member by moving its primary group back to Domain Users first.

The built-in Administrator (RID 500) is checked too: "account is sensitive and cannot
be delegated" (apply sets it) and its password age (a finding apply cannot fix: check
the account out and in to rotate it). A service account that is the built-in
Administrator, or that is not the account adsuite binds with, is a warning.

``adsuite rollback`` undoes these changes (privileged_undo.py) — putting back rights
the allow-list does not grant, which its plan says on every such line.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

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
from adsuite.resources.privileged import rest as privileged_rest
from adsuite.resources.privileged import rollback as privileged_undo
from adsuite.resources.privileged.facts import (
    BUILTIN_ADMINISTRATOR_RID,
    DOMAIN_RIDS,
    DOMAIN_USERS_RID,
    GROUP_NAMES,
    NOT_DELEGATED,
    PrivilegedGroup,
    PrivilegedRead,
    PrivilegedState,
)
from adsuite.resources.privileged.rollback import ALSO, DOMAIN_USERS, RollbackSpec, replay
from adsuite.resources.privileged.spec import CLAUSE, Spec

NAME = "privileged"
ORDER = 45  # after users (a declared account may be created in the same run)
DELTA = True  # images hold what each change did: rollback undoes each on its own

__all__ = [
    "NAME",
    "ORDER",
    "RollbackSpec",
    "Spec",
    "declares",
    "describe",
    "finding_aspects",
    "notices",
    "plan",
    "queries",
    "replay",
]


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def _tasks(desired: Sequence[Desired]) -> list[Desired]:
    """The playbook's task; the rest are a rollback's (privileged_undo.py)."""
    return [d for d in desired if isinstance(d.spec, Spec)]


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Hashable]:
    undone = [d for d in desired if isinstance(d.spec, RollbackSpec)]
    extra: list[Hashable] = [privileged_undo.accounts_query(undone, ctx)] if undone else []
    resting = [privileged_rest.request(_spec(d), ctx.base_dn) for d in _tasks(desired)]
    extra += [r for r in resting if r is not None]
    return [PrivilegedRead(ctx.base_dn), *extra]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    names: set[str] = set()
    for spec in map(_spec, _tasks(desired)):
        names |= {*spec.accounts, spec.service_account, *spec.member_accounts()}
    return names


def identity(spec: Spec | RollbackSpec) -> str:
    if isinstance(spec, RollbackSpec):
        return privileged_undo.identity(spec)
    return NAME  # one allow-list per playbook: two would each call the other's members drift


def state_of(ctx: PlanContext, where: Desired) -> PrivilegedState:
    state = ctx.fact(PrivilegedRead(ctx.base_dn))
    if not isinstance(state, PrivilegedState):
        raise first_error(where, "the privileged groups were not read")
    return state


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    changes: list[Change] = []
    undone = [d for d in desired if isinstance(d.spec, RollbackSpec)]
    if undone:
        changes += privileged_undo.plan(undone, ctx, state_of(ctx, undone[0]))
    for item in _tasks(desired):
        state = state_of(ctx, item)
        allowed = _allowed(_spec(item), item, ctx)
        for label in GROUP_NAMES:
            changes += _plan_group(item, label, state, allowed, ctx)
        changes += _not_delegated(item, state)
        changes += _at_rest(item, state, ctx)[0]
    return changes


def _allowed(spec: Spec, item: Desired, ctx: PlanContext) -> dict[str, str]:
    """DN key → name of every account allowed to hold the rights."""
    names = [*spec.accounts, spec.service_account]
    return {dnlib.key(ctx.resolve(name, item)): name for name in names}


def _declared(
    item: Desired, label: str, state: PrivilegedState, ctx: PlanContext
) -> dict[str, str]:
    out: dict[str, str] = {}
    for member in _spec(item).groups[label]:
        if member in GROUP_NAMES:
            group = state.groups.get(member)
            if group is None:
                raise first_error(item, f"{label}: the domain has no {member} group to nest")
            out[dnlib.key(group.dn)] = dnlib.normalize(group.dn)
        else:
            dn = ctx.resolve(member, item)
            out[dnlib.key(dn)] = dnlib.normalize(dn)
    return out


def _plan_group(
    item: Desired, label: str, state: PrivilegedState, allowed: dict[str, str], ctx: PlanContext
) -> list[Change]:
    group = state.groups.get(label)
    declared = _declared(item, label, state, ctx)
    if group is None:
        if declared:
            raise first_error(item, f"the domain has no {label} group (only the forest root has)")
        return []
    current = group.direct()
    primary = set(group.primary)
    to_add = sorted(dn for k, dn in declared.items() if k not in current and k not in primary)
    to_remove = sorted(dn for k, dn in current.items() if k not in declared)
    changes = []
    if to_add or to_remove:
        changes.append(_membership_change(item, group, to_add, to_remove, state, allowed))
    for key in sorted(primary - set(declared)):
        changes.append(_primary_group_change(item, group, key, state))
    return changes


def _membership_change(
    item: Desired,
    group: PrivilegedGroup,
    to_add: list[str],
    to_remove: list[str],
    state: PrivilegedState,
    allowed: dict[str, str],
) -> Change:
    writes = []
    if to_add:
        writes.append(LdapWrite("modify", group.dn, changes={"member": ("add", to_add)}))
    if to_remove:
        writes.append(LdapWrite("modify", group.dn, changes={"member": ("delete", to_remove)}))
    expect = Expect(True, has_dns={"member": tuple(to_remove)}, lacks_dns={"member": tuple(to_add)})
    before: dict[str, Any] = {"group": group.label}
    after: dict[str, Any] = {"group": group.label}
    if to_remove:
        before["removed"] = to_remove
        holders = _undeclared_holders(group, state, allowed)
        if holders:
            before["undeclared_holders"] = holders
    if to_add:
        after["added"] = to_add
    return Change(
        NAME, Action.UPDATE, group.dn, before, after, item.location, tuple(writes), expect
    )


def _undeclared_holders(
    group: PrivilegedGroup, state: PrivilegedState, allowed: dict[str, str]
) -> list[str]:
    """Accounts that hold the group's rights by any path but are not allowed to."""
    names = []
    for key in group.effective:
        principal = state.principals.get(key)
        if key not in allowed and principal is not None and not principal.is_group:
            names.append(principal.name)
    return sorted(names, key=str.lower)


def _primary_group_change(
    item: Desired, group: PrivilegedGroup, key: str, state: PrivilegedState
) -> Change:
    """Move a primary-group member back to Domain Users, then take it out of the group."""
    principal = state.principals[key]
    if group.label not in DOMAIN_RIDS or state.domain_users_dn is None:
        raise first_error(item, f"{principal.name} has {group.label} as primary group")
    writes = []
    member_of = {dnlib.key(dn) for dn in principal.entry.texts("memberOf")}
    if dnlib.key(state.domain_users_dn) not in member_of:
        add = {"member": ("add", [principal.dn])}
        writes.append(LdapWrite("modify", state.domain_users_dn, changes=add))
    pgid = {"primaryGroupID": ("replace", [str(DOMAIN_USERS_RID)])}
    writes.append(LdapWrite("modify", principal.dn, changes=pgid))
    # AD turns the old primary group into a `member` value; that value goes too
    writes.append(LdapWrite("modify", group.dn, changes={"member": ("delete", [principal.dn])}))
    expect = Expect(
        True,
        raw={
            "primaryGroupID": principal.entry.raw("primaryGroupID"),
            "objectGUID": principal.entry.raw("objectGUID"),
        },
    )
    # whether it was in Domain Users by a member value too: what a rollback puts back
    also = [DOMAIN_USERS] if dnlib.key(state.domain_users_dn) in member_of else []
    before = {"group": group.label, "primary_group": group.label, ALSO: also}
    after = {"group": group.label, "primary_group": DOMAIN_USERS, ALSO: []}
    return Change(
        NAME, Action.UPDATE, principal.dn, before, after, item.location, tuple(writes), expect
    )


def _not_delegated(item: Desired, state: PrivilegedState) -> list[Change]:
    admin = state.builtin_administrator
    if admin is None or not _spec(item).builtin_administrator.not_delegated:
        return []
    if admin.uac & NOT_DELEGATED:
        return []
    value = str(admin.uac | NOT_DELEGATED)
    write = LdapWrite("modify", admin.dn, changes={"userAccountControl": ("replace", [value])})
    expect = Expect(
        True,
        raw={
            "userAccountControl": admin.entry.raw("userAccountControl"),
            "objectGUID": admin.entry.raw("objectGUID"),
        },
    )
    before, after = {"not_delegated": False}, {"not_delegated": True}
    return [Change(NAME, Action.UPDATE, admin.dn, before, after, item.location, (write,), expect)]


def notices(desired: Sequence[Desired], ctx: PlanContext) -> list[Notice]:
    out: list[Notice] = []
    for item in _tasks(desired):
        state = state_of(ctx, item)
        out += _password_age(item, state)
        out += _service_account(item, state, ctx)
        out += _at_rest(item, state, ctx)[1]
    return out


def _at_rest(
    item: Desired, state: PrivilegedState, ctx: PlanContext
) -> tuple[list[Change], list[Notice]]:
    """Accounts declared ``at_rest: disabled`` that are enabled and not checked out."""
    request = privileged_rest.request(_spec(item), ctx.base_dn)
    found = ctx.fact(request) if request is not None else None
    if not isinstance(found, privileged_rest.Resting):
        return [], []

    def binds_as(name: str, dn: str) -> bool:
        return _same_account(state.bound_as, name, dn, ctx.realm)

    return privileged_rest.enabled_at_rest(item, _spec(item), found, binds_as)


def _password_age(item: Desired, state: PrivilegedState) -> list[Notice]:
    admin = state.builtin_administrator
    if admin is None:
        return []
    limit = _spec(item).builtin_administrator.max_password_age or state.max_password_age_days
    set_at = admin.password_set_at()
    if limit is None:
        return []
    if set_at is None:
        text = "password of the built-in Administrator was never set"
    else:
        age = (state.read_at - set_at).total_seconds() / 86400
        if age <= limit:
            return []
        text = (
            f"password of the built-in Administrator is {int(age)} days old, over the "
            f"{limit:g}-day maximum: check the account out and in to rotate it"
        )
    return [Notice(NAME, admin.dn, text, item.location)]


def _service_account(item: Desired, state: PrivilegedState, ctx: PlanContext) -> list[Notice]:
    spec = _spec(item)
    dn = ctx.resolve(spec.service_account, item)
    out = []
    principal = state.principal(dn)
    rid = principal.rid if principal is not None else None
    admin = state.builtin_administrator
    if rid == BUILTIN_ADMINISTRATOR_RID or (
        admin is not None and dnlib.key(admin.dn) == dnlib.key(dn)
    ):
        text = (
            f"service account {spec.service_account} is the built-in Administrator (RID 500): "
            f"{CLAUSE} wants a dedicated account for automation"
        )
        out.append(Notice(NAME, dn, text, item.location, "warning"))
    if not _same_account(state.bound_as, spec.service_account, dn, ctx.realm):
        text = (
            f"adsuite binds as {state.bound_as}, not as the declared service account "
            f"{spec.service_account}: its logons would not be reconciled with its runs"
        )
        out.append(Notice(NAME, dn, text, item.location, "warning"))
    return out


def _same_account(bound_as: str, name: str, dn: str, realm: str) -> bool:
    """Whether a bind name (sAMAccountName, DOMAIN\\name, UPN or DN) names this account."""
    if dnlib.looks_like_dn(bound_as):
        return dnlib.key(bound_as) == dnlib.key(dn)
    user = bound_as.rsplit("\\", 1)[-1]
    user, _, domain = user.partition("@")
    same_realm = not domain or domain.lower() == realm.lower()
    return same_realm and user.lower() == name.lower()


def describe(change: Change, *, drift: bool) -> list[str]:
    """The change in words: members of a group, a primary group, the delegation flag."""
    before, after = change.before or {}, change.after or {}
    if after.get(privileged_undo.MARK):
        return privileged_undo.describe(change)
    resting = privileged_rest.describe(change, drift=drift)
    if resting is not None:
        return resting
    if "primary_group" in after:
        group = before["primary_group"]
        if drift:
            return [f"is in {group} as its primary group (no member value shows it)"]
        return [f"primary group: {group} → {after['primary_group']}", f"- member of {group}"]
    if "not_delegated" in after:
        if drift:
            return ["built-in Administrator is not marked sensitive and cannot be delegated"]
        return ["not_delegated: false → true (userAccountControl 0x100000)"]
    holders = before.get("undeclared_holders", [])
    held = [f"undeclared accounts hold its rights: {', '.join(holders)}"] if holders else []
    if drift:
        lacks = [f"lacks member {dn}" for dn in after.get("added", [])]
        return lacks + [f"has unwanted member {dn}" for dn in before.get("removed", [])] + held
    return [f"+ member {dn}" for dn in after.get("added", [])] + [
        f"- member {dn}" for dn in before.get("removed", [])
    ]


def finding_aspects(change: Change) -> list[str]:
    """What a drift finding's id depends on: the fields changed, as before ``also_member_of``."""
    return sorted((set(change.before or {}) | set(change.after or {})) - {ALSO})


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
    delta=DELTA,
    replay=replay,
    rollback_spec=RollbackSpec,
)
