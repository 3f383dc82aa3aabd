"""``check``: a directory-wide rule of the regulations, over the whole population.

    - check:
        rule: password_flags          # see adsuite/resources/check/rules.py for the rules
        clause: 二.2.c                 # the clause it proves, named in every finding
        scope: domain                 # domain (default) or an OU path (HQ, HQ/Users)
        max_password_age: 183         # per-rule parameters (see Params)
        exempt:                       # named exemptions, each with its reason and ticket
          - {object: Guest, reason: "built-in, disabled", ticket: SEC-2026-001,
             expires: 2027-12-31}

A playbook's other kinds check the objects they declare; a check reads every object of
its families (users, computers, groups — one paged search each per plan, shared by
every check task) and finds what breaks the rule anywhere in its scope. A check never
writes: its ``plan`` is always empty and each violation is a :class:`Notice` of
severity ``drift`` ("check CN=x,…: userAccountControl has PASSWD_NOTREQD … (二.2.c)"),
so plan and drift show it, drift counts it (exit 2), it gets a stable id like any
notice, and apply has nothing to write. An exemption in force turns the violation
into a ``warning`` naming the reason, ticket and expiry — shown and journaled with
every drift check that uses it; an expired exemption no longer exempts.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.formats import dn as dnlib
from adsuite.resources.base import Change, Desired, Kind, Notice, PlanContext, first_error
from adsuite.resources.check import rules
from adsuite.resources.check.facts import (
    COMPUTERS,
    GROUP_ACLS,
    GROUPS,
    USERS,
    CheckFacts,
    CheckRead,
    Directory,
)

NAME = "check"
ORDER = 95  # reads only; after every kind that writes
RuleName = Literal[
    "password_flags",
    "class_groups",
    "stale_accounts",
    "disabled_placement",
    "personal_devices",
    "asset_numbers",
    "takeover_groups",
    "admin_count",
    "self_membership",
]

__all__ = ["NAME", "ORDER", "Spec", "declares", "notices", "plan", "queries", "references"]


class Exemption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: str = Field(min_length=1)  # sAMAccountName (a computer's without $) or a DN
    reason: str = Field(min_length=1)
    ticket: str = Field(min_length=1)
    expires: date


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: RuleName
    clause: str = Field(min_length=1, max_length=32)
    scope: str = "domain"
    exempt: list[Exemption] = Field(default_factory=list)
    max_password_age: int = Field(default=183, ge=1)
    stale_days: int = Field(default=90, ge=1)
    restricted: str = "{code}-Restricted"
    elevated: str = "{code}-Elevated"
    allowed: dict[str, list[str]] = Field(default_factory=dict)
    groups: list[str] = Field(default_factory=list)
    trustees: list[str] = Field(default_factory=list)

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if value != "domain" and not dnlib.looks_like_dn(value):
            dnlib.ou_path_segments(value)  # ValueError naming what is wrong
        return value

    def params(self) -> rules.Params:
        allowed = {g: tuple(m) for g, m in self.allowed.items()}
        return rules.Params(self.max_password_age, self.stale_days, self.restricted,
                            self.elevated, allowed, tuple(self.groups),
                            tuple(self.trustees))  # fmt: skip


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def _families(desired: Sequence[Desired]) -> set[str]:
    return {f for d in desired for f in rules.RULES[_spec(d).rule][1]}


def _acl_names(desired: Sequence[Desired]) -> tuple[str, ...]:
    names = {n.lower() for d in desired for n in (*_spec(d).groups, *_spec(d).trustees)}
    return tuple(sorted(names))


def _requests(desired: Sequence[Desired], base_dn: str) -> dict[str, CheckRead]:
    out = {f: CheckRead(f, base_dn) for f in _families(desired) if f != GROUP_ACLS}
    if GROUP_ACLS in _families(desired):
        out[GROUP_ACLS] = CheckRead(GROUP_ACLS, base_dn, _acl_names(desired))
    return out


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Hashable]:
    """One request per family, whatever the number of check tasks."""
    return list(_requests(desired, ctx.base_dn).values())


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return set()


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    """A check never writes."""
    return []


def _directory(desired: Sequence[Desired], ctx: PlanContext) -> Directory:
    found: dict[str, CheckFacts] = {}
    for family, request in _requests(desired, ctx.base_dn).items():
        fact = ctx.fact(request)
        if not isinstance(fact, CheckFacts):
            raise first_error(desired[0], f"the directory's {family} were not read")
        found[family] = fact
    empty = CheckFacts((), next(iter(found.values())).read_at)
    pick = {f: found.get(f, empty) for f in (USERS, COMPUTERS, GROUPS, GROUP_ACLS)}
    return Directory(
        ctx.base_dn,
        users=pick[USERS].entries,
        computers=pick[COMPUTERS].entries,
        groups=pick[GROUPS].entries,
        acl_groups=pick[GROUP_ACLS].entries,
        read_at=pick[USERS if USERS in found else next(iter(found))].read_at,
        ticketed=pick[COMPUTERS].ticketed,
    )


def _scope_dn(item: Desired, base_dn: str) -> str:
    scope = _spec(item).scope
    if scope == "domain":
        return base_dn
    return (
        dnlib.normalize(scope)
        if dnlib.looks_like_dn(scope)
        else dnlib.ou_path_to_dn(scope, base_dn)
    )


def notices(desired: Sequence[Desired], ctx: PlanContext) -> list[Notice]:
    """Every violation as a drift notice; an exempted one as a warning."""
    if not desired:
        return []
    directory = _directory(desired, ctx)
    out: list[Notice] = []
    for item in desired:
        spec = _spec(item)
        rule, _ = rules.RULES[spec.rule]
        for found in rule(directory, _scope_dn(item, ctx.base_dn), spec.params()):
            out.append(_notice(item, found, directory.read_at.date()))
    return out


def _exemption(spec: Spec, found: rules.Violation) -> Exemption | None:
    for exemption in spec.exempt:
        named = exemption.object
        if dnlib.looks_like_dn(named):
            if dnlib.key(named) == dnlib.key(found.dn):
                return exemption
        elif named.lower().removesuffix("$") == found.name.lower().removesuffix("$"):
            return exemption
    return None


def _notice(item: Desired, found: rules.Violation, today: date) -> Notice:
    spec = _spec(item)
    said = f"{found.text} ({spec.clause}, {spec.rule})"
    exemption = _exemption(spec, found)
    if exemption is None:
        return Notice(NAME, found.dn, said, item.location, clause=spec.clause)
    if exemption.expires < today:
        text = f"{said}; its exemption (ticket {exemption.ticket}) expired {exemption.expires}"
        return Notice(NAME, found.dn, text, item.location, clause=spec.clause)
    text = (
        f"{said}: exempt until {exemption.expires} by ticket {exemption.ticket}: {exemption.reason}"
    )
    return Notice(NAME, found.dn, text, item.location, "warning", spec.clause)


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=queries,
    declares=declares,
    references=references,
    plan=plan,
    notices=notices,
)
