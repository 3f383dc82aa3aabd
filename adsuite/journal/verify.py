"""Walking the hash chain: what it proves about the journal, and what it cannot.

:func:`verify_chain` recomputes every entry's hash and checks it links to the entry
before it, with seqs 1, 2, 3… and no gap. It detects an entry edited in place (hash
mismatch), an entry deleted from the middle (seq gap and broken link), an entry
inserted or replaced in the middle (broken link, or hash mismatch if its hash is
forged), and the append-only triggers having been dropped.

What it cannot detect on its own, because the hash is unkeyed and anyone who can
write the file can recompute it:

* truncation of the tail (the last entries deleted): the remaining chain is valid;
* a rewrite from some entry to the end with every later hash recomputed.

Both are caught only by comparing with a head recorded elsewhere: the witnesses
(:mod:`adsuite.journal.witness`) after every run, or an ``anchor`` — the
``(seq, hash)`` from ``Journal.head()`` kept in a ticket or a signed mail.

With a MAC key (:mod:`adsuite.journal.seal`) each MACed entry is checked too: a
forged or rebuilt entry does not verify without the key, and once MACs begin every
later entry must carry one.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from adsuite.errors import JournalError
from adsuite.journal.chain import GENESIS, entry_hash, field_problem
from adsuite.journal.queries import fetch_pending
from adsuite.journal.records import VerifyReport
from adsuite.journal.schema import APPEND_ONLY_TRIGGERS, has_mac_column, transaction
from adsuite.journal.seal import NO_MAC, entry_mac, same_mac

log = logging.getLogger(__name__)

_ENTRIES = "SELECT seq, at, run_id, kind, body, prev_hash, hash, {mac} FROM entries ORDER BY seq"
_OPEN_RUNS = """
SELECT s.seq, s.run_id FROM entries AS s
WHERE s.kind = 'run_start' AND NOT EXISTS (
    SELECT 1 FROM entries AS e WHERE e.run_id = s.run_id AND e.kind = 'run_end')
