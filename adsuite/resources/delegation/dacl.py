"""Explicit ACEs on directory objects: the pure parts of delegating rights on an OU.

- :class:`AceShape`: an ACE without its trustee, what a named right grants;
- :func:`covers`: does an ACE the object already has grant at least what another would;
- :func:`edit`: the DACL read-modify-write (new explicit ACEs go before the inherited
  ones, so a canonical DACL — explicit deny, explicit allow, inherited — stays so);
- :func:`describe`: an ACE in the words of the Advanced Security Settings dialog;
- :class:`DaclEdit`: the write a delegation change carries out at apply time
  (resources/delegation/io.py), after looking up the SIDs of trustees the same run creates;
- :func:`ace_to_sddl` / :func:`ace_from_sddl`: one ACE as SDDL text with literal SIDs,
  the machine-readable image a delegation change journals (so a rollback can put back
  exactly the ACEs a run took away, and take away exactly those it added).

Nothing here does I/O; descriptors are the raw nTSecurityDescriptor read with SD
flags 0x04 (DACL only).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adsuite.errors import InputError
from adsuite.formats import sddl
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.security_descriptor import AccessMask, Ace, AceFlags, AceType

DACL_ONLY = 0x04
HEX = "hex:"  # an ACE image SDDL cannot spell: the bytes of a descriptor holding it alone
SE_SELF_RELATIVE = int(sdlib.Control.SE_SELF_RELATIVE)
FULL_CONTROL = int(AccessMask.DS_FULL_CONTROL)
_ALLOW = (AceType.ACCESS_ALLOWED, AceType.ACCESS_ALLOWED_OBJECT)
_MASK_WORDS = (
    (AccessMask.CC, "create child"),
    (AccessMask.DC, "delete child"),
    (AccessMask.LC, "list contents"),
    (AccessMask.SW, "validated write"),
    (AccessMask.RP, "read property"),
    (AccessMask.WP, "write property"),
    (AccessMask.DT, "delete tree"),
    (AccessMask.LO, "list object"),
    (AccessMask.CR, "extended right"),
    (AccessMask.SD, "delete"),
    (AccessMask.RC, "read permissions"),
    (AccessMask.WD, "modify permissions"),
    (AccessMask.WO, "modify owner"),
    (AccessMask.GR, "generic read"),
    (AccessMask.GW, "generic write"),
    (AccessMask.GX, "generic execute"),
)


@dataclass(frozen=True)
class AceShape:
    """An allow ACE but its trustee: flags, rights and the object GUIDs it names."""

    flags: int
    mask: int
    object_type: uuid.UUID | None = None
    inherited_object_type: uuid.UUID | None = None

    def for_sid(self, sid: str) -> Ace:
        has_guid = self.object_type is not None or self.inherited_object_type is not None
        kind = AceType.ACCESS_ALLOWED_OBJECT if has_guid else AceType.ACCESS_ALLOWED
        return Ace(kind, self.flags, self.mask, sid, self.object_type, self.inherited_object_type)


@dataclass(frozen=True)
class Grant:
    """One ACE to add for a trustee; ``sid`` None: created by this run, looked up at apply."""

    trustee: str
    sid: str | None
    shape: AceShape


@dataclass(frozen=True)
class DaclEdit:
    """Add ``grants`` and ``puts`` (unless an equal explicit ACE is there) and remove
    ``revokes``. ``puts`` are whole ACEs of any type (a rollback puts back what was)."""

    dn: str
    base_dn: str  # where trustees created by this run are looked up
    grants: tuple[Grant, ...]
    revokes: tuple[Ace, ...]
    puts: tuple[Ace, ...] = ()


def explicit_aces(raw_sd: bytes) -> list[Ace]:
    """The DACL's own ACEs, in order; inherited ones are never adsuite's to change."""
    dacl = sdlib.parse(raw_sd).dacl
    return [ace for ace in (dacl.aces if dacl else ()) if not ace.is_inherited]


def effective_mask(mask: int) -> int:
    """GENERIC_ALL read as the full control it maps to on a directory object."""
    if mask & AccessMask.GENERIC_ALL:
        return (mask & ~AccessMask.GENERIC_ALL) | FULL_CONTROL
    return mask


def covers(have: Ace, want: Ace) -> bool:
    """True if the explicit allow ACE ``have`` grants ``want``'s trustee at least as much."""
    if have.is_inherited or have.ace_type not in _ALLOW or have.sid != want.sid:
        return False
    if have.object_type not in (None, want.object_type):
        return False
    if have.inherited_object_type not in (None, want.inherited_object_type):
        return False
    if want.flags & AceFlags.CI and not have.flags & AceFlags.CI:
        return False
    if have.flags & AceFlags.IO and not want.flags & AceFlags.IO:
        return False
    if have.flags & AceFlags.NP and not want.flags & AceFlags.NP:
        return False
    return effective_mask(have.mask) & want.mask == want.mask


