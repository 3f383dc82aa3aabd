"""``leaver``: a member of staff leaves: disable, move to Disabled, remove every group.

    type: leaver
    parameters:
      user: zhang.wei

The company is the one whose OU holds the account; it moves to ```<CODE>/Disabled```.
Every direct group membership is removed (the primary group, Domain Users, cannot
be and stays). The memberships are kept on record three ways: each removal is a
change whose before-image in the journal names the account, the plan shows them
(``- member …`` under each group), and the run's record lists the groups by name.
Group changes run before the move, while the account still has the DN the plan read.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.resources.naming import check_sam_account_name
from adsuite.tickets.base import (
    Build,
    Found,
    Needs,
    Scope,
    TicketEnv,
    TicketType,
    membership_tasks,
    subject_scope,
)

log = logging.getLogger(__name__)

NAME = "leaver"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(
        description="the account that leaves: disabled, out of every group, to `<CODE>/Disabled`"
    )

    @field_validator("user")
    @classmethod
    def _account_name(cls, value: str) -> str:
        return check_sam_account_name(value)


def needs(env: TicketEnv, params: Params) -> Needs:
    disabled = tuple(env.ou_dn(f"{c.code}/Disabled") for c in env.inventory.companies)
    return Needs(names=(params.user,), ous=disabled, groups_of=(params.user,))


def build(env: TicketEnv, params: Params, found: Found) -> Build:
    account = env.require(found, params.user, "user", ("user",))
    company = env.company_of(account.dn)
    if company is None:
        raise env.error(
            ("user",),
            f"user '{account.name}' is in no company's OU ({account.dn}); "
            "cannot tell which company's Disabled OU it belongs in",
        )
    disabled_ou = f"{company.code}/Disabled"
    env.require_ou(found, env.ou_dn(disabled_ou), ("user",), f"the Disabled OU of {company.code}")
    groups = found.groups_of.get(account.name.lower(), ())
    user: dict[str, Any] = {"name": account.name, "ou": disabled_ou, "enabled": False}
    if account.upn:
        user["upn"] = account.upn
    names = [g.name for g in groups]
    tasks = (
        *membership_tasks(env, account, names, "remove", ("user",), "leaver's groups"),
        env.task("user", user, ("user",), f"leaver {account.name}"),
    )
    return Build(
        tuple(tasks),
        summary=f"disable {account.name} ({company.code}), move it to Disabled, "
        f"remove it from {len(groups)} group{'s' if len(groups) != 1 else ''}",
        record={
            "company": company.code,
            "from_dn": account.dn,
            "member_of": [{"name": g.name, "dn": g.dn} for g in groups],
        },
        memberships_first=True,
    )


def scope(env: TicketEnv, params: Params, found: Found) -> Scope:
    return subject_scope(env, found, (), params.user)


TYPE = TicketType(NAME, Params, needs, build, scope=scope)
