"""What file-server kinds ask the engine for: SMB reads, writes and expectations.

The engine's SMB module (``adsuite/engine/smb_io.py``) carries them out; resources only
build them, so planning stays pure. Paths are relative to the share, ``\\``-separated,
"" for the share's root folder; ``host`` is a key of the inventory's ``hosts``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from adsuite.formats import security_descriptor as sdlib
from adsuite.source import Location

log = logging.getLogger(__name__)

OWNER, GROUP, DACL, SACL = 0x1, 0x2, 0x4, 0x8


@dataclass(frozen=True)
class FolderRead:
    """The security descriptor (owner, group, DACL, SACL) of one folder."""

    host: str
    share: str
    path: str
    base_dn: str  # where SIDs found in it are looked up, to name them
    names: tuple[str, ...] = ()  # more SIDs to name (ones a rollback image holds)
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TreeRead:
    """Owner, group and DACL of every folder below ``path`` (itself included)."""

    host: str
    share: str
    path: str
    base_dn: str
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FolderState:
    descriptor: bytes | None  # None: the folder does not exist
    names: Mapping[str, str]  # SID -> sAMAccountName, for the SIDs the directory knows


@dataclass(frozen=True)
class TreeState:
    descriptors: Mapping[str, bytes]  # path -> descriptor, every folder that could be read
    unreadable: Mapping[str, str]  # path -> why not
    names: Mapping[str, str]


@dataclass(frozen=True)
class SdInputs:
    """What a write's ``build`` sees at apply time: the live state, names resolved."""

    current: sdlib.SecurityDescriptor
    parent: sdlib.SecurityDescriptor | None
    sids: Mapping[str, str]  # lower-case account name -> SID, for ``FolderWrite.resolve``


@dataclass(frozen=True)
class FolderWrite:
    """Create the folder if asked, then set the parts ``info`` names to what ``build`` makes.

    ``build`` is pure (a resource's function); the writer reads the live descriptor,
    the parent's when ``needs_parent``, and the SIDs of ``resolve`` before calling it.
    """

    host: str
    share: str
    path: str
    base_dn: str
    info: int
    build: Callable[[SdInputs], bytes]
    create: bool = False
    needs_parent: bool = False
    resolve: tuple[str, ...] = ()


@dataclass(frozen=True)
class FolderExpect:
    """The folder must (not) exist and, if ``fingerprint`` is set, be as the plan read it."""

    host: str
    share: str
    path: str
    exists: bool | None
    info: int = OWNER | DACL | SACL
    fingerprint: str | None = None


def parent_path(path: str) -> str:
    return path.rpartition("\\")[0]


def fingerprint(raw: bytes, info: int) -> str:
    """A digest of the parts of a descriptor that *info* names (and DACL protection)."""
    sd = sdlib.parse(raw)
    parts: list[object] = []
    if info & OWNER:
        parts.append(sd.owner)
    if info & DACL:
        parts += [bool(sd.control & sdlib.Control.SE_DACL_PROTECTED), sd.dacl]
    if info & SACL:
        parts.append(sd.sacl)
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()
