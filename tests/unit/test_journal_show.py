"""`adsuite journal show` on a journal with a MAC key never lists a forged run as ok, and
`show`/`export` never create a missing journal (the real CLI in a subprocess; the
forgery is plain sqlite3, tests/tamper.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tamper

from adsuite.journal import Journal
from adsuite.journal.seal import KeyRef
from adsuite.journal.witness import Guard

OPERATOR = {"os_user": "alice", "bind_identity": "GROUP\\alice", "host": "h"}
KEY_ENV = {"ADSUITE_CRED_TEST_JOURNAL_KEY": "k" * 32}
FORGED = "20261206T170000Z-fa4e42"


def adsuite(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ADSUITE_")}
    done = subprocess.run(
        [sys.executable, "-m", "adsuite", *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL,
        env={**environment, **(env or {})},
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A MACed journal with one real run; returns its path and that run's id."""
    monkeypatch.setenv("ADSUITE_CRED_TEST_JOURNAL_KEY", KEY_ENV["ADSUITE_CRED_TEST_JOURNAL_KEY"])
    path = tmp_path / "journal.sqlite"
    with Journal.open(path, guard=Guard(key=KeyRef("test-journal-key"))) as book:
        run_id = book.start_run(mode="apply", operator=OPERATOR)
        book.finish_run(run_id, status="ok", counts={})
    return path, run_id


def test_an_untouched_journal_is_shown_without_a_warning(
    tmp_path: Path, journal: tuple[Path, str]
) -> None:
    path, real = journal
    code, out, err = adsuite(tmp_path, "journal", "show", "--journal", str(path), env=KEY_ENV)
    assert code == 0, err
    assert real in out and "UNVERIFIED" not in out and err == ""


def test_a_forged_run_is_shown_unverified_and_the_exit_code_is_1(
    tmp_path: Path, journal: tuple[Path, str]
) -> None:
    path, real = journal
    tamper.forge_run(path)
    args = ("journal", "show", "--journal", str(path), "--format", "json")
    code, out, err = adsuite(tmp_path, *args, env=KEY_ENV)
    assert code == 1
    runs = {run["id"]: run for run in json.loads(out)["runs"]}
    assert runs[FORGED]["status"] == "ok"  # what the forged rows claim, and:
    assert "no MAC after MACed entries" in runs[FORGED]["unverified"]
    assert runs[real]["unverified"] is None
    assert err.splitlines() == [
        "warning: 1 run(s) shown hold entries that do not verify (forged, edited or rebuilt):"
        " run `adsuite journal verify`"
    ]
    code, out, _ = adsuite(tmp_path, "journal", "show", "--journal", str(path), env=KEY_ENV)
    assert code == 1 and "ok (UNVERIFIED)" in out


def test_one_forged_run_shown_alone_says_why(tmp_path: Path, journal: tuple[Path, str]) -> None:
    path, _ = journal
    tamper.forge_run(path)
    args = ("journal", "show", "--journal", str(path), "--run", FORGED)
    code, out, err = adsuite(tmp_path, *args, env=KEY_ENV)
    assert code == 1 and "warning: 1 run(s) shown" in err
    assert "UNVERIFIED: seq 3" in out


@pytest.mark.parametrize("command", ["show", "export"])
def test_a_missing_journal_is_one_line_and_not_created(tmp_path: Path, command: str) -> None:
    path = tmp_path / "gone" / "journal.sqlite"
    code, out, err = adsuite(tmp_path, "journal", command, "--journal", str(path))
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and f"no journal file at {path}" in err
    assert not path.exists() and not path.parent.exists()
