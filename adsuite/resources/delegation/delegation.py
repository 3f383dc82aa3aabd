"""``delegation``: rights on an OU for a group, as ACEs in its nTSecurityDescriptor.

    - delegation:
        ou: HQ                        # an OU path (or a DN)
        trustee: HQ-IT-Admins         # a group or user name
        rights: [create_delete_users, manage_users, reset_passwords]
        mode: add                     # add (default) | exact
        state: present                # absent: take these rights away again

Each right is what the Delegation of Control Wizard (delegwiz.inf) writes for it:

==============================  ==============================================================
create_delete_users             CC DC on user objects, this OU and all below (``OA;CI;CCDC``)
create_delete_groups            the same for group objects
create_delete_computers         the same for computer objects
manage_users                    full control of descendant user objects (``OA;CIIO;…;;user``)
manage_groups                   the same for group objects
manage_computers                the same for computer objects
reset_passwords                 extended right User-Force-Change-Password and read/write
                                pwdLastSet on descendant user objects (the wizard's "Reset user
                                passwords and force password change at next logon")
modify_group_membership         read/write ``member`` on descendant group objects
create_delete_gpos              create and delete groupPolicyContainer objects (on
                                ``CN=Policies,CN=System``: what Windows grants Group Policy
                                Creator Owners there, and Samba's default ACL does not)
create_delete_service_points    create and delete serviceConnectionPoint objects in this
                                container only (on ``CN=System``: the one-writer lease and the
                                journal witness, which their creator then controls alone)
full_control                    full control of the object and everything below it
                                (``A;CI;GA``): what adsuite's own service account gets on the
                                trees it manages (playbooks/service-account.yml)
==============================  ==============================================================

Object GUIDs come from the directory by name, never from this file: schemaIDGUID of
the classes and attributes (one search of the schema) and rightsGuid of the extended
rights (one search of CN=Extended-Rights). Trustees resolve to objectSid in one search.
A trustee this same run creates has no SID at plan time: its ACEs are planned as
missing and the SID is looked up just before the DACL is written (resources/delegation/io.py);
groups and users are created earlier in the same run (their kinds order before this).

One change per OU carries every trustee's missing rights (and, in exact mode, the
ACEs to remove), shown in words: ``HQ-IT-Admins 'reset passwords': "missing" →
"granted"``. At apply time the OU must still be the object the plan saw (objectGUID);
its DACL is read again and edited then, so ACEs someone else changed meanwhile stay.

``add`` ensures the declared ACEs and leaves every other ACE alone; a right counts as
granted when an explicit ACE of the trustee covers it (full control on user objects
covers reset passwords). ``exact`` wants each declared ACE as such and also removes
the OU's explicit ACEs that no delegation task declares for it — never inherited ACEs,
never the OU class's default ACEs (the schema's defaultSecurityDescriptor) and never
the deny-delete ACEs of ``ou``'s ``protected``.

Each change also journals the very ACEs it grants and revokes (``aces``, as SDDL), so
``adsuite rollback`` takes back exactly what a run granted and puts back exactly what
it revoked (delegation_undo.py); the plan and drift show only the words.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.formats import dn as dnlib
from adsuite.formats.security_descriptor import AccessMask, Ace, AceFlags, AceType
from adsuite.resources.base import Action, Change, Desired, Expect, Kind, PlanContext
from adsuite.resources.delegation import dacl
from adsuite.resources.delegation import rollback as delegation_undo
from adsuite.resources.delegation.dacl import AceShape, Grant
from adsuite.resources.delegation.facts import Facts, Requests
from adsuite.resources.delegation.rollback import IMAGE, PENDING_SID, image
from adsuite.resources.directory import protection
from adsuite.resources.naming import check_sam_account_name

NAME = "delegation"
ORDER = 50  # after groups and users: a trustee may be created by the same run
DELTA = True  # images hold what each change did: rollback undoes each on its own
RollbackSpec = delegation_undo.RollbackSpec  # what engine/rollback.py plans an undo with
replay = delegation_undo.replay
SD = "nTSecurityDescriptor"
RightName = Literal[
    "create_delete_users",
    "create_delete_groups",
    "create_delete_computers",
    "manage_users",
    "manage_groups",
    "manage_computers",
    "reset_passwords",
    "modify_group_membership",
    "create_delete_gpos",
    "create_delete_service_points",
    "full_control",
]


@dataclass(frozen=True)
class RightAce:
    """One ACE of a right, its GUIDs named: a schema class or attribute, or an extended right."""

    flags: int
    mask: int
    schema_object: str | None = None  # lDAPDisplayName → objectType
    extended_right: str | None = None  # controlAccessRight cn → objectType
    applies_to: str | None = None  # class lDAPDisplayName → inheritedObjectType


@dataclass(frozen=True)
class Right:
    words: str
    aces: tuple[RightAce, ...]


THIS_AND_BELOW = int(AceFlags.CI)
BELOW_ONLY = int(AceFlags.CI | AceFlags.IO)
READ_WRITE = int(AccessMask.RP | AccessMask.WP)


def _create_delete(cls: str) -> Right:
    mask = int(AccessMask.CC | AccessMask.DC)
    return Right(f"create and delete {cls}s", (RightAce(THIS_AND_BELOW, mask, schema_object=cls),))


def _manage(cls: str) -> Right:
    return Right(f"manage {cls}s", (RightAce(BELOW_ONLY, dacl.FULL_CONTROL, applies_to=cls),))


RIGHTS: dict[str, Right] = {
    "create_delete_users": _create_delete("user"),
    "create_delete_groups": _create_delete("group"),
    "create_delete_computers": _create_delete("computer"),
    "manage_users": _manage("user"),
    "manage_groups": _manage("group"),
    "manage_computers": _manage("computer"),
    "reset_passwords": Right(
        "reset passwords",
        (
            RightAce(
                BELOW_ONLY,
                int(AccessMask.CR),
                extended_right="User-Force-Change-Password",
                applies_to="user",
            ),
            RightAce(BELOW_ONLY, READ_WRITE, schema_object="pwdLastSet", applies_to="user"),
        ),
    ),
    "modify_group_membership": Right(
        "modify group membership",
        (RightAce(BELOW_ONLY, READ_WRITE, schema_object="member", applies_to="group"),),
    ),
    "create_delete_gpos": Right(
        "create and delete GPOs",
        (RightAce(THIS_AND_BELOW, int(AccessMask.CC | AccessMask.DC), "groupPolicyContainer"),),
    ),
    "create_delete_service_points": Right(
        "create and delete service connection points",
        (RightAce(0, int(AccessMask.CC | AccessMask.DC), "serviceConnectionPoint"),),
    ),
    "full_control": Right("full control", (RightAce(THIS_AND_BELOW, dacl.FULL_CONTROL),)),
}


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ou: str
    trustee: str
    rights: list[RightName] = Field(min_length=1)
    mode: Literal["add", "exact"] = "add"
    state: Literal["present", "absent"] = "present"

    @field_validator("ou")
    @classmethod
    def _ou(cls, value: str) -> str:
        if not dnlib.looks_like_dn(value):
            dnlib.ou_path_segments(value)
        return value

    @field_validator("trustee")
    @classmethod
    def _trustee(cls, value: str) -> str:
        return check_sam_account_name(value)


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def _declared(desired: Sequence[Desired]) -> list[Desired]:
    """The playbook's tasks; the rest are a rollback's (delegation_undo.py)."""
    return [d for d in desired if isinstance(d.spec, Spec)]


def _undone(desired: Sequence[Desired]) -> list[Desired]:
    return [d for d in desired if isinstance(d.spec, RollbackSpec)]


def _dn(item: Desired, ctx: PlanContext) -> str:
    path = _spec(item).ou
    return (
        dnlib.normalize(path)
        if dnlib.looks_like_dn(path)
        else dnlib.ou_path_to_dn(path, ctx.base_dn)
    )


def _requests(desired: Sequence[Desired], ctx: PlanContext) -> Requests:
    aces = [a for d in desired for r in _spec(d).rights for a in RIGHTS[r].aces]
    return Requests.build(
        ctx,
        schema={n for a in aces for n in (a.schema_object, a.applies_to) if n},
        rights={a.extended_right for a in aces if a.extended_right},
        trustees=[_spec(d).trustee for d in desired],
        exact_ous=[_dn(d, ctx) for d in desired if _spec(d).mode == "exact"],
        targets=[_dn(d, ctx) for d in desired],
    )


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Hashable]:
    declared, undone = _declared(desired), _undone(desired)
    out: list[Hashable] = _requests(declared, ctx).all() if declared else []
    return out + (delegation_undo.queries(undone, ctx) if undone else [])


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return {_spec(d).trustee for d in _declared(desired)}


def identity(spec: Spec | RollbackSpec) -> str:
    if isinstance(spec, RollbackSpec):
        return delegation_undo.identity(spec)
    where = spec.ou if dnlib.looks_like_dn(spec.ou) else "/".join(dnlib.ou_path_segments(spec.ou))
    return f"{where.lower()} {spec.trustee.lower()}"


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    declared, undone = _declared(desired), _undone(desired)
    changes = delegation_undo.plan(undone, ctx) if undone else []
    if not declared:
        return changes
    facts = Facts.read(ctx, _requests(declared, ctx))
    by_ou: dict[str, list[Desired]] = {}
    for item in declared:
        by_ou.setdefault(dnlib.key(_dn(item, ctx)), []).append(item)
    planned = [_plan_ou(_dn(items[0], ctx), items, facts, ctx) for items in by_ou.values()]
    return changes + [c for c in planned if c is not None]


class _Diff:
    """What one OU's change shows (before/after in words), writes and journals (the ACEs)."""

    def __init__(self) -> None:
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}
        self.grants: list[Grant] = []
        self.revokes: list[Ace] = []
        self.granted: list[dict[str, str]] = []  # images of the ACEs put on
        self.revoked: list[dict[str, str]] = []  # and taken off

    def show(self, what: str, was: str, will: str) -> str:
        key, n = what, 1
        while key in self.after:  # two unmanaged ACEs that read alike
            n += 1
            key = f"{what} #{n}"
        self.before[key], self.after[key] = was, will
        return key

    def revoke(self, what: str, aces: Sequence[Ace]) -> None:
        self.revokes += aces
        self.revoked += [image(what, ace) for ace in aces]

    def grant(self, what: str, trustee: str, sid: str | None, shapes: Sequence[AceShape]) -> None:
        self.grants += [Grant(trustee, sid, s) for s in shapes]
        pending = None if sid else trustee
        self.granted += [image(what, s.for_sid(sid or PENDING_SID), pending) for s in shapes]


