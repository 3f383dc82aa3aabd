"""The change journal: an append-only, hash-chained SQLite record of runs and changes.

Every write appends one entry to the chain (see :mod:`adsuite.journal.chain`) under
the database write lock, so two processes appending to one file extend one chain.
A change is journaled twice: its intent (with before and after images) is committed
and fsynced before the engine touches the directory, its outcome after; a crash in
between leaves a visible pending change. Apply commits the intents of a batch of
changes together, and their outcomes (:meth:`Journal.record_intents`,
:meth:`Journal.record_outcomes`): one sync per batch, not two per change. Rollback
plans are built from the before images.

The journal knows nothing of secrets: the engine redacts values before it calls the
journal, and whatever it is given is stored and exported as given.

A :class:`~adsuite.journal.witness.Guard` (registered by the engine for the file, or
given to :meth:`Journal.open`) adds a MAC to every entry and, at the end of every run,
writes the head to its witnesses: :meth:`Journal.finish_run` is the one place runs end.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from adsuite.connectors.ldap import clients_opened
from adsuite.errors import JournalError
from adsuite.journal import claims, queries
from adsuite.journal.chain import GENESIS, canonical_json, entry_hash, new_run_id, utc_timestamp
from adsuite.journal.export import check_format, render
from adsuite.journal.records import (
    END_STATUSES,
    KIND_ACCESS,
    KIND_CHANGE_INTENT,
    KIND_CHANGE_OUTCOME,
    KIND_LEASE_TAKEOVER,
    KIND_RUN_END,
    KIND_RUN_START,
    KIND_TICKET_CLAIM,
    OUTCOMES,
    AccessRecord,
    ChangeRecord,
    RunRecord,
    VerifyReport,
)
from adsuite.journal.schema import connect, meta_value, set_meta, transaction
from adsuite.journal.seal import NO_MAC, KeyRef, entry_mac, key_id
from adsuite.journal.verify import verify_chain
from adsuite.journal.witness import (
    Facts,
    Guard,
    Head,
    advance,
    first_problem,
    guard_for,
    journal_name,
    problems_against,
)


@dataclass(frozen=True)
class Intent:
    """A change about to be made, as the journal keeps it (see :meth:`Journal.record_intents`)."""

    resource: str
    target: str
    action: str
    before: Any
    after: Any
    via: str | None = None  # the client end (address:port) of the connection that makes it

    def body(self, change_no: int) -> dict[str, Any]:
        body = {
            "change_no": change_no,
            "resource": self.resource,
            "target": self.target,
            "action": self.action,
            "before": self.before,
            "after": self.after,
        }
        return {**body, "via": self.via} if self.via else body


_LAST = "SELECT seq, hash, mac FROM entries ORDER BY seq DESC LIMIT 1"
_MAC_SINCE = "SELECT MIN(seq) FROM entries WHERE mac IS NOT NULL"

log = logging.getLogger(__name__)


class Journal:
    """One open journal file. Use :meth:`open`; close it, or use it as a context manager.

    A Journal object belongs to the thread that opened it; open one per thread or
    process: they all append to the same chain.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, guard: Guard | None = None) -> None:
        self._conn = conn
        self.path = path
        self.guard = guard or Guard()
        self._key: bytes | None = None
        self.witness_failures: list[str] = []  # why the last run end left a witness behind

    @classmethod
    def open(cls, path: Path, *, guard: Guard | None = None) -> Journal:
        """Open the journal at ``path``, creating its folder, file and schema if needed.

        *guard* (default: the one registered for the file, if any) names the MAC key
        and the witnesses.
        """
        path = Path(path)
        return cls(connect(path), path, guard or guard_for(path))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------

    def start_run(
        self,
        *,
        mode: str,
        operator: Mapping[str, str],
        playbook: str | None = None,
        playbook_sha256: str | None = None,
        inventory: str | None = None,
        ticket: str | None = None,
        extra: Mapping[str, Any] | None = None,
        claim_ticket: bool = False,
    ) -> str:
        """Record the start of a run and return its new id, e.g. ``20261127T123456Z-3f9a1c``.

        With *claim_ticket* the run also claims *ticket*, in the same transaction: a
        ``ticket_claim`` entry follows its ``run_start``, unless an earlier run claimed
        or carried it out (see :func:`adsuite.journal.claims.refusal`): then nothing is
        written and an InputError names that run.
        """
        _require_text(mode=mode)
        _check_operator(operator)
        for witness in self.guard.witnesses:
            witness.prepare()  # binds now, so the next line can name that connection too
        self._refuse_if_cut()
        opened = clients_opened()
        body = {
            "mode": mode,
            # every directory connection this process bound (the run's, the lease's, the
            # witness's): the DCs' logon records of them are adsuite's (admin usage)
            "operator": {**operator, "clients": " ".join(opened)} if opened else dict(operator),
            "playbook": playbook,
            "playbook_sha256": playbook_sha256,
            "inventory": inventory,
            "ticket": ticket,
            "extra": dict(extra or {}),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        with self._write():
            if claim_ticket:
                claims.check(ticket, queries.fetch_ticket_runs(self._conn, ticket or ""))
            run_id = new_run_id()
            while queries.run_exists(self._conn, run_id):
                run_id = new_run_id()
            self._append(run_id, KIND_RUN_START, body)
            if claim_ticket:
                self._append(run_id, KIND_TICKET_CLAIM, {"ticket": ticket})
        log.info("journal: run %s started (%s)", run_id, mode)
        return run_id

    def _refuse_if_cut(self) -> None:
        """JournalError if a witness shows this file cut, rebuilt or replaced: no run is
        built on top of the evidence (a witness that cannot be read does not stop it)."""
        if not self.guard.witnesses:
            return
        facts = self.facts()
        with self._guard("read"):
            found = first_problem(self._conn, facts, self.name, self.guard.witnesses)
        if found is not None:
            raise JournalError(f"{found}; no run starts on it: run adsuite journal verify")

    def record_intent(
        self,
        run_id: str,
        *,
        resource: str,
        target: str,
        action: str,
        before: Any,
        after: Any,
        via: str | None = None,
    ) -> int:
        """Record a change about to be made and return its number within the run (1, 2…).

        *via* is the client end (``address:port``) of the directory connection that
        makes it. The entry is committed and synced to disk before this returns.
        """
        intent = Intent(resource, target, action, before, after, via)
        return self.record_intents(run_id, [intent])[0]

    def record_intents(self, run_id: str, intents: Sequence[Intent]) -> list[int]:
        """Record changes about to be made, in one transaction (one sync to disk), and
        return their numbers. Each may be sent only after this returns; one that never
        is still gets an outcome (skipped), and a crash leaves the rest pending."""
        for intent in intents:
            _require_text(resource=intent.resource, target=intent.target, action=intent.action)
        numbers: list[int] = []
        with self._write():
            if not queries.run_is_open(self._conn, run_id):
                raise JournalError(f"run {run_id} has finished; it takes no more changes")
            first = queries.next_change_no(self._conn, run_id)
            for change_no, intent in enumerate(intents, start=first):
                self._append(run_id, KIND_CHANGE_INTENT, intent.body(change_no))
                numbers.append(change_no)
        return numbers

    def record_outcome(
        self, run_id: str, change_no: int, outcome: str, error: str | None = None
    ) -> None:
        """Record what became of an intended change: applied, failed, skipped or conflict."""
        self.record_outcomes(run_id, [(change_no, outcome, error)])

    def record_outcomes(self, run_id: str, outcomes: Sequence[tuple[int, str, str | None]]) -> None:
        """Record what became of intended changes, ``(change_no, outcome, error)`` each,
        in one transaction."""
        for _, outcome, _ in outcomes:
            if outcome not in OUTCOMES:
                known = ", ".join(sorted(OUTCOMES))
                raise JournalError(f"unknown change outcome {outcome!r}; use one of {known}")
        count = queries.change_entry_count
        with self._write():
            for change_no, outcome, error in outcomes:
                if count(self._conn, run_id, change_no, KIND_CHANGE_INTENT) == 0:
                    raise JournalError(f"run {run_id} has no change {change_no}")
                if count(self._conn, run_id, change_no, KIND_CHANGE_OUTCOME) > 0:
                    raise JournalError(f"change {change_no} of run {run_id} already has an outcome")
                body = {"change_no": change_no, "outcome": outcome, "error": error}
                self._append(run_id, KIND_CHANGE_OUTCOME, body)

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        counts: Mapping[str, int],
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the end of a run: its final status (ok, failed, conflict, drift), counts,
        and what the run found (*extra*, merged over the start's extra when read)."""
        if status not in END_STATUSES:
            known = ", ".join(sorted(END_STATUSES))
            raise JournalError(f"unknown run status {status!r}; use one of {known}")
        _check_counts(counts)
        with self._write():
            if not queries.run_is_open(self._conn, run_id):
                raise JournalError(f"run {run_id} has already finished")
            body: dict[str, Any] = {"status": status, "counts": dict(counts)}
            if extra:
                body["extra"] = dict(extra)
            self._append(run_id, KIND_RUN_END, body)
        log.info("journal: run %s finished (%s)", run_id, status)
        self.witness()

    def witness(self) -> list[str]:
        """Write the head to every witness the file still matches; return what was not.

        Never raises for a witness: the run it ends has already happened. A witness
        the file no longer matches is left as it is (it is the evidence), and the
        reason is logged, kept in :attr:`witness_failures` and returned.
        """
        if not self.guard.witnesses:
            return []
        with self._guard("read"), transaction(self._conn, "BEGIN"):
            facts = self.facts()
            head = self.head_record(facts)
            self.witness_failures = advance(self._conn, facts, head, self.guard.witnesses)
        return self.witness_failures

    def record_access(self, *, who: str, what: str, ticket: str | None = None) -> None:
        """Record that someone read the journal (show, export): reading is journaled too."""
        _require_text(who=who, what=what)
        with self._write():
            self._append("", KIND_ACCESS, {"who": who, "what": what, "ticket": ticket})

    def record_lease_takeover(
        self, *, domain: str, previous: Mapping[str, Any], holder: Mapping[str, Any]
    ) -> None:
        """Record that *holder* took over *domain*'s lease, expired, from *previous*."""
        body = {"domain": domain, "previous": dict(previous), "holder": dict(holder)}
        with self._write():
            self._append("", KIND_LEASE_TAKEOVER, body)

    # -- reading -------------------------------------------------------------------------

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first. A run with no run_end is ``running`` while its process lives
        (checked by host and pid, a heuristic) and ``incomplete`` otherwise."""
        with self._guard("read"):
            return queries.fetch_runs(self._conn, limit)

    def runs_for(self, ticket_types: Sequence[str]) -> list[RunRecord]:
        """Runs, newest first, that carried out a ticket of one of *ticket_types* (filtered
        in SQL: fast where :meth:`runs` reads every run)."""
        with self._guard("read"):
            return queries.fetch_runs_for(self._conn, list(ticket_types))

    def ticket_runs(self, ticket: str) -> list[tuple[RunRecord, bool]]:
        """Runs, newest first, that named *ticket*, each with whether it claimed it."""
        with self._guard("read"):
            return queries.fetch_ticket_runs(self._conn, ticket)

    def rollbacks_of(self, run_ids: Sequence[str]) -> list[RunRecord]:
        """Rollback runs (``adsuite rollback``), newest first, that undid one of *run_ids*."""
        with self._guard("read"):
            return queries.fetch_rollbacks_of(self._conn, list(run_ids))

    def run(self, run_id: str) -> RunRecord:
        """One run; JournalError if the journal has no such run."""
        with self._guard("read"):
            return queries.fetch_run(self._conn, run_id)

    def snapshot_writer(self, file: str) -> tuple[str, dict[str, Any]] | None:
        """(run id, ``extra.reading.snapshot``) of the latest drift run that wrote the
        drift snapshot *file*; None if there is none or its entry's MAC does not hold."""
        with self._guard("read"):
            return queries.fetch_snapshot_writer(self._conn, file, self._mac_key(required=False))

    def changes(self, run_id: str) -> list[ChangeRecord]:
        """The changes of one run, in order; JournalError if the journal has no such run."""
        with self._guard("read"), transaction(self._conn, "BEGIN"):
            if not queries.run_exists(self._conn, run_id):
                raise JournalError(f"no run {run_id!r} in the journal")
            return queries.fetch_changes(self._conn, run_id)

    def lease_takeovers(self) -> list[dict[str, Any]]:
        """Every journaled takeover of an expired domain lease, oldest first."""
        with self._guard("read"):
            return queries.fetch_takeovers(self._conn)

    def pending_changes(self) -> list[ChangeRecord]:
        """Intents with no outcome across all runs, oldest first: what a crash left behind."""
        with self._guard("read"):
            return queries.fetch_pending(self._conn)

    def accesses(self, since: str | None = None) -> list[AccessRecord]:
        """Reads of the journal (show, export, reports), newest first; only those at or
        after *since* (a timestamp like ``2026-11-27T00:00:00.000000Z``) when given."""
        with self._guard("read"):
            return queries.fetch_access(self._conn, since)

    def head(self) -> tuple[int, str]:
        """(last seq, its hash): anchor it elsewhere to make truncation detectable."""
        with self._guard("read"):
            return queries.fetch_head(self._conn)

    def verify(self, *, anchor: tuple[int, str] | None = None) -> VerifyReport:
        """Walk the chain and its MACs; see :mod:`adsuite.journal.verify`.

        Without an ``anchor`` or witnesses (:func:`adsuite.journal.check.check_journal`)
        a truncated tail verifies as ok; without the MAC key a tail rewritten with
        recomputed hashes does too.
        """
        with self._guard("verify"):
            key = self._mac_key(required=False)
            return verify_chain(self._conn, anchor, key)

    @property
    def name(self) -> str:
        """How witnesses file this journal: ``host:/absolute/path``."""
        return journal_name(self.path)

    def facts(self) -> Facts:
        """Its id, last seq and first MACed seq, for comparing with witnesses."""
        with self._guard("read"):
            last_seq, _ = queries.fetch_head(self._conn)
            since = self._conn.execute(_MAC_SINCE).fetchone()[0]
            journal_id = meta_value(self._conn, "journal_id")
        return Facts(journal_id, last_seq, None if since is None else int(since))

    def compare(self, facts: Facts, seen: Head, witness_name: str) -> list[str]:
        """What a witness's head *seen* shows is missing or forged in this file."""
        with self._guard("read"):
            return problems_against(self._conn, facts, seen, witness_name)

    def head_record(self, facts: Facts | None = None) -> Head:
        """The head as witnesses keep it."""
        facts = facts or self.facts()
        with self._guard("read"):
            seq, digest = queries.fetch_head(self._conn)
            runs = self._conn.execute(
                "SELECT COUNT(*) FROM entries WHERE kind = 'run_start'"
            ).fetchone()[0]
            key = self._mac_key(required=False)
        return Head(
            journal=self.name,
            journal_id=facts.journal_id or "",
            seq=seq,
            hash=digest,
            runs=int(runs),
            mac_since=facts.mac_since,
            key_id=None if key is None else key_id(key),
            at=utc_timestamp(),
        )

    def export(self, fmt: str, run_id: str | None = None) -> str:
        """All runs (newest first), or one run, with their changes, as ``json`` or ``csv``."""
        check_format(fmt)
        with self._guard("read"), transaction(self._conn, "BEGIN"):
            if run_id is None:
                runs = queries.fetch_runs(self._conn)
            else:
                runs = [queries.fetch_run(self._conn, run_id)]
            selected = [(run, queries.fetch_changes(self._conn, run.id)) for run in runs]
        return render(fmt, selected)

    # -- internals -----------------------------------------------------------------------

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise JournalError(f"cannot {action} journal {self.path}: {exc}") from None

    @contextmanager
    def _write(self) -> Iterator[None]:
        # BEGIN IMMEDIATE takes the write lock before the head is read, so no other
        # writer can append between reading the previous hash and inserting.
        with self._guard("write"), transaction(self._conn, "BEGIN IMMEDIATE"):
            yield

    def _mac_key(self, *, required: bool) -> bytes | None:
        """The MAC key: the guard's, else the credential the file names (never the key
        itself). *required*: a file with MACed entries takes no entry without one."""
        if self._key is not None:
            return self._key
        ref = self.guard.key or self._named_key()
        if ref is None:
            return None
        try:
            self._key = ref.load()
        except JournalError:
            if required or self.guard.key is not None:
                raise
            return None
        return self._key

    def _named_key(self) -> KeyRef | None:
        name = meta_value(self._conn, "mac_credential")
        if name is None:
            return None
        secret_file = meta_value(self._conn, "mac_secret_file")
        return KeyRef(name, Path(secret_file) if secret_file else None)

    def _remember_key(self) -> None:
        ref = self.guard.key
        if ref is not None and meta_value(self._conn, "mac_credential") != ref.credential:
            set_meta(self._conn, "mac_credential", ref.credential)
            set_meta(self._conn, "mac_secret_file", str(ref.secret_file or ""))

    def _append(self, run_id: str, kind: str, body: Mapping[str, Any]) -> int:
        text = canonical_json(body)
        row = self._conn.execute(_LAST).fetchone()
        last_seq, prev_hash, prev_mac = (0, GENESIS, None) if row is None else row
        seq, at = last_seq + 1, utc_timestamp()
        digest = entry_hash(prev_hash, seq, at, run_id, kind, text)
        key = self._mac_key(required=meta_value(self._conn, "mac_credential") is not None)
        mac = (
            None if key is None else entry_mac(key, prev_mac or NO_MAC, seq, at, run_id, kind, text)
        )
        self._remember_key()
        self._conn.execute(
            "INSERT INTO entries (seq, at, run_id, kind, body, prev_hash, hash, mac)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, run_id, kind, text, prev_hash, digest, mac),
        )
        log.debug("journal: appended seq %d %s %s", seq, kind, run_id)
        return seq


def _require_text(**fields: object) -> None:
    for name, value in fields.items():
        if not isinstance(value, str) or not value:
            raise JournalError(f"journal field {name} must be a non-empty string")


def _check_operator(operator: Mapping[str, str]) -> None:
    if not operator.get("os_user"):
        raise JournalError("journal operator must name at least os_user")
    for key, value in operator.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise JournalError(f"journal operator field {key!r} must be a string")


def _check_counts(counts: Mapping[str, int]) -> None:
    for key, value in counts.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, int):
            raise JournalError(f"run count {key!r} must be an integer")
