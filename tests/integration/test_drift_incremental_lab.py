"""Incremental drift on the real lab DC gives exactly the findings of a full read.

A playbook is applied, a full drift takes the snapshot, then changes are planted by
hand (samba-tool, ldbmodify and a file edit on the DC, never through adsuite): an
attribute, a membership, a move of a user that a group and another user's manager name,
a delete; an ACL on a container above read objects; a GPO file in SYSVOL. After each
round the default (incremental) drift and ``drift --full`` must report the same
findings, and the journal says how each read the directory.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from labkit import Cli, Lab
from sysvol import BASE, gpc, gpt_file

from adsuite.connectors.ldap import Directory
from adsuite.engine import drift as driftlib
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab


def playbook(top: str) -> str:
    return f"""
tasks:
  - ou: {{path: {top}, description: top}}
  - ou: {{path: {top}/Users, description: users}}
  - ou: {{path: "{top}/其他, Other", description: "其他 other"}}
  - user: {{name: {top}-a, ou: "{top}/Users", description: a}}
  - user: {{name: {top}-b, ou: {top}/Users, description: b, manager: {top}-a}}
  - user: {{name: {top}-c, ou: {top}/Users, description: c, display_name: "张 c, \\ +"}}
  - user: {{name: {top}-d, ou: {top}/Users, description: d}}
  - group: {{name: {top}-g, ou: {top}, scope: global, category: security, description: g}}
  - membership: {{group: {top}-g, members: [{top}-a, {top}-b], mode: exact}}
  - delegation: {{ou: {top}/Users, trustee: {top}-g, rights: [manage_users]}}
  - gpo:
      name: {top} Policy
      links: [{top}/Users]
      user:
        registry:
          - {{key: 'Software\\Policies\\Microsoft\\Windows\\System', value: DisableCMD, type: dword, data: 2}}
"""


def by_hand(lab: Lab, *args: str, stdin: str | None = None) -> None:
    sam = str(lab.status.state_dir / "private" / "sam.ldb")
    command = [*args, "-H", sam] if args[0] == "ldbmodify" else [
        "samba-tool", *args, "-H", sam, "-s", str(lab.status.smb_conf)]  # fmt: skip
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def drift(cli: Callable[..., Cli], path: Path, inventory: Path, *extra: str) -> dict[str, Any]:
    done = cli("drift", str(path), "-i", str(inventory), "--format", "json", *extra)
    assert done.code in (0, 2), done.err
    doc: dict[str, Any] = json.loads(done.out)
    return doc


def findings(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["id"], f["text"]) for f in doc["findings"])


def reading(lab: Lab, doc: dict[str, Any]) -> dict[str, Any]:
    with Journal.open(lab.journal) as journal:
        run = journal.run(doc["run_id"])
    found: dict[str, Any] = run.extra["reading"]
    return found


def without_snapshot(lab: Lab, path: Path) -> list[tuple[str, str]]:
    """The findings of a plan read with plain searches (no snapshot, no extended DNs)."""
    session = lab.session(path)
    with session.connect(write=False) as conn:
        return sorted((f.id, f.text) for f in driftlib.findings(session.plan(conn)))


def same_both_ways(
    lab: Lab, cli: Callable[..., Cli], path: Path
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The incremental drift's findings (asserted equal to a full drift's and to a plain
    read's) and how it read."""
    incremental = drift(cli, path, lab.inventory)
    full = drift(cli, path, lab.inventory, "--full")
    assert reading(lab, full)["read"] == "full"
    assert findings(incremental) == findings(full) == without_snapshot(lab, path)
    return findings(incremental), reading(lab, incremental)


def test_incremental_drift_finds_what_a_full_read_finds_after_every_kind_of_change(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    path = write_playbook(playbook(top))
    applied = cli("apply", str(path), "-i", str(lab_env.inventory), "--yes")
    assert applied.code == 0, applied.out + applied.err
    drift(cli, path, lab_env.inventory, "--full")
    clean, how = same_both_ways(lab_env, cli, path)
    assert clean == [] and how["read"] == "incremental", (clean, how)

    users = f"OU=Users,OU={top},{BASE}"
    ldif = f"dn: CN={top}-c,{users}\nchangetype: modify\nreplace: description\ndescription: x\n"
    by_hand(lab_env, "ldbmodify", stdin=ldif)  # an attribute
    by_hand(lab_env, "group", "addmembers", f"{top}-g", f"{top}-c")  # a membership
    by_hand(lab_env, "user", "move", f"{top}-a", f"OU=其他\\, Other,OU={top},{BASE}")  # a move
    by_hand(lab_env, "user", "delete", f"{top}-d")  # a delete
    planted, how = same_both_ways(lab_env, cli, path)
    assert how["read"] == "incremental" and how["queries_merged"] > 0, how
    texts = "\n".join(text for _, text in planted)
    for expected in (f"{top}-c", f"{top}-a", f"{top}-d", f"{top}-g"):
        assert expected in texts, texts
    # b did not change, but its manager moved: only a re-read of b shows the new DN
    assert f"CN={top}-b,{users}: differs: manager is" in texts, texts

    by_hand(lab_env, "dsacl", "set", f"--objectdn={users}", "--sddl=(A;CI;RP;;;AU)",
            "--action=allow")  # fmt: skip  # an ACL on a container above read objects
    after_acl, how = same_both_ways(lab_env, cli, path)
    assert how["read"] == "full" and "security descriptor" in how["full_because"], how
    assert after_acl == planted  # the ACE adsuite manages is still there

    policy = gpc(directory, f"{top} Policy")
    pol = gpt_file(lab_env, policy.guid, "User/Registry.pol")
    data = pol.read_bytes()
    assert data.endswith(b"\x02\x00\x00\x00]\x00"), data[-12:]
    pol.write_bytes(data[:-6] + b"\x00\x00\x00\x00]\x00")  # DisableCMD now 0, by hand
    after_gpo, how = same_both_ways(lab_env, cli, path)
    assert how["read"] == "incremental", how
    assert len(after_gpo) == len(planted) + 1, after_gpo
