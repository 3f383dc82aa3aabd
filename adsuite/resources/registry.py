"""Every resource kind adsuite knows, by the key a task uses."""

from __future__ import annotations

from types import ModuleType

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
    subnet,
    ticketed_membership,
    user,
)

KINDS: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        ou,
        group,
        user,
        membership,
        password_policy,
        pso,
        site,
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
    return {name: module.Spec for name, module in KINDS.items()}


def order(kind: str) -> int:
    value: int = KINDS[kind].ORDER
    return value
