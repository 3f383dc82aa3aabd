"""Fixtures for the WinRM connector tests: a FAKE endpoint by default, a real host on demand.

``winrm_host`` gives every test twice: against a FAKE endpoint, and against a live
host. Live mode: set ADSUITE_TEST_WINRM_HOST (a host name, or a full
https://host:5986/wsman URL), ADSUITE_TEST_WINRM_USER, ADSUITE_TEST_WINRM_PASSWORD, and
optionally ADSUITE_TEST_WINRM_TRANSPORT (ntlm, kerberos or credssp; default ntlm) and
ADSUITE_TEST_WINRM_CA (the CA file that issued the host's certificate). The test
scripts in ``tests/winrm/powershell`` then really run there and their canned twins are
not used. Without the variables every live variant is reported as skipped, never as
passed; tests that look inside the fake (counting requests) skip their live variant.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_tls import FakeTls, make_fake_tls
from fakes.fake_winrm_canned import CannedScript
from fakes.fake_winrm_endpoint import FakeWinRmEndpoint, fake_endpoints

from adsuite.connectors.credentials import Secret
from adsuite.connectors.winrm import WinRmTarget

FAKE_USER = "adsuite-fake-admin"
FAKE_PASSWORD = "Fake-Passw0rd!"
TEST_TEMPLATES = Path(__file__).parent
LIVE_HOST = os.environ.get("ADSUITE_TEST_WINRM_HOST")


@dataclass
class WinRmHost:
    """A host for a test: a fake endpoint (``fake`` set) or the live host (``fake`` None)."""

    target: WinRmTarget
    fake: FakeWinRmEndpoint | None

    def answer(self, script: str, canned: CannedScript) -> None:
        """Declare the fake's answer to ``script``; live, the real script answers."""
        if self.fake is not None:
            self.fake.answer(script, canned)

    def require_fake(self) -> FakeWinRmEndpoint:
        if self.fake is None:
            pytest.skip("looks inside the fake endpoint; not possible against a live host")
        return self.fake


@pytest.fixture(autouse=True)
def _test_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test scripts come from tests/winrm/powershell; shipped ones stay reachable."""
    monkeypatch.setenv("ADSUITE_TEMPLATES", str(TEST_TEMPLATES))


@pytest.fixture(scope="session")
def fake_tls(tmp_path_factory: pytest.TempPathFactory) -> FakeTls:
    return make_fake_tls(tmp_path_factory.mktemp("fake-winrm-tls"))


@pytest.fixture
def fake_winrm_endpoint(fake_tls: FakeTls) -> Iterator[FakeWinRmEndpoint]:
    """One FAKE WinRM endpoint over HTTPS (NTLM) on 127.0.0.1."""
    yield from (
        endpoints[0] for endpoints in fake_endpoints(1, {FAKE_USER: FAKE_PASSWORD}, fake_tls)
    )


@pytest.fixture
def fake_winrm_endpoints(fake_tls: FakeTls) -> Iterator[Callable[[int], list[FakeWinRmEndpoint]]]:
    """Start N FAKE endpoints (different ports, one shared concurrency meter)."""
    running: list[Generator[list[FakeWinRmEndpoint], None, None]] = []

    def start(count: int) -> list[FakeWinRmEndpoint]:
        generator = fake_endpoints(count, {FAKE_USER: FAKE_PASSWORD}, fake_tls)
        running.append(generator)
        return next(generator)

    yield start
    for generator in running:
        generator.close()


@pytest.fixture(params=["pypsrp", "pywinrm"])
def client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def fake_target(
    endpoint: FakeWinRmEndpoint, client: str, name: str = "fake1", **changes: Any
) -> WinRmTarget:
    values: dict[str, Any] = {
        "name": name,
        "url": endpoint.url,
        "username": FAKE_USER,
        "password": Secret(FAKE_PASSWORD),
        "client": client,
        "auth": "ntlm",
        "ca_file": endpoint.ca_file,
        "timeout": 10.0,
        "connect_timeout": 5.0,
        "retries": 2,
        "retry_backoff": 0.01,
    }
    values.update(changes)
    return WinRmTarget(**values)


def live_target(client: str) -> WinRmTarget:
    assert LIVE_HOST is not None
    url = LIVE_HOST if "://" in LIVE_HOST else f"https://{LIVE_HOST}:5986/wsman"
    ca = os.environ.get("ADSUITE_TEST_WINRM_CA")
    return WinRmTarget(
        name="live",
        url=url,
        username=os.environ.get("ADSUITE_TEST_WINRM_USER", ""),
        password=Secret(os.environ.get("ADSUITE_TEST_WINRM_PASSWORD", "")),
        client=client,  # type: ignore[arg-type]
        auth=os.environ.get("ADSUITE_TEST_WINRM_TRANSPORT", "ntlm"),  # type: ignore[arg-type]
        ca_file=Path(ca) if ca else None,
        timeout=60.0,
    )


@pytest.fixture(params=["fake", "live"])
def winrm_host(client: str, request: pytest.FixtureRequest) -> WinRmHost:
    """The host a test talks to: a FAKE endpoint, and the live host when one is configured."""
    if request.param == "live":
        if not LIVE_HOST:
            pytest.skip("no live WinRM host: set ADSUITE_TEST_WINRM_HOST, _USER and _PASSWORD")
        return WinRmHost(live_target(client), None)
    endpoint: FakeWinRmEndpoint = request.getfixturevalue("fake_winrm_endpoint")
    return WinRmHost(fake_target(endpoint, client), endpoint)
