"""The reader of :class:`~adsuite.resources.file_acl.grants.GrantsRead`: ticket grants
from the journal, their principals named by SID from the directory.

The journal is only read, once per plan whatever the number of folders, and only the
runs that matter (those of permission_change tickets) are fetched; a journal
that does not exist yet holds no grants and is not created. The principals of the
grants found are looked up in bulk (500 names a search).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from adsuite.connectors.ldap import Directory
from adsuite.formats.ldap_query import sids_of
from adsuite.journal.paths import default_journal_path
from adsuite.journal.store import Journal
from adsuite.resources.file_acl import grants as grantlib
from adsuite.resources.file_acl import principals
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)


def grants_by_folder(journal_path: Path, today: date) -> dict[str, grantlib.GrantState]:
    """Folder key -> grants in force and expired, as the journal at *journal_path* has them."""
    if not journal_path.exists():
        return {}
    with Journal.open(journal_path) as journal:
        runs = journal.runs_for([grantlib.TICKET_TYPE])
    return grantlib.fold(runs, today)


def journal_of(conn: Connections) -> Path:
    return conn.journal_path or default_journal_path(conn.inventory.journal)


def read_grants(
    conn: Connections, requests: Sequence[grantlib.GrantsRead], progress: Progress
) -> dict[Any, Any]:
    today = grantlib.today_of(datetime.now(UTC))
    by_folder = grants_by_folder(journal_of(conn), today)
    states = {
        r: by_folder.get(grantlib.folder_key(r.host, r.share, r.path), grantlib.GrantState())
        for r in requests
    }
    every = [g for s in states.values() for g in (*s.active, *s.expired)]
    if not every:
        return states
    sids = _sids(conn.ldap, requests[0].base_dn, [g.rule.who for g in every])
    log.info("%d ticket grants on %d folders", len(every), len(requests))
    return {r: _named(state, sids) for r, state in states.items()}


def _sids(directory: Directory, base_dn: str, names: Sequence[str]) -> dict[str, str]:
    return sids_of(directory.search, base_dn, principals.accounts(names))


def _named(state: grantlib.GrantState, sids: dict[str, str]) -> grantlib.GrantState:
    def name(grant: grantlib.Grant) -> grantlib.Grant:
        sid = sids.get(principals.account_name(grant.rule.who).lower())
        return dataclasses.replace(grant, sid=sid)

    return grantlib.GrantState(tuple(map(name, state.active)), tuple(map(name, state.expired)))


# this protocol's part of engine/protocols.py's tables
READS = {grantlib.GrantsRead: read_grants}
