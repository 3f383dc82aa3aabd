"""The journal's directory witness on the lab DC: written at every run end on the PDC
emulator, read back from there by `adsuite journal verify`, which names each tamper.

The tampering is done with plain sqlite3 (tests/tamper.py), never through adsuite.
Each test has its own journal file, so its witness object is its own too.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import tamper
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.journal.witness import journal_name
from adsuite.journal.witness_ldap import HEAD_ATTRIBUTE, DirectoryWitness


@pytest.fixture()
def guarded(lab_env: Lab, tmp_path: Path) -> Path:
    """An inventory like the lab's with a journal_guard: MAC key and directory witness."""
    key = tmp_path / "journal-key.secret"
    key.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    key.chmod(0o600)
    inventory = tmp_path / "guarded.yml"
    text = lab_env.inventory.read_text(encoding="utf-8")
    inventory.write_text(
        text
        + f"""  journal-key:
    username: journal-mac
    secret_file: {key}
journal_guard:
  mac_key: journal-key
  directory: group
""",
        encoding="utf-8",
    )
    return inventory


@pytest.fixture()
def adsuite(guarded: Path, tmp_path: Path) -> Callable[..., Cli]:
    journal = tmp_path / "journal.sqlite"

    def run(*args: str) -> Cli:
        env = {**os.environ, "ADSUITE_JOURNAL": str(journal), "ADSUITE_INVENTORY": str(guarded)}
        done = subprocess.run(
            [sys.executable, "-m", "adsuite", *args],
            capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return Cli(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture()
def two_runs(
    adsuite: Callable[..., Cli], write_playbook: Callable[..., Path], top: str,
    directory: Directory, tmp_path: Path,
) -> Iterator[Path]:  # fmt: skip
    """Two apply runs (an OU each, under this test's own names); yields the journal file.
    The witness object is removed after."""
    for name in ("A", "B"):
        playbook = write_playbook(
            f"name: witness\ndomain: group\ntasks:\n  - ou: {{path: {top}{name}}}\n", f"{name}.yml"
        )
        done = adsuite("apply", str(playbook), "--yes")
        assert done.code == 0, done.err
    journal = tmp_path / "journal.sqlite"
    yield journal
    witness_dn = _witness(directory).object_dn(journal_name(journal))
    if directory.read(witness_dn, ["cn"]) is not None:
        directory.delete(witness_dn)


def _witness(directory: Directory) -> DirectoryWitness:
    base = "DC=group,DC=example,DC=com"
    endpoint = directory.endpoint
    return DirectoryWitness({"dc1": endpoint}, "dc1", lambda: None, base, f"CN=System,{base}")  # type: ignore[arg-type,return-value]


def _head_in_directory(directory: Directory, journal: Path) -> dict[str, object]:
    entry = directory.read(_witness(directory).object_dn(journal_name(journal)), [HEAD_ATTRIBUTE])
    assert entry is not None
    head: dict[str, object] = json.loads(entry.texts(HEAD_ATTRIBUTE)[0])
    return head


def _last(journal: Path) -> tuple[int, str]:
    conn = sqlite3.connect(journal)
    row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    conn.close()
    return int(row[0]), str(row[1])


def test_every_run_end_writes_the_head_to_the_directory(
    two_runs: Path, directory: Directory
) -> None:
    head = _head_in_directory(directory, two_runs)
    seq, digest = _last(two_runs)
    assert (head["seq"], head["hash"], head["runs"], head["mac_since"]) == (seq, digest, 2, 1)


def test_an_untouched_journal_verifies(two_runs: Path, adsuite: Callable[..., Cli]) -> None:
    done = adsuite("journal", "verify")
    seq, digest = _last(two_runs)
    assert done.code == 0, done.err
    assert "witness: directory witness in CN=System,DC=group,DC=example,DC=com (PDC emulator):" \
        f" head {seq} of {seq}, matches" in done.out  # fmt: skip
    assert f"Journal intact: {seq} entries, head {seq} {digest}" in done.out
    assert "warning: no file witness" in done.err


def test_deleting_the_last_run_is_named_by_the_directory_witness(
    two_runs: Path, adsuite: Callable[..., Cli]
) -> None:
    seq, _ = _last(two_runs)
    conn = sqlite3.connect(two_runs)
    second = conn.execute(
        "SELECT seq FROM entries WHERE kind = 'run_start' ORDER BY seq DESC LIMIT 1"
    ).fetchone()[0]
    conn.close()
    tamper.truncate(two_runs, second)
    done = adsuite("journal", "verify")
    assert done.code == 1
    assert f"BROKEN: entries {second}–{seq} missing (1 run): the directory witness" in done.err


def test_a_forged_run_with_recomputed_hashes_is_named(
    two_runs: Path, adsuite: Callable[..., Cli]
) -> None:
    seq, _ = _last(two_runs)
    tamper.forge_run(two_runs)
    done = adsuite("journal", "verify")
    assert done.code == 1
    assert f"BROKEN: seq {seq + 1}–{seq + 4}: no MAC after MACed entries" in done.err


def test_a_rebuilt_chain_is_named(two_runs: Path, adsuite: Callable[..., Cli]) -> None:
    conn = sqlite3.connect(two_runs)
    first = conn.execute(
        "SELECT seq FROM entries WHERE kind = 'run_start' ORDER BY seq"
    ).fetchone()[0]
    end = conn.execute("SELECT seq FROM entries WHERE kind = 'run_end' ORDER BY seq").fetchone()[0]
    conn.close()
    seq, _ = _last(two_runs)
    tamper.rebuild_without(two_runs, first, end)  # the first run gone, the second renumbered
    tamper.forge_run(two_runs)
    tamper.forge_run(two_runs)
    done = adsuite("journal", "verify")
    assert done.code == 1
    assert (
        f"BROKEN: seq {seq}: the chain was rebuilt, its hash differs from the directory" in done.err
    )


def test_a_deleted_journal_is_named_and_not_recreated(
    two_runs: Path, adsuite: Callable[..., Cli]
) -> None:
    seq, _ = _last(two_runs)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{two_runs}{suffix}").unlink(missing_ok=True)
    done = adsuite("journal", "verify")
    assert done.code == 1
    assert f"the journal file {two_runs} is missing: entries 1–{seq} (2 runs)" in done.err
    assert not two_runs.exists()


def test_no_apply_starts_on_a_truncated_journal(
    two_runs: Path,
    adsuite: Callable[..., Cli],
    write_playbook: Callable[..., Path],
    top: str,
    directory: Directory,
) -> None:
    conn = sqlite3.connect(two_runs)
    second = conn.execute(
        "SELECT seq FROM entries WHERE kind = 'run_start' ORDER BY seq DESC LIMIT 1"
    ).fetchone()[0]
    conn.close()
    tamper.truncate(two_runs, second)
    playbook = write_playbook(f"name: after\ndomain: group\ntasks:\n  - ou: {{path: {top}C}}\n")
    done = adsuite("apply", str(playbook), "--yes")
    assert done.code == 1
    (line,) = done.err.splitlines()
    assert f"entries {second}–" in line and line.endswith("run adsuite journal verify")
    assert directory.read(f"OU={top}C,DC=group,DC=example,DC=com", ["ou"]) is None
    assert _last(two_runs)[0] == second - 1, "nothing was journaled"


def test_a_forged_run_is_shown_unverified(two_runs: Path, adsuite: Callable[..., Cli]) -> None:
    tamper.forge_run(two_runs)
    done = adsuite("journal", "show")
    assert done.code == 1
    assert "ok (UNVERIFIED)" in done.out
    assert done.err.splitlines() == [
        "warning: 1 run(s) shown hold entries that do not verify (forged, edited or rebuilt):"
        " run `adsuite journal verify`"
    ]
