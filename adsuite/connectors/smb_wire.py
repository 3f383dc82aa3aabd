"""The bulk reads' compounds packed straight to bytes, and sent on smbprotocol's connection.

smbprotocol builds every request header and body from generic ``Structure`` objects
field by field: for a tree walk (five messages a folder) that was about 0.65 ms of
Python a folder on the client's main thread, more than the server took to answer.
The few messages the bulk reads send — CREATE, QUERY_INFO (security), QUERY_DIRECTORY,
CLOSE — are packed here with :mod:`struct` instead (MS-SMB2 2.2.1.2, 2.2.13, 2.2.37,
2.2.33, 2.2.15; byte for byte what smbprotocol packs, as tests/unit/test_smb_wire.py
checks), and :func:`send` frames them as smbprotocol's ``Connection._send`` does:
message ids and credits taken under its sequence lock, each pending request registered
for its receive thread before a byte is sent, signed when the session signs, and the
whole compound encrypted with the session's key when the session or share encrypts.
Everything else — negotiation, sign-in, the receive thread, decryption — stays
smbprotocol's; the attributes used here are named in :data:`CONNECTION_ATTRIBUTES`.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM
from smbprotocol.connection import Ciphers, Dialects, Request
from smbprotocol.exceptions import SMBException

log = logging.getLogger(__name__)

# Commands (MS-SMB2 2.2.1.2) and header flags.
CREATE, CLOSE, QUERY_DIRECTORY, QUERY_INFO = 0x0005, 0x0006, 0x000E, 0x0010
FLAG_RELATED, FLAG_SIGNED, FLAG_DFS = 0x00000004, 0x00000008, 0x10000000
RELATED_FILE_ID = b"\xff" * 16
INFO_SECURITY = 0x03
FILE_DIRECTORY_INFORMATION = 0x01
IMPERSONATION = 2
SHARE_ALL = 0x7
FILE_ATTRIBUTE_DIRECTORY = 0x10
FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE = 0x1, 0x40
CONNECTION_ATTRIBUTES = (
    "sequence_lock",
    "sequence_window",
    "supports_multi_credit",
    "outstanding_requests",
    "transport",
    "_generate_signature",
    "_check_worker_running",
)

_HEADER = struct.Struct("<4sHHHHHHIIQIIQ16s")
_CREATE = struct.Struct("<HBBIQQIIIIIHHII")
_QUERY_INFO = struct.Struct("<HBBIHHIII16s")
_QUERY_DIRECTORY = struct.Struct("<HBBI16sHHI")
_CLOSE = struct.Struct("<HHI16s")
_TRANSFORM = struct.Struct("<16sIHHQ")  # nonce, original size, reserved, flags, session id
_GCM = frozenset({Ciphers.AES_128_GCM, Ciphers.AES_256_GCM})


@dataclass(frozen=True)
class Packed:
    """One request body, ready to put behind a header."""

    command: int
    body: bytes


def create(
    path: str, access: int, disposition: int = 1, *, directory: bool | None = True
) -> Packed:
    """CREATE of *path* (relative to the share, ``\\``-separated; "" is the share root)."""
    name = path.encode("utf-16-le")
    attributes = FILE_ATTRIBUTE_DIRECTORY if directory else 0
    options = {True: FILE_DIRECTORY_FILE, False: FILE_NON_DIRECTORY_FILE, None: 0}[directory]
    fixed = _CREATE.pack(
        57, 0, 0, IMPERSONATION, 0, 0, access, attributes, SHARE_ALL, disposition, options,
        120, len(name), 0, 0,
    )  # fmt: skip
    return Packed(CREATE, fixed + (name or b"\x00\x00"))


def query_security(info: int, output: int = 65536) -> Packed:
    """QUERY_INFO of the security descriptor parts *info* names, of the related file."""
    body = _QUERY_INFO.pack(41, INFO_SECURITY, 0, output, 0, 0, 0, info, 0, RELATED_FILE_ID)
    return Packed(QUERY_INFO, body)


def query_directory(output: int = 65536, pattern: str = "*") -> Packed:
    """QUERY_DIRECTORY (FileDirectoryInformation) of the related folder, continuing."""
    name = pattern.encode("utf-16-le")
    fixed = _QUERY_DIRECTORY.pack(
        33, FILE_DIRECTORY_INFORMATION, 0, 0, RELATED_FILE_ID, 96, len(name), output
    )
    return Packed(QUERY_DIRECTORY, fixed + name)


def close() -> Packed:
    return Packed(CLOSE, _CLOSE.pack(24, 0, 0, RELATED_FILE_ID))


class _Field:
    """What smbprotocol's receive thread and ``Request`` read of a sent header field."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def get_value(self) -> int:
        return self.value


