"""The worker: queued tickets through the ticket runner, one at a time per domain.

A dispatcher thread claims the oldest queued ticket of every domain that has none
running and carries each out on a thread of its own, so two domains run in
parallel but one domain never runs two tickets at once (their plans would race).
A ticket the runner refuses (an :class:`~adsuite.errors.InputError`: wrong form,
approvals short of the rules, facts that contradict it) ends ``refused`` with the
reason, and is journaled as refused; a connection, credential or directory error, or
a run that ends failed or in a conflict, ends ``failed``. A ticket whose journal run
the server left half done when it stopped ends ``interrupted`` with that run and each
change's outcome (``pending`` where none was recorded): the runner reports it and
never starts the ticket again over its own partial run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adsuite.errors import AdsuiteError, InputError
from adsuite.serve.contract import DONE, FAILED, INTERRUPTED, REFUSED, Job, Refusal, TicketRunner
from adsuite.serve.queue import Queue

log = logging.getLogger(__name__)

Finished = tuple[str, dict[str, Any] | None, str | None]  # status, result, reason


def carry_out(runner: TicketRunner, job: Job) -> Finished:
    """Run *job*; its final status, the result to show, and the reason if it did not end done."""
    try:
        result = runner(job)
    except InputError as exc:
        return REFUSED, None, _reason(exc)
    except AdsuiteError as exc:
        return FAILED, None, _reason(exc)
    except Exception:
        log.exception("run %s (ticket %s) failed unexpectedly", job.id, job.ticket.get("id"))
        return FAILED, None, "internal error in adsuite serve; see the server log"
    if result.status == "ok":
        return DONE, result.to_dict(), None
    if result.status == INTERRUPTED:
        return (
            INTERRUPTED,
            result.to_dict(),
            f"the server stopped while journal run {result.journal_run} carried this ticket "
            "out; it is not run again: check its pending changes",
        )
    return FAILED, result.to_dict(), f"the run ended {result.status}; see the changes"


def _reason(exc: AdsuiteError) -> str:
    return f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message


class Dispatcher:
    """Claims queued tickets and runs them; ``stop`` lets the running ones finish."""

    def __init__(
        self,
        queue: Queue,
        runner: TicketRunner,
        inventory: Path,
        *,
        poll: float = 5.0,
        on_refused: Callable[[Refusal], None] | None = None,
    ) -> None:
        self._queue = queue
        self._runner = runner
        self._inventory = inventory
        self._poll = poll
        self._on_refused = on_refused
        self._cond = threading.Condition()
        self._busy: set[str] = set()
        self._threads: dict[str, threading.Thread] = {}
        self._stopping = False
        self._loop_thread: threading.Thread | None = None

    def start(self) -> None:
        self._loop_thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)
        self._loop_thread.start()

    def wake(self) -> None:
        """A ticket was queued: look at the queue now rather than at the next poll."""
        with self._cond:
            self._cond.notify_all()

    def running(self) -> int:
        with self._cond:
            return len(self._threads)

    def stop(self, timeout: float | None = None) -> bool:
        """Claim nothing more; wait for running tickets. False if some still run."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._loop_thread is not None:
            self._loop_thread.join()
        with self._cond:
            self._cond.wait_for(lambda: not self._threads, timeout)
            return not self._threads

    def _loop(self) -> None:
        with self._cond:
            while not self._stopping:
                job = self._claim()
                if job is None:
                    self._cond.wait(self._poll)
                    continue
                self._busy.add(job.domain)
                thread = threading.Thread(
                    target=self._run, args=(job,), name=f"ticket {job.id}", daemon=True
                )
                self._threads[job.id] = thread
                thread.start()

    def _claim(self) -> Job | None:
        try:
            return self._queue.claim(self._busy, self._inventory)
        except Exception:
            log.exception("cannot read the ticket queue %s", self._queue.path)
            return None

    def _run(self, job: Job) -> None:
        ticket = job.ticket.get("id")
        log.info("run %s: ticket %s running (attempt %d)", job.id, ticket, job.attempt)
        try:
            status, result, reason = carry_out(self._runner, job)
            self._queue.finish(job.id, status, result, reason)
            if status == REFUSED and self._on_refused is not None:
                named = str(ticket) if ticket is not None else None
                self._on_refused(Refusal(named, reason or "refused", "queue", run=job.id))
            journal = (result or {}).get("journal_run") or "-"
            log.info("run %s: ticket %s %s (journal run %s)", job.id, ticket, status, journal)
        except Exception:  # the run stays "running" and is queued again at the next start
            log.exception("run %s: cannot record the outcome of ticket %s", job.id, ticket)
        finally:
            with self._cond:
                self._busy.discard(job.domain)
                del self._threads[job.id]
                self._cond.notify_all()
