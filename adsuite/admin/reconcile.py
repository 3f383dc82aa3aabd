"""Each logon of a super-administrator account, reconciled with the journal (五.6).

A successful logon is accounted for when it falls inside a check-out of that account
(``checked_out``, with the holder, ticket and reason) or, for adsuite's own service
account, when it came from the client address:port of a directory connection a
journaled run recorded (``automation``). Time does not identify adsuite's logons: a hand
logon a second before a run, from another port, is not adsuite's. Time only guards
against a port reused by someone else after the run: the logon must fall inside the
run, from its first bind to its end, give or take the clocks' slack
(:data:`REUSE_GUARD_S`). Anything else is ``unrecorded`` — a use nobody recorded — and
a failed logon is ``failed``: both are findings. Pure.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from adsuite.admin.events import LogonEvent
from adsuite.admin.windows import RunConnection, Window, comparable_endpoint

log = logging.getLogger(__name__)

SLACK_S = 2.0  # seconds between the DC's clock and the journal's, either way
REUSE_GUARD_S = SLACK_S  # an endpoint is a run's only inside it: loopback ports are
# reused within minutes on a busy host
FINDINGS = ("unrecorded", "failed")


def finding_id(event: LogonEvent) -> str:
    """A finding's stable id: the logon's account, client endpoint and time (UTC, to the
    microsecond) — the same logon has the same id in every collection, whatever else the
    list holds (``adsuite admin acknowledge`` names it)."""
    moment = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    text = "\x1f".join((event.account, event.remote or "", moment))
    return "lf-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Use:
    event: LogonEvent
    verdict: str  # checked_out | automation | unrecorded | failed
    window: Window | None = None

    @property
    def finding(self) -> bool:
        return self.verdict in FINDINGS

    @property
    def id(self) -> str:
        return finding_id(self.event)

    def explain(self) -> str:
        w = self.window
        if self.verdict == "checked_out" and w is not None:
            ticket = f", ticket {w.ticket}" if w.ticket else ""
            return f"checked out to {w.holder}{ticket} (run {w.run_id})"
        if self.verdict == "automation" and w is not None:
            return f"adsuite's own connection from {self.event.remote} (run {w.run_id})"
        if self.verdict == "failed":
            return f"failed logon ({self.event.status or 'refused'})"
        return "no check-out and no adsuite run covers it"

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.event.row(),
            "verdict": self.verdict,
            "explanation": self.explain(),
        }


def reconcile(
    events: Iterable[LogonEvent],
    checkouts: Sequence[Window],
    runs: Mapping[str, Sequence[RunConnection]],
    service_account: str,
    slack_s: float = SLACK_S,
) -> list[Use]:
    service = service_account.lower()
    uses = []
    for event in events:
        held = next(
            (w for w in checkouts if w.account == event.account and w.covers(event.at, slack_s)),
            None,
        )
        if not event.ok:
            uses.append(Use(event, "failed", held))
        elif held is not None:
            uses.append(Use(event, "checked_out", held))
        elif event.account == service and (run := _run_of(event, runs)):
            uses.append(Use(event, "automation", run))
        else:
            uses.append(Use(event, "unrecorded"))
    return uses


def _run_of(event: LogonEvent, runs: Mapping[str, Sequence[RunConnection]]) -> Window | None:
    """The run whose directory connection this logon opened: same client endpoint."""
    endpoint = comparable_endpoint(event.remote)
    candidates = runs.get(endpoint, ()) if endpoint else ()
    return next((c.window for c in candidates if c.window.covers(event.at, REUSE_GUARD_S)), None)
