"""What the journal hands back: runs, changes and verification reports as frozen records.

The records are read models folded from the chain of entries; nothing here touches
the database. ``dict`` fields are plain copies owned by the record: change them and
only the copy changes, never the journal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

KIND_RUN_START = "run_start"
KIND_CHANGE_INTENT = "change_intent"
KIND_CHANGE_OUTCOME = "change_outcome"
KIND_RUN_END = "run_end"
KIND_ACCESS = "access"
KINDS = frozenset(
    {KIND_RUN_START, KIND_CHANGE_INTENT, KIND_CHANGE_OUTCOME, KIND_RUN_END, KIND_ACCESS}
)
KIND_LEASE_TAKEOVER = "lease_takeover"  # a dead holder's domain lease was taken over
KIND_TICKET_CLAIM = "ticket_claim"  # a run claimed a ticket id, with its run_start
KINDS = KINDS | {KIND_LEASE_TAKEOVER, KIND_TICKET_CLAIM}
UNBOUND_KINDS = frozenset({KIND_ACCESS, KIND_LEASE_TAKEOVER})  # entries of no run (run_id "")

OUTCOME_PENDING = "pending"
OUTCOMES = frozenset({"applied", "failed", "skipped", "conflict"})
"""Outcomes a caller may record; ``pending`` is derived, never recorded."""

END_STATUSES = frozenset({"ok", "failed", "conflict", "drift", "healthy", "unhealthy"})
"""Statuses a caller may finish a run with; ``drift``: a drift check found differences;
``healthy``/``unhealthy``: a health check found nothing / something."""

STATUS_RUNNING = "running"
STATUS_INCOMPLETE = "incomplete"
"""Derived statuses of a run with no run_end: its process still lives, or it does not."""


@dataclass(frozen=True)
class RunRecord:
    """One run, from its run_start entry and (if written) its run_end entry."""

    id: str
    started: str
    ended: str | None
    mode: str
    status: str
    operator: dict[str, str]
    playbook: str | None
    playbook_sha256: str | None
    inventory: str | None
    ticket: str | None
    counts: dict[str, int]
    extra: dict[str, Any]
    host: str
    pid: int
    start_seq: int


@dataclass(frozen=True)
class ChangeRecord:
    """One change of a run: its intent (with before and after) and its outcome, if any."""

    run_id: str
    change_no: int
    resource: str
    target: str
    action: str
    before: Any
    after: Any
    outcome: str
    error: str | None
    intent_at: str
    outcome_at: str | None
    intent_seq: int
    via: str | None = None  # client address:port of the directory connection that made it


@dataclass(frozen=True)
class AccessRecord:
    """One read of the journal (an ``access`` entry): who read what, when, on which ticket."""

    seq: int
    at: str
    who: str
    what: str
    ticket: str | None


@dataclass(frozen=True)
class VerifyReport:
    """The result of walking the chain.

    ``ok`` is true when ``problems`` is empty: every problem names a seq and is
    evidence of tampering or corruption. ``notes`` are facts worth an operator's look
    that are not evidence of tampering: runs with no run_end, changes with no outcome.
    """

    ok: bool
    entries_checked: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mac_since: int | None = None  # the first MACed seq, None when no entry is MACed
    witnessed: list[str] = field(default_factory=list)  # "<witness>: head N, matches"
