"""Backups and restore drills, the pure parts: backup file names and the retention rule,
what the journal says a restored DC must hold, the inventory's backups section, and the
四.5 evidence a drill or a backup gives (met only by a passed, fast drill; a fresh backup)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adsuite.compliance.report import read_journal
from adsuite.errors import InputError
from adsuite.formats.ldap_query import Entry
from adsuite.journal.evidence import Recent
from adsuite.journal.evidence_recovery import backups, restore_drill
from adsuite.journal.records import ChangeRecord, RunRecord
from adsuite.journal.store import Journal
from adsuite.recovery import backup as backuplib
from adsuite.recovery import expected, retention
from adsuite.runtime.inventory import load_inventory

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
REALM = "group.example.com"


def name(taken: datetime, realm: str = REALM) -> str:
    return f"samba-backup-{realm}-{taken.strftime('%Y-%m-%dT%H-%M-%S.%f')}.tar.bz2"


def test_backup_names_give_realm_and_time_and_other_files_are_not_backups() -> None:
    parsed = retention.parse_name(name(NOW))
    assert parsed == retention.BackupFile(name(NOW), REALM, NOW)
    assert retention.parse_name("notes.txt") is None
    assert retention.parse_name(name(NOW) + ".part") is None


def test_backups_of_a_realm_come_newest_first_and_other_realms_are_left_out() -> None:
    names = [name(NOW - timedelta(days=2)), name(NOW), name(NOW, "other.example.com"), "x"]
    found = retention.backups_of(names, "GROUP.EXAMPLE.COM")
    assert [b.taken for b in found] == [NOW, NOW - timedelta(days=2)]


def test_retention_keeps_the_newest_n_and_removes_the_oldest_first() -> None:
    present = retention.backups_of([name(NOW - timedelta(days=d)) for d in range(5)], REALM)
    removed = retention.to_remove(present, keep=2, max_age_days=None, now=NOW)
    assert [b.taken for b in removed] == [NOW - timedelta(days=d) for d in (4, 3, 2)]


def test_with_a_max_age_only_backups_beyond_keep_and_older_than_it_go() -> None:
    present = retention.backups_of([name(NOW - timedelta(days=d)) for d in range(5)], REALM)
    removed = retention.to_remove(present, keep=1, max_age_days=3, now=NOW)
    assert [b.taken for b in removed] == [NOW - timedelta(days=4)]
    old = retention.backups_of([name(NOW - timedelta(days=100))], REALM)
    assert retention.to_remove(old, keep=1, max_age_days=3, now=NOW) == []  # never the newest


def change(
    seq: int, resource: str, target: str, action: str, after: object, outcome: str = "applied"
) -> ChangeRecord:
    return ChangeRecord(
        "r", seq, resource, target, action, None, after, outcome, None, "", None, seq
    )


OU = "OU=Sales,DC=group,DC=example,DC=com"


def test_the_journal_folds_into_the_objects_that_exist_with_the_last_values_written() -> None:
    changes = [
        change(1, "ou", OU, "create", {"description": "one", "protected": True}),
        change(2, "ou", OU, "update", {"description": "two"}),
        change(3, "ou", "OU=Gone,DC=group,DC=example,DC=com", "create", {}),
        change(4, "ou", "OU=Gone,DC=group,DC=example,DC=com", "delete", None),
        change(5, "ou", "OU=Failed,DC=group,DC=example,DC=com", "create", {}, "failed"),
        change(6, "gpo", "Some GPO", "create", {"description": "not a DN kind"}),
        change(7, "backup", "samba-backup.tar.bz2", "create", {"sha256": "ab"}),
    ]
    found = expected.managed_objects(changes)
    assert [(o.kind, o.dn, o.fields) for o in found] == [("ou", OU, {"description": "two"})]
    assert expected.ldap_attributes(found) == ("description",)


def test_a_restored_dc_lacking_an_object_or_holding_an_older_value_is_named() -> None:
    objects = expected.managed_objects(
        [
            change(1, "ou", OU, "create", {"description": "new"}),
            change(2, "ou", f"OU=Later,{OU}", "create", {}),
        ]
    )
    entries = [Entry(OU.upper(), {"description": (b"old",)})]
    assert expected.problems(objects, entries) == [
        f"ou {OU}: description is 'old', journal wrote 'new'",
        f"ou OU=Later,{OU}: missing",
    ]
    entries = [Entry(OU, {"description": (b"new",)}), Entry(f"ou=later,{OU}", {})]
    assert expected.problems(objects, entries) == []


def run(mode: str, started: datetime, status: str = "ok", **counts: int) -> RunRecord:
    at = started.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    extra = {"backup": "b.tar.bz2", "dc": "127.0.0.1", "stale_after_hours": 26}
    return RunRecord(
        "id-" + at, at, at, mode, status, {}, None, None, None, None, counts, extra, "h", 1, 1
    )


RECENT = Recent(720, (NOW - timedelta(hours=720)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def test_a_drill_proves_4_5_only_when_the_newest_passed_under_the_target() -> None:
    fast = run("restore_drill", NOW - timedelta(days=1), milliseconds=41_500, checked=3)
    proof = restore_drill([fast], "drill", RECENT, 4)
    assert proof.met
    assert "passed, 41.5 s to a working DC against the 4 h target" in proof.summary
    failed = run("restore_drill", NOW, "failed", milliseconds=5_000, problems=1)
    assert not restore_drill([failed, fast], "drill", RECENT, 4).met  # newest decides
    slow = run("restore_drill", NOW, milliseconds=5 * 3_600_000)
    assert "too slow" in restore_drill([slow], "drill", RECENT, 4).summary
    assert not restore_drill([slow], "drill", RECENT, 4).met
    old = run("restore_drill", NOW - timedelta(days=31), milliseconds=1_000)
    assert not restore_drill([old], "drill", RECENT, 4).met
    assert not restore_drill([run("apply", NOW)], "drill", RECENT, 4).met


def test_a_backup_proves_4_5_until_it_is_older_than_its_staleness() -> None:
    fresh = run("backup", NOW - timedelta(hours=3), bytes=1000)
    assert backups([fresh], "backup", NOW, None).met
    stale = run("backup", NOW - timedelta(hours=30), bytes=1000)
    proof = backups([stale], "backup", NOW, None)  # the 26 h the backup run journaled
    assert not proof.met and "STALE" in proof.summary
    assert backups([stale], "backup", NOW, 48).met  # the map's within_hours wins
    assert not backups([run("backup", NOW, "failed")], "backup", NOW, None).met


INVENTORY = """\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: DC=group,DC=example,DC=com
    netbios: GROUP
    credential: admin
    dcs: {dc1: {ldap_url: "ldaps://127.0.0.1:636"}}
