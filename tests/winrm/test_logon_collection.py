"""Collecting super-administrator logons from Windows DCs over WinRM (FAKE endpoint).

The fake answers ``get_logon_events`` from a canned twin that does what the script's
XPath filter does — event ids, accounts (TargetUserName or SubjectUserName), record ids
after ``AfterRecordId``, at most ``MaxEvents`` — so these tests prove the batching, the
incremental watermark (journaled and read back), the parameters sent and the handling
of auth failure, a failing script and a timeout, with the real pypsrp and pywinrm
clients. They prove nothing about what Windows' Get-WinEvent returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import fake_target
from fakes.fake_winrm_canned import CannedError, CannedScript
from fakes.fake_winrm_endpoint import FakeWinRmEndpoint

from adsuite.admin import collect as collectlib
from adsuite.admin.events import EVENT_IDS, Watched
from adsuite.admin.store import EventStore
from adsuite.admin.usage import record_collections, watermarks
from adsuite.connectors.credentials import Secret
from adsuite.connectors.winrm import WinRmSessions, WinRmTarget
from adsuite.journal.store import Journal

WATCHED = Watched(
    frozenset({"administrator", "adm.ops"}),
    {"S-1-5-21-1-2-3-500": "administrator"},
    {},
    "GROUP.EXAMPLE.COM",
)


def _event(record: int, event_id: int, **data: str) -> dict[str, Any]:
    return {
        "RecordId": record,
        "EventId": event_id,
        "TimeCreated": f"2026-11-27T12:00:{record % 60:02d}.0000000Z",
        "Computer": "DC2.group.example.com",
        "Data": data,
    }


class SecurityLog:
    """The DC's Security log as the fake's twin of get_logon_events.ps1 reads it."""

    def __init__(self) -> None:
        self.events = [
            _event(10, 4624, TargetUserName="Administrator", IpAddress="10.0.0.5", LogonType="3"),
            _event(11, 4672, SubjectUserName="Administrator", SubjectUserSid="S-1-5-21-1-2-3-500"),
            _event(12, 4624, TargetUserName="li.na", IpAddress="10.0.0.9"),  # not watched
            _event(13, 4769, TargetUserName="adm.ops@GROUP.EXAMPLE.COM", Status="0x0"),
            _event(14, 4625, TargetUserName="adm.ops", IpAddress="10.0.0.7", Status="0xc000006d"),
            _event(15, 4624, TargetUserName="adm.ops", IpAddress="10.0.0.7"),
        ]

    def answer(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        accounts = {a.lower() for a in parameters["Accounts"]}
        ids = set(parameters["EventIds"])
        after = int(parameters.get("AfterRecordId", 0))
        found = [
            e
            for e in self.events
            if e["RecordId"] > after
            and e["EventId"] in ids
            and {str(v).lower() for k, v in e["Data"].items() if k.endswith("UserName")} & accounts
        ]
        return found[: int(parameters.get("MaxEvents", 5000))]


def _collect(target: WinRmTarget, marks: dict[str, str | None]) -> collectlib.DcCollection:
    sessions = WinRmSessions(lambda host: target)
    try:
        (found,) = collectlib.collect_windows(sessions, {"dc2": "dc2"}, WATCHED, marks)
    finally:
        sessions.close()
    return found


def test_events_come_in_batches_after_the_watermark_and_are_stored_once(
    fake_winrm_endpoint: FakeWinRmEndpoint,
    client: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(collectlib, "BATCH", 2)
    log = SecurityLog()
    fake_winrm_endpoint.answer("get_logon_events", CannedScript(output=log.answer))
    target = fake_target(fake_winrm_endpoint, client)
    path = tmp_path / "journal.sqlite"

    first = _collect_and_record(target, path)
    assert [(e.record, e.account, e.ok) for e in first.events] == [
        ("10", "administrator", True),
        ("11", "administrator", True),
        ("13", "adm.ops", True),
        ("14", "adm.ops", False),
        ("15", "adm.ops", True),
    ]
    calls = fake_winrm_endpoint.calls_of("get_logon_events")
    assert [c.parameters["AfterRecordId"] for c in calls] == [0, 11, 14]  # batches of 2
    assert calls[0].parameters["EventIds"] == list(EVENT_IDS)
    assert "adm.ops@GROUP.EXAMPLE.COM" in calls[0].parameters["Accounts"]
    assert first.after == "15"

    log.events.append(_event(16, 4624, TargetUserName="Administrator", IpAddress="10.0.0.5"))
    second = _collect_and_record(target, path)
    assert [e.record for e in second.events] == ["16"]
    assert fake_winrm_endpoint.calls_of("get_logon_events")[3].parameters["AfterRecordId"] == 15
    with EventStore(path) as store:
        assert [e.record for e in store.events()] == ["10", "11", "13", "14", "15", "16"]


def _collect_and_record(target: WinRmTarget, path: Path) -> collectlib.DcCollection:
    with Journal.open(path) as journal:
        marks: dict[str, str | None] = dict(watermarks(journal))
        run = journal.start_run(mode="usage", operator={"os_user": "test"})
        found = _collect(target, marks)
        with EventStore(path) as store:
            assert record_collections(journal, store, run, [found]) == []
        journal.finish_run(run, status="ok", counts={})
    return found


@pytest.mark.parametrize(
    ("canned", "words"),
    [
        (CannedScript(fails_with=CannedError("Attempted to perform an unauthorized operation.")),
         "unauthorized operation"),
        (CannedScript(errors=[CannedError("The Security log cannot be read")]),
         "Security log cannot be read"),
        (CannedScript(output=["never"], sleeps=30.0), "ran longer than 2s and was stopped"),
    ],
    ids=["script-fails", "error-record", "timeout"],
)  # fmt: skip
def test_a_dc_that_cannot_be_read_is_an_error_of_that_dc_and_its_watermark_stays(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str, canned: CannedScript, words: str
) -> None:
    fake_winrm_endpoint.answer("get_logon_events", canned)
    target = fake_target(fake_winrm_endpoint, client, timeout=2.0)
    found = _collect(target, {"dc2": "41"})
    assert found.error is not None and words.lower() in found.error.lower()
    assert (found.events, found.after) == ([], "41")


def test_wrong_credentials_are_an_error_of_that_dc_without_the_password(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str
) -> None:
    fake_winrm_endpoint.answer("get_logon_events", CannedScript(output=SecurityLog().answer))
    wrong = "Wrong-Passw0rd-Not-Shown"
    target = fake_target(fake_winrm_endpoint, client, password=Secret(wrong))
    found = _collect(target, {})
    assert found.error is not None and wrong not in found.error
    assert "dc2" in found.error or "fake1" in found.error
    assert found.events == [] and fake_winrm_endpoint.calls_of("get_logon_events") == []
