"""GPO changes in the journal, tied to their group policy containers.

The ``gpo`` and ``default_domain_policy`` kinds journal a change under the GPO's name
(``"HQ Restricted workstation"``), not a DN; what a DC logs is a write to the container
``CN={GUID},CN=Policies,CN=System,<domain>`` or its ``User``/``Machine`` children. Every
container is read in one search (DN, ``displayName``, ``whenCreated``), and each change
gets the container that is most surely its own:

1. a deletion: the GUID its before-image recorded;
2. a creation: the container created during the change (``whenCreated`` within its
   window; one second granularity), the one with the same name if several were;
3. otherwise the container that bears the name now;
4. otherwise the GUID a journaled deletion of that name recorded.

A change none of these finds (its GPO was renamed or deleted outside adsuite, and not
created by adsuite) is named, so the caller can say its container is not checked.
Pure functions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from adsuite.formats import dn as dnlib
from adsuite.journal.records import ChangeRecord
from adsuite.resources.gpo.requests import gpc_dn, policies_dn

log = logging.getLogger(__name__)

GPO_KINDS = frozenset({"gpo", "default_domain_policy"})
SLACK = timedelta(seconds=2)
CONTAINER_ATTRIBUTES = ("displayName", "whenCreated")


@dataclass(frozen=True)
class Container:
    """One groupPolicyContainer as the directory holds it now."""

    dn: str
    name: str | None
    created: datetime | None


def generalized_time(text: str | None) -> datetime | None:
    """LDAP GeneralizedTime (``20261127152031.0Z``) as an aware datetime."""
    if not text:
        return None
    try:
        return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def by_name(change: ChangeRecord) -> str | None:
    """The GPO name a GPO change is journaled under, or None for any other change."""
    target = change.target
    if change.resource not in GPO_KINDS or dnlib.looks_like_dn(target):
        return None
    return target[1:-1] if len(target) > 1 and target[0] == target[-1] == '"' else target


def with_containers(
    changes: Sequence[ChangeRecord], containers: Iterable[Container], base_dn: str
) -> tuple[list[ChangeRecord], list[str]]:
    """The changes with every GPO name replaced by its container's DN; the names not found."""
    found = list(containers)
    named = {c.name.casefold(): c.dn for c in found if c.name}
    deleted = _deleted_guids(changes)
    out, missing = [], []
    for change in changes:
        name = by_name(change)
        if name is None:
            out.append(change)
            continue
        dn = (
            _recorded_guid(change, base_dn)
            or _created_during(change, name, found)
            or named.get(name.casefold())
            or (gpc_dn(deleted[name.casefold()], base_dn) if name.casefold() in deleted else None)
        )
        if dn is None:
            missing.append(name)
            continue
        out.append(replace(change, target=dn))
    return out, sorted(set(missing))


def _recorded_guid(change: ChangeRecord, base_dn: str) -> str | None:
    guid = (change.before or {}).get("GUID") if isinstance(change.before, dict) else None
    return gpc_dn(str(guid), base_dn) if guid else None


def _deleted_guids(changes: Sequence[ChangeRecord]) -> dict[str, str]:
    """Name → GUID of the latest journaled deletion of a GPO by that name."""
    out: dict[str, str] = {}
    for change in sorted(changes, key=lambda c: c.intent_seq):
        name = by_name(change)
        guid = (change.before or {}).get("GUID") if isinstance(change.before, dict) else None
        if name and guid and change.action == "delete":
            out[name.casefold()] = str(guid)
    return out


def _created_during(change: ChangeRecord, name: str, containers: Sequence[Container]) -> str | None:
    if change.action != "create":
        return None
    start = datetime.fromisoformat(change.intent_at).replace(microsecond=0) - SLACK
    end = datetime.fromisoformat(change.outcome_at or change.intent_at) + SLACK
    during = [c for c in containers if c.created is not None and start <= c.created <= end]
    same = [c for c in during if c.name and c.name.casefold() == name.casefold()]
    if same:
        return same[0].dn
    return during[0].dn if len(during) == 1 else None


def containers_base(base_dn: str) -> str:
    """Where the containers are searched (one level)."""
    return policies_dn(base_dn)
