"""The journal against its MAC key and a witness: each tamper root could make is named.

A journal file with a FileWitness (a real file, no fakes); the tampering is done with
plain sqlite3 (tests/tamper.py), never through adsuite. The directory witness is
tested against the lab DC in tests/integration/test_journal_witness_dc.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import tamper

from adsuite.errors import JournalError
from adsuite.journal import Journal
from adsuite.journal.check import check_journal
from adsuite.journal.seal import KeyRef
from adsuite.journal.witness import Guard, Head
from adsuite.journal.witness_file import FileWitness

OPERATOR = {"os_user": "alice"}
KEY_NAME = "test-journal-key"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> KeyRef:
    monkeypatch.setenv("ADSUITE_CRED_TEST_JOURNAL_KEY", "k" * 32)
    return KeyRef(KEY_NAME)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


@pytest.fixture
def heads(tmp_path: Path) -> Path:
    return tmp_path / "witness" / "heads.jsonl"


@pytest.fixture
def guard(key: KeyRef, heads: Path) -> Guard:
    return Guard(key=key, witnesses=(FileWitness(heads),))


def run(journal: Journal, changes: int = 2) -> str:
    """One finished run: 2 + 2 * changes entries."""
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    for n in range(changes):
        no = journal.record_intent(
            run_id, resource="ou", target=f"OU=o{n}", action="create", before=None, after={}
        )
        journal.record_outcome(run_id, no, "applied")
    journal.finish_run(run_id, status="ok", counts={"applied": changes})
    return run_id


@pytest.fixture
def three_runs(path: Path, guard: Guard) -> Iterator[Path]:
    """Runs at seqs 1–6, 7–12, 13–18; the witness says head 18."""
    with Journal.open(path, guard=guard) as journal:
        for _ in range(3):
            run(journal)
    yield path


def test_an_untouched_journal_verifies_against_its_witness(three_runs: Path, guard: Guard) -> None:
    report = check_journal(three_runs, guard)
    assert report.ok, report.problems
    assert report.entries_checked == 18 and report.mac_since == 1
    assert report.witnessed == [
        f"file witness {guard.witnesses[0].name[13:]}: head 18 of 18, matches"
    ]


def test_every_run_end_appends_its_head_to_the_file_witness(three_runs: Path, heads: Path) -> None:
    lines = [json.loads(line) for line in heads.read_text(encoding="utf-8").splitlines()]
    assert [(h["seq"], h["runs"], h["mac_since"]) for h in lines] == [
        (6, 1, 1),
        (12, 2, 1),
        (18, 3, 1),
    ]


def test_a_truncated_tail_is_named_with_the_entries_and_runs_missing(
    three_runs: Path, guard: Guard
) -> None:
    tamper.truncate(three_runs, 7)
    report = check_journal(three_runs, guard)
    assert not report.ok
    assert any(
        p.startswith("entries 7–18 missing (2 runs): the file witness") for p in report.problems
    )


def test_forged_rows_with_recomputed_hashes_fail_on_their_missing_mac(
    three_runs: Path, guard: Guard
) -> None:
    tamper.forge_run(three_runs)
    report = check_journal(three_runs, guard)
    assert report.problems == [
        "seq 19–22: no MAC after MACed entries, written without the key (forged?) (4 entries)"
    ]


def test_rows_macd_with_another_key_do_not_verify(
    three_runs: Path, guard: Guard, heads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADSUITE_CRED_OTHER_KEY", "x" * 32)
    with Journal.open(three_runs, guard=Guard(key=KeyRef("other-key"))) as journal:
        run(journal, changes=0)
    report = check_journal(three_runs, guard)
    assert report.problems == [
        "seq 19–20: MAC does not verify, the entry was forged or rebuilt without the key"
        " (2 entries)"
    ]


def test_a_chain_rebuilt_without_a_run_is_named(three_runs: Path, guard: Guard) -> None:
    tamper.rebuild_without(three_runs, 7, 12)
    report = check_journal(three_runs, guard)
    assert not report.ok
    assert any(p.startswith("entries 13–18 missing (1 run)") for p in report.problems)
    assert any("MAC does not verify" in p for p in report.problems)


def test_a_rebuilt_chain_padded_to_the_witnessed_length_is_named(
    three_runs: Path, guard: Guard
) -> None:
    tamper.rebuild_without(three_runs, 7, 12)
    tamper.forge_run(three_runs)
    tamper.forge_run(three_runs)  # 12 + 8 entries: past the witnessed head 18 again
    report = check_journal(three_runs, guard)
    assert any(p.startswith("seq 18: the chain was rebuilt") for p in report.problems)


def test_a_deleted_journal_is_named_and_not_recreated(three_runs: Path, guard: Guard) -> None:
    three_runs.unlink()
    report = check_journal(three_runs, guard)
    assert not report.ok
    assert report.problems[0].startswith(
        f"the journal file {three_runs} is missing: entries 1–18 (3 runs), the file witness"
    )
    assert not three_runs.exists()


def test_a_missing_journal_no_witness_knows_still_fails(path: Path) -> None:
    report = check_journal(path, Guard())
    assert report.problems == [f"the journal file {path} is missing and no witness knows its head"]
    assert not path.exists()


def test_no_run_starts_on_a_truncated_journal_and_the_witness_stays_as_evidence(
    three_runs: Path, guard: Guard, heads: Path
) -> None:
    tamper.truncate(three_runs, 13)
    with Journal.open(three_runs, guard=guard) as journal:
        with pytest.raises(JournalError) as refused:
            run(journal)
        assert journal.head()[0] == 12, "nothing was written"
    assert str(refused.value) == (
        f"entries 13–18 missing (1 run): the file witness {heads} says head 18 (3 runs,"
        f" at {json.loads(heads.read_text(encoding='utf-8').splitlines()[-1])['at']}),"
        " the file ends at 12; no run starts on it: run adsuite journal verify"
    )
    assert json.loads(heads.read_text(encoding="utf-8").splitlines()[-1])["seq"] == 18
    assert any(
        p.startswith("entries 13–18 missing") for p in check_journal(three_runs, guard).problems
    )


def test_no_run_starts_on_a_new_journal_in_place_of_the_old(three_runs: Path, guard: Guard) -> None:
    three_runs.unlink()
    with (
        Journal.open(three_runs, guard=guard) as journal,
        pytest.raises(JournalError, match=r"the journal file was replaced.*journal verify"),
    ):
        run(journal)
    report = check_journal(three_runs, guard)
    assert report.problems[0].startswith("the journal file was replaced")


def test_a_run_starts_when_the_witness_cannot_be_read(
    three_runs: Path, key: KeyRef, tmp_path: Path
) -> None:
    unreadable = tmp_path / "witness-dir"
    unreadable.mkdir()  # a folder where the witness file should be: reading it fails
    with Journal.open(
        three_runs, guard=Guard(key=key, witnesses=(FileWitness(unreadable),))
    ) as journal:
        run(journal)
        assert journal.head()[0] == 24


def test_entries_before_the_key_existed_are_reported_as_unmacd(path: Path, guard: Guard) -> None:
    with Journal.open(path) as journal:
        run(journal)
    with Journal.open(path, guard=guard) as journal:
        run(journal)
    report = check_journal(path, guard)
    assert report.ok, report.problems
    assert report.mac_since == 7
    assert "entries 1–6 are unMACed, before 7 (written before the key existed)" in report.notes


def test_a_writer_without_the_guard_macs_with_the_key_the_file_names(
    three_runs: Path, guard: Guard
) -> None:
    with Journal.open(three_runs) as journal:  # e.g. `journal show` recording its read
        journal.record_access(who="bob", what="journal show")
    assert check_journal(three_runs, guard).ok


def test_a_macd_journal_takes_no_entry_when_its_key_is_gone(
    three_runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADSUITE_CRED_TEST_JOURNAL_KEY")
    with Journal.open(three_runs) as journal, pytest.raises(JournalError, match=KEY_NAME):
        journal.record_access(who="bob", what="journal show")


def test_the_key_never_reaches_the_journal_file(three_runs: Path) -> None:
    assert b"k" * 32 not in three_runs.read_bytes()


def test_without_a_guard_the_chain_alone_is_checked(path: Path) -> None:
    with Journal.open(path) as journal:
        run(journal)
    report = check_journal(path, Guard())
    assert report.ok and report.mac_since is None and report.witnessed == []


def test_the_file_witness_is_never_moved_back_by_a_run_that_ended_earlier(tmp_path: Path) -> None:
    witness = FileWitness(tmp_path / "heads.jsonl")

    def head(seq: int) -> Head:
        return Head("host:/j", "j-1", seq, f"h{seq}", seq, 1, None, "2026-12-06T00:00:00Z")

    witness.write(head(12))
    witness.write(head(10))  # a run whose end was witnessed after a later one's
    assert witness.read("host:/j") == head(12)
    assert len((tmp_path / "heads.jsonl").read_text(encoding="utf-8").splitlines()) == 1
