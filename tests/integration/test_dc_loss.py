"""The lab DC dies: mid-apply, and before the facts are read. adsuite prints one line
per failed change (or one error line) and the summary, never a traceback, and the
journal ends the run with every change's outcome.

The moment is found by identity, not by a clock: the test holds the journal's write
lock once the run's first ``change_outcome`` is in, so adsuite cannot journal its next
batch of changes until the DC is gone (one batch may already be on its way: then the
failed change is in it, and the journal says which). Each test restarts the shared lab DC afterwards.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lab_fixture import lab_config_for_tests
from labkit import Lab as LabEnv

from adsuite.journal.store import Journal
from adsuite.lab.samba import Lab

pytestmark = pytest.mark.lab

CHANGES = 120  # enough that the run is far from done when the DC goes
DEADLINE_S = 120.0
POLL_S = 0.02


def many_ous(top: str) -> str:
    tasks = [f"  - name: top\n    ou: {{path: {top}, description: top}}"]
    tasks += [
        f"  - name: sub {i}\n    ou: {{path: {top}/S{i:03d}, description: sub {i}}}"
        for i in range(CHANGES - 1)
    ]
    return "name: many OUs\ntasks:\n" + "\n".join(tasks) + "\n"


def kill_dc() -> None:
    """SIGKILL the lab's samba and every worker of its process group; wait until gone."""
    pid = Lab(lab_config_for_tests()).status().pid
    assert pid is not None, "the lab DC is not running"
    group = os.getpgid(pid)
    os.killpg(group, signal.SIGKILL)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(POLL_S)
    raise AssertionError("samba outlived SIGKILL")


@pytest.fixture()
def dc_restarted_after() -> Iterator[None]:
    """The test may kill the DC; the next test finds it running again."""
    try:
        yield
    finally:
        Lab(lab_config_for_tests()).up()


def adsuite(args: list[str], journal: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "adsuite", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "ADSUITE_JOURNAL": str(journal)},
    )


def journaled_outcomes(conn: sqlite3.Connection) -> int:
    """How many change outcomes the journal holds (0 while its schema is not yet made)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'entries'").fetchone():
        return 0
    query = "SELECT count(*) FROM entries WHERE kind = 'change_outcome'"
    return int(conn.execute(query).fetchone()[0])


def lock_after_first_outcome(journal: Path, process: subprocess.Popen[str]) -> sqlite3.Connection:
    """Hold the journal's write lock from the moment the run's first outcome is journaled.

    Returns the connection holding the lock; adsuite waits on it (its busy timeout is 30 s)
    before journaling its next change, so that change meets the DC already gone.
    """
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "adsuite ended before any change was applied"
        if journal.exists():
            conn = sqlite3.connect(str(journal), timeout=30, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            if journaled_outcomes(conn):
                return conn
            conn.execute("ROLLBACK")
            conn.close()
        time.sleep(POLL_S)
    raise AssertionError("no change_outcome was journaled in time")


def test_dc_killed_mid_apply_fails_one_change_in_one_line_and_skips_the_rest(
    lab_env: LabEnv,
    top: str,
    write_playbook: Callable[..., Path],
    tmp_path: Path,
    dc_restarted_after: None,
) -> None:
    journal = tmp_path / "journal.sqlite"
    playbook = write_playbook(many_ous(top))
    process = adsuite(["apply", str(playbook), "-i", str(lab_env.inventory), "--yes"], journal)
    lock = lock_after_first_outcome(journal, process)
    try:
        done = journaled_outcomes(lock)
        kill_dc()
    finally:
        lock.execute("COMMIT")
        lock.close()
    out, err = process.communicate(timeout=DEADLINE_S)

    assert process.returncode == 1, err
    assert "Traceback" not in out + err
    with Journal.open(journal) as opened:
        report = opened.verify()
        assert report.ok and not report.notes  # no run left open, no change without outcome
        (run,) = opened.runs()
        assert run.status == "failed" and run.ended
        outcomes = [(c.outcome, c.error) for c in opened.changes(run.id)]
    # Intents are journaled a batch at a time before the batch's writes: if the next
    # batch's intents were in before the lock was taken, adsuite went on writing that
    # batch until the DC died. Which change met the dead DC is the journal's word (by
    # identity); it is never one of those journaled as applied when the DC was killed.
    applied = sum(1 for outcome, _ in outcomes if outcome == "applied")
    assert applied >= done
    assert [o for o, _ in outcomes] == (
        ["applied"] * applied + ["failed"] + ["skipped"] * (CHANGES - applied - 1)
    )
    failed_dn = f"OU=S{applied - 1:03d},OU={top},DC=group,DC=example,DC=com"  # change applied+1
    lost = f"the connection to the DC was lost at change {applied + 1} (ou {failed_dn})"
    assert {e for o, e in outcomes if o == "skipped"} == {lost}
    # besides the failed change, only the lease may speak: it cannot be given back to a
    # dead DC (the next run on this host takes it over, journaled), and a lease an
    # earlier test's killed DC left behind is taken over the same way
    lease = "WARNING adsuite.runtime.lease: "
    # a lost DC is the one failure after which every later change is skipped, even the
    # independent ones (sibling OUs here): one line says so, not one per change
    assert [line for line in err.splitlines() if not line.startswith(lease)] == [
        f"FAILED: ou {failed_dn}: the DC closed the connection (ldaps://127.0.0.1:636)",
        f"SKIPPED {CHANGES - applied - 1} changes after it: {lost}",
    ]
    assert f"{lease}cannot release the lease of group: the DC closed the connection" in err
    summary = f"Applied {applied}, failed 1, conflict 0, skipped {CHANGES - applied - 1}."
    assert summary in out


def test_dc_down_before_the_facts_is_one_error_line(
    lab_env: LabEnv,
    top: str,
    write_playbook: Callable[..., Path],
    tmp_path: Path,
    dc_restarted_after: None,
) -> None:
    journal = tmp_path / "journal.sqlite"
    playbook = write_playbook(many_ous(top))
    kill_dc()
    process = adsuite(["plan", str(playbook), "-i", str(lab_env.inventory)], journal)
    out, err = process.communicate(timeout=DEADLINE_S)

    assert process.returncode == 1
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert lines[0].startswith("adsuite: cannot reach ldaps://127.0.0.1:636: ")
    assert [line for line in lines[1:] if not line.startswith("  hint: ")] == []
    assert not journal.exists(), "a plan journals nothing"
