"""Backups and the timed restore drill on the real lab DC (docs/recovery.md, clause 四.5).

Each test has its own journal and backup folder, so only its own runs and backups count.
The drill restores into a scratch DC in a network namespace of its own; the real lab DC
must come out of it untouched (still the only DC it knows).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.engine.session import Session
from adsuite.formats.ldap_query import Query
from adsuite.journal.evidence import Recent
from adsuite.journal.evidence_recovery import backups, restore_drill
from adsuite.journal.store import Journal
from adsuite.recovery import backup as backuplib

pytestmark = pytest.mark.lab


def inventory_with_backups(lab_env: Lab, folder: Path, keep: int) -> Path:
    path = folder / "inventory.yml"
    text = lab_env.inventory.read_text(encoding="utf-8")
    path.write_text(text + f"backups:\n  folder: {folder / 'backups'}\n  keep: {keep}\n")
    return path


def test_a_backup_is_journaled_with_the_files_sha256_and_retention_removes_the_oldest(
    lab_env: Lab, tmp_path: Path
) -> None:
    inventory = inventory_with_backups(lab_env, tmp_path, keep=1)
    journal = tmp_path / "journal.sqlite"
    session = Session.for_inventory(inventory, journal_path=journal)
    first = backuplib.take(session)
    assert first.sha256 == backuplib.sha256_of(first.path)
    assert first.size == first.path.stat().st_size > 0
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.path.parent.stat().st_mode) == 0o700
    second = backuplib.take(session)
    assert second.removed == (first.path.name,)
    assert sorted(os.listdir(first.path.parent)) == [second.path.name]  # no temp folder left
    with Journal.open(journal) as store:
        runs = store.runs()
        changes = {r.id: store.changes(r.id) for r in runs}
    assert [(r.mode, r.status) for r in runs] == [("backup", "ok"), ("backup", "ok")]
    created = changes[first.run_id][0]
    assert (created.action, created.target, created.outcome) == (
        "create",
        first.path.name,
        "applied",
    )
    assert created.after["sha256"] == first.sha256 and created.after["size"] == first.size
    removal = changes[second.run_id][1]
    assert (removal.action, removal.target, removal.outcome) == (
        "delete",
        first.path.name,
        "applied",
    )
    assert backups(runs, "backup", datetime.now(UTC), None).met


def dcs_of(directory: Directory, base_dn: str) -> list[str]:
    query = Query(f"CN=Configuration,{base_dn}", "(objectClass=nTDSDSA)", ("objectClass",))
    return sorted(e.dn for e in directory.search(query))


def test_a_drill_passes_timed_and_fails_naming_an_ou_the_backup_lacks(
    lab_env: Lab,
    tmp_path: Path,
    top: str,
    cli: Callable[..., Cli],
    write_playbook: Callable[[str, str], Path],
    directory: Directory,
) -> None:
    inventory = str(inventory_with_backups(lab_env, tmp_path, keep=3))
    journal = tmp_path / "journal.sqlite"
    # this test's drills make their scratch DC here, no other's (a short path: samba's
    # socket paths must fit in 108 bytes, which pytest's tmp_path would overrun)
    scratch = Path(tempfile.mkdtemp(prefix="drill-test-", dir="/tmp"))
    env = {"ADSUITE_JOURNAL": str(journal), "TMPDIR": str(scratch)}
    base_dn = lab_env.status.base_dn
    real_dcs = dcs_of(directory, base_dn)
    first = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, description: in the backup, protected: false}}\n"
        f"  - site: {{name: {top}-site, description: in the configuration partition}}\n",
        "first.yml",
    )
    assert cli("apply", str(first), "-i", inventory, "--yes", env=env).code == 0
    taken = cli("backup", "-i", inventory, env=env)
    assert taken.code == 0, taken.err

    passed = cli("restore-drill", "-i", inventory, env=env)
    assert passed.code == 0, passed.out + passed.err
    assert "within the 4 h target" in passed.out and "PASSED" in passed.out

    later = write_playbook(f"tasks:\n  - ou: {{path: {top}/Later}}\n", "later.yml")
    assert cli("apply", str(later), "-i", inventory, "--yes", env=env).code == 0
    failed = cli("restore-drill", "-i", inventory, env=env)
    assert failed.code == 2, failed.out + failed.err
    assert f"ou OU=Later,OU={top},{base_dn}: missing" in failed.err

    with Journal.open(journal) as store:
        drills = [r for r in store.runs() if r.mode == "restore_drill"]
        problems = store.changes(drills[0].id)
    assert [r.status for r in drills] == ["failed", "ok"]
    # the OU (domain partition) and the site (configuration partition) are both found
    assert drills[1].counts["milliseconds"] > 0 and drills[1].counts["checked"] == 2
    assert drills[0].counts["missing"] == 1 and drills[0].counts["checked"] == 3
    assert [p.error for p in problems] == [f"ou OU=Later,OU={top},{base_dn}: missing"]
    assert drills[1].extra["backup_sha256"] == backuplib.sha256_of(
        tmp_path / "backups" / drills[1].extra["backup"]
    )
    window = Recent(720, "2000-01-01T00:00:00.000000Z")
    assert restore_drill(drills[1:], "drill", window, 4).met  # the passed one alone
    assert not restore_drill(drills, "drill", window, 4).met  # the newest failed
    assert dcs_of(directory, base_dn) == real_dcs  # the real DC never heard of the scratch one
    assert not list(scratch.iterdir())  # scratch DC deleted
    scratch.rmdir()
