"""`adsuite journal follow`: stream the journal to a SIEM, one verified line per entry,
change and finding, resumable from a cursor file (docs/siem.md)."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import click

from adsuite.cli.console import inventory_option
from adsuite.compliance.clause_index import clause_index
from adsuite.compliance.clause_map import DEFAULT_MAP
from adsuite.errors import InputError, JournalError
from adsuite.journal import follow as followlib
from adsuite.journal.schema import connect_readonly, has_mac_column, meta_value
from adsuite.journal.seal import KeyRef
from adsuite.journal.siem import FORMATS, Clauses, Stream

_ANY_MAC = "SELECT 1 FROM entries WHERE mac IS NOT NULL LIMIT 1"


@click.command()
@click.option(
    "--journal", "path", type=click.Path(path_type=Path), help="Journal file [env ADSUITE_JOURNAL]."
)
@inventory_option
@click.option("--from", "from_seq", type=click.IntRange(min=1), help="First seq to stream.")
@click.option(
    "--cursor",
    type=click.Path(path_type=Path),
    help="File keeping the last line written; resume after it.",
)
@click.option(
    "--format", "fmt", type=click.Choice(list(FORMATS)), default="json", show_default=True
)
@click.option(
    "--map",
    "map_path",
    type=click.Path(path_type=Path),
    help=f"Compliance map that labels runs and findings with clauses [default: {DEFAULT_MAP}"
    " if it exists].",
)
@click.option("--once", is_flag=True, help="Stop at the current end instead of waiting.")
@click.option(
    "--poll",
    type=click.FloatRange(0.2, 60),
    default=2.0,
    show_default=True,
    help="Seconds between looks for new entries.",
)
def follow(
    path: Path | None,
    inventory: Path | None,
    from_seq: int | None,
    cursor: Path | None,
    fmt: str,
    map_path: Path | None,
    once: bool,
    poll: float,
) -> None:
    """Stream entries as JSON lines or RFC 5424 messages, each verified (hash chain, MAC)
    before it is written; stop with one line at the first that does not verify.

    Exit status: 0 streamed to the end (--once), 1 an entry that does not verify, or an
    error; 130 on Ctrl-C."""
    from adsuite.cli.journal import _guard

    if from_seq is not None and cursor is not None:
        raise InputError("give --from or --cursor, not both")
    guard, journal_path = _guard(inventory, path)
    conn = connect_readonly(journal_path)
    try:
        key = _key(guard.key, conn)
        journal_id = meta_value(conn, "journal_id")
        start = followlib.Position()
        if cursor is not None:
            start = followlib.read_cursor(cursor)
        elif from_seq is not None:
            start = followlib.Position(from_seq - 1, followlib.ALL_PARTS, None, None)
        stream = Stream(clauses=_clauses(map_path))
        _stream(conn, stream, start, key, fmt, once, poll, cursor, journal_id)
    finally:
        conn.close()


def _clauses(given: Path | None) -> Clauses:
    if given is None and not Path(DEFAULT_MAP).is_file():
        return lambda mode, playbook: []
    return clause_index(given or Path(DEFAULT_MAP))


def _key(ref: KeyRef | None, conn: sqlite3.Connection) -> bytes | None:
    """The MAC key: the inventory's, else the credential the journal names."""
    if ref is None:
        name = meta_value(conn, "mac_credential")
        if name is None:
            return None
        secret_file = meta_value(conn, "mac_secret_file")
        ref = KeyRef(name, Path(secret_file) if secret_file else None)
    try:
        return ref.load()
    except JournalError:
        if has_mac_column(conn) and conn.execute(_ANY_MAC).fetchone() is not None:
            raise  # MACed entries cannot be verified without it
        return None


def _stream(
    conn: sqlite3.Connection,
    stream: Stream,
    start: followlib.Position,
    key: bytes | None,
    fmt: str,
    once: bool,
    poll: float,
    cursor: Path | None,
    journal_id: str | None,
) -> None:
    render = FORMATS[fmt]
    for entry in followlib.entries(conn, start, key, once=once, poll_seconds=poll):
        for line in stream.lines(entry):
            if followlib.is_out(line.seq, line.part, start):
                continue
            _write(render(line).encode("utf-8"))
            if cursor is not None:
                position = followlib.Position(line.seq, line.part, entry.hash, journal_id)
                followlib.write_cursor(cursor, position)


def _write(data: bytes) -> None:
    """All of *data* on stdout, unbuffered: a line is out before the cursor moves past it."""
    fd = sys.stdout.fileno()
    while data:
        written = os.write(fd, data)
        data = data[written:]
