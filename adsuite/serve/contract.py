"""What the service needs from the ticket framework, and what it hands back.

The server, the queue and the worker know tickets only through this narrow
interface: a :class:`TicketRunner` is given one queued :class:`Job` and returns a
:class:`RunResult`, or raises :class:`~adsuite.errors.InputError` when the ticket is
refused. :class:`TicketTypes` says which ticket types this server takes at all.
A :class:`TicketCheck` makes the runner's offline checks at intake.
``adsuite/serve/live.py`` wires it to ``adsuite.tickets``; tests use a fake.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from adsuite.errors import AdsuiteError

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, REFUSED = "queued", "running", "done", "failed", "refused"
INTERRUPTED = "interrupted"  # the server stopped mid-run; the run is reported, never redone
STATUSES = (QUEUED, RUNNING, DONE, FAILED, REFUSED, INTERRUPTED)


class Refused(AdsuiteError):
    """A request the server answers with a 4xx status and a one-line reason."""

    kind = "refused"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.ticket: str | None = None  # the ticket id, when the body named one
        self.headers: dict[str, str] = {}  # e.g. Allow, for a 405


@dataclass(frozen=True)
class Refusal:
    """An authenticated ticket turned away, at intake or by the runner: what the journal keeps.

    Never the ticket body: only its id (when it named one), the reason and where it came from.
    """

    ticket: str | None
    reason: str
    source: str  # native | jira | servicenow, or "queue" when the runner refused it
    status: int | None = None  # the HTTP status of an intake refusal
    run: str | None = None  # the queue run, when the runner refused it


@dataclass(frozen=True)
class Job:
    """A queued ticket handed to the runner."""

    id: str  # the queue's run reference, e.g. q-20261127T130501Z-9f3c2a
    ticket: Mapping[str, Any]  # the adsuite ticket document (id, type, requester, …)
    domain: str  # inventory domain key; one job per domain runs at a time
    inventory: Path
    attempt: int  # 2 and up: the server stopped while an earlier attempt ran
    received: str  # UTC ISO time the ticket was accepted


@dataclass(frozen=True)
class ChangeOutcome:
    kind: str
    action: str
    target: str
    outcome: str  # applied | failed | conflict | skipped | pending (interrupted: unknown)
    error: str | None = None

    def to_dict(self) -> dict[str, str]:
        shown = {"kind": self.kind, "action": self.action, "target": self.target}
        shown["outcome"] = self.outcome
        return shown | ({"error": self.error} if self.error else {})


@dataclass(frozen=True)
class RunResult:
    """What one carried-out ticket did: the journal run and each change's outcome."""

    journal_run: str
    status: str  # the journal run's status: ok | failed | conflict | interrupted
    changes: tuple[ChangeOutcome, ...] = ()
    summary: str | None = None  # one line: "new account zhang.wei in HQ, …"
    notes: tuple[str, ...] = ()  # for the service desk (never a secret)

    def to_dict(self) -> dict[str, Any]:
        return {
            "journal_run": self.journal_run,
            "result": self.status,
            "summary": self.summary,
            "changes": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
        }


class TicketCheck(Protocol):
    """The ticket framework's offline check of a mapped document; raises InputError to refuse.

    The same check the runner makes before it touches the directory (parameters,
    approvals against the rules, carried out before), made at intake so a bad ticket
    is a 422 at once rather than a 202 and a refusal later.
    """

    def __call__(self, document: Mapping[str, Any], domain: str) -> None: ...


class TicketRunner(Protocol):
    """Validates, plans and applies one ticket; raises InputError to refuse it."""

    def __call__(self, job: Job) -> RunResult: ...


@dataclass(frozen=True)
class TicketTypes:
    """The ticket types this server accepts, and why it turns others away."""

    accepted: frozenset[str]
    unavailable: Mapping[str, str] = field(default_factory=dict)  # type -> reason
