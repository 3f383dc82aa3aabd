"""Read models over the chain: runs, changes, pending changes, and the state checks writers need.

Every query here reads ``entries`` only; runs and changes are folded from their
entries on each call, so there is no second copy of the truth to drift from the chain.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
from typing import Any

from adsuite.errors import JournalError
from adsuite.journal.chain import GENESIS
from adsuite.journal.records import (
    KIND_RUN_START,
    OUTCOME_PENDING,
    STATUS_INCOMPLETE,
    STATUS_RUNNING,
    AccessRecord,
    ChangeRecord,
    RunRecord,
)
from adsuite.journal.seal import NO_MAC, entry_mac, same_mac

log = logging.getLogger(__name__)

_RUNS = """
SELECT s.seq, s.run_id, s.at, s.body, e.seq, e.at, e.body
FROM entries AS s
LEFT JOIN entries AS e ON e.seq = (
    SELECT MIN(x.seq) FROM entries AS x WHERE x.run_id = s.run_id AND x.kind = 'run_end')
WHERE s.kind = 'run_start' {where}
ORDER BY s.seq DESC
LIMIT ?
"""

_CHANGES = """
SELECT i.seq, i.run_id, i.at, i.body, o.seq, o.at, o.body
FROM entries AS i
LEFT JOIN entries AS o ON o.seq = (
    SELECT MIN(x.seq) FROM entries AS x
    WHERE x.run_id = i.run_id AND x.kind = 'change_outcome'
      AND json_extract(x.body, '$.change_no') = json_extract(i.body, '$.change_no'))
WHERE i.kind = 'change_intent' AND {where}
ORDER BY i.seq
"""

# the partial expression index entries_drift_snapshot (schema.INDEXES) answers this
_SNAPSHOT_WRITER = """
SELECT e.seq, e.at, e.run_id, e.body, e.mac, p.mac
FROM entries AS e LEFT JOIN entries AS p ON p.seq = e.seq - 1
WHERE e.kind = 'run_start' AND json_extract(e.body, '$.extra.reading.snapshot.file') = ?
  AND json_extract(e.body, '$.mode') = 'drift'
ORDER BY e.seq DESC
LIMIT 1
"""

Row = tuple[Any, ...]


def fetch_runs(conn: sqlite3.Connection, limit: int | None = None) -> list[RunRecord]:
    """Runs, newest first; at most ``limit`` of them."""
    if limit is not None and limit < 0:
        raise JournalError(f"run limit must be 0 or more, not {limit}")
    rows = conn.execute(_RUNS.format(where=""), (-1 if limit is None else limit,))
    return [_run_record(row) for row in rows]


def fetch_runs_for(conn: sqlite3.Connection, ticket_types: list[str]) -> list[RunRecord]:
    """Runs, newest first, that carried out a ticket of one of *ticket_types*; only those
    runs pay for finding their run_end."""
    where = "AND json_extract(s.body, '$.extra.ticket.type') IN (SELECT value FROM json_each(?))"
    rows = conn.execute(_RUNS.format(where=where), (json.dumps(ticket_types), -1))
    return [_run_record(row) for row in rows]


def fetch_rollbacks_of(conn: sqlite3.Connection, run_ids: list[str]) -> list[RunRecord]:
    """Rollback runs, newest first, that undid one of *run_ids*."""
    where = (
        "AND json_extract(s.body, '$.mode') = 'rollback' "
        "AND json_extract(s.body, '$.extra.rolls_back') IN (SELECT value FROM json_each(?))"
    )
    rows = conn.execute(_RUNS.format(where=where), (json.dumps(run_ids), -1))
    return [_run_record(row) for row in rows]


def fetch_ticket_runs(conn: sqlite3.Connection, ticket: str) -> list[tuple[RunRecord, bool]]:
    """Runs, newest first, that named *ticket*, each with whether it claimed the ticket."""
    where = "AND json_extract(s.body, '$.ticket') = ?"
    runs = [_run_record(row) for row in conn.execute(_RUNS.format(where=where), (ticket, -1))]
    claimed = {
        row[0]
        for row in conn.execute(
            "SELECT run_id FROM entries WHERE kind = 'ticket_claim'"
            " AND json_extract(body, '$.ticket') = ?",
            (ticket,),
        )
    }
    return [(run, run.id in claimed) for run in runs]


def fetch_takeovers(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The ``lease_takeover`` entries, oldest first, each body with its ``at``."""
    rows = conn.execute(
        "SELECT seq, at, body FROM entries WHERE kind = 'lease_takeover' ORDER BY seq"
    )
    return [load_body(seq, body) | {"at": at} for seq, at, body in rows]


def fetch_snapshot_writer(
    conn: sqlite3.Connection, file: str, key: bytes | None
) -> tuple[str, dict[str, Any]] | None:
    """(run id, ``extra.reading.snapshot``) of the latest drift run that wrote the drift
    snapshot *file*, or None. With the journal's MAC *key*, an entry whose MAC does not
    hold is None too: a row forged without the key vouches for nothing."""
    row = conn.execute(_SNAPSHOT_WRITER, (file,)).fetchone()
    if row is None:
        return None
    seq, at, run_id, text, mac, prev_mac = row
    if key is not None:
        expected = entry_mac(key, prev_mac or NO_MAC, seq, at, run_id, KIND_RUN_START, text)
        if not same_mac(expected, mac):
            log.warning("journal entry %d: its MAC does not hold; it vouches for nothing", seq)
            return None
    snapshot = ((load_body(seq, text).get("extra") or {}).get("reading") or {}).get("snapshot")
    return (str(run_id), dict(snapshot)) if isinstance(snapshot, dict) else None


