"""`adsuite audit changes` and GPOs against the lab DC's real JSON audit log: a GPO is
journaled by name, yet an edit of its group policy container (or a child of it) with
ldap3 is listed, and adsuite's own gpo apply — creating it, then repairing it — is not."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from labkit import Cli, Lab
from sysvol import BASE, gpc

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab


def test_edits_of_a_managed_gpo_container_are_listed_and_adsuites_gpo_apply_is_not(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    inv = str(lab_env.inventory)
    name = f"{top} audited policy"
    playbook = write_playbook(
        f"tasks:\n  - gpo:\n      name: {name}\n      status: enabled\n      user:\n"
        "        registry:\n          - {key: 'Software\\Policies\\Adsuite', value: X,"
        " type: dword, data: 1}\n"
    )
    assert cli("apply", str(playbook), "-i", inv, "--yes").code == 0
    container = f"CN={gpc(directory, name).guid},CN=Policies,CN=System,{BASE}"

    def listed() -> list[dict[str, object]]:
        done = cli("audit", "changes", "-i", inv, "--since", since, "--format", "json")
        assert done.code in (0, 2), done.err
        rows = json.loads(done.out)["changes"]
        assert done.code == (2 if rows else 0)
        return [r for r in rows if str(r["object"]).endswith(container)]

    assert listed() == []  # adsuite created it: container, User, Machine, versionNumber

    directory.modify(container, {"flags": ("replace", ["3"])})
    directory.modify(f"CN=Machine,{container}", {"description": ("replace", ["by hand"])})
    edited = listed()
    assert [(r["operation"], r["object"], r["attributes"], r["by"]) for r in edited] == [
        ("Modify", container, ["flags"], "Administrator"),
        ("Modify", f"CN=Machine,{container}", ["description"], "Administrator"),
    ]

    repaired = cli("apply", str(playbook), "-i", inv, "--yes")
    assert repaired.code == 0 and "status: all settings disabled → enabled" in repaired.out
    assert listed() == edited  # the repair is adsuite's own write
