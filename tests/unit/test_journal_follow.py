"""`adsuite journal follow`: every entry once, in order, across a SIGKILL and a resume
from the cursor; a journal that stops verifying stops the stream with one line.

The journal is a real SQLite file written by adsuite's own Journal (MACed with a key
from the environment); the follower is a real ``adsuite`` process.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from adsuite.cli.main import main
from adsuite.compliance.clause_index import clause_index
from adsuite.journal.follow import Entry
from adsuite.journal.seal import KeyRef
from adsuite.journal.siem import Stream, as_rfc5424, digest, withhold
from adsuite.journal.store import Journal
from adsuite.journal.witness import Guard
from tests import tamper

Follow = Callable[..., "Done"]
ROOT = Path(__file__).resolve().parents[2]
KEY_NAME = "follow-key"
KEY_ENV = {"ADSUITE_CRED_FOLLOW_KEY": "k" * 32}


@pytest.fixture()
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in KEY_ENV.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "journal.sqlite"


def write_runs(path: Path, count: int, first: int = 0) -> None:
    """*count* runs: a drift check with two findings, or an apply of one change."""
    with Journal.open(path, guard=Guard(key=KeyRef(KEY_NAME))) as store:
        for number in range(first, first + count):
            operator = {"os_user": "ops", "bind_identity": "svc-adsuite@GROUP.EXAMPLE.COM"}
            if number % 2:
                found = [
                    {"id": f"f{number}-{i}", "kind": "group", "target": f"CN=G{i},DC=x",
                     "text": "members differ", "severity": "drift", "clause": "三.2"}
                    for i in range(2)
                ]  # fmt: skip
                run = store.start_run(mode="drift", operator=operator, extra={"findings": found})
                store.finish_run(run, status="drift", counts={"drift": 2})
                continue
            run = store.start_run(mode="apply", operator=operator, ticket=f"IT-{number}")
            change = store.record_intent(
                run, resource="group", target=f"CN=G{number},OU=HQ,DC=group,DC=example,DC=com",
                action="update", before={"member": ["a"]}, after={"member": ["a", "b"]},
            )  # fmt: skip
            store.record_outcome(run, change, "applied")
            store.finish_run(run, status="ok", counts={"applied": 1})


def follower(journal: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "adsuite", "journal", "follow", "--journal", str(journal), *args]


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture()
def run_follower(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Done]:
    """`adsuite journal follow` in this process, to its end (as main() ends it)."""

    def run(journal: Path, *args: str) -> Done:
        monkeypatch.chdir(journal.parent)  # no inventory here: the journal names its key
        capfd.readouterr()
        with pytest.raises(SystemExit) as ended:
            main(["journal", "follow", "--journal", str(journal), *args])
        printed = capfd.readouterr()
        return Done(int(ended.value.code or 0), printed.out, printed.err)

    return run


def positions(output: str) -> list[tuple[int, int]]:
    return [(doc["seq"], doc["part"]) for doc in map(json.loads, output.splitlines())]


def blocked_writing_stdout(pid: int) -> bool:
    """The process sleeps in write(1, …) on a full pipe: the line it writes is not out,
    and it stays there while nobody reads. A writer merely preempted in write() is
    running (R), not sleeping in pipe_write, and does not count."""
    proc = Path(f"/proc/{pid}")
    state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    write = {"x86_64": "1", "aarch64": "64"}[platform.machine()]  # the write(2) syscall number
    in_write = (proc / "syscall").read_text().split()[:2] == [write, "0x1"]
    return state == "S" and in_write and "pipe_write" in (proc / "wchan").read_text()


def test_a_follower_killed_mid_stream_resumes_and_writes_every_line_exactly_once(
    journal: Path, run_follower: Follow
) -> None:
    write_runs(journal, 80)  # ~320 lines, ~100 KiB: more than a pipe holds, so it blocks
    cursor = journal.parent / "siem.cursor"
    first = subprocess.Popen(
        follower(journal, "--cursor", str(cursor), "--poll", "0.2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=journal.parent,
        env={**os.environ, **KEY_ENV},
    )
    try:
        # wait for a state, not for a time: a full pipe nobody reads stays full
        deadline = time.monotonic() + 120
        while first.poll() is None and not blocked_writing_stdout(first.pid):
            assert time.monotonic() < deadline, "the follower never blocked on its output"
            time.sleep(0.05)
        assert first.poll() is None, "the follower ended instead of blocking on its output"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=60)  # dead before its pipe is read: reading first would make
        killed_out, _ = first.communicate(timeout=60)  # room the dying write could fill
    before = killed_out.decode()
    assert before.endswith("\n")  # a line that did not fit was not written at all
    write_runs(journal, 10, first=80)
    after = run_follower(journal, "--cursor", str(cursor), "--once")
    assert after.returncode == 0, after.stderr

    whole = run_follower(journal, "--once")
    assert whole.returncode == 0, whole.stderr
    seen = positions(before) + positions(after.stdout)
    assert 0 < len(positions(before)) < len(positions(whole.stdout))  # killed mid-stream
    assert [n for n in Counter(seen).values() if n != 1] == []
    assert seen == positions(whole.stdout)
    assert before + after.stdout == whole.stdout
    last_seq = tamper.connect(journal).execute("SELECT MAX(seq) FROM entries").fetchone()[0]
    assert sorted({seq for seq, _ in seen}) == list(range(1, last_seq + 1))


def test_from_starts_at_that_seq_and_a_finding_carries_its_clause(
    journal: Path, run_follower: Follow
) -> None:
    write_runs(journal, 2)  # an apply (seq 1-4), then a drift check with findings (seq 5)
    done = run_follower(journal, "--from", "5", "--once")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(d["seq"], d["part"], d["type"]) for d in lines] == [
        (5, 0, "run_start"), (5, 1, "finding"), (5, 2, "finding"), (6, 0, "run_end"),
    ]  # fmt: skip
    assert lines[1]["clauses"] == ["三.2"] and lines[1]["who"] == "ops"


def test_a_change_gives_digests_of_its_images_never_the_values(
    journal: Path, run_follower: Follow
) -> None:
    write_runs(journal, 1)
    done = run_follower(journal, "--once")
    (change,) = [d for d in map(json.loads, done.stdout.splitlines()) if d["type"] == "change"]
    assert change["before_sha256"] == digest({"member": ["a"]})
    assert change["after_sha256"] == digest({"member": ["a", "b"]})
    assert change["ticket"] == "IT-0" and change["as"] == "svc-adsuite@GROUP.EXAMPLE.COM"
    assert '"member"' not in done.stdout


def test_an_edited_entry_stops_the_stream_with_one_line_after_the_good_ones(
    journal: Path, run_follower: Follow
) -> None:
    write_runs(journal, 2)
    conn = tamper.connect(journal)
    conn.execute("DROP TRIGGER entries_no_update")
    conn.execute("UPDATE entries SET body = replace(body, 'G0', 'G9') WHERE seq = 2")
    conn.close()
    done = run_follower(journal, "--once")
    assert done.returncode == 1
    assert positions(done.stdout) == [(1, 0)]
    assert done.stderr.splitlines()[0].startswith("adsuite: journal seq 2: hash mismatch")


def test_a_forged_run_with_recomputed_hashes_stops_at_its_missing_mac(
    journal: Path, run_follower: Follow
) -> None:
    write_runs(journal, 1)
    tamper.forge_run(journal)
    done = run_follower(journal, "--once")
    assert done.returncode == 1
    assert max(seq for seq, _ in positions(done.stdout)) == 4
    assert "journal seq 5: no MAC after MACed entries" in done.stderr


def test_a_cursor_into_a_rebuilt_journal_is_refused(journal: Path, run_follower: Follow) -> None:
    write_runs(journal, 3)
    cursor = journal.parent / "siem.cursor"
    assert run_follower(journal, "--cursor", str(cursor), "--once").returncode == 0
    tamper.rebuild_without(journal, 2, 3)
    done = run_follower(journal, "--cursor", str(cursor), "--once")
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) <= 2  # the line and its hint


def test_password_attributes_are_withheld_from_digests_and_named() -> None:
    found: set[str] = set()
    image = {"description": "x", "unicodePwd": "S3cret!", "nested": [{"userPassword": "p"}]}
    assert withhold(image, found) == {"description": "x", "nested": [{}]}
    assert found == {"unicodePwd", "userPassword"}
    assert withhold({"maxPwdAge": 42, "pwdLastSet": 1}, set()) == {"maxPwdAge": 42, "pwdLastSet": 1}


def test_rfc5424_lines_escape_structured_data_values() -> None:
    from adsuite.journal.siem import Line

    line = Line(7, 0, "finding", "warning", "finding x", {"at": "2026-12-06T01:02:03.000004Z",
                "seq": 7, "text": 'a "quoted" ] \\ value'}, "dc host")  # fmt: skip
    text = as_rfc5424(line)
    assert text.startswith("<108>1 2026-12-06T01:02:03.000004Z dc-host adsuite - finding ")
    assert '[adsuite@32473 at="2026-12-06T01:02:03.000004Z" seq="7"' in text
    assert 'text="a \\"quoted\\" \\] \\\\ value"]' in text


def test_runs_and_findings_are_labelled_with_the_clauses_of_the_compliance_map() -> None:
    stream = Stream(clauses=clause_index(ROOT / "playbooks" / "compliance.yml"))
    at, operator = "2026-12-06T01:02:03.000004Z", {"os_user": "ops"}
    down = {"id": "health:dc1:ldaps", "dc": "dc1", "check": "ldaps", "text": "LDAPS down"}
    health = {"mode": "health", "operator": operator, "extra": {"findings": [down]}}
    started, finding = stream.lines(Entry(1, at, "r1", "run_start", health, "h1"))
    assert started.fields["clauses"] == finding.fields["clauses"] == ["四.1"]
    assert (finding.fields["target"], finding.fields["kind"]) == ("dc1", "ldaps")
    moved = {"id": "f", "kind": "ou", "target": "OU=HQ", "text": "missing",
             "source": "playbooks/group_domain.yml:12"}  # fmt: skip
    drift = {"mode": "drift", "playbook": "/etc/adsuite/playbooks/site.yml",
             "operator": operator, "extra": {"findings": [moved]}}  # fmt: skip
    started, finding = stream.lines(Entry(2, at, "r2", "run_start", drift, "h2"))
    assert {"三.2.b", "三.4"} <= set(started.fields["clauses"])  # site.yml imports them all
    assert set(finding.fields["clauses"]) == {"三.2.b", "三.4"}  # only its own playbook's
