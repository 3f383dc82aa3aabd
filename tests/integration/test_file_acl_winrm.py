"""A local path of a Windows host, over WinRM, behaves as a folder on a share: the real
CLI plans, drifts, applies and rolls back one playbook that declares the same folder
twice — on the lab's real [data] share (SMB) and as ``D:\\...`` on a FAKE Windows host
(WinRM) — and the two get the same changes in the same words.

The Windows host is a FAKE WinRM endpoint (tests/fakes) whose folder scripts act on an
in-memory model (tests/fakes/fake_windows_folders.py); the directory is the real lab
DC. This proves the pipeline, the transport choice, the parameters and parsing through
both clients (pypsrp and pywinrm); it proves nothing about what Windows itself does
with the scripts — tests/winrm/test_folder_security.py runs them on a live host when
one is configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.fake_tls import make_fake_tls
from fakes.fake_windows_folders import FakeFolders
from fakes.fake_winrm_endpoint import FakeWinRmEndpoint, fake_endpoints
from fileshare import Share, make_share
from helpers import run_id_of
from labkit import Cli, Lab

from adsuite.connectors import smb
from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory
from adsuite.connectors.smb import SmbEndpoint, SmbHost
from adsuite.formats import sddl
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.ldap_query import Query
from adsuite.formats.sid import sid_from_bytes
from adsuite.resources.file_acl.rights import inherited_aces

pytestmark = pytest.mark.lab
BASE = "DC=group,DC=example,DC=com"
FAKE_USER, FAKE_PASSWORD = "fake-fs-admin", "Fake-Fs-Passw0rd!"
TOP = "O:BAG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;AU)S:"
CHILD_OWN = "(A;;0x1200a9;;;WD)"


@dataclass
class Hosts:
    """The two file servers of one test: the lab share and the fake Windows host."""

    share: Share
    fake: FakeWinRmEndpoint
    folders: FakeFolders
    inventory: Path
    env: dict[str, str]


@pytest.fixture(params=["pypsrp", "pywinrm"])
def hosts(request: pytest.FixtureRequest, lab_env: Lab, tmp_path: Path) -> Iterator[Hosts]:
    share = make_share(lab_env, tmp_path)
    running = fake_endpoints(1, {FAKE_USER: FAKE_PASSWORD}, make_fake_tls(tmp_path / "tls"))
    (endpoint,) = next(running)
    folders = FakeFolders()
    for name, twin in folders.twins().items():
        endpoint.answer(name, twin)
    address = share.address
    inventory = tmp_path / "two-servers.yml"
    inventory.write_text(
        lab_env.inventory.read_text(encoding="utf-8")
        + f"""  win-admin:
    username: {FAKE_USER}
hosts:
  fs1:
    address: {address}
    smb: {{port: 445, credential: lab-admin}}
  fs01:
    address: 127.0.0.1
    winrm: {{url: "{endpoint.url}", client: {request.param}, auth: ntlm, credential: win-admin, ca_file: "{endpoint.ca_file}"}}
""",
        encoding="utf-8",
    )
    yield Hosts(share, endpoint, folders, inventory, {"ADSUITE_CRED_WIN_ADMIN": FAKE_PASSWORD})
    running.close()


def playbook(top: str) -> str:
    task = """  - file_acl:
      host: {host}
      {where}
      data_owner: {{department: Finance, head: li.hua}}
      owner: Administrators
      inherit: false
      access:
        - {{who: Administrators, rights: full}}
        - {{who: {top}-Ledger-RW, rights: modify}}
      audit:
        - {{who: Everyone, rights: delete}}
      check_tree: true
"""
    smb_task = task.format(host="fs1", where=f"share: data\n      path: {top}/Ledger", top=top)
    local_task = task.format(host="fs01", where=f"path: 'D:\\{top}\\Ledger'", top=top)
    return f"""tasks:
  - ou: {{path: {top}, protected: false}}
  - group: {{name: {top}-Ledger-RW, ou: {top}}}
{smb_task}{local_task}"""


def start_both(hosts: Hosts, top: str) -> None:
    """The same folder and subfolder on both servers, before the playbook's first run."""
    parent = sddl.from_sddl(TOP)
    assert parent.dacl is not None
    below = [*sddl.from_sddl(f"D:AI{CHILD_OWN}").dacl.aces]  # type: ignore[union-attr]
    below += inherited_aces(parent.dacl.aces, "S-1-5-32-544", "S-1-5-18")
    child = parent.with_dacl(sdlib.Acl(sdlib.ACL_REVISION, tuple(below)))
    child = sdlib.SecurityDescriptor(1, 0x8C14, child.owner, child.group, child.dacl, child.sacl)
    lab = hosts.share.lab.status
    password = Path(lab.secret_file).read_text(encoding="utf-8").strip()
    server = SmbHost.connect(
        SmbEndpoint(hosts.share.address, 445, lab.admin_username), Secret(password)
    )
    try:
        tree = server.tree(lab.data_share)
        for path, sd in ((f"{top}\\Ledger", parent), (f"{top}\\Ledger\\2026", child)):
            smb.create_folder(tree, path)
            smb.set_security(tree, path, sdlib.to_bytes(sd), 0x1 | 0x4 | 0x8)
    finally:
        server.close()
    hosts.folders.create(f"D:\\{top}\\Ledger\\2026")
    hosts.folders.put(f"D:\\{top}\\Ledger", parent)
    hosts.folders.put(f"D:\\{top}\\Ledger\\2026", child)


