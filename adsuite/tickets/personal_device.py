"""``personal_device``: a personal computer admitted to the network (一.3).

    type: personal_device
    approvals:
      - {name: hq.gm, role: top_manager, time: "2026-11-26T16:00:00+08:00"}
    confirmations:
      it_security_check: {checked_by: hq.it.head, reference: SEC-2026-017}
    parameters:
      company: HQ
      name: PD-HQ-0042        # the computer name (at most 15 characters)
      asset: HQ-PD-0042       # the number it was given when recorded
      owner: zhang.wei        # an existing user

The approval rules require the top manager's approval and the IT security check. A
computer account is created in ```<CODE>/Personal Devices```, owned (``managedBy``) by
the user, with the asset number and the ticket in its description and the full
record — asset, ticket, owner, approvers, security check — in its notes (``info``).
"""

from __future__ import annotations

import logging
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.resources.accounts.computer import check_computer_name, sam_account_name
from adsuite.resources.naming import check_sam_account_name
from adsuite.tickets.base import Build, Found, Needs, Scope, TicketEnv, TicketType, subject_scope

log = logging.getLogger(__name__)

NAME = "personal_device"
OU = "Personal Devices"
_ASSET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company: str = Field(
        description="a company code; the computer goes to `<CODE>/Personal Devices`"
    )
    name: str = Field(description="the computer name (at most 15 characters, no $)")
    asset: str = Field(description="the asset number the device was recorded under")
    owner: str = Field(description="an existing user who owns the device (managedBy)")

    @field_validator("name")
    @classmethod
    def _computer_name(cls, value: str) -> str:
        return check_computer_name(value)

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str) -> str:
        return check_sam_account_name(value)

    @field_validator("asset")
    @classmethod
    def _asset(cls, value: str) -> str:
        if not _ASSET.match(value):
            raise ValueError(
                f"asset number {value!r} must be 1 to 64 letters, digits and . _ / - "
                "(like HQ-PD-0042)"
            )
        return value


def needs(env: TicketEnv, params: Params) -> Needs:
    company = env.company(params.company, ("company",))
    return Needs(
        names=(params.owner, sam_account_name(params.name)),
        ous=(env.ou_dn(f"{company.code}/{OU}"),),
    )


def build(env: TicketEnv, params: Params, found: Found) -> Build:
    company = env.company(params.company, ("company",))
    ou = f"{company.code}/{OU}"
    env.require_absent(found, sam_account_name(params.name), "computer", ("name",))
    env.require_ou(found, env.ou_dn(ou), ("company",), f"the {OU} OU of {company.code}")
    owner = env.require(found, params.owner, "user", ("owner",))
    computer = {
        "name": params.name,
        "ou": ou,
        "description": f"个人设备 Personal device, asset {params.asset}, ticket {env.id}",
        "info": _notes(env, params, owner.name),
        "managed_by": owner.name,
        "enabled": True,
    }
    task = env.task("computer", computer, ("name",), f"personal device {params.asset}")
    return Build(
        (task,),
        summary=f"personal device {params.name} (asset {params.asset}) of {owner.name} "
        f"in {company.code}",
        record={"company": company.code, "asset": params.asset, "owner": owner.name},
    )


def _notes(env: TicketEnv, params: Params, owner: str) -> str:
    ticket = env.ticket.ticket
    approvals = ", ".join(f"{a.name} ({a.role}, {a.time.isoformat()})" for a in ticket.approvals)
    lines = [
        f"asset: {params.asset}",
        f"ticket: {ticket.id}",
        f"owner: {owner}",
        f"approved by: {approvals or 'none'}",
    ]
    for name, value in ticket.confirmations.items():
        parts = value.items() if isinstance(value, dict) else [("", value)]
        shown = ", ".join(f"{k} {v}".strip() for k, v in parts)
        lines.append(f"{name.replace('_', ' ')}: {shown}")
    return "\n".join(lines)


def scope(env: TicketEnv, params: Params, found: Found) -> Scope:
    """The top manager of the company the device joins."""
    return subject_scope(env, found, (params.company,), params.owner)


TYPE = TicketType(NAME, Params, needs, build, scope=scope)
