"""Apply journals changes in batches: intents of a batch in one commit before any write,
outcomes in one commit after; a batch stopped part-way leaves no intent claiming a write
that was never sent, and the change whose write was in flight pending."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from adsuite.engine import executor, protocols
from adsuite.errors import JournalError
from adsuite.journal.store import Intent, Journal
from adsuite.resources.base import Action, Change

OPERATOR = {"os_user": "alice"}


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "journal.sqlite") as opened:
        yield opened


def intent(n: int) -> Intent:
    return Intent("group", f"CN=g{n},DC=lab,DC=test", "create", None, {"name": f"g{n}"})


def test_a_batch_of_intents_is_numbered_on_and_committed_before_it_returns(
    journal: Journal,
) -> None:
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    assert journal.record_intents(run_id, [intent(1)]) == [1]
    assert journal.record_intents(run_id, [intent(2), intent(3)]) == [2, 3]
    other = sqlite3.connect(journal.path)
    kinds = [row[0] for row in other.execute("SELECT kind FROM entries ORDER BY seq")]
    other.close()
    assert kinds == ["run_start"] + ["change_intent"] * 3


def test_a_batch_of_outcomes_with_one_refused_records_none(journal: Journal) -> None:
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    journal.record_intents(run_id, [intent(1), intent(2)])
    journal.record_outcome(run_id, 2, "applied")
    with pytest.raises(JournalError, match=r"change 2 of run .* already has an outcome"):
        journal.record_outcomes(run_id, [(1, "applied", None), (2, "failed", "x")])
    assert [c.outcome for c in journal.changes(run_id)] == ["pending", "applied"]


@dataclass(frozen=True)
class FakeWrite:
    """A write of a fake protocol: the test sees what the executor sends, and when."""

    n: int


@dataclass(frozen=True)
class FakeExpect:
    pass


class StopAfter:
    """Progress that stops the run (as a lost lease does) after *n* changes."""

    def __init__(self, n: int) -> None:
        self.n = n

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        self.n -= steps
        if self.n == 0:
            raise KeyboardInterrupt

    def finish(self) -> None:
        pass


def fake_changes(count: int) -> tuple[Change, ...]:
    return tuple(
        Change("fake", Action.CREATE, f"n{n}", None, {}, None, (FakeWrite(n),), FakeExpect())
        for n in range(1, count + 1)
    )


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch, journal: Journal) -> list[tuple[int, int]]:
    """Each fake write sent, with how many intents the journal held when it was sent."""
    log: list[tuple[int, int]] = []

    def write(conn: Any, w: FakeWrite) -> None:
        intents = sum(len(journal.changes(r.id)) for r in journal.runs())
        log.append((w.n, intents))

    monkeypatch.setitem(protocols.WRITERS, FakeWrite, write)
    monkeypatch.setitem(protocols.CHECKERS, FakeExpect, lambda conn, target, expect: None)
    monkeypatch.setattr(executor, "BATCH", 3)
    return log


def conn() -> Any:
    return SimpleNamespace(ldap=SimpleNamespace(client="127.0.0.1:5000"))


def test_every_intent_of_a_batch_is_durable_before_its_first_write(
    journal: Journal, sent: list[tuple[int, int]]
) -> None:
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    outcomes = executor.apply_changes(fake_changes(5), conn(), journal, run_id, StopAfter(-1))
    assert [o.outcome for o in outcomes] == ["applied"] * 5
    assert sent == [(1, 3), (2, 3), (3, 3), (4, 5), (5, 5)]
    assert [c.outcome for c in journal.changes(run_id)] == ["applied"] * 5


def test_a_run_stopped_mid_batch_skips_the_unsent_and_records_what_was_done(
    journal: Journal, sent: list[tuple[int, int]]
) -> None:
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    with pytest.raises(KeyboardInterrupt):
        executor.apply_changes(fake_changes(5), conn(), journal, run_id, StopAfter(1))
    assert [n for n, _ in sent] == [1]
    recorded = [(c.outcome, c.error) for c in journal.changes(run_id)]
    assert recorded == [
        ("applied", None),
        ("skipped", "not attempted: the run stopped"),
        ("skipped", "not attempted: the run stopped"),
    ]


def test_a_write_interrupted_in_flight_stays_pending(
    journal: Journal, monkeypatch: pytest.MonkeyPatch, sent: list[tuple[int, int]]
) -> None:
    def interrupted(conn: Any, w: FakeWrite) -> None:
        sent.append((w.n, 0))
        if w.n == 2:
            raise KeyboardInterrupt  # nobody knows whether the DC got it

    monkeypatch.setitem(protocols.WRITERS, FakeWrite, interrupted)
    run_id = journal.start_run(mode="apply", operator=OPERATOR)
    with pytest.raises(KeyboardInterrupt):
        executor.apply_changes(fake_changes(5), conn(), journal, run_id, StopAfter(-1))
    assert [c.outcome for c in journal.changes(run_id)] == ["applied", "pending", "skipped"]
