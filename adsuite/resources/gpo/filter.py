"""Security filtering of a GPO: who holds "Apply Group Policy" on its container.

GPMC's filtering list is the set of principals with an allow ACE for the Apply Group
Policy extended right (``edacfd8f-ffb3-11d1-b41d-00a0c968f939``). Declaring ``apply_to``
makes that list exact: each named group gets Read and Apply (as GPMC grants them), every
other holder loses its Apply ACE. Authenticated Users keeps Read: since MS16-072 a
computer reads user-half GPOs with its own account, and without Read the GPO is
skipped for everyone. Groups this run creates are granted by name and looked up at
apply time (:class:`~adsuite.resources.delegation.dacl.DaclEdit`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence

from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.security_descriptor import AccessMask, Ace, AceFlags, AceType
from adsuite.resources.delegation.dacl import AceShape, DaclEdit, Grant
from adsuite.resources.file_acl import principals
from adsuite.resources.gpo.admin_templates import Diff

log = logging.getLogger(__name__)

APPLY_GROUP_POLICY = uuid.UUID("edacfd8f-ffb3-11d1-b41d-00a0c968f939")
AUTHENTICATED_USERS = "S-1-5-11"
READ = AceShape(
    int(AceFlags.CI), int(AccessMask.RP | AccessMask.LC | AccessMask.LO | AccessMask.RC)
)
APPLY = AceShape(int(AceFlags.CI), int(AccessMask.CR), APPLY_GROUP_POLICY)
DEFAULT_APPLY = APPLY.for_sid(AUTHENTICATED_USERS)  # what a new container grants
LABEL = "security filtering"
_ALLOW = (AceType.ACCESS_ALLOWED, AceType.ACCESS_ALLOWED_OBJECT)


def grants_apply(ace: Ace) -> bool:
    if ace.ace_type not in _ALLOW or ace.flags & AceFlags.INHERIT_ONLY:
        return False
    if not sdlib.AccessMask.CR & ace.mask and not ace.mask & AccessMask.GENERIC_ALL:
        return False
    return ace.object_type in (None, APPLY_GROUP_POLICY)


def apply_aces(descriptor: bytes | None) -> list[Ace]:
    if not descriptor:
        return [DEFAULT_APPLY]
    dacl = sdlib.parse(descriptor).dacl
    return [ace for ace in (dacl.aces if dacl else ()) if grants_apply(ace)]


def holder_words(sid: str, names: Mapping[str, str]) -> str:
    return principals.DISPLAY.get(sid) or names.get(sid) or sid


def plan_filter(
    diff: Diff,
    dn: str,
    base_dn: str,
    descriptor: bytes | None,
    apply_to: Sequence[str],
    sids: Mapping[str, str],
    names: Mapping[str, str],
) -> DaclEdit | None:
    """Word the filtering difference; the DACL edit that makes it exact, if one is needed.

    *descriptor* None: a container this run creates (the schema's default DACL).
    """
    have = apply_aces(descriptor)
    holders = {ace.sid for ace in have}
    wanted: dict[str, str | None] = {}
    for name in apply_to:
        sid = principals.fixed_sid(name) or sids.get(principals.account_name(name).lower())
        wanted[name] = sid
    known = {sid for sid in wanted.values() if sid}
    if holders == known and len(known) == len(wanted):
        return None
    was = ", ".join(sorted(holder_words(s, names) for s in holders)) or "(nobody)"
    diff.differs(LABEL, was, ", ".join(apply_to) or "(nobody)")
    grants = tuple(
        Grant(principals.account_name(name), sid, shape)
        for name, sid in wanted.items()
        if sid not in holders
        for shape in (READ, APPLY)
    )
    revokes = tuple(
        ace for ace in have if ace.sid not in known and not ace.is_inherited and ace.is_object
    )
    return DaclEdit(dn, base_dn, grants, revokes)
