"""The reader of :class:`~adsuite.resources.check.facts.CheckRead`: each family of the
``check`` kind in one paged search, and the journal's personal_device tickets.

Users, computers and groups are each one search of the whole domain, whatever the
number of check tasks (a rule narrows to its scope afterwards, in memory). The DACLs
of the admin groups a ``self_membership`` check names are one search too (SD flags:
DACL only). For computers, the journal is read once — only the runs of
personal_device tickets and the rollbacks of those runs — for the computers such a
ticket created and nobody rolled back; a journal that does not exist yet holds none
and is not created.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adsuite.formats.ldap_query import Query, escape
from adsuite.resources.check import facts as lib
from adsuite.resources.file_acl.grants_io import journal_of
from adsuite.resources.membership.tickets import rolled_back
from adsuite.resources.membership.tickets_io import ticket_runs
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)

PERSONAL_DEVICE = "personal_device"
DACL_ONLY = 0x04


def personal_device_tickets(journal_path: Path) -> dict[str, str]:
    """Lower computer name -> ticket id, for every computer an applied personal_device
    ticket created and no rollback undid."""
    runs = ticket_runs(journal_path, [PERSONAL_DEVICE])
    undone = {u for r in runs if (u := rolled_back(r))}
    out: dict[str, str] = {}
    for run in sorted(runs, key=lambda r: r.start_seq):
        ticket = run.extra.get("ticket") or {}
        name = (ticket.get("parameters") or {}).get("name")
        ok = run.mode == "apply" and run.status == "ok" and run.id not in undone
        if ok and ticket.get("type") == PERSONAL_DEVICE and isinstance(name, str) and run.ticket:
            out[name.lower()] = run.ticket
    return out


def query_of(request: lib.CheckRead) -> Query:
    if request.family == lib.GROUP_ACLS:
        terms = "".join(f"(sAMAccountName={_pattern(n)})" for n in request.names or ("-",))
        wanted = f"(&(objectClass=group)(|{terms}))"
        return Query(request.base_dn, wanted, lib.ATTRIBUTES[lib.GROUP_ACLS], sd_flags=DACL_ONLY)
    family = request.family
    return Query(request.base_dn, lib.FILTERS[family], lib.ATTRIBUTES[family])


def _pattern(name: str) -> str:
    """A name escaped for a filter, its ``*`` kept as the wildcard (``*-IT-Admins``)."""
    return "*".join(escape(part) for part in name.split("*"))


def read_checks(
    conn: Connections, requests: Sequence[lib.CheckRead], progress: Progress
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    progress.start("reading the directory for checks", len(requests))
    for request in requests:
        entries = tuple(conn.ldap.search(query_of(request)))
        read_at = datetime.now(UTC)
        ticketed: dict[str, str] = {}
        if request.family == lib.COMPUTERS:
            ticketed = personal_device_tickets(journal_of(conn))
        log.info("check: %d %s read", len(entries), request.family)
        out[request] = lib.CheckFacts(entries, read_at, ticketed)
        progress.advance()
    progress.finish()
    return out


# this protocol's part of engine/protocols.py's tables
READS = {lib.CheckRead: read_checks}
