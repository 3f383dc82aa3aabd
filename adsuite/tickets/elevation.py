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
      workstation: HQ-PC-0153         # required: the one computer the rights hold on
      asset: FA-2026-0153             # optional; its fixed-asset number, recorded

The rights hold on that one workstation alone (二.1.b "本机"). Each workstation where
someone may be elevated is declared in ``elevated_workstations`` of
``playbooks/workstation_lockdown.yml``, which gives it a domain-local group
``<CODE>-LA-<COMPUTER>`` (:func:`workstation_group`) and a GPO whose Restricted Groups
put that group in the local Administrators, filtered ("Apply Group Policy") to that
computer account only. The ticket adds the user to that group — and to
``<CODE>-Elevated``, the class group that no longer grants any right but says which
class the user is in (二.1.a/b exclude each other) — and takes them out of
``<CODE>-Restricted``: staying there would keep the "Restricted workstation" GPO's
user half on them (no Control Panel, registry editor or command prompt), withholding
the very rights the two approvals granted. The groups must exist; a ticket never
creates a group or a GPO. The workstation must be a computer of the company; the
asset number is recorded. The requester is recorded as given; the rules do not
require it to be the user.

The run records a grant for both groups (:mod:`adsuite.resources.membership.tickets`), so
the playbook's ``ticketed_membership`` tasks keep this member and call every other
member of either group drift: a user in ``<CODE>-LA-<COMPUTER>`` without an elevation
ticket for that computer is a finding naming the user and the group, hence the
machine. A user whose elevation for this workstation is in force is refused (nothing
to approve); one who is a member without a ticket may be given one, which makes the
membership approved. Another workstation for an elevated user is a new ticket.

    type: elevation_revoke
    parameters: {company: HQ, user: zhang.wei, reason: project finished}   # reason optional

takes the user out of ``<CODE>-Elevated`` and of every ``<CODE>-LA-*`` workstation
group they are in or hold a grant for, back into ``<CODE>-Restricted``, the default
class (二.1.a), and ends those grants. Taking rights away lowers privilege, so
approvals.yml asks for one approval, not two — by the department head, the general
manager or the IT head, never the requester — so that, like every change, it has an
approval on record (四.5). It is refused for a user who is neither a member nor
elevated by a ticket in force.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.journal.paths import default_journal_path
from adsuite.resources.accounts.computer import check_computer_name, sam_account_name
from adsuite.resources.membership import tickets as grants
from adsuite.resources.membership.tickets_io import grants_in_force
from adsuite.resources.naming import check_sam_account_name
from adsuite.runtime.inventory import Company
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


def workstation_group(code: str, computer: str) -> str:
    """The group whose members are local administrators of *computer* alone."""
    return f"{code}-LA-{computer}"


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
    workstation: str = Field(
        description="the one computer of the company the rights hold on (本机), "
        "declared in elevated_workstations"
    )
    asset: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the workstation's fixed-asset number, recorded",
    )

    @field_validator("workstation")
    @classmethod
    def _computer_name(cls, value: str) -> str:
        return check_computer_name(value)


class RevokeParams(_Params):
    reason: str | None = Field(
        default=None, min_length=1, max_length=1024, description="why the elevation ends (recorded)"
    )


def needs(env: TicketEnv, params: Params) -> Needs:
    code = env.company(params.company, ("company",)).code
    names = (
        params.user,
        elevated_group(code),
        restricted_group(code),
        workstation_group(code, params.workstation),
        sam_account_name(params.workstation),
    )
    return Needs(names=names, groups_of=(params.user,))


def revoke_needs(env: TicketEnv, params: RevokeParams) -> Needs:
    code = env.company(params.company, ("company",)).code
    granted = _granted_workstation_groups(env, params.user, code)
    names = (params.user, elevated_group(code), restricted_group(code), *granted)
    return Needs(names=names, groups_of=(params.user,))


def _granted_workstation_groups(env: TicketEnv, user: str, code: str) -> list[str]:
    """The (lower) ``<CODE>-LA-*`` groups *user* holds an elevation grant in force for."""
    prefix = workstation_group(code, "").lower()
    journal = env.journal_path or default_journal_path(env.inventory.journal)
    return [
        group
        for group, members in grants_in_force(journal, NAME).items()
        if user.lower() in members and group.startswith(prefix)
    ]


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


