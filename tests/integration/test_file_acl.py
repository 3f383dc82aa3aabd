"""file_acl against the lab's real [data] share: apply, then smbcacls (Samba's own tool)
reads back the declared ACEs and audit entries; a second apply plans nothing; an ACE
added with smbcacls is drift in words with its approver, and apply removes it; a
member of an access group can read the folder over SMB and an outsider is refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from fileshare import Share, make_share, write_authfile
from helpers import sid_of
from labkit import Cli, Lab

from adsuite.connectors import smb
from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory
from adsuite.connectors.smb import SmbEndpoint, SmbHost, Tree
from adsuite.engine.session import Session
from adsuite.formats import sddl
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.ldap_query import Query
from adsuite.formats.security_descriptor import AceType, SecurityDescriptor
from adsuite.formats.sid import sid_from_bytes
from adsuite.resources.file_acl.rights import inherited_aces

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
BASE = "DC=group,DC=example,DC=com"
OI_CI = 0x03
SUCCESS_FAILURE = 0xC0


@pytest.fixture()
def share(lab_env: Lab, tmp_path: Path) -> Share:
    return make_share(lab_env, tmp_path)


def domain_sid(directory: Directory) -> str:
    (entry,) = list(directory.search(Query(BASE, "(objectClass=*)", ("objectSid",), "base")))
    return sid_from_bytes(entry.raw("objectSid")[0])


def aces(sd: SecurityDescriptor, kind: int) -> set[tuple[int, int, str]]:
    acl = sd.sacl if kind == AceType.SYSTEM_AUDIT else sd.dacl
    return {(a.flags, a.mask, a.sid) for a in (acl.aces if acl else ()) if a.ace_type == kind}


def department_playbook(top: str, extra: str = "") -> str:
    return f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - group: {{name: {top}-Fin-RW, ou: {top}}}
  - group: {{name: {top}-Fin-RO, ou: {top}}}
{extra}
  - file_acl:
      host: fs1
      share: data
      path: {top}
      data_owner: {{department: IT, head: it.head}}
      inherit: false
      access:
        - {{who: Administrators, rights: full}}
        - {{who: Authenticated Users, rights: traverse, applies_to: this_folder}}
  - file_acl:
      host: fs1
      share: data
      path: {top}/Finance
      data_owner: {{department: {top} Finance, head: li.hua}}
      owner: Administrators
      inherit: false
      access:
        - {{who: Administrators, rights: full}}
        - {{who: {top}-Fin-RW, rights: modify}}
        - {{who: {top}-Fin-RO, rights: read_execute}}
      audit:
        - {{who: Everyone, rights: [change_permissions, take_ownership, delete]}}
      key_data: true
      check_tree: true
"""


def run(cli: Callable[..., Cli], share: Share, command: str, playbook: Path, *extra: str) -> Cli:
    args = [command, str(playbook), "-i", str(share.inventory), *extra]
    return cli(*args, *(["--yes"] if command == "apply" else []))


def test_fileserver_playbook_applies_smbcacls_confirms_it_and_a_second_apply_plans_nothing(
    share: Share,
    directory: Directory,
    repo_site: Callable[[Sequence[str]], Path],
    cli: Callable[..., Cli],
) -> None:
    site = repo_site(("group_domain.yml", "fileserver_audit.yml"))
    applied = run(cli, share, "apply", site)
    assert applied.code == 0, applied.out + applied.err
    domain = domain_sid(directory)
    sd = share.descriptor("HQ/Finance", domain)
    assert sd.control & 0x1000, "the department folder's DACL is protected"
    rw, ro = sid_of(directory, "HQ-Finance-RW"), sid_of(directory, "HQ-Finance-RO")
    allowed = aces(sd, AceType.ACCESS_ALLOWED)
    assert {(OI_CI, 0x1301BF, rw), (OI_CI, 0x1200A9, ro), (OI_CI, 0x1F01FF, "S-1-5-18")} <= allowed
    audits = aces(sd, AceType.SYSTEM_AUDIT)
    changes = 0x40 | 0x10000 | 0x40000 | 0x80000  # delete child/self, write DAC, write owner
    assert (OI_CI | SUCCESS_FAILURE, changes, "S-1-1-0") in audits
    assert (OI_CI | SUCCESS_FAILURE, 0x1, "S-1-1-0") in audits, "reads of key data are audited"
    engineering = aces(share.descriptor("HQ/Engineering", domain), AceType.SYSTEM_AUDIT)
    assert (OI_CI | SUCCESS_FAILURE, 0x1, "S-1-1-0") not in engineering
    again = run(cli, share, "plan", site)
    assert again.code == 0 and "No changes" in again.out, again.out


