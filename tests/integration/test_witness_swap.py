"""The directory witness is moved by compare-and-swap on the lab DC: two runs ending
together never step it back, and a writer whose read went stale reads again.

The interleaving is forced, not timed: the stale writer's directory lets the other
writer write between its read and its swap.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from labkit import Lab

from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory
from adsuite.journal.witness import Head
from adsuite.journal.witness_ldap import HEAD_ATTRIBUTE, DirectoryWitness

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"


def head(journal: str, seq: int, journal_id: str = "j-1") -> Head:
    return Head(
        journal, journal_id, seq, f"hash-{seq}", seq, 1, "k", f"2026-12-06T00:00:{seq:02d}Z"
    )


def witness_of(lab_env: Lab, directory: Directory) -> DirectoryWitness:
    secret = Secret(Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip())
    return DirectoryWitness(
        {"dc1": directory.endpoint}, "dc1", lambda: secret, BASE, f"CN=System,{BASE}"
    )


@pytest.fixture()
def journal(directory: Directory, lab_env: Lab) -> Iterator[str]:
    """A journal name of this test's own; its witness object is removed after."""
    name = f"test-host:/tmp/{uuid.uuid4().hex}/journal.sqlite"
    yield name
    dn = witness_of(lab_env, directory).object_dn(name)
    if directory.read(dn, ["cn"]) is not None:
        directory.delete(dn)


@dataclass
class Between:
    """A directory that, after its first read, lets *then* run (another writer's write)."""

    real: Directory
    then: Any
    reads: int = 0

    def read(self, dn: str, attributes: list[str]) -> Any:
        entry = self.real.read(dn, attributes)
        self.reads += 1
        if self.reads == 1:
            self.then()
        return entry

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@dataclass(frozen=True)
class StaleWitness(DirectoryWitness):
    """The witness whose first read goes stale before it writes."""

    between: list[Between] | None = None

    @contextmanager
    def _pdc(self) -> Iterator[Directory]:
        with super()._pdc() as real:
            assert self.between is not None
            self.between[0].real = real
            yield self.between[0]  # type: ignore[misc]


def stale(lab_env: Lab, directory: Directory, then: Any) -> StaleWitness:
    plain = witness_of(lab_env, directory)
    return StaleWitness(
        plain.dcs, plain.preferred, plain.password, plain.base_dn, plain.container,
        between=[Between(directory, then)],
    )  # fmt: skip


def test_a_writer_that_read_an_older_head_does_not_step_the_witness_back(
    lab_env: Lab, directory: Directory, journal: str
) -> None:
    other = witness_of(lab_env, directory)
    other.write(head(journal, 8))
    late = stale(lab_env, directory, lambda: other.write(head(journal, 12)))
    late.write(head(journal, 10))  # it read 8; 12 was written before its swap
    assert other.read(journal) == head(journal, 12)


def test_a_writer_that_read_an_older_head_reads_again_and_moves_it_forward(
    lab_env: Lab, directory: Directory, journal: str
) -> None:
    other = witness_of(lab_env, directory)
    other.write(head(journal, 8))
    late = stale(lab_env, directory, lambda: other.write(head(journal, 12)))
    late.write(head(journal, 14))
    assert other.read(journal) == head(journal, 14)
    assert late.between is not None and late.between[0].reads >= 2  # it read again


def test_a_writer_that_found_no_witness_loses_the_add_and_reads_again(
    lab_env: Lab, directory: Directory, journal: str
) -> None:
    other = witness_of(lab_env, directory)
    late = stale(lab_env, directory, lambda: other.write(head(journal, 5)))
    late.write(head(journal, 3))
    assert other.read(journal) == head(journal, 5)


def test_another_journal_file_under_the_same_name_is_refused(
    lab_env: Lab, directory: Directory, journal: str
) -> None:
    other = witness_of(lab_env, directory)
    other.write(head(journal, 8))
    with pytest.raises(Exception, match="names journal j-1, not j-2"):
        other.write(head(journal, 9, journal_id="j-2"))
    assert other.read(journal) == head(journal, 8)


def test_two_writers_ending_runs_together_leave_the_highest_head(
    lab_env: Lab, directory: Directory, journal: str
) -> None:
    errors: list[BaseException] = []

    def writer(seqs: range) -> None:
        mine = witness_of(lab_env, directory)
        try:
            for seq in seqs:
                mine.write(head(journal, seq))
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(range(s, 41, 2),)) for s in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert witness_of(lab_env, directory).read(journal) == head(journal, 40)
    entry = directory.read(witness_of(lab_env, directory).object_dn(journal), [HEAD_ATTRIBUTE])
    assert entry is not None and len(entry.texts(HEAD_ATTRIBUTE)) == 1
