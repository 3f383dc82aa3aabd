"""The reader of :class:`~adsuite.resources.membership.tickets.TicketMembersRead`: the
grants in force from the journal, and the groups, their members' names and the
granted accounts' DNs from the directory.

The journal is only read — once per plan whatever the number of groups, and only the
runs of the ticket types that matter (``Journal.runs_for``, as file_acl's ticket
grants are read) and the rollbacks of those runs, which end the grants they undo; a
journal that does not exist yet holds no grants and is not created. The directory is
read in bulk: the groups in one search, their members' names 500 DNs a search, the
granted accounts 500 names a search.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adsuite.connectors.ldap import Directory
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, by_dns, by_names
from adsuite.journal.records import RunRecord
from adsuite.journal.store import Journal
from adsuite.resources.file_acl.grants_io import journal_of
from adsuite.resources.membership import tickets as lib
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)


def ticket_runs(journal_path: Path, ticket_types: Sequence[str]) -> list[RunRecord]:
    """The runs of *ticket_types* in the journal at *journal_path*, and the rollbacks of
    those runs (none if the journal does not exist)."""
    if not journal_path.exists():
        return []
    with Journal.open(journal_path) as journal:
        runs = journal.runs_for(sorted(set(ticket_types)))
        return runs + journal.rollbacks_of([r.id for r in runs]) if runs else runs


def grants_in_force(journal_path: Path, ticket_type: str) -> dict[str, dict[str, lib.Grant]]:
    """Lower group name -> lower member name -> grant in force, for tickets of *ticket_type*."""
    source = lib.SOURCES[ticket_type]
    return lib.fold(ticket_runs(journal_path, lib.ticket_types(source)), source)


def read_member_tickets(
    conn: Connections, requests: Sequence[lib.TicketMembersRead], progress: Progress
) -> dict[Any, Any]:
    journal = journal_of(conn)
    kinds = {r.ticket_type for r in requests}
    runs = ticket_runs(journal, [t for k in kinds for t in lib.ticket_types(lib.SOURCES[k])])
    folded = {k: lib.fold(runs, lib.SOURCES[k]) for k in kinds}
    base_dn = requests[0].base_dn
    groups = _groups(conn.ldap, base_dn, [r.group for r in requests])
    names = _names_of(conn.ldap, base_dn, [m for g in groups.values() for m in _dns(g)])
    grants = {r: list(folded[r.ticket_type].get(r.group.lower(), {}).values()) for r in requests}
    accounts = _accounts(conn, base_dn, [g.member for found in grants.values() for g in found])
    log.info("%d ticket grants in force for %d groups", sum(map(len, grants.values())), len(groups))
    out: dict[Any, Any] = {}
    for r in requests:
        entry = groups.get(r.group.lower())
        if entry is None:
            out[r] = lib.GroupTickets(None)
            continue
        members = tuple(lib.Member(dn, names.get(dnlib.key(dn), "")) for dn in _dns(entry))
        found = tuple(dataclasses.replace(g, dn=accounts.get(g.member.lower())) for g in grants[r])
        out[r] = lib.GroupTickets(entry.dn, members, found)
    return out


def _dns(entry: Entry) -> list[str]:
    return [dnlib.normalize(dn) for dn in entry.texts("member")]


def _groups(directory: Directory, base_dn: str, names: Sequence[str]) -> dict[str, Entry]:
    queries = by_names(base_dn, names, ("sAMAccountName", "member"), "(objectClass=group)")
    return {
        (e.text("sAMAccountName") or "").lower(): e for q in queries for e in directory.search(q)
    }


def _names_of(directory: Directory, base_dn: str, dns: Sequence[str]) -> dict[str, str]:
    """DN key -> sAMAccountName of each member (a member outside *base_dn* stays unnamed)."""
    queries = by_dns(base_dn, sorted({dnlib.normalize(dn) for dn in dns}), ("sAMAccountName",))
    return {
        dnlib.key(e.dn): e.text("sAMAccountName") or ""
        for q in queries
        for e in directory.search(q)
    }


def _accounts(conn: Connections, base_dn: str, names: Sequence[str]) -> dict[str, str]:
    """Lower sAMAccountName -> DN of each granted account that still exists."""
    if not names:
        return {}
    asked = {n.lower() for n in names}
    found = (e for q in by_names(base_dn, names, ("sAMAccountName",)) for e in conn.ldap.search(q))
    return {
        sam.lower(): e.dn
        for e in found
        if (sam := e.text("sAMAccountName")) and sam.lower() in asked
    }


# this protocol's part of engine/protocols.py's tables
READS = {lib.TicketMembersRead: read_member_tickets}
