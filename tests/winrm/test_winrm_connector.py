"""The WinRM connector against a FAKE endpoint (or a live host: see conftest.py).

Against the fake, these tests prove what crosses the wire: the real pypsrp and pywinrm
clients, HTTPS with a validated certificate, NTLM with channel binding, parameters as
data, output, error and warning records, timeouts and sessions. The fake answers every
script from a canned twin (twins.py), so they prove nothing about what PowerShell does
with a script; the live mode runs the real scripts.
"""

from __future__ import annotations

import logging
import time

import pytest
from conftest import WinRmHost, fake_target
from twins import STREAMS_LABEL, THROW_REASON, TWINS

from adsuite.connectors.credentials import Secret
from adsuite.connectors.winrm import (
    PsError,
    WinRmAuthFailed,
    WinRmScriptFailed,
    WinRmSessions,
    WinRmTimeout,
    open_session,
)
from adsuite.errors import ConnectionFailed

HOSTILE_VALUES = [
    "it's",
    'say "hi"',
    "$env:COMPUTERNAME $(Get-Date) ${x}",
    "`n`t back`tick`",
    "line one\nline two\r\nline three\r",
    "'; Remove-Item -Recurse C:\\ ; '",
    '"; exit 1; "',
    "@(1,2) | ForEach-Object { $_ }",
    "_x0041_ stays literal",
    "中文 Ünïcödé 😀 \u200b",
    "  leading and trailing spaces  ",
    "",
]


def _answer_all(host: WinRmHost) -> None:
    for name, twin in TWINS.items():
        host.answer(name, twin)


@pytest.fixture
def host(winrm_host: WinRmHost) -> WinRmHost:
    _answer_all(winrm_host)
    return winrm_host


def test_objects_come_back_as_dicts_with_their_types(host: WinRmHost) -> None:
    with open_session(host.target) as session:
        result = session.run("echo_parameters", {"Text": "abc", "Items": ["x", "y"], "Number": 7})
    assert result.output == [{"Text": "abc", "Items": ["x", "y"], "Number": 7}]
    assert isinstance(result.output[0]["Number"], int)
    assert (result.errors, result.warnings, result.had_errors) == ([], [], False)


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
def test_hostile_values_arrive_as_data_byte_for_byte(host: WinRmHost, value: str) -> None:
    with open_session(host.target) as session:
        result = session.run("echo_parameters", {"Text": value, "Items": [value, value]})
    assert result.output == [{"Text": value, "Items": [value, value], "Number": 0}]
    if host.fake is not None:
        assert host.fake.calls[-1].parameters == {"Text": value, "Items": [value, value]}


def test_error_and_warning_streams_come_back_without_failing_the_run(host: WinRmHost) -> None:
    with open_session(host.target) as session:
        result = session.run("write_streams", {"Label": STREAMS_LABEL})
    assert result.output == [{"Label": STREAMS_LABEL, "Done": True}]
    assert result.warnings == [f"warning about {STREAMS_LABEL}"]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.message, error.category) == (
        f"non-terminating error about {STREAMS_LABEL}",
        "ObjectNotFound",
    )
    assert (error.error_id or "").startswith("AdsuiteTestError")
    assert result.had_errors


def test_terminating_error_raises_script_failed_with_its_message_not_the_values(
    host: WinRmHost,
) -> None:
    secret = "S3cret-Value-Never-Shown"
    with open_session(host.target) as session:
        with pytest.raises(WinRmScriptFailed) as raised:
            session.run("throw_error", {"Reason": THROW_REASON, "Secret": secret})
        after = session.run("echo_parameters", {"Text": "still open"})
    assert raised.value.script == "throw_error"
    assert f"terminating failure: {THROW_REASON}" in str(raised.value)
    assert "throw_error" in str(raised.value)
    assert secret not in str(raised.value) and secret not in repr(raised.value.args)
    assert after.output[0]["Text"] == "still open"
    if host.fake is not None:  # the failed command was released too, not left on the host
        assert host.fake.requests["Signal"] == 2


def test_script_past_its_timeout_is_stopped_and_the_session_still_works(host: WinRmHost) -> None:
    with open_session(host.target) as session:
        started = time.monotonic()
        with pytest.raises(WinRmTimeout) as raised:
            session.run("sleep_seconds", {"Seconds": 30}, timeout=2)
        elapsed = time.monotonic() - started
        after = session.run("echo_parameters", {"Text": "after the timeout"})
    assert 1 <= elapsed < 8
    assert (raised.value.script, raised.value.seconds) == ("sleep_seconds", 2)
    assert after.output[0]["Text"] == "after the timeout"
    if host.fake is not None:
        assert host.fake.requests["Signal"] >= 1  # the stop reached the host


