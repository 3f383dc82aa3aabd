"""Where a ``file_acl`` folder is, and which requests reach it.

A folder in a share (``share:`` given) is read and written over SMB
(:mod:`adsuite.resources.smb_requests`); a local path of the host (no ``share:``) over
WinRM (:mod:`adsuite.resources.local_folder_requests`). Everything else about the
folder — what is planned, the words, the journal, rollback — is the same, so this is
the one module that tells the two apart.

A folder's name, as plans, drift, the journal and rollback show it, is its UNC path
(``\\\\fs1\\data\\HQ\\Finance``) or ``host:local path`` (``fs01:D:\\Finance\\Ledger``);
:func:`parse_name` reads either back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import Any

from adsuite.resources import local_folder_requests as local
from adsuite.resources import smb_requests as io
from adsuite.resources.file_acl_spec import Spec
from adsuite.source import Location

log = logging.getLogger(__name__)

Build = Callable[[io.SdInputs], bytes]


def name(spec: Spec, path: str | None = None) -> str:
    """The folder *path* (default: the task's own) as plans and the journal name it."""
    where = spec.path if path is None else path
    if spec.share is None:
        return f"{spec.host}:{where}"
    return f"\\\\{spec.host}\\{spec.share}" + (f"\\{where}" if where else "")


def parse_name(target: str) -> tuple[str, str | None, str]:
    """``(host, share, path)`` of a name :func:`name` made; share None for a local path."""
    if target.startswith("\\\\"):
        host, _, rest = target[2:].partition("\\")
        share, _, path = rest.partition("\\")
        if host and share:
            return host, share, path
    else:
        host, colon, path = target.partition(":")
        if host and colon and path:
            return host, None, path
    raise ValueError(f"{target!r} does not name a folder (\\\\host\\share\\path or host:D:\\path)")


def folder_read(
    spec: Spec,
    base_dn: str,
    source: Location | None = None,
    names: tuple[str, ...] = (),
) -> Hashable:
    """The request for the task's folder descriptor; *names*: more SIDs to name."""
    if spec.share is None:
        return local.LocalFolderRead(spec.host, spec.path, base_dn, names, source)
    return io.FolderRead(spec.host, spec.share, spec.path, base_dn, names, source)


def tree_read(spec: Spec, base_dn: str, source: Location | None = None) -> Hashable:
    if spec.share is None:
        return local.LocalTreeRead(spec.host, spec.path, base_dn, source)
    return io.TreeRead(spec.host, spec.share, spec.path, base_dn, source)


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
) -> Any:
    """Set the parts *info* names of folder *path* (the task's host and share) to *build*'s."""
    if spec.share is None:
        return local.LocalFolderWrite(
            spec.host, path, base_dn, info, build, create, needs_parent, resolve
        )
    return io.FolderWrite(
        spec.host, spec.share, path, base_dn, info, build, create, needs_parent, resolve
    )


def folder_expect(
    spec: Spec,
    path: str,
    exists: bool | None,
    info: int = io.OWNER | io.DACL | io.SACL,
    fingerprint: str | None = None,
) -> Any:
    """What folder *path* must look like when the change is applied."""
    if spec.share is None:
        return local.LocalFolderExpect(spec.host, path, exists, info, fingerprint)
    return io.FolderExpect(spec.host, spec.share, path, exists, info, fingerprint)
