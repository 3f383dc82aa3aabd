"""Collected logon events, kept in the journal file's ``logon_events`` table
(:mod:`adsuite.journal.logon_events`, created with the journal's schema).

The hash chain stays in ``entries``; events are too many to chain one by one. Each
collection is a journaled run whose changes (resource ``logon_events``, one per DC)
record the DC's watermark before and after and the SHA-256 of exactly the events that
collection stored — so an event edited, deleted or slipped in later no longer matches
its collection's digest (:func:`tampered`). A DC's event is stored once: ``(dc,
record)`` is the key.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adsuite.admin.events import LogonEvent
from adsuite.journal.logon_events import LogonTable

log = logging.getLogger(__name__)


def digest(events: Iterable[LogonEvent]) -> str:
    """SHA-256 of events in a canonical order and form: what a collection recorded."""
    rows = sorted((e.row() for e in events), key=lambda r: (r["dc"], r["record"]))
    text = "\n".join(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EventStore:
    """The logon events kept in the journal file at *path*, as :class:`LogonEvent`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._table = LogonTable(path)

    def close(self) -> None:
        self._table.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, events: Sequence[LogonEvent], run_id: str) -> list[LogonEvent]:
        """Store the events not stored before; return those that were new."""
        new = self._table.add([event.row() for event in events], run_id)
        return [events[index] for index in new]

    def events(self, since: datetime | None = None) -> list[LogonEvent]:
        """Stored events, oldest first."""
        moment = since.astimezone(UTC).isoformat(timespec="microseconds") if since else None
        return [_event(row) for row in self._table.rows(moment)]

    def collected_by(self, run_id: str, dc: str) -> list[LogonEvent]:
        return [_event(row) for row in self._table.collected_by(run_id, dc)]


def tampered(store: EventStore, collections: Iterable[tuple[str, str, str]]) -> list[str]:
    """(run id, dc, digest) of each journaled collection → the ones whose events changed."""
    return [
        f"logon events of {dc} collected by run {run_id} no longer match their journaled digest"
        for run_id, dc, recorded in collections
        if digest(store.collected_by(run_id, dc)) != recorded
    ]


def _event(values: Mapping[str, Any]) -> LogonEvent:
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
