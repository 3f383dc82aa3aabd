"""Tampering as root on the adsuite host would: plain sqlite3 and hashlib, never adsuite.

Shared by the unit tests (a journal file with a file witness) and the integration
tests (the directory witness on the lab DC).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

TRIGGERS = ("entries_no_update", "entries_no_delete", "entries_append_at_head")


def _hash(prev: str, seq: int, at: str, run_id: str, kind: str, body: str) -> str:
    text = "\n".join((prev, str(seq), at, run_id, kind, body))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def truncate(path: Path, from_seq: int) -> None:
    """``delete from entries where seq >= from_seq`` with the delete trigger out of the way."""
    conn = connect(path)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'entries_no_delete'").fetchone()
    conn.execute("DROP TRIGGER entries_no_delete")
    conn.execute("DELETE FROM entries WHERE seq >= ?", (from_seq,))
    conn.execute(sql[0])  # put it back: the tamper should not show in the schema
    conn.close()


def forge_run(path: Path, ticket: str = "FAKE-42") -> None:
    """Append a run that adds mallory to Domain Admins, hashes recomputed, triggers kept."""
    conn = connect(path)
    seq, prev = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    run_id, at = "20261206T170000Z-fa4e42", "2026-12-06T17:00:00.000000Z"
    start = {"mode": "apply", "operator": {"os_user": "root"}, "playbook": "x.yml",
             "playbook_sha256": None, "inventory": None, "ticket": ticket, "extra": {},
             "host": "h", "pid": 1}  # fmt: skip
    intent = {"change_no": 1, "resource": "membership", "target": "CN=Domain Admins",
              "action": "update", "before": [], "after": ["mallory"]}  # fmt: skip
    outcome = {"change_no": 1, "outcome": "applied", "error": None}
    end = {"status": "ok", "counts": {"applied": 1}}
    for kind, body in (("run_start", start), ("change_intent", intent),
                       ("change_outcome", outcome), ("run_end", end)):  # fmt: skip
        seq += 1
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = _hash(prev, seq, at, run_id, kind, text)
        conn.execute(
            "INSERT INTO entries (seq, at, run_id, kind, body, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, at, run_id, kind, text, prev, digest),
        )
        prev = digest
    conn.close()


def rebuild_without(path: Path, first: int, last: int) -> None:
    """Remove entries first..last, renumber and rehash the rest: a chain that verifies."""
    conn = connect(path)
    sql = [
        row[0]
        for row in conn.execute("SELECT sql, name FROM sqlite_master WHERE type = 'trigger'")
        if row[1] in TRIGGERS
    ]
    for name in TRIGGERS:
        conn.execute(f"DROP TRIGGER {name}")
    later = conn.execute(
        "SELECT at, run_id, kind, body, mac FROM entries WHERE seq > ? ORDER BY seq", (last,)
    ).fetchall()
    conn.execute("DELETE FROM entries WHERE seq >= ?", (first,))
    row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = row if row is not None else (0, "0" * 64)
    for at, run_id, kind, body, mac in later:
        seq += 1
        digest = _hash(prev, seq, at, run_id, kind, body)
        conn.execute(
            "INSERT INTO entries (seq, at, run_id, kind, body, prev_hash, hash, mac)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, run_id, kind, body, prev, digest, mac),  # old MACs kept: they are wrong now
        )
        prev = digest
    for statement in sql:
        conn.execute(statement)
    conn.close()
