"""``password_reset``: a new password for an existing user (五.9, 五.11).

    type: password_reset
    confirmations:
      written_request: OA-2026-1127-003          # the form or mail that asked for it
      identity_verification:
        method: in person with a staff card
        verified_by: hq.it.head
    parameters:
      user: zhang.wei
      unlock: true          # also clear a lockout (default true)

The approval rules require the written request and the identity check (五.9: a
phone call is never enough). The new password is generated, set, and delivered out of
band like a new employee's; the user must change it at next logon (五.11).
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.resources.naming import check_sam_account_name
from adsuite.tickets.base import (
    GENERATED,
    Build,
    Found,
    Needs,
    Scope,
    TicketEnv,
    TicketType,
    subject_scope,
)

log = logging.getLogger(__name__)

NAME = "password_reset"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(description="the account whose password is reset")
    unlock: bool = Field(default=True, description="also clear a lockout")

    @field_validator("user")
    @classmethod
    def _account_name(cls, value: str) -> str:
        return check_sam_account_name(value)


def needs(env: TicketEnv, params: Params) -> Needs:
    return Needs(names=(params.user,))


def build(env: TicketEnv, params: Params, found: Found) -> Build:
    account = env.require(found, params.user, "user", ("user",))
    args = {
        "user": account.name,
        "password": {"credential": GENERATED},
        "must_change_password": True,
        "unlock": params.unlock,
    }
    task = env.task("password_reset", args, ("user",), f"password reset for {account.name}")
    return Build(
        (task,),
        summary=f"new password for {account.name}, to be changed at next logon",
        passwords={GENERATED: account.name},
    )


def scope(env: TicketEnv, params: Params, found: Found) -> Scope:
    return subject_scope(env, found, (), params.user)


TYPE = TicketType(NAME, Params, needs, build, sets_password=True, scope=scope)
