"""The change journal: run lifecycle, views, hash-chain verification, exports, concurrency."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import adsuite
from adsuite.errors import JournalError
from adsuite.journal import Journal, default_journal_path
from adsuite.journal.chain import GENESIS, entry_hash

OPERATOR = {"os_user": "alice", "bind_identity": "CN=svc-adsuite,OU=Service,DC=lab,DC=test"}
REPO_ROOT = Path(adsuite.__file__).resolve().parents[1]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "journal.sqlite"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    with Journal.open(path) as opened:
        yield opened


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection, as an attacker or a curious admin would open the file."""
    return sqlite3.connect(path, isolation_level=None)


def drop_triggers(conn: sqlite3.Connection) -> None:
    for name in ("entries_no_update", "entries_no_delete", "entries_append_at_head"):
        conn.execute(f"DROP TRIGGER {name}")


def fill(journal: Journal, changes: int = 3) -> str:
    """One finished run with ``changes`` applied changes: 2 + 2 * changes entries."""
    run_id = journal.start_run(mode="apply", operator=OPERATOR, playbook="playbooks/ou.yml")
    for n in range(changes):
        no = journal.record_intent(
            run_id,
            resource="ou",
            target=f"OU=o{n},DC=lab,DC=test",
            action="create",
            before=None,
            after={"name": f"o{n}"},
        )
        journal.record_outcome(run_id, no, "applied")
    journal.finish_run(run_id, status="ok", counts={"applied": changes})
    return run_id


def run_python(code: str, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    script = textwrap.dedent(code)
    subprocess.run([sys.executable, "-c", script, *args], check=True, env=env, timeout=120)


# -- lifecycle and views ----------------------------------------------------------------


def test_run_lifecycle_is_shown_by_runs_and_changes(journal: Journal) -> None:
    run_id = journal.start_run(
        mode="apply",
        operator=OPERATOR,
        playbook="playbooks/site.yml",
        playbook_sha256="ab" * 32,
        inventory="inventory/lab.yml",
        ticket="CHG-42",
        extra={"limit": ["ou"]},
    )
    first = journal.record_intent(
        run_id,
        resource="group",
        target="CN=Admins,DC=lab,DC=test",
        action="update",
        before={"member": ["CN=a"]},
        after={"member": ["CN=a", "CN=b"]},
    )
    second = journal.record_intent(
        run_id,
        resource="ou",
        target="OU=Old,DC=lab,DC=test",
        action="delete",
        before={"description": "old"},
        after=None,
    )
    journal.record_outcome(run_id, first, "applied")
    journal.record_outcome(run_id, second, "failed", error="insufficient access rights")
    journal.finish_run(run_id, status="failed", counts={"applied": 1, "failed": 1})

    run = journal.run(run_id)
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run_id)
    assert (run.mode, run.status, run.ticket) == ("apply", "failed", "CHG-42")
    assert run.operator == OPERATOR
    assert (run.playbook, run.playbook_sha256) == ("playbooks/site.yml", "ab" * 32)
    assert run.inventory == "inventory/lab.yml"
    assert run.counts == {"applied": 1, "failed": 1}
    assert run.extra == {"limit": ["ou"]}
    assert run.ended is not None and run.ended >= run.started
    changes = journal.changes(run_id)
    assert [(c.change_no, c.outcome) for c in changes] == [(1, "applied"), (2, "failed")]
    assert changes[0].after == {"member": ["CN=a", "CN=b"]}
    assert changes[1].before == {"description": "old"} and changes[1].after is None
    assert changes[1].error == "insufficient access rights"
    assert changes[1].outcome_at is not None and changes[1].outcome_at >= changes[1].intent_at


def test_runs_lists_newest_first_and_honours_limit(journal: Journal) -> None:
    ids = [fill(journal, changes=0) for _ in range(3)]
    assert [run.id for run in journal.runs()] == ids[::-1]
    assert [run.id for run in journal.runs(limit=2)] == ids[:0:-1]