def test_an_ace_added_with_smbcacls_is_drift_naming_its_approver_and_apply_removes_it(
    share: Share,
    lab_env: Lab,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    user = f"  - user: {{name: {top}-bob, ou: {top}, password: {{generate: true}}}}"
    playbook = write_playbook(department_playbook(top, user))
    assert run(cli, share, "apply", playbook).code == 0
    assert "No changes" in run(cli, share, "plan", playbook).out
    share.smbcacls(f"{top}/Finance", "-a", f"ACL:GROUP\\{top}-bob:ALLOWED/OI|CI/FULL")
    found = run(cli, share, "drift", playbook)
    assert found.code == 2, found.out + found.err
    assert (
        f"added outside adsuite: GROUP\\{top}-bob has 'full' on \\\\fs1\\data\\{top}\\Finance"
        f" — would have needed approval by li.hua ({top} Finance)"
    ) in found.out
    assert run(cli, share, "apply", playbook).code == 0
    assert f"{top}-bob" not in share.smbcacls(f"{top}/Finance")
    clean = run(cli, share, "drift", playbook)
    assert clean.code == 0, clean.out


@pytest.fixture()
def people(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    passwords = {"alice": "Alice-Pw-4c1e9b!", "mallory": "Mallory-Pw-8d2f0a!"}
    for name, secret in passwords.items():
        monkeypatch.setenv(f"ADSUITE_CRED_FS_{name.upper()}", secret)
    yield passwords


def test_a_member_of_an_access_group_reads_the_folder_and_an_outsider_is_refused(
    share: Share,
    lab_env: Lab,
    top: str,
    people: dict[str, str],
    write_playbook: Callable[..., Path],
    tmp_path: Path,
) -> None:
    users = "\n".join(
        f"  - user: {{name: {top}-{n}, ou: {top}, password: {{credential: fs_{n}}}}}"
        for n in people
    )
    member = f"  - membership: {{group: {top}-Fin-RO, members: [{top}-alice]}}"
    playbook = write_playbook(department_playbook(top, users + "\n" + member))
    session = Session.from_files(playbook, share.inventory, lab_env.journal)
    with session.connect() as conn:
        result = session.apply(session.plan(conn), conn)
    assert result.status == "ok", result.outcomes
    share.smbclient(share.authfile, f"mkdir {top}\\Finance\\Reports")
    for name, secret in people.items():
        authfile = write_authfile(tmp_path / f"{name}.auth", f"{top}-{name}", secret)
        listing = share.smbclient(authfile, f"ls {top}\\Finance\\*")
        if name == "alice":
            assert listing.returncode == 0 and "Reports" in listing.stdout, listing.stdout
        else:
            assert listing.returncode != 0
            assert "NT_STATUS_ACCESS_DENIED" in listing.stdout + listing.stderr


@contextmanager
def admin_tree(share: Share) -> Iterator[Tree]:
    password = Path(share.lab.status.secret_file).read_text(encoding="utf-8").strip()
    endpoint = SmbEndpoint(share.address, 445, share.lab.status.admin_username)
    host = SmbHost.connect(endpoint, Secret(password))
    try:
        yield host.tree(share.lab.status.data_share)
    finally:
        host.close()


def test_the_tree_check_reports_only_folders_that_break_inheritance_and_apply_resets_them(
    share: Share,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    playbook = write_playbook(department_playbook(top))
    assert run(cli, share, "apply", playbook).code == 0
    with admin_tree(share) as tree:
        for i in range(40):
            smb.create_folder(tree, f"{top}\\Finance\\p{i:02d}\\c")
    share.smbcacls(f"{top}/Finance/p03", "-a", "ACL:GROUP\\Domain Guests:ALLOWED/0x0/READ")
    share.smbcacls(f"{top}/Finance/p07/c", "-a", "ACL:GROUP\\Domain Guests:ALLOWED/0x0/FULL")
    share.smbcacls(f"{top}/Finance/p11", "--inherit=remove")
    found = run(cli, share, "drift", playbook)
    assert found.code == 2, found.out + found.err
    drifted = sorted(
        line.split()[3].rstrip(":") for line in found.out.splitlines() if "DRIFT" in line
    )
    root = f"\\\\fs1\\data\\{top}\\Finance"
    assert drifted == [f"{root}\\p03", f"{root}\\p07\\c", f"{root}\\p11"], found.out
    assert "has its own permissions below" in found.out and "(protected)" in found.out
    assert run(cli, share, "apply", playbook).code == 0
    assert "Domain Guests" not in share.smbcacls(f"{top}/Finance/p07/c")
    assert run(cli, share, "drift", playbook).code == 0


def test_inherited_aces_are_what_samba_gives_a_new_folder(share: Share, top: str) -> None:
    parent = sddl.from_sddl(
        "O:BAD:PARAI(D;OICI;WD;;;AU)(A;OICI;FA;;;BA)(A;OICIIO;FA;;;CO)(A;OICINP;FA;;;CG)"
        "(A;CI;0x1200a9;;;WD)(A;OI;FR;;;AN)(A;OINP;FR;;;NU)(A;OICIIO;0x1301bf;;;SY)"
        "(A;CINP;FR;;;IU)(A;;FA;;;SU)"
    )
    with admin_tree(share) as tree:
        smb.create_folder(tree, top)
        smb.set_security(tree, top, sdlib.to_bytes(parent), smb.OWNER_INFO | smb.DACL_INFO)
        smb.create_folder(tree, f"{top}\\child\\grandchild")
        above = sdlib.parse(smb.query_security(tree, top) or b"")
        for path in (f"{top}\\child", f"{top}\\child\\grandchild"):
            made = sdlib.parse(smb.query_security(tree, path) or b"")
            assert made.dacl is not None and above.dacl is not None
            assert list(made.dacl.aces) == inherited_aces(above.dacl.aces, made.owner, made.group)
            above = made


def test_apply_stops_with_a_conflict_when_the_folder_changed_after_the_plan(
    share: Share, lab_env: Lab, top: str, write_playbook: Callable[..., Path]
) -> None:
    playbook = write_playbook(department_playbook(top))
    session = Session.from_files(playbook, share.inventory, lab_env.journal)
    with session.connect() as conn:
        session.apply(session.plan(conn), conn)
    share.smbcacls(f"{top}/Finance", "-a", "ACL:GROUP\\Domain Guests:ALLOWED/0x0/READ")
    with session.connect() as conn:
        planned = session.plan(conn)
        share.smbcacls(f"{top}/Finance", "-a", "ACL:GROUP\\Domain Users:ALLOWED/0x0/READ")
        result = session.apply(planned, conn)
    assert result.status == "conflict"
    assert "changed since the plan" in (result.outcomes[0].error or "")
    assert "Domain Users" in share.smbcacls(f"{top}/Finance"), "nothing was overwritten"
