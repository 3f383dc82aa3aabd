"""Rollback of a real run on the lab DC: the before state comes back, a second rollback
plans nothing, and an object changed since the run is left alone and reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import run_id_of
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab
BASE = "DC=group,DC=example,DC=com"


def test_rollback_restores_the_before_state_and_a_second_rollback_plans_nothing(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    setup = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, description: before, protected: false}}\n"
        f"  - user: {{name: {top}-old, ou: {top}}}\n",
        "setup.yml",
    )
    assert cli("apply", str(setup), "-i", inv, "--yes").code == 0
    change = write_playbook(
        f"""
tasks:
  - ou: {{path: {top}, description: after, protected: false}}
  - ou: {{path: {top}/New}}
  - group: {{name: {top}-g, ou: {top}/New, managed_by: {top}-old}}
  - membership: {{group: {top}-g, members: [{top}-old]}}
  - user: {{name: {top}-old, ou: {top}, enabled: false, department: 财务}}
""",
        "change.yml",
    )
    applied = cli("apply", str(change), "-i", inv, "--yes", "--format", "json")
    assert applied.code == 0, applied.err
    run_id = run_id_of(applied.out)

    undone = cli("rollback", run_id, "-i", inv, "--yes")
    assert undone.code == 0, undone.err + undone.out
    top_ou = directory.read(f"OU={top},{BASE}", ["description"])
    assert top_ou is not None and top_ou.text("description") == "before"
    assert directory.read(f"OU=New,OU={top},{BASE}", ["ou"]) is None
    assert directory.read(f"CN={top}-g,OU=New,OU={top},{BASE}", ["cn"]) is None
    user = directory.read(f"CN={top}-old,OU={top},{BASE}", ["userAccountControl", "department"])
    assert user is not None and user.integer("userAccountControl") == 512
    assert user.text("department") is None
    assert cli("drift", str(setup), "-i", inv).code == 0

    again = cli("rollback", run_id, "-i", inv, "--yes")
    assert again.code == 0
    assert "No changes" in again.out


def test_rollback_leaves_an_object_changed_since_the_run_alone(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    first = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, description: one, protected: false}}\n", "one.yml"
    )
    assert cli("apply", str(first), "-i", inv, "--yes").code == 0
    second = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, description: two, protected: false}}\n", "two.yml"
    )
    applied = cli("apply", str(second), "-i", inv, "--yes", "--format", "json")
    directory.modify(f"OU={top},{BASE}", {"description": ("replace", ["someone else's edit"])})

    undone = cli("rollback", run_id_of(applied.out), "-i", inv, "--yes")
    assert undone.code == 1
    assert f"LEFT ALONE: OU={top},{BASE} changed since run" in undone.err
    entry = directory.read(f"OU={top},{BASE}", ["description"])
    assert entry is not None and entry.text("description") == "someone else's edit"