def test_wrong_password_raises_auth_failed_and_is_not_retried(host: WinRmHost) -> None:
    wrong = "Wrong-Passw0rd-Not-Shown"
    target = host.target.__class__(**{**host.target.__dict__, "password": Secret(wrong)})
    with pytest.raises(WinRmAuthFailed) as raised:
        open_session(target)
    assert isinstance(raised.value, ConnectionFailed)
    assert wrong not in str(raised.value) and wrong not in (raised.value.hint or "")
    if host.fake is not None:
        assert host.fake.requests["Create"] == 0
        assert host.fake.connections == 1


def test_many_items_travel_in_one_round_trip(host: WinRmHost) -> None:
    items = [
        f"CN=user{index:05d},OU=Users,OU=HQ,DC=group,DC=example,DC=com" for index in range(10000)
    ]
    with open_session(host.target) as session:
        result = session.run("echo_parameters", {"Text": "bulk", "Items": items})
    assert result.output[0]["Items"] == items
    if host.fake is not None:
        assert host.fake.requests["Command"] == 1
        assert host.fake.requests["Send"] >= 1  # too big for one envelope: the rest came in Send


def test_no_parameter_value_reaches_the_logs(
    host: WinRmHost, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Log-Secret-9f3c"
    caplog.set_level(logging.DEBUG)
    with open_session(host.target) as session:
        session.run("echo_parameters", {"Text": secret, "Items": [secret]})
        with pytest.raises(WinRmScriptFailed):
            session.run("throw_error", {"Reason": "x", "Secret": secret})
    # psrpcore logs here only as the fake's server side, which stands for the remote host
    client_side = [record for record in caplog.records if not record.name.startswith("psrpcore")]
    text = "\n".join(record.getMessage() for record in client_side)
    assert any(
        record.name.startswith("pypsrp") or record.name.startswith("urllib3")
        for record in client_side
    )
    assert "echo_parameters" in text  # adsuite logged the run: the check is not vacuous
    assert secret not in text


def test_one_session_serves_many_runs(host: WinRmHost) -> None:
    fake = host.require_fake()
    sessions = WinRmSessions({"fake1": host.target}.__getitem__)
    try:
        for number in range(3):
            sessions.run("fake1", "echo_parameters", {"Text": str(number)})
    finally:
        sessions.close()
    assert fake.requests["Create"] == 1
    assert fake.requests["Command"] == 3
    assert fake.requests["Delete"] == 1


def test_unknown_script_text_fails_at_the_fake_with_a_script_failure(host: WinRmHost) -> None:
    fake = host.require_fake()
    fake.canned.clear()
    with open_session(host.target) as session, pytest.raises(WinRmScriptFailed) as raised:
        session.run("echo_parameters", {"Text": "x"})
    assert "no canned answer" in str(raised.value)


def test_non_terminating_error_alone_is_reported_not_raised(host: WinRmHost) -> None:
    host.answer(
        "echo_parameters",
        TWINS["write_streams"].__class__(errors=TWINS["write_streams"].errors),
    )
    host.require_fake()
    with open_session(host.target) as session:
        result = session.run("echo_parameters", {"Text": "x"})
    assert result.output == []
    assert result.errors == [
        PsError(
            f"non-terminating error about {STREAMS_LABEL}",
            error_id="AdsuiteTestError",
            category="ObjectNotFound",
        )
    ]


def test_target_is_built_for_the_fake_with_its_ca(host: WinRmHost) -> None:
    fake = host.require_fake()
    assert fake_target(fake, host.target.client).ca_file == fake.ca_file


def test_logon_events_script_gets_its_values_and_returns_records(host: WinRmHost) -> None:
    """Shipped get_logon_events.ps1 over the wire: a record id beyond Int32 and an
    account with a quote arrive intact; the fake's records have the real script's shape."""
    fake = host.require_fake()
    record = {
        "RecordId": 5_000_000_123,
        "EventId": 4624,
        "TimeCreated": "2026-11-27T12:45:38.1234567Z",
        "Computer": "dc1.group.example.com",
        "Data": {"TargetUserName": "o'brien", "LogonType": "3", "IpAddress": "172.16.0.10"},
    }
    host.answer("get_logon_events", TWINS["echo_parameters"].__class__(output=[record]))
    parameters = {
        "EventIds": [4624, 4625],
        "Accounts": ["admin", "o'brien"],
        "AfterRecordId": 5_000_000_000,
    }
    with open_session(host.target) as session:
        result = session.run("get_logon_events", parameters)
    assert fake.calls[-1].parameters == parameters
    assert result.output == [record]
