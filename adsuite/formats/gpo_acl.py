"""The permissions of a GPO's SYSVOL folder, derived from its groupPolicyContainer's.

Windows keeps the GPT folder's DACL in step with the GPC's; Samba derives it with
``samba.ntacls.dsacl2fsacl``, and ``samba-tool gpo aclcheck`` / ``ntacl sysvolcheck``
compare every file and folder of the GPT with that derivation. :func:`file_descriptor`
is the same derivation: owner and group as the GPC's, the DACL protected, each allow ACE
(plain or object, except Pre-Windows 2000 Compatible Access) kept with its directory
rights translated to file rights and made inheritable (object and container inherit;
CREATOR OWNER inherit-only), every other ACE dropped.
"""

from __future__ import annotations

import logging

from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.security_descriptor import AccessMask, Ace, AceFlags, AceType, Control

log = logging.getLogger(__name__)

PRE_WINDOWS_2000 = "S-1-5-32-554"
CREATOR_OWNER = "S-1-3-0"
_STANDARD_RIGHTS_ALL = 0x001F0000
_FILE_READ = 0x00100000 | 0x0001 | 0x0080 | 0x0008 | 0x0020  # sync, list, attrs, EA, traverse
_FILE_WRITE = 0x00100000 | 0x0002 | 0x0004 | 0x0010 | 0x0100  # sync, add file/subdir, EA, attrs
_ALLOW = (AceType.ACCESS_ALLOWED, AceType.ACCESS_ALLOWED_OBJECT)


def file_rights(ds_mask: int) -> int:
    """Directory rights as file rights (Samba's ``ldapmask2filemask``)."""
    mask = ds_mask & _STANDARD_RIGHTS_ALL
    if ds_mask & AccessMask.DS_READ_PROP and ds_mask & AccessMask.DS_LIST_CHILDREN:
        mask |= _FILE_READ
    if ds_mask & AccessMask.DS_WRITE_PROP:
        mask |= _FILE_WRITE
    if ds_mask & AccessMask.DS_CREATE_CHILD:
        mask |= AccessMask.FILE_WRITE_DATA | AccessMask.FILE_APPEND_DATA
    if ds_mask & AccessMask.DS_DELETE_CHILD:
        mask |= AccessMask.FILE_DELETE_CHILD
    return int(mask)


def _file_ace(ace: Ace) -> Ace:
    flags = ace.flags | AceFlags.OBJECT_INHERIT | AceFlags.CONTAINER_INHERIT
    if ace.sid == CREATOR_OWNER:
        flags |= AceFlags.INHERIT_ONLY
    return Ace(
        ace.ace_type,
        int(flags),
        file_rights(ace.mask),
        ace.sid,
        ace.object_type,
        ace.inherited_object_type,
        ace.application_data,
    )


def file_descriptor(gpc_descriptor: bytes) -> bytes:
    """The descriptor (owner, group, protected DACL) the GPT's files and folders must have."""
    gpc = sdlib.parse(gpc_descriptor)
    source = gpc.dacl.aces if gpc.dacl else ()
    aces = tuple(
        _file_ace(ace) for ace in source if ace.ace_type in _ALLOW and ace.sid != PRE_WINDOWS_2000
    )
    revision = gpc.dacl.revision if gpc.dacl else sdlib.ACL_REVISION
    inherited_bits = Control.SE_DACL_AUTO_INHERITED | Control.SE_DACL_AUTO_INHERIT_REQ
    control = Control.SE_SELF_RELATIVE | Control.SE_DACL_PRESENT | Control.SE_DACL_PROTECTED
    control |= gpc.control & inherited_bits
    derived = sdlib.SecurityDescriptor(
        sdlib.SD_REVISION, int(control), gpc.owner, gpc.group, sdlib.Acl(revision, aces), None
    )
    return sdlib.to_bytes(derived)


def only_inherits(descriptor: bytes) -> bool:
    """True for a DACL that is not protected and holds inherited ACEs only: a file or
    folder below the GPT folder as Windows leaves it, taking its folder's permissions."""
    sd = sdlib.parse(descriptor)
    if sd.control & Control.SE_DACL_PROTECTED or sd.dacl is None:
        return False
    return bool(sd.dacl.aces) and all(ace.is_inherited for ace in sd.dacl.aces)


def same_permissions(have: bytes, want: bytes) -> bool:
    """Owner, group, DACL and its protection equal (other control bits ignored)."""
    a, b = sdlib.parse(have), sdlib.parse(want)
    protected = Control.SE_DACL_PROTECTED
    return (a.owner, a.group, a.dacl, a.control & protected) == (
        b.owner,
        b.group,
        b.dacl,
        b.control & protected,
    )