credentials: {admin: {username: a}}
backups:
  folder: backups
"""


def test_the_backups_section_is_data_with_paths_relative_to_the_inventory(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(INVENTORY + "  keep: 3\n  max_age_days: 30\n", encoding="utf-8")
    config = load_inventory(path).backups
    assert config is not None
    assert (config.folder, config.keep, config.max_age_days) == (tmp_path / "backups", 3, 30)
    assert config.stale_after_hours == 26


def test_a_wrong_backups_section_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(INVENTORY + "  keep: 0\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_inventory(path)
    assert str(raised.value).startswith(f"{path}:11: ")
    assert "keep" in str(raised.value) and "\n" not in str(raised.value)


def test_the_newest_backup_counts_only_while_it_is_on_disk_as_journaled(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    tarball = folder / "samba-backup-group.example.com-2026-12-06T01-30-00.000000.tar.bz2"
    tarball.write_bytes(b"x" * 10)
    with Journal.open(tmp_path / "j.sqlite") as journal:
        run = journal.start_run(mode=backuplib.MODE, operator={"os_user": "root"},
                                extra={"folder": str(folder)})  # fmt: skip
        change = journal.record_intent(run, resource=backuplib.RESOURCE, target=tarball.name,
                                       action="create", before=None,
                                       after={"sha256": "ab", "size": 10, "dc": "dc1"})  # fmt: skip
        journal.record_outcome(run, change, "applied")
        journal.finish_run(run, status="ok", counts={"created": 1, "bytes": 10})
        runs, changes = journal.runs(), journal.changes(run)
    assert backuplib.missing_on_disk(runs, changes) is None
    tarball.write_bytes(b"x" * 9)
    assert backuplib.missing_on_disk(runs, changes) == f"{tarball} is 9 bytes, journaled as 10"
    tarball.unlink()
    said = backuplib.missing_on_disk(runs, changes)
    assert said == f"{tarball} is not there (deleted or moved after it was journaled)"
    assert backuplib.missing_on_disk([], []) is None  # no backup at all: the journal says so


def test_the_report_reads_the_newest_backups_file_record_whatever_the_window(
    tmp_path: Path,
) -> None:
    """A backup run is no writing run: the report must still read its file record, or
    the newest backup would look journaled without a file (and never count)."""
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "b.tar.bz2").write_bytes(b"x" * 4)
    with Journal.open(tmp_path / "j.sqlite") as journal:
        run = journal.start_run(mode=backuplib.MODE, operator={"os_user": "root"},
                                extra={"folder": str(folder)})  # fmt: skip
        change = journal.record_intent(run, resource=backuplib.RESOURCE, target="b.tar.bz2",
                                       action="create", before=None,
                                       after={"sha256": "ab", "size": 4, "dc": "dc1"})  # fmt: skip
        journal.record_outcome(run, change, "applied")
        journal.finish_run(run, status="ok", counts={"created": 1, "bytes": 4})
    facts = read_journal(tmp_path / "j.sqlite", "2000-01-01T00:00:00Z")
    assert [c.target for c in facts.backup_files] == ["b.tar.bz2"]
    assert backuplib.missing_on_disk(facts.runs, facts.backup_files) is None