def blocks(output: str) -> dict[str, list[str]]:
    """Plan output: each change's target → its lines in words."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in output.splitlines():
        head = re.match(r"[~+-] file_acl\s+(\S+)$", line)
        if head:
            current = found.setdefault(head.group(1), [])
        elif line.startswith("      ") and current is not None:
            current.append(line.strip())
        else:
            current = []
    return found


def same_words(found: dict[str, list[str]], top: str, below: str = "") -> list[str]:
    """The lines of the share's folder; asserts the local folder has the same ones."""
    share_side = found[f"\\\\fs1\\data\\{top}\\Ledger{below}"]
    local_side = found[f"fs01:D:\\{top}\\Ledger{below}"]
    named = [line.replace(f"\\\\fs1\\data\\{top}", f"fs01:D:\\{top}") for line in share_side]
    assert local_side == named, (share_side, local_side)
    return share_side


def explicit_aces(sd: sdlib.SecurityDescriptor) -> tuple[set[object], set[object], bool]:
    def of(acl: sdlib.Acl | None) -> set[object]:
        return {(a.ace_type, a.flags, a.mask, a.sid) for a in (acl.aces if acl else ())}

    protected = bool(sd.control & sdlib.Control.SE_DACL_PROTECTED)
    return of(sd.dacl), of(sd.sacl), protected


def domain_sid(directory: Directory) -> str:
    (entry,) = list(directory.search(Query(BASE, "(objectClass=*)", ("objectSid",), "base")))
    return sid_from_bytes(entry.raw("objectSid")[0])


def test_a_local_path_over_winrm_plans_applies_drifts_and_rolls_back_like_a_share(
    hosts: Hosts,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    start_both(hosts, top)
    book = write_playbook(playbook(top))
    run = lambda *args: cli(*args, "-i", str(hosts.inventory), env=hosts.env)  # noqa: E731

    planned = run("plan", str(book))
    assert planned.code == 0, planned.out + planned.err
    found = blocks(planned.out)
    assert "+ access Administrators: full" not in same_words(found, top)
    assert f"+ access {top}-Ledger-RW: modify" in same_words(found, top)
    assert "- access Authenticated Users: read_execute" in same_words(found, top)
    assert "- access Everyone: read_execute (this_folder)" in same_words(found, top, "\\2026")

    applied = run("apply", str(book), "--yes", "--format", "json")
    assert applied.code == 0, applied.out + applied.err
    run_id = run_id_of(applied.out)
    domain = domain_sid(directory)
    for below in ("", "\\2026"):
        on_share = hosts.share.descriptor(f"{top}/Ledger{below}".replace("\\", "/"), domain)
        local = hosts.folders.descriptor(f"D:\\{top}\\Ledger{below}")
        assert explicit_aces(local) == explicit_aces(on_share), below
    assert "No changes" in run("plan", str(book)).out

    undone = run("rollback", run_id, "--yes")
    assert undone.code == 0, undone.out + undone.err
    same_words(blocks(undone.out), top)
    parent = sddl.from_sddl(TOP)
    local = hosts.folders.descriptor(f"D:\\{top}\\Ledger")
    assert explicit_aces(local) == explicit_aces(parent)
    assert explicit_aces(hosts.share.descriptor(f"{top}/Ledger", domain)) == explicit_aces(parent)
    child = hosts.folders.descriptor(f"D:\\{top}\\Ledger\\2026")
    assert child.dacl is not None and ("S-1-1-0", 0x1200A9) in {
        (a.sid, a.mask) for a in child.dacl.aces
    }
    again = run("rollback", run_id, "--yes")
    assert again.code == 0 and "No changes" in again.out, again.out + again.err


def test_a_local_folder_changed_outside_adsuite_is_drift_in_the_same_words_and_moved_on(
    hosts: Hosts,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    start_both(hosts, top)
    book = write_playbook(playbook(top))
    run = lambda *args: cli(*args, "-i", str(hosts.inventory), env=hosts.env)  # noqa: E731
    applied = run("apply", str(book), "--yes", "--format", "json")
    assert applied.code == 0, applied.out + applied.err
    run_id = run_id_of(applied.out)
    hosts.share.smbcacls(f"{top}/Ledger", "-a", "ACL:Everyone:ALLOWED/OI|CI/READ")
    path = f"D:\\{top}\\Ledger"
    sd = hosts.folders.descriptor(path)
    assert sd.dacl is not None
    everyone = sdlib.Ace(0, 0x3, 0x1200A9, "S-1-1-0")  # as smbcacls READ
    hosts.folders.put(path, sd.with_dacl(sdlib.Acl(sd.dacl.revision, (everyone, *sd.dacl.aces))))

    drift = run("drift", str(book))
    assert drift.code == 2, drift.out + drift.err
    found = {
        m.group(1): m.group(2)
        for m in re.finditer(r"DRIFT \[\w+\] file_acl (\S+): differs: (.*?)  \(declared", drift.out)
    }
    share_side, local_side = f"\\\\fs1\\data\\{top}\\Ledger", f"fs01:D:\\{top}\\Ledger"
    assert found[local_side] == found[share_side].replace(share_side, local_side), drift.out
    assert found[local_side] == (
        f"added outside adsuite: Everyone has 'read_execute' on {local_side}"
        " — would have needed approval by li.hua (Finance)"
    )

    undone = run("rollback", run_id, "--yes")
    assert undone.code == 1, undone.out + undone.err
    assert f"LEFT ALONE: fs01:D:\\{top}\\Ledger changed since run" in undone.err
    assert f"LEFT ALONE: \\\\fs1\\data\\{top}\\Ledger changed since run" in undone.err
    assert everyone in hosts.folders.descriptor(path).dacl.aces  # type: ignore[union-attr]
    set_calls = [
        c for c in hosts.fake.calls_of("set_folder_security") if c.parameters["Path"] == path
    ]
    assert len(set_calls) == 1, "only the apply wrote the folder; the rollback left it alone"
