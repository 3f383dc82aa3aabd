"""What the GPO kinds ask the engine for: reads of GPOs (container and SYSVOL files), and
the SYSVOL writes, deletions and expectations of their changes.

The engine's GPO module (``adsuite/resources/gpo/io.py``) carries them out; resources only
build them, so planning stays pure. A GPT path is relative to the ``sysvol`` share
(``group.example.com\\Policies\\{GUID}``); file paths are relative to the GPT folder.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from adsuite.source import Location

log = logging.getLogger(__name__)

GPT_INI = "GPT.INI"
MACHINE_POL = "Machine\\Registry.pol"
USER_POL = "User\\Registry.pol"
SECEDIT = "Machine\\Microsoft\\Windows NT\\SecEdit"
AUDIT = "Machine\\Microsoft\\Windows NT\\Audit"
GPTTMPL = SECEDIT + "\\GptTmpl.inf"
AUDIT_CSV = AUDIT + "\\audit.csv"
FILES = (GPT_INI, MACHINE_POL, USER_POL, GPTTMPL, AUDIT_CSV)
FOLDERS: tuple[str, ...] = ("", "Machine", "User", "Machine\\Microsoft")
FOLDERS += ("Machine\\Microsoft\\Windows NT", SECEDIT, AUDIT)
MACHINE_FILES = (MACHINE_POL, GPTTMPL, AUDIT_CSV)
USER_FILES = (USER_POL,)
SHARE = "sysvol"


def policies_dn(base_dn: str) -> str:
    return f"CN=Policies,CN=System,{base_dn}"


def gpc_dn(guid: str, base_dn: str) -> str:
    return f"CN={guid},{policies_dn(base_dn)}"


def gpt_path(realm: str, guid: str) -> str:
    """The GPT folder relative to the sysvol share, as Windows and Samba lay it out."""
    return f"{realm.lower()}\\Policies\\{guid}"


def share_path(file_sys_path: str | None, realm: str, guid: str) -> str:
    """The GPT folder from ``gPCFileSysPath`` (``\\\\dom\\sysvol\\dom\\Policies\\{G}``)."""
    parts = (file_sys_path or "").strip("\\").split("\\", 2)
    if len(parts) == 3 and parts[1].lower() == SHARE:
        return parts[2]
    return gpt_path(realm, guid)


@dataclass(frozen=True)
class GpoRead:
    """One GPO, by display name or GUID: its container and its GPT files with their ACLs."""

    realm: str
    base_dn: str
    name: str | None = None
    guid: str | None = None
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class GpoState:
    """A GPO as read. ``files`` and ``descriptors`` are keyed by path below the GPT folder
    (``""`` is the folder itself); a missing file maps to None."""

    guid: str
    dn: str
    name: str | None
    flags: int
    version_number: int  # as LDAP stores it: signed 32-bit
    machine_extensions: str | None
    user_extensions: str | None
    descriptor: bytes | None  # the container's owner, group and DACL
    path: str  # the GPT folder, relative to the sysvol share
    files: Mapping[str, bytes | None]
    descriptors: Mapping[str, bytes | None]
    names: Mapping[str, str]  # SID -> sAMAccountName, for SIDs its ACL and files name
    others: tuple[str, ...] = ()  # GUIDs of other GPOs with the same display name

    def fingerprint(self) -> str:
        """What apply must find unchanged: version, flags, extensions, file contents."""
        parts: list[object] = [self.version_number, self.flags]
        parts += [self.machine_extensions, self.user_extensions]
        parts += sorted((k, v or b"") for k, v in self.files.items())
        return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


Render = Callable[[Mapping[str, str]], Mapping[str, bytes | None]]


@dataclass(frozen=True)
class GptWrite:
    """Write a GPT's files (None deletes one) with the container's derived permissions.

    ``render`` is pure: given SIDs of the accounts in ``resolve`` (looked up at apply
    time, for groups this run creates), it returns the files. ``create`` makes the GPT
    folder with its Machine and User folders; ``sync_acl`` sets the derived
    descriptor on every file and folder already there.
    """

    realm: str
    base_dn: str
    guid: str
    path: str
    render: Render
    resolve: tuple[str, ...] = ()
    create: bool = False
    sync_acl: bool = False


@dataclass(frozen=True)
class GpoDelete:
    """Delete the container (and what is below it), then the GPT folder."""

    realm: str
    base_dn: str
    guid: str
    path: str


@dataclass(frozen=True)
class GpLinkEdit:
    """Set one GPO's link on one container (OU or domain) at apply time, reading its
    ``gPLink`` afresh: ``options`` None removes the link; a new one goes last in link
    order; ``order`` moves it there (1 wins). Other GPOs' links keep their places."""

    container: str
    base_dn: str
    guid: str
    options: int | None
    order: int | None = None


@dataclass(frozen=True)
class GpoExpect:
    """The GPO must (not) exist and, with ``fingerprint``, be as the plan read it;
    ``links`` are (container DN, the GPO's link there in words) as the plan read them."""

    realm: str
    base_dn: str
    guid: str
    name: str
    exists: bool
    fingerprint: str | None = None
    links: tuple[tuple[str, str], ...] = ()
