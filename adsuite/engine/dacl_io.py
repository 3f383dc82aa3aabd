"""DACL edits and the names of ACE trustees: the delegation kind's reader and writer.

- :class:`~adsuite.resources.dacl.DaclEdit` is written as the same read-modify-write
  ``sd_edit`` that protection uses (read and write with SD flags 0x04, DACL only),
  after looking up — in one search — the SIDs of trustees this run has just created.
- :class:`~adsuite.resources.delegation_facts.AcePrincipals` is read in two searches:
  the objects' DACLs, then every SID their explicit ACEs name (500 to a search).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from adsuite.connectors.ldap import Directory, Query, or_filter
from adsuite.engine import executor, facts
from adsuite.engine.connections import Connections
from adsuite.engine.progress import Progress
from adsuite.errors import DirectoryError
from adsuite.formats.sid import sid_from_bytes, sid_to_bytes
from adsuite.resources import dacl
from adsuite.resources.base import LdapWrite
from adsuite.resources.delegation_facts import AcePrincipals

log = logging.getLogger(__name__)

SD = "nTSecurityDescriptor"
CHUNK = 500


def write_dacl_edit(conn: Connections, edit: dacl.DaclEdit) -> None:
    pending = sorted({g.trustee.lower() for g in edit.grants if g.sid is None})
    found = _sids_by_name(conn.directory, edit.base_dn, pending) if pending else {}
    missing = [name for name in pending if name not in found]
    if missing:
        raise DirectoryError(f"edit {edit.dn}: no account named {missing[0]!r} to grant rights to")
    add = [g.shape.for_sid(g.sid or found[g.trustee.lower()]) for g in edit.grants]
    add += edit.puts
    change = functools.partial(dacl.edit, add=add, remove=edit.revokes)
    executor.execute(conn, LdapWrite("sd_edit", edit.dn, sd_flags=dacl.DACL_ONLY, sd_edit=change))


def _sids_by_name(directory: Directory, base_dn: str, names: Sequence[str]) -> dict[str, str]:
    query = Query(base_dn, or_filter("sAMAccountName", names), ("sAMAccountName", "objectSid"))
    out: dict[str, str] = {}
    for entry in directory.search(query):
        sam, sid = entry.text("sAMAccountName"), entry.raw("objectSid")
        if sam and sid:
            out[sam.lower()] = sid_from_bytes(sid[0])
    return out


def read_ace_principals(
    conn: Connections, requests: Sequence[AcePrincipals], progress: Progress
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    progress.start("naming ACE trustees", len(requests))
    for request in requests:
        out[request] = _names_of_sids(conn.directory, request.base_dn, _sids_in(conn, request))
        progress.advance()
    progress.finish()
    return out


def _sids_in(conn: Connections, request: AcePrincipals) -> set[str]:
    dns = or_filter("distinguishedName", list(request.dns))
    query = Query(request.base_dn, dns, (SD,), sd_flags=dacl.DACL_ONLY)
    return {
        ace.sid
        for entry in conn.directory.search(query)
        for raw in entry.raw(SD)[:1]
        for ace in dacl.explicit_aces(raw)
    }


def _names_of_sids(directory: Directory, base_dn: str, sids: set[str]) -> dict[str, str]:
    ordered = sorted(sids)
    names: dict[str, str] = {}
    for i in range(0, len(ordered), CHUNK):
        terms = "".join(f"(objectSid={_binary(s)})" for s in ordered[i : i + CHUNK])
        query = Query(base_dn, f"(|{terms})", ("sAMAccountName", "objectSid"))
        for entry in directory.search(query):
            sam, sid = entry.text("sAMAccountName"), entry.raw("objectSid")
            if sam and sid:
                names[sid_from_bytes(sid[0])] = sam
    log.debug("named %d of %d ACE trustees", len(names), len(sids))
    return names


def _binary(sid: str) -> str:
    """A SID as an LDAP filter value: every byte escaped (RFC 4515)."""
    return "".join(f"\\{byte:02x}" for byte in sid_to_bytes(sid))


executor.WRITERS[dacl.DaclEdit] = write_dacl_edit
facts.READERS[AcePrincipals] = read_ace_principals
