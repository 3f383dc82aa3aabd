"""File and folder rights in words, as Windows' security dialog names them, and back.

Basic rights (the "Permissions" tab) are whole masks: ``full``, ``modify``,
``read_execute``, ``list`` (read & execute on this folder and subfolders only),
``read`` and ``write``. Special rights ("Advanced") are single bits: ``traverse``,
``list_folder``, ``read_attributes``, ... ``take_ownership``. A mask is spelled with
the basic rights it contains, largest first, then the special bits left over, so
``words → mask → words`` is stable and ``mask → words → mask`` is exact.

``applies_to`` names the inheritance flags the way the dialog does
(``this_folder_subfolders_files`` is OI|CI). :func:`inherited_aces` computes what a
subfolder inherits from its parent's DACL (MS-DTYP 2.5.3.4.2), as Samba and Windows do.
Pure functions, no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from adsuite.formats.security_descriptor import Ace, AceFlags, AceType

log = logging.getLogger(__name__)

BASIC: dict[str, int] = {  # largest first: the order masks are spelled in
    "full": 0x001F01FF,
    "modify": 0x001301BF,
    "read_execute": 0x001200A9,
    "read": 0x00120089,
    "write": 0x00100116,
}
SPECIAL: dict[str, int] = {
    "list_folder": 0x00000001,  # FILE_LIST_DIRECTORY / FILE_READ_DATA
    "create_files": 0x00000002,  # FILE_ADD_FILE / FILE_WRITE_DATA
    "create_folders": 0x00000004,  # FILE_ADD_SUBDIRECTORY / FILE_APPEND_DATA
    "read_extended_attributes": 0x00000008,
    "write_extended_attributes": 0x00000010,
    "traverse": 0x00000020,  # FILE_TRAVERSE / FILE_EXECUTE
    "delete_subfolders_and_files": 0x00000040,
    "read_attributes": 0x00000080,
    "write_attributes": 0x00000100,
    "delete": 0x00010000,
    "read_permissions": 0x00020000,
    "change_permissions": 0x00040000,  # WRITE_DAC
    "take_ownership": 0x00080000,  # WRITE_OWNER
    "synchronize": 0x00100000,
    "access_system_security": 0x01000000,
    "generic_all": 0x10000000,
    "generic_execute": 0x20000000,
    "generic_write": 0x40000000,
    "generic_read": 0x80000000,
}
ALIASES = {  # the file-side names of the same bits
    "read_data": "list_folder",
    "write_data": "create_files",
    "append_data": "create_folders",
    "execute": "traverse",
    "write_dac": "change_permissions",
    "write_owner": "take_ownership",
}
LIST = "list"
OI, CI, NP, IO = AceFlags.OI, AceFlags.CI, AceFlags.NP, AceFlags.IO
INHERITED = AceFlags.INHERITED
SUCCESS, FAILURE = AceFlags.SUCCESSFUL_ACCESS, AceFlags.FAILED_ACCESS
APPLIES_TO: dict[str, int] = {
    "this_folder_subfolders_files": OI | CI,
    "this_folder": 0,
    "this_folder_subfolders": CI,
    "this_folder_files": OI,
    "subfolders_files": OI | CI | IO,
    "subfolders": CI | IO,
    "files": OI | IO,
}
INHERIT_FLAGS = OI | CI | NP | IO
CREATOR_OWNER, CREATOR_GROUP = "S-1-3-0", "S-1-3-1"
GENERIC_TO_FILE = {  # generic rights as a file system maps them (MS-DTYP 2.4.3)
    0x10000000: 0x001F01FF,
    0x20000000: 0x001200A0,
    0x40000000: 0x00120116,
    0x80000000: 0x00120089,
}
ALL_WORDS = frozenset({*BASIC, *SPECIAL, *ALIASES, LIST})


def word_mask(word: str) -> int:
    """The mask of one right; ValueError naming the known words for an unknown one."""
    key = word.strip().lower().replace(" ", "_").replace("&", "").replace("__", "_")
    key = ALIASES.get(key, key)
    if key == LIST:
        return BASIC["read_execute"]
    if key in BASIC:
        return BASIC[key]
    if key in SPECIAL:
        return SPECIAL[key]
    raise ValueError(
        f"unknown right {word!r} (basic: {', '.join([*BASIC, LIST])}; special: "
        f"{', '.join(SPECIAL)})"
    )


def words_mask(words: Iterable[str]) -> int:
    mask = 0
    for word in words:
        mask |= word_mask(word)
    return mask


def mask_words(mask: int, flags: int = OI | CI) -> list[str]:
    """A mask in words: basic rights it holds (largest first), then leftover special bits."""
    if mask == BASIC["read_execute"] and flags & INHERIT_FLAGS == CI:
        return [LIST]
    names, covered = [], 0
    for name, bits in BASIC.items():
        if mask & bits == bits and bits & ~covered:
            names.append(name)
            covered |= bits
    names += [name for name, bit in SPECIAL.items() if mask & bit and not covered & bit]
    left = mask & ~(covered | sum(SPECIAL.values()))
    return names + ([f"{left:#x}"] if left else [])


def default_applies_to(words: Sequence[str]) -> str:
    """``list`` applies to this folder and subfolders; everything else to all below."""
    normal = [w.strip().lower() for w in words]
    return "this_folder_subfolders" if normal == [LIST] else "this_folder_subfolders_files"


def applies_to_name(flags: int) -> str:
    wanted = flags & (OI | CI | IO)
    return next((name for name, bits in APPLIES_TO.items() if bits == wanted), f"{flags:#x}")


def audit_on_words(flags: int) -> list[str]:
    return [word for word, bit in (("success", SUCCESS), ("failure", FAILURE)) if flags & bit]


def inherited_aces(parent: Sequence[Ace], owner: str | None, group: str | None) -> list[Ace]:
    """The ACEs a subfolder inherits from its parent's ACL (MS-DTYP 2.5.3.4.2).

    An ACE that reaches the folder itself loses IO (and its inheritance flags under NP);
    CREATOR OWNER / CREATOR GROUP become an effective ACE for the folder's owner / group
    plus, unless NP, an inherit-only copy for further children. Every result is marked
    inherited.
    """
    out: list[Ace] = []
    for ace in parent:
        flags = ace.flags
        if not flags & CI:
            if flags & OI and not flags & NP:  # passes through to files below only
                out.append(_copy(ace, (flags & ~INHERIT_FLAGS) | OI | IO | INHERITED))
            continue
        keep = flags & ~(INHERIT_FLAGS | INHERITED)
        if ace.sid in (CREATOR_OWNER, CREATOR_GROUP):
            stand_in = owner if ace.sid == CREATOR_OWNER else group
            if stand_in is not None:
                out.append(_copy(ace, keep | INHERITED, file_mask(ace.mask), stand_in))
            if not flags & NP:
                out.append(_copy(ace, (flags & (OI | CI)) | IO | keep | INHERITED))
        elif flags & NP:
            out.append(_copy(ace, keep | INHERITED))
        else:
            out.append(_copy(ace, (flags & (OI | CI)) | keep | INHERITED))
    return out


def file_mask(mask: int) -> int:
    for generic, specific in GENERIC_TO_FILE.items():
        if mask & generic:
            mask = (mask & ~generic) | specific
    return mask


def _copy(ace: Ace, flags: int, mask: int | None = None, sid: str | None = None) -> Ace:
    return Ace(ace.ace_type, flags, ace.mask if mask is None else mask, sid or ace.sid)


def is_allow(ace: Ace) -> bool:
    return ace.ace_type == AceType.ACCESS_ALLOWED
