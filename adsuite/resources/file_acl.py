"""``file_acl``: the permissions of a folder on a file share, with its data owner (五.5)
and audit rules (五.7), applied over SMB security descriptors.

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
:mod:`adsuite.resources.file_rights`); principals are account names, well-known names
or SIDs (:mod:`adsuite.resources.principals`), looked up in bulk. ``check_tree`` reads
every folder below in bulk and reports, and on apply resets, each one that has explicit
ACEs, a protected DACL, or inherited ACEs that differ from what its parent passes down
(:mod:`adsuite.resources.file_acl_tree`). Files are not checked.

Ticket grants (五.5): an ACE granted by a ``permission_change`` ticket — approved by
the head of the folder's data owner, applied successfully, not revoked by a later
ticket, not past its ``expires`` date — counts as declared beside
``access``, so drift stays clean and apply keeps it; an expired one is drift again.
The kind asks for a ``GrantsRead``, which the engine answers from the journal
(:mod:`adsuite.resources.file_acl_grants`). A ticket's own task carries
``ticket_change`` (refused in a playbook): it adds or removes that one ACE, nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.security_descriptor import Ace, Acl, Control
from adsuite.resources import file_acl_grants as grantlib
from adsuite.resources import file_acl_tree, file_acl_words, principals
from adsuite.resources import file_rights as rights
from adsuite.resources import smb_requests as io
from adsuite.resources.base import Action, Change, Desired, PlanContext, first_error
from adsuite.resources.file_acl_spec import Shape, Spec, access_shapes, audit_shapes
from adsuite.resources.file_acl_spec import principal_names as _principal_names
from adsuite.resources.file_acl_words import ace_words

log = logging.getLogger(__name__)

NAME = "file_acl"
ORDER = 80  # after groups and users: an ACE may name a group the same run creates
__all__ = ["NAME", "ORDER", "Spec", "declares", "describe", "plan", "queries", "references"]
EXPLICIT_FLAGS = rights.INHERIT_FLAGS | rights.SUCCESS | rights.FAILURE
DACL_CONTROL = Control.SE_DACL_PRESENT | Control.SE_DACL_AUTO_INHERITED
DACL_CONTROL |= Control.SE_DACL_AUTO_INHERIT_REQ  # Samba then marks what children inherit
SACL_CONTROL = Control.SE_SACL_PRESENT | Control.SE_SACL_AUTO_INHERITED
SACL_CONTROL |= Control.SE_SACL_AUTO_INHERIT_REQ
PENDING_BASE = 1000  # placeholder SIDs S-1-0-1000... stand for accounts this run creates


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def unc(spec: Spec, path: str | None = None) -> str:
    where = spec.path if path is None else path
    return f"\\\\{spec.host}\\{spec.share}" + (f"\\{where}" if where else "")


def identity(spec: Spec) -> str:
    return unc(spec).lower()


def folder_read(item: Desired, ctx: PlanContext) -> io.FolderRead:
    s = _spec(item)
    return io.FolderRead(s.host, s.share, s.path, ctx.base_dn, item.location)


def tree_read(item: Desired, ctx: PlanContext) -> io.TreeRead:
    s = _spec(item)
    return io.TreeRead(s.host, s.share, s.path, ctx.base_dn, item.location)


def _accounts(desired: Sequence[Desired]) -> set[str]:
    return principals.accounts(n for d in desired for n in _principal_names(_spec(d)))


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
    return reads + list(principals.sid_queries(ctx.base_dn, _accounts(desired)))


def references(desired: Sequence[Desired]) -> set[str]:
    return _accounts(desired)


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


class Who:
    """Names ↔ SIDs for one plan: the playbook's names, the directory's, placeholders."""

    def __init__(self, ctx: PlanContext, sids: Mapping[str, str], netbios: str) -> None:
        self.ctx, self.sids, self.netbios = ctx, sids, netbios
        self.declared: dict[str, str] = {}  # SID (or placeholder) -> name as written
        self.placeholders: dict[str, str] = {}  # placeholder SID -> account name
        self.found: Mapping[str, str] = {}

    def sid(self, name: str, item: Desired) -> str:
        sid = principals.fixed_sid(name)
        if sid is None:
            account = principals.account_name(name)
            self.ctx.resolve(account, item)  # an unknown name is an error at its line
            sid = self.sids.get(account.lower()) or self._placeholder(account)
        self.declared.setdefault(sid, name)
        return sid

    def _placeholder(self, account: str) -> str:
        for sid, known in self.placeholders.items():
            if known.lower() == account.lower():
                return sid
        sid = f"S-1-0-{PENDING_BASE + len(self.placeholders)}"
        self.placeholders[sid] = account
        return sid

    def show(self, sid: str) -> str:
        return principals.display(sid, self.declared, self.found, self.netbios)


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    netbios = principals.netbios_name(ctx.entries(principals.netbios_query(ctx.base_dn)), ctx.realm)
    found = [
        e for q in principals.sid_queries(ctx.base_dn, _accounts(desired)) for e in ctx.entries(q)
    ]
    sids = principals.sids_found(found)
    changes: list[Change] = []
    for item in desired:
        who = Who(ctx, sids, netbios)
        state = ctx.fact(folder_read(item, ctx)) or io.FolderState(None, {})
        who.found = state.names
        grants = ctx.fact(grants_read(item, ctx)) if _takes_grants(item) else None
        want = Wanted(item, who, grants or grantlib.GrantState())
        if _spec(item).ticket_change is not None:
            want.access = _ticket_access(item, state, who)
            want.placeholders = dict(who.placeholders)
        changes += _plan_folder(item, state, want, who, ctx.base_dn)
        if _spec(item).check_tree and state.descriptor is not None:
            tree = ctx.fact(tree_read(item, ctx)) or io.TreeState({}, {}, {})
            root = want.dacl(sdlib.parse(state.descriptor))
            own = _managed_below(item, desired)
            changes += file_acl_tree.plan_tree(item, unc, tree, root, _tree_show(who, tree), own)
    return changes


def _managed_below(item: Desired, desired: Sequence[Desired]) -> set[str]:
    """Folders below *item* that tasks of their own manage: the tree check leaves them be."""
    top = _spec(item)
    prefix = (top.path + "\\").lower() if top.path else ""
    return {
        s.path.lower()
        for s in map(_spec, desired)
        if (s.host, s.share.lower()) == (top.host, top.share.lower())
        and s.path.lower().startswith(prefix)
        and s.path.lower() != top.path.lower()
    }


def _tree_show(who: Who, tree: io.TreeState) -> Callable[[str], str]:
    names = {**tree.names, **who.found}
    return lambda sid: principals.display(sid, who.declared, names, who.netbios)


class Wanted:
    """The declared state of one folder, principals turned into SIDs or placeholders.

    The access is the playbook's plus the ACEs approved tickets granted and nobody
    revoked (:mod:`adsuite.resources.file_acl_grants`).
    """

    def __init__(self, item: Desired, who: Who, grants: grantlib.GrantState) -> None:
        spec = _spec(item)
        self.spec = spec
        self.owner = who.sid(spec.owner, item) if spec.owner else None
        self.access = _aces(access_shapes(spec), who, item) if spec.access is not None else None
        granted = grantlib.grant_aces(grants.active)
        if self.access is not None:
            self.access = grantlib.with_grants(self.access, [ace for ace, _ in granted])
        audits = audit_shapes(spec)
        self.audit = _aces(audits, who, item) if audits is not None else None
        self.placeholders = dict(who.placeholders)
        for ace, grant in granted:
            who.declared.setdefault(ace.sid, grant.rule.who)
        self.expired = {  # ACE in words -> why it is no longer declared
            ace_words(ace, who.show): f"ticket {g.ticket}'s grant expired on {g.expires}"
            for ace, g in grantlib.grant_aces(grants.expired)
        }

    def dacl(self, current: sdlib.SecurityDescriptor) -> list[Ace]:
        """The DACL this folder will have: declared explicit ACEs, then inherited ones."""
        aces = current.dacl.aces if current.dacl else ()
        explicit = self.access if self.access is not None else _explicit(aces)
        protected = self.protected(current)
        return [*explicit, *([] if protected else [a for a in aces if a.is_inherited])]

    def protected(self, current: sdlib.SecurityDescriptor) -> bool:
        if self.spec.inherit is not None:
            return not self.spec.inherit
        return bool(current.control & Control.SE_DACL_PROTECTED)


def _aces(shapes: Sequence[Shape], who: Who, item: Desired) -> list[Ace]:
    return [Ace(s.ace_type, s.flags, s.mask, who.sid(s.who, item)) for s in shapes]


def _ticket_access(item: Desired, state: io.FolderState, who: Who) -> list[Ace]:
    """A ticket's task: the folder's explicit ACEs as they are, one added or removed."""
    change = _spec(item).ticket_change
    assert change is not None
    if state.descriptor is None:
        raise first_error(item, f"{unc(_spec(item))} does not exist yet: apply its playbook first")
    sd = sdlib.parse(state.descriptor)
    ace = grantlib.rule_ace(change.rule, who.sid(change.rule.who, item))
    current = _explicit(sd.dacl.aces if sd.dacl else ())
    return grantlib.ticket_access(current, ace, grant=change.grant is not None)


def _explicit(aces: Sequence[Ace]) -> list[Ace]:
    return [a for a in aces if not a.is_inherited]


def _key(ace: Ace) -> tuple[int, int, int, str]:
    return (ace.ace_type, ace.flags & EXPLICIT_FLAGS, ace.mask, ace.sid)


def _same(actual: Sequence[Ace], wanted: Sequence[Ace]) -> bool:
    return sorted(map(_key, actual)) == sorted(map(_key, wanted))


def view(sd: sdlib.SecurityDescriptor, show: Callable[[str], str]) -> dict[str, Any]:
    """The folder as a person reads it (explicit ACEs only: inherited ones are not managed)."""
    return {
        "owner": show(sd.owner) if sd.owner else None,
        "inherit": not sd.control & Control.SE_DACL_PROTECTED,
        "access": [ace_words(a, show) for a in _explicit(sd.dacl.aces if sd.dacl else ())],
        "audit": [ace_words(a, show) for a in _explicit(sd.sacl.aces if sd.sacl else ())],
    }


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
    dacl = _explicit(sd.dacl.aces if sd.dacl else ())
    protected = bool(sd.control & Control.SE_DACL_PROTECTED)
    if want.access is not None and not _same(dacl, want.access):
        parts |= io.DACL
    if want.spec.inherit is not None and want.spec.inherit == protected:
        parts |= io.DACL
    if want.audit is not None and not _same(_explicit(sd.sacl.aces if sd.sacl else ()), want.audit):
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
        expect = io.FolderExpect(spec.host, spec.share, spec.path, exists=False)
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
    fingerprint = io.fingerprint(state.descriptor, parts)
    expect = io.FolderExpect(spec.host, spec.share, spec.path, True, parts, fingerprint)
    write = _write(want, parts, base_dn, create=False)
    change = Change(NAME, Action.UPDATE, unc(spec), before, after, item.location, (write,), expect)
    return [change]


def _part_of(key: str) -> int:
    return {"owner": io.OWNER, "inherit": io.DACL, "access": io.DACL, "audit": io.SACL}[key]


def _differs(key: str, want: Wanted, sd: sdlib.SecurityDescriptor) -> bool:
    if key == "inherit":
        return want.spec.inherit == bool(sd.control & Control.SE_DACL_PROTECTED)
    return key != "access" or not _same(
        _explicit(sd.dacl.aces if sd.dacl else ()), want.access or []
    )


def _write(want: Wanted, parts: int, base_dn: str, *, create: bool) -> io.FolderWrite:
    spec = want.spec
    needs_parent = bool(parts & io.DACL) and spec.inherit is not False and spec.path != ""
    return io.FolderWrite(
        spec.host,
        spec.share,
        spec.path,
        base_dn,
        parts,
        _builder(want, parts),
        create=create,
        needs_parent=needs_parent,
        resolve=tuple(sorted(want.placeholders.values())),
    )


def _builder(want: Wanted, parts: int) -> Callable[[io.SdInputs], bytes]:
    """The pure edit the writer runs on the live descriptor at apply time."""

    def build(inputs: io.SdInputs) -> bytes:
        real = _realiser(want.placeholders, inputs.sids)
        cur = inputs.current
        owner = real(want.owner) if want.owner and parts & io.OWNER else cur.owner
        control = Control.SE_SELF_RELATIVE
        dacl, sacl = cur.dacl, cur.sacl
        if parts & io.DACL:
            dacl, protected = _new_dacl(want, inputs, owner, real)
            control |= DACL_CONTROL | (Control.SE_DACL_PROTECTED if protected else 0)
        if parts & io.SACL:
            kept = [a for a in (cur.sacl.aces if cur.sacl else ()) if a.is_inherited]
            explicit = [_with_sid(a, real(a.sid)) for a in want.audit or []]
            sacl = Acl(sdlib.ACL_REVISION, (*explicit, *kept))
            control |= SACL_CONTROL | (cur.control & Control.SE_SACL_PROTECTED)
        built = sdlib.SecurityDescriptor(1, control, owner, cur.group, dacl, sacl)
        return sdlib.to_bytes(built)

    return build


def _new_dacl(
    want: Wanted, inputs: io.SdInputs, owner: str | None, real: Callable[[str], str]
) -> tuple[Acl, bool]:
    cur = inputs.current
    aces = cur.dacl.aces if cur.dacl else ()
    explicit = [_with_sid(a, real(a.sid)) for a in want.access] if want.access is not None else []
    if want.access is None:
        explicit = _explicit(aces)
    protected = want.protected(cur)
    if protected:
        inherited: list[Ace] = []
    elif inputs.parent is not None and inputs.parent.dacl is not None:
        inherited = rights.inherited_aces(inputs.parent.dacl.aces, owner, cur.group)
    else:
        inherited = [a for a in aces if a.is_inherited]
    return Acl(sdlib.ACL_REVISION, (*explicit, *inherited)), protected


def _realiser(placeholders: Mapping[str, str], sids: Mapping[str, str]) -> Callable[[str], str]:
    def real(sid: str) -> str:
        return sids[placeholders[sid].lower()] if sid in placeholders else sid

    return real


def _with_sid(ace: Ace, sid: str) -> Ace:
    return Ace(ace.ace_type, ace.flags, ace.mask, sid)


def describe(change: Change, *, drift: bool) -> list[str]:
    """How plans and drift reports show a file_acl change (see cli/render.py)."""
    if drift:
        return file_acl_words.drift_details(change)
    return file_acl_words.plan_lines(change)