def test_drift_run_finishes_with_status_drift(journal: Journal) -> None:
    run_id = journal.start_run(mode="drift", operator=OPERATOR)
    journal.finish_run(run_id, status="drift", counts={"update": 2})
    run = journal.run(run_id)
    assert (run.mode, run.status, run.counts) == ("drift", "drift", {"update": 2})


def test_unknown_run_is_an_error(journal: Journal) -> None:
    with pytest.raises(JournalError, match="no run"):
        journal.run("20260101T000000Z-000000")
    with pytest.raises(JournalError, match="no run"):
        journal.changes("20260101T000000Z-000000")


def test_intent_without_outcome_is_pending_across_runs(journal: Journal) -> None:
    done = fill(journal, changes=1)
    crashed = journal.start_run(mode="apply", operator=OPERATOR)
    no = journal.record_intent(
        crashed,
        resource="ou",
        target="OU=X,DC=lab,DC=test",
        action="create",
        before=None,
        after={"name": "X"},
    )
    pending = journal.pending_changes()
    assert [(c.run_id, c.change_no, c.outcome) for c in pending] == [(crashed, no, "pending")]
    assert journal.changes(crashed)[0].outcome == "pending"
    assert all(c.outcome == "applied" for c in journal.changes(done))
    journal.record_outcome(crashed, no, "applied")
    assert journal.pending_changes() == []


def test_intent_is_committed_before_record_intent_returns(journal: Journal, path: Path) -> None:
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    journal.record_intent(
        run_id, resource="ou", target="OU=Y", action="create", before=None, after={}
    )
    other = raw(path)
    kinds = [row[0] for row in other.execute("SELECT kind FROM entries ORDER BY seq")]
    other.close()
    assert kinds == ["run_start", "change_intent"]


def test_unfinished_run_is_running_while_its_process_lives(journal: Journal) -> None:
    run_id = journal.start_run(mode="plan", operator=OPERATOR)
    assert journal.run(run_id).status == "running"
    assert journal.run(run_id).ended is None


def test_run_left_by_a_dead_process_is_incomplete(journal: Journal, path: Path) -> None:
    run_python(
        """
        import sys
        from pathlib import Path
        from adsuite.journal import Journal
        j = Journal.open(Path(sys.argv[1]))
        j.start_run(mode="apply", operator={"os_user": "bob"})
        """,
        str(path),
    )
    (run,) = journal.runs()
    assert run.operator == {"os_user": "bob"}
    assert run.status == "incomplete"
    assert any(run.id in note and "no run_end" in note for note in journal.verify().notes)


def test_record_access_appends_to_the_chain(journal: Journal, path: Path) -> None:
    journal.record_access(who="auditor", what="export csv", ticket="AUD-7")
    conn = raw(path)
    rows = conn.execute("SELECT run_id, kind, body FROM entries").fetchall()
    conn.close()
    assert rows == [("", "access", '{"ticket":"AUD-7","what":"export csv","who":"auditor"}')]
    assert journal.verify().ok


# -- refused writes ------------------------------------------------------------------------


def test_bad_outcome_value_is_refused(journal: Journal) -> None:
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    no = journal.record_intent(
        run_id, resource="ou", target="OU=Z", action="create", before=None, after={}
    )
    with pytest.raises(JournalError, match="unknown change outcome 'done'"):
        journal.record_outcome(run_id, no, "done")
    with pytest.raises(JournalError, match="unknown change outcome"):
        journal.record_outcome(run_id, no, "pending")
    assert journal.changes(run_id)[0].outcome == "pending"


def test_second_outcome_and_outcome_for_unknown_change_are_refused(journal: Journal) -> None:
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    no = journal.record_intent(
        run_id, resource="ou", target="OU=Z", action="create", before=None, after={}
    )
    journal.record_outcome(run_id, no, "skipped")
    with pytest.raises(JournalError, match="already has an outcome"):
        journal.record_outcome(run_id, no, "applied")
    with pytest.raises(JournalError, match="has no change 9"):
        journal.record_outcome(run_id, 9, "applied")
    assert journal.changes(run_id)[0].outcome == "skipped"


