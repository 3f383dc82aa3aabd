"""SMB file servers: one encrypted session per host, one tree connect per share, and the
security descriptors of folders and files read and written with smbprotocol's
low-level messages.

- :class:`SmbHost` is a signed-in session (SMB 3 with encryption required, which also
  covers signing; a guest or SMB 2 fallback is refused). :meth:`SmbHost.tree` connects a
  share once and caches it.
- :class:`Tree` sends related compound requests (CREATE + ... + CLOSE in one message)
  and pipelines them: :meth:`Tree.send` returns at once, :meth:`Tree.receive` collects.
- ``query_security`` / ``set_security`` / ``create_folder`` are the single-path calls;
  ``adsuite.connectors.smb_walk`` reads many paths and whole folder trees in bulk.

Other file operations (SYSVOL files of GPOs) belong in a sibling module built on
:meth:`SmbHost.tree` and :meth:`Tree.compound` with the request builders below.
Secrets never reach a log line or an exception message.
"""

from __future__ import annotations

import logging
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from smbprotocol.connection import Connection
from smbprotocol.exceptions import SMBException, SMBResponseException
from smbprotocol.file_info import FileAttributes, InfoType
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    ImpersonationLevel,
    ShareAccess,
    SMB2CloseRequest,
    SMB2CreateRequest,
    SMB2QueryInfoRequest,
    SMB2SetInfoRequest,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect
from spnego.exceptions import SpnegoError

from adsuite.connectors import endpoints, kerberos, smb_wire
from adsuite.connectors.credentials import Login
from adsuite.connectors.kerberos import Ticket
from adsuite.errors import AdsuiteError, ConnectionFailed

log = logging.getLogger(__name__)

# Access rights (MS-SMB2 2.2.13.1) and security information flags (MS-DTYP 2.4.7).
FILE_LIST_DIRECTORY = 0x00000001
READ_CONTROL = 0x00020000
WRITE_DAC = 0x00040000
WRITE_OWNER = 0x00080000
SYNCHRONIZE = 0x00100000
ACCESS_SYSTEM_SECURITY = 0x01000000
OWNER_INFO, GROUP_INFO, DACL_INFO, SACL_INFO = 0x1, 0x2, 0x4, 0x8
ALL_INFO = OWNER_INFO | GROUP_INFO | DACL_INFO | SACL_INFO

STATUS_NO_MORE_FILES = 0x80000006
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_NAME_NOT_FOUND = 0xC0000034
STATUS_NAME_COLLISION = 0xC0000035
STATUS_PATH_NOT_FOUND = 0xC000003A
STATUS_PRIVILEGE_NOT_HELD = 0xC0000061
NOT_FOUND = frozenset({STATUS_NAME_NOT_FOUND, STATUS_PATH_NOT_FOUND})
_STATUS_WORDS = {
    STATUS_ACCESS_DENIED: "access denied",
    STATUS_NAME_NOT_FOUND: "no such file or folder",
    STATUS_PATH_NOT_FOUND: "no such path",
    STATUS_NAME_COLLISION: "already exists",
    STATUS_PRIVILEGE_NOT_HELD: "a required privilege is not held",
}
SECURITY_PRIVILEGE = "SeSecurityPrivilege ('Manage auditing and security log')"
FILE_CREATED = 2  # CreateAction of a CREATE response
RELATED_FILE_ID = b"\xff" * 16  # "the file the CREATE before me opened" (MS-SMB2 3.2.4.1.4)
MAX_SD = 65536
CREDITS_WANTED = 512
RECEIVE_TIMEOUT = 120
_SHARE_ALL = (
    ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE
)


class FileServerError(AdsuiteError):
    """A file server refused an operation or could not be reached."""

    kind = "file_server"


@dataclass(frozen=True)
class SmbEndpoint:
    address: str
    port: int
    username: str
    server_name: str | None = None  # the DNS name Kerberos asks a ticket for (cifs/<name>)


@dataclass(frozen=True)
class Reply:
    """One response of a compound: NTSTATUS and the body after the 64-byte header."""

    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status == 0

    def buffer(self) -> bytes:
        """The variable part of a QUERY_INFO or QUERY_DIRECTORY response."""
        offset, length = struct.unpack_from("<HI", self.body, 2)
        start = offset - 64
        return self.body[start : start + length]


def words(status: int) -> str:
    return _STATUS_WORDS.get(status, f"NTSTATUS {status:#010x}")


