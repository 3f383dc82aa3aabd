"""``elevation`` and ``elevation_revoke``: local administrator rights on workstations (二.1.b).

    type: elevation
    requester: zhang.wei              # the user applies (由本人提出申请)
    approvals:                        # approvals.yml: both, each by its own person
      - {name: hq.fin.head, role: department_head, time: "2026-11-27T09:30:00+08:00"}
      - {name: hq.gm, role: general_manager, time: "2026-11-27T11:00:00+08:00"}
    parameters:
      company: HQ
      user: zhang.wei                 # sAMAccountName; an enabled user in HQ's OU
      reason: installs and updates the CAD plug-ins his project needs
      workstation: HQ-PC-0153         # optional; a computer account of the company
      asset: FA-2026-0153             # optional; its fixed-asset number, recorded

The user joins ```<CODE>-Elevated```, which the "Elevated workstation" GPO of
``playbooks/workstation_lockdown.yml`` makes a local administrator of the company's
workstations, and leaves ```<CODE>-Restricted```. The two classes of 二.1 exclude each
other: an elevated user is "not strictly controlled", and staying in the restricted
group would keep the "Restricted workstation" GPO's user half on them (no Control
Panel, registry editor or command prompt), withholding the very rights the two
approvals granted; the GPO's machine half still applies to every workstation
through Domain Computers. Both groups must exist (the lockdown playbook declares
them); a ticket never creates a group. The workstation and asset are checked (a
computer of the company) and recorded, but the GPO targets the group, so the rights
hold on every workstation of the company it is linked to, not on that one alone.
The requester is recorded as given; the rules do not require it to be the user.

The run records the grant (:mod:`adsuite.resources.member_tickets`), so the
playbook's ``ticketed_membership`` task keeps this member and calls every other
member of the group drift. A user who is already a member with an elevation in
force is refused (nothing to approve); one who is a member without a ticket may be
given one, which makes the membership approved.

    type: elevation_revoke
    parameters: {company: HQ, user: zhang.wei, reason: project finished}   # reason optional

takes the user out of ```<CODE>-Elevated``` and back into ```<CODE>-Restricted```, the
default class (二.1.a), and ends the grant. Taking rights away lowers privilege, so
approvals.yml asks for one approval, not two — by the department head, the general
manager or the IT head, never the requester — so that, like every change, it has an
approval on record (四.5). It is refused for a user who is neither a member nor
elevated by a ticket in force.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.engine.inventory import Company
from adsuite.engine.member_tickets_io import grants_in_force
from adsuite.journal.paths import default_journal_path
from adsuite.resources import member_tickets as grants
from adsuite.resources.computer import check_computer_name, sam_account_name
from adsuite.resources.naming import check_sam_account_name
from adsuite.tickets.base import (
    Account,
    Build,
    Found,
    Needs,
    ParamPath,
    Scope,
    TicketEnv,
    TicketType,
    membership_tasks,
    subject_scope,
)
from adsuite.tickets.new_employee import require_restricted, restricted_group

log = logging.getLogger(__name__)

NAME = "elevation"
REVOKE_NAME = "elevation_revoke"
CLAUSE = "二.1.b"


def elevated_group(code: str) -> str:
    """The name of a company's elevated (not strictly controlled) group."""
    return f"{code}-Elevated"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company: str = Field(description="the company code; the user must be an enabled user in its OU")
    user: str = Field(description="the user who is elevated or revoked")

    @field_validator("user")
    @classmethod
    def _account_name(cls, value: str) -> str:
        return check_sam_account_name(value)


class Params(_Params):
    reason: str = Field(
        min_length=1,
        max_length=1024,
        description="why the user needs local administrator rights (recorded)",
    )
    workstation: str | None = Field(
        default=None, description="a computer account of the company, recorded"
    )
    asset: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the workstation's fixed-asset number, recorded",
    )

    @field_validator("workstation")
    @classmethod
    def _computer_name(cls, value: str | None) -> str | None:
        return None if value is None else check_computer_name(value)


class RevokeParams(_Params):
    reason: str | None = Field(
        default=None, min_length=1, max_length=1024, description="why the elevation ends (recorded)"
    )


def needs(env: TicketEnv, params: Params) -> Needs:
    code = env.company(params.company, ("company",)).code
    names = [params.user, elevated_group(code), restricted_group(code)]
    if params.workstation:
        names.append(sam_account_name(params.workstation))
    return Needs(names=tuple(names), groups_of=(params.user,))


def revoke_needs(env: TicketEnv, params: RevokeParams) -> Needs:
    code = env.company(params.company, ("company",)).code
    names = (params.user, elevated_group(code), restricted_group(code))
    return Needs(names=names, groups_of=(params.user,))


