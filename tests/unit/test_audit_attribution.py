"""Which writes are adsuite's, as data: Windows logon sessions against the journal's
``via``, GPO containers and their children, moves, and folders on file servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adsuite.audit.attribution import outside_adsuite, outside_adsuite_folders
from adsuite.audit.windows import FolderWrite
from adsuite.formats.samba_audit import DirectoryWrite
from adsuite.journal.records import ChangeRecord

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BASE = "DC=group,DC=example,DC=com"
GROUP = f"CN=g,OU=HQ,{BASE}"
GPC = f"CN={{0A1B2C3D-0000-4000-8000-00C04FB984F9}},CN=Policies,CN=System,{BASE}"
VIA = "10.0.0.5:50123"


def windows(
    dn: str, seconds: float, logon: str, remote: str | None, **more: object
) -> DirectoryWrite:
    return DirectoryWrite(
        T0 + timedelta(seconds=seconds), str(more.pop("op", "Modify")), dn, "S-1-5-21-1-2-3-1201",
        f"dc2/{logon}", remote, ("description",), True, "dc2", "GROUP\\alice", **more,  # type: ignore[arg-type]
    )  # fmt: skip


def change(
    target: str, resource: str, seconds: float, via: str | None = VIA, **more: object
) -> ChangeRecord:
    at = (T0 + timedelta(seconds=seconds)).isoformat()
    return ChangeRecord(
        "run1", 1, resource, target, str(more.get("action", "update")), more.get("before"), {},
        "applied", None, at, at, 1, via,
    )  # fmt: skip


def test_a_windows_session_that_logged_on_from_adsuites_address_and_port_is_adsuites() -> None:
    writes = [
        windows(GROUP, 10.0, "0xa1", VIA),
        windows(f"OU=HQ,{BASE}", 10.5, "0xa1", VIA),  # side write on another object
        windows(f"OU=HQ,{BASE}", 400.0, "0xa1", VIA),  # later, same connection
        windows(GROUP, 10.8, "0xb2", "10.0.0.9:50999"),  # someone else in the same seconds
    ]
    found = outside_adsuite(
        writes, [change(GROUP, "group", 10.0), change(f"OU=HQ,{BASE}", "ou", 1.0)], T0
    )
    assert [(w.session_id, w.time) for w in found] == [("dc2/0xb2", T0 + timedelta(seconds=10.8))]


def test_a_session_whose_logon_is_not_in_the_log_is_adsuites_only_inside_the_change_window() -> (
    None
):
    writes = [
        windows(GROUP, 10.0, "0xc3", None),
        windows(f"CN=x,OU=HQ,{BASE}", 11.0, "0xc3", None, op="Add"),
        windows(GROUP, 600.0, "0xc3", None),  # long after: not taken for adsuite's
    ]
    found = outside_adsuite(
        writes, [change(GROUP, "group", 10.0), change(f"OU=HQ,{BASE}", "ou", 1.0)], T0
    )
    assert [w.time for w in found] == [T0 + timedelta(seconds=600)]


def test_a_journal_without_via_trusts_the_window_for_the_whole_session() -> None:
    writes = [
        windows(GROUP, 10.0, "0xd4", "10.0.0.9:1"),
        windows(GROUP, 500.0, "0xd4", "10.0.0.9:1"),
    ]
    assert outside_adsuite(writes, [change(GROUP, "group", 10.0, via=None)], T0) == []


def test_writes_to_a_managed_gpo_container_and_its_children_are_listed_unless_adsuites() -> None:
    writes = [
        windows(GPC, 10.0, "0xa1", VIA),
        windows(f"CN=Machine,{GPC}", 10.1, "0xa1", VIA),
        windows(f"CN=Machine,{GPC}", 300.0, "0xe5", "10.0.0.9:2"),
        windows(GPC, 301.0, "0xe5", "10.0.0.9:2"),
        windows(
            f"CN={{99999999-0000-4000-8000-00C04FB984F9}},CN=Policies,CN=System,{BASE}",
            302.0,
            "0xe5",
            "10.0.0.9:2",
        ),
    ]
    found = outside_adsuite(writes, [change(GPC, "gpo", 10.0)], T0)
    assert [w.dn for w in found] == [f"CN=Machine,{GPC}", GPC]


def test_adsuites_write_to_a_gpo_child_alone_proves_the_session() -> None:
    writes = [windows(f"CN=User,{GPC}", 10.0, "0xa1", VIA), windows(GPC, 200.0, "0xa1", VIA)]
    assert outside_adsuite(writes, [change(GPC, "gpo", 10.0)], T0) == []


def test_moving_a_managed_object_away_is_listed_by_its_old_dn() -> None:
    away = f"CN=g,OU=Elsewhere,{BASE}"
    writes = [windows(away, 50.0, "0xe5", "10.0.0.9:2", op="Move", old_dn=GROUP)]
    (found,) = outside_adsuite(writes, [change(GROUP, "group", 10.0)], T0)
    assert (found.operation, found.dn, found.old_dn) == ("Move", away, GROUP)


def folder(path: str, seconds: float, user: str = "GROUP\\svc-adsuite") -> FolderWrite:
    return FolderWrite(
        T0 + timedelta(seconds=seconds), "fs2", "Permissions", path, ("dacl",), None, user,
        "fs2/0x1", None,
    )  # fmt: skip


def test_folder_changes_by_adsuites_account_during_its_change_are_adsuites_and_others_are_listed() -> (
    None
):
    root = "\\\\fs2\\data\\HQ"
    writes = [
        folder(root, 10.5),  # adsuite's own write
        folder(root, 10.6, "GROUP\\bob"),  # someone else, same second
        folder(root, 300.0),  # adsuite's account, but no adsuite change was running
        folder(f"{root}\\Finance\\report.xlsx", 301.0, "GROUP\\bob"),  # below a managed folder
        folder("\\\\fs2\\data\\HQ2", 302.0, "GROUP\\bob"),  # a sibling, not managed
        folder("\\\\fs3\\data\\HQ", 303.0, "GROUP\\bob"),  # another host
    ]
    journaled = [
        change(root, "file_acl", 10.0, via=None),
        change("\\\\fs3\\other", "file_acl", 10.0),
    ]
    accounts = {"fs2": "svc-adsuite@GROUP.EXAMPLE.COM"}
    found = outside_adsuite_folders(writes, journaled, T0, accounts)
    assert [(w.path, w.time - T0) for w in found] == [
        (root, timedelta(seconds=10.6)),
        (root, timedelta(seconds=300)),
        (f"{root}\\Finance\\report.xlsx", timedelta(seconds=301)),
    ]


def test_folder_changes_before_since_are_not_listed() -> None:
    root = "\\\\fs2\\data\\HQ"
    found = outside_adsuite_folders(
        [folder(root, 5.0, "GROUP\\bob")],
        [change(root, "file_acl", 1.0)],
        T0 + timedelta(seconds=6),
        {},
    )
    assert found == []


def test_a_group_event_for_a_group_the_directory_no_longer_has_is_compared_safely() -> None:
    writes = [windows("GROUP\\Gone", 50.0, "0xe5", "10.0.0.9:2"), windows("", 51.0, "0xe5", None)]
    assert outside_adsuite(writes, [change(GROUP, "group", 10.0)], T0) == []
