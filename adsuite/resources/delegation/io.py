"""DACL edits and the names of ACE trustees: the delegation kind's reader and writer.

- :class:`~adsuite.resources.delegation.dacl.DaclEdit` is written as the same read-modify-write
  ``sd_edit`` that protection uses (read and write with SD flags 0x04, DACL only),
  after looking up — in one search — the SIDs of trustees this run has just created.
- :class:`~adsuite.resources.delegation.facts.AcePrincipals` is read in two searches:
  the objects' DACLs, then every SID their explicit ACEs name (500 to a search).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from adsuite.formats.ldap_query import Query, names_of, or_filter, sids_required
from adsuite.resources.base import LdapWrite
from adsuite.resources.delegation import dacl
from adsuite.resources.delegation.facts import AcePrincipals
from adsuite.resources.directory import io as ldap_io
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)

SD = "nTSecurityDescriptor"


def write_dacl_edit(conn: Connections, edit: dacl.DaclEdit) -> None:
    pending = sorted({g.trustee.lower() for g in edit.grants if g.sid is None})
    found = sids_required(conn.ldap.search, edit.base_dn, pending, f"to grant rights on {edit.dn}")
    add = [g.shape.for_sid(g.sid or found[g.trustee.lower()]) for g in edit.grants]
    add += edit.puts
    change = functools.partial(dacl.edit, add=add, remove=edit.revokes)
    ldap_io.execute(conn, LdapWrite("sd_edit", edit.dn, sd_flags=dacl.DACL_ONLY, sd_edit=change))


def read_ace_principals(
    conn: Connections, requests: Sequence[AcePrincipals], progress: Progress
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    progress.start("naming ACE trustees", len(requests))
    for request in requests:
        out[request] = names_of(conn.ldap.search, request.base_dn, _sids_in(conn, request))
        progress.advance()
    progress.finish()
    return out


def _sids_in(conn: Connections, request: AcePrincipals) -> set[str]:
    dns = or_filter("distinguishedName", list(request.dns))
    query = Query(request.base_dn, dns, (SD,), sd_flags=dacl.DACL_ONLY)
    return {
        ace.sid
        for entry in conn.ldap.search(query)
        for raw in entry.raw(SD)[:1]
        for ace in dacl.explicit_aces(raw)
    }


# this protocol's part of engine/protocols.py's tables
READS = {AcePrincipals: read_ace_principals}
WRITES = {dacl.DaclEdit: write_dacl_edit}
