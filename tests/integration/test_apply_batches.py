"""Apply journals its changes in batches (engine/executor.py BATCH): every intent of a
batch is durable before the batch's first write, the outcomes come after its last.

adsuite is killed (SIGKILL) in the middle of a batch and the journal must still name
every object that reached the DC. The moment is found by identity, never by a clock:
once the second batch's intents are in the journal the test holds the journal's write
lock (so no outcome of that batch can be committed), waits until a group of that batch
is in the directory, and kills the process. A create that someone else made between
plan and apply is still a conflict, found by the add itself rather than a read before it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.engine.executor import BATCH
from adsuite.formats.ldap_query import Query
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab
BASE = "DC=group,DC=example,DC=com"
GROUPS = 2 * BATCH + 19  # with the OU: two full batches and part of a third
DEADLINE_S = 120.0
POLL_S = 0.02


def groups_playbook(top: str) -> str:
    tasks = [f"  - ou: {{path: {top}, description: batches, protected: false}}"]
    tasks += [f"  - group: {{name: {top}-g{i:03d}, ou: {top}}}" for i in range(GROUPS)]
    return "name: many groups\ntasks:\n" + "\n".join(tasks) + "\n"


def group_dn(top: str, i: int) -> str:
    return f"CN={top}-g{i:03d},OU={top},{BASE}"


def count(conn: sqlite3.Connection, kind: str) -> int:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'entries'").fetchone():
        return 0
    row = conn.execute("SELECT count(*) FROM entries WHERE kind = ?", (kind,)).fetchone()
    return int(row[0])


def lock_once_intents(
    journal: Path, process: subprocess.Popen[str], at_least: int
) -> sqlite3.Connection:
    """The journal's write lock, taken once *at_least* intents are committed."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "adsuite ended before the second batch"
        if journal.exists():
            conn = sqlite3.connect(str(journal), timeout=30, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            if count(conn, "change_intent") >= at_least:
                return conn
            conn.execute("ROLLBACK")
            conn.close()
        time.sleep(POLL_S)
    raise AssertionError(f"{at_least} intents were not journaled in time")


def wait_for_entry(directory: Directory, dn: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "adsuite ended while the journal was locked"
        if directory.read(dn, ["cn"]) is not None:
            return
        time.sleep(POLL_S)
    raise AssertionError(f"{dn} did not appear in time")


def groups_on_the_dc(directory: Directory, top: str) -> set[str]:
    found = directory.search(Query(f"OU={top},{BASE}", "(objectClass=group)", ("cn",), "one"))
    return {entry.dn.lower() for entry in found}


@pytest.fixture()
def lab_env(lab_env: Lab, tmp_path: Path) -> Lab:
    """A journal of this test's own: the kill leaves pending intents, which every later
    writing run on a shared journal would (rightly) warn about on its stderr."""
    return Lab(lab_env.status, lab_env.inventory, tmp_path / "journal.sqlite")


def test_adsuite_killed_mid_batch_leaves_every_object_on_the_dc_journaled(
    lab_env: Lab,
    directory: Directory,
    cli: Callable[..., Cli],
    write_playbook: Callable[..., Path],
    top: str,
) -> None:
    playbook = write_playbook(groups_playbook(top))
    command = ["apply", str(playbook), "-i", str(lab_env.inventory), "--yes"]
    process = subprocess.Popen(
        [sys.executable, "-m", "adsuite", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "ADSUITE_JOURNAL": str(lab_env.journal)},
    )
    before = Journal.open(lab_env.journal)
    known_runs = {run.id for run in before.runs()}
    before.close()
    lock = lock_once_intents(lab_env.journal, process, at_least=2 * BATCH)
    try:
        # change k is group k-2 (change 1 is the OU): one group well into the second batch
        wait_for_entry(directory, group_dn(top, BATCH + 10), process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=DEADLINE_S)
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    with Journal.open(lab_env.journal) as journal:
        (run,) = [r for r in journal.runs() if r.id not in known_runs]
        changes = journal.changes(run.id)
        report = journal.verify()
    intended = {c.target.lower() for c in changes}
    on_the_dc = groups_on_the_dc(directory, top)
    assert len(changes) == 2 * BATCH  # the third batch was never journaled, nor sent
    assert on_the_dc <= intended, "an object reached the DC without a durable intent"
    assert group_dn(top, BATCH + 10).lower() in on_the_dc
    assert [c.outcome for c in changes] == ["applied"] * BATCH + ["pending"] * BATCH
    pending = [c.target for c in changes if c.outcome == "pending"]
    assert report.ok
    assert [n for n in report.notes if "intent with no outcome" in n] == [
        f"run {run.id} change {c.change_no} (seq {c.intent_seq}): intent with no outcome,"
        f" check {c.target} by hand"
        for c in changes
        if c.outcome == "pending"
    ]

    # the next run names the pending changes, then creates only what is still missing
    again = cli("apply", str(playbook), "-i", str(lab_env.inventory), "--yes")
    assert again.code == 0, again.err
    assert f"run {run.id} has {BATCH} pending change(s)" in again.err
    assert all(target in again.err for target in pending)
    assert f"Applied {GROUPS - len(on_the_dc)}, failed 0" in again.out
    assert groups_on_the_dc(directory, top) == {group_dn(top, i).lower() for i in range(GROUPS)}


def test_a_create_someone_else_made_after_the_plan_is_a_conflict_found_by_the_add(
    lab_env: Lab, directory: Directory, write_playbook: Callable[..., Path], top: str
) -> None:
    setup = write_playbook(f"tasks:\n  - ou: {{path: {top}, protected: false}}\n", "ou.yml")
    session = lab_env.session(setup)
    with session.connect() as conn:
        session.apply(session.plan(conn), conn)
    groups = "".join(f"  - group: {{name: {top}-{n}, ou: {top}}}\n" for n in ("a", "b"))
    session = lab_env.session(write_playbook(f"tasks:\n{groups}"))
    taken = f"CN={top}-a,OU={top},{BASE}"
    with session.connect() as conn:
        plan = session.plan(conn)
        directory.add(taken, {"objectClass": ["group"], "description": ["someone else"]})
        result = session.apply(plan, conn)

    assert [(o.change.target, o.outcome, o.error) for o in result.outcomes] == [
        (taken, "conflict", f"{taken} was created by someone else since the plan"),
        (f"CN={top}-b,OU={top},{BASE}", "applied", None),
    ]
    entry = directory.read(taken, ["description"])
    assert entry is not None and entry.text("description") == "someone else"
