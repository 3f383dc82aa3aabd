"""``file_acl``: the permissions of a folder on a file server, with its data owner (五.5)
and audit rules (五.7), applied over SMB security descriptors — or over WinRM for a
local path of the host that no share exposes.

    - file_acl:
        host: fs1                    # a key of the inventory's hosts (with smb:)
        share: data
        path: HQ/Finance             # "" is the share's root folder; created if missing
        data_owner: {department: Finance, head: li.hua}    # required: who approves changes
        owner: Administrators
        inherit: false               # false: protected, nothing inherited from above
        access:                      # the folder's complete explicit DACL
          - {who: HQ-Finance-RW, rights: modify}
          - {who: HQ-Finance-RO, rights: read_execute}
          - {who: GROUP\\auditor, rights: [read_permissions], applies_to: this_folder}
        audit:                       # the folder's complete explicit SACL
          - {who: Everyone, rights: [change_permissions, take_ownership, delete]}
        key_data: true               # also audit every read (list_folder/read data) by Everyone
        check_tree: true             # every folder below must inherit, and only inherit

``access`` and ``audit`` are exact: an explicit ACE nobody declared is drift (五.5: it was
never approved) and apply removes it; inherited ACEs are left alone. A field left out
(``owner``, ``inherit``, ``access``, ``audit``) is not managed. Rights are words (see
:mod:`adsuite.resources.file_acl.rights`); principals are account names, well-known names
or SIDs (:mod:`adsuite.resources.file_acl.principals`), looked up in bulk. ``check_tree`` reads
every folder below in bulk and reports, and on apply resets, each one that has explicit
ACEs, a protected DACL, or inherited ACEs that differ from what its parent passes down
(:mod:`adsuite.resources.file_acl.tree`). Files are not checked.

Ticket grants (五.5): an ACE granted by a ``permission_change`` ticket — approved by
the head of the folder's data owner, applied successfully, not revoked by a later
ticket, not past its ``expires`` date — counts as declared beside
``access``, so drift stays clean and apply keeps it; an expired one is drift again.
The kind asks for a ``GrantsRead``, which the engine answers from the journal
(:mod:`adsuite.resources.file_acl.grants`). A ticket's own task carries
``ticket_change`` (refused in a playbook): it adds or removes that one ACE, nothing else.

A local path (``host: fs01``, ``path: 'D:\\Finance\\Ledger'``, no ``share``) names a host
with ``winrm:`` in the inventory; its descriptor is read and written by PowerShell
scripts there (:mod:`adsuite.resources.file_acl.places`). Plans, drift, apply and
rollback are the same; the folder is named ``fs01:D:\\Finance\\Ledger``.

Rollback: each change journals the parts it writes as an exact image (SDDL) beside the
words, and ``adsuite rollback`` puts them back (:mod:`adsuite.resources.file_acl.rollback`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.ldap_query import by_names, sids_found
from adsuite.formats.security_descriptor import Ace, Control
from adsuite.resources.base import Action, Change, Desired, Kind, PlanContext, first_error
from adsuite.resources.file_acl import grants as grantlib
from adsuite.resources.file_acl import places, principals
from adsuite.resources.file_acl import requests as io
from adsuite.resources.file_acl import rollback as imagelib
from adsuite.resources.file_acl import tree as file_acl_tree
from adsuite.resources.file_acl import words as file_acl_words
from adsuite.resources.file_acl.rollback import RollbackSpec, restore
from adsuite.resources.file_acl.spec import Spec
from adsuite.resources.file_acl.spec import principal_names as _principal_names
from adsuite.resources.file_acl.wanted import Wanted, Who, builder
from adsuite.resources.file_acl.words import ace_words, explicit, same_aces, view

log = logging.getLogger(__name__)

NAME = "file_acl"
ORDER = 80  # after groups and users: an ACE may name a group the same run creates
__all__ = [
    "NAME",
    "ORDER",
    "RollbackSpec",
    "Spec",
    "declares",
    "describe",
    "plan",
    "queries",
    "references",
    "restore",
]


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def unc(spec: Spec, path: str | None = None) -> str:
    """The folder's name: ``\\\\host\\share\\path``, or ``host:D:\\path`` for a local one."""
    return places.name(spec, path)


def identity(spec: Spec) -> str:
    return unc(spec).lower()


def _image(item: Desired) -> imagelib.Image | None:
    return getattr(item.spec, "image", None)


def folder_read(item: Desired, ctx: PlanContext) -> Hashable:
    image = _image(item)
    names = imagelib.image_sids(image) if image is not None else ()
    return places.folder_read(_spec(item), ctx.base_dn, item.location, names)


