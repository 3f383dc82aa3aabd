"""Collecting change events from Windows DCs and file servers over WinRM (FAKE endpoint).

The fake answers ``get_security_changes`` and ``get_share_paths`` from a FAKE Security
log (``fakes.fake_security_log``) that does what the scripts' XPath filters do, so these
tests prove the parameters sent (event ids, the time window, the record id of the next
batch, the object types), the batching, the parsing into writes and the handling of
failures, with the real pypsrp and pywinrm clients. They prove nothing about what
Windows logs. The live variants run the real scripts against ADSUITE_TEST_WINRM_HOST
and are skipped without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from conftest import WinRmHost, fake_target
from fakes.fake_security_log import FakeSecurityLog
from fakes.fake_winrm_canned import CannedError, CannedScript
from fakes.fake_winrm_endpoint import FakeWinRmEndpoint

from adsuite.audit import collect as audit_collect
from adsuite.audit.windows import (
    DIRECTORY_EVENTS,
    FOLDER_EVENTS,
    directory_writes,
    folder_writes,
)
from adsuite.connectors.credentials import Secret
from adsuite.connectors.winrm import WinRmSessions, WinRmTarget

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GROUP = "CN=HQ-Finance,OU=Groups,OU=HQ,DC=group,DC=example,DC=com"
ALICE = {
    "SubjectUserSid": "S-1-5-21-1-2-3-1201",
    "SubjectUserName": "alice",
    "SubjectDomainName": "GROUP",
}


def _dc_log() -> FakeSecurityLog:
    log = FakeSecurityLog()
    log.add(
        5136,
        NOW - timedelta(hours=2),
        ObjectDN=GROUP,
        AttributeLDAPDisplayName="info",
        OpCorrelationID="{0}",
        SubjectLogonId="0x10",
        **ALICE,
    )
    log.logon(NOW - timedelta(minutes=50), "0x11", "10.0.0.9", "50123")
    for n in range(5):
        log.add(
            5136,
            NOW - timedelta(minutes=40 - n),
            ObjectDN=GROUP,
            AttributeLDAPDisplayName="description",
            OpCorrelationID=f"{{{n}}}",
            OperationType="%%14674",
            AttributeValue="secret-ish value",
            SubjectLogonId="0x11",
            **ALICE,
        )
    log.add(
        4728,
        NOW - timedelta(minutes=30),
        TargetSid="S-1-5-21-1-2-3-1105",
        MemberName="CN=bob",
        SubjectLogonId="0x3e7",
        **ALICE,
    )
    log.add(
        4624, NOW - timedelta(minutes=20), TargetLogonId="0x99", IpAddress="10.0.0.1", IpPort="1"
    )  # no change of its own
    return log


def _sessions(target: WinRmTarget) -> WinRmSessions:
    return WinRmSessions(lambda host: target)


def test_dc_events_come_in_batches_inside_the_window_with_the_logons_of_their_sessions(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_collect, "BATCH", 2)
    log = _dc_log()
    for script, canned in log.canned().items():
        fake_winrm_endpoint.answer(script, canned)
    sessions = _sessions(fake_target(fake_winrm_endpoint, client))
    try:
        found = audit_collect.collect(
            sessions, {"dc2": "dc2"}, DIRECTORY_EVENTS, NOW - timedelta(hours=1), NOW
        )
    finally:
        sessions.close()
    host = found["dc2"]
    assert host.error is None and not host.cut_short
    assert [e.event_id for e in host.events] == [5136] * 5 + [4728]  # the one 2 h ago is outside
    calls = fake_winrm_endpoint.calls_of("get_security_changes")
    assert [c.parameters["AfterRecordId"] for c in calls] == [0, 103, 105, 107]
    assert calls[0].parameters["EventIds"] == list(DIRECTORY_EVENTS)
    assert (calls[0].parameters["StartTime"], calls[0].parameters["EndTime"]) == (
        "2026-11-27T11:00:00.000Z",
        "2026-11-27T12:00:00.000Z",
    )
    writes = directory_writes("dc2", host.events, host.logons, {"S-1-5-21-1-2-3-1105": GROUP})
    assert {w.remote for w in writes if w.attributes == ("description",)} == {"10.0.0.9:50123"}
    assert [w.detail for w in writes if w.detail] == ["+ member CN=bob"]
    assert all("secret" not in repr(e.data) for e in host.events)


def test_more_events_than_the_rounds_allow_is_reported_as_cut_short(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_collect, "BATCH", 1)
    monkeypatch.setattr(audit_collect, "MAX_ROUNDS", 2)
    fake_winrm_endpoint.answer("get_security_changes", _dc_log().canned()["get_security_changes"])
    sessions = _sessions(fake_target(fake_winrm_endpoint, client))
    try:
        found = audit_collect.collect(
            sessions, {"dc2": "dc2"}, DIRECTORY_EVENTS, NOW - timedelta(hours=1), NOW
        )
    finally:
        sessions.close()
    assert found["dc2"].cut_short and len(found["dc2"].events) == 2


def test_file_server_events_are_asked_for_files_only_and_map_to_share_paths(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str
) -> None:
    log = FakeSecurityLog(computer="FS2.group.example.com", shares={"Data": "D:\\Shares\\Data"})
    log.add(
        4670,
        NOW - timedelta(minutes=5),
        ObjectType="File",
        ObjectName="D:\\Shares\\Data\\HQ",
        OldSd="D:(A;;FA;;;SY)",
        NewSd="D:(A;;FA;;;SY)(A;;FA;;;WD)",
        SubjectLogonId="0x20",
        **ALICE,
    )
    log.add(
        4670,
        NOW - timedelta(minutes=4),
        ObjectType="Token",
        ObjectName="-",
        SubjectLogonId="0x20",
        **ALICE,
    )
    log.add(
        4907,
        NOW - timedelta(minutes=3),
        ObjectType="File",
        ObjectName="D:\\Shares\\Data\\HQ\\x",
        OldSd="S:",
        NewSd="S:(AU;SA;FA;;;WD)",
        SubjectLogonId="0x20",
        **ALICE,
    )
    for script, canned in log.canned().items():
        fake_winrm_endpoint.answer(script, canned)
    sessions = _sessions(fake_target(fake_winrm_endpoint, client))
    try:
        roots = audit_collect.share_roots(sessions, {"fs2": ["data", "missing"]})
        found = audit_collect.collect(
            sessions, {"fs2": "fs2"}, FOLDER_EVENTS, NOW - timedelta(hours=1), NOW, ["File"]
        )
    finally:
        sessions.close()
    assert roots == {"fs2": {"data": "D:\\Shares\\Data"}}
    assert fake_winrm_endpoint.calls_of("get_security_changes")[0].parameters["ObjectTypes"] == [
        "File"
    ]
    root = roots["fs2"]
    assert isinstance(root, dict)
    writes = folder_writes("fs2", found["fs2"].events, found["fs2"].logons, root)
    assert [(w.path, w.operation, w.attributes) for w in writes] == [
        ("\\\\fs2\\data\\HQ", "Permissions", ("dacl",)),
        ("\\\\fs2\\data\\HQ\\x", "Auditing", ("sacl",)),
    ]


@pytest.mark.parametrize(
    ("canned", "words"),
    [
        (
            CannedScript(fails_with=CannedError("Attempted to perform an unauthorized operation.")),
            "unauthorized operation",
        ),
        (CannedScript(errors=[CannedError("The specified query is invalid")]), "query is invalid"),
    ],
    ids=["script-fails", "error-record"],
)
def test_a_host_that_cannot_be_read_is_that_hosts_error_and_the_others_are_read(
    fake_winrm_endpoints: Callable[[int], list[FakeWinRmEndpoint]],
    client: str,
    canned: CannedScript,
    words: str,
) -> None:
    broken, working = fake_winrm_endpoints(2)
    broken.answer("get_security_changes", canned)
    working.answer("get_security_changes", _dc_log().canned()["get_security_changes"])
    targets = {
        "dc2": fake_target(broken, client, "dc2"),
        "dc3": fake_target(working, client, "dc3"),
    }
    sessions = WinRmSessions(targets.__getitem__)
    try:
        found = audit_collect.collect(
            sessions, {"dc2": "dc2", "dc3": "dc3"}, DIRECTORY_EVENTS, NOW - timedelta(hours=1), NOW
        )
    finally:
        sessions.close()
    assert found["dc2"].error is not None and words in found["dc2"].error.lower()
    assert found["dc3"].error is None and len(found["dc3"].events) == 6


def test_change_collection_runs_and_parses_on_the_host(winrm_host: WinRmHost) -> None:
    """Live: the real script on a real DC (its last hour); fake: the twin."""
    log = _dc_log()
    for script, canned in log.canned().items():
        winrm_host.answer(script, canned)
    end = NOW if winrm_host.fake is not None else datetime.now(UTC)
    sessions = _sessions(winrm_host.target)
    try:
        found = audit_collect.collect(
            sessions, {"dc": "dc"}, DIRECTORY_EVENTS, end - timedelta(hours=1), end
        )
    finally:
        sessions.close()
    host = found["dc"]
    assert host.error is None, host.error
    writes = directory_writes("dc", host.events, host.logons, {})
    assert all(end - timedelta(hours=1) <= w.time <= end for w in writes)
    assert all(w.session_id is None or w.session_id.startswith("dc/0x") for w in writes)
    assert all("AttributeValue" not in e.data for e in host.events)


def test_share_paths_come_back_for_existing_shares_only(winrm_host: WinRmHost) -> None:
    """Live: ADSUITE_TEST_WINRM_SHARE (default ADMIN$, which every Windows host has)."""
    share = os.environ.get("ADSUITE_TEST_WINRM_SHARE", "ADMIN$")
    log = FakeSecurityLog(shares={share: "C:\\Windows"})
    for script, canned in log.canned().items():
        winrm_host.answer(script, canned)
    sessions = _sessions(winrm_host.target)
    try:
        roots = audit_collect.share_roots(sessions, {"h": [share, "no-such-share-adsuite"]})
    finally:
        sessions.close()
    found = roots["h"]
    assert isinstance(found, dict) and list(found) == [share.casefold()]
    assert found[share.casefold()].endswith("\\") is False and ":\\" in found[share.casefold()]


def test_wrong_credentials_are_that_hosts_error_without_the_password(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str
) -> None:
    fake_winrm_endpoint.answer("get_security_changes", _dc_log().canned()["get_security_changes"])
    wrong = "Wrong-Passw0rd-Not-Shown"
    sessions = _sessions(fake_target(fake_winrm_endpoint, client, password=Secret(wrong)))
    try:
        found = audit_collect.collect(
            sessions, {"dc2": "dc2"}, DIRECTORY_EVENTS, NOW - timedelta(hours=1), NOW
        )
    finally:
        sessions.close()
    assert found["dc2"].error is not None and wrong not in found["dc2"].error
    assert found["dc2"].events == [] and fake_winrm_endpoint.calls_of("get_security_changes") == []
