"""The facts a ticket is checked against, read in bulk before anything is built.

Two rounds of paged searches through the engine's fact readers: the accounts and OUs
the ticket names (one query for each, names 500 at a time), then the direct group
memberships of the users whose groups matter (one query per such user; a ticket
names one or two).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from adsuite.engine import facts as factlib
from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query, by_dns, by_names, escape
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress, Silent
from adsuite.tickets.base import Account, Found, Group, Needs

log = logging.getLogger(__name__)

ACCOUNT_ATTRIBUTES = (
    "sAMAccountName",
    "objectClass",
    "userAccountControl",
    "userPrincipalName",
    "memberOf",
    "manager",
)
ACCOUNTDISABLE = 0x2


def account_queries(base_dn: str, names: Sequence[str]) -> list[Query]:
    return by_names(base_dn, names, ACCOUNT_ATTRIBUTES)


def ou_queries(base_dn: str, dns: Sequence[str]) -> list[Query]:
    unique = sorted({dnlib.normalize(dn) for dn in dns})
    return by_dns(base_dn, unique, (), "(objectClass=organizationalUnit)")


def groups_query(base_dn: str, member_dn: str) -> Query:
    member = escape(member_dn)
    return Query(base_dn, f"(&(objectClass=group)(member={member}))", ("sAMAccountName",))


def read(conn: Connections, base_dn: str, needs: Needs, progress: Progress | None = None) -> Found:
    progress = progress or Silent()
    first = [*account_queries(base_dn, needs.names), *ou_queries(base_dn, needs.ous)]
    facts = factlib.gather(conn, first, progress)
    accounts = {
        a.name.lower(): a
        for q in account_queries(base_dn, needs.names)
        for a in map(account, facts.get(q, []))
    }
    ous = frozenset(
        dnlib.key(e.dn) for q in ou_queries(base_dn, needs.ous) for e in facts.get(q, [])
    )
    users = [accounts[n.lower()] for n in needs.groups_of if n.lower() in accounts]
    second = {u.name.lower(): groups_query(base_dn, u.dn) for u in users}
    more = factlib.gather(conn, list(second.values()), progress) if second else {}
    groups_of = {
        name: tuple(sorted((group(e) for e in more.get(q, [])), key=lambda g: g.name.lower()))
        for name, q in second.items()
    }
    log.debug("ticket facts: %d accounts, %d OUs", len(accounts), len(ous))
    return Found(accounts, ous, groups_of)


def account(entry: Entry) -> Account:
    classes = {c.lower() for c in entry.texts("objectClass")}
    kind = next((k for k in ("computer", "group", "user") if k in classes), "other")
    uac = entry.integer("userAccountControl")
    enabled = None if uac is None else not uac & ACCOUNTDISABLE
    name = entry.text("sAMAccountName") or dnlib.rdn_value(entry.dn)
    member_of = frozenset(dnlib.key(dn) for dn in entry.texts("memberOf"))
    upn, manager = entry.text("userPrincipalName"), entry.text("manager")
    return Account(name, entry.dn, kind, enabled, upn, member_of, manager)


def group(entry: Entry) -> Group:
    return Group(entry.text("sAMAccountName") or dnlib.rdn_value(entry.dn), entry.dn)


def read_accounts(
    conn: Connections, base_dn: str, names: Sequence[str], progress: Progress | None = None
) -> dict[str, Account]:
    """Accounts by sAMAccountName (lower-cased keys), in one paged search per 500 names."""
    if not names:
        return {}
    queries = account_queries(base_dn, names)
    facts = factlib.gather(conn, queries, progress or Silent())
    return {a.name.lower(): a for q in queries for a in map(account, facts.get(q, []))}
