"""Reconciling the DC's write log with the journal, as data: which writes are adsuite's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adsuite.audit.attribution import outside_adsuite
from adsuite.formats.samba_audit import DirectoryWrite, directory_writes, logons
from adsuite.journal.records import ChangeRecord

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
OU = "OU=HQ,DC=group,DC=example,DC=com"


def write(
    dn: str, seconds: float, session: str, op: str = "Modify", port: int = 1
) -> DirectoryWrite:
    return DirectoryWrite(
        T0 + timedelta(seconds=seconds),
        op,
        dn,
        "S-1-5-21-1-2-3-500",
        session,
        f"ipv4:127.0.0.1:{port}",
        ("description",),
        True,
    )


def change(target: str, resource: str, seconds: float, via: str | None = None) -> ChangeRecord:
    at = (T0 + timedelta(seconds=seconds)).isoformat()
    return ChangeRecord(
        "run1", 1, resource, target, "update", {}, {}, "applied", None, at, at, 1, via
    )


def test_writes_in_adsuite_sessions_are_ours_including_side_writes_on_other_objects() -> None:
    writes = [
        write(f"OU=Users,{OU}", 10, "adsuite-session"),
        write(OU, 10, "adsuite-session"),  # the parent's deny-child-delete ACE
        write(f"OU=Users,{OU}", 50, "someone-else"),
        write(f"CN=x,OU=Users,{OU}", 60, "someone-else", "Add"),  # inside a managed OU
        write("CN=unrelated,CN=Users,DC=group,DC=example,DC=com", 70, "someone-else"),
    ]
    found = outside_adsuite(writes, [change(f"OU=Users,{OU}", "ou", 10)], T0)
    assert [(w.dn, w.session_id) for w in found] == [
        (f"OU=Users,{OU}", "someone-else"),
        (f"CN=x,OU=Users,{OU}", "someone-else"),
    ]


def test_a_hand_edit_of_the_same_object_a_moment_later_is_not_taken_for_adsuites() -> None:
    group = f"CN=g,{OU}"
    writes = [
        write(group, 10.0, "adsuite-session", "Add", port=42743),
        write(group, 10.8, "by-hand", port=44919),  # inside the clock slack of the change
    ]
    journaled = [change(group, "group", 10.0, via="127.0.0.1:42743")]
    found = outside_adsuite(writes, journaled, T0)
    assert [(w.session_id, w.remote) for w in found] == [("by-hand", "ipv4:127.0.0.1:44919")]


def test_writes_before_since_and_failed_writes_are_not_listed() -> None:
    failed = DirectoryWrite(T0 + timedelta(seconds=90), "Modify", OU, None, "s", None, (), False)
    writes = [write(OU, 5, "other"), failed]
    assert outside_adsuite(writes, [change(OU, "ou", 1)], T0 + timedelta(seconds=30)) == []


def test_parser_reads_real_samba_lines_and_keeps_no_values() -> None:
    lines = [
        '  {"timestamp": "2026-11-27T12:57:34.441203+0000", "type": "dsdbChange", "dsdbChange": {"version": {"major": 1, "minor": 0}, "statusCode": 0, "status": "Success", "operation": "Add", "remoteAddress": "ipv4:127.0.0.1:37833", "performedAsSystem": false, "userSid": "S-1-5-21-2587809729-3659413899-1471692792-500", "dn": "OU=个人设备,OU=Tbab1973f,DC=group,DC=example,DC=com", "transactionId": "74085a24", "sessionId": "6801491f", "attributes": {"unicodePwd": {"actions": [{"action": "add", "values": [{"redacted": true}]}]}, "ou": {"actions": []}}}}',
        '  {"timestamp": "2026-11-27T12:41:44.261304+0000", "type": "Authentication", "Authentication": {"version": {"major": 1, "minor": 2}, "eventId": 4624, "logonType": 3, "status": "NT_STATUS_OK", "remoteAddress": "ipv4:127.0.0.1:50544", "serviceDescription": "SMB2", "authDescription": "NTLMSSP", "clientDomain": "GROUP", "clientAccount": "Administrator", "becameSid": "S-1-5-21-1-2-3-500"}}',
        "not json at all",
    ]
    (written,) = directory_writes(lines)
    assert written.dn == "OU=个人设备,OU=Tbab1973f,DC=group,DC=example,DC=com"
    assert written.attributes == ("ou", "unicodePwd")
    assert written.session_id == "6801491f" and written.ok
    (logon,) = logons(lines)
    assert (logon.event_id, logon.account, logon.sid, logon.service) == (
        4624,
        "Administrator",
        "S-1-5-21-1-2-3-500",
        "SMB2",
    )
