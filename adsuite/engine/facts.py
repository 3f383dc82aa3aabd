"""Facts: the actual state, read in bulk — one paged search per query, each run once."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from adsuite.connectors.ldap import Directory, Entry, Query, or_filter
from adsuite.engine.progress import Progress

log = logging.getLogger(__name__)

NAME_CHUNK = 500
Facts = dict[Query, list[Entry]]


def name_queries(base_dn: str, names: Iterable[str]) -> list[Query]:
    """Find users, groups and computers by sAMAccountName, in chunks."""
    unique = sorted({n.lower() for n in names})
    return [
        Query(base_dn, or_filter("sAMAccountName", unique[i : i + NAME_CHUNK]), ("sAMAccountName",))
        for i in range(0, len(unique), NAME_CHUNK)
    ]


def gather(directory: Directory, queries: Sequence[Query], progress: Progress) -> Facts:
    unique = list(dict.fromkeys(queries))
    facts: Facts = {}
    progress.start("reading the directory", len(unique))
    for query in unique:
        facts[query] = list(directory.search(query))
        log.debug("%d entries under %s for %s", len(facts[query]), query.base, query.filter[:80])
        progress.advance()
    progress.finish()
    return facts


def names_found(facts: Facts, queries: Sequence[Query]) -> dict[str, str]:
    out: dict[str, str] = {}
    for query in queries:
        for entry in facts.get(query, []):
            sam = entry.text("sAMAccountName")
            if sam:
                out[sam.lower()] = entry.dn
    return out
