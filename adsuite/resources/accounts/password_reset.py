"""``password_reset``: set a new password on an existing user, as a ticket asks (五.9).

    - password_reset:
        user: zhang.wei
        password: {credential: NAME}    # or {generate: true}
        must_change_password: true      # change at next logon (五.11)
        unlock: true                    # clear a lockout as well

This is an action, not a state: every plan of it sets the password again. It is
therefore only accepted from a ticket (``adsuite ticket apply``), whose written
request and identity check are verified first; a playbook that names it is refused.
The password is never shown: the plan says where it comes from. A reset is never
rolled back (``UNDO``): that would need the old password.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from adsuite.formats.ldap_query import Entry, Query, by_names
from adsuite.resources.accounts.user import Password
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Expect,
    Kind,
    PlanContext,
    SecretRef,
    first_error,
)
from adsuite.resources.naming import check_sam_account_name

NAME = "password_reset"
ORDER = 37  # after users and computers, before memberships
UNDO = (
    "the old password is not known to adsuite and must never be (it is not read, kept "
    "or journaled); if the reset was wrong, a new password_reset ticket sets another (五.9)"
)
TICKET_CONTEXT = "ticket"  # the validation context key a ticket sets: its id
ATTRIBUTES = ("sAMAccountName", "objectGUID", "pwdLastSet", "lockoutTime")
USERS_ONLY = "(objectClass=user)(!(objectClass=computer))"


@dataclass(frozen=True)
class PasswordWrite:
    """Replace a user's password (resolved at write time), then the logon flags."""

    dn: str
    password: SecretRef
    must_change: bool
    unlock: bool


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str
    password: Password = Field(default_factory=lambda: Password(generate=True))
    must_change_password: bool = True
    unlock: bool = True

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        return check_sam_account_name(value)

    @model_validator(mode="after")
    def _from_a_ticket(self, info: ValidationInfo) -> Spec:
        if not (info.context or {}).get(TICKET_CONTEXT):
            raise ValueError(
                "password_reset is carried out by a password_reset ticket "
                "(adsuite ticket apply), never by a playbook: 五.9 needs a written "
                "request and a verified identity first"
            )
        return self


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
    return by_names(ctx.base_dn, [_spec(d).user for d in desired], ATTRIBUTES, USERS_ONLY)


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return set()


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    found: dict[str, Entry] = {}
    for query in queries(desired, ctx):
        for entry in ctx.entries(query):
            found[(entry.text("sAMAccountName") or "").lower()] = entry
    changes = []
    for item in desired:
        spec = _spec(item)
        target = found.get(spec.user.lower())
        if target is None:
            raise first_error(item, f"no user named {spec.user!r} in the domain")
        changes.append(_reset(item, spec, target))
    return changes


def _reset(item: Desired, spec: Spec, entry: Entry) -> Change:
    locked = (entry.integer("lockoutTime") or 0) > 0
    unlock = spec.unlock and locked
    source = f"credential {spec.password.credential}" if spec.password.credential else "generated"
    before: dict[str, Any] = {"password": "(current, never shown)"}
    after: dict[str, Any] = {"password": f"(new, set from {source})"}
    if spec.must_change_password:
        before["must_change_password"] = entry.integer("pwdLastSet") == 0
        after["must_change_password"] = True
    if unlock:
        before["locked"], after["locked"] = True, False
    ref = SecretRef(spec.password.credential, spec.password.generate)
    write = PasswordWrite(entry.dn, ref, spec.must_change_password, unlock)
    expect = Expect(True, raw={"objectGUID": entry.raw("objectGUID")})
    return Change(NAME, Action.UPDATE, entry.dn, before, after, item.location, (write,), expect)


def identity(spec: Spec) -> str:
    return spec.user.lower()


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=queries,
    declares=declares,
    references=references,
    plan=plan,
    identity=identity,
    undo=UNDO,
)
