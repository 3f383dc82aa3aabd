"""Folder permissions over SMB: the readers, writer and checker of file_acl's requests.

- :class:`~adsuite.resources.smb_requests.FolderRead`: all of a run's folders on one
  share in one pipelined batch (a compound per folder, many in flight).
- :class:`~adsuite.resources.smb_requests.TreeRead`: whole folder trees, level by level,
  with progress per level.
- Every SID the descriptors name is then looked up in the directory in bulk (500 to a
  search) so plans and drift can name it.
- :class:`~adsuite.resources.smb_requests.FolderWrite`: create the folder if asked,
  read the live descriptor (and the parent's), resolve accounts created by this run,
  build the new descriptor with the resource's pure function, set it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from adsuite.connectors import smb, smb_walk
from adsuite.connectors.ldap import Directory
from adsuite.engine.connections import Connections
from adsuite.engine.progress import Progress
from adsuite.errors import ConflictError
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.ldap_query import nameable, names_of, sids_required
from adsuite.resources import smb_requests as io

log = logging.getLogger(__name__)


def read_folders(
    conn: Connections, requests: Sequence[io.FolderRead], progress: Progress
) -> dict[Any, Any]:
    raw: dict[io.FolderRead, bytes | None] = {}
    for (host, share), batch in _by_share(requests).items():
        tree = conn.tree(host, share, batch[0].source)
        progress.start(f"reading folder permissions on {tree.unc}", len(batch))
        found = smb_walk.read_many(tree, [r.path for r in batch], advance=progress.advance)
        progress.finish()
        raw.update({r: found[r.path] for r in batch})
    asked = {sid for r in requests for sid in r.names}
    every = sids_in(d for d in raw.values() if d) | nameable(asked)
    names = sid_names(conn.ldap, requests, every)
    return {r: io.FolderState(d, names) for r, d in raw.items()}


def read_trees(
    conn: Connections, requests: Sequence[io.TreeRead], progress: Progress
) -> dict[Any, Any]:
    walks: dict[io.TreeRead, smb_walk.Walk] = {}
    for request in requests:
        tree = conn.tree(request.host, request.share, request.source)
        top = f"{tree.unc}\\{request.path}" if request.path else tree.unc

        def level(depth: int, count: int, top: str = top) -> None:
            progress.finish()
            progress.start(f"reading the folder tree {top}, level {depth}", count)

        walks[request] = smb_walk.walk(tree, request.path, on_level=level, advance=progress.advance)
        progress.finish()
        found = walks[request]
        log.info("read %d folders under %s", len(found.descriptors), top)
    every = (d for w in walks.values() for d in w.descriptors.values())
    names = sid_names(conn.ldap, requests, sids_in(every))
    return {r: io.TreeState(w.descriptors, w.unreadable, names) for r, w in walks.items()}


def _by_share(requests: Sequence[io.FolderRead]) -> dict[tuple[str, str], list[io.FolderRead]]:
    out: dict[tuple[str, str], list[io.FolderRead]] = {}
    for request in requests:
        out.setdefault((request.host, request.share.lower()), []).append(request)
    return out


def sids_in(descriptors: Iterable[bytes]) -> set[str]:
    """Every SID the descriptors name that the directory may know."""
    found: set[str] = set()
    for raw in descriptors:
        sd = sdlib.parse(raw)
        found |= {s for s in (sd.owner, sd.group) if s}
        for acl in (sd.dacl, sd.sacl):
            found |= {ace.sid for ace in (acl.aces if acl else ())}
    return nameable(found)


def sid_names(directory: Directory, requests: Sequence[Any], sids: set[str]) -> dict[str, str]:
    """SID -> sAMAccountName for every SID the directory knows, 500 to a search."""
    bases = {r.base_dn for r in requests}
    if not sids or not bases:
        return {}
    return names_of(directory.search, next(iter(bases)), sids)


def write_folder(conn: Connections, write: io.FolderWrite) -> None:
    tree = conn.tree(write.host, write.share)
    if write.create:
        smb.create_folder(tree, write.path)
    if not write.info:
        return
    info = write.info | io.OWNER | io.GROUP | io.DACL
    current = smb.query_security(tree, write.path, info)
    if current is None:
        raise smb.FileServerError(f"{tree.unc}\\{write.path} does not exist")
    parent = None
    if write.needs_parent:
        above = smb.query_security(tree, io.parent_path(write.path), io.OWNER | io.GROUP | io.DACL)
        parent = sdlib.parse(above) if above else None
    sids = resolve_accounts(conn.ldap, write.base_dn, write.resolve)
    built = write.build(io.SdInputs(sdlib.parse(current), parent, sids))
    smb.set_security(tree, write.path, built, write.info)
    log.info("set security (info %#x) of %s\\%s", write.info, tree.unc, write.path)


def resolve_accounts(directory: Directory, base_dn: str, names: Sequence[str]) -> dict[str, str]:
    """Lower-case account name -> SID of accounts a run created, in one search."""
    return sids_required(directory.search, base_dn, names, "to put in a folder's permissions")


def check_folder(conn: Connections, target: str, expect: io.FolderExpect) -> None:
    tree = conn.tree(expect.host, expect.share)
    raw = smb.query_security(tree, expect.path, expect.info | io.OWNER | io.DACL)
    still_as_planned(target, raw, expect.exists, expect.fingerprint, expect.info)


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


# this protocol's part of engine/protocols.py's tables
READS = {io.FolderRead: read_folders, io.TreeRead: read_trees}
WRITES = {io.FolderWrite: write_folder}
CHECKS = {io.FolderExpect: check_folder}
