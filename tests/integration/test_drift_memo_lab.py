"""A drift with nothing changed recalls the last check's outcome — and only then.

On the real lab DC: a playbook of plain directory kinds is applied and checked in full;
a second check with nothing changed recalls the findings (the journal says from which
run). An object created elsewhere (no search matches it) does not stop a recall; made a
member of the declared group, it does. A change planted by hand (ldbmodify, samba-tool,
never through adsuite) is reported by the next check, which plans again; the one after it, with nothing new, recalls the *drift*
(a recall never turns drift into clean); the repair by hand clears it; an edit of the
playbook alone plans again. A playbook with a kind that reads more than LDAP searches
(a delegation's ACL reads) is never recalled. Each step's findings equal ``--full``'s.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from labkit import Cli, Lab
from sysvol import BASE
from test_drift_incremental_lab import by_hand, drift, findings, reading

pytestmark = pytest.mark.lab


def playbook(top: str, b_says: str = "b") -> str:
    return f"""
tasks:
  - ou: {{path: {top}, description: top}}
  - ou: {{path: {top}/Users, description: users}}
  - user: {{name: {top}-a, ou: "{top}/Users", description: a}}
  - user: {{name: {top}-b, ou: {top}/Users, description: {b_says}, manager: {top}-a}}
  - group: {{name: {top}-g, ou: {top}, scope: global, category: security, description: g}}
  - membership: {{group: {top}-g, members: [{top}-a, {top}-b], mode: exact}}
"""


def set_description(lab: Lab, dn: str, value: str) -> None:
    """By hand, on the DC's own database."""
    sam = str(lab.status.state_dir / "private" / "sam.ldb")
    ldif = f"dn: {dn}\nchangetype: modify\nreplace: description\ndescription: {value}\n"
    done = subprocess.run(["ldbmodify", "-H", sam], input=ldif, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def check(lab: Lab, cli: Callable[..., Cli], path: Path) -> tuple[list[Any], dict[str, Any]]:
    """The default check's findings (asserted equal to a full read's) and how it read."""
    doc = drift(cli, path, lab.inventory)
    how = reading(lab, doc)
    full = drift(cli, path, lab.inventory, "--full")  # also writes the next snapshot
    assert findings(doc) == findings(full), (how, findings(doc), findings(full))
    again = drift(cli, path, lab.inventory)  # right after the full read: recalled
    assert reading(lab, again).get("recalled_from") == full["run_id"], reading(lab, again)
    assert findings(again) == findings(full)
    return findings(doc), how


def test_drift_recalls_its_findings_only_while_nothing_it_read_changed(
    lab_env: Lab, top: str, write_playbook: Callable[..., Path], cli: Callable[..., Cli]
) -> None:
    path = write_playbook(playbook(top))
    applied = cli("apply", str(path), "-i", str(lab_env.inventory), "--yes")
    assert applied.code == 0, applied.out + applied.err
    full = drift(cli, path, lab_env.inventory, "--full")
    first = drift(cli, path, lab_env.inventory)
    how = reading(lab_env, first)
    assert how["read"] == "incremental" and how["recalled_from"] == full["run_id"], how
    assert findings(first) == [] and how["changed_objects"] == 0

    by_hand(lab_env, "user", "create", f"{top}-x", "--random-password")  # no search matches it
    elsewhere = drift(cli, path, lab_env.inventory)
    how = reading(lab_env, elsewhere)
    assert how["changed_objects"] >= 1 and how["recalled_from"] == full["run_id"], how
    assert findings(elsewhere) == []

    by_hand(lab_env, "group", "addmembers", f"{top}-g", f"{top}-x")  # now the group's does
    joined, how = check(lab_env, cli, path)
    assert "recalled_from" not in how, how
    assert [text for _, text in joined] == [
        f"membership CN={top}-g,OU={top},{BASE}: differs: has unwanted member "
        f"CN={top}-x,CN=Users,{BASE}"
    ], joined
    by_hand(lab_env, "group", "removemembers", f"{top}-g", f"{top}-x")

    user_a = f"CN={top}-a,OU=Users,OU={top},{BASE}"
    set_description(lab_env, user_a, "planted")
    planted, how = check(lab_env, cli, path)
    assert "recalled_from" not in how and how["changed_objects"] >= 1, how
    assert [text for _, text in planted] == [
        f'user {user_a}: differs: description is "planted", want "a"'
    ], planted

    set_description(lab_env, user_a, "a")  # the repair, by hand
    repaired, how = check(lab_env, cli, path)
    assert repaired == [] and "recalled_from" not in how, how

    path.write_text(playbook(top, b_says="bee"), encoding="utf-8")  # the DC is as it was
    edited, how = check(lab_env, cli, path)
    assert "recalled_from" not in how and how["changed_objects"] == 0, how
    assert len(edited) == 1 and f"{top}-b" in edited[0][1], edited


def test_a_playbook_with_a_kind_that_reads_more_than_searches_is_never_recalled(
    lab_env: Lab, top: str, write_playbook: Callable[..., Path], cli: Callable[..., Cli]
) -> None:
    path = write_playbook(
        playbook(top)
        + f"  - delegation: {{ou: {top}/Users, trustee: {top}-g, rights: [manage_users]}}\n"
    )
    applied = cli("apply", str(path), "-i", str(lab_env.inventory), "--yes")
    assert applied.code == 0, applied.out + applied.err
    drift(cli, path, lab_env.inventory, "--full")
    for _ in range(2):
        doc = drift(cli, path, lab_env.inventory)
        how = reading(lab_env, doc)
        assert how["read"] == "incremental" and "recalled_from" not in how, how
        assert findings(doc) == []