class _SentHeader:
    """The fields of a sent header smbprotocol looks up again (message id, tree id, the
    'reserved' mark of its keep-alive echoes). Its body cannot be read back, which
    smbprotocol does only to resend a CREATE that met a symbolic link: replies to packed
    requests are received with ``resolve_symlinks=False`` (:func:`packed`), so a link
    on the way is a failed open (STATUS_STOPPED_ON_SYMLINK), never followed."""

    def __init__(self, message_id: int, tree_id: int) -> None:
        self._fields = {"message_id": message_id, "tree_id": tree_id, "reserved": 0}

    def __getitem__(self, key: str) -> _Field:
        return _Field(self._fields[key])


def packed(request: Any) -> bool:
    """Whether *request* was sent by :func:`send`."""
    return isinstance(request.message, _SentHeader)


def send(connection: Any, session: Any, tree_connect: Any, messages: Sequence[Packed]) -> list[Any]:
    """Send *messages* as one related compound; the pending requests, in order."""
    charge = 1 if connection.supports_multi_credit else 0
    with connection.sequence_lock:
        first = connection.sequence_window["low"]
        available = connection.sequence_window["high"] - first
        if charge * len(messages) > available:
            raise SMBException(f"{len(messages)} requests need credits, {available} are left")
        connection.sequence_window["low"] = first + len(messages)
    signing_key = session.signing_key if session.signing_required else None
    flags = (FLAG_DFS if tree_connect.is_dfs_share else 0) | (FLAG_SIGNED if signing_key else 0)
    frames, requests = [], []
    for index, message in enumerate(messages):
        message_id = first + index
        last = index == len(messages) - 1
        padding = b"" if last else b"\x00" * (-(64 + len(message.body)) % 8)
        following = 0 if last else 64 + len(message.body) + len(padding)
        header = _HEADER.pack(
            b"\xfeSMB", 64, charge, 0, 0, message.command, charge,
            flags | (FLAG_RELATED if index else 0), following, message_id, 0,
            tree_connect.tree_connect_id, session.session_id, bytes(16),
        )  # fmt: skip
        frame = header + message.body + padding
        if signing_key:
            signature = connection._generate_signature(
                frame, signing_key, message_id, False, message.command
            )
            frame = frame[:48] + signature + frame[64:]
        request = Request(_SentHeader(message_id, tree_connect.tree_connect_id), Packed, connection)
        request.session_id = session.session_id
        connection.outstanding_requests[message_id] = request
        frames.append(frame)
        requests.append(request)
    requests[0].related_ids = [first + i for i in range(1, len(messages))]
    data = b"".join(frames)
    if session.encrypt_data or tree_connect.encrypt_data:
        data = encrypt(connection, session, data)
    connection._check_worker_running()
    connection.transport.send(data)
    return requests


def encrypt(connection: Any, session: Any, data: bytes) -> bytes:
    """*data* sealed in an SMB2 TRANSFORM_HEADER with the session's key (MS-SMB2 3.1.4.3),
    as smbprotocol's ``Connection._encrypt`` seals it, without building a Structure."""
    gcm = connection.dialect >= Dialects.SMB_3_1_1 and connection.cipher_id in _GCM
    nonce = os.urandom(12 if gcm else 11)
    authenticated = _TRANSFORM.pack(nonce.ljust(16, b"\x00"), len(data), 0, 1, session.session_id)
    cipher = AESGCM(session.encryption_key) if gcm else AESCCM(session.encryption_key)
    sealed = cipher.encrypt(nonce, data, authenticated)
    return b"\xfdSMB" + sealed[-16:] + authenticated + sealed[:-16]
