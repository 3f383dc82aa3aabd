"""Protect an object from accidental deletion, the way Active Directory Users and
Computers does it. Two Deny ACEs for Everyone (S-1-1-0), first in their DACLs:

- on the object: DELETE and DELETE_TREE (SDDL ``(D;;SDDT;;;WD)``);
- on its parent: DELETE_CHILD (``(D;;DC;;;WD)``) — without it, anyone with "delete
  child objects" on the parent could still delete the object.

Pure functions on the raw nTSecurityDescriptor as read with SD flags 0x04 (DACL).
"""

from __future__ import annotations

from collections.abc import Callable

from adsuite.formats import security_descriptor as sdlib

EVERYONE = "S-1-1-0"
DACL_ONLY = 0x04
OBJECT_MASK = sdlib.AccessMask.DELETE | sdlib.AccessMask.DELETE_TREE
PARENT_MASK = sdlib.AccessMask.DELETE_CHILD


def _deny_everyone(mask: int) -> Callable[[sdlib.Ace], bool]:
    def matches(ace: sdlib.Ace) -> bool:
        return (
            ace.ace_type == sdlib.AceType.ACCESS_DENIED
            and ace.sid == EVERYONE
            and not ace.flags & sdlib.AceFlags.INHERITED
            and (ace.mask & mask) == mask
        )

    return matches


def _has(raw_sd: bytes, mask: int) -> bool:
    dacl = sdlib.parse(raw_sd).dacl
    return dacl is not None and any(_deny_everyone(mask)(ace) for ace in dacl.aces)


def _add(raw_sd: bytes, mask: int) -> bytes:
    if _has(raw_sd, mask):
        return raw_sd
    sd = sdlib.parse(raw_sd)
    deny = sdlib.Ace(sdlib.AceType.ACCESS_DENIED, sdlib.AceFlags(0), mask, EVERYONE)
    dacl = sd.dacl or sdlib.Acl(sdlib.ACL_REVISION_DS, ())
    return sdlib.to_bytes(sd.with_dacl(dacl.with_ace_first(deny)))


def is_protected(raw_sd: bytes) -> bool:
    """The object itself carries the deny-delete ACE."""
    return _has(raw_sd, OBJECT_MASK)


def parent_denies_child_delete(raw_sd: bytes) -> bool:
    return _has(raw_sd, PARENT_MASK)


def protect(raw_sd: bytes) -> bytes:
    return _add(raw_sd, OBJECT_MASK)


def deny_child_delete(raw_sd: bytes) -> bytes:
    return _add(raw_sd, PARENT_MASK)


def unprotect(raw_sd: bytes) -> bytes:
    """Remove the object's deny-delete ACE (the parent's ACE stays, as in ADUC)."""
    sd = sdlib.parse(raw_sd)
    if sd.dacl is None or not is_protected(raw_sd):
        return raw_sd
    return sdlib.to_bytes(sd.with_dacl(sd.dacl.without(_deny_everyone(OBJECT_MASK))))
