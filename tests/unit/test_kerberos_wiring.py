"""Kerberos credentials without a KDC: the inventory's checks, the process environment
pyspnego reads, the WinRM clients' sign-in arguments (FAKE WSMan and runspace pool:
no Windows host runs here), and the sealed socket's framing (FAKE GSS context)."""

from __future__ import annotations

import os
import socket
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adsuite.connectors import kerberos
from adsuite.connectors.credentials import Secret
from adsuite.connectors.kerberos import Ticket
from adsuite.connectors.ldap_gssapi import SealedSocket  # needs the kerberos extra
from adsuite.connectors.winrm import WinRmError, open_session
from adsuite.connectors.winrm import psrp as psrp_module
from adsuite.connectors.winrm.model import WinRmTarget
from adsuite.errors import InputError
from adsuite.runtime.inventory import load_inventory

TICKET = Ticket("MEMORY:adsuite-unit", "svc-adsuite@GROUP.EXAMPLE.COM")

INVENTORY = """\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: DC=group,DC=example,DC=com
    netbios: GROUP
    credential: svc
    dcs:
      dc1: {{ldap_url: "ldaps://dc1.group.example.com:636"}}
credentials:
  svc:
    kerberos:
{kerberos}
"""


def inventory_with(tmp_path: Path, kerberos_lines: str) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY.format(kerberos=kerberos_lines), encoding="utf-8")
    return path


def private_keytab(tmp_path: Path, mode: int = 0o600) -> Path:
    keytab = tmp_path / "svc.keytab"
    keytab.write_bytes(b"\x05\x02")
    keytab.chmod(mode)
    return keytab


def load_error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    return f"{Path(caught.value.file or '').name}:{caught.value.line}: {caught.value.message}"


def test_a_keytab_credential_signs_in_as_its_principal(tmp_path: Path) -> None:
    keytab = private_keytab(tmp_path)
    path = inventory_with(
        tmp_path, "      keytab: svc.keytab\n      principal: svc-adsuite@GROUP.EXAMPLE.COM"
    )
    credential = load_inventory(path).credentials["svc"]
    assert credential.kerberos is not None and credential.kerberos.keytab == keytab
    assert credential.username == "svc-adsuite@GROUP.EXAMPLE.COM"
    assert credential.secret_file is None


def test_a_keytab_others_may_read_is_refused(tmp_path: Path) -> None:
    keytab = private_keytab(tmp_path, 0o640)
    path = inventory_with(tmp_path, f"      keytab: {keytab}\n      principal: a@B.C")
    assert load_error(path) == (
        f"inventory.yml:12: {keytab} is readable by others (mode 640); chmod 600 it"
    )


def test_a_missing_keytab_is_refused(tmp_path: Path) -> None:
    path = inventory_with(tmp_path, "      keytab: gone.keytab\n      principal: a@B.C")
    assert load_error(path) == f"inventory.yml:12: {tmp_path / 'gone.keytab'} does not exist"


def test_a_keytab_needs_its_principal(tmp_path: Path) -> None:
    private_keytab(tmp_path)
    message = load_error(inventory_with(tmp_path, "      keytab: svc.keytab"))
    assert message.endswith("kerberos: a keytab needs the principal to sign in as (NAME@REALM)")


def test_a_keytab_and_a_ccache_together_are_refused(tmp_path: Path) -> None:
    keytab = private_keytab(tmp_path)
    lines = f"      keytab: {keytab}\n      principal: a@B.C\n      ccache: {keytab}"
    message = load_error(inventory_with(tmp_path, lines))
    assert message.endswith("kerberos needs exactly one of keytab (with principal) or ccache")


def test_the_environment_points_at_the_ticket_only_inside_the_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KRB5CCNAME", "FILE:/tmp/krb5cc_user")
    monkeypatch.delenv("KRB5_CONFIG", raising=False)
    ticket = Ticket("MEMORY:adsuite-x", "a@B.C", (Path("/lab/overlay"), Path("/lab/krb5.conf")))
    with kerberos.environment(ticket):
        assert os.environ["KRB5CCNAME"] == "MEMORY:adsuite-x"
        assert os.environ["KRB5_CONFIG"] == f"/lab/overlay:/lab/krb5.conf:{kerberos.DEFAULTS}"
    assert os.environ["KRB5CCNAME"] == "FILE:/tmp/krb5cc_user"
    assert "KRB5_CONFIG" not in os.environ


