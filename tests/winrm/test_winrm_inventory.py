"""Inventory hosts become WinRM targets, and a run keeps one session per host (FAKE endpoint)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FAKE_PASSWORD, FAKE_USER
from fakes.fake_winrm_endpoint import FakeWinRmEndpoint
from twins import TWINS

from adsuite.connectors.credentials import Secret
from adsuite.errors import InputError
from adsuite.runtime.connections import Connections, winrm_target
from adsuite.runtime.inventory import Inventory


def _inventory(endpoint: FakeWinRmEndpoint, client: str) -> Inventory:
    document: dict[str, Any] = {
        "domains": {
            "group": {
                "realm": "GROUP.EXAMPLE.COM",
                "base_dn": "DC=group,DC=example,DC=com",
                "netbios": "GROUP",
                "credential": "lab-admin",
                "dcs": {"dc1": {"ldap_url": "ldaps://127.0.0.1:636"}},
            }
        },
        "hosts": {
            "win1": {
                "address": "127.0.0.1",
                "winrm": {
                    "url": endpoint.url,
                    "client": client,
                    "auth": "ntlm",
                    "credential": "win-admin",
                    "ca_file": str(endpoint.ca_file),
                    "timeout": 12,
                },
            },
            "fs1": {"address": "127.0.0.2"},
        },
        "credentials": {
            "lab-admin": {"username": "Administrator"},
            "win-admin": {"username": FAKE_USER},
        },
    }
    return Inventory.model_validate(document)


def test_inventory_host_becomes_a_target_with_its_settings(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str
) -> None:
    target = winrm_target(
        _inventory(fake_winrm_endpoint, client), "win1", lambda name: Secret(name)
    )
    assert (target.name, target.url, target.client, target.auth) == (
        "win1",
        fake_winrm_endpoint.url,
        client,
        "ntlm",
    )
    assert (target.username, target.password.reveal(), target.timeout) == (
        FAKE_USER,
        "win-admin",
        12.0,
    )
    assert target.ca_file == fake_winrm_endpoint.ca_file


def test_host_without_winrm_is_an_input_error(fake_winrm_endpoint: FakeWinRmEndpoint) -> None:
    inventory = _inventory(fake_winrm_endpoint, "pypsrp")
    with pytest.raises(InputError, match=r"'fs1' has no winrm entry .*known: win1"):
        winrm_target(inventory, "fs1", lambda name: Secret(name))


def test_a_run_opens_each_host_once_and_closes_it_with_the_run(
    fake_winrm_endpoint: FakeWinRmEndpoint, client: str
) -> None:
    fake_winrm_endpoint.answer("echo_parameters", TWINS["echo_parameters"])
    resolved: list[str] = []

    def secret(name: str) -> Secret:
        resolved.append(name)
        return Secret(FAKE_PASSWORD)

    connections = Connections(None, _inventory(fake_winrm_endpoint, client), secret)  # type: ignore[arg-type]
    assert resolved == []  # nothing resolved until a host is used
    first = connections.winrm.run("win1", "echo_parameters", {"Text": "one"})
    second = connections.winrm.run("win1", "echo_parameters", {"Text": "two"})
    connections.close()
    assert [first.output[0]["Text"], second.output[0]["Text"]] == ["one", "two"]
    assert resolved == ["win-admin"]
    assert (fake_winrm_endpoint.requests["Create"], fake_winrm_endpoint.requests["Delete"]) == (
        1,
        1,
    )
