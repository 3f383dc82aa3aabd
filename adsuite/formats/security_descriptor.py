"""Self-relative security descriptors (MS-DTYP 2.4.6): frozen values, binary parse and build.

``parse`` accepts any valid layout; ``to_bytes`` writes the parts in the order Samba's
NDR marshalling uses (owner, group, SACL, DACL), so what a Samba DC stores re-emits byte
for byte. Windows writes SACL, DACL, owner, group: that parses to the same value and is
re-emitted in Samba's order (offsets differ, each part's bytes do not), as Samba does.

Not kept, so not reproduced by a round trip: slack bytes after the last ACE inside an
ACL's declared size (Windows may over-allocate; Samba never does). Refused with
InputError rather than altered: a non-zero ``Sbz1`` (resource-manager control). Bytes
after the SID inside an ACE (callback conditions, resource attributes, padding) are
kept verbatim in ``Ace.application_data``, and so are object-ACE flag bits beyond the
two defined ones (``Ace.object_flags_extra``): Samba 4.17 leaves them uninitialised in
the object ACE a file inherits from a GPT folder's "Apply Group Policy" ACE
(``0x8d015400``, no GUIDs follow), and its own NDR reader, like Windows, reads the two
presence bits and ignores the rest.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from adsuite.errors import InputError
from adsuite.formats.sid import normalize_sid, read_sid, sid_to_bytes

log = logging.getLogger(__name__)

SD_REVISION = 1
ACL_REVISION = 2
ACL_REVISION_DS = 4
ACE_OBJECT_TYPE_PRESENT = 0x1
ACE_INHERITED_OBJECT_TYPE_PRESENT = 0x2
_PRESENCE_BITS = ACE_OBJECT_TYPE_PRESENT | ACE_INHERITED_OBJECT_TYPE_PRESENT
_SD_HEADER = struct.Struct("<BBHIIII")
_ACL_HEADER = struct.Struct("<BBHHH")
_ACE_HEADER = struct.Struct("<BBHI")


class AceType(enum.IntEnum):
    """ACE types (MS-DTYP 2.4.4.1)."""

    ACCESS_ALLOWED = 0x00
    ACCESS_DENIED = 0x01
    SYSTEM_AUDIT = 0x02
    SYSTEM_ALARM = 0x03
    ACCESS_ALLOWED_COMPOUND = 0x04
    ACCESS_ALLOWED_OBJECT = 0x05
    ACCESS_DENIED_OBJECT = 0x06
    SYSTEM_AUDIT_OBJECT = 0x07
    SYSTEM_ALARM_OBJECT = 0x08
    ACCESS_ALLOWED_CALLBACK = 0x09
    ACCESS_DENIED_CALLBACK = 0x0A
    ACCESS_ALLOWED_CALLBACK_OBJECT = 0x0B
    ACCESS_DENIED_CALLBACK_OBJECT = 0x0C
    SYSTEM_AUDIT_CALLBACK = 0x0D
    SYSTEM_ALARM_CALLBACK = 0x0E
    SYSTEM_AUDIT_CALLBACK_OBJECT = 0x0F
    SYSTEM_ALARM_CALLBACK_OBJECT = 0x10
    SYSTEM_MANDATORY_LABEL = 0x11
    SYSTEM_RESOURCE_ATTRIBUTE = 0x12
    SYSTEM_SCOPED_POLICY_ID = 0x13


OBJECT_ACE_TYPES = frozenset({0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0F, 0x10})
"""Types laid out as mask, object flags, optional GUIDs, SID (MS-DTYP 2.4.4.3)."""
AUDIT_ACE_TYPES = frozenset({0x02, 0x03, 0x07, 0x08, 0x0D, 0x0E, 0x0F, 0x10})
"""Types that belong in a SACL rather than a DACL."""
_PLAIN_ACE_TYPES = frozenset({0x00, 0x01, 0x02, 0x03, 0x09, 0x0A, 0x0D, 0x0E, 0x11, 0x12, 0x13})


class AceFlags(enum.IntFlag):
    """ACE header flags (MS-DTYP 2.4.4.1), with their SDDL names as aliases."""

    OBJECT_INHERIT = 0x01
    CONTAINER_INHERIT = 0x02
    NO_PROPAGATE_INHERIT = 0x04
    INHERIT_ONLY = 0x08
    INHERITED = 0x10
    SUCCESSFUL_ACCESS = 0x40
    FAILED_ACCESS = 0x80
    OI = 0x01
    CI = 0x02
    NP = 0x04
    IO = 0x08
    ID = 0x10
    SA = 0x40
    FA = 0x80


class Control(enum.IntFlag):
    """Security descriptor control bits (MS-DTYP 2.4.6)."""

    SE_OWNER_DEFAULTED = 0x0001
    SE_GROUP_DEFAULTED = 0x0002
    SE_DACL_PRESENT = 0x0004
    SE_DACL_DEFAULTED = 0x0008
    SE_SACL_PRESENT = 0x0010
    SE_SACL_DEFAULTED = 0x0020
    SE_DACL_TRUSTED = 0x0040
    SE_SERVER_SECURITY = 0x0080
    SE_DACL_AUTO_INHERIT_REQ = 0x0100
    SE_SACL_AUTO_INHERIT_REQ = 0x0200
    SE_DACL_AUTO_INHERITED = 0x0400
    SE_SACL_AUTO_INHERITED = 0x0800
    SE_DACL_PROTECTED = 0x1000
    SE_SACL_PROTECTED = 0x2000
    SE_RM_CONTROL_VALID = 0x4000
    SE_SELF_RELATIVE = 0x8000


class AccessMask(enum.IntFlag):
    """Access rights: generic, standard, directory, file and registry, plus SDDL names.

    The same bit means different things to different object classes (0x1 is
    CREATE_CHILD on a directory object and FILE_READ_DATA on a file), so the file and
    key names are aliases of the directory-service ones.
    """

    CREATE_CHILD = 0x00000001
    DELETE_CHILD = 0x00000002
    LIST_CHILDREN = 0x00000004
    SELF = 0x00000008
    READ_PROP = 0x00000010
    WRITE_PROP = 0x00000020
    DELETE_TREE = 0x00000040
    LIST_OBJECT = 0x00000080
    CONTROL_ACCESS = 0x00000100
    DELETE = 0x00010000
    READ_CONTROL = 0x00020000
    WRITE_DAC = 0x00040000
    WRITE_OWNER = 0x00080000
    SYNCHRONIZE = 0x00100000
    ACCESS_SYSTEM_SECURITY = 0x01000000
    MAXIMUM_ALLOWED = 0x02000000
    GENERIC_ALL = 0x10000000
    GENERIC_EXECUTE = 0x20000000
    GENERIC_WRITE = 0x40000000
    GENERIC_READ = 0x80000000
    STANDARD_RIGHTS_REQUIRED = 0x000F0000
    # The ADS_RIGHT_DS_* spellings of the directory rights.
    DS_CREATE_CHILD = 0x00000001
    DS_DELETE_CHILD = 0x00000002
    DS_LIST_CHILDREN = 0x00000004
    DS_SELF = 0x00000008
    DS_READ_PROP = 0x00000010
    DS_WRITE_PROP = 0x00000020
    DS_DELETE_TREE = 0x00000040
    DS_LIST_OBJECT = 0x00000080
    DS_CONTROL_ACCESS = 0x00000100
    DS_FULL_CONTROL = 0x000F01FF
    FILE_READ_DATA = 0x00000001
    FILE_WRITE_DATA = 0x00000002
    FILE_APPEND_DATA = 0x00000004
    FILE_READ_EA = 0x00000008
    FILE_WRITE_EA = 0x00000010
    FILE_EXECUTE = 0x00000020
    FILE_DELETE_CHILD = 0x00000040
    FILE_READ_ATTRIBUTES = 0x00000080
    FILE_WRITE_ATTRIBUTES = 0x00000100
    FILE_ALL_ACCESS = 0x001F01FF
    FILE_GENERIC_READ = 0x00120089
    FILE_GENERIC_WRITE = 0x00120116
    FILE_GENERIC_EXECUTE = 0x001200A0
    KEY_ALL_ACCESS = 0x000F003F
    KEY_READ = 0x00020019
    KEY_WRITE = 0x00020006
    KEY_EXECUTE = 0x00020019
    # SDDL two-letter names (MS-DTYP 2.5.1.1 "ace-rights").
    CC = 0x00000001
    DC = 0x00000002
    LC = 0x00000004
    SW = 0x00000008
    RP = 0x00000010
    WP = 0x00000020
    DT = 0x00000040
    LO = 0x00000080
    CR = 0x00000100
    SD = 0x00010000
    RC = 0x00020000
    WD = 0x00040000
    WO = 0x00080000
    GA = 0x10000000
    GX = 0x20000000
    GW = 0x40000000
    GR = 0x80000000
    FA = 0x001F01FF
    FR = 0x00120089
    FW = 0x00120116
    FX = 0x001200A0
    KA = 0x000F003F
    KR = 0x00020019
    KW = 0x00020006
    KX = 0x00020019


@dataclass(frozen=True)
class Ace:
    """One access control entry. ``sid`` is a canonical ``S-1-...`` string."""

    ace_type: int
    flags: int
    mask: int
    sid: str
    object_type: uuid.UUID | None = None
    inherited_object_type: uuid.UUID | None = None
    application_data: bytes = b""
    object_flags_extra: int = 0  # undefined object-flag bits, as read (see the module doc)

    def __post_init__(self) -> None:
        if not (0 <= self.ace_type <= 0xFF and 0 <= self.flags <= 0xFF):
            raise InputError(f"ACE type {self.ace_type} or flags {self.flags} out of range")
        if not 0 <= self.mask <= 0xFFFFFFFF:
            raise InputError(f"access mask {self.mask:#x} does not fit 32 bits")
        has_guid = self.object_type is not None or self.inherited_object_type is not None
        if (has_guid or self.object_flags_extra) and not self.is_object:
            raise InputError(f"ACE type {self.ace_type:#x} cannot carry object GUIDs")
        if self.object_flags_extra & _PRESENCE_BITS or not 0 <= self.object_flags_extra <= (
            0xFFFFFFFF
        ):
            raise InputError(f"object flag bits {self.object_flags_extra:#x} are not extra bits")
        object.__setattr__(self, "sid", normalize_sid(self.sid))

    @property
    def is_object(self) -> bool:
        """True for the OBJECT ACE types, which carry optional GUIDs."""
        return self.ace_type in OBJECT_ACE_TYPES

    @property
    def is_inherited(self) -> bool:
        """True when the ACE was inherited from a parent (the ID flag)."""
        return bool(self.flags & AceFlags.INHERITED)


@dataclass(frozen=True)
class Acl:
    """An access control list: a revision and ACEs in evaluation order."""

    revision: int
    aces: tuple[Ace, ...] = ()

    def with_ace_first(self, ace: Ace) -> Acl:
        """Return this ACL with ``ace`` prepended (revision raised for object ACEs)."""
        revision = max(self.revision, ACL_REVISION_DS) if ace.is_object else self.revision
        return Acl(revision, (ace, *self.aces))

    def without(self, predicate: Callable[[Ace], bool]) -> Acl:
        """Return this ACL without the ACEs for which ``predicate`` is true."""
        return Acl(self.revision, tuple(ace for ace in self.aces if not predicate(ace)))

    def has_ace(self, wanted: Ace | Callable[[Ace], bool]) -> bool:
        """True if an ACE equals ``wanted``, or satisfies it when it is a predicate."""
        if isinstance(wanted, Ace):
            return wanted in self.aces
        return any(wanted(ace) for ace in self.aces)


@dataclass(frozen=True)
class SecurityDescriptor:
    """A security descriptor; ``control`` is the raw control word (see :class:`Control`)."""

    revision: int
    control: int
    owner: str | None
    group: str | None
    dacl: Acl | None
    sacl: Acl | None

    def with_dacl(self, acl: Acl | None) -> SecurityDescriptor:
        """Replace the DACL, setting or clearing SE_DACL_PRESENT to match."""
        control = _set_bit(self.control, Control.SE_DACL_PRESENT, acl is not None)
        return dataclasses.replace(self, dacl=acl, control=control)

    def with_sacl(self, acl: Acl | None) -> SecurityDescriptor:
        """Replace the SACL, setting or clearing SE_SACL_PRESENT to match."""
        control = _set_bit(self.control, Control.SE_SACL_PRESENT, acl is not None)
        return dataclasses.replace(self, sacl=acl, control=control)


def _set_bit(word: int, bit: int, on: bool) -> int:
    return word | bit if on else word & ~bit


def parse(data: bytes) -> SecurityDescriptor:
    """Decode a self-relative security descriptor; malformed input raises InputError."""
    if len(data) < _SD_HEADER.size:
        raise InputError(f"security descriptor too short: {len(data)} bytes")
    revision, sbz1, control, owner_at, group_at, sacl_at, dacl_at = _SD_HEADER.unpack_from(data)
    if revision != SD_REVISION:
        raise InputError(f"unsupported security descriptor revision {revision}")
    if sbz1 != 0:
        raise InputError(f"resource-manager control byte {sbz1:#x} is not supported")
    return SecurityDescriptor(
        revision=revision,
        control=control,
        owner=_sid_at(data, owner_at),
        group=_sid_at(data, group_at),
        dacl=_acl_at(data, dacl_at),
        sacl=_acl_at(data, sacl_at),
    )


def _sid_at(data: bytes, offset: int) -> str | None:
    if offset == 0:
        return None
    if offset < _SD_HEADER.size:
        raise InputError(f"offset {offset} points into the descriptor header")
    return read_sid(data, offset)[0]


def _acl_at(data: bytes, offset: int) -> Acl | None:
    if offset == 0:
        return None
    if offset < _SD_HEADER.size or offset + _ACL_HEADER.size > len(data):
        raise InputError(f"ACL offset {offset} is outside the {len(data)}-byte descriptor")
    revision, _, size, count, _ = _ACL_HEADER.unpack_from(data, offset)
    end = offset + size
    if revision not in (ACL_REVISION, 3, ACL_REVISION_DS) or end > len(data) or size < 8:
        raise InputError(f"bad ACL at byte {offset}: revision {revision}, size {size}")
    aces: list[Ace] = []
    position = offset + _ACL_HEADER.size
    for _ in range(count):
        ace, position = _read_ace(data, position, end)
        aces.append(ace)
    if position != end:
        log.debug("dropping %d slack bytes after the ACEs of the ACL at %d", end - position, offset)
    return Acl(revision, tuple(aces))


def _read_ace(data: bytes, offset: int, acl_end: int) -> tuple[Ace, int]:
    if offset + _ACE_HEADER.size > acl_end:
        raise InputError(f"truncated ACE at byte {offset}")
    ace_type, flags, size, mask = _ACE_HEADER.unpack_from(data, offset)
    end = offset + size
    if size < _ACE_HEADER.size or end > acl_end:
        raise InputError(f"ACE at byte {offset} has a bad size {size}")
    position = offset + _ACE_HEADER.size
    guids: list[uuid.UUID | None] = [None, None]
    extra = 0
    if ace_type in OBJECT_ACE_TYPES:
        guids, position, extra = _read_object_part(data, position, end)
    elif ace_type not in _PLAIN_ACE_TYPES:
        raise InputError(f"unsupported ACE type {ace_type:#x} at byte {offset}")
    sid, position = read_sid(data, position)
    if position > end:
        raise InputError(f"SID overruns the ACE at byte {offset}")
    ace = Ace(ace_type, flags, mask, sid, guids[0], guids[1], bytes(data[position:end]), extra)
    return ace, end


def _read_object_part(
    data: bytes, position: int, end: int
) -> tuple[list[uuid.UUID | None], int, int]:
    """The GUIDs, the position after them, and the undefined flag bits (kept verbatim)."""
    if position + 4 > end:
        raise InputError(f"truncated object ACE at byte {position}")
    (present,) = struct.unpack_from("<I", data, position)
    extra = present & ~_PRESENCE_BITS
    if extra:
        log.debug("object ACE at byte %d has undefined flag bits %#x; kept", position, extra)
    position += 4
    guids: list[uuid.UUID | None] = [None, None]
    for index, bit in enumerate((ACE_OBJECT_TYPE_PRESENT, ACE_INHERITED_OBJECT_TYPE_PRESENT)):
        if present & bit:
            if position + 16 > end:
                raise InputError(f"truncated object GUID at byte {position}")
            guids[index] = uuid.UUID(bytes_le=bytes(data[position : position + 16]))
            position += 16
    return guids, position, extra


def to_bytes(sd: SecurityDescriptor) -> bytes:
    """Encode a self-relative security descriptor, parts in Samba's order."""
    parts = (
        b"" if sd.owner is None else sid_to_bytes(sd.owner),
        b"" if sd.group is None else sid_to_bytes(sd.group),
        b"" if sd.sacl is None else acl_to_bytes(sd.sacl),
        b"" if sd.dacl is None else acl_to_bytes(sd.dacl),
    )
    offsets, position = [], _SD_HEADER.size
    for part in parts:  # a SID or an ACL is never empty, so b"" means absent
        offsets.append(position if part else 0)
        position += len(part)
    return _SD_HEADER.pack(sd.revision, 0, sd.control, *offsets) + b"".join(parts)