def test_finished_run_takes_no_more_changes_nor_a_second_end(journal: Journal) -> None:
    run_id = fill(journal, changes=0)
    with pytest.raises(JournalError, match="has finished"):
        journal.record_intent(
            run_id, resource="ou", target="OU=Z", action="create", before=None, after={}
        )
    with pytest.raises(JournalError, match="already finished"):
        journal.finish_run(run_id, status="ok", counts={})
    with pytest.raises(JournalError, match="unknown run status"):
        journal.finish_run(
            journal.start_run(mode="apply", operator=OPERATOR), status="done", counts={}
        )


def test_value_that_is_not_json_is_refused_and_nothing_is_written(journal: Journal) -> None:
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    head = journal.head()
    with pytest.raises(JournalError, match="not plain JSON"):
        journal.record_intent(
            run_id, resource="ou", target="OU=Z", action="create", before={1, 2}, after={}
        )
    assert journal.head() == head


def test_update_and_delete_are_refused_by_triggers(journal: Journal, path: Path) -> None:
    fill(journal, changes=1)
    conn = raw(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only: UPDATE refused"):
        conn.execute("UPDATE entries SET body = '{}' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only: DELETE refused"):
        conn.execute("DELETE FROM entries WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="only extend the chain head"):
        conn.execute(
            "INSERT INTO entries (seq, at, run_id, kind, body, prev_hash, hash) VALUES (99, 'a', 'b', 'access', '{}', 'x', 'y')"
        )
    assert conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 4
    conn.close()
    assert journal.verify().ok


# -- verification ----------------------------------------------------------------------------


def test_verify_is_ok_on_a_clean_journal(journal: Journal) -> None:
    fill(journal, changes=3)
    journal.record_access(who="auditor", what="show")
    report = journal.verify()
    assert report.ok, report.problems
    assert (report.entries_checked, report.problems, report.notes) == (9, [], [])
    assert journal.head()[0] == 9


def test_verify_on_an_empty_journal_is_ok_and_head_is_genesis(journal: Journal) -> None:
    assert journal.verify().ok and journal.verify().entries_checked == 0
    assert journal.head() == (0, GENESIS)


def test_verify_names_the_seq_of_an_edited_body(journal: Journal, path: Path) -> None:
    fill(journal, changes=3)
    conn = raw(path)
    conn.execute("DROP TRIGGER entries_no_update")
    conn.execute("""UPDATE entries SET body = replace(body, '"o1"', '"evil"') WHERE seq = 4""")
    conn.close()
    report = journal.verify()
    assert not report.ok
    assert "seq 4: hash mismatch, the entry was edited" in report.problems
    assert "entries_no_update" in " ".join(report.problems)


def test_verify_reports_a_row_deleted_from_the_middle(journal: Journal, path: Path) -> None:
    fill(journal, changes=3)
    conn = raw(path)
    drop_triggers(conn)
    conn.execute("DELETE FROM entries WHERE seq = 4")
    conn.close()
    problems = journal.verify().problems
    assert "seq 5: seq gap, entry 4 was deleted" in problems
    assert any(p.startswith("seq 5: prev_hash link broken") for p in problems)


def test_verify_reports_a_rehashed_row_inserted_in_the_middle(journal: Journal, path: Path) -> None:
    fill(journal, changes=3)
    conn = raw(path)
    drop_triggers(conn)
    prev = conn.execute("SELECT hash FROM entries WHERE seq = 3").fetchone()[0]
    conn.execute("DELETE FROM entries WHERE seq = 4")
    at, body = "2026-01-01T00:00:00.000000Z", '{"who":"mallory","what":"nothing"}'
    forged = entry_hash(prev, 4, at, "", "access", body)
    conn.execute(
        "INSERT INTO entries (seq, at, run_id, kind, body, prev_hash, hash) VALUES (4, ?, '', 'access', ?, ?, ?)",
        (at, body, prev, forged),
    )
    conn.close()
    problems = journal.verify().problems
    assert [p for p in problems if p.startswith("seq ")] == [
        "seq 5: prev_hash link broken, it does not match the hash of seq 4"
        " (an entry was inserted, replaced or deleted here)"
    ]


def test_verify_reports_an_inserted_row_with_a_forged_hash(journal: Journal, path: Path) -> None:
    fill(journal, changes=3)
    conn = raw(path)
    drop_triggers(conn)
    prev = conn.execute("SELECT hash FROM entries WHERE seq = 3").fetchone()[0]
    conn.execute("DELETE FROM entries WHERE seq = 4")
    conn.execute(
        "INSERT INTO entries (seq, at, run_id, kind, body, prev_hash, hash)"
        " VALUES (4, '2026-01-01T00:00:00.000000Z', '', 'access', '{}', ?, ?)",
        (prev, "f" * 64),
    )
    conn.close()
    problems = journal.verify().problems
    assert "seq 4: hash mismatch, the entry was edited" in problems
    assert any(p.startswith("seq 5: prev_hash link broken") for p in problems)


def test_verify_reports_dropped_triggers_even_with_an_intact_chain(
    journal: Journal, path: Path
) -> None:
    fill(journal, changes=1)
    conn = raw(path)
    conn.execute("DROP TRIGGER entries_no_delete")
    conn.close()
    report = journal.verify()
    assert not report.ok
    assert report.problems == ["schema: append-only trigger(s) dropped: entries_no_delete"]


def test_truncated_tail_passes_the_chain_check_but_fails_against_an_anchor(
    journal: Journal, path: Path
) -> None:
    fill(journal, changes=3)
    anchor = journal.head()
    conn = raw(path)
    drop_triggers(conn)
    conn.execute("DELETE FROM entries WHERE seq >= 7")
    conn.close()
    report = journal.verify()
    assert report.entries_checked == 6
    assert [p for p in report.problems if p.startswith("seq ")] == []  # the documented limit
    assert (
        "seq 8: the anchored head is missing, the journal was truncated (6 entries left)"
        in journal.verify(anchor=anchor).problems
    )


def test_verify_against_a_matching_anchor_is_ok(journal: Journal) -> None:
    fill(journal, changes=1)
    anchor = journal.head()
    fill(journal, changes=1)
    assert journal.verify(anchor=anchor).ok
    assert not journal.verify(anchor=(anchor[0], "0" * 64)).ok


# -- exports and text --------------------------------------------------------------------------


def test_export_json_parses_back_to_runs_with_their_changes(journal: Journal) -> None:
    first = fill(journal, changes=2)
    second = fill(journal, changes=1)
    document = json.loads(journal.export("json"))
    assert [run["id"] for run in document] == [second, first]
    assert [c["change_no"] for c in document[1]["changes"]] == [1, 2]
    assert document[1]["changes"][1]["after"] == {"name": "o1"}
    assert document[1]["operator"] == OPERATOR and document[1]["status"] == "ok"
    only = json.loads(journal.export("json", run_id=first))
    assert [run["id"] for run in only] == [first]


def test_export_csv_has_one_row_per_change_with_run_columns(journal: Journal) -> None:
    first = fill(journal, changes=2)
    fill(journal, changes=0)
    rows = list(csv.DictReader(io.StringIO(journal.export("csv"))))
    assert len(rows) == 2
    assert {row["run_id"] for row in rows} == {first}
    assert [row["change_no"] for row in rows] == ["1", "2"]
    assert rows[0]["os_user"] == "alice" and rows[0]["playbook"] == "playbooks/ou.yml"
    assert json.loads(rows[1]["after"]) == {"name": "o1"}
    assert rows[0]["before"] == "null" and rows[0]["outcome"] == "applied"


def test_export_unknown_format_is_an_error(journal: Journal) -> None:
    with pytest.raises(JournalError, match="unknown export format 'xml'"):
        journal.export("xml")


def test_chinese_text_round_trips_through_store_views_and_exports(
    journal: Journal, path: Path
) -> None:
    run_id = journal.start_run(mode="apply", operator={"os_user": "张伟"}, ticket="变更-7")
    journal.record_intent(
        run_id,
        resource="group",
        target="CN=财务部,OU=北京,DC=lab,DC=test",
        action="create",
        before=None,
        after={"description": "财务部的全体员工"},
    )
    journal.record_outcome(run_id, 1, "failed", error="名称已存在")
    change = journal.changes(run_id)[0]
    assert change.target == "CN=财务部,OU=北京,DC=lab,DC=test"
    assert change.after == {"description": "财务部的全体员工"}
    assert change.error == "名称已存在"
    assert journal.run(run_id).operator == {"os_user": "张伟"}
    assert json.loads(journal.export("json"))[0]["ticket"] == "变更-7"
    (row,) = csv.DictReader(io.StringIO(journal.export("csv")))
    assert row["target"] == "CN=财务部,OU=北京,DC=lab,DC=test" and row["error"] == "名称已存在"
    conn = raw(path)
    stored = conn.execute("SELECT body FROM entries WHERE seq = 2").fetchone()[0]
    conn.close()
    assert "财务部的全体员工" in stored  # stored as UTF-8 text, not \u escapes
    assert journal.verify().ok


# -- concurrency ---------------------------------------------------------------------------------


def test_two_journals_on_one_file_appending_alternately_keep_one_chain(path: Path) -> None:
    with Journal.open(path) as one, Journal.open(path) as two:
        run_a = one.start_run(mode="apply", operator=OPERATOR)
        run_b = two.start_run(mode="apply", operator=OPERATOR)
        for n in range(5):
            one.record_intent(
                run_a, resource="ou", target=f"OU=a{n}", action="create", before=None, after={}
            )
            two.record_intent(
                run_b, resource="ou", target=f"OU=b{n}", action="create", before=None, after={}
            )
        report = one.verify()
        assert report.ok, report.problems
        assert report.entries_checked == 12
        assert one.head() == two.head()
        assert [c.change_no for c in two.changes(run_a)] == [1, 2, 3, 4, 5]
        conn = raw(path)
        prevs = [row[0] for row in conn.execute("SELECT prev_hash FROM entries")]
        conn.close()
        assert len(set(prevs)) == 12  # no two entries hang off the same parent: no fork


def test_concurrent_processes_appending_keep_one_chain(path: Path) -> None:
    Journal.open(path).close()
    writer = """
        import sys, time
        from pathlib import Path
        from adsuite.journal import Journal
        with Journal.open(Path(sys.argv[1])) as j:
            time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # start together
            for n in range(100):
                j.record_access(who=sys.argv[2], what=f"read {n}")
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    start = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(writer), str(path), f"w{i}", start], env=env
        )
        for i in range(3)
    ]
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0, 0]
    with Journal.open(path) as journal:
        report = journal.verify()
        assert report.ok, report.problems
        assert report.entries_checked == 300


# -- opening -------------------------------------------------------------------------------------


def test_open_creates_folder_schema_and_wal_mode(path: Path) -> None:
    Journal.open(path).close()
    conn = raw(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    conn.close()
    assert version == ("2",)
    assert path.stat().st_mode & 0o777 == 0o600


def test_open_refuses_a_journal_from_a_newer_version(path: Path) -> None:
    Journal.open(path).close()
    conn = raw(path)
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(JournalError, match="schema version 3, newer than this adsuite"):
        Journal.open(path)


def test_open_refuses_files_that_are_not_journals(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all, just some text" * 50)
    with pytest.raises(JournalError, match="cannot open journal"):
        Journal.open(garbage)
    other = tmp_path / "other.sqlite"
    conn = raw(other)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.close()
    with pytest.raises(JournalError, match="not an adsuite journal"):
        Journal.open(other)


def test_open_reports_an_uncreatable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError, match="cannot create journal"):
        Journal.open(blocker / "journal.sqlite")


def test_default_journal_path_prefers_env_then_root_then_user(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ADSUITE_JOURNAL", str(tmp_path / "j.sqlite"))
    assert default_journal_path() == tmp_path / "j.sqlite"
    monkeypatch.delenv("ADSUITE_JOURNAL")
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_journal_path() == Path("/var/lib/adsuite/journal.sqlite")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_journal_path() == tmp_path / ".local/state/adsuite/journal.sqlite"
