"""What file-server kinds ask the engine for: folder reads, writes and expectations at a
:class:`Place`, over SMB or WinRM.

A place in a share (``share`` given) is reached over SMB, its path relative to the share
(``\\``-separated, "" for the share's root); a place without a share is a local path of
the host (``D:\\Finance\\Ledger``), reached over WinRM. The engine's folder module
(``adsuite/resources/file_acl/io.py``) carries the requests out over either transport and
answers the same :class:`FolderState` / :class:`TreeState`, descriptors in the same
binary form, so planning does not know which transport read a folder. ``host`` is a key
of the inventory's ``hosts``.
"""

from __future__ import annotations

import hashlib
import logging
import ntpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from adsuite.formats import security_descriptor as sdlib
from adsuite.source import Location

log = logging.getLogger(__name__)

OWNER, GROUP, DACL, SACL = 0x1, 0x2, 0x4, 0x8


@dataclass(frozen=True)
class Place:
    """A folder: on *host*, in *share* (SMB) or, with no share, at a local path (WinRM)."""

    host: str
    share: str | None
    path: str

    @property
    def name(self) -> str:
        """As plans, drift and the journal name it: ``\\\\fs1\\data\\HQ`` or ``fs01:D:\\HQ``."""
        if self.share is None:
            return f"{self.host}:{self.path}"
        return f"\\\\{self.host}\\{self.share}" + (f"\\{self.path}" if self.path else "")

    def at(self, path: str) -> Place:
        """Another folder on the same host and share."""
        return Place(self.host, self.share, path)

    def parent(self) -> Place:
        """The folder above (``D:\\Finance`` → ``D:\\``; ``HQ\\Finance`` → ``HQ``)."""
        if self.share is None:
            return self.at(ntpath.dirname(self.path))
        return self.at(parent_path(self.path))


@dataclass(frozen=True)
class FolderRead:
    """The security descriptor (owner, group, DACL, SACL) of one folder."""

    place: Place
    base_dn: str  # where SIDs found in it are looked up, to name them
    names: tuple[str, ...] = ()  # more SIDs to name (ones a rollback image holds)
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TreeRead:
    """Owner, group and DACL of every folder below the place (itself included)."""

    place: Place
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
    """What a :class:`FolderWrite`'s ``build`` gets: the live descriptor and more."""

    current: sdlib.SecurityDescriptor
    parent: sdlib.SecurityDescriptor | None
    sids: Mapping[str, str]  # lower-case account name -> SID, for ``FolderWrite.resolve``


@dataclass(frozen=True)
class FolderWrite:
    """Create the folder if asked, then set the parts ``info`` names to what ``build`` makes.

    ``build`` is pure; the writer reads the live descriptor (and the parent's when
    ``needs_parent``) first and resolves the ``resolve`` account names to SIDs.
    """

    place: Place
    base_dn: str
    info: int
    build: Callable[[SdInputs], bytes]
    create: bool = False
    needs_parent: bool = False
    resolve: tuple[str, ...] = ()


@dataclass(frozen=True)
class FolderExpect:
    """The folder must (not) exist and, if ``fingerprint`` is set, be as the plan read it."""

    place: Place
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
