"""Folder security over WinRM — file_acl's local paths — with the real pypsrp and
pywinrm clients against a FAKE endpoint, or a live Windows host (see conftest.py).

Against the fake, the three folder scripts are answered by canned twins acting on an
in-memory model of a host's folders (tests/fakes/fake_windows_folders.py), so what is
set can be read back: these tests prove the parameters sent (values as data, many
folders per round trip, a tree one round trip per level), and the parsing of what comes
back, through both clients. They prove nothing about what Get-Acl, Set-Acl or NTFS do:
the live variants run the real scripts on a real host (set ADSUITE_TEST_WINRM_HOST and
friends, and optionally ADSUITE_TEST_WINRM_FOLDER, a folder the account may write under;
default C:\\Windows\\Temp\\adsuite-tests) and are reported skipped without one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from conftest import WinRmHost
from fakes.fake_windows_folders import FakeFolders
from fakes.fake_winrm_canned import CannedError, CannedScript

from adsuite.connectors.winrm import WinRmScriptFailed, WinRmSessions
from adsuite.formats import sddl
from adsuite.formats import security_descriptor as sdlib
from adsuite.resources.file_acl import winrm_io as foldersio
from adsuite.resources.file_acl.requests import DACL, OWNER, SACL
from adsuite.templates import powershell_script

LIVE_FOLDER = os.environ.get("ADSUITE_TEST_WINRM_FOLDER", "C:\\Windows\\Temp\\adsuite-tests")
WANTED = "O:BAD:PAI(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;AU)S:(AU;OICISAFA;SDWDWO;;;WD)"


@dataclass
class Place:
    host: foldersio.FolderHost
    root: str  # a folder of this test's own (not created yet)
    model: FakeFolders | None  # the fake's folders; None live


@pytest.fixture
def place(winrm_host: WinRmHost) -> Iterator[Place]:
    model = FakeFolders() if winrm_host.fake is not None else None
    for name, twin in (model.twins() if model else {}).items():
        winrm_host.answer(name, twin)
    sessions = WinRmSessions(lambda host: winrm_host.target)
    base = LIVE_FOLDER if model is None else "D:\\adsuite-tests"
    try:
        yield Place(
            foldersio.FolderHost(sessions, "fs01"), f"{base}\\{uuid.uuid4().hex[:8]}", model
        )
    finally:
        sessions.close()


def explicit(acl: sdlib.Acl | None) -> set[tuple[int, int, int, str]]:
    return {
        (a.ace_type, a.flags, a.mask, a.sid)
        for a in (acl.aces if acl else ())
        if not a.is_inherited
    }


def test_a_folder_is_created_read_and_set_and_reads_back_as_set(
    place: Place, winrm_host: WinRmHost
) -> None:
    path = f"{place.root}\\Finance"
    assert place.host.create(path) is True
    assert place.host.create(path) is False, "an existing folder is left as it is"
    found = place.host.read([path, f"{place.root}\\Missing"])
    assert found[path].exists and found[path].descriptor
    assert not found[f"{place.root}\\Missing"].exists

    wanted = sddl.from_sddl(WANTED)
    place.host.set(path, sdlib.to_bytes(wanted), OWNER | DACL | SACL)
    raw = place.host.read([path])[path].descriptor
    assert raw is not None
    after = sdlib.parse(raw)
    assert after.owner == "S-1-5-32-544"
    assert after.control & sdlib.Control.SE_DACL_PROTECTED
    assert explicit(after.dacl) == explicit(wanted.dacl)
    assert explicit(after.sacl) == explicit(wanted.sacl)
    if winrm_host.fake is not None:
        (call,) = winrm_host.fake.calls_of("set_folder_security")
        sent = {"Path": path, "Sddl": WANTED, "Sections": ["Owner", "Access", "Audit"]}
        assert call.parameters == sent


def test_only_the_named_parts_are_set(place: Place) -> None:
    path = f"{place.root}\\Audit"
    place.host.create(path)
    raw = place.host.read([path])[path].descriptor
    assert raw is not None
    before = sdlib.parse(raw)
    audit_only = sddl.from_sddl("O:SYD:P(A;;FA;;;SY)S:(AU;OICIFA;WD;;;WD)")
    place.host.set(path, sdlib.to_bytes(audit_only), SACL)
    raw = place.host.read([path])[path].descriptor
    assert raw is not None
    after = sdlib.parse(raw)
    assert (after.owner, explicit(after.dacl)) == (before.owner, explicit(before.dacl))
    assert explicit(after.sacl) == explicit(audit_only.sacl)


def test_many_folders_are_read_in_one_round_trip_per_chunk(
    place: Place, winrm_host: WinRmHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = winrm_host.require_fake()
    paths = [f"{place.root}\\f{i}" for i in range(7)]
    for path in paths:
        place.host.create(path)
    monkeypatch.setattr(foldersio, "CHUNK", 3)
    found = place.host.read(paths)
    assert all(found[p].exists for p in paths)
    calls = fake.calls_of("get_folder_security")
    assert [c.parameters["Paths"] for c in calls] == [paths[0:3], paths[3:6], paths[6:]]


def test_a_tree_is_read_level_by_level_one_round_trip_a_level(
    place: Place, winrm_host: WinRmHost
) -> None:
    root = place.root
    for leaf in ("a\\b\\c", "a\\d", "e"):
        place.host.create(f"{root}\\{leaf}")
    walking = foldersio.WinRmFolders(place.host)
    descriptors, unreadable = walking.walk(root, lambda depth, count: None, lambda steps: None)
    below = {p.removeprefix(root) for p in descriptors}
    assert below == {"", "\\a", "\\e", "\\a\\b", "\\a\\d", "\\a\\b\\c"}
    assert unreadable == {}
    if winrm_host.fake is not None:
        levels = [c.parameters["Paths"] for c in winrm_host.fake.calls_of("get_folder_security")]
        assert [len(level) for level in levels] == [1, 2, 2, 1]
        assert all(
            c.parameters["Subfolders"] is True
            for c in winrm_host.fake.calls_of("get_folder_security")
        )


HOSTILE = ["it's [x]", "$(Get-Date) ${y} `t", "%TEMP% & ver", "中文 Ünïcödé"]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_folder_name_arrives_as_data(
    place: Place, winrm_host: WinRmHost, name: str
) -> None:
    path = f"{place.root}\\{name}"
    assert place.host.create(path) is True
    assert place.host.read([path])[path].exists
    if winrm_host.fake is not None:
        assert winrm_host.fake.calls_of("new_folder")[0].parameters == {"Path": path}


PRIVILEGE = CannedError(
    "reading audit rules (the SACL) needs SeSecurityPrivilege ('Manage auditing and "
    "security log'), which FS01\\svc does not hold on FS01: grant it to the account, or "
    "use one in the host's Administrators group",
    error_id="AdsuiteNoSecurityPrivilege,get_folder_security.ps1",
    category="PermissionDenied",
)


def test_a_missing_security_privilege_reaches_the_user_in_the_scripts_words(
    place: Place, winrm_host: WinRmHost
) -> None:
    """Proves the relay (message and error id, both clients); that the script detects the
    missing privilege is proven only live, with an account that lacks it."""
    fake = winrm_host.require_fake()
    fake.answer("get_folder_security", CannedScript(fails_with=PRIVILEGE))
    with pytest.raises(WinRmScriptFailed) as raised:
        place.host.read([place.root])
    assert "needs SeSecurityPrivilege ('Manage auditing and security log')" in str(raised.value)
    assert "AdsuiteNoSecurityPrivilege" in (raised.value.error_id or "")


@pytest.mark.parametrize("script", ["get_folder_security", "set_folder_security"])
def test_the_scripts_say_which_privilege_is_missing(script: str) -> None:
    text = powershell_script(script)
    assert "'AdsuiteNoSecurityPrivilege'" in text
    assert "needs SeSecurityPrivilege ('Manage auditing and security log')" in text
