"""`adsuite audit changes` against the lab DC's real JSON audit log: a change made with
ldap3 outside adsuite is listed with who made it; adsuite's own writes are not."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab
BASE = "DC=group,DC=example,DC=com"


def test_out_of_band_change_is_listed_with_its_author_and_adsuite_writes_are_not(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    inv = str(lab_env.inventory)
    playbook = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, description: declared}}\n"
        f"  - group: {{name: {top}-g, ou: {top}, description: declared}}\n"
    )
    assert cli("apply", str(playbook), "-i", inv, "--yes").code == 0
    clean = cli("audit", "changes", "-i", inv, "--since", since, "--format", "json")
    # domain-wide: the previous test's last write (a failed bind's badPwdCount) may fall in
    # the window; this test judges only its own objects
    listed = json.loads(clean.out)["changes"]
    assert clean.code == (2 if listed else 0), clean.err + clean.out
    assert [row for row in listed if top in row["object"]] == []

    directory.modify(f"CN={top}-g,OU={top},{BASE}", {"description": ("replace", ["by hand"])})
    edited = cli("audit", "changes", "-i", inv, "--since", since, "--format", "json")
    assert edited.code == 2
    rows = [row for row in json.loads(edited.out)["changes"] if top in row["object"]]
    assert len(rows) == 1
    assert rows[0]["object"] == f"CN={top}-g,OU={top},{BASE}"
    assert rows[0]["operation"] == "Modify"
    assert rows[0]["attributes"] == ["description"]
    assert rows[0]["by"] == "Administrator"

    assert cli("apply", str(playbook), "-i", inv, "--yes").code == 0  # adsuite repairs it
    after_repair = cli("audit", "changes", "-i", inv, "--since", since, "--format", "json")
    assert (
        len([row for row in json.loads(after_repair.out)["changes"] if top in row["object"]]) == 1
    )
