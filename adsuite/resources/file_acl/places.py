"""Where a ``file_acl`` folder is: the task's :class:`~adsuite.resources.file_acl.requests.Place`,
and the requests that reach it.

A folder in a share (``share:`` given) is read and written over SMB; a local path of the
host (no ``share:``) over WinRM. The requests are the same for both
(:mod:`adsuite.resources.file_acl.requests`); the engine picks the transport from the
place, so nothing else about the folder — what is planned, the words, the journal,
rollback — tells the two apart.

A folder's name, as plans, drift, the journal and rollback show it, is its UNC path
(``\\\\fs1\\data\\HQ\\Finance``) or ``host:local path`` (``fs01:D:\\Finance\\Ledger``);
:func:`parse_name` reads either back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from adsuite.resources.file_acl import requests as io
from adsuite.resources.file_acl.requests import Place
from adsuite.resources.file_acl.spec import Spec
from adsuite.source import Location

log = logging.getLogger(__name__)

Build = Callable[[io.SdInputs], bytes]


def place(spec: Spec, path: str | None = None) -> Place:
    """The folder *path* (default: the task's own) on the task's host and share."""
    return Place(spec.host, spec.share, spec.path if path is None else path)


def name(spec: Spec, path: str | None = None) -> str:
    """The folder *path* (default: the task's own) as plans and the journal name it."""
    return place(spec, path).name


def parse_name(target: str) -> Place:
    """The place a name :func:`name` made names (share None for a local path)."""
    if target.startswith("\\\\"):
        host, _, rest = target[2:].partition("\\")
        share, _, path = rest.partition("\\")
        if host and share:
            return Place(host, share, path)
    else:
        host, colon, path = target.partition(":")
        if host and colon and path:
            return Place(host, None, path)
    raise ValueError(f"{target!r} does not name a folder (\\\\host\\share\\path or host:D:\\path)")


def folder_read(
    spec: Spec,
    base_dn: str,
    source: Location | None = None,
    names: tuple[str, ...] = (),
) -> io.FolderRead:
    """The request for the task's folder descriptor; *names*: more SIDs to name."""
    return io.FolderRead(place(spec), base_dn, names, source)


def tree_read(spec: Spec, base_dn: str, source: Location | None = None) -> io.TreeRead:
    return io.TreeRead(place(spec), base_dn, source)


def folder_write(
    spec: Spec,
    path: str,
    base_dn: str,
    info: int,
    build: Build,
    *,
    create: bool = False,
    needs_parent: bool = False,
    resolve: tuple[str, ...] = (),
) -> io.FolderWrite:
    """Set the parts *info* names of folder *path* (the task's host and share) to *build*'s."""
    return io.FolderWrite(place(spec, path), base_dn, info, build, create, needs_parent, resolve)


def folder_expect(
    spec: Spec,
    path: str,
    exists: bool | None,
    info: int = io.OWNER | io.DACL | io.SACL,
    fingerprint: str | None = None,
) -> io.FolderExpect:
    """What folder *path* must look like when the change is applied."""
    return io.FolderExpect(place(spec, path), exists, info, fingerprint)