def _user_of(env: TicketEnv, found: Found, params: _Params, company: Company) -> Account:
    """The ticket's user: an account of *company*, whose people approved it."""
    account = env.require(found, params.user, "user", ("user",))
    home = env.company_of(account.dn)
    if home is None or home.code != company.code:
        where = f"company {home.code}'s OU" if home else "no company's OU"
        raise env.error(
            ("user",),
            f"user '{account.name}' is in {where} ({account.dn}), not {company.code}'s; "
            f"its own company's department head and general manager approve ({CLAUSE})",
        )
    return account


def _require_elevated_group(env: TicketEnv, found: Found, group: str) -> None:
    if found.account(group) is None:
        raise env.error(
            ("company",),
            f"elevated group '{group}' does not exist: playbooks/workstation_lockdown.yml "
            f"declares each company's elevated group ({CLAUSE}); apply it first",
        )
    env.require(found, group, "group", ("company",))


def _in_group(found: Found, account: Account, group: str) -> bool:
    groups = found.groups_of.get(account.name.lower(), ())
    return any(g.name.lower() == group.lower() for g in groups)


def _grant_in_force(env: TicketEnv, group: str, account: Account) -> grants.Grant | None:
    journal = env.journal_path or default_journal_path(env.inventory.journal)
    return grants_in_force(journal, NAME).get(group.lower(), {}).get(account.name.lower())


def _workstation(env: TicketEnv, found: Found, params: Params, company: Company) -> str | None:
    if not params.workstation:
        return None
    path: ParamPath = ("workstation",)
    computer = env.require(found, sam_account_name(params.workstation), "computer", path)
    home = env.company_of(computer.dn)
    if home is None or home.code != company.code:
        raise env.error(
            path, f"computer '{params.workstation}' ({computer.dn}) is not {company.code}'s"
        )
    return computer.dn


def build(env: TicketEnv, params: Params, found: Found) -> Build:
    company = env.company(params.company, ("company",))
    account = _user_of(env, found, params, company)
    if account.enabled is False:
        raise env.error(
            ("user",), f"user '{account.name}' is disabled; a disabled account is not elevated"
        )
    elevated, restricted = elevated_group(company.code), restricted_group(company.code)
    _require_elevated_group(env, found, elevated)
    require_restricted(env, found, restricted, ("company",))
    workstation_dn = _workstation(env, found, params, company)
    grant = _grant_in_force(env, elevated, account)
    if grant is not None and _in_group(found, account, elevated):
        raise env.error(
            ("user",),
            f"user '{account.name}' is already in {elevated} by {grant.words()}; "
            "nothing to approve",
        )
    tasks = (
        *membership_tasks(env, account, [elevated], "add", ("user",), f"elevation ({CLAUSE})"),
        *membership_tasks(
            env, account, [restricted], "remove", ("user",), "leaves the restricted class"
        ),
    )
    details: dict[str, Any] = {
        "company": company.code,
        "user_dn": account.dn,
        "elevated_group": elevated,
        "restricted_group": restricted,
        "reason": params.reason,
        "workstation": params.workstation,
        "workstation_dn": workstation_dn,
        "asset": params.asset,
    }
    return Build(
        tuple(tasks),
        summary=f"local administrator rights for {account.name} in {company.code}: "
        f"member of {elevated}, no longer of {restricted}",
        record={**grants.grant_record(grants.GRANT, elevated, account.name), NAME: details},
    )


def revoke_build(env: TicketEnv, params: RevokeParams, found: Found) -> Build:
    company = env.company(params.company, ("company",))
    account = _user_of(env, found, params, company)
    elevated, restricted = elevated_group(company.code), restricted_group(company.code)
    _require_elevated_group(env, found, elevated)
    require_restricted(env, found, restricted, ("company",))
    grant = _grant_in_force(env, elevated, account)
    if grant is None and not _in_group(found, account, elevated):
        raise env.error(
            ("user",),
            f"user '{account.name}' is not elevated in {company.code}: not a member of "
            f"{elevated}, and no elevation ticket for it is in force",
        )
    tasks = (
        *membership_tasks(env, account, [elevated], "remove", ("user",), "elevation revoked"),
        *membership_tasks(
            env, account, [restricted], "add", ("user",), "restricted class (二.1.a)"
        ),
    )
    details = {
        "company": company.code,
        "user_dn": account.dn,
        "elevated_group": elevated,
        "restricted_group": restricted,
        "reason": params.reason,
        "ends": grant.ticket if grant else None,
    }
    return Build(
        tuple(tasks),
        summary=f"end local administrator rights of {account.name} in {company.code}: "
        f"out of {elevated}, back in {restricted}",
        record={**grants.grant_record(grants.REVOKE, elevated, account.name), REVOKE_NAME: details},
    )


def scope(env: TicketEnv, params: _Params, found: Found) -> Scope:
    """The company's role holders; the department head may be the user's manager."""
    return subject_scope(env, found, (params.company,), params.user)


TYPE = TicketType(NAME, Params, needs, build, scope=scope)
REVOKE = TicketType(REVOKE_NAME, RevokeParams, revoke_needs, revoke_build, scope=scope)
