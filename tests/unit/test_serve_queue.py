"""The ticket queue and its worker: one ticket at a time per domain, domains in parallel,
what was running when the server died is queued again, and each ending has its status."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fakes.fake_ticket_runner import REFUSE, FakeTicketRunner

from adsuite.errors import AdsuiteError, ConnectionFailed
from adsuite.serve.contract import Job, RunResult
from adsuite.serve.intake import Admission
from adsuite.serve.queue import Queue
from adsuite.serve.signature import Signed
from adsuite.serve.worker import Dispatcher, carry_out

NOW = 1_795_743_000
INVENTORY = Path("inventory.yml")


def put(queue: Queue, ticket: str, domain: str = "group", requester: str = "li.hr") -> str:
    doc = {"id": ticket, "type": "leaver", "requester": requester}
    admission = Admission(ticket, "leaver", domain, "native", doc)
    run, new = queue.enqueue(admission, Signed(NOW, f"mac-{ticket}"))
    assert new
    return run.id


def test_one_ticket_per_domain_is_claimed_at_a_time(tmp_path: Path) -> None:
    with Queue.open(tmp_path / "q.sqlite", clock=lambda: NOW) as queue:
        g1, g2 = put(queue, "G-1"), put(queue, "G-2")
        o1 = put(queue, "O-1", domain="other")
        first = queue.claim(set(), INVENTORY)
        assert first is not None and first.id == g1 and first.attempt == 1
        second = queue.claim({"group"}, INVENTORY)
        assert second is not None and second.id == o1
        assert queue.claim({"group", "other"}, INVENTORY) is None
        queue.finish(g1, "done", {"journal_run": "j1"}, None)
        third = queue.claim({"other"}, INVENTORY)
        assert third is not None and third.id == g2
        view = queue.get(g1)
        assert view is not None and view.status == "done" and view.finished is not None


def test_a_run_left_running_by_a_dead_server_is_queued_again(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with Queue.open(path, clock=lambda: NOW) as queue:
        run_id = put(queue, "IT-1")
        assert queue.claim(set(), INVENTORY) is not None  # the server dies while it runs
    with Queue.open(path, clock=lambda: NOW + 60) as restarted:
        assert restarted.recovered == (run_id,)
        view = restarted.get(run_id)
        assert view is not None and view.status == "queued"
        again = restarted.claim(set(), INVENTORY)
        assert again is not None and again.id == run_id and again.attempt == 2


def test_a_second_server_cannot_open_the_same_queue(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with Queue.open(path), pytest.raises(AdsuiteError, match="in use by another adsuite serve"):
        Queue.open(path)
    Queue.open(path).close()  # released when the first closed


def job(requester: str = "li.hr") -> Job:
    ticket = {"id": "IT-1", "type": "leaver", "requester": requester}
    return Job("q-20261127T000000Z-000000", ticket, "group", INVENTORY, 1, "2026-11-27T00:00:00Z")


class Raising:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def __call__(self, job: Job) -> RunResult:
        raise self.error


def test_endings_of_a_run_map_to_statuses_with_reasons() -> None:
    assert carry_out(FakeTicketRunner(), job())[0] == "done"
    refused = carry_out(FakeTicketRunner(), job(REFUSE))
    assert refused == ("refused", None, "ticket IT-1: approvals short of the rules (fake)")
    down = carry_out(Raising(ConnectionFailed("cannot reach dc1", hint="is it up?")), job())
    assert down == ("failed", None, "cannot reach dc1 (hint: is it up?)")
    crash = carry_out(Raising(KeyError("x")), job())
    assert crash == ("failed", None, "internal error in adsuite serve; see the server log")
    conflict = carry_out(lambda j: RunResult("j1", "conflict"), job())
    assert conflict[0] == "failed" and conflict[1] is not None
    assert conflict[2] == "the run ended conflict; see the changes"


def wait_for(condition: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_dispatcher_runs_domains_in_parallel_and_one_domain_in_order(tmp_path: Path) -> None:
    gate = threading.Event()
    runner = FakeTicketRunner(gate=gate)
    with Queue.open(tmp_path / "q.sqlite", clock=lambda: NOW) as queue:
        ids = [put(queue, "G-1"), put(queue, "G-2"), put(queue, "O-1", domain="other")]
        dispatcher = Dispatcher(queue, runner, INVENTORY, poll=0.05)
        dispatcher.start()
        wait_for(lambda: len(runner.jobs) == 2)
        time.sleep(0.2)  # room for a wrong second claim in domain group
        assert sorted(runner.ticket_ids()) == ["G-1", "O-1"], "G-2 waits for G-1"
        gate.set()
        wait_for(lambda: queue.counts()["done"] == 3)
        assert dispatcher.stop(timeout=5)
        assert runner.ticket_ids().index("G-1") < runner.ticket_ids().index("G-2")
        view = queue.get(ids[1])
        assert view is not None and view.result is not None
        assert view.result["changes"][0]["outcome"] == "applied"


def test_stop_waits_for_the_running_ticket_to_finish(tmp_path: Path) -> None:
    gate = threading.Event()
    runner = FakeTicketRunner(gate=gate)
    with Queue.open(tmp_path / "q.sqlite", clock=lambda: NOW) as queue:
        run_id = put(queue, "IT-1")
        dispatcher = Dispatcher(queue, runner, INVENTORY, poll=0.05)
        dispatcher.start()
        wait_for(lambda: len(runner.jobs) == 1)
        assert not dispatcher.stop(timeout=0.1), "still running"
        gate.set()
        assert dispatcher.stop(timeout=5)
        view = queue.get(run_id)
        assert view is not None and view.status == "done"
