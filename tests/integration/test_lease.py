"""One writer per domain, proved with real `adsuite` processes against the lab DC.

A first process holds the domain lease at its confirmation prompt (its stdin is a
pseudo-terminal the test answers); the others are started once the lease object in
the directory names that process, and the test answers the first only once a waiting
process has said whom it waits for. No step depends on timing.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
import yaml
from labkit import Lab
from test_ticket_runs import (
    RULES,
    Companies,
    add_user,
    companies,
    new_employee,
    reset,
    write_ticket,
)

from adsuite.connectors.ldap import Directory
from adsuite.journal.store import Journal
from adsuite.runtime.lease import lease_dn

pytestmark = pytest.mark.lab
_FIXTURES = (companies,)

BASE = "DC=group,DC=example,DC=com"
DEADLINE = 120.0  # seconds before a wait for an identity is a failure, never a pass


@dataclass
class Proc:
    popen: subprocess.Popen[str]
    tty: int  # the master end of its stdin

    def answer(self, text: str) -> None:
        os.write(self.tty, text.encode())

    def done(self) -> tuple[int, str, str]:
        out, err = self.popen.communicate(timeout=300)
        os.close(self.tty)
        return self.popen.returncode, out, err


@pytest.fixture()
def adsuite(lab_env: Lab) -> Iterator[Callable[..., Proc]]:
    started: list[Proc] = []

    def start(*args: str) -> Proc:
        master, slave = pty.openpty()
        env = {**os.environ, "ADSUITE_JOURNAL": str(lab_env.journal), "COLUMNS": "200"}
        popen = subprocess.Popen(
            [sys.executable, "-m", "adsuite", *args],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        os.close(slave)
        started.append(Proc(popen, master))
        return started[-1]

    yield start
    for proc in started:
        if proc.popen.poll() is None:
            proc.popen.kill()
            proc.popen.wait()


def holder(directory: Directory, pid: int) -> dict[str, object]:
    """Wait until the domain lease names process *pid*; its holder record."""
    give_up = time.monotonic() + DEADLINE
    while time.monotonic() < give_up:
        entry = directory.read(lease_dn(BASE), ["adminDescription"])
        value = entry.text("adminDescription") if entry else None
        found = json.loads(value) if value else {}
        if found.get("pid") == pid:
            return found
    raise AssertionError(f"the lease never named pid {pid}")


def line_with(stream: IO[str], words: str) -> str:
    """Read *stream* until a line holds *words* (the process told whom it waits for)."""
    for line in stream:
        if words in line:
            return line
    raise AssertionError(f"the process ended without saying {words!r}")


def short_lease_inventory(lab_env: Lab, folder: Path, seconds: int) -> Path:
    data = yaml.safe_load(lab_env.inventory.read_text(encoding="utf-8"))
    data["domains"]["group"]["lease_seconds"] = seconds
    path = folder / "short-lease.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def ou_playbook(folder: Path, name: str, top: str, description: str, protected: bool) -> Path:
    path = folder / name
    path.write_text(
        f"domain: group\ntasks:\n  - ou: {{path: {top}, description: {description}, "
        f"protected: {str(protected).lower()}}}\n",
        encoding="utf-8",
    )
    return path


def test_a_second_apply_on_the_domain_is_refused_or_waits_and_reads_the_whole_first_change(
    lab_env: Lab, directory: Directory, adsuite: Callable[..., Proc], top: str, tmp_path: Path
) -> None:
    inv = str(lab_env.inventory)
    made = adsuite(
        "apply", str(ou_playbook(tmp_path, "0.yml", top, "zero", False)), "-i", inv, "-y"
    )
    assert made.done()[0] == 0
    first = adsuite("apply", str(ou_playbook(tmp_path, "a.yml", top, "first", True)), "-i", inv)
    held = holder(directory, first.popen.pid)  # at its prompt, facts read, under the lease
    second_playbook = str(ou_playbook(tmp_path, "b.yml", top, "second", True))

    refused = adsuite("apply", second_playbook, "-i", inv, "-y").done()
    assert refused[0] == 1
    assert refused[2].strip().splitlines() == [refused[2].strip()], "one line"
    assert f"pid {first.popen.pid}" in refused[2] and str(held["host"]) in refused[2]
    assert "domain group is being changed by another run" in refused[2]

    waiting = adsuite("apply", second_playbook, "-i", inv, "-y", "--wait", "300")
    assert waiting.popen.stderr is not None
    assert f"pid {first.popen.pid}" in line_with(waiting.popen.stderr, "waiting up to")
    first.answer("y\n")
    code, _out, err = first.done()
    assert code == 0, err
    code, _out, err = waiting.done()
    assert code == 0, err

    with Journal.open(lab_env.journal) as journal:
        runs = [
            r for r in journal.runs() if r.playbook in (str(tmp_path / "a.yml"), second_playbook)
        ]
        first_run, second_run = sorted(runs, key=lambda r: r.start_seq)
        changes = journal.changes(second_run.id)
    assert first_run.pid == first.popen.pid and second_run.pid == waiting.popen.pid
    assert first_run.ended is not None and first_run.ended <= second_run.started
    # the second run's before-image is the first run's whole change, not half of it
    assert [c.before for c in changes if c.resource == "ou"] == [{"description": "first"}]


def test_a_lease_left_by_a_killed_process_is_taken_over_after_expiry_and_journaled(
    lab_env: Lab, directory: Directory, adsuite: Callable[..., Proc], top: str, tmp_path: Path
) -> None:
    inv = str(short_lease_inventory(lab_env, tmp_path, 3))
    killed = adsuite("apply", str(ou_playbook(tmp_path, "a.yml", top, "first", False)), "-i", inv)
    dead = holder(directory, killed.popen.pid)
    killed.popen.send_signal(signal.SIGKILL)
    killed.done()

    taker = adsuite(
        "apply",
        str(ou_playbook(tmp_path, "b.yml", top, "b", False)),
        "-i",
        inv,
        "-y",
        "--wait",
        "60",
    )
    code, _out, err = taker.done()
    assert code == 0, err
    with Journal.open(lab_env.journal) as journal:
        takeovers = [t for t in journal.lease_takeovers() if t["holder"]["pid"] == taker.popen.pid]
    assert len(takeovers) == 1
    assert takeovers[0]["previous"] == dead and takeovers[0]["domain"] == "group"
    assert directory.read(lease_dn(BASE), ["cn"]) is None, "released at the end"


def test_a_lease_whose_process_on_this_host_is_gone_is_taken_over_at_once(
    lab_env: Lab, directory: Directory, top: str, tmp_path: Path
) -> None:
    """A run whose DC went away mid-run cannot release its lease; once its process has
    ended, the next run on the same host takes the lease over at once (journaled)
    instead of waiting for the expiry. The lease is planted by hand with ldbadd."""
    done = subprocess.Popen(["true"])
    done.wait()
    stale = {
        "host": os.uname().nodename,
        "pid": done.pid,
        "user": "root",
        "run": None,
        "since": "2026-01-01T00:00:00.000000Z",
        "until": "2099-01-01T00:00:00.000000Z",
        "process": "1",  # no process started at tick 1 has that pid now
    }
    sam = str(lab_env.status.state_dir / "private" / "sam.ldb")
    ldif = (
        f"dn: {lease_dn(BASE)}\nobjectClass: serviceConnectionPoint\n"
        f"adminDescription: {json.dumps(stale)}\n"
    )
    subprocess.run(["ldbadd", "-H", sam], input=ldif, text=True, check=True, capture_output=True)
    try:
        taken = subprocess.run(
            [sys.executable, "-m", "adsuite", "apply",
             str(ou_playbook(tmp_path, "a.yml", top, "after", False)),
             "-i", str(lab_env.inventory), "--yes"],
            capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
            env={**os.environ, "ADSUITE_JOURNAL": str(lab_env.journal)},
        )  # fmt: skip
        assert taken.returncode == 0, taken.stderr
        with Journal.open(lab_env.journal) as journal:
            takeovers = [t for t in journal.lease_takeovers() if t["previous"]["pid"] == done.pid]
        assert len(takeovers) == 1 and takeovers[0]["previous"]["until"] == stale["until"]
        assert directory.read(lease_dn(BASE), ["cn"]) is None, "released at the end"
    finally:
        subprocess.run(["ldbdel", "-H", sam, lease_dn(BASE)], capture_output=True, check=False)


def test_two_applies_of_one_ticket_started_together_make_one_journal_run(
    lab_env: Lab,
    directory: Directory,
    adsuite: Callable[..., Proc],
    companies: Companies,
    top: str,
) -> None:
    user = f"{top}-tw"
    ticket = write_ticket(companies, "new.yml", new_employee(companies, user))
    args = ("ticket", "apply", str(ticket), "-i", str(companies.inventory), "--rules", str(RULES))
    first = adsuite(*args, "--password-out", str(companies.folder / "first.txt"))
    holder(directory, first.popen.pid)
    second = adsuite(
        *args, "-y", "--wait", "300", "--password-out", str(companies.folder / "2.txt")
    )
    assert second.popen.stderr is not None
    assert f"pid {first.popen.pid}" in line_with(second.popen.stderr, "waiting up to")
    first.answer("y\n")
    code, _out, err = first.done()
    assert code == 0, err
    code, _out, err = second.done()

    with Journal.open(lab_env.journal) as journal:
        runs = journal.ticket_runs(f"NE-{user}")
    assert [(r.pid, claimed) for r, claimed in runs] == [(first.popen.pid, True)]
    assert code == 1
    assert f"ticket NE-{user} was already carried out (journal run {runs[0][0].id}" in err
    assert (companies.folder / "first.txt").stat().st_size > 0
    assert not (companies.folder / "2.txt").exists()


def test_a_ticket_another_host_carried_out_is_refused_though_this_journal_never_saw_it(
    lab_env: Lab, directory: Directory, companies: Companies, top: str, tmp_path: Path
) -> None:
    """Two adsuite hosts keep two journals; the claim in the directory is what they share.
    A password reset would otherwise be carried out twice, with two passwords."""
    user = f"{top}-xh"
    add_user(companies, user, [])
    ticket = write_ticket(companies, "reset.json", reset(user, companies.person("it.head")))
    args = ("ticket", "apply", str(ticket), "-i", str(companies.inventory), "--rules", str(RULES))

    def run_on(journal: Path, password_file: str) -> subprocess.CompletedProcess[str]:
        out = str(companies.folder / password_file)
        return subprocess.run(
            [sys.executable, "-m", "adsuite", *args, "-y", "--password-out", out],
            capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
            env={**os.environ, "ADSUITE_JOURNAL": str(journal)},
        )  # fmt: skip

    first = run_on(tmp_path / "host-a.sqlite", "a.txt")
    assert first.returncode == 0, first.stderr
    second = run_on(tmp_path / "host-b.sqlite", "b.txt")
    assert second.returncode == 1
    assert f"ticket PR-{user} was claimed by another adsuite host" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1, second.stderr
    assert not (companies.folder / "b.txt").exists(), "refused before any change: no file"
    with Journal.open(tmp_path / "host-b.sqlite") as journal:
        assert journal.ticket_runs(f"PR-{user}") == []
