"""Windows Security events as writes, as data: what get_security_changes.ps1 returns in,
directory and folder writes out (the shapes follow Microsoft's documented event XML)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adsuite.audit.windows import (
    directory_writes,
    folder_writes,
    sd_parts_changed,
    split_items,
    unc_path,
)

GROUP = "CN=HQ-Finance,OU=Groups,OU=HQ,DC=group,DC=example,DC=com"
GROUP_SID = "S-1-5-21-1-2-3-1105"
ALICE = {"SubjectUserSid": "S-1-5-21-1-2-3-1201", "SubjectUserName": "alice"}
ALICE |= {"SubjectDomainName": "GROUP", "SubjectLogonId": "0x2A5F1"}


def item(
    record: int, event_id: int, second: float, kind: str = "event", **data: str
) -> dict[str, Any]:
    whole, fraction = divmod(second, 1)
    return {
        "Kind": kind,
        "RecordId": record,
        "EventId": event_id,
        "TimeCreated": f"2026-11-27T12:00:{int(whole):02d}.{int(fraction * 10**7):07d}Z",
        "Computer": "DC2.group.example.com",
        "Data": data,
    }


def logon(record: int, second: float, logon_id: str, address: str, port: str) -> dict[str, Any]:
    return item(
        record, 4624, second, "logon", TargetLogonId=logon_id, IpAddress=address, IpPort=port
    )


def at(second: float) -> datetime:
    whole, fraction = divmod(second, 1)
    return datetime(2026, 11, 27, 12, 0, int(whole), int(fraction * 10**6), tzinfo=UTC)


def test_value_deleted_and_added_events_of_one_operation_are_one_modify_with_its_client() -> None:
    items = [
        logon(1, 1.0, "0x2a5f1", "::ffff:10.0.0.9", "50123"),
        item(
            2,
            5136,
            5.0,
            OpCorrelationID="{A}",
            ObjectDN=GROUP,
            AttributeLDAPDisplayName="description",
            OperationType="%%14675",
            **ALICE,
        ),
        item(
            3,
            5136,
            5.0,
            OpCorrelationID="{A}",
            ObjectDN=GROUP,
            AttributeLDAPDisplayName="description",
            OperationType="%%14674",
            **ALICE,
        ),
        item(
            4,
            5136,
            5.0,
            OpCorrelationID="{A}",
            ObjectDN=GROUP,
            AttributeLDAPDisplayName="info",
            OperationType="%%14674",
            **ALICE,
        ),
        item(
            5,
            5136,
            9.0,
            OpCorrelationID="{B}",
            ObjectDN=GROUP,
            AttributeLDAPDisplayName="managedBy",
            OperationType="%%14674",
            **ALICE,
        ),
    ]
    events, logons = split_items(items)
    (first, second) = directory_writes("dc2", events, logons, {})
    assert (first.operation, first.dn, first.attributes) == (
        "Modify",
        GROUP,
        ("description", "info"),
    )
    assert (first.time, first.source, first.ok) == (at(5.0), "dc2", True)
    assert (first.user_sid, first.user_name) == (ALICE["SubjectUserSid"], "GROUP\\alice")
    assert (first.session_id, first.remote) == ("dc2/0x2a5f1", "10.0.0.9:50123")
    assert second.attributes == ("managedBy",)


def test_created_deleted_and_moved_objects_keep_their_dns() -> None:
    old, new = (
        f"CN=x,OU=Old,{GROUP[GROUP.index('OU=HQ') :]}",
        f"CN=x,{GROUP[GROUP.index('OU=Groups') :]}",
    )
    items = [
        item(1, 5137, 1.0, ObjectDN=old, ObjectClass="user", **ALICE),
        item(2, 5139, 2.0, OldObjectDN=old, NewObjectDN=new, **ALICE),
        item(3, 5141, 3.0, ObjectDN=new, TreeDelete="%%1842", **ALICE),
    ]
    writes = directory_writes("dc2", *split_items(items), {})
    assert [(w.operation, w.dn, w.old_dn) for w in writes] == [
        ("Add", old, None),
        ("Move", new, old),
        ("Delete", new, None),
    ]
    assert writes[1].detail == f"moved from {old}"


@pytest.mark.parametrize(
    ("event_id", "sign"),
    [(4728, "+"), (4729, "-"), (4732, "+"), (4733, "-"), (4756, "+"), (4757, "-")],
)
def test_group_membership_events_name_the_group_by_its_dn_and_the_member(
    event_id: int, sign: str
) -> None:
    member = "CN=bob,OU=Users,OU=HQ,DC=group,DC=example,DC=com"
    items = [
        item(
            1,
            event_id,
            4.0,
            TargetSid=GROUP_SID,
            TargetUserName="HQ-Finance",
            TargetDomainName="GROUP",
            MemberName=member,
            **ALICE,
        )
    ]
    (write,) = directory_writes("dc2", *split_items(items), {GROUP_SID: GROUP})
    assert (write.operation, write.dn, write.attributes) == ("Modify", GROUP, ("member",))
    assert write.detail == f"{sign} member {member}"


def test_a_group_the_directory_no_longer_has_is_named_as_the_event_names_it() -> None:
    items = [
        item(
            1,
            4728,
            4.0,
            TargetSid=GROUP_SID,
            TargetUserName="Gone",
            TargetDomainName="GROUP",
            MemberName="CN=bob",
            **ALICE,
        )
    ]
    (write,) = directory_writes("dc2", *split_items(items), {})
    assert write.dn == "GROUP\\Gone"


def test_the_5136_of_a_member_change_a_4728_tells_is_dropped_and_others_are_kept() -> None:
    items = [
        item(
            1,
            5136,
            4.0,
            OpCorrelationID="{A}",
            ObjectDN=GROUP,
            AttributeLDAPDisplayName="member",
            OperationType="%%14674",
            **ALICE,
        ),
        item(2, 4728, 4.1, TargetSid=GROUP_SID, MemberName="CN=bob", **ALICE),
        item(
            3,
            5136,
            30.0,
            OpCorrelationID="{B}",
            ObjectDN=GROUP,
            AttributeLDAPDisplayName="member",
            OperationType="%%14674",
            **ALICE,
        ),
    ]
    writes = directory_writes("dc2", *split_items(items), {GROUP_SID: GROUP})
    assert [(w.time, w.detail) for w in writes] == [(at(4.1), "+ member CN=bob"), (at(30.0), None)]


def test_a_session_gets_the_client_of_its_latest_logon_before_the_change() -> None:
    items = [
        logon(1, 1.0, "0x2a5f1", "10.0.0.9", "50123"),
        item(2, 5137, 2.0, ObjectDN=GROUP, **ALICE),
        logon(3, 3.0, "0x2a5f1", "10.0.0.7", "61000"),  # the id again, after a reboot
        item(4, 5141, 4.0, ObjectDN=GROUP, **ALICE),
        item(5, 5137, 5.0, ObjectDN=GROUP, **(ALICE | {"SubjectLogonId": "0x99"})),
        logon(6, 5.5, "0x77", "10.0.0.8", "0"),  # no port: nothing to compare
        item(7, 5141, 6.0, ObjectDN=GROUP, **(ALICE | {"SubjectLogonId": "0x77"})),
    ]
    writes = directory_writes("dc2", *split_items(items), {})
    assert [(w.session_id, w.remote) for w in writes] == [
        ("dc2/0x2a5f1", "10.0.0.9:50123"),
        ("dc2/0x2a5f1", "10.0.0.7:61000"),
        ("dc2/0x99", None),
        ("dc2/0x77", None),
    ]


def test_permission_and_auditing_events_become_share_paths_with_the_parts_changed() -> None:
    roots = {"data": "D:\\Shares\\Data", "Pub": "E:\\Pub"}
    items = [
        item(
            1,
            4670,
            1.0,
            ObjectName="D:\\Shares\\data\\HQ\\Finance",
            OldSd="O:BAD:AI(A;;FA;;;SY)",
            NewSd="O:BAD:AI(A;;FA;;;SY)(A;;FA;;;WD)",
            **ALICE,
        ),
        item(
            2,
            4670,
            2.0,
            ObjectName="D:\\Shares\\data\\HQ",
            OldSd="O:BAD:AI(A;;FA;;;SY)",
            NewSd="O:SYD:AI(A;;FA;;;SY)",
            **ALICE,
        ),
        item(
            3, 4907, 3.0, ObjectName="E:\\Pub", OldSd="S:AI", NewSd="S:AI(AU;SA;FA;;;WD)", **ALICE
        ),
        item(4, 4670, 4.0, ObjectName="D:\\Shares\\database\\x", OldSd="D:", NewSd="D:P", **ALICE),
        item(5, 4670, 5.0, ObjectName="C:\\Windows\\Temp\\y", OldSd="D:", NewSd="D:P", **ALICE),
    ]
    writes = folder_writes("fs2", *split_items(items), roots)
    assert [(w.path, w.operation, w.attributes) for w in writes] == [
        ("\\\\fs2\\data\\HQ\\Finance", "Permissions", ("dacl",)),
        ("\\\\fs2\\data\\HQ", "Permissions", ("owner",)),
        ("\\\\fs2\\Pub", "Auditing", ("sacl",)),
    ]
    assert writes[0].user_name == "GROUP\\alice" and writes[0].session_id == "fs2/0x2a5f1"


@pytest.mark.parametrize(
    ("old", "new", "parts"),
    [
        ("O:BAG:SYD:PAI(A;OICI;FA;;;BA)", "O:BAG:SYD:PAI(A;OICI;FA;;;BA)", ()),
        ("O:BAG:SYD:PAI(A;OICI;FA;;;BA)", "O:BAG:DUD:PAI(A;OICI;FA;;;BA)", ("group",)),
        ("O:DDG:DDD:(A;;FA;;;SY)", "O:DDG:DDD:(A;;FA;;;SY)S:(AU;SA;FA;;;WD)", ("sacl",)),
        ("D:AI(A;OICIID;FA;;;SY)", "D:ARAI(A;OICI;FA;;;WD)(A;OICIID;FA;;;SY)", ("dacl",)),
    ],
)
def test_sddl_parts_that_differ_are_named(old: str, new: str, parts: tuple[str, ...]) -> None:
    assert sd_parts_changed(old, new) == parts


def test_a_path_outside_every_share_maps_to_nothing() -> None:
    assert unc_path("fs2", "D:\\Shares\\data2\\x", {"data": "D:\\Shares\\data"}) is None
    assert unc_path("fs2", "D:\\Shares\\DATA\\", {"data": "D:\\Shares\\data"}) == "\\\\fs2\\data"