def test_adsuites_krb5_defaults_come_after_the_operators_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MIT krb5 takes a relation's first value: the operator's files decide, adsuite's
    TCP default only fills in."""
    monkeypatch.delenv("KRB5_CONFIG", raising=False)
    assert kerberos.config_path() == f"/etc/krb5.conf:{kerberos.DEFAULTS}"
    monkeypatch.setenv("KRB5_CONFIG", "/site/krb5.conf")
    assert kerberos.config_path() == f"/site/krb5.conf:{kerberos.DEFAULTS}"
    ticket = Ticket("MEMORY:adsuite-y", "a@B.C")
    with kerberos.environment(ticket), kerberos.environment(ticket):  # nested: once
        assert os.environ["KRB5_CONFIG"] == f"/site/krb5.conf:{kerberos.DEFAULTS}"
    assert "udp_preference_limit = 1" in kerberos.DEFAULTS.read_text(encoding="utf-8")


@dataclass
class Seen:
    wsman: dict[str, Any]
    cache_at_open: str | None = None


def fake_psrp(monkeypatch: pytest.MonkeyPatch) -> Seen:
    """FAKE WSMan and RunspacePool that record how pypsrp would be asked to sign in."""
    seen = Seen({})

    class FakeWSMan:
        def __init__(self, server: str, **kwargs: Any) -> None:
            seen.wsman = kwargs

        def close(self) -> None:
            pass

    class FakePool:
        def __init__(self, wsman: FakeWSMan) -> None:
            pass

        def open(self) -> None:
            seen.cache_at_open = os.environ.get("KRB5CCNAME")

        def close(self) -> None:
            pass

    monkeypatch.setattr(psrp_module, "WSMan", FakeWSMan)
    monkeypatch.setattr(psrp_module, "RunspacePool", FakePool)
    return seen


def target(password: Secret | Ticket, auth: Any = "kerberos") -> WinRmTarget:
    return WinRmTarget(
        "fs1", "https://fs1.group.example.com:5986/wsman", "svc", password, auth=auth, retries=0
    )


def test_winrm_with_a_ticket_signs_in_from_its_private_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = fake_psrp(monkeypatch)
    monkeypatch.setenv("KRB5CCNAME", "FILE:/tmp/krb5cc_user")
    psrp_module.PsrpSession(target(TICKET))
    assert (seen.wsman["username"], seen.wsman["password"]) == (None, None)
    assert seen.wsman["auth"] == "kerberos"
    assert seen.cache_at_open == TICKET.ccache
    assert os.environ["KRB5CCNAME"] == "FILE:/tmp/krb5cc_user"


def test_winrm_with_a_password_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = fake_psrp(monkeypatch)
    psrp_module.PsrpSession(target(Secret("pw"), auth="ntlm"))
    assert (seen.wsman["username"], seen.wsman["password"]) == ("svc", "pw")


def test_a_ticket_with_ntlm_auth_is_one_line() -> None:
    with pytest.raises(WinRmError) as raised:
        open_session(target(TICKET, auth="ntlm"))
    assert str(raised.value) == (
        "fs1: a Kerberos credential signs in with auth: kerberos only, not ntlm"
    )


class FakeGssContext:
    """FAKE: 'wraps' by reversing the bytes and prefixing a marker; marks it encrypted."""

    @dataclass
    class Wrapped:
        message: bytes
        encrypted: bool = True

    def wrap(self, data: bytes, encrypt: bool) -> FakeGssContext.Wrapped:
        return self.Wrapped(b"W" + data[::-1], encrypt)

    def unwrap(self, data: bytes) -> FakeGssContext.Wrapped:
        assert data[:1] == b"W"
        return self.Wrapped(data[1:][::-1])


def test_sealed_socket_frames_every_chunk_and_reads_them_back() -> None:
    ours, theirs = socket.socketpair()
    sealed = SealedSocket(ours, FakeGssContext(), max_out=2048)  # type: ignore[arg-type]
    message = bytes(range(256)) * 20  # 5120 octets: three frames of at most 1920
    sealed.sendall(message)
    frames = []
    received = b""
    expected = 3 * 4 + 2 * (1 + 1920) + (1 + 1280)  # length prefixes, marker, data
    while len(received) < expected:
        received += theirs.recv(65536)
    at = 0
    while at < len(received):
        (length,) = struct.unpack(">I", received[at : at + 4])
        frames.append(received[at + 4 : at + 4 + length])
        at += 4 + length
    assert [len(f) - 1 for f in frames] == [1920, 1920, 1280]
    assert b"".join(FakeGssContext().unwrap(f).message for f in frames) == message
    threading.Thread(target=theirs.sendall, args=(received,)).start()
    got = b""
    while len(got) < len(message):
        got += sealed.recv(1000)
    assert got == message
    theirs.close()
    assert sealed.recv(10) == b""
    ours.close()
