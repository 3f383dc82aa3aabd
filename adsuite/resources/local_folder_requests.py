"""What file-server kinds ask the engine for on a host's local paths (no share): the
same reads, writes and expectations as :mod:`adsuite.resources.smb_requests`, carried
over WinRM by ``adsuite/engine/winrm_folders_io.py``.

Paths are absolute local paths of the host (``D:\\Finance\\Ledger``); ``host`` is a key of
the inventory's ``hosts`` with ``winrm:``. The answers are the SMB ones
(:class:`~adsuite.resources.smb_requests.FolderState`,
:class:`~adsuite.resources.smb_requests.TreeState`), descriptors in the same binary
form, so planning does not know which transport read them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from adsuite.resources.smb_requests import DACL, OWNER, SACL, SdInputs
from adsuite.source import Location

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalFolderRead:
    """The security descriptor (owner, group, DACL, SACL) of one local folder."""

    host: str
    path: str
    base_dn: str  # where SIDs found in it are looked up, to name them
    names: tuple[str, ...] = ()  # more SIDs to name (ones a rollback image holds)
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class LocalTreeRead:
    """Owner, group and DACL of every folder below ``path`` (itself included)."""

    host: str
    path: str
    base_dn: str
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class LocalFolderWrite:
    """Create the folder if asked, then set the parts ``info`` names to what ``build`` makes.

    As :class:`~adsuite.resources.smb_requests.FolderWrite`: ``build`` is pure; the writer
    reads the live descriptor (and the parent's when ``needs_parent``) first.
    """

    host: str
    path: str
    base_dn: str
    info: int
    build: Callable[[SdInputs], bytes]
    create: bool = False
    needs_parent: bool = False
    resolve: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalFolderExpect:
    """The folder must (not) exist and, if ``fingerprint`` is set, be as the plan read it."""

    host: str
    path: str
    exists: bool | None
    info: int = OWNER | DACL | SACL
    fingerprint: str | None = None
