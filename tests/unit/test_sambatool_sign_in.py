"""How samba-tool is signed in: a password through a pipe with ``-U``, or a Kerberos
ticket through ``--use-kerberos=required`` and ``KRB5CCNAME`` — never a secret in argv.

The samba-tool here is a stand-in script (named as a fake) that writes what it was
given; samba-tool against the lab DC is tests/integration/test_kerberos.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adsuite.connectors import kerberos
from adsuite.connectors.credentials import Secret
from adsuite.connectors.kerberos import Ticket
from adsuite.connectors.kerberos_ccache import private_ccache
from adsuite.recovery import sambatool
from adsuite.runtime import logins

FAKE = """#!/usr/bin/env python3
import json, os, sys
fd = os.environ.get("PASSWD_FD")
password = os.read(int(fd), 100).decode() if fd else None
print(json.dumps({"argv": sys.argv[1:], "ccache": os.environ.get("KRB5CCNAME"),
                  "config": os.environ.get("KRB5_CONFIG"), "got_password": password}))
"""


@pytest.fixture
def fake_samba_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tool = tmp_path / "fake-samba-tool"
    tool.write_text(FAKE, encoding="utf-8")
    tool.chmod(0o700)
    monkeypatch.setattr(sambatool, "find_tool", lambda name: str(tool))
    monkeypatch.setenv("KRB5CCNAME", "FILE:/tmp/krb5cc_the_users_own")
    return tool


def test_a_ccache_ticket_signs_samba_tool_in_with_kerberos_and_no_username(
    fake_samba_tool: Path, tmp_path: Path
) -> None:
    ticket = Ticket(f"FILE:{tmp_path}/cc", "svc@GROUP.EXAMPLE.COM", (Path("/lab/krb5.conf"),))
    seen = json.loads(sambatool.run(["domain", "backup"], password=ticket, username="svc"))
    assert seen["argv"] == ["domain", "backup", "--use-kerberos=required"]
    assert seen["ccache"] == f"FILE:{tmp_path}/cc"
    assert seen["config"] == f"/lab/krb5.conf:{kerberos.DEFAULTS}"
    assert seen["got_password"] is None


def test_a_password_goes_through_the_pipe_with_the_username_and_no_ticket(
    fake_samba_tool: Path,
) -> None:
    secret = Secret("Very-secret-9")
    output = sambatool.run(["domain", "backup"], password=secret, username="admin@G.E")
    assert "Very-secret-9" not in output  # samba-tool's echo of it is masked
    seen = json.loads(output)
    assert seen["argv"] == ["domain", "backup", "-U", "admin@G.E"]
    assert seen["got_password"] == "***"
    assert seen["ccache"] is None  # the user's own cache is not handed on


def test_a_file_ticket_is_handed_on_as_it_is(tmp_path: Path) -> None:
    ticket = Ticket(f"FILE:{tmp_path}/cc", "svc@G.E")
    with private_ccache(ticket) as env:
        assert env["KRB5CCNAME"] == f"FILE:{tmp_path}/cc"
    assert not (tmp_path / "cc").exists()  # nothing was written into it


def test_a_ccache_credential_binds_as_the_principal_the_cache_holds() -> None:
    read = Ticket("FILE:/tmp/cc", "alice@GROUP.EXAMPLE.COM")
    assert logins.identity(read, "ccache /tmp/cc") == "alice@GROUP.EXAMPLE.COM"
    assert logins.identity(Secret("x"), "Administrator@G.E") == "Administrator@G.E"
