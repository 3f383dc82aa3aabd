"""Bulk reads over one share: the security descriptors of many paths, and of every
folder of a tree, without a round trip per folder waited on one at a time.

Each folder costs one related compound — CREATE, QUERY_INFO (security), for a walk
QUERY_DIRECTORY twice (the second only to see ``STATUS_NO_MORE_FILES``), CLOSE — and up
to :data:`WINDOW` compounds are in flight at once on the one session and tree connect.
A walk goes level by level (breadth first) so callers can show progress per level.
Reparse points (junctions, symbolic links) are listed but never followed, and files
are not read: a walk reads folders only.
"""

from __future__ import annotations

import logging
import struct
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from smbprotocol.file_info import FileInformationClass
from smbprotocol.open import SMB2QueryDirectoryRequest

from adsuite.connectors import smb
from adsuite.connectors import smb_wire as wire
from adsuite.connectors.smb import Reply, Tree

log = logging.getLogger(__name__)

WINDOW = 64  # compounds in flight; bounded again by the credits the server granted
LIST_BUFFER = 65536
ATTR_DIRECTORY = 0x10
ATTR_REPARSE_POINT = 0x400
_ENTRY = struct.Struct("<I52xII")  # NextEntryOffset, FileAttributes at 56, FileNameLength
T = TypeVar("T")


@dataclass
class Walk:
    """What a walk found: descriptors by path (relative to the share), and failures."""

    descriptors: dict[str, bytes] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # path -> why


def query_directory_request() -> SMB2QueryDirectoryRequest:
    request = SMB2QueryDirectoryRequest()
    request["file_information_class"] = FileInformationClass.FILE_DIRECTORY_INFORMATION
    request["file_id"] = smb.RELATED_FILE_ID
    request["output_buffer_length"] = LIST_BUFFER
    request["buffer"] = "*".encode("utf-16-le")
    return request


def entries(listing: bytes) -> list[tuple[str, int]]:
    """(name, FileAttributes) of a FileDirectoryInformation buffer (MS-FSCC 2.4.10), no . or .."""
    found, position = [], 0
    while listing:
        following, attributes, length = _ENTRY.unpack_from(listing, position)
        name = listing[position + 64 : position + 64 + length].decode("utf-16-le")
        if name not in (".", ".."):
            found.append((name, attributes))
        if not following:
            break
        position += following
    return found


def is_folder(attributes: int) -> bool:
    """A folder a walk goes into: a directory, and not a reparse point (a link)."""
    return bool(attributes & ATTR_DIRECTORY and not attributes & ATTR_REPARSE_POINT)


def subfolders(listing: bytes) -> list[str]:
    """Folder names in a FileDirectoryInformation buffer, no . or .. and no links."""
    return [name for name, attributes in entries(listing) if is_folder(attributes)]


def pipeline(
    tree: Tree,
    items: Iterable[T],
    build: Callable[[T], Sequence[Any]],
    handle: Callable[[T, list[Reply]], None],
    per_item: int,
) -> None:
    """Send each item's compound, keeping up to a window in flight; handle replies in order."""
    window = max(1, min(WINDOW, tree.credits() // per_item - 1))
    pending: deque[tuple[T, list[Any]]] = deque()
    for item in items:
        if len(pending) >= window:
            done, requests = pending.popleft()
            handle(done, tree.receive(requests))
        pending.append((item, tree.send(build(item))))
    while pending:
        done, requests = pending.popleft()
        handle(done, tree.receive(requests))


def read_many(
    tree: Tree,
    paths: Sequence[str],
    info: int = smb.ALL_INFO,
    advance: Callable[[], None] = lambda: None,
) -> dict[str, bytes | None]:
    """The descriptor of every path (None where it does not exist), pipelined."""
    found: dict[str, bytes | None] = {}

    access, after_open = smb.access_for_reading(info), [wire.query_security(info), wire.close()]

    def build(path: str) -> list[Any]:
        return [wire.create(path, access, directory=None), *after_open]

    def handle(path: str, replies: list[Reply]) -> None:
        opened, queried = replies[0], replies[1]
        if opened.status in smb.NOT_FOUND:
            found[path] = None
        elif not (opened.ok and queried.ok):
            failed = queried if opened.ok else opened
            raise smb.security_error(tree, path, "read the security of", failed.status, info)
        else:
            found[path] = queried.buffer()
        advance()

    pipeline(tree, paths, build, handle, per_item=3)
    return found


def walk(
    tree: Tree,
    root: str,
    info: int = smb.OWNER_INFO | smb.GROUP_INFO | smb.DACL_INFO,
    on_level: Callable[[int, int], None] = lambda depth, count: None,
    advance: Callable[[], None] = lambda: None,
) -> Walk:
    """Every folder under *root* (root included) with its descriptor, level by level."""
    result = Walk()
    level, depth = [root], 0
    while level:
        on_level(depth, len(level))
        below: list[str] = []
        handler = _walk_handler(tree, result, below, advance)
        pipeline(tree, level, _walk_messages(info), handler, per_item=5)
        level, depth = below, depth + 1
    return result


def _walk_messages(info: int) -> Callable[[str], list[Any]]:
    access = smb.access_for_reading(info) | smb.FILE_LIST_DIRECTORY
    after_open = [wire.query_security(info), wire.query_directory(LIST_BUFFER)]
    after_open += [wire.query_directory(LIST_BUFFER), wire.close()]

    def build(path: str) -> list[Any]:
        return [wire.create(path, access), *after_open]

    return build


def _walk_handler(
    tree: Tree, result: Walk, below: list[str], advance: Callable[[], None]
) -> Callable[[str, list[Reply]], None]:
    def handle(path: str, replies: list[Reply]) -> None:
        advance()
        opened, queried, listed, more = replies[:4]
        if not (opened.ok and queried.ok and listed.ok):
            failed = next(r for r in (opened, queried, listed) if not r.ok)
            result.unreadable[path] = smb.words(failed.status)
            return
        result.descriptors[path] = queried.buffer()
        names = subfolders(listed.buffer())
        if more.ok:  # a folder too large for one listing: list it again, in full
            names = list_folders(tree, path)
        below.extend(f"{path}\\{name}" if path else name for name in names)

    return handle


def list_folders(tree: Tree, path: str) -> list[str]:
    """The subfolders of one folder, however many listings that takes."""
    found = list_entries(tree, path)
    if found is None:
        raise smb.FileServerError(f"cannot list {tree.unc}\\{path}: it does not exist")
    return [name for name, attributes in found if is_folder(attributes)]


def list_entries(tree: Tree, path: str) -> list[tuple[str, int]] | None:
    """(name, FileAttributes) of everything in *path*, however many listings that takes;
    None if the folder does not exist."""
    opening = smb.create_request(path, smb.FILE_LIST_DIRECTORY | smb.SYNCHRONIZE)
    opened, *_ = tree.compound([opening])
    if opened.status in smb.NOT_FOUND:
        return None
    if not opened.ok:
        raise smb.FileServerError(f"cannot list {tree.unc}\\{path}: {smb.words(opened.status)}")
    file_id = opened.body[64:80]
    found: list[tuple[str, int]] = []
    try:
        while True:
            request = query_directory_request()
            request["file_id"] = file_id
            (listed,) = tree.compound([request])
            if listed.status == smb.STATUS_NO_MORE_FILES:
                return found
            if not listed.ok:
                raise smb.FileServerError(
                    f"cannot list {tree.unc}\\{path}: {smb.words(listed.status)}"
                )
            found += entries(listed.buffer())
    finally:
        closing = smb.close_request()
        closing["file_id"] = file_id
        tree.compound([closing])
