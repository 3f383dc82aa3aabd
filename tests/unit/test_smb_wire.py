"""The packed bulk-read requests are byte for byte what smbprotocol's Structures pack,
and smb_wire.send frames a compound as smbprotocol's Connection._send does."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from smbprotocol.connection import Ciphers, Connection, Dialects, SMB2TransformHeader

from adsuite.connectors import smb, smb_walk, smb_wire

INFO = smb.OWNER_INFO | smb.GROUP_INFO | smb.DACL_INFO


@pytest.mark.parametrize("path", ["", "Dept", "Dept\\Sub folder\\ü€"])
@pytest.mark.parametrize("directory", [True, False, None])
@pytest.mark.parametrize("disposition", [1, 3])
def test_create_packs_as_smbprotocol(path: str, directory: bool | None, disposition: int) -> None:
    access = smb.access_for_reading(smb.ALL_INFO) | smb.FILE_LIST_DIRECTORY
    theirs = smb.create_request(path, access, disposition, directory=directory).pack()
    assert smb_wire.create(path, access, disposition, directory=directory).body == theirs


@pytest.mark.parametrize("info", [smb.DACL_INFO, INFO, smb.ALL_INFO])
def test_query_security_packs_as_smbprotocol(info: int) -> None:
    assert smb_wire.query_security(info).body == smb.query_security_request(info).pack()


def test_query_directory_and_close_pack_as_smbprotocol() -> None:
    assert smb_wire.query_directory().body == smb_walk.query_directory_request().pack()
    assert smb_wire.close().body == smb.close_request().pack()


class _Transport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)


class _Session:
    session_id = 0x1122334455
    signing_required = False
    signing_key = None
    encrypt_data = False


class _TreeConnect:
    tree_connect_id = 7
    is_dfs_share = False
    encrypt_data = False


def _connection() -> Any:
    """A real smbprotocol Connection object, never connected: its framing state only."""
    connection = Connection.__new__(Connection)
    connection.sequence_lock = threading.Lock()
    connection.sequence_window = {"low": 40, "high": 100}
    connection.supports_multi_credit = True
    connection.outstanding_requests = {}
    connection.transport = _Transport()
    connection._t_exc = None
    connection._check_worker_running = lambda: None
    connection.session_table = {}
    return connection


@pytest.mark.parametrize("signed", [False, True])
def test_send_frames_a_compound_as_smbprotocol_does(signed: bool) -> None:
    path = "Dept\\Sub"
    ours_conn, theirs_conn = _connection(), _connection()
    session = _Session()
    if signed:  # SMB 3.1.1 without a negotiated algorithm signs with AES-CMAC
        session.signing_required, session.signing_key = True, bytes(range(16))  # type: ignore[assignment]
        for connection in (ours_conn, theirs_conn):
            connection.dialect, connection.signing_algorithm_id = 0x311, None
    packed = [smb_wire.create(path, 0x20081), smb_wire.query_security(INFO), smb_wire.close()]
    requests = smb_wire.send(ours_conn, session, _TreeConnect(), packed)
    theirs_conn.session_table = {session.session_id: session}
    session.tree_connect_table = {7: _TreeConnect()}  # type: ignore[attr-defined]
    messages = [
        smb.create_request(path, 0x20081),
        smb.query_security_request(INFO),
        smb.close_request(),
    ]
    theirs = theirs_conn.send_compound(messages, session.session_id, 7, related=True)
    assert ours_conn.transport.sent == theirs_conn.transport.sent
    assert (ours_conn.transport.sent[0][48:64] != bytes(16)) is signed
    assert ours_conn.sequence_window == theirs_conn.sequence_window == {"low": 43, "high": 100}
    assert sorted(ours_conn.outstanding_requests) == [40, 41, 42]
    assert [r.message["message_id"].get_value() for r in requests] == [40, 41, 42]
    assert requests[0].related_ids == theirs[0].related_ids == [41, 42]
    assert all(smb_wire.packed(r) for r in requests)
    assert not any(smb_wire.packed(r) for r in theirs)


def test_send_refuses_when_credits_run_out() -> None:
    connection = _connection()
    connection.sequence_window = {"low": 40, "high": 42}
    with pytest.raises(smb_wire.SMBException):
        smb_wire.send(connection, _Session(), _TreeConnect(), [smb_wire.close()] * 3)
    assert connection.sequence_window["low"] == 40 and not connection.transport.sent


@pytest.mark.parametrize(
    ("dialect", "cipher"),
    [
        (Dialects.SMB_3_1_1, Ciphers.AES_128_GCM),
        (Dialects.SMB_3_1_1, Ciphers.AES_256_GCM),
        (Dialects.SMB_3_1_1, Ciphers.AES_128_CCM),
        (Dialects.SMB_3_0_2, None),
    ],
)
def test_encrypt_seals_as_smbprotocol_and_it_opens(
    dialect: int, cipher: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection, session = _connection(), _Session()
    connection.dialect, connection.cipher_id = dialect, cipher
    key = bytes(range(32)) if cipher == Ciphers.AES_256_GCM else bytes(range(16))
    session.encryption_key = session.decryption_key = key  # type: ignore[attr-defined]
    connection.session_table = {session.session_id: session}
    monkeypatch.setattr("os.urandom", lambda n: bytes(range(100, 100 + n)))
    plain = b"\xfeSMB" + bytes(range(200))
    ours = smb_wire.encrypt(connection, session, plain)
    assert ours == connection._encrypt(plain, session).pack()
    received = SMB2TransformHeader()
    received.unpack(ours)
    assert connection._decrypt(received) == plain
