"""Every resource kind adsuite knows, by the key a task uses: each module's ``KIND``
record (adsuite/resources/base.py ``Kind``) lists its hooks; nothing is found by probing."""

from __future__ import annotations

from pydantic import BaseModel

from adsuite.resources import (
    check,
    computer,
    default_domain_policy,
    delegation,
    file_acl,
    gpo,
    group,
    membership,
    ou,
    password_policy,
    password_reset,
    privileged,
    pso,
    site,
    site_link,
    subnet,
    ticketed_membership,
    user,
)
from adsuite.resources.base import Kind

KINDS: dict[str, Kind] = {
    m.KIND.name: m.KIND
    for m in (
        ou,
        group,
        user,
        membership,
        password_policy,
        pso,
        site,
        site_link,
        subnet,
        computer,
        password_reset,
        delegation,
        file_acl,
        privileged,
        gpo,
        default_domain_policy,
        ticketed_membership,
        check,
    )
}


def specs() -> dict[str, type[BaseModel]]:
    """The desired-state model of each kind, for the playbook loader."""
    return {name: kind.spec for name, kind in KINDS.items()}


def order(kind: str) -> int:
    return KINDS[kind].order