def fetch_run(conn: sqlite3.Connection, run_id: str) -> RunRecord:
    row = conn.execute(_RUNS.format(where="AND s.run_id = ?"), (run_id, 1)).fetchone()
    if row is None:
        raise JournalError(f"no run {run_id!r} in the journal")
    return _run_record(row)


def fetch_changes(conn: sqlite3.Connection, run_id: str) -> list[ChangeRecord]:
    """The changes of one run in the order they were intended."""
    rows = conn.execute(_CHANGES.format(where="i.run_id = ?"), (run_id,))
    return [_change_record(row) for row in rows]


def fetch_pending(conn: sqlite3.Connection) -> list[ChangeRecord]:
    """Intents with no outcome, across all runs, oldest first."""
    rows = conn.execute(_CHANGES.format(where="o.seq IS NULL"))
    return [_change_record(row) for row in rows]


def fetch_access(conn: sqlite3.Connection, since: str | None = None) -> list[AccessRecord]:
    """Reads of the journal (``access`` entries) at or after *since* (a journal timestamp),
    newest first."""
    rows = conn.execute(
        "SELECT seq, at, body FROM entries WHERE kind = 'access' AND at >= ? ORDER BY seq DESC",
        (since or "",),
    )
    records = []
    for seq, at, text in rows:
        body = load_body(seq, text)
        ticket = body.get("ticket")
        who, what = str(body.get("who", "")), str(body.get("what", ""))
        records.append(AccessRecord(seq, at, who, what, str(ticket) if ticket else None))
    return records


def run_is_open(conn: sqlite3.Connection, run_id: str) -> bool:
    """True when the run started and has no run_end; JournalError if it never started."""
    kinds = {
        row[0]
        for row in conn.execute(
            "SELECT kind FROM entries WHERE run_id = ? AND kind IN ('run_start', 'run_end')",
            (run_id,),
        )
    }
    if "run_start" not in kinds:
        raise JournalError(f"no run {run_id!r} in the journal")
    return "run_end" not in kinds


def run_exists(conn: sqlite3.Connection, run_id: str) -> bool:
    query = "SELECT 1 FROM entries WHERE run_id = ? AND kind = 'run_start'"
    return conn.execute(query, (run_id,)).fetchone() is not None


def next_change_no(conn: sqlite3.Connection, run_id: str) -> int:
    row = conn.execute(
        "SELECT MAX(json_extract(body, '$.change_no')) FROM entries"
        " WHERE run_id = ? AND kind = 'change_intent'",
        (run_id,),
    ).fetchone()
    return 1 if row[0] is None else int(row[0]) + 1


def change_entry_count(conn: sqlite3.Connection, run_id: str, change_no: int, kind: str) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM entries WHERE run_id = ? AND kind = ?"
        " AND json_extract(body, '$.change_no') = ?",
        (run_id, kind, change_no),
    ).fetchone()
    return int(row[0])


def fetch_head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(last seq, its hash); (0, 64 zeros) for an empty journal."""
    row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def load_body(seq: int, text: str) -> dict[str, Any]:
    """An entry's body as a dict; JournalError naming the seq if it is not a JSON object."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise JournalError(f"journal entry {seq} has a body that is not a JSON object")
    return body


def _run_record(row: Row) -> RunRecord:
    start_seq, run_id, started, start_text, end_seq, ended, end_text = row
    start = load_body(start_seq, start_text)
    end = load_body(end_seq, end_text) if end_text is not None else None
    host, pid = str(start.get("host", "")), int(start.get("pid", 0))
    if end is not None:
        status = str(end.get("status", ""))
    else:
        status = STATUS_RUNNING if _process_alive(host, pid) else STATUS_INCOMPLETE
    return RunRecord(
        id=run_id,
        started=started,
        ended=ended,
        mode=str(start.get("mode", "")),
        status=status,
        operator=dict(start.get("operator") or {}),
        playbook=start.get("playbook"),
        playbook_sha256=start.get("playbook_sha256"),
        inventory=start.get("inventory"),
        ticket=start.get("ticket"),
        counts=dict(end.get("counts") or {}) if end is not None else {},
        extra={**(start.get("extra") or {}), **((end or {}).get("extra") or {})},
        host=host,
        pid=pid,
        start_seq=start_seq,
    )


def _change_record(row: Row) -> ChangeRecord:
    intent_seq, run_id, intent_at, intent_text, outcome_seq, outcome_at, outcome_text = row
    intent = load_body(intent_seq, intent_text)
    outcome = load_body(outcome_seq, outcome_text) if outcome_text is not None else {}
    return ChangeRecord(
        run_id=run_id,
        change_no=int(intent.get("change_no", 0)),
        resource=str(intent.get("resource", "")),
        target=str(intent.get("target", "")),
        action=str(intent.get("action", "")),
        before=intent.get("before"),
        after=intent.get("after"),
        outcome=str(outcome.get("outcome", OUTCOME_PENDING)),
        error=outcome.get("error"),
        intent_at=intent_at,
        outcome_at=outcome_at,
        intent_seq=intent_seq,
        via=intent.get("via"),
    )


def _process_alive(host: str, pid: int) -> bool:
    """Whether the process that started a run still lives: a heuristic, see RunRecord.status.

    Only a run started on this host can be checked; a reused pid reads as alive.
    """
    if host != socket.gethostname() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # the process exists but belongs to another user
    except OSError:
        return False
    return True