ORDER BY s.seq
"""

Entry = tuple[int, str, str, str, str, str, str, str | None]


@dataclass
class _Macs:
    """The MAC walk: the key (None: MACs cannot be checked), where MACs begin, the last one."""

    key: bytes | None
    since: int | None = None
    prev: str = NO_MAC

    def check(self, seq: int, fields: tuple[str, str, str, str], mac: str | None) -> str | None:
        if mac is None:
            self.prev = NO_MAC
            if self.since is not None:
                return f"seq {seq}: no MAC after MACed entries, written without the key (forged?)"
            return None
        if self.since is None:
            self.since = seq
        expected = None if self.key is None else entry_mac(self.key, self.prev, seq, *fields)
        self.prev = mac
        if expected is not None and not same_mac(expected, mac):
            return (
                f"seq {seq}: MAC does not verify, the entry was forged or rebuilt without the key"
            )
        return None


def verify_chain(
    conn: sqlite3.Connection, anchor: tuple[int, str] | None = None, key: bytes | None = None
) -> VerifyReport:
    """Check the whole chain (its MACs with *key*, the anchor if given) in one read snapshot."""
    macs = _Macs(key)
    with transaction(conn, "BEGIN"):
        problems = _trigger_problems(conn)
        rows = conn.execute(_ENTRIES.format(mac="mac" if has_mac_column(conn) else "NULL"))
        checked, hash_at_anchor = _walk(rows, problems, anchor, macs)
        if anchor is not None:
            problems.extend(_anchor_problems(anchor, hash_at_anchor, checked))
        notes = _notes(conn)
    problems = _collapse([*problems, *_mac_problems(macs)])
    notes.extend(_mac_notes(macs, checked))
    log.debug("verified %d journal entries, %d problems", checked, len(problems))
    return VerifyReport(
        ok=not problems,
        entries_checked=checked,
        problems=problems,
        notes=notes,
        mac_since=macs.since,
    )


_SEQ_PROBLEM = re.compile(r"seq (\d+): (.*)\Z", re.DOTALL)


def _collapse(problems: list[str]) -> list[str]:
    """One line per run of consecutive seqs with the same problem: ``seq 367–380: …``."""
    out: list[tuple[int, int, str] | str] = []
    for problem in problems:
        match = _SEQ_PROBLEM.match(problem)
        last = out[-1] if out else None
        if match is None:
            out.append(problem)
            continue
        seq, text = int(match[1]), match[2]
        if isinstance(last, tuple) and last[2] == text and last[1] + 1 == seq:
            out[-1] = (last[0], seq, text)
        else:
            out.append((seq, seq, text))
    return [
        item
        if isinstance(item, str)
        else f"seq {item[0]}: {item[2]}"
        if item[0] == item[1]
        else f"seq {item[0]}–{item[1]}: {item[2]} ({item[1] - item[0] + 1} entries)"
        for item in out
    ]


def _mac_problems(macs: _Macs) -> list[str]:
    if macs.since is not None and macs.key is None:
        return [f"entries from seq {macs.since} are MACed but no key is at hand to check them"]
    return []


def _mac_notes(macs: _Macs, checked: int) -> list[str]:
    if macs.key is None or checked == 0:
        return []
    if macs.since is None:
        return [f"entries 1–{checked} are unMACed: no entry was written with the key yet"]
    if macs.since > 1:
        return [
            f"entries 1–{macs.since - 1} are unMACed, before {macs.since}"
            " (written before the key existed)"
        ]
    return []


def _walk(
    rows: Iterable[Entry], problems: list[str], anchor: tuple[int, str] | None, macs: _Macs
) -> tuple[int, str | None]:
    """Check each entry against its predecessor; return (entries seen, hash at anchor seq)."""
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    hash_at_anchor: str | None = None
    for seq, at, run_id, kind, body, stored_prev, stored_hash, mac in rows:
        checked += 1
        mac_problem = macs.check(seq, (at, run_id, kind, body), mac)
        if mac_problem is not None:
            problems.append(mac_problem)
        problems.extend(_entry_problems(seq, expected_seq, prev_hash, stored_prev))
        malformed = field_problem(at, run_id, kind, stored_prev, stored_hash)
        if malformed is not None:
            problems.append(f"seq {seq}: {malformed}")
        elif entry_hash(stored_prev, seq, at, run_id, kind, body) != stored_hash:
            problems.append(f"seq {seq}: hash mismatch, the entry was edited")
        elif not _is_json_object(body):
            problems.append(f"seq {seq}: body is not a JSON object")
        if anchor is not None and seq == anchor[0]:
            hash_at_anchor = stored_hash
        expected_seq, prev_hash = seq + 1, stored_hash
    return checked, hash_at_anchor


def _entry_problems(seq: int, expected_seq: int, prev_hash: str, stored_prev: str) -> list[str]:
    found: list[str] = []
    if seq > expected_seq:
        missing = str(expected_seq) if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
        found.append(f"seq {seq}: seq gap, entry {missing} was deleted")
    elif seq < expected_seq:
        found.append(f"seq {seq}: out of order, expected seq {expected_seq} or later")
    if stored_prev != prev_hash:
        before = f"seq {seq - 1}" if seq > 1 else "the chain start"
        found.append(
            f"seq {seq}: prev_hash link broken, it does not match the hash of {before}"
            " (an entry was inserted, replaced or deleted here)"
        )
    return found


def _anchor_problems(anchor: tuple[int, str], found_hash: str | None, checked: int) -> list[str]:
    anchor_seq, anchor_hash = anchor
    if found_hash is None:
        return [
            f"seq {anchor_seq}: the anchored head is missing, the journal was truncated"
            f" ({checked} entries left)"
        ]
    if found_hash != anchor_hash:
        return [
            f"seq {anchor_seq}: hash differs from the anchored head, the journal was"
            " rewritten up to here"
        ]
    return []


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _trigger_problems(conn: sqlite3.Connection) -> list[str]:
    present = {
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    }
    missing = [name for name in APPEND_ONLY_TRIGGERS if name not in present]
    if not missing:
        return []
    return [f"schema: append-only trigger(s) dropped: {', '.join(missing)}"]


def _notes(conn: sqlite3.Connection) -> list[str]:
    notes = [
        f"run {run_id} (seq {seq}): no run_end, still running or interrupted"
        for seq, run_id in conn.execute(_OPEN_RUNS)
    ]
    try:
        pending = fetch_pending(conn)
    except JournalError as exc:
        return [*notes, f"pending changes could not be listed: {exc}"]
    notes.extend(
        f"run {change.run_id} change {change.change_no} (seq {change.intent_seq}):"
        f" intent with no outcome, check {change.target} by hand"
        for change in pending
    )
    return notes
