"""The ``privileged`` kind's reader: the privileged groups and everyone in them, in bulk.

Searches, whatever the number of members: the domain object (its SID and maxPwdAge);
the eight groups, Domain Users and the built-in Administrator by SID, in one OR
search; per group, its members through nested groups, expanded level by level (one
search by DN per level: the in-chain matching rule costs Samba a pass over the whole
domain per group); and one search for everything whose ``primaryGroupID`` is one of
those groups or of a group nested in them (member values do not show primary groups).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from adsuite.connectors.ldap import Directory
from adsuite.errors import DirectoryError
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query, by_dns, entries_of
from adsuite.formats.sid import sid_from_bytes
from adsuite.journal.checkouts import CHECKIN, CHECKOUT, latest_checkout_state
from adsuite.journal.records import RunRecord
from adsuite.journal.store import Journal
from adsuite.resources.file_acl.grants_io import journal_of
from adsuite.resources.privileged.facts import (
    BUILTIN_ADMINISTRATOR_RID,
    DOMAIN_USERS_RID,
    GROUP_NAMES,
    PRINCIPAL_ATTRIBUTES,
    Principal,
    PrivilegedGroup,
    PrivilegedRead,
    PrivilegedState,
    group_sid,
    max_age_days,
)
from adsuite.resources.privileged.rest import Resting, RestingRead, accounts_query
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)

GROUP_ATTRIBUTES = (*PRINCIPAL_ATTRIBUTES, "member")


def read_privileged(
    conn: Connections, requests: Sequence[PrivilegedRead], progress: Progress
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for request in requests:
        out[request] = privileged_state(conn.ldap, request.base_dn)
    return out


def privileged_state(directory: Directory, base_dn: str) -> PrivilegedState:
    """Read the privileged groups of the domain at *base_dn* and who is in them."""
    domain = directory.read(base_dn, ["objectSid", "maxPwdAge"])
    if domain is None or not domain.raw("objectSid"):
        raise DirectoryError(f"read {base_dn}: the domain object has no objectSid")
    domain_sid = sid_from_bytes(domain.raw("objectSid")[0])
    by_sid = _by_sid(directory, base_dn, domain_sid)
    groups = {
        label: PrivilegedGroup(label, by_sid[sid].entry, sid)
        for label in GROUP_NAMES
        if (sid := group_sid(label, domain_sid)) in by_sid
    }
    principals: dict[str, Principal] = {}
    chains = {label: _chain(directory, base_dn, g.dn, principals) for label, g in groups.items()}
    primary = _primary_members(directory, base_dn, domain_sid, groups, chains, principals)
    groups = {
        label: _effective(g, chains[label], primary, principals) for label, g in groups.items()
    }
    for principal in by_sid.values():
        principals.setdefault(dnlib.key(principal.dn), principal)
    users = by_sid.get(f"{domain_sid}-{DOMAIN_USERS_RID}")
    return PrivilegedState(
        domain_sid=domain_sid,
        read_at=datetime.now(UTC),
        bound_as=directory.endpoint.username,
        max_password_age_days=max_age_days(domain.integer("maxPwdAge")),
        groups=groups,
        principals=principals,
        builtin_administrator=by_sid.get(f"{domain_sid}-{BUILTIN_ADMINISTRATOR_RID}"),
        domain_users_dn=users.dn if users else None,
    )


def _by_sid(directory: Directory, base_dn: str, domain_sid: str) -> dict[str, Principal]:
    sids = [group_sid(label, domain_sid) for label in GROUP_NAMES]
    sids += [f"{domain_sid}-{DOMAIN_USERS_RID}", f"{domain_sid}-{BUILTIN_ADMINISTRATOR_RID}"]
    found = entries_of(directory.search, base_dn, sids, GROUP_ATTRIBUTES)
    return {p.sid: p for p in map(_principal, found.values()) if p is not None}


def _chain(
    directory: Directory, base_dn: str, group_dn: str, principals: dict[str, Principal]
) -> list[str]:
    """DN keys of everything in *group_dn* through any chain of ``member`` values.

    Expanded level by level from the member values themselves, each level one search
    by DN (OR filters of 200): Samba evaluates the in-chain matching rule
    (1.2.840.113556.1.4.1941) against every object of the domain, which took 18 s per
    group on a lab of 17,000 objects, while privileged groups hold a handful of members.
    """
    start = directory.read(group_dn, list(GROUP_ATTRIBUTES))
    level = start.texts("member") if start else []
    seen, keys = {dnlib.key(group_dn)}, []
    while level:
        fresh = sorted({dnlib.key(dn): dn for dn in level if dnlib.key(dn) not in seen}.values())
        seen.update(dnlib.key(dn) for dn in fresh)
        level = []
        for entry in _entries_by_dn(directory, base_dn, fresh):
            principal = _principal(entry)
            if principal is None:
                continue
            key = dnlib.key(principal.dn)
            principals[key] = principal
            keys.append(key)
            if principal.is_group:
                level.extend(entry.texts("member"))
    return keys


def _entries_by_dn(directory: Directory, base_dn: str, dns: Sequence[str]) -> list[Entry]:
    return [e for q in by_dns(base_dn, dns, GROUP_ATTRIBUTES, per=200) for e in directory.search(q)]


def _primary_members(
    directory: Directory,
    base_dn: str,
    domain_sid: str,
    groups: dict[str, PrivilegedGroup],
    chains: dict[str, list[str]],
    principals: dict[str, Principal],
) -> dict[int, list[str]]:
    """RID → DN keys of the principals whose primary group it is (groups in the chains)."""
    rids = {g.rid for g in groups.values() if g.sid.startswith(domain_sid + "-")}
    for keys in chains.values():
        for key in keys:
            found = principals[key]
            if found.is_group and found.sid.startswith(domain_sid + "-"):
                rids.add(found.rid)
    if not rids:
        return {}
    terms = "".join(f"(primaryGroupID={rid})" for rid in sorted(rids))
    query = Query(base_dn, f"(|{terms})", PRINCIPAL_ATTRIBUTES)
    out: dict[int, list[str]] = {}
    for principal in map(_principal, directory.search(query)):
        if principal is not None and principal.primary_group_rid is not None:
            key = dnlib.key(principal.dn)
            principals[key] = principal
            out.setdefault(principal.primary_group_rid, []).append(key)
    log.debug("primary-group members of %d privileged or nested groups read", len(rids))
    return out


def _effective(
    group: PrivilegedGroup,
    chain: list[str],
    primary: dict[int, list[str]],
    principals: dict[str, Principal],
) -> PrivilegedGroup:
    in_domain = group.sid.startswith("S-1-5-21-")  # a built-in group is nobody's primary
    nested = [group.rid] if in_domain else []
    nested += [principals[k].rid for k in chain if principals[k].is_group]
    via_primary = {k for rid in nested for k in primary.get(rid, [])}
    members = {k for k in chain if not principals[k].is_group} | via_primary
    own = tuple(sorted(primary.get(group.rid, []))) if in_domain else ()
    return PrivilegedGroup(group.label, group.entry, group.sid, tuple(sorted(members)), own)


def _principal(entry: Entry) -> Principal | None:
    raw = entry.raw("objectSid")
    return Principal(entry, sid_from_bytes(raw[0])) if raw else None


def read_resting(
    conn: Connections, requests: Sequence[RestingRead], progress: Progress
) -> dict[Any, Any]:
    """The accounts that rest disabled, and which of them the journal shows checked out
    (a journal that does not exist yet shows none and is not created)."""
    journal = journal_of(conn)
    runs: list[RunRecord] = []
    if journal.exists():
        with Journal.open(journal) as opened:
            runs = [r for r in opened.runs() if r.mode in (CHECKOUT, CHECKIN)]
    out: dict[Any, Any] = {}
    for request in requests:
        found = conn.ldap.search(accounts_query(request))
        entries = {(e.text("sAMAccountName") or "").lower(): e for e in found}
        held = {name: latest_checkout_state(runs, name) for name in request.accounts}
        out[request] = Resting(entries, {n: r.id for n, r in held.items() if r is not None})
    return out


# this protocol's part of engine/protocols.py's tables
READS = {PrivilegedRead: read_privileged, RestingRead: read_resting}