def edit(raw_sd: bytes, add: Sequence[Ace], remove: Sequence[Ace]) -> bytes:
    """The descriptor with explicit ACEs ``remove`` taken out and ``add`` put in.

    An ACE to add that is already there is not added twice; new allow ACEs go just
    before the first inherited ACE, new deny ACEs first (explicit deny before explicit
    allow: the canonical order). Unchanged input comes back as the same bytes.
    """
    sd = sdlib.parse(raw_sd)
    dacl = sd.dacl or sdlib.Acl(sdlib.ACL_REVISION_DS, ())
    kept = [a for a in dacl.aces if a.is_inherited or a not in remove]
    new = [a for a in dict.fromkeys(add) if a not in kept]
    if not new and len(kept) == len(dacl.aces):
        return raw_sd
    denies = [a for a in new if a.ace_type not in _ALLOW]
    allows = [a for a in new if a.ace_type in _ALLOW]
    at = next((i for i, a in enumerate(kept) if a.is_inherited), len(kept))
    aces = (*denies, *kept[:at], *allows, *kept[at:])
    has_object_ace = any(a.is_object for a in aces)
    revision = max(dacl.revision, sdlib.ACL_REVISION_DS) if has_object_ace else dacl.revision
    return sdlib.to_bytes(sd.with_dacl(sdlib.Acl(revision, aces)))


def rights_in_words(mask: int) -> str:
    mask = effective_mask(mask)
    words = ["full control"] if mask & FULL_CONTROL == FULL_CONTROL else []
    rest = mask & ~FULL_CONTROL if words else mask
    words += [text for bit, text in _MASK_WORDS if rest & bit]
    leftover = rest & ~sum(int(bit) for bit, _ in _MASK_WORDS)
    return ", ".join(words + ([f"{leftover:#x}"] if leftover else [])) or "no rights"


def describe(ace: Ace, guid_names: Mapping[uuid.UUID, str]) -> str:
    """``full control``, ``deny delete``, ``create child, delete child (user) on this
    object and descendants``, ``extended right (User-Force-Change-Password) on
    descendant user objects``; a GUID the schema facts do not name is shown as is."""

    def name(guid: uuid.UUID) -> str:
        return guid_names.get(guid, str(guid))

    text = rights_in_words(ace.mask)
    if ace.ace_type not in _ALLOW:
        text = "deny " + text
    if ace.object_type is not None:
        text += f" ({name(ace.object_type)})"
    if ace.inherited_object_type is not None:
        return text + f" on descendant {name(ace.inherited_object_type)} objects"
    if ace.flags & AceFlags.IO:
        return text + " on descendant objects"
    if ace.flags & AceFlags.CI:
        return text + " on this object and descendants"
    return text


def ace_to_sddl(ace: Ace) -> str:
    """One ACE as SDDL, SIDs spelled out: ``(OA;CI;CCDC;bf967aba-…;;S-1-5-21-…-1101)``.

    The rare ACE SDDL cannot spell (application data, an ACE flag without a letter) is
    written ``hex:`` and the bytes of a descriptor that holds it alone, so nothing is lost.
    """
    acl = sdlib.Acl(sdlib.ACL_REVISION_DS, (ace,))
    alone = sdlib.SecurityDescriptor(1, SE_SELF_RELATIVE, None, None, acl, None).with_dacl(acl)
    try:
        text = sddl.to_sddl(alone)[2:]
        if ace_from_sddl(text) == ace:
            return text
    except InputError:
        pass
    return HEX + sdlib.to_bytes(alone).hex()


def ace_from_sddl(text: str) -> Ace:
    """The ACE :func:`ace_to_sddl` wrote (InputError for anything but one DACL ACE)."""
    try:
        dacl = (
            sdlib.parse(bytes.fromhex(text[len(HEX) :])).dacl
            if text.startswith(HEX)
            else sddl.from_sddl("D:" + text).dacl
        )
    except ValueError as error:
        raise InputError(f"not an ACE: {text!r} ({error})") from error
    if dacl is None or len(dacl.aces) != 1:
        raise InputError(f"not one ACE: {text!r}")
    return dacl.aces[0]
