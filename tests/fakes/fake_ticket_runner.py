"""A FAKE ticket runner for the protocol tests of `adsuite serve`: no directory, no journal.

It records every job it is given and answers with a canned result, so the tests can
prove what the server, the queue and the worker do with tickets (signatures, replays,
restarts, per-domain order) without the cost of a real run. The one test that runs a
real ticket (tests/integration/test_serve_lab.py) uses the live runner and the lab DC.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from adsuite.errors import InputError
from adsuite.serve.contract import ChangeOutcome, Job, RunResult, TicketTypes

FAKE_TYPES = TicketTypes(
    frozenset({"new_employee", "leaver"}),
    {"elevation": "it has a rule, but adsuite does not carry it out yet"},
)
REFUSE = "refuse-me"  # a requester the fake refuses, as the real rules refuse bad approvals


@dataclass
class FakeTicketRunner:
    """Returns `done` with one applied change per ticket; refuses requester REFUSE."""

    gate: threading.Event | None = None  # when set up, each run waits for it
    jobs: list[Job] = field(default_factory=list)
    before_return: Callable[[Job], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, job: Job) -> RunResult:
        with self._lock:
            self.jobs.append(job)
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        if self.before_return is not None:
            self.before_return(job)
        if job.ticket.get("requester") == REFUSE:
            raise InputError(f"ticket {job.ticket['id']}: approvals short of the rules (fake)")
        name = job.ticket.get("parameters", {}).get("name", "someone")
        target = f"CN={name},OU=Users,OU=HQ,DC=group,DC=example,DC=com"
        return RunResult(
            journal_run=f"fake-journal-{job.id}",
            status="ok",
            changes=(ChangeOutcome("user", "create", target, "applied"),),
            summary=f"fake run of {job.ticket['id']}",
        )

    def ticket_ids(self) -> list[str]:
        with self._lock:
            return [str(job.ticket["id"]) for job in self.jobs]
