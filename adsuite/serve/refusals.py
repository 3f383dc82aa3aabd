"""Refused tickets in the change journal: one finished run each, with the ticket id and reason.

A ticket the server turns away (at intake, once the request is authenticated, or
when the runner refuses it) leaves a run of mode ``refused`` that ends ``failed``
with no changes; its ``extra`` holds the reason, where the ticket came from, and the
queue run or HTTP status. The ticket body never goes in: parameters may hold what
must not be at rest in plain text. Unauthenticated requests are not journaled —
anyone could fill the journal with them; they are in the server's log.
"""

from __future__ import annotations

import getpass
import logging
from pathlib import Path

from adsuite.errors import AdsuiteError
from adsuite.journal.store import Journal
from adsuite.serve.contract import Refusal

log = logging.getLogger(__name__)

MODE = "refused"
_MAX_REASON = 500


class RefusalJournal:
    """Writes :class:`Refusal` records to the journal at *path*; a failure is logged, not raised."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._operator = {"os_user": _os_user(), "via": "adsuite serve"}

    def __call__(self, refusal: Refusal) -> None:
        extra: dict[str, object] = {"reason": _clip(refusal.reason), "source": refusal.source}
        if refusal.status is not None:
            extra["http_status"] = refusal.status
        if refusal.run is not None:
            extra["queue_run"] = refusal.run
        try:
            with Journal.open(self.path) as journal:
                run_id = journal.start_run(
                    mode=MODE, operator=self._operator, ticket=refusal.ticket, extra=extra
                )
                journal.finish_run(run_id, status="failed", counts={})
        except (AdsuiteError, OSError) as exc:
            log.error("cannot journal the refusal of ticket %s: %s", refusal.ticket or "-", exc)
            return
        log.info("ticket %s refused (journal run %s)", refusal.ticket or "-", run_id)


def _clip(reason: str) -> str:
    one_line = " ".join(reason.split())
    return one_line if len(one_line) <= _MAX_REASON else one_line[: _MAX_REASON - 1] + "…"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
