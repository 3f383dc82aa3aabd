"""Files on a share (SYSVOL's GPO folders): read many at once, write one atomically, make
folders, list and delete trees — built on :mod:`adsuite.connectors.smb`'s sessions, tree
connects and related compounds.

- :func:`read_files` pipelines one compound per file (CREATE, READ, QUERY_INFO security,
  CLOSE), so a GPO's files and their permissions cost one round trip, overlapped.
- :func:`write_file` sends CREATE of a temporary name, WRITE, SET_INFO security,
  SET_INFO rename over the real name, CLOSE in one compound: a reader sees the old file
  or the new one, never half of it (MS-FSCC 2.4.37 FileRenameInformation).
- :func:`ensure_folder` creates a folder if missing and sets its descriptor;
  :func:`list_tree` and :func:`delete_tree` walk a folder's files and subfolders.

Paths are relative to the share, ``\\``-separated. Secrets never reach a log line.
"""

from __future__ import annotations

import logging
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from smbprotocol.file_info import FileInformationClass, InfoType
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    SMB2ReadRequest,
    SMB2SetInfoRequest,
    SMB2WriteRequest,
)

from adsuite.connectors import smb, smb_walk
from adsuite.connectors.smb import Reply, Tree

log = logging.getLogger(__name__)

FILE_READ_DATA = 0x00000001
FILE_WRITE_DATA = 0x00000002
FILE_READ_ATTRIBUTES = 0x00000080
DELETE = 0x00010000
READ_CHUNK = 65536  # one credit per READ; GPT files are rarely larger
WRITE_CHUNK = 65536
SD_INFO = smb.OWNER_INFO | smb.GROUP_INFO | smb.DACL_INFO
STATUS_END_OF_FILE = 0xC0000011


@dataclass(frozen=True)
class FileState:
    """A file as read: its bytes and descriptor, both None when it does not exist."""

    data: bytes | None
    descriptor: bytes | None


def _read_request(offset: int, length: int = READ_CHUNK) -> SMB2ReadRequest:
    request = SMB2ReadRequest()
    request["length"] = length
    request["offset"] = offset
    request["file_id"] = smb.RELATED_FILE_ID
    return request


def _read_data(reply: Reply) -> bytes:
    """The data of a READ response (MS-SMB2 2.2.20): 1-byte offset, 4-byte length."""
    if reply.status == STATUS_END_OF_FILE:
        return b""
    offset, length = reply.body[2], struct.unpack_from("<I", reply.body, 4)[0]
    return reply.body[offset - 64 : offset - 64 + length]


def _read_messages(path: str, offset: int = 0) -> list[Any]:
    access = FILE_READ_DATA | FILE_READ_ATTRIBUTES | smb.READ_CONTROL | smb.SYNCHRONIZE
    return [
        smb.create_request(path, access, directory=False),
        _read_request(offset),
        smb.query_security_request(SD_INFO),
        smb.close_request(),
    ]


def read_files(
    tree: Tree, paths: Sequence[str], advance: Callable[[], None] = lambda: None
) -> dict[str, FileState]:
    """Every file's bytes and descriptor (None for a file that does not exist), pipelined."""
    found: dict[str, FileState] = {}

    def handle(path: str, replies: list[Reply]) -> None:
        opened, read, queried = replies[:3]
        if opened.status in smb.NOT_FOUND:
            found[path] = FileState(None, None)
        elif not (opened.ok and (read.ok or read.status == STATUS_END_OF_FILE) and queried.ok):
            failed = next(r for r in (opened, read, queried) if not r.ok)
            raise smb.FileServerError(f"cannot read {tree.unc}\\{path}: {smb.words(failed.status)}")
        else:
            data = _read_data(read)
            if len(data) == READ_CHUNK:
                data += _read_rest(tree, path, READ_CHUNK)
            found[path] = FileState(data, queried.buffer())
        advance()

    smb_walk.pipeline(tree, paths, _read_messages, handle, per_item=4)
    return found


def _read_rest(tree: Tree, path: str, offset: int) -> bytes:
    """The bytes of *path* from *offset* on, one chunk per compound."""
    parts = []
    while True:
        opened, read, _, _ = tree.compound(_read_messages(path, offset))
        if not opened.ok or not (read.ok or read.status == STATUS_END_OF_FILE):
            failed = read if opened.ok else opened
            raise smb.FileServerError(f"cannot read {tree.unc}\\{path}: {smb.words(failed.status)}")
        chunk = _read_data(read)
        parts.append(chunk)
        offset += len(chunk)
        if len(chunk) < READ_CHUNK:
            return b"".join(parts)