def _plan_ou(dn: str, items: list[Desired], facts: Facts, ctx: PlanContext) -> Change | None:
    entry = facts.ous.get(dnlib.key(dn))
    have = dacl.explicit_aces(entry.raw(SD)[0]) if entry is not None and entry.raw(SD) else []
    exact = any(_spec(item).mode == "exact" for item in items)
    diff, declared = _Diff(), set[Ace]()
    for item in items:
        declared |= _plan_item(item, have, exact, facts, ctx, diff)
    if exact:
        keep = declared | facts.default_aces
        for ace in have:
            if ace not in keep and ace not in diff.revokes and not _is_protection(ace):
                what = f"unmanaged ACE: {facts.principal(ace.sid)} '{facts.describe(ace)}'"
                diff.revoke(diff.show(what, "present", "removed (exact mode)"), [ace])
    if not diff.after:
        return None
    diff.before[IMAGE], diff.after[IMAGE] = diff.revoked, diff.granted
    write = dacl.DaclEdit(dn, ctx.base_dn, tuple(diff.grants), tuple(diff.revokes))
    expect = Expect(True, raw={"objectGUID": entry.raw("objectGUID")}) if entry else Expect(None)
    return Change(
        NAME, Action.UPDATE, dn, diff.before, diff.after, items[0].location, (write,), expect
    )


