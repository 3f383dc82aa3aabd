"""Witnesses: the journal's head kept where the journal file's owner cannot rewrite it.

A hash chain proves nothing about its own length: delete the tail, or rebuild the
chain, and it verifies. So after every run the head (seq, hash, runs so far, where
MACs begin) is also written to *witnesses* — an object in the directory on the PDC
emulator (:mod:`adsuite.journal.witness_ldap`), an append-only file
(:mod:`adsuite.journal.witness_file`) — and verification checks the file against each.
The same idea as CloudTrail's digest files or a transparency log's signed tree head,
kept where the directory's own replication and audit already watch.

A witness is only ever moved forward from a journal that matches it: if the file no
longer holds the witnessed head (truncated, rebuilt, replaced by a fresh file), the
witness is left as it is — it is the evidence — and the run end logs why.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from adsuite.errors import AdsuiteError, JournalError
from adsuite.journal.seal import KeyRef

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Head:
    """What a witness keeps about one journal: its head and enough to say what went missing."""

    journal: str  # host:path, the name witnesses file heads under
    journal_id: str  # the random id in the file's meta table
    seq: int
    hash: str
    runs: int  # run_start entries up to seq
    mac_since: int | None  # the first MACed seq, None if no entry is MACed
    key_id: str | None
    at: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Head:
        try:
            data: Any = json.loads(text)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise JournalError(f"unreadable witness record: {type(exc).__name__}") from None


class Witness(Protocol):
    """A place outside the journal file that keeps its head."""

    @property
    def name(self) -> str:
        """How reports name it: ``directory witness CN=… on dc1.example.com``."""
        ...

    def read(self, journal: str) -> Head | None:
        """The head last witnessed for *journal* (host:path), or None if there is none."""
        ...

    def write(self, head: Head) -> None:
        """Keep *head* as the latest for ``head.journal``."""
        ...

    def prepare(self) -> None:
        """Open what :meth:`write` will need, before a run starts (so the run can journal
        the connection it uses); a witness that cannot be reached now is written later."""
        ...


@dataclass(frozen=True)
class Guard:
    """How one journal is protected: the MAC key and the witnesses, from the inventory."""

    key: KeyRef | None = None
    witnesses: tuple[Witness, ...] = ()
    absent: tuple[str, ...] = field(default=())  # witness kinds the inventory does not set


def journal_name(path: Path) -> str:
    """How witnesses file the journal at *path*: ``host:/absolute/path``."""
    return f"{socket.gethostname()}:{Path(path).resolve()}"


_GUARDS: dict[Path, Guard] = {}
_Loader = Callable[[], Guard]
_LOADERS: dict[Path, _Loader] = {}


def register(path: Path, guard: Guard | _Loader) -> None:
    """Protect every :class:`~adsuite.journal.store.Journal` this process opens at *path*.

    The engine registers the inventory's guard once per session; every writer that
    opens the same file (runs, tickets, check-out, reports) then MACs its entries and
    witnesses its run ends without being told. A callable is resolved on first use.
    """
    key = Path(path).resolve()
    if callable(guard):
        _LOADERS[key] = guard
        _GUARDS.pop(key, None)
    else:
        _GUARDS[key] = guard


def guard_for(path: Path) -> Guard | None:
    key = Path(path).resolve()
    if key not in _GUARDS and key in _LOADERS:
        _GUARDS[key] = _LOADERS.pop(key)()
    return _GUARDS.get(key)


@dataclass(frozen=True)
class Facts:
    """What the file says about itself, read once for comparing with witnesses."""

    journal_id: str | None
    last_seq: int
    mac_since: int | None

    def hash_at(self, conn: sqlite3.Connection, seq: int) -> str | None:
        row = conn.execute("SELECT hash FROM entries WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else str(row[0])


def runs_upto(conn: sqlite3.Connection, seq: int) -> int:
    sql = "SELECT COUNT(*) FROM entries WHERE kind = 'run_start' AND seq <= ?"
    return int(conn.execute(sql, (seq,)).fetchone()[0])


def problems_against(conn: sqlite3.Connection, facts: Facts, seen: Head, name: str) -> list[str]:
    """What the witness *seen* (called *name*) says is missing or forged in the file."""
    says = f"the {name} says head {seen.seq} ({_runs(seen.runs)}, at {seen.at})"
    if facts.journal_id is not None and seen.journal_id != facts.journal_id:
        return [
            f"the journal file was replaced: it is journal {facts.journal_id}, {says}"
            f" of journal {seen.journal_id}"
        ]
    if seen.seq > facts.last_seq:
        lost_runs = seen.runs - runs_upto(conn, facts.last_seq)
        first = facts.last_seq + 1
        return [
            f"entries {first}–{seen.seq} missing ({_runs(lost_runs)}): {says},"
            f" the file ends at {facts.last_seq}"
        ]
    if facts.hash_at(conn, seen.seq) != seen.hash:
        runs_here = runs_upto(conn, seen.seq)
        return [
            f"seq {seen.seq}: the chain was rebuilt, its hash differs from the {name}"
            f" ({seen.runs} runs up to here by the witness, {runs_here} in the file)"
        ]
    if seen.mac_since is not None and facts.mac_since != seen.mac_since:
        found = "no MACed entry" if facts.mac_since is None else f"MACs from seq {facts.mac_since}"
        return [
            f"MACs were stripped or rewritten: {says} with MACs from seq {seen.mac_since},"
            f" the file has {found}"
        ]
    return []


def first_problem(
    conn: sqlite3.Connection, facts: Facts, journal: str, witnesses: tuple[Witness, ...]
) -> str | None:
    """The first thing a witness shows missing or forged in the file, before a run starts
    on it; a witness that cannot be read is logged and passed over."""
    for witness in witnesses:
        try:
            seen = witness.read(journal)
        except AdsuiteError as exc:
            log.warning("journal witness: the %s cannot be read: %s", witness.name, exc)
            continue
        found = [] if seen is None else problems_against(conn, facts, seen, witness.name)
        if found:
            return found[0]
    return None


def missing_file_problems(journal: str, path: Path, witnesses: tuple[Witness, ...]) -> list[str]:
    """A journal file that is gone, named with what each witness says it held."""
    problems: list[str] = []
    for witness in witnesses:
        try:
            seen = witness.read(journal)
        except AdsuiteError as exc:
            problems.append(f"the {witness.name} cannot be read: {exc}")
            continue
        if seen is not None and seen.seq > 0:
            problems.append(
                f"the journal file {path} is missing: entries 1–{seen.seq} ({_runs(seen.runs)}),"
                f" the {witness.name} says head {seen.seq} at {seen.at}"
            )
    if not problems:
        problems.append(f"the journal file {path} is missing and no witness knows its head")
    return problems


def advance(
    conn: sqlite3.Connection, facts: Facts, head: Head, witnesses: tuple[Witness, ...]
) -> list[str]:
    """Move each witness forward to *head* if the file still matches it; return why not."""
    failures: list[str] = []
    for witness in witnesses:
        try:
            seen = witness.read(head.journal)
            wrong = [] if seen is None else problems_against(conn, facts, seen, witness.name)
            if wrong:
                failures.extend(f"{problem}; the witness was left as it is" for problem in wrong)
            elif seen is None or seen.seq < head.seq:
                witness.write(head)
        except AdsuiteError as exc:
            failures.append(f"the {witness.name} could not be written: {exc}")
        except OSError as exc:
            failures.append(f"the {witness.name} could not be written: {exc.strerror}")
    for failure in failures:
        log.error("journal witness: %s", failure)
    return failures


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"
