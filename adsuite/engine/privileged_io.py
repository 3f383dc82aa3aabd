"""The ``privileged`` kind's reader: the privileged groups and everyone in them, in bulk.

Searches, whatever the number of members: the domain object (its SID and maxPwdAge);
the eight groups, Domain Users and the built-in Administrator by SID, in one OR
search; one LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941) search per group for
its members through nested groups (Samba 4.17 answers it as Windows does); and one
search for everything whose ``primaryGroupID`` is one of those groups or of a group
nested in them (the in-chain rule does not follow primary groups).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from adsuite.connectors.ldap import Directory, Entry, Query
from adsuite.engine import facts
from adsuite.engine.connections import Connections
from adsuite.engine.progress import Progress
from adsuite.errors import DirectoryError
from adsuite.formats import dn as dnlib
from adsuite.formats.sid import sid_from_bytes
from adsuite.resources.privileged_facts import (
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

log = logging.getLogger(__name__)

IN_CHAIN = "1.2.840.113556.1.4.1941"
GROUP_ATTRIBUTES = (*PRINCIPAL_ATTRIBUTES, "member")
_FILTER_ESCAPES = {"\\": "\\5c", "*": "\\2a", "(": "\\28", ")": "\\29", "\0": "\\00"}


def read_privileged(
    conn: Connections, requests: Sequence[PrivilegedRead], progress: Progress
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for request in requests:
        out[request] = privileged_state(conn.directory, request.base_dn)
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
    # SID strings are filter-safe (digits, S and dashes), and AD and Samba accept them
    terms = "".join(f"(objectSid={sid})" for sid in sids)
    query = Query(base_dn, f"(|{terms})", GROUP_ATTRIBUTES)
    return {p.sid: p for p in map(_principal, directory.search(query)) if p is not None}


def _chain(
    directory: Directory, base_dn: str, group_dn: str, principals: dict[str, Principal]
) -> list[str]:
    """DN keys of everything in *group_dn* through any chain of ``member`` values."""
    value = "".join(_FILTER_ESCAPES.get(c, c) for c in group_dn)
    query = Query(base_dn, f"(memberOf:{IN_CHAIN}:={value})", PRINCIPAL_ATTRIBUTES)
    keys = []
    for principal in map(_principal, directory.search(query)):
        if principal is not None:
            key = dnlib.key(principal.dn)
            principals[key] = principal
            keys.append(key)
    return keys


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


facts.READERS[PrivilegedRead] = read_privileged
