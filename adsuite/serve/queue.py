"""The persistent ticket queue of ``adsuite serve``: one SQLite file, one server at a time.

``runs`` holds every accepted ticket and what became of it (queued → running → done,
failed or refused); a finished run keeps its status and outcome for ``GET /runs/<id>``
but no longer the ticket document; ``signatures`` remembers the MAC of every accepted request for
as long as its timestamp could still pass the window, so a replay is refused after
a restart too. A ticket is admitted and its signature remembered in one transaction.
A run left ``running`` by a server that died is queued again when the queue is next
opened: the engine plans from the directory as it is then, so running it twice does
not change anything twice. A lock file keeps a second server off the same queue.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adsuite.errors import AdsuiteError
from adsuite.serve.contract import DONE, QUEUED, RUNNING, STATUSES, Job, Refused
from adsuite.serve.intake import Admission
from adsuite.serve.signature import Signed

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: the status "interrupted"
SIGNATURE_RETENTION = 86_400  # seconds; longer than any sensible window
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  ticket TEXT NOT NULL,
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  domain TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
  attempts INTEGER NOT NULL DEFAULT 0,
  received TEXT NOT NULL,
  started TEXT,
  finished TEXT,
  document TEXT NOT NULL,
  result TEXT,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, seq);
CREATE INDEX IF NOT EXISTS runs_by_ticket ON runs (ticket, seq);
CREATE TABLE IF NOT EXISTS signatures (mac TEXT PRIMARY KEY, timestamp INTEGER NOT NULL);
"""
Clock = Callable[[], float]
_NOT_RUN: dict[str, Any] = {
    "journal_run": None,
    "result": None,
    "summary": None,
    "changes": [],
    "notes": [],
}
_COLUMNS = "id, ticket, type, source, domain, status, attempts, received, started, finished"


@dataclass(frozen=True)
class RunView:
    """One queued ticket as ``GET /runs/<id>`` shows it."""

    id: str
    ticket: str
    type: str
    source: str
    domain: str
    status: str
    attempts: int
    received: str
    started: str | None
    finished: str | None
    result: dict[str, Any] | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id,
            "url": f"/runs/{self.id}",
            "status": self.status,
            "ticket": self.ticket,
            "type": self.type,
            "source": self.source,
            "domain": self.domain,
            "received": self.received,
            "started": self.started,
            "finished": self.finished,
            "attempts": self.attempts,
            "reason": self.reason,
        }
        return shown | _NOT_RUN | (self.result or {})


