"""A drift snapshot is loaded only when the journal vouches for it: the latest drift run
that wrote its file journaled the same SHA-256 (checked before anything is unmarshalled),
found with one indexed query, its entry's MAC holding when the journal has a key."""

from __future__ import annotations

import marshal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adsuite.cli import render
from adsuite.engine import drift_snapshot as snap
from adsuite.engine.drift_snapshot import Attr, Dc, Journaled, Snapshot, Stored
from adsuite.formats.ldap_query import Entry, Query
from adsuite.journal import queries
from adsuite.journal.seal import KeyRef
from adsuite.journal.store import Journal
from adsuite.journal.witness import Guard

BASE = "DC=group,DC=example,DC=com"
DC = Dc("ldaps://dc1", f"CN=NTDS Settings,CN=DC1,{BASE}", "ab" * 16, 5000)
GUID = bytes(range(16))
KEY_ENV = {"ADSUITE_CRED_SNAP_KEY": "k" * 32, "ADSUITE_CRED_OTHER_KEY": "o" * 32}


def kept(description: bytes = b"declared") -> Snapshot:
    query = Query(BASE, "(objectClass=user)", ("description",))
    entry = Entry(f"CN=u,{BASE}", {"description": (description,)})
    return Snapshot(DC, 1.0, {"description": Attr("2.5.5.12")}, {query: [Stored(GUID, entry)]})


def saved(path: Path, snapshot: Snapshot) -> tuple[bytes, str]:
    sha256 = snap.save(path, snapshot)
    raw = snap.read(path)
    assert raw is not None and sha256 is not None
    return raw, sha256


def test_a_snapshot_loads_only_with_the_digest_the_journal_holds(tmp_path: Path) -> None:
    raw, sha256 = saved(tmp_path / "d" / "one.snapshot", kept())
    record = Journaled("run-1", sha256, DC.url, DC.usn)
    assert snap.distrust(raw, record, DC.url) is None
    assert snap.load(raw, sha256) == kept()
    other = "0" * 64
    assert snap.load(raw, other) is None
    wrong = snap.distrust(raw, Journaled("run-1", other, DC.url, DC.usn), DC.url)
    assert wrong is not None and wrong.startswith(snap.MISMATCH) and "run-1" in wrong
    unknown = snap.distrust(raw, None, DC.url)
    assert unknown is not None and "no drift run" in unknown
    elsewhere = snap.distrust(raw, record, "ldaps://dc2")
    assert elsewhere is not None and elsewhere.startswith(snap.MISMATCH)


def test_a_hand_edited_snapshot_is_not_unmarshalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d" / "one.snapshot"
    _, sha256 = saved(path, kept())
    doc = marshal.loads(path.read_bytes()[len(snap.MAGIC) :])
    doc["queries"][0][1][0][2]["description"] = (b"the value the DC no longer has",)
    edited = snap.MAGIC + marshal.dumps(doc)
    calls: list[bytes] = []
    monkeypatch.setattr(snap.marshal, "loads", lambda data: calls.append(data))
    assert snap.load(edited, sha256) is None
    assert snap.distrust(edited, Journaled("run-1", sha256, DC.url, DC.usn), DC.url)
    assert calls == []  # the digest was checked first: marshal never saw the bytes


def drift_run(journal: Journal, file: str, sha256: str, mode: str = "drift") -> str:
    written = {"file": file, "sha256": sha256, "usn_mark": 1, "dc": DC.url}
    reading = {"read": "full", "snapshot": written}
    run = journal.start_run(mode=mode, operator={"os_user": "ops"}, extra={"reading": reading})
    journal.finish_run(run, status="ok", counts={})
    return run


def test_the_journal_names_the_latest_drift_run_that_wrote_the_file_in_one_indexed_query(
    tmp_path: Path,
) -> None:
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        drift_run(journal, "one.snapshot", "1" * 64)
        latest = drift_run(journal, "one.snapshot", "2" * 64)
        drift_run(journal, "two.snapshot", "3" * 64)
        drift_run(journal, "one.snapshot", "4" * 64, mode="apply")  # not a drift: no word on it
        found = journal.snapshot_writer("one.snapshot")
        assert found is not None and found[0] == latest and found[1]["sha256"] == "2" * 64
        assert journal.snapshot_writer("three.json") is None
        plan = journal._conn.execute(
            f"EXPLAIN QUERY PLAN {queries._SNAPSHOT_WRITER}", ("one.snapshot",)
        ).fetchall()
    steps = " / ".join(str(row[3]) for row in plan)
    assert "USING INDEX entries_drift_snapshot" in steps and "SCAN" not in steps, steps
    with Journal.open(tmp_path / "another.sqlite") as another:
        assert another.snapshot_writer("one.snapshot") is None  # another journal never vouches


def test_a_row_forged_without_the_mac_key_vouches_for_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEY_ENV.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "journal.sqlite"
    with Journal.open(path, guard=Guard(key=KeyRef("snap-key"))) as journal:
        honest = drift_run(journal, "one.snapshot", "1" * 64)
        assert journal.snapshot_writer("one.snapshot") == (honest, journal_doc("1" * 64))
    with Journal.open(path, guard=Guard(key=KeyRef("other-key"))) as forger:
        drift_run(forger, "one.snapshot", "2" * 64)  # chained, but MACed with another key
    with Journal.open(path, guard=Guard(key=KeyRef("snap-key"))) as journal:
        assert journal.snapshot_writer("one.snapshot") is None


def journal_doc(sha256: str) -> dict[str, Any]:
    return {"file": "one.snapshot", "sha256": sha256, "usn_mark": 1, "dc": DC.url}


def test_the_drift_text_says_how_it_read() -> None:
    now = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
    incremental = {"read": "incremental", "changed_objects": 3, "usn_mark": 4086,
                   "full_read_at": "2026-12-06T12:00:00+00:00"}  # fmt: skip
    assert render.reading_line(incremental, now) == (
        "read incrementally: 3 objects changed since USN 4086 (full read 5 h ago)"
    )
    full = {"read": "full", "full_because": "--full was given"}
    assert render.reading_line(full, now) == "read in full: --full was given"
    recalled = {**incremental, "changed_objects": 0, "recalled_from": "20261206T120000Z-a1b2c3"}
    assert render.reading_line(recalled, now) == (
        "read incrementally: 0 objects changed since USN 4086 (full read 5 h ago); nothing "
        "the checks read changed: the findings of run 20261206T120000Z-a1b2c3 stand"
    )
