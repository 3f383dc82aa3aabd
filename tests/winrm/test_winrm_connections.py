"""Reaching hosts: retries, certificates, unreachable hosts and parallel runs, proved
against FAKE endpoints (these need to steer the fake, so they have no live mode)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from conftest import fake_target
from fakes.fake_winrm_endpoint import FakeWinRmEndpoint, unused_port
from twins import TWINS

from adsuite.connectors.winrm import (
    ScriptResult,
    WinRmError,
    WinRmSessions,
    WinRmUnreachable,
    open_session,
)

StartEndpoints = Callable[[int], list[FakeWinRmEndpoint]]


def _retry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]


def test_unreachable_host_raises_after_the_bounded_retries(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    target = fake_target(
        fake_winrm_endpoint, client, url=f"https://127.0.0.1:{unused_port()}/wsman"
    )
    with pytest.raises(WinRmUnreachable) as raised:
        open_session(target)
    assert "cannot connect to fake1" in str(raised.value)
    assert len(_retry_warnings(caplog)) == target.retries == 2


def test_connection_dropped_while_opening_is_retried_and_then_works(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str
) -> None:
    fake_winrm_endpoint.answer("echo_parameters", TWINS["echo_parameters"])
    fake_winrm_endpoint.drop_connections = 2
    with open_session(fake_target(fake_winrm_endpoint, client)) as session:
        result = session.run("echo_parameters", {"Text": "made it"})
    assert result.output[0]["Text"] == "made it"
    assert fake_winrm_endpoint.requests["Create"] == 1
    assert fake_winrm_endpoint.connections >= 3


def test_connection_dropped_more_often_than_the_retries_gives_up(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str
) -> None:
    fake_winrm_endpoint.drop_connections = 10
    with pytest.raises(WinRmUnreachable):
        open_session(fake_target(fake_winrm_endpoint, client, retries=1))
    assert fake_winrm_endpoint.connections == 2


def test_certificate_from_an_untrusted_ca_is_refused_without_retrying(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    target = fake_target(fake_winrm_endpoint, client, ca_file=None)  # the system CAs only
    with pytest.raises(WinRmUnreachable) as raised:
        open_session(target)
    assert "not trusted" in str(raised.value) and raised.value.hint
    assert _retry_warnings(caplog) == []
    assert fake_winrm_endpoint.requests["Create"] == 0


def test_hosts_run_in_parallel_but_never_more_than_max_workers(
    fake_winrm_endpoints: StartEndpoints, client: str
) -> None:
    endpoints = fake_winrm_endpoints(4)
    targets = {f"host{n}": fake_target(e, client, name=f"host{n}") for n, e in enumerate(endpoints)}
    for endpoint in endpoints:
        endpoint.answer("sleep_seconds", TWINS["sleep_seconds"])
    sessions = WinRmSessions(targets.__getitem__, max_workers=2)
    try:
        started = time.monotonic()
        results = sessions.run_on_hosts(targets, "sleep_seconds", {"Seconds": 1})
        elapsed = time.monotonic() - started
    finally:
        sessions.close()
    assert all(isinstance(r, ScriptResult) and r.output == ["woke"] for r in results.values())
    assert endpoints[0].meter.most == 2
    assert 1.9 <= elapsed < 4.5  # two waves of one second each, plus session set-up


def test_a_host_that_fails_is_its_own_result_and_the_others_still_run(
    fake_winrm_endpoints: StartEndpoints, client: str
) -> None:
    good, other = fake_winrm_endpoints(2)
    targets = {
        "good": fake_target(good, client, name="good"),
        "down": fake_target(
            good, client, name="down", url=f"https://127.0.0.1:{unused_port()}/wsman", retries=0
        ),
        "other": fake_target(other, client, name="other"),
    }
    for endpoint in (good, other):
        endpoint.answer("echo_parameters", TWINS["echo_parameters"])
    sessions = WinRmSessions(targets.__getitem__, max_workers=3)
    try:
        results = sessions.run_on_hosts(targets, "echo_parameters", lambda host: {"Text": host})
    finally:
        sessions.close()
    assert isinstance(results["down"], WinRmUnreachable)
    assert isinstance(results["down"], WinRmError) and results["down"].host == "down"
    for name in ("good", "other"):
        result = results[name]
        assert isinstance(result, ScriptResult) and result.output[0]["Text"] == name


def test_sessions_open_each_host_once_across_parallel_runs(
    fake_winrm_endpoints: StartEndpoints, client: str
) -> None:
    endpoints = fake_winrm_endpoints(2)
    targets = {f"h{n}": fake_target(e, client, name=f"h{n}") for n, e in enumerate(endpoints)}
    for endpoint in endpoints:
        endpoint.answer("echo_parameters", TWINS["echo_parameters"])
    sessions = WinRmSessions(targets.__getitem__, max_workers=2)
    try:
        for _ in range(3):
            sessions.run_on_hosts(targets, "echo_parameters", {"Text": "again"})
    finally:
        sessions.close()
    assert [e.requests["Create"] for e in endpoints] == [1, 1]
    assert [e.requests["Command"] for e in endpoints] == [3, 3]


def test_max_workers_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        WinRmSessions(lambda host: None, max_workers=0)  # type: ignore[arg-type, return-value]


def test_target_repr_never_shows_the_password(fake_winrm_endpoint: FakeWinRmEndpoint) -> None:
    target = fake_target(fake_winrm_endpoint, "pypsrp")
    assert target.password.reveal() not in repr(target)