class Queue:
    """The queue file, locked for this process; safe to share between threads."""

    def __init__(self, conn: sqlite3.Connection, path: Path, lock_fd: int, clock: Clock) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._lock_fd = lock_fd
        self._clock = clock
        self.path = path
        self.recovered: tuple[str, ...] = ()

    @classmethod
    def open(cls, path: Path, *, clock: Clock = time.time) -> Queue:
        """Open (creating) the queue at *path*, lock it, and queue again what was running."""
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            os.chmod(path, 0o600)
            queue = cls(conn, path, lock_fd, clock)
            queue._migrate()
            queue.recovered = queue._recover()
        except BaseException:
            os.close(lock_fd)
            raise
        return queue

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            os.close(self._lock_fd)

    def __enter__(self) -> Queue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def enqueue(self, admission: Admission, signed: Signed) -> tuple[RunView, bool]:
        """Remember the signature and queue the ticket; (run, True) when newly queued.

        A replayed signature is refused (409). A ticket already queued, running or done
        is not queued twice: its existing run comes back with False.
        """
        with self._transaction() as conn:
            now = self._clock()
            conn.execute(
                "DELETE FROM signatures WHERE timestamp < ?", (int(now) - SIGNATURE_RETENTION,)
            )
            try:
                conn.execute("INSERT INTO signatures VALUES (?, ?)", (signed.mac, signed.timestamp))
            except sqlite3.IntegrityError:
                raise Refused(409, "replayed request: this signature was used before") from None
            existing = conn.execute(
                "SELECT id FROM runs WHERE ticket = ? AND status IN (?, ?, ?) "
                "ORDER BY seq DESC LIMIT 1",
                (admission.ticket_id, QUEUED, RUNNING, DONE),
            ).fetchone()
            if existing is not None:
                return _found(self._view(conn, existing[0])), False
            run_id = _new_id(now)
            conn.execute(
                "INSERT INTO runs (id, ticket, type, source, domain, status, received, document) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    admission.ticket_id,
                    admission.type,
                    admission.source,
                    admission.domain,
                    QUEUED,
                    _iso(now),
                    json.dumps(admission.document, ensure_ascii=False),
                ),
            )
            return _found(self._view(conn, run_id)), True

    def holds(self, ticket_id: str) -> bool:
        """Whether *ticket_id* is queued, running or done here (a retry gets that run)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM runs WHERE ticket = ? AND status IN (?, ?, ?) LIMIT 1",
                (ticket_id, QUEUED, RUNNING, DONE),
            ).fetchone()
        return row is not None

    def remember(self, signed: Signed) -> bool:
        """Remember the signature of a request refused after it was authenticated.

        False when it was seen before: a replay, to be refused as such and not again
        journaled.
        """
        with self._transaction() as conn:
            try:
                conn.execute("INSERT INTO signatures VALUES (?, ?)", (signed.mac, signed.timestamp))
            except sqlite3.IntegrityError:
                return False
        return True

    def claim(self, busy: Collection[str], inventory: Path) -> Job | None:
        """Mark the oldest queued ticket of a domain not in *busy* as running, and return it."""
        with self._transaction() as conn:
            marks = ", ".join("?" for _ in busy)
            row = conn.execute(
                "SELECT id, document, domain, attempts, received FROM runs WHERE status = ? "
                + (f"AND domain NOT IN ({marks}) " if busy else "")
                + "ORDER BY seq LIMIT 1",
                (QUEUED, *busy),
            ).fetchone()
            if row is None:
                return None
            run_id, document, domain, attempts, received = row
            conn.execute(
                "UPDATE runs SET status = ?, started = ?, attempts = attempts + 1 WHERE id = ?",
                (RUNNING, _iso(self._clock()), run_id),
            )
        return Job(run_id, json.loads(document), domain, inventory, attempts + 1, received)

    def finish(
        self, run_id: str, status: str, result: dict[str, Any] | None, reason: str | None
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished = ?, result = ?, reason = ?, document = '' "
                "WHERE id = ?",
                (
                    status,
                    _iso(self._clock()),
                    None if result is None else json.dumps(result, ensure_ascii=False),
                    reason,
                    run_id,
                ),
            )

    def get(self, run_id: str) -> RunView | None:
        with self._lock:
            return self._view(self._conn, run_id)

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute("SELECT status, count(*) FROM runs GROUP BY status")
            found = dict(rows.fetchall())
        return {status: found.get(status, 0) for status in STATUSES}

    def _view(self, conn: sqlite3.Connection, run_id: str) -> RunView | None:
        row = conn.execute(
            f"SELECT {_COLUMNS}, result, reason FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            return None
        columns = dict(zip(_COLUMNS.split(", "), row[:10], strict=True))
        result, reason = row[10:]
        return RunView(**columns, result=json.loads(result) if result else None, reason=reason)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, 1, SCHEMA_VERSION):
            raise AdsuiteError(f"{self.path}: queue schema {version} is not one this adsuite reads")
        self._conn.execute("PRAGMA journal_mode = WAL")
        if version == 1:  # SQLite cannot change a CHECK: copy the runs into a new table
            self._conn.executescript(
                "BEGIN; ALTER TABLE runs RENAME TO runs_v1;"
                " DROP INDEX IF EXISTS runs_by_status; DROP INDEX IF EXISTS runs_by_ticket;"
                f"{_SCHEMA} INSERT INTO runs SELECT * FROM runs_v1; DROP TABLE runs_v1; COMMIT;"
            )
        self._conn.executescript(_SCHEMA)
        self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _recover(self) -> tuple[str, ...]:
        with self._transaction() as conn:
            rows = conn.execute("SELECT id FROM runs WHERE status = ?", (RUNNING,)).fetchall()
            conn.execute("UPDATE runs SET status = ? WHERE status = ?", (QUEUED, RUNNING))
        for (run_id,) in rows:
            log.warning("run %s was running when the server stopped; it is queued again", run_id)
        return tuple(run_id for (run_id,) in rows)


def _found(run: RunView | None) -> RunView:
    assert run is not None, "read back in the transaction that wrote it"
    return run


def _lock(path: Path) -> int:
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise AdsuiteError(
            f"{path}: the queue is in use by another adsuite serve (pid {holder})"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode("ascii"))
    return fd


def _new_id(now: float) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"q-{stamp}-{secrets.token_hex(3)}"


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