class Tree:
    """A connected share of one host; sends compounds and pipelines them."""

    def __init__(self, host: SmbHost, share: str, connect: TreeConnect) -> None:
        self.host = host
        self.share = share
        self._tc = connect

    @property
    def unc(self) -> str:
        return f"\\\\{self.host.endpoint.address}\\{self.share}"

    def credits(self) -> int:
        window = self.host.connection.sequence_window
        return int(window["high"] - window["low"])

    def send(self, messages: Sequence[Any]) -> list[Any]:
        """Send *messages* as one related compound; returns the pending requests."""
        connection = self.host.connection
        if messages and all(isinstance(m, smb_wire.Packed) for m in messages):
            return smb_wire.send(connection, self.host.session, self._tc, messages)
        session_id = self.host.session.session_id
        requests: list[Any] = connection.send_compound(
            list(messages), session_id, self._tc.tree_connect_id, related=len(messages) > 1
        )
        return requests

    def receive(self, requests: Sequence[Any]) -> list[Reply]:
        """Every reply of a compound, failures included (each must be collected)."""
        replies = []
        for request in requests:
            try:
                header = self.host.connection.receive(
                    request, timeout=RECEIVE_TIMEOUT, resolve_symlinks=not smb_wire.packed(request)
                )
            except SMBResponseException as error:
                replies.append(Reply(int(error.status), b""))
            except SMBException as error:
                raise FileServerError(f"{self.unc}: {type(error).__name__}") from None
            else:
                replies.append(Reply(0, bytes(header["data"].get_value())))
        return replies

    def compound(self, messages: Sequence[Any]) -> list[Reply]:
        return self.receive(self.send(messages))

    def disconnect(self) -> None:
        self._tc.disconnect()


class SmbHost:
    """A signed-in SMB 3 session to one file server. Use :meth:`connect`."""

    def __init__(self, connection: Connection, session: Session, endpoint: SmbEndpoint) -> None:
        self.connection = connection
        self.session = session
        self.endpoint = endpoint
        self._trees: dict[str, Tree] = {}

    @classmethod
    def connect(cls, endpoint: SmbEndpoint, password: Login, timeout: int = 30) -> SmbHost:
        where = f"\\\\{endpoint.address}:{endpoint.port}"
        connection = Connection(uuid.uuid4(), endpoint.address, endpoint.port)
        try:
            connection.connect(timeout=timeout)
        except (SMBException, OSError, ValueError) as error:
            raise ConnectionFailed(f"cannot reach {where}: {type(error).__name__}") from None
        # the server logs this session's logon with this end's address:port (admin usage)
        endpoints.record(endpoints.local_endpoint(getattr(connection.transport, "_sock", None)))
        session = _session(connection, endpoint, password)
        try:
            with kerberos.environment(password if isinstance(password, Ticket) else None):
                session.connect()
        except (SMBException, SpnegoError, OSError, ValueError, ImportError) as error:
            connection.disconnect()
            raise ConnectionFailed(
                f"SMB sign-in to {where} as {endpoint.username} refused ({_why(error)})",
                hint="check the credential, and that the server offers SMB 3 with encryption",
            ) from None
        host = cls(connection, session, endpoint)
        host._ask_for_credits()
        log.info(
            "SMB session to %s as %s (dialect %#x)", where, endpoint.username, connection.dialect
        )
        return host

    def _ask_for_credits(self) -> None:
        """More credits, so that many compounds can be in flight at once."""
        try:
            self.connection.echo(sid=self.session.session_id, credit_request=CREDITS_WANTED)
        except SMBException as error:  # a server that grants none still works, just slower
            log.debug("echo for credits failed: %s", type(error).__name__)

    def tree(self, share: str) -> Tree:
        """The share, connected on first use and kept for the session."""
        key = share.lower()
        if key not in self._trees:
            connect = TreeConnect(self.session, f"\\\\{self.endpoint.address}\\{share}")
            try:
                connect.connect()
            except SMBException as error:
                raise FileServerError(
                    f"\\\\{self.endpoint.address}\\{share}: cannot connect the share "
                    f"({type(error).__name__})"
                ) from None
            self._trees[key] = Tree(self, share, connect)
        return self._trees[key]

    def close(self) -> None:
        for tree in self._trees.values():
            try:
                tree.disconnect()
            except SMBException as error:
                log.debug("tree disconnect failed: %s", type(error).__name__)
        self._trees.clear()
        self.connection.disconnect()


def _session(connection: Connection, endpoint: SmbEndpoint, login: Login) -> Session:
    """An SMB 3 session that requires encryption, signed in with a password or, with a
    Kerberos ticket, through pyspnego from the ticket's cache (no password at all)."""
    if isinstance(login, Ticket):
        return Session(
            connection,
            require_encryption=True,
            auth_protocol="kerberos",
            hostname_override=endpoint.server_name or endpoint.address,
        )
    return Session(connection, endpoint.username, login.reveal(), require_encryption=True)


def _why(error: BaseException) -> str:
    """The error's kind; for Kerberos also its first line, which names principals only."""
    if isinstance(error, SpnegoError | ImportError):
        return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"
    return type(error).__name__


# --- request builders ---------------------------------------------------------------