def _plan_item(
    item: Desired, have: list[Ace], exact: bool, facts: Facts, ctx: PlanContext, diff: _Diff
) -> set[Ace]:
    """Plan one task's rights; return the ACEs it declares (for exact mode)."""
    spec = _spec(item)
    sid = facts.trustee_sid(spec.trustee, item, ctx)
    declared: set[Ace] = set()
    for right_name in spec.rights:
        right = RIGHTS[right_name]
        shapes = [_shape(a, facts, item) for a in right.aces]
        what = f"{spec.trustee} '{right.words}'"
        aces = [s.for_sid(sid) for s in shapes] if sid else []
        if spec.state == "absent":
            gone = [h for h in have if h in aces]
            if gone:
                diff.revoke(diff.show(what, "granted", "removed"), gone)
            continue
        declared.update(aces)
        missing = (
            shapes
            if sid is None
            else [s for s, a in zip(shapes, aces, strict=True) if not _present(a, have, exact)]
        )
        if missing:
            diff.grant(diff.show(what, "missing", "granted"), spec.trustee, sid, missing)
    return declared


def _present(want: Ace, have: Sequence[Ace], exact: bool) -> bool:
    """Add mode: some explicit ACE grants at least this. Exact mode: this very ACE is there."""
    return want in have if exact else any(dacl.covers(h, want) for h in have)


def _shape(ace: RightAce, facts: Facts, item: Desired) -> AceShape:
    object_type: uuid.UUID | None = None
    if ace.schema_object:
        object_type = facts.schema_guid(ace.schema_object, item)
    elif ace.extended_right:
        object_type = facts.right_guid(ace.extended_right, item)
    inherited = facts.schema_guid(ace.applies_to, item) if ace.applies_to else None
    return AceShape(ace.flags, ace.mask, object_type, inherited)


def _is_protection(ace: Ace) -> bool:
    """The deny-delete ACEs for Everyone that ``ou``'s ``protected`` manages."""
    masks = protection.OBJECT_MASK | protection.PARENT_MASK
    return (
        ace.ace_type == AceType.ACCESS_DENIED
        and ace.sid == protection.EVERYONE
        and ace.flags == 0
        and ace.mask & ~masks == 0
    )


def describe(change: Change, *, drift: bool) -> list[str]:
    """The rights in words, one line each (the ACE images are for rollback, not shown)."""
    before, after = change.before or {}, change.after or {}
    shown = [k for k in after if k != IMAGE]
    if drift:
        return [f"{k} is {_show(before.get(k))}, want {_show(after[k])}" for k in shown]
    return [f"{k}: {_show(before.get(k))} → {_show(after[k])}" for k in shown]


def finding_aspects(change: Change) -> list[str]:
    """What a drift finding's id depends on: the lines in words, as before ACE images."""
    return sorted((set(change.before or {}) | set(change.after or {})) - {IMAGE})


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=queries,
    declares=declares,
    references=references,
    plan=plan,
    identity=identity,
    describe=describe,
    finding_aspects=finding_aspects,
    delta=DELTA,
    replay=replay,
    rollback_spec=RollbackSpec,
)