def _write_requests(data: bytes) -> list[SMB2WriteRequest]:
    requests = []
    for start in range(0, len(data), WRITE_CHUNK):
        request = SMB2WriteRequest()
        request["offset"] = start
        request["file_id"] = smb.RELATED_FILE_ID
        request["buffer"] = data[start : start + WRITE_CHUNK]
        requests.append(request)
    return requests


def _rename_request(target: str) -> SMB2SetInfoRequest:
    """SET_INFO FileRenameInformation: replace *target* (share-relative) if it exists."""
    name = target.encode("utf-16-le")
    buffer = struct.pack("<B7xQI", 1, 0, len(name)) + name
    request = SMB2SetInfoRequest()
    request["info_type"] = InfoType.SMB2_0_INFO_FILE
    request["file_info_class"] = FileInformationClass.FILE_RENAME_INFORMATION
    request["file_id"] = smb.RELATED_FILE_ID
    request["buffer"] = buffer
    return request


def write_file(tree: Tree, path: str, data: bytes, descriptor: bytes | None = None) -> None:
    """Replace *path* with *data* in one compound: write a temporary file, set its owner,
    group and DACL to *descriptor*, rename it over *path*."""
    folder, _, name = path.rpartition("\\")
    temporary = f"{folder}\\.{name}.{uuid.uuid4().hex[:8]}.tmp" if folder else f".{name}.tmp"
    access = FILE_WRITE_DATA | DELETE | smb.READ_CONTROL | smb.SYNCHRONIZE
    access |= smb.WRITE_DAC | smb.WRITE_OWNER if descriptor is not None else 0
    messages: list[Any] = [
        smb.create_request(temporary, access, CreateDisposition.FILE_OVERWRITE_IF, directory=False),
        *_write_requests(data),
    ]
    if descriptor is not None:
        messages.append(smb.set_security_request(SD_INFO, descriptor))
    messages += [_rename_request(path), smb.close_request()]
    replies = tree.compound(messages)
    failed = next((r for r in replies if not r.ok), None)
    if failed is not None:
        if replies[0].ok:
            delete_file(tree, temporary)
        raise smb.FileServerError(f"cannot write {tree.unc}\\{path}: {smb.words(failed.status)}")
    log.info("wrote %s\\%s (%d bytes)", tree.unc, path, len(data))


def delete_file(tree: Tree, path: str) -> bool:
    """Delete *path* (a file or an empty folder); False if it did not exist."""
    opening = smb.create_request(path, DELETE | smb.SYNCHRONIZE, directory=None)
    opening["create_options"] = CreateOptions.FILE_DELETE_ON_CLOSE
    opened, _ = tree.compound([opening, smb.close_request()])
    if opened.status in smb.NOT_FOUND:
        return False
    if not opened.ok:
        raise smb.FileServerError(f"cannot delete {tree.unc}\\{path}: {smb.words(opened.status)}")
    return True


def ensure_folder(tree: Tree, path: str, descriptor: bytes | None = None) -> bool:
    """Create *path* if missing (parents too); set its descriptor. True if created."""
    created = smb.create_folder(tree, path)
    if descriptor is not None:
        smb.set_security(tree, path, descriptor, SD_INFO)
    return created


def set_descriptor(tree: Tree, path: str, descriptor: bytes) -> None:
    """Owner, group and DACL (its protection included) of *path*."""
    smb.set_security(tree, path, descriptor, SD_INFO)


def list_folder(tree: Tree, path: str) -> list[tuple[str, bool]] | None:
    """(name, is folder) of everything in *path*; None if the folder does not exist."""
    found = smb_walk.list_entries(tree, path)
    if found is None:
        return None
    return [(name, bool(attributes & smb_walk.ATTR_DIRECTORY)) for name, attributes in found]


def list_tree(tree: Tree, path: str) -> list[tuple[str, bool]] | None:
    """Every file and folder below *path* (share-relative), parents before children;
    None if *path* does not exist."""
    top = list_folder(tree, path)
    if top is None:
        return None
    out: list[tuple[str, bool]] = []
    pending = [(f"{path}\\{name}", is_dir) for name, is_dir in top]
    while pending:
        item, is_dir = pending.pop(0)
        out.append((item, is_dir))
        if is_dir:
            below = list_folder(tree, item) or []
            pending += [(f"{item}\\{name}", d) for name, d in below]
    return out


def delete_tree(tree: Tree, path: str) -> int:
    """Delete *path* and everything below it; the number of items deleted (0: absent)."""
    below = list_tree(tree, path)
    if below is None:
        return 0
    for item, _ in reversed(below):
        delete_file(tree, item)
    delete_file(tree, path)
    log.info("deleted %s\\%s (%d items below it)", tree.unc, path, len(below))
    return len(below) + 1
