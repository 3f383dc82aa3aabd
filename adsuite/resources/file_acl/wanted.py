"""Declared state of a ``file_acl`` folder with principals as SIDs, and the pure edit
that turns a live security descriptor into it at apply time.

:class:`Who` names principals for one plan (the playbook's names, the directory's,
placeholder SIDs ``S-1-0-1000…`` for accounts the same run creates); :class:`Wanted` is
the folder's declared owner, DACL and SACL; :func:`builder` is what the writer runs on
the live descriptor (and the parent's) once those accounts exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.security_descriptor import Ace, Acl, Control
from adsuite.resources.base import Desired, PlanContext
from adsuite.resources.file_acl import grants as grantlib
from adsuite.resources.file_acl import principals, rights
from adsuite.resources.file_acl import requests as io
from adsuite.resources.file_acl.spec import Shape, Spec, access_shapes, audit_shapes
from adsuite.resources.file_acl.words import ace_words, explicit

log = logging.getLogger(__name__)

DACL_CONTROL = Control.SE_DACL_PRESENT | Control.SE_DACL_AUTO_INHERITED
DACL_CONTROL |= Control.SE_DACL_AUTO_INHERIT_REQ  # Samba then marks what children inherit
SACL_CONTROL = Control.SE_SACL_PRESENT | Control.SE_SACL_AUTO_INHERITED
SACL_CONTROL |= Control.SE_SACL_AUTO_INHERIT_REQ
PENDING_BASE = 1000  # placeholder SIDs S-1-0-1000... stand for accounts this run creates


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


class Wanted:
    """The declared state of one folder, principals turned into SIDs or placeholders.

    The access is the playbook's plus the ACEs approved tickets granted and nobody
    revoked (:mod:`adsuite.resources.file_acl.grants`).
    """

    def __init__(self, item: Desired, who: Who, grants: grantlib.GrantState) -> None:
        spec = item.spec
        assert isinstance(spec, Spec)
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
        declared = self.access if self.access is not None else explicit(aces)
        protected = self.protected(current)
        return [*declared, *([] if protected else [a for a in aces if a.is_inherited])]

    def protected(self, current: sdlib.SecurityDescriptor) -> bool:
        if self.spec.inherit is not None:
            return not self.spec.inherit
        return bool(current.control & Control.SE_DACL_PROTECTED)


def _aces(shapes: Sequence[Shape], who: Who, item: Desired) -> list[Ace]:
    return [Ace(s.ace_type, s.flags, s.mask, who.sid(s.who, item)) for s in shapes]


def builder(want: Wanted, parts: int) -> Callable[[io.SdInputs], bytes]:
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
            declared = [_with_sid(a, real(a.sid)) for a in want.audit or []]
            sacl = Acl(sdlib.ACL_REVISION, (*declared, *kept))
            control |= SACL_CONTROL | (cur.control & Control.SE_SACL_PROTECTED)
        built = sdlib.SecurityDescriptor(1, control, owner, cur.group, dacl, sacl)
        return sdlib.to_bytes(built)

    return build


def _new_dacl(
    want: Wanted, inputs: io.SdInputs, owner: str | None, real: Callable[[str], str]
) -> tuple[Acl, bool]:
    cur = inputs.current
    aces = cur.dacl.aces if cur.dacl else ()
    if want.access is not None:
        declared = [_with_sid(a, real(a.sid)) for a in want.access]
    else:
        declared = explicit(aces)
    protected = want.protected(cur)
    if protected:
        inherited: list[Ace] = []
    elif inputs.parent is not None and inputs.parent.dacl is not None:
        inherited = rights.inherited_aces(inputs.parent.dacl.aces, owner, cur.group)
    else:
        inherited = [a for a in aces if a.is_inherited]
    return Acl(sdlib.ACL_REVISION, (*declared, *inherited)), protected


def _realiser(placeholders: Mapping[str, str], sids: Mapping[str, str]) -> Callable[[str], str]:
    def real(sid: str) -> str:
        return sids[placeholders[sid].lower()] if sid in placeholders else sid

    return real


def _with_sid(ace: Ace, sid: str) -> Ace:
    return Ace(ace.ace_type, ace.flags, ace.mask, sid)
