"""Opening a journal file: create it and its folder, set the pragmas, create or check the schema.

The file is created ``0600`` in a folder created ``0700``: before-images describe the
directory (memberships, ACLs) even though they never hold secrets. SQLite gives the
``-wal`` and ``-shm`` files the main file's permissions.

The triggers refuse UPDATE, DELETE and any INSERT that does not extend the chain head:
they stop accidents, not an attacker who can drop them. That makes the journal
tamper-evident, not tamper-proof; :mod:`adsuite.journal.verify` is the real check.

Schema 2 adds ``entries.mac`` (see :mod:`adsuite.journal.seal`) and a random
``journal_id`` in ``meta`` that witnesses file the head under; a schema 1 journal is
migrated when a writer opens it (its rows keep no MAC). :func:`connect_readonly` opens
an existing file for verification and never creates or migrates anything.

Beside ``entries`` the file holds one side table, ``logon_events`` (the
super-administrator accounts' logons, too many to chain one by one: each collection is a
journaled change holding their digest; :mod:`adsuite.journal.logon_events`). Side tables
are created, if missing, whenever a writer opens the file; they are append-only too.
So are the indexes of :data:`INDEXES` (``entries_drift_snapshot``: the drift run that
wrote a drift snapshot file, found with one indexed lookup, :mod:`adsuite.journal.queries`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adsuite.errors import JournalError
from adsuite.journal.chain import GENESIS

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 30.0
APPEND_ONLY_TRIGGERS = ("entries_no_update", "entries_no_delete", "entries_append_at_head")

_CREATE = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        run_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        mac TEXT
    )""",
    "CREATE INDEX entries_kind ON entries (kind, seq)",
    "CREATE INDEX entries_change ON entries (run_id, kind, json_extract(body, '$.change_no'))",
    """CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'journal entries are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'journal entries are append-only: DELETE refused'); END""",
    f"""CREATE TRIGGER entries_append_at_head BEFORE INSERT ON entries
    WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries)
      OR NEW.prev_hash IS NOT COALESCE(
           (SELECT hash FROM entries ORDER BY seq DESC LIMIT 1), '{GENESIS}')
    BEGIN SELECT RAISE(ABORT, 'journal entries may only extend the chain head'); END""",
)

SIDE_TABLES = (
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

INDEXES = (
    """CREATE INDEX IF NOT EXISTS entries_drift_snapshot
    ON entries (json_extract(body, '$.extra.reading.snapshot.file'))
    WHERE kind = 'run_start'""",
)


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit connection to the journal at ``path``, schema created or checked."""
    _prepare_file(path)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open journal {path}: {exc}") from None
    try:
        _configure(conn, path)
        _ensure_schema(conn, path)
    except sqlite3.Error as exc:
        conn.close()
        raise JournalError(f"cannot open journal {path}: {exc}") from None
    except JournalError:
        conn.close()
        raise
    return conn


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing journal; JournalError if there is none."""
    if not path.is_file():
        raise JournalError(f"no journal file at {path}")
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
        )
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open journal {path}: {exc}") from None
    if "meta" not in names or "entries" not in names:
        conn.close()
        raise JournalError(f"{path} is not an adsuite journal")
    return conn


def meta_value(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def has_mac_column(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "mac" for row in conn.execute("PRAGMA table_info(entries)"))


def _prepare_file(path: Path) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise JournalError(f"cannot create journal folder {path.parent}: {exc.strerror}") from None
    if path.exists():
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        log.info("created journal %s", path)
    except FileExistsError:
        pass  # another process created it between the check and the open
    except OSError as exc:
        raise JournalError(f"cannot create journal {path}: {exc.strerror}") from None


def _configure(conn: sqlite3.Connection, path: Path) -> None:
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        log.warning("journal %s: WAL mode unavailable, using %s", path, mode)
    # FULL: in WAL mode a commit is fsynced before it returns, so a recorded intent
    # survives a power loss, not only a crash of the process.
    conn.execute("PRAGMA synchronous = FULL")


@contextmanager
def transaction(conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[None]:
    """Run the block in one transaction; ``BEGIN IMMEDIATE`` takes the write lock first."""
    conn.execute(begin)
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    with transaction(conn):
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "meta" not in names:
            if names:
                raise JournalError(f"{path} is an SQLite file but not an adsuite journal")
            _create_schema(conn)
        else:
            _check_version(conn, path, names)
        for statement in SIDE_TABLES + INDEXES:
            conn.execute(statement)


def _create_schema(conn: sqlite3.Connection) -> None:
    for statement in _CREATE:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
    )
    set_meta(conn, "journal_id", uuid.uuid4().hex)


def _migrate_from_1(conn: sqlite3.Connection, path: Path) -> None:
    """Schema 1 → 2: the rows written so far keep no MAC (reported as unMACed)."""
    conn.execute("ALTER TABLE entries ADD COLUMN mac TEXT")
    set_meta(conn, "schema_version", str(SCHEMA_VERSION))
    if meta_value(conn, "journal_id") is None:
        set_meta(conn, "journal_id", uuid.uuid4().hex)
    log.info("journal %s migrated to schema %d", path, SCHEMA_VERSION)


def _check_version(conn: sqlite3.Connection, path: Path, names: set[str]) -> None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        version = int(row[0]) if row is not None else None
    except ValueError:
        version = None
    if version is None:
        raise JournalError(f"journal {path} has no readable schema version")
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"journal {path} has schema version {version}, newer than this adsuite "
            f"understands ({SCHEMA_VERSION}); upgrade adsuite"
        )
    if "entries" not in names:
        raise JournalError(f"journal {path} is damaged: its entries table is missing")
    if version == 1:
        _migrate_from_1(conn, path)
    elif version < SCHEMA_VERSION:
        raise JournalError(f"journal {path} has unknown old schema version {version}")