def _require_workstation_group(env: TicketEnv, found: Found, group: str, computer: str) -> None:
    if found.account(group) is None:
        raise env.error(
            ("workstation",),
            f"workstation '{computer}' has no local administrators group '{group}': "
            "declare it in elevated_workstations of playbooks/workstation_lockdown.yml "
            f"({CLAUSE}) and apply it first",
        )
    env.require(found, group, "group", ("workstation",))


def _in_group(found: Found, account: Account, group: str) -> bool:
    groups = found.groups_of.get(account.name.lower(), ())
    return any(g.name.lower() == group.lower() for g in groups)


def _grant_in_force(env: TicketEnv, group: str, account: Account) -> grants.Grant | None:
    journal = env.journal_path or default_journal_path(env.inventory.journal)
    return grants_in_force(journal, NAME).get(group.lower(), {}).get(account.name.lower())


def _workstation(env: TicketEnv, found: Found, params: Params, company: Company) -> str:
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
    local = workstation_group(company.code, params.workstation)
    _require_workstation_group(env, found, local, params.workstation)
    grant = _grant_in_force(env, local, account)
    if grant is not None and _in_group(found, account, local):
        raise env.error(
            ("user",),
            f"user '{account.name}' is already in {local} by {grant.words()}; nothing to approve",
        )
    why = f"elevation on {params.workstation} ({CLAUSE})"
    tasks = (
        *membership_tasks(env, account, [elevated, local], "add", ("user",), why),
        *membership_tasks(
            env, account, [restricted], "remove", ("user",), "leaves the restricted class"
        ),
    )
    details: dict[str, Any] = {
        "company": company.code,
        "user_dn": account.dn,
        "elevated_group": elevated,
        "restricted_group": restricted,
        "workstation_group": local,
        "reason": params.reason,
        "workstation": params.workstation,
        "workstation_dn": workstation_dn,
        "asset": params.asset,
    }
    return Build(
        tuple(tasks),
        summary=f"local administrator rights for {account.name} on {params.workstation} "
        f"alone: member of {local} and {elevated}, no longer of {restricted}",
        record={
            **grants.grants_record(grants.GRANT, (elevated, local), account.name),
            NAME: details,
        },
    )


def _workstation_groups(env: TicketEnv, found: Found, account: Account, code: str) -> list[str]:
    """The ``<CODE>-LA-*`` groups *account* is in or holds an elevation grant for."""
    prefix = workstation_group(code, "").lower()
    joined = [g.name for g in found.groups_of.get(account.name.lower(), ())]
    granted = _granted_workstation_groups(env, account.name, code)
    names: dict[str, str] = {}
    for name in [*joined, *granted]:
        if name.lower().startswith(prefix):
            known = found.account(name)  # the directory's spelling, when it still exists
            names.setdefault(name.lower(), known.name if known else name)
    return sorted(names.values(), key=str.lower)


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
    local = _workstation_groups(env, found, account, company.code)
    tasks = (
        *membership_tasks(
            env, account, [elevated, *local], "remove", ("user",), "elevation revoked"
        ),
        *membership_tasks(
            env, account, [restricted], "add", ("user",), "restricted class (二.1.a)"
        ),
    )
    details = {
        "company": company.code,
        "user_dn": account.dn,
        "elevated_group": elevated,
        "workstation_groups": local,
        "restricted_group": restricted,
        "reason": params.reason,
        "ends": grant.ticket if grant else None,
    }
    return Build(
        tuple(tasks),
        summary=f"end local administrator rights of {account.name} in {company.code}: "
        f"out of {', '.join([elevated, *local])}, back in {restricted}",
        record={
            **grants.grants_record(grants.REVOKE, (elevated, *local), account.name),
            REVOKE_NAME: details,
        },
    )


def scope(env: TicketEnv, params: _Params, found: Found) -> Scope:
    """The company's role holders; the department head may be the user's manager."""
    return subject_scope(env, found, (params.company,), params.user)


TYPE = TicketType(NAME, Params, needs, build, scope=scope)
REVOKE = TicketType(REVOKE_NAME, RevokeParams, revoke_needs, revoke_build, scope=scope)
