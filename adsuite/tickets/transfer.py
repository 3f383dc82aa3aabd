"""``transfer``: a member of staff moves to another company of the group (一.1).

    type: transfer
    confirmations:
      asset_return: {confirmed_by: li.assets, reference: FA-2026-0301}
    parameters:
      user: zhang.wei
      to_company: HANTONG
      restricted_group: HANTONG-Restricted   # optional; default `<CODE>-Restricted`

The regulations let a person apply at the new company only after returning the old
company's assets, so the approval rules require the asset-return confirmation. The
old company is the one whose OU holds the account. The account moves to the new
company's Users OU and its ``company`` attribute follows; its memberships of the old
company's groups (those named ``<OLDCODE>-…``) are removed and it joins the new
company's restricted group. Group changes run before the move, while the account
still has the DN the plan read.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.resources.naming import check_sam_account_name
from adsuite.runtime.inventory import Company
from adsuite.tickets.base import (
    Account,
    Build,
    Found,
    Needs,
    Scope,
    TicketEnv,
    TicketType,
    membership_tasks,
    subject_scope,
)
from adsuite.tickets.new_employee import require_restricted, restricted_group

log = logging.getLogger(__name__)

NAME = "transfer"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(description="the account that moves (its OU names the old company)")
    to_company: str = Field(description="the new company's code")
    restricted_group: str | None = Field(
        default=None,
        min_length=1,
        description="the new restricted group to join; default `<CODE>-Restricted`",
    )

    @field_validator("user", "restricted_group")
    @classmethod
    def _account_name(cls, value: str | None) -> str | None:
        return None if value is None else check_sam_account_name(value)


def _restricted(params: Params) -> tuple[str, tuple[str, ...]]:
    if params.restricted_group:
        return params.restricted_group, ("restricted_group",)
    return restricted_group(params.to_company), ("to_company",)


def needs(env: TicketEnv, params: Params) -> Needs:
    company = env.company(params.to_company, ("to_company",))
    return Needs(
        names=(params.user, _restricted(params)[0]),
        ous=(env.ou_dn(f"{company.code}/Users"),),
        groups_of=(params.user,),
    )


def _old_company(env: TicketEnv, account: Account, to: Company) -> Company:
    old = env.company_of(account.dn)
    if old is None:
        raise env.error(
            ("user",),
            f"user '{account.name}' is in no company's OU ({account.dn}); "
            "cannot tell which company it leaves",
        )
    if old.code == to.code:
        raise env.error(("to_company",), f"user '{account.name}' is already in company {to.code}")
    return old


def build(env: TicketEnv, params: Params, found: Found) -> Build:
    to = env.company(params.to_company, ("to_company",))
    account = env.require(found, params.user, "user", ("user",))
    old = _old_company(env, account, to)
    target_ou = f"{to.code}/Users"
    env.require_ou(found, env.ou_dn(target_ou), ("to_company",), f"the Users OU of {to.code}")
    group, group_path = _restricted(params)
    require_restricted(env, found, group, group_path)
    prefix = f"{old.code}-".lower()
    current = found.groups_of.get(account.name.lower(), ())
    leaving = [g.name for g in current if g.name.lower().startswith(prefix)]
    joining = [] if any(g.name.lower() == group.lower() for g in current) else [group]
    user: dict[str, Any] = {"name": account.name, "ou": target_ou, "company": to.name}
    user["enabled"] = None  # a transfer never enables or disables
    if account.upn:
        user["upn"] = account.upn
    tasks = (
        *membership_tasks(env, account, leaving, "remove", ("user",), f"{old.code} groups"),
        *membership_tasks(env, account, joining, "add", group_path, "restricted class"),
        env.task("user", user, ("to_company",), f"transfer to {to.code}"),
    )
    return Build(
        tuple(tasks),
        summary=f"move {account.name} from {old.code} to {to.code}",
        record={
            "from_company": old.code,
            "to_company": to.code,
            "from_dn": account.dn,
            "groups_removed": leaving,
            "groups_added": joining,
        },
        memberships_first=True,
    )


def scope(env: TicketEnv, params: Params, found: Found) -> Scope:
    """The role holders of the new company or of the one the user leaves."""
    return subject_scope(env, found, (params.to_company,), params.user)


TYPE = TicketType(NAME, Params, needs, build, scope=scope)