def tree_read(item: Desired, ctx: PlanContext) -> Hashable:
    return places.tree_read(_spec(item), ctx.base_dn, item.location)


def _accounts(desired: Sequence[Desired]) -> set[str]:
    return principals.accounts(n for d in desired for n in _principal_names(_spec(d)))


def _image_accounts(desired: Sequence[Desired]) -> set[str]:
    """Accounts a rollback image names by placeholder (the run it undoes created them)."""
    return {n for d in desired if (i := _image(d)) is not None for n in i.names.values()}


def grants_read(item: Desired, ctx: PlanContext) -> grantlib.GrantsRead:
    s = _spec(item)
    return grantlib.GrantsRead(s.host, s.share, s.path, ctx.base_dn)


def _takes_grants(item: Desired) -> bool:
    """Ticket grants count where the playbook declares the access (and not in a ticket)."""
    spec = _spec(item)
    return spec.access is not None and spec.ticket_change is None


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Hashable]:
    reads: list[Hashable] = [folder_read(d, ctx) for d in desired]
    reads += [tree_read(d, ctx) for d in desired if _spec(d).check_tree]
    reads += [grants_read(d, ctx) for d in desired if _takes_grants(d)]
    reads.append(principals.netbios_query(ctx.base_dn))
    accounts = _accounts(desired) | _image_accounts(desired)
    return reads + list(by_names(ctx.base_dn, accounts))


def references(desired: Sequence[Desired]) -> set[str]:
    return _accounts(desired)


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    netbios = principals.netbios_name(ctx.entries(principals.netbios_query(ctx.base_dn)), ctx.realm)
    accounts = _accounts(desired) | _image_accounts(desired)
    found = [e for q in by_names(ctx.base_dn, accounts) for e in ctx.entries(q)]
    sids = sids_found(found)
    changes: list[Change] = []
    for item in desired:
        who = Who(ctx, sids, netbios)
        state = ctx.fact(folder_read(item, ctx)) or io.FolderState(None, {})
        who.found = state.names
        if _image(item) is not None:
            changes += imagelib.plan_image(item, state, who.show, sids, ctx.base_dn)
        else:
            changes += _plan_item(item, desired, state, who, ctx)
    return changes


def _plan_item(
    item: Desired, desired: Sequence[Desired], state: io.FolderState, who: Who, ctx: PlanContext
) -> list[Change]:
    grants = ctx.fact(grants_read(item, ctx)) if _takes_grants(item) else None
    want = Wanted(item, who, grants or grantlib.GrantState())
    if _spec(item).ticket_change is not None:
        want.access = _ticket_access(item, state, who)
        want.placeholders = dict(who.placeholders)
    changes = _plan_folder(item, state, want, who, ctx.base_dn)
    if _spec(item).check_tree and state.descriptor is not None:
        tree = ctx.fact(tree_read(item, ctx)) or io.TreeState({}, {}, {})
        root = want.dacl(sdlib.parse(state.descriptor))
        own = _managed_below(item, desired)
        changes += file_acl_tree.plan_tree(item, tree, root, _tree_show(who, tree), own)
    return changes


def _managed_below(item: Desired, desired: Sequence[Desired]) -> set[str]:
    """Folders below *item* that tasks of their own manage: the tree check leaves them be."""
    top = _spec(item)
    prefix = (top.path + "\\").lower() if top.path else ""
    return {
        s.path.lower()
        for s in map(_spec, desired)
        if (s.host, (s.share or "").lower()) == (top.host, (top.share or "").lower())
        and s.path.lower().startswith(prefix)
        and s.path.lower() != top.path.lower()
    }


def _tree_show(who: Who, tree: io.TreeState) -> Callable[[str], str]:
    names = {**tree.names, **who.found}
    return lambda sid: principals.display(sid, who.declared, names, who.netbios)


def _ticket_access(item: Desired, state: io.FolderState, who: Who) -> list[Ace]:
    """A ticket's task: the folder's explicit ACEs as they are, one added or removed."""
    change = _spec(item).ticket_change
    assert change is not None
    if state.descriptor is None:
        raise first_error(item, f"{unc(_spec(item))} does not exist yet: apply its playbook first")
    sd = sdlib.parse(state.descriptor)
    ace = grantlib.rule_ace(change.rule, who.sid(change.rule.who, item))
    current = explicit(sd.dacl.aces if sd.dacl else ())
    return grantlib.ticket_access(current, ace, grant=change.grant is not None)


def _want_view(want: Wanted, show: Callable[[str], str]) -> dict[str, Any]:
    spec = want.spec
    out: dict[str, Any] = {"owner": show(want.owner) if want.owner else None}
    out["inherit"] = spec.inherit
    out["access"] = [ace_words(a, show) for a in want.access] if want.access is not None else None
    out["audit"] = [ace_words(a, show) for a in want.audit] if want.audit is not None else None
    return {k: v for k, v in out.items() if v is not None}


