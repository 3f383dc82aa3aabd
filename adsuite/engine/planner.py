"""Plan: desired state + facts → an ordered, frozen list of changes.

Order: creations and updates by kind (OUs, groups, users, memberships) and parents
before children; deletions after them, in reverse (children first, memberships
before the groups they name).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

from adsuite.engine import facts as factlib
from adsuite.engine import gc_pause
from adsuite.engine.playbook import Playbook, check_duplicates
from adsuite.errors import InputError
from adsuite.formats import dn as dnlib
from adsuite.resources import registry
from adsuite.resources.base import Action, Change, Desired, Kind, Notice, PlanContext
from adsuite.runtime.connections import Connections
from adsuite.runtime.inventory import Domain
from adsuite.runtime.progress import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    domain: str
    base_dn: str
    changes: tuple[Change, ...]
    objects_read: int
    queries: int
    notices: tuple[Notice, ...] = ()  # findings no write can fix (resources/base.py)

    def counts(self) -> dict[str, int]:
        counted = Counter(str(c.action) for c in self.changes)
        return {str(a): counted.get(str(a), 0) for a in Action}

    @property
    def empty(self) -> bool:
        return not self.changes


def playbook_domain(playbook: Playbook) -> str | None:
    domains = playbook.domains()
    if len(domains) > 1:
        names = ", ".join(sorted(str(d) for d in domains))
        raise InputError(
            f"playbook targets several domains ({names}); run one per domain",
            file=str(playbook.path),
        )
    return domains.pop() if domains else None


def build_plan(
    domain_key: str,
    domain: Domain,
    desired: Mapping[str, Sequence[Desired]],
    read: Callable[[Sequence[Hashable]], factlib.Facts],
) -> Plan:
    """Plan from desired state and what *read* returns for the queries the kinds ask."""
    with gc_pause.paused():
        return _build_plan(domain_key, domain, desired, read)


def _build_plan(
    domain_key: str,
    domain: Domain,
    desired: Mapping[str, Sequence[Desired]],
    read: Callable[[Sequence[Hashable]], factlib.Facts],
) -> Plan:
    ctx = PlanContext(domain.base_dn, domain.realm, {})
    check_duplicates(desired)
    kinds = [(registry.KINDS[name], items) for name, items in desired.items() if items]
    queries = [q for kind, items in kinds for q in kind.queries(items, ctx)]
    references = set().union(*(kind.references(items) for kind, items in kinds))
    ctx.facts = read(queries)
    # names the kinds' own reads did not already find are looked up in a second round
    known = factlib.names_in(ctx.facts)
    lookups = factlib.name_queries(
        domain.base_dn, [r for r in references if r.lower() not in known]
    )
    ctx.facts = {**ctx.facts, **read(lookups)} if lookups else ctx.facts
    ctx.names = {**known, **factlib.names_found(ctx.facts, lookups)}
    existing = {dnlib.key(dn) for dn in ctx.names.values()}
    for kind, items in kinds:
        declared = kind.declares(items, ctx)
        ctx.pending |= {dnlib.key(dn) for dn in declared.values()} - existing
        ctx.names.update(declared)
    # contents before containers, so a container's plan knows what the run deletes in it
    by_contents_first = sorted(kinds, key=lambda pair: -pair[0].order)
    changes = [c for kind, items in by_contents_first for c in kind.plan(items, ctx)]
    notices = [n for kind, items in kinds for n in _notices(kind, items, ctx)]
    objects = sum(len(found) for found in ctx.facts.values() if isinstance(found, list))
    ordered = tuple(sorted(changes, key=_order))
    return Plan(domain_key, domain.base_dn, ordered, objects, len(ctx.facts), tuple(notices))


def _notices(kind: Kind, items: Sequence[Desired], ctx: PlanContext) -> list[Notice]:
    """The findings no write can fix, from a kind that has them (``notices``)."""
    return list(kind.notices(items, ctx)) if kind.notices is not None else []


def read_from(
    conn: Connections, progress: Progress
) -> Callable[[Sequence[Hashable]], factlib.Facts]:
    return lambda requests: factlib.gather(conn, requests, progress)


def _order(change: Change) -> tuple[int, int, int, str]:
    depth, key = _depth_and_key(change.target)
    rank = registry.order(change.kind)
    if change.action is Action.DELETE:
        return (9, -rank, -depth, key)
    return (change.phase, rank, depth, key)


def _depth_and_key(target: str) -> tuple[int, str]:
    """A DN by its RDNs; another target (a UNC path like \\\\fs1\\data\\HQ) by its parts."""
    if dnlib.looks_like_dn(target):
        return dnlib.depth(target), dnlib.key(target)
    return target.strip("\\").count("\\"), target.lower()
