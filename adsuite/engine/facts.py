"""Facts: the actual state, read in bulk — every request run once, by its reader.

An LDAP :class:`Query` is one paged search. Other kinds of request (a SYSVOL file, a
share's security descriptors) have a reader in engine/protocols.py's ``READERS`` that
takes all requests of its type at once, so it can batch them.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from adsuite.engine import protocols
from adsuite.formats.ldap_query import Entry, Query, by_names
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)

Facts = dict[Hashable, Any]


def name_queries(base_dn: str, names: Iterable[str]) -> list[Query]:
    """Find users, groups and computers by sAMAccountName, in bulk."""
    return by_names(base_dn, list(names), ("sAMAccountName",))


def names_in(facts: Facts) -> dict[str, str]:
    """Every account the facts already hold: lower sAMAccountName -> DN."""
    out: dict[str, str] = {}
    for found in facts.values():
        for entry in found if isinstance(found, list) else ():
            sam = entry.text("samaccountname") if isinstance(entry, Entry) else None
            if sam:
                out[sam.lower()] = entry.dn
    return out


def gather(conn: Connections, requests: Sequence[Hashable], progress: Progress) -> Facts:
    by_type: dict[type, list[Any]] = {}
    for request in dict.fromkeys(requests):
        by_type.setdefault(type(request), []).append(request)
    facts: Facts = {}
    for kind, batch in by_type.items():
        facts.update(protocols.READERS[kind](conn, batch, progress))
    return facts


def names_found(facts: Facts, queries: Sequence[Query]) -> dict[str, str]:
    out: dict[str, str] = {}
    for query in queries:
        entries: list[Entry] = facts.get(query, [])
        for entry in entries:
            sam = entry.text("sAMAccountName")
            if sam:
                out[sam.lower()] = entry.dn
    return out
