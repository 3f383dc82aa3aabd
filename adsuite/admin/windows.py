"""From the journal: when an account was checked out, and which connections adsuite made.

Pure functions over :class:`~adsuite.journal.records.RunRecord` lists. A check-out
window runs from the check-out run's bind to the end of the check-in run that closes
it (or is still open). A run's directory connection is known by its client
address:port, journaled at the run's start (``operator.client``: adsuite binds before
it plans, and plans before the run starts) — the endpoint the DC logs for its logon.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from adsuite.journal.checkouts import CHECKIN as CHECKIN  # the check-out state lives there
from adsuite.journal.checkouts import CHECKOUT as CHECKOUT
from adsuite.journal.checkouts import account_of as account_of
from adsuite.journal.checkouts import latest_checkout_state as latest_checkout_state
from adsuite.journal.records import RunRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime | None  # None: still open
    run_id: str  # the run that opened it (a check-out, or the run itself)
    account: str = ""  # lower-case sAMAccountName for a check-out; "" for a run
    holder: str = ""
    ticket: str | None = None
    reason: str | None = None
    closed_by: str | None = None  # the check-in run

    def covers(self, moment: datetime, slack_s: float) -> bool:
        start = self.start.timestamp() - slack_s
        end = self.end.timestamp() + slack_s if self.end is not None else float("inf")
        return start <= moment.timestamp() <= end


def when(text: str) -> datetime:
    """A journal timestamp (``...Z`` or ``+00:00``) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run_start(run: RunRecord) -> datetime:
    bound = run.operator.get("bound_at")
    started = when(run.started)
    return min(when(bound), started) if bound else started


def checkout_windows(runs: Iterable[RunRecord]) -> list[Window]:
    """Every check-out that went through, closed by the check-in that followed it."""
    windows: list[Window] = []
    open_by_account: dict[str, int] = {}
    for run in sorted(runs, key=lambda r: r.start_seq):
        account = account_of(run)
        if run.mode == CHECKOUT and run.status == "ok":
            open_by_account[account] = len(windows)
            windows.append(
                Window(
                    run_start(run),
                    None,
                    run.id,
                    account,
                    str(run.extra.get("holder", "")),
                    run.ticket,
                    run.extra.get("reason"),
                )
            )
        elif run.mode == CHECKIN and account in open_by_account:
            index = open_by_account.pop(account)
            end = when(run.ended) if run.ended else when(run.started)
            old = windows[index]
            windows[index] = Window(
                old.start, end, old.run_id, account, old.holder, old.ticket, old.reason, run.id
            )
    return windows


@dataclass(frozen=True)
class RunConnection:
    """The directory connection one run made: its client endpoint and the run's span."""

    endpoint: str  # address:port, lower case, IPv4-mapped prefix dropped
    window: Window


def run_connections(runs: Iterable[RunRecord], now: datetime) -> dict[str, list[RunConnection]]:
    """Every directory connection a journaled run bound (its own, and the lease's and the
    journal witness's it names in ``clients``, and those it opened later, listed with its
    end), by client address:port. Runs journaled
    before adsuite recorded endpoints name none."""
    found: dict[str, list[RunConnection]] = {}
    for run in runs:
        late = [c for c in run.extra.get("clients") or [] if isinstance(c, str)]  # after start
        named = {run.operator.get("client"), *run.operator.get("clients", "").split(), *late}
        endpoints = {comparable_endpoint(name) for name in named} - {None}
        end = when(run.ended) if run.ended else (now if run.status == "running" else None)
        span = Window(run_start(run), end or when(run.started), run.id)
        for endpoint in sorted(e for e in endpoints if e is not None):
            found.setdefault(endpoint, []).append(RunConnection(endpoint, span))
    return found


def comparable_endpoint(remote: str | None) -> str | None:
    """``ipv4:127.0.0.1:42743`` (Samba), ``::ffff:10.0.0.5:4711`` or ``127.0.0.1:42743``
    (adsuite, Windows) as ``127.0.0.1:42743``; None when there is no port to match."""
    if not remote:
        return None
    family, _, rest = remote.partition(":")
    text = (rest if family.lower() in ("ipv4", "ipv6") else remote).lower()
    text = text.removeprefix("::ffff:")
    address, _, port = text.rpartition(":")
    return text if address and port.isdigit() and port != "0" else None
