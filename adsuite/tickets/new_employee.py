"""``new_employee``: an account for a new member of staff (五.11).

    type: new_employee
    parameters:
      company: HQ                  # a company of the inventory
      name: zhang.wei              # sAMAccountName; must not exist yet
      given_name: 伟
      surname: 张
      display_name: 张伟
      department: Finance
      manager: hq.fin.head         # optional; an existing user
      restricted_group: HQ-Restricted   # optional; the default is `<CODE>-Restricted`

The account is created enabled in ```<CODE>/Users``` with the company's name in
``company``, a generated initial password delivered out of band (never shown in the
plan, the journal or the logs) and "must change at next logon". It joins the
company's restricted group (二.1.a: strictly controlled is every user's default
class). That group must already exist — ``playbooks/workstation_lockdown.yml``
declares one per company — and is never created by a ticket.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.resources.naming import check_sam_account_name
from adsuite.tickets.base import (
    GENERATED,
    Build,
    Found,
    Needs,
    ParamPath,
    Scope,
    TicketEnv,
    TicketType,
)

log = logging.getLogger(__name__)

NAME = "new_employee"
OPTIONAL_FIELDS = (
    "given_name",
    "surname",
    "display_name",
    "description",
    "department",
    "title",
    "employee_id",
    "mail",
    "phone",
    "office",
)


def restricted_group(code: str) -> str:
    """The default name of a company's restricted (strictly controlled) group."""
    return f"{code}-Restricted"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company: str = Field(
        description="a company code of the inventory; the account goes to `<CODE>/Users`"
    )
    name: str = Field(description="the sAMAccountName (and CN); must not exist yet")
    given_name: str | None = Field(default=None, description="given name (`givenName`)")
    surname: str | None = Field(default=None, description="surname (`sn`)")
    display_name: str | None = Field(default=None, description="display name (`displayName`)")
    description: str | None = Field(default=None, description="description")
    department: str | None = Field(default=None, description="department")
    title: str | None = Field(default=None, description="job title (`title`)")
    employee_id: str | None = Field(default=None, description="employee number (`employeeID`)")
    mail: str | None = Field(default=None, description="e-mail address (`mail`)")
    phone: str | None = Field(default=None, description="telephone (`telephoneNumber`)")
    office: str | None = Field(default=None, description="office (`physicalDeliveryOfficeName`)")
    manager: str | None = Field(
        default=None, min_length=1, description="an existing user, the account's manager"
    )
    restricted_group: str | None = Field(
        default=None,
        min_length=1,
        description="the restricted group to join; default `<CODE>-Restricted`",
    )

    @field_validator("name", "manager", "restricted_group")
    @classmethod
    def _account_name(cls, value: str | None) -> str | None:
        return None if value is None else check_sam_account_name(value)


def _restricted(params: Params) -> tuple[str, tuple[str, ...]]:
    if params.restricted_group:
        return params.restricted_group, ("restricted_group",)
    return restricted_group(params.company), ("company",)


def require_restricted(env: TicketEnv, found: Found, group: str, path: ParamPath) -> None:
    """Refuse a restricted group that does not exist: a ticket never creates one."""
    if found.account(group) is None:
        raise env.error(
            path,
            f"restricted group '{group}' does not exist: playbooks/workstation_lockdown.yml "
            "declares each company's restricted group (二.1.a); apply it first, or name "
            "another with restricted_group",
        )
    env.require(found, group, "group", path)


def _user(params: Params, ou: str, company: str) -> dict[str, Any]:
    user: dict[str, Any] = {
        "name": params.name,
        "ou": ou,
        "company": company,
        "enabled": True,
        "password": {"credential": GENERATED},
        "must_change_password": True,
        **{f: getattr(params, f) for f in OPTIONAL_FIELDS if getattr(params, f) is not None},
    }
    if params.manager:
        user["manager"] = params.manager
    return user


def needs(env: TicketEnv, params: Params) -> Needs:
    company = env.company(params.company, ("company",))
    names = [params.name, _restricted(params)[0], *([params.manager] if params.manager else [])]
    return Needs(names=tuple(names), ous=(env.ou_dn(f"{company.code}/Users"),))


def build(env: TicketEnv, params: Params, found: Found) -> Build:
    company = env.company(params.company, ("company",))
    users_ou = f"{company.code}/Users"
    env.require_absent(found, params.name, "user", ("name",))
    env.require_ou(found, env.ou_dn(users_ou), ("company",), f"the Users OU of {company.code}")
    if params.manager:
        env.require(found, params.manager, "user", ("manager",))
    group, group_path = _restricted(params)
    require_restricted(env, found, group, group_path)
    tasks = (
        env.task("user", _user(params, users_ou, company.name), ("name",), "new employee"),
        env.task(
            "membership",
            {"group": group, "members": [params.name]},
            group_path,
            "restricted class by default (二.1.a)",
        ),
    )
    return Build(
        tasks,
        summary=f"new account {params.name} in {company.code}, member of {group}",
        record={"company": company.code, "restricted_group": group},
        passwords={GENERATED: params.name},
    )


def scope(env: TicketEnv, params: Params, found: Found) -> Scope:
    """The company's role holders; the department head may be the new user's manager."""
    manager = found.account(params.manager) if params.manager else None
    return Scope((params.company,), params.name, manager.dn if manager else None)


TYPE = TicketType(NAME, Params, needs, build, sets_password=True, scope=scope)
