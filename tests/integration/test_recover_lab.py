"""Object-level recovery on the real lab DC (docs/recovery.md, issue #14 item 5).

The objects are made and deleted by hand with samba-tool, as an administrator would;
ldbsearch on the DC's own database is the oracle, independent of adsuite's LDAP reads.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from labkit import Cli, Lab

from adsuite.formats import ldif
from adsuite.formats.ldap_query import Entry
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab


def inventory_with_backups(lab_env: Lab, folder: Path) -> Path:
    path = folder / "inventory.yml"
    text = lab_env.inventory.read_text(encoding="utf-8")
    path.write_text(text + f"backups:\n  folder: {folder / 'backups'}\n  keep: 2\n")
    return path


def by_hand(lab_env: Lab) -> Callable[..., None]:
    sam, conf = lab_env.status.state_dir / "private" / "sam.ldb", lab_env.status.smb_conf

    def tool(*args: str) -> None:
        command = ["samba-tool", *args, "-H", str(sam), "-s", str(conf)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr

    return tool


def oracle(lab_env: Lab, base: str, query: str = "(objectClass=*)") -> dict[str, Entry]:
    """The DC's database read by ldbsearch, keyed by lowercased DN."""
    sam = lab_env.status.state_dir / "private" / "sam.ldb"
    command = ["ldbsearch", "-H", str(sam), "-b", base, query, "*", "memberOf"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    return {e.dn.lower(): e for e in ldif.parse(done.stdout)}


def test_a_deleted_ou_comes_back_with_its_users_their_sids_and_memberships(
    lab_env: Lab, tmp_path: Path, top: str, cli: Callable[..., Cli]
) -> None:
    inventory = str(inventory_with_backups(lab_env, tmp_path))
    env = {"ADSUITE_JOURNAL": str(tmp_path / "journal.sqlite")}
    base = lab_env.status.base_dn
    ou, outside = f"OU={top},{base}", f"{top}-outside"
    tool = by_hand(lab_env)
    tool("ou", "add", ou)
    tool("group", "add", outside)  # in CN=Users: outside the OU that is deleted
    try:
        tool("group", "add", f"{top}-team", f"--groupou=OU={top}")
        for user, extra in (("a", "--description=first user"), ("b", "--job-title=Engineer")):
            tool("user", "add", f"{top}-{user}", "Passw0rd!Long1", f"--userou=OU={top}", extra)
        tool("group", "addmembers", f"{top}-team", f"{top}-a,{top}-b")
        tool("group", "addmembers", outside, f"{top}-a")
        before = oracle(lab_env, ou)
        assert len(before) == 4
        taken = cli("backup", "-i", inventory, env=env)
        assert taken.code == 0, taken.err
        tool("ou", "delete", ou, "--force-subtree-delete")
        assert oracle(lab_env, ou) == {}

        dry = cli("recover", "-i", inventory, "--dn", ou, "--dry-run", "--format", "json", env=env)
        assert dry.code == 0, dry.err
        planned = json.loads(dry.out)
        assert [o["action"] for o in planned["objects"]] == ["reanimate"] * 4
        assert planned["objects"][0]["dn"] == ou  # the parent first
        assert oracle(lab_env, ou) == {}  # a dry run writes nothing

        done = cli("recover", "-i", inventory, "--dn", ou, "--yes", env=env)
        assert done.code == 0, done.out + done.err
        after = oracle(lab_env, ou)
        assert sorted(after) == sorted(before)
        for dn, old in before.items():
            assert after[dn].raw("objectGUID") == old.raw("objectGUID"), dn
            assert after[dn].raw("objectSid") == old.raw("objectSid"), dn
        alice = after[f"cn={top}-a,ou={top},{base}".lower()]
        assert alice.text("description") == "first user"  # the tombstone had lost it
        assert sorted(g.lower() for g in alice.texts("memberOf")) == sorted(
            [f"cn={top}-team,ou={top},{base}".lower(), f"cn={outside},cn=users,{base}".lower()]
        )
        bob = after[f"cn={top}-b,ou={top},{base}".lower()]
        assert bob.text("title") == "Engineer"
        assert bob.texts("memberOf") == [f"CN={top}-team,OU={top},{base}"]
        assert done.out.count("not recoverable:    password:") == 2  # named, per user

        with Journal.open(Path(env["ADSUITE_JOURNAL"])) as journal:
            run = [r for r in journal.runs() if r.mode == "recover"][-1]
            changes = journal.changes(run.id)
        assert run.status == "ok" and run.id in done.out
        assert [c.outcome for c in changes] == ["applied"] * 7  # 4 objects, 3 memberships
        again = cli("recover", "-i", inventory, "--dn", ou, "--yes", env=env)
        assert again.code == 1 and "nothing to recover" in again.err
    finally:
        tool("group", "delete", outside)


def test_without_a_backup_an_ou_adsuite_made_gets_back_what_the_journal_says_it_wrote(
    lab_env: Lab,
    top: str,
    cli: Callable[..., Cli],
    write_playbook: Callable[[str, str], Path],
) -> None:
    base, inventory = lab_env.status.base_dn, str(lab_env.inventory)  # no backups section
    ou = f"OU={top},{base}"
    made = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, description: written by adsuite, protected: false}}\n",
        "made.yml",
    )
    assert cli("apply", str(made), "-i", inventory, "--yes").code == 0
    by_hand(lab_env)("ou", "delete", ou)
    done = cli("recover", "-i", inventory, "--name", top, "--yes", "--format", "json")
    assert done.code == 0, done.err
    (obj,) = json.loads(done.out)["objects"]
    assert (obj["action"], obj["restored_from"]) == ("reanimate", "journal")
    assert oracle(lab_env, ou)[ou.lower()].text("description") == "written by adsuite"
