"""Time windows from the journal: when an account was checked out, when adsuite ran.

Pure functions over :class:`~adsuite.journal.records.RunRecord` lists. A check-out
window runs from the check-out run's bind to the end of the check-in run that closes
it (or is still open). A run window runs from the run's bind (``operator.bound_at``:
adsuite binds before it plans, and plans before the run starts) to its end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from adsuite.journal.records import RunRecord

log = logging.getLogger(__name__)

CHECKOUT = "checkout"
CHECKIN = "checkin"


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


def account_of(run: RunRecord) -> str:
    return str(run.extra.get("account", "")).lower()


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


def latest_checkout_state(runs: Sequence[RunRecord], account: str) -> RunRecord | None:
    """The check-out run that holds *account* now (the last check-out/in was a check-out)."""
    mine = [r for r in runs if r.mode in (CHECKOUT, CHECKIN) and account_of(r) == account.lower()]
    if not mine:
        return None
    last = max(mine, key=lambda r: r.start_seq)
    return last if last.mode == CHECKOUT else None


def run_windows(runs: Iterable[RunRecord], now: datetime) -> list[Window]:
    """When adsuite was working: every journaled run, from its bind to its end."""
    out = []
    for run in runs:
        end = when(run.ended) if run.ended else (now if run.status == "running" else None)
        out.append(Window(run_start(run), end or when(run.started), run.id))
    return out
