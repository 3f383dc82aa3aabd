"""Which super-administrator accounts are checked out now, from the journal's runs.

A check-out run (mode ``checkout``) hands an account over; the check-in run (``checkin``)
that follows for the same account ends it. Pure functions over run records: the admin
commands use them to refuse a second check-out, and the ``privileged`` kind's reader to
know whether an account declared ``at_rest: disabled`` may be enabled right now.
"""

from __future__ import annotations

from collections.abc import Sequence

from adsuite.journal.records import RunRecord

CHECKOUT = "checkout"
CHECKIN = "checkin"


def account_of(run: RunRecord) -> str:
    return str(run.extra.get("account", "")).lower()


def latest_checkout_state(runs: Sequence[RunRecord], account: str) -> RunRecord | None:
    """The check-out run that holds *account* now (the last check-out/in was a check-out)."""
    mine = [r for r in runs if r.mode in (CHECKOUT, CHECKIN) and account_of(r) == account.lower()]
    if not mine:
        return None
    last = max(mine, key=lambda r: r.start_seq)
    return last if last.mode == CHECKOUT else None
