"""Following the journal: its entries in sequence order, each verified before it is handed
on, from a position a cursor file keeps across restarts.

Every entry is checked as it is read: its seq follows the last one, it links to the
hash before it, its own hash recomputes, and (once MACs begin, with the key) its MAC
verifies. The walk always starts at seq 1, so a resumed follower checks the whole chain
up to its cursor before it streams anything, and the hash the cursor recorded must
still be the hash at that seq (a rewritten or replaced journal is refused). The first
entry that does not verify stops the follower with one line: nothing after it is
streamed as evidence.

An entry may give several lines (a run start and the findings it carries), so a
position is ``(seq, part)``: lines ``0..part`` of entry ``seq`` are out. The cursor is
stored after each line is written, atomically (a new file renamed over the old one):
a follower killed after writing a line but before storing the cursor writes that one
line again when it resumes (at least once; the seq and part in every line let a SIEM
drop the repeat).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adsuite.errors import JournalError
from adsuite.journal.chain import GENESIS, entry_hash, field_problem
from adsuite.journal.schema import has_mac_column, meta_value
from adsuite.journal.seal import NO_MAC, entry_mac, same_mac

log = logging.getLogger(__name__)

BATCH = 500
_ENTRIES = (
    "SELECT seq, at, run_id, kind, body, prev_hash, hash, {mac} FROM entries"
    " WHERE seq > ? ORDER BY seq LIMIT ?"
)
ALL_PARTS = -1  # a position's part when every line of its entry is out


@dataclass(frozen=True)
class Position:
    """Lines ``0..part`` of entry ``seq`` are out (all of them when part is ALL_PARTS)."""

    seq: int = 0
    part: int = ALL_PARTS
    hash: str | None = GENESIS  # entry seq's hash, so a resumed follower notices a rewrite
    journal_id: str | None = None

    def to_json(self) -> str:
        doc = {"seq": self.seq, "part": self.part, "hash": self.hash, "journal_id": self.journal_id}
        return json.dumps(doc, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Entry:
    """One verified entry, its body parsed."""

    seq: int
    at: str
    run_id: str
    kind: str
    body: dict[str, Any]
    hash: str


def read_cursor(path: Path) -> Position:
    """The position a cursor file holds; the start when there is no file yet."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        position = Position(int(doc["seq"]), int(doc["part"]), str(doc["hash"]), doc["journal_id"])
        if position.journal_id is not None and not isinstance(position.journal_id, str):
            raise ValueError("journal_id")
    except FileNotFoundError:
        return Position()
    except OSError as exc:
        raise JournalError(f"{path}: cannot read cursor ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError):
        raise JournalError(f"{path}: not an adsuite journal cursor") from None
    if position.seq < 0:
        raise JournalError(f"{path}: not an adsuite journal cursor")
    return position


def write_cursor(path: Path, position: Position) -> None:
    """Replace the cursor file with *position*: a reader sees the old one or the new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(position.to_json())
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise JournalError(f"{path}: cannot store cursor ({exc.strerror})") from None


class Walker:
    """Checks entries in order against the one before: seq, link, hash and MAC."""

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.seq = 0
        self.hash = GENESIS
        self.mac = NO_MAC
        self.maced = False

    def check(self, row: tuple[Any, ...]) -> Entry:
        seq, at, run_id, kind, body, _, stored_hash, mac = row
        problem = self._problem(row)
        if problem:
            raise JournalError(
                f"journal seq {seq}: {problem}; stopped, nothing after it is streamed",
                hint="run adsuite journal verify",
            )
        self.seq, self.hash, self.mac = seq, stored_hash, mac or NO_MAC
        return Entry(seq, at, run_id, kind, json.loads(body), stored_hash)

    def _problem(self, row: tuple[Any, ...]) -> str | None:
        seq, at, run_id, kind, body, stored_prev, stored_hash, mac = row
        if seq != self.seq + 1:
            return f"expected seq {self.seq + 1}: entries are missing or out of order"
        if stored_prev != self.hash:
            return "it does not link to the entry before it"
        malformed = field_problem(at, run_id, kind, stored_prev, stored_hash)
        if malformed is not None:
            return malformed
        if entry_hash(stored_prev, seq, at, run_id, kind, body) != stored_hash:
            return "hash mismatch, the entry was edited"
        if not isinstance(_parsed(body), dict):
            return "body is not a JSON object"
        return self._mac_problem(seq, (at, run_id, kind, body), mac)

    def _mac_problem(
        self, seq: int, fields: tuple[str, str, str, str], mac: str | None
    ) -> str | None:
        if mac is None:
            return "no MAC after MACed entries (forged?)" if self.maced else None
        self.maced = True
        if self.key is None:
            return "the entry is MACed but no key is at hand to check it"
        if not same_mac(entry_mac(self.key, self.mac, seq, *fields), mac):
            return "MAC does not verify, the entry was forged or rebuilt without the key"
        return None


def _parsed(body: str) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


def entries(
    conn: sqlite3.Connection,
    start: Position,
    key: bytes | None,
    *,
    once: bool,
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Entry]:
    """Verified entries from seq 1 (the caller skips what *start* says is out: it still
    needs their runs' who and ticket); with *once*, until the current end, else forever,
    polling every *poll_seconds*."""
    _check_journal_id(conn, start)
    walker = Walker(key)
    mac_column = "mac" if has_mac_column(conn) else "NULL"
    query = _ENTRIES.format(mac=mac_column)
    while True:
        rows = conn.execute(query, (walker.seq, BATCH)).fetchall()
        for row in rows:
            yield _ok(walker.check(row), start)
        if rows:
            continue
        if walker.seq < start.seq:
            raise JournalError(
                f"the journal ends at seq {walker.seq}, before the cursor's seq {start.seq}:"
                " it was truncated or replaced"
            )
        if once:
            return
        sleep(poll_seconds)


def _ok(entry: Entry, start: Position) -> Entry:
    if entry.seq == start.seq and start.hash is not None and entry.hash != start.hash:
        raise JournalError(
            f"journal seq {entry.seq} is not the entry the cursor recorded: the journal was"
            " rewritten or replaced since; stopped"
        )
    return entry


def _check_journal_id(conn: sqlite3.Connection, start: Position) -> None:
    journal_id = meta_value(conn, "journal_id")
    if start.journal_id is not None and journal_id != start.journal_id:
        raise JournalError(
            f"the cursor belongs to journal {start.journal_id}, this file is {journal_id}"
        )


def journal_id(conn: sqlite3.Connection) -> str | None:
    return meta_value(conn, "journal_id")


def is_out(seq: int, part: int, start: Position) -> bool:
    """Whether line *part* of entry *seq* was written before *start* was stored."""
    if seq != start.seq:
        return seq < start.seq
    return start.part == ALL_PARTS or part <= start.part
