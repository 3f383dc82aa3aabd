"""Every resource kind adsuite knows, by the key a task uses: each module's ``KIND``
record (adsuite/resources/base.py ``Kind``) lists its hooks; nothing is found by probing."""

from __future__ import annotations

from pydantic import BaseModel

from adsuite.resources.accounts import computer, group, password_reset, user
from adsuite.resources.base import Kind
from adsuite.resources.check import check
from adsuite.resources.delegation import delegation
from adsuite.resources.directory import ou, site, site_link, subnet
from adsuite.resources.file_acl import file_acl
from adsuite.resources.gpo import default_domain_policy, gpo
from adsuite.resources.membership import membership, ticketed_membership
from adsuite.resources.password import password_policy, pso
from adsuite.resources.privileged import privileged

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
