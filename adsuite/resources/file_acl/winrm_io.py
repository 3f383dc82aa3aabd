"""Folders on a Windows host's local disks, over WinRM: the transport
:mod:`adsuite.resources.file_acl.io` uses for a place without a share.

Through the run's WinRM sessions (``conn.winrm``) and three scripts
in ``templates/powershell``, every value passed as a parameter:

- ``get_folder_security``: the descriptors of many folders in one round trip
  (:data:`CHUNK` to a call) and, asked for, the folders in each — so a tree is read
  level by level, one round trip per level, with progress per level;
- ``new_folder``: create a folder (and the folders above it);
- ``set_folder_security``: set the owner, the DACL and/or the SACL from SDDL.

Descriptors come back in binary and are parsed as SMB's are, and their SIDs are named
from the directory in bulk the same way (:mod:`adsuite.resources.file_acl.io`), so planning
cannot tell which transport read a folder. What Windows does with the scripts is only
proven against a real host (tests/winrm, live mode).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adsuite.connectors.smb import FileServerError
from adsuite.connectors.winrm import ScriptResult, WinRmSessions
from adsuite.errors import InputError
from adsuite.formats import security_descriptor as sdlib
from adsuite.resources.file_acl import requests as io
from adsuite.resources.file_acl.rollback import image_text
from adsuite.runtime.connections import Connections
from adsuite.source import Location

log = logging.getLogger(__name__)

CHUNK = 500  # folders per round trip
READ, CREATE, SET = "get_folder_security", "new_folder", "set_folder_security"
SECTIONS = ((io.OWNER, "Owner"), (io.DACL, "Access"), (io.SACL, "Audit"))


@dataclass(frozen=True)
class Found:
    """What ``get_folder_security`` says of one folder."""

    path: str
    exists: bool
    descriptor: bytes | None = None
    subfolders: tuple[str, ...] = ()
    error: str | None = None


class FolderHost:
    """The folder scripts on one Windows host, over the run's WinRM sessions."""

    def __init__(self, sessions: WinRmSessions, host: str) -> None:
        self.sessions, self.host = sessions, host

    def read(
        self,
        paths: Sequence[str],
        *,
        audit: bool = True,
        subfolders: bool = False,
        advance: Callable[[int], None] = lambda count: None,
    ) -> dict[str, Found]:
        """Every path's descriptor (with the SACL unless *audit* is False), CHUNK a call."""
        out: dict[str, Found] = {}
        for start in range(0, len(paths), CHUNK):
            chunk = list(paths[start : start + CHUNK])
            values = {"Paths": chunk, "Audit": audit, "Subfolders": subfolders}
            result = self._run(READ, values)
            out.update((f.path, f) for f in map(_found, result.output) if f is not None)
            unanswered = [p for p in chunk if p not in out]
            if unanswered:
                raise FileServerError(f"{READ} on {self.host} said nothing of {unanswered[0]}")
            advance(len(chunk))
        return out

    def create(self, path: str) -> bool:
        """Create the folder (and those above it); False if it was there already."""
        result = self._run(CREATE, {"Path": path})
        created = any(isinstance(o, Mapping) and o.get("Created") for o in result.output)
        log.info("%s folder %s:%s", "created" if created else "found", self.host, path)
        return created

    def set(self, path: str, descriptor: bytes, info: int) -> None:
        """Set the parts *info* names (io.OWNER | io.DACL | io.SACL) as in *descriptor*."""
        sections = [name for part, name in SECTIONS if info & part]
        sddl = image_text(sdlib.parse(descriptor), info)
        self._run(SET, {"Path": path, "Sddl": sddl, "Sections": sections})
        log.info("set %s of %s:%s", ", ".join(sections), self.host, path)

    def _run(self, script: str, parameters: Mapping[str, Any]) -> ScriptResult:
        result = self.sessions.run(self.host, script, parameters)
        if result.errors:
            raise FileServerError(f"{script} on {self.host}: {result.errors[0].message}")
        return result


def _found(item: Any) -> Found | None:
    if not isinstance(item, Mapping) or not item.get("Path"):
        return None
    raw, names = item.get("Descriptor"), item.get("Subfolders") or ()
    return Found(
        str(item["Path"]),
        bool(item.get("Exists")),
        base64.b64decode(raw) if raw else None,
        (names,) if isinstance(names, str) else tuple(str(name) for name in names),
        str(item["Error"]) if item.get("Error") else None,
    )


def folder_host(conn: Connections, host: str, source: Location | None = None) -> FolderHost:
    """Inventory host *host*, which must have ``winrm:``; an error at *source* if not."""
    entry = conn.inventory.hosts.get(host)
    if entry is None or entry.winrm is None:
        known = ", ".join(sorted(k for k, h in conn.inventory.hosts.items() if h.winrm)) or "none"
        why = "is not in the inventory" if entry is None else "has no winrm: access"
        raise InputError(
            f"host {host!r} {why}: a file_acl path without a share is a local path of the "
            f"host, read and written over WinRM (hosts with winrm: {known})",
            file=source.file if source else None,
            line=source.line if source else None,
        )
    return FolderHost(conn.winrm, host)


def _descriptor(host: str, found: Found) -> bytes | None:
    if found.error is not None:
        raise FileServerError(f"cannot read the security of {host}:{found.path}: {found.error}")
    return found.descriptor if found.exists else None


class WinRmFolders:
    """The local folders of one Windows host, as :class:`adsuite.resources.file_acl.io.Folders`."""

    def __init__(self, folders: FolderHost) -> None:
        self.folders, self.label = folders, f"{folders.host} over WinRM"

    def read(
        self, paths: Sequence[str], info: int, advance: Callable[[int], None]
    ) -> dict[str, bytes | None]:
        found = self.folders.read(paths, audit=bool(info & io.SACL), advance=advance)
        return {path: _descriptor(self.folders.host, found[path]) for path in paths}

    def walk(
        self, top: str, on_level: Callable[[int, int], None], advance: Callable[[int], None]
    ) -> tuple[dict[str, bytes], dict[str, str]]:
        """Every folder under *top* (itself included), one round trip per level."""
        descriptors: dict[str, bytes] = {}
        unreadable: dict[str, str] = {}
        level, depth = [top], 0
        while level:
            on_level(depth, len(level))
            found = self.folders.read(level, audit=False, subfolders=True, advance=advance)
            below: list[str] = []
            for path in level:
                one = found[path]
                if one.error is not None or one.descriptor is None:
                    unreadable[path] = one.error or "no such folder"
                    continue
                descriptors[path] = one.descriptor
                below += [f"{path}\\{name}" for name in one.subfolders]
            level, depth = below, depth + 1
        return descriptors, unreadable

    def create(self, path: str) -> None:
        self.folders.create(path)

    def set(self, path: str, descriptor: bytes, info: int) -> None:
        self.folders.set(path, descriptor, info)
