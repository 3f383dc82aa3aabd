"""The audit ACL (SACL) of an existing folder on the lab's [data] share: a change applies
and smbcacls reads it back, drift sees a hand edit, rollback restores the earlier SACL;
an account without the SeSecurityPrivilege gets one line naming the right, and the same
account succeeds once the right is granted over LSA (rpcclient, as an admin would)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from fileshare import Share, make_share
from helpers import JSON, run_id_of, sid_of
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.formats.security_descriptor import AceType

pytestmark = pytest.mark.lab

OI_CI_SUCCESS_FAILURE = 0x03 | 0xC0
DELETE = 0x10000
WRITE_DAC = 0x40000
AUDITOR_PASSWORD = "Auditor-Pw-7e3a1c!"


@pytest.fixture()
def share(lab_env: Lab, tmp_path: Path) -> Share:
    return make_share(lab_env, tmp_path)


def folder_playbook(top: str, rights: str, who: str = "Administrators") -> str:
    return f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - file_acl:
      host: fs1
      share: data
      path: {top}
      data_owner: {{department: IT, head: it.head}}
      inherit: false
      access:
        - {{who: Administrators, rights: full}}
        - {{who: {who}, rights: full}}
      audit:
        - {{who: Everyone, rights: [{rights}]}}
"""


def audits(share: Share, path: str, domain: str) -> set[tuple[int, int, str]]:
    sacl = share.descriptor(path, domain).sacl
    aces = sacl.aces if sacl else ()
    return {(a.flags, a.mask, a.sid) for a in aces if a.ace_type == AceType.SYSTEM_AUDIT}


def run(cli: Callable[..., Cli], share: Share, *args: str, inventory: Path | None = None) -> Cli:
    command, playbook, *rest = args
    return cli(command, playbook, "-i", str(inventory or share.inventory), *rest)


def test_a_sacl_change_of_an_existing_folder_applies_drifts_and_rolls_back(
    share: Share,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    domain = sid_of(directory, "")
    first = write_playbook(folder_playbook(top, "delete"), "first.yml")
    assert run(cli, share, "apply", str(first), "--yes").code == 0
    assert audits(share, top, domain) == {(OI_CI_SUCCESS_FAILURE, DELETE, "S-1-1-0")}
    second = write_playbook(folder_playbook(top, "delete, change_permissions"), "second.yml")
    changed = run(cli, share, "apply", str(second), *JSON)
    assert changed.code == 0, changed.out + changed.err
    assert audits(share, top, domain) == {(OI_CI_SUCCESS_FAILURE, DELETE | WRITE_DAC, "S-1-1-0")}
    assert run(cli, share, "drift", str(second)).code == 0
    drifted = run(cli, share, "drift", str(first))
    assert drifted.code == 2 and "audit rule Everyone should have 'delete on" in drifted.out
    back = cli("rollback", run_id_of(changed.out), "-i", str(share.inventory), "--yes")
    assert back.code == 0, back.out + back.err
    assert audits(share, top, domain) == {(OI_CI_SUCCESS_FAILURE, DELETE, "S-1-1-0")}


@pytest.fixture()
def auditor(
    share: Share, top: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    """An inventory whose file server credential is a plain user, {top}-aud."""
    monkeypatch.setenv("ADSUITE_CRED_FS_AUDITOR", AUDITOR_PASSWORD)
    data = yaml.safe_load(share.inventory.read_text(encoding="utf-8"))
    data["credentials"]["fs_auditor"] = {"username": f"{top}-aud@{share.lab.status.realm}"}
    data["hosts"]["fs1"]["smb"]["credential"] = "fs_auditor"
    inventory = tmp_path / "auditor.yml"
    inventory.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    yield f"{top}-aud", inventory


def lsa(share: Share, command: str) -> None:
    """An LSA call as the lab's Administrator (rpcclient: Samba's own client)."""
    done = subprocess.run(
        ["rpcclient", share.address, "-A", str(share.authfile), "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_without_the_security_privilege_the_sacl_write_says_which_right_is_missing(
    share: Share,
    directory: Directory,
    top: str,
    auditor: tuple[str, Path],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    name, inventory = auditor
    user = f"  - user: {{name: {name}, ou: {top}, password: {{credential: fs_auditor}}}}\n"
    setup = write_playbook(folder_playbook(top, "delete", who=name) + user, "setup.yml")
    assert run(cli, share, "apply", str(setup), "--yes").code == 0
    change = write_playbook(folder_playbook(top, "delete, change_permissions", who=name) + user)
    refused = run(cli, share, "apply", str(change), "--yes", inventory=inventory)
    assert refused.code == 1
    assert refused.err.strip().splitlines() == [
        f"adsuite: reading the audit ACL (SACL) of \\\\{share.address}\\data\\{top} needs the "
        f"SeSecurityPrivilege ('Manage auditing and security log') for "
        f"{name}@{share.lab.status.realm} on {share.address}"
    ], refused.err
    sid = sid_of(directory, name)
    lsa(share, f"lsaaddacctrights {sid} SeSecurityPrivilege")
    try:
        granted = run(cli, share, "apply", str(change), "--yes", inventory=inventory)
        assert granted.code == 0, granted.out + granted.err
    finally:
        lsa(share, f"lsaremoveacctrights {sid} SeSecurityPrivilege")
    domain = sid_of(directory, "")
    assert audits(share, top, domain) == {(OI_CI_SUCCESS_FAILURE, DELETE | WRITE_DAC, "S-1-1-0")}
