"""The journal file's ``logon_events`` table: collected logons of the watched accounts.

Rows are plain mappings with :data:`COLUMNS` (the admin layer turns them into its
``LogonEvent``); a DC's event is stored once, ``(dc, record)`` being the key. The table
refuses UPDATE and DELETE (:mod:`adsuite.journal.schema`); what proves a collection
unchanged is the digest its journaled change holds.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from adsuite.errors import JournalError
from adsuite.journal import schema

log = logging.getLogger(__name__)

COLUMNS = (
    "dc", "record", "at", "event_id", "account", "sid", "remote", "service", "ok", "status",
    "source",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM logon_events"
_INSERT = (
    f"INSERT OR IGNORE INTO logon_events ({', '.join(COLUMNS)}, collected_by)"
    f" VALUES ({', '.join('?' * len(COLUMNS))}, ?)"
)


class LogonTable:
    """The ``logon_events`` table of the journal file at *path*."""

    def __init__(self, path: Any) -> None:
        self.path = path
        self._conn = schema.connect(path)

    def close(self) -> None:
        self._conn.close()

    def add(self, rows: Sequence[Mapping[str, Any]], run_id: str) -> list[int]:
        """Store the rows not stored before, in one transaction; the indexes of the new ones."""
        new = []
        try:
            with schema.transaction(self._conn):
                for index, row in enumerate(rows):
                    values = [int(row[c]) if c == "ok" else row[c] for c in COLUMNS]
                    if self._conn.execute(_INSERT, (*values, run_id)).rowcount:
                        new.append(index)
        except sqlite3.Error as error:
            raise JournalError(f"cannot store logon events in {self.path}: {error}") from None
        return new

    def rows(self, since: str | None = None) -> list[dict[str, Any]]:
        """Stored rows oldest first; *since*: an ISO UTC time (``at`` compares as text)."""
        where, args = (" WHERE at >= ?", (since,)) if since is not None else ("", ())
        found = self._conn.execute(_SELECT + where + " ORDER BY at, dc, record", args)
        return [dict(zip(COLUMNS, row, strict=True)) for row in found]

    def collected_by(self, run_id: str, dc: str) -> list[dict[str, Any]]:
        found = self._conn.execute(_SELECT + " WHERE collected_by = ? AND dc = ?", (run_id, dc))
        return [dict(zip(COLUMNS, row, strict=True)) for row in found]