def acl_to_bytes(acl: Acl) -> bytes:
    """Encode one ACL (header and ACEs)."""
    body = b"".join(ace_to_bytes(ace) for ace in acl.aces)
    size = _ACL_HEADER.size + len(body)
    if size > 0xFFFF or len(acl.aces) > 0xFFFF:
        raise InputError(f"ACL of {len(acl.aces)} ACEs is too large ({size} bytes)")
    return _ACL_HEADER.pack(acl.revision, 0, size, len(acl.aces), 0) + body


def ace_to_bytes(ace: Ace) -> bytes:
    """Encode one ACE; object ACEs get the presence word and GUIDs in bytes_le order."""
    body = b""
    if ace.is_object:
        guids = [g for g in (ace.object_type, ace.inherited_object_type) if g is not None]
        present = (ACE_OBJECT_TYPE_PRESENT if ace.object_type is not None else 0) | (
            ACE_INHERITED_OBJECT_TYPE_PRESENT if ace.inherited_object_type is not None else 0
        )
        present |= ace.object_flags_extra
        body = struct.pack("<I", present) + b"".join(guid.bytes_le for guid in guids)
    body += sid_to_bytes(ace.sid) + ace.application_data
    size = _ACE_HEADER.size + len(body)
    if size > 0xFFFF:
        raise InputError(f"ACE for {ace.sid} is too large ({size} bytes)")
    return _ACE_HEADER.pack(ace.ace_type, ace.flags, size, ace.mask) + body
