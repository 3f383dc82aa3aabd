"""Folder permissions at a :class:`~adsuite.resources.file_acl.requests.Place`: the readers,
writer and checker of file_acl's requests, once, over either transport.

A place in a share is reached over SMB (:class:`adsuite.resources.file_acl.smb_io.SmbFolders`), a
local path of a Windows host over WinRM (:class:`adsuite.resources.file_acl.winrm_io.WinRmFolders`);
both offer the few operations below (:class:`Folders`), so what is read, how SIDs are
named and how a write checks the live state is written here once:

- :class:`FolderRead`: all of a run's folders on one share or host in one batch;
- :class:`TreeRead`: whole folder trees, level by level, with progress per level;
- every SID the descriptors name is then looked up in the directory in bulk so plans
  and drift can name it;
- :class:`FolderWrite`: create the folder if asked, read the live descriptor (and the
  parent's), resolve accounts created by this run, build the new descriptor with the
  resource's pure function, set it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from adsuite.connectors.ldap import Directory
from adsuite.connectors.smb import FileServerError
from adsuite.errors import ConflictError
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.ldap_query import nameable, names_of, sids_required
from adsuite.resources.file_acl import requests as io
from adsuite.resources.file_acl import smb_io
from adsuite.resources.file_acl import winrm_io as winrm_folders_io
from adsuite.resources.file_acl.requests import Place
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress
from adsuite.source import Location

log = logging.getLogger(__name__)

TREE_INFO = io.OWNER | io.GROUP | io.DACL  # what a tree read asks of every folder


class Folders(Protocol):
    """One share (SMB) or one host's local disks (WinRM)."""

    label: str  # for progress: \\fs1\data, or fs01

    def read(
        self, paths: Sequence[str], info: int, advance: Callable[[int], None]
    ) -> dict[str, bytes | None]:
        """Every path's descriptor (the parts *info* names); None where it does not exist."""
        ...

    def walk(
        self, top: str, on_level: Callable[[int, int], None], advance: Callable[[int], None]
    ) -> tuple[dict[str, bytes], dict[str, str]]:
        """Every folder under *top*, level by level: descriptors, and why others were unreadable."""
        ...

    def create(self, path: str) -> None: ...

    def set(self, path: str, descriptor: bytes, info: int) -> None: ...


def folders_at(conn: Connections, place: Place, source: Location | None = None) -> Folders:
    """The transport that reaches *place*: its share over SMB, or its host over WinRM."""
    if place.share is None:
        return winrm_folders_io.WinRmFolders(winrm_folders_io.folder_host(conn, place.host, source))
    return smb_io.SmbFolders(conn.tree(place.host, place.share, source))


def read_folders(
    conn: Connections, requests: Sequence[io.FolderRead], progress: Progress
) -> dict[Any, Any]:
    raw: dict[io.FolderRead, bytes | None] = {}
    for batch in _by_transport(requests).values():
        folders = folders_at(conn, batch[0].place, batch[0].source)
        progress.start(f"reading folder permissions on {folders.label}", len(batch))
        found = folders.read([r.place.path for r in batch], smb_io.ALL_INFO, progress.advance)
        progress.finish()
        raw.update({r: found[r.place.path] for r in batch})
    asked = {sid for r in requests for sid in r.names}
    every = sids_in(d for d in raw.values() if d) | nameable(asked)
    names = sid_names(conn.ldap, requests, every)
    return {r: io.FolderState(d, names) for r, d in raw.items()}


def _by_transport(
    requests: Sequence[io.FolderRead],
) -> dict[tuple[str, str | None], list[io.FolderRead]]:
    out: dict[tuple[str, str | None], list[io.FolderRead]] = {}
    for request in requests:
        share = request.place.share
        out.setdefault((request.place.host, share.lower() if share else None), []).append(request)
    return out


def read_trees(
    conn: Connections, requests: Sequence[io.TreeRead], progress: Progress
) -> dict[Any, Any]:
    walks: dict[io.TreeRead, tuple[dict[str, bytes], dict[str, str]]] = {}
    for request in requests:
        folders, top = folders_at(conn, request.place, request.source), request.place.name

        def level(depth: int, count: int, top: str = top) -> None:
            progress.finish()
            progress.start(f"reading the folder tree {top}, level {depth}", count)

        walks[request] = folders.walk(request.place.path, level, progress.advance)
        progress.finish()
        log.info("read %d folders under %s", len(walks[request][0]), top)
    every = (d for descriptors, _ in walks.values() for d in descriptors.values())
    names = sid_names(conn.ldap, requests, sids_in(every))
    return {r: io.TreeState(d, unreadable, names) for r, (d, unreadable) in walks.items()}


def sids_in(descriptors: Iterable[bytes]) -> set[str]:
    """Every SID the descriptors name that the directory may know."""
    found: set[str] = set()
    for raw in set(descriptors):  # a tree's folders mostly share a few descriptors
        sd = sdlib.parse(raw)
        found |= {s for s in (sd.owner, sd.group) if s}
        for acl in (sd.dacl, sd.sacl):
            found |= {ace.sid for ace in (acl.aces if acl else ())}
    return nameable(found)


def sid_names(directory: Directory, requests: Sequence[Any], sids: set[str]) -> dict[str, str]:
    """SID -> sAMAccountName for every SID the directory knows, in bulk."""
    bases = {r.base_dn for r in requests}
    if not sids or not bases:
        return {}
    return names_of(directory.search, next(iter(bases)), sids)


def write_folder(conn: Connections, write: io.FolderWrite) -> None:
    place = write.place
    folders = folders_at(conn, place)
    if write.create:
        folders.create(place.path)
    if not write.info:
        return
    current = folders.read([place.path], write.info | TREE_INFO, _none)[place.path]
    if current is None:
        raise FileServerError(f"{place.name} does not exist")
    parent = None
    if write.needs_parent:
        above = place.parent().path
        raw = folders.read([above], TREE_INFO, _none)[above]
        parent = sdlib.parse(raw) if raw else None
    sids = sids_required(
        conn.ldap.search, write.base_dn, write.resolve, "to put in a folder's permissions"
    )
    built = write.build(io.SdInputs(sdlib.parse(current), parent, sids))
    folders.set(place.path, built, write.info)
    log.info("set security (info %#x) of %s", write.info, place.name)


def check_folder(conn: Connections, target: str, expect: io.FolderExpect) -> None:
    place = expect.place
    raw = folders_at(conn, place).read([place.path], expect.info | io.OWNER | io.DACL, _none)
    still_as_planned(target, raw[place.path], expect.exists, expect.fingerprint, expect.info)


def still_as_planned(
    target: str, raw: bytes | None, exists: bool | None, fingerprint: str | None, info: int
) -> None:
    """ConflictError unless the folder's descriptor *raw* is as the plan saw it."""
    if exists is False and raw is not None:
        raise ConflictError(f"{target} was created by someone else since the plan")
    if exists and raw is None:
        raise ConflictError(f"{target} no longer exists")
    changed = raw is not None and io.fingerprint(raw, info) != fingerprint
    if fingerprint is not None and changed:
        raise ConflictError(f"{target}: its permissions changed since the plan")


def _none(steps: int) -> None:
    pass


# this protocol's part of engine/protocols.py's tables
READS = {io.FolderRead: read_folders, io.TreeRead: read_trees}
WRITES = {io.FolderWrite: write_folder}
CHECKS = {io.FolderExpect: check_folder}
