"""Rollback of file_acl runs on the lab's real [data] share: smbcacls (Samba's own tool)
sees the folder's owner, DACL and SACL exactly as before the run — a folder the run
reset to inherit too — a second rollback plans nothing, a folder changed since the
run is left alone and reported, a folder the run created is left in place and said
so, and a run journaled before exact images says it cannot be rolled back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fileshare import Share, make_share
from helpers import run_id_of
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.formats.ldap_query import Query
from adsuite.formats.sid import sid_from_bytes
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab
BASE = "DC=group,DC=example,DC=com"
RW_OWNER = {"department": "Finance", "head": "li.hua"}


@pytest.fixture()
def share(lab_env: Lab, tmp_path: Path) -> Share:
    return make_share(lab_env, tmp_path)


def domain_sid(directory: Directory) -> str:
    (entry,) = list(directory.search(Query(BASE, "(objectClass=*)", ("objectSid",), "base")))
    return sid_from_bytes(entry.raw("objectSid")[0])


def folders(top: str, finance: str, extra: str = "") -> str:
    """A playbook: the test's OU and groups, its top folder, and top/Finance as given."""
    return f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - group: {{name: {top}-Fin-RW, ou: {top}}}
  - group: {{name: {top}-Fin-RO, ou: {top}}}
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
      data_owner: {{department: Finance, head: li.hua}}
{finance}
{extra}
"""


BEFORE = """      owner: Administrators
      inherit: false
      access:
        - {{who: Administrators, rights: full}}
        - {{who: {top}-Fin-RO, rights: read_execute}}
      audit:
        - {{who: Everyone, rights: delete}}"""
AFTER = """      owner: Domain Admins
      inherit: true
      access:
        - {{who: Administrators, rights: full}}
        - {{who: {top}-Fin-RW, rights: modify}}
      audit:
        - {{who: Everyone, rights: [delete, change_permissions]}}
      key_data: true
      check_tree: true"""


def apply(cli: Callable[..., Cli], share: Share, playbook: Path) -> Cli:
    done = cli("apply", str(playbook), "-i", str(share.inventory), "--yes", "--format", "json")
    assert done.code == 0, done.out + done.err
    return done


def test_rollback_puts_back_the_exact_descriptors_and_a_second_rollback_plans_nothing(
    share: Share,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    setup = write_playbook(folders(top, BEFORE.format(top=top)), "before.yml")
    apply(cli, share, setup)
    share.smbclient(share.authfile, f"mkdir {top}\\Finance\\Sub")
    share.smbcacls(f"{top}/Finance/Sub", "-a", "ACL:GROUP\\Domain Guests:ALLOWED/0x0/READ")
    domain = domain_sid(directory)
    before = {p: share.descriptor(p, domain) for p in (f"{top}/Finance", f"{top}/Finance/Sub")}

    change = write_playbook(folders(top, AFTER.format(top=top)), "after.yml")
    applied = apply(cli, share, change)
    changed = {p: share.descriptor(p, domain) for p in before}
    assert all(changed[p] != before[p] for p in before), "the run changed both folders"

    undone = cli("rollback", run_id_of(applied.out), "-i", str(share.inventory), "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert f"~ file_acl   \\\\fs1\\data\\{top}\\Finance" in undone.out
    assert 'owner: "GROUP\\Domain Admins" → "Administrators"' in undone.out, undone.out
    for path, was in before.items():
        assert share.descriptor(path, domain) == was, path
    assert cli("drift", str(setup), "-i", str(share.inventory)).code == 0

    again = cli("rollback", run_id_of(applied.out), "-i", str(share.inventory), "--yes")
    assert again.code == 0, again.out + again.err
    assert "No changes" in again.out


def test_a_folder_changed_since_the_run_is_left_alone_and_reported(
    share: Share,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    apply(cli, share, write_playbook(folders(top, BEFORE.format(top=top)), "before.yml"))
    applied = apply(cli, share, write_playbook(folders(top, AFTER.format(top=top)), "after.yml"))
    share.smbcacls(f"{top}/Finance", "-a", "ACL:GROUP\\Domain Guests:ALLOWED/0x0/READ")
    domain = domain_sid(directory)
    edited = share.descriptor(f"{top}/Finance", domain)

    undone = cli("rollback", run_id_of(applied.out), "-i", str(share.inventory), "--yes")
    assert undone.code == 1, undone.out + undone.err
    target = f"\\\\fs1\\data\\{top}\\Finance"
    assert f"LEFT ALONE: {target} changed since run" in undone.err
    assert share.descriptor(f"{top}/Finance", domain) == edited, "nothing was overwritten"


def test_a_folder_the_run_created_is_left_in_place_and_said_so(
    share: Share,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    apply(cli, share, write_playbook(folders(top, BEFORE.format(top=top)), "before.yml"))
    new = f"""  - file_acl:
      host: fs1
      share: data
      path: {top}/New
      data_owner: {{department: Finance, head: li.hua}}
      access: [{{who: Administrators, rights: full}}]"""
    playbook = write_playbook(folders(top, BEFORE.format(top=top), new), "new.yml")
    applied = apply(cli, share, playbook)

    undone = cli("rollback", run_id_of(applied.out), "-i", str(share.inventory), "--yes")
    assert undone.code == 1, undone.out + undone.err
    assert (
        f"NOT ROLLED BACK: file_acl \\\\fs1\\data\\{top}\\New: left in place: the run "
        "created this folder"
    ) in " ".join(undone.err.split())
    assert "Administrators" in share.smbcacls(f"{top}/New"), "the folder is still there"


def test_a_run_journaled_before_exact_images_says_it_cannot_be_rolled_back(
    share: Share, lab_env: Lab, top: str, cli: Callable[..., Cli]
) -> None:
    with Journal.open(lab_env.journal) as journal:
        run = journal.start_run(mode="apply", operator={"os_user": "an-older-adsuite"})
        words = {"data_owner": RW_OWNER, "access": ["Administrators: full"]}
        number = journal.record_intent(
            run,
            resource="file_acl",
            target=f"\\\\fs1\\data\\{top}\\Finance",
            action="update",
            before=words,
            after={**words, "access": ["Administrators: full", "GROUP\\bob: full"]},
        )
        journal.record_outcome(run, number, "applied")
        journal.finish_run(run, status="ok", counts={"update": 1})

    undone = cli("rollback", run, "-i", str(share.inventory), "--yes")
    assert undone.code == 1, undone.out + undone.err
    assert "cannot roll back: this run predates exact file_acl images" in " ".join(
        undone.err.split()
    )
    assert "Traceback" not in undone.err
