"""Collected logon events: a ``logon_events`` table beside the journal, in the same file.

The hash chain stays in ``entries``; events are too many to chain one by one. Each
collection is a journaled run whose changes (resource ``logon_events``, one per DC)
record the DC's watermark before and after and the SHA-256 of exactly the events that
collection stored — so an event edited, deleted or slipped in later no longer matches
its collection's digest (:func:`tampered`). Like ``entries``, the table refuses UPDATE
and DELETE (triggers stop accidents; the digests are the real check). A DC's event is
stored once: ``(dc, record)`` is the key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adsuite.admin.events import LogonEvent
from adsuite.errors import JournalError

log = logging.getLogger(__name__)

COLUMNS = (
    "dc", "record", "at", "event_id", "account", "sid", "remote", "service", "ok", "status",
    "source",
)  # fmt: skip
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS logon_events (
        dc TEXT NOT NULL, record TEXT NOT NULL, at TEXT NOT NULL, event_id INTEGER NOT NULL,
        account TEXT NOT NULL, sid TEXT, remote TEXT, service TEXT, ok INTEGER NOT NULL,
        status TEXT, source TEXT NOT NULL, collected_by TEXT NOT NULL,
        PRIMARY KEY (dc, record))""",
    "CREATE INDEX IF NOT EXISTS logon_events_at ON logon_events (at)",
    """CREATE TRIGGER IF NOT EXISTS logon_events_no_update BEFORE UPDATE ON logon_events
    BEGIN SELECT RAISE(ABORT, 'logon events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS logon_events_no_delete BEFORE DELETE ON logon_events
    BEGIN SELECT RAISE(ABORT, 'logon events are append-only: DELETE refused'); END""",
)


def digest(events: Iterable[LogonEvent]) -> str:
    """SHA-256 of events in a canonical order and form: what a collection recorded."""
    rows = sorted((e.row() for e in events), key=lambda r: (r["dc"], r["record"]))
    text = "\n".join(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EventStore:
    """The ``logon_events`` table of the journal file at *path* (open the Journal first)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
            with self._transaction():
                for statement in _SCHEMA:
                    self._conn.execute(statement)
        except sqlite3.Error as error:
            raise JournalError(f"cannot open the logon events of {path}: {error}") from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, events: Sequence[LogonEvent], run_id: str) -> list[LogonEvent]:
        """Store the events not stored before; return those that were new."""
        new = []
        with self._transaction():
            for event in events:
                row = event.row()
                values = [row[c] for c in COLUMNS]
                values[COLUMNS.index("ok")] = int(event.ok)
                cursor = self._conn.execute(
                    f"INSERT OR IGNORE INTO logon_events ({', '.join(COLUMNS)}, collected_by)"
                    f" VALUES ({', '.join('?' * len(COLUMNS))}, ?)",
                    (*values, run_id),
                )
                if cursor.rowcount:
                    new.append(event)
        return new

    def events(self, since: datetime | None = None) -> list[LogonEvent]:
        """Stored events, oldest first (``at`` compares as text: one UTC format)."""
        query = f"SELECT {', '.join(COLUMNS)} FROM logon_events"
        args: tuple[Any, ...] = ()
        if since is not None:
            moment = since.astimezone(UTC).isoformat(timespec="microseconds")
            query, args = query + " WHERE at >= ?", (moment,)
        rows = self._conn.execute(query + " ORDER BY at, dc, record", args)
        return [_event(row) for row in rows]

    def collected_by(self, run_id: str, dc: str) -> list[LogonEvent]:
        rows = self._conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM logon_events WHERE collected_by = ? AND dc = ?",
            (run_id, dc),
        )
        return [_event(row) for row in rows]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")


def tampered(store: EventStore, collections: Iterable[tuple[str, str, str]]) -> list[str]:
    """(run id, dc, digest) of each journaled collection → the ones whose events changed."""
    return [
        f"logon events of {dc} collected by run {run_id} no longer match their journaled digest"
        for run_id, dc, recorded in collections
        if digest(store.collected_by(run_id, dc)) != recorded
    ]


def _event(row: Sequence[Any]) -> LogonEvent:
    values = dict(zip(COLUMNS, row, strict=True))
    return LogonEvent(
        dc=values["dc"],
        record=values["record"],
        at=datetime.fromisoformat(values["at"]),
        event_id=int(values["event_id"]),
        account=values["account"],
        sid=values["sid"],
        remote=values["remote"],
        service=values["service"],
        ok=bool(values["ok"]),
        status=values["status"],
        source=values["source"],
    )