def _differences(want: Wanted, sd: sdlib.SecurityDescriptor) -> int:
    """The parts (io.OWNER | io.DACL | io.SACL) whose declared state differs."""
    parts = 0
    if want.owner is not None and want.owner != sd.owner:
        parts |= io.OWNER
    dacl = explicit(sd.dacl.aces if sd.dacl else ())
    protected = bool(sd.control & Control.SE_DACL_PROTECTED)
    if want.access is not None and not same_aces(dacl, want.access):
        parts |= io.DACL
    if want.spec.inherit is not None and want.spec.inherit == protected:
        parts |= io.DACL
    audits = explicit(sd.sacl.aces if sd.sacl else ())
    if want.audit is not None and not same_aces(audits, want.audit):
        parts |= io.SACL
    return parts


def _managed_parts(want: Wanted) -> int:
    parts = io.OWNER if want.owner is not None else 0
    parts |= io.DACL if want.access is not None or want.spec.inherit is not None else 0
    return parts | (io.SACL if want.audit is not None else 0)


def _plan_folder(
    item: Desired, state: io.FolderState, want: Wanted, who: Who, base_dn: str
) -> list[Change]:
    spec, owner = want.spec, want.spec.data_owner.record()
    wanted_view = _want_view(want, who.show)
    if state.descriptor is None:
        after = {"data_owner": owner, **wanted_view}
        write = _write(want, _managed_parts(want), base_dn, create=True)
        expect = places.folder_expect(spec, spec.path, exists=False)
        target = unc(spec)
        return [Change(NAME, Action.CREATE, target, None, after, item.location, (write,), expect)]
    sd = sdlib.parse(state.descriptor)
    parts = _differences(want, sd)
    if not parts:
        return []
    current = view(sd, who.show)
    keys = [k for k in wanted_view if _part_of(k) & parts and _differs(k, want, sd)]
    before = {"data_owner": owner, **{k: current[k] for k in keys}}
    after = {"data_owner": owner, **{k: wanted_view[k] for k in keys if k in wanted_view}}
    expired = {t: why for t, why in want.expired.items() if t in before.get("access", ())}
    if expired:
        after["expired_grants"] = expired
    before["sddl"] = imagelib.image_or_none(sd, parts)
    after.update(_after_image(want, sd, parts))
    fingerprint = io.fingerprint(state.descriptor, parts)
    expect = places.folder_expect(spec, spec.path, True, parts, fingerprint)
    write = _write(want, parts, base_dn, create=False)
    change = Change(NAME, Action.UPDATE, unc(spec), before, after, item.location, (write,), expect)
    return [change]


def _after_image(want: Wanted, sd: sdlib.SecurityDescriptor, parts: int) -> dict[str, Any]:
    """The parts as the change will leave them (for rollback to tell if they moved on).

    Inherited ACEs are the folder's current ones; accounts the run creates stay
    placeholders, named under ``placeholders``.
    """
    stand_ins = {account.lower(): sid for sid, account in want.placeholders.items()}
    planned = sdlib.parse(builder(want, parts)(io.SdInputs(sd, None, stand_ins)))
    image = {"sddl": imagelib.image_or_none(planned, parts)}
    return {**image, "placeholders": dict(want.placeholders)} if want.placeholders else image


def _part_of(key: str) -> int:
    return {"owner": io.OWNER, "inherit": io.DACL, "access": io.DACL, "audit": io.SACL}[key]


def _differs(key: str, want: Wanted, sd: sdlib.SecurityDescriptor) -> bool:
    if key == "inherit":
        return want.spec.inherit == bool(sd.control & Control.SE_DACL_PROTECTED)
    return key != "access" or not same_aces(
        explicit(sd.dacl.aces if sd.dacl else ()), want.access or []
    )


def _write(want: Wanted, parts: int, base_dn: str, *, create: bool) -> Any:
    spec = want.spec
    needs_parent = bool(parts & io.DACL) and spec.inherit is not False and spec.path != ""
    return places.folder_write(
        spec,
        spec.path,
        base_dn,
        parts,
        builder(want, parts),
        create=create,
        needs_parent=needs_parent,
        resolve=tuple(sorted(want.placeholders.values())),
    )


def describe(change: Change, *, drift: bool) -> list[str]:
    """How plans and drift reports show a file_acl change (see cli/render.py)."""
    if drift:
        return file_acl_words.drift_details(change)
    return file_acl_words.plan_lines(change)


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
    restore=restore,
    rollback_spec=RollbackSpec,
)