def create_request(
    path: str,
    access: int,
    disposition: int = CreateDisposition.FILE_OPEN,
    *,
    directory: bool | None = True,
) -> SMB2CreateRequest:
    """CREATE of *path* (relative to the share, ``\\``-separated; "" is the share root)."""
    request = SMB2CreateRequest()
    request["impersonation_level"] = ImpersonationLevel.Impersonation
    request["desired_access"] = access
    request["file_attributes"] = FileAttributes.FILE_ATTRIBUTE_DIRECTORY if directory else 0
    request["share_access"] = _SHARE_ALL
    request["create_disposition"] = disposition
    options = {
        True: CreateOptions.FILE_DIRECTORY_FILE,
        False: CreateOptions.FILE_NON_DIRECTORY_FILE,
    }
    request["create_options"] = options.get(directory, 0) if directory is not None else 0
    request["buffer_path"] = path.encode("utf-16-le") if path else b"\x00\x00"
    return request


def close_request() -> SMB2CloseRequest:
    request = SMB2CloseRequest()
    request["file_id"] = RELATED_FILE_ID
    return request


def query_security_request(info: int) -> SMB2QueryInfoRequest:
    request = SMB2QueryInfoRequest()
    request["info_type"] = InfoType.SMB2_0_INFO_SECURITY
    request["output_buffer_length"] = MAX_SD
    request["additional_information"] = info
    request["file_id"] = RELATED_FILE_ID
    return request


def set_security_request(info: int, descriptor: bytes) -> SMB2SetInfoRequest:
    request = SMB2SetInfoRequest()
    request["info_type"] = InfoType.SMB2_0_INFO_SECURITY
    request["file_info_class"] = 0
    request["additional_information"] = info
    request["file_id"] = RELATED_FILE_ID
    request["buffer"] = descriptor
    return request


def access_for_reading(info: int) -> int:
    return READ_CONTROL | SYNCHRONIZE | (ACCESS_SYSTEM_SECURITY if info & SACL_INFO else 0)


def access_for_writing(info: int) -> int:
    access = READ_CONTROL | SYNCHRONIZE
    access |= WRITE_OWNER if info & (OWNER_INFO | GROUP_INFO) else 0
    # Setting a SACL takes WRITE_DAC as well as ACCESS_SYSTEM_SECURITY: Windows refuses
    # it otherwise and Samba does the same (its smbtorture3 SMB2-SACL test), so a
    # SACL-only change of an existing folder failed with "access denied".
    access |= WRITE_DAC if info & (DACL_INFO | SACL_INFO) else 0
    return access | (ACCESS_SYSTEM_SECURITY if info & SACL_INFO else 0)


# --- single-path operations ------------------------------------------------------------


def query_security(tree: Tree, path: str, info: int = ALL_INFO) -> bytes | None:
    """The self-relative security descriptor of *path*, or None if it does not exist."""
    opened, queried, _ = tree.compound(
        [
            create_request(path, access_for_reading(info), directory=None),
            query_security_request(info),
            close_request(),
        ]
    )
    if opened.status in NOT_FOUND:
        return None
    _raise_unless_ok(tree, path, "read the security of", opened, queried, info=info)
    return queried.buffer()


def set_security(tree: Tree, path: str, descriptor: bytes, info: int) -> None:
    """Write the parts of *descriptor* that *info* names (owner 1, DACL 4, SACL 8)."""
    replies = tree.compound(
        [
            create_request(path, access_for_writing(info), directory=None),
            set_security_request(info, descriptor),
            close_request(),
        ]
    )
    _raise_unless_ok(tree, path, "write the security of", *replies[:2], info=info)


def create_folder(tree: Tree, path: str, *, parents: bool = True) -> bool:
    """Create the folder *path* (and missing parents); False if it already existed."""
    segments = [s for s in path.split("\\") if s]
    chain = ["\\".join(segments[: i + 1]) for i in range(len(segments))]
    created = False
    for folder in chain if parents else chain[-1:]:
        opened, _ = tree.compound(
            [
                create_request(folder, SYNCHRONIZE | READ_CONTROL, CreateDisposition.FILE_OPEN_IF),
                close_request(),
            ]
        )
        _raise_unless_ok(tree, folder, "create the folder", opened)
        created = struct.unpack_from("<I", opened.body, 4)[0] == FILE_CREATED
    log.info("ensured folder %s\\%s", tree.unc, path)
    return created


def _raise_unless_ok(tree: Tree, path: str, what: str, *replies: Reply, info: int = 0) -> None:
    for reply in replies:
        if not reply.ok:
            raise security_error(tree, path, what, reply.status, info)


def security_error(tree: Tree, path: str, what: str, status: int, info: int) -> FileServerError:
    """The error for a failed open or security call; one line naming the missing right
    when a SACL was asked for without the SeSecurityPrivilege (Windows and Samba answer
    STATUS_PRIVILEGE_NOT_HELD, before any ACL of the folder is looked at)."""
    if info & SACL_INFO and status == STATUS_PRIVILEGE_NOT_HELD:
        doing = "setting" if what.startswith("write") else "reading"
        endpoint = tree.host.endpoint
        return FileServerError(
            f"{doing} the audit ACL (SACL) of {tree.unc}\\{path} needs the "
            f"{SECURITY_PRIVILEGE} for {endpoint.username} on {endpoint.address}"
        )
    return FileServerError(f"cannot {what} {tree.unc}\\{path}: {words(status)}")
