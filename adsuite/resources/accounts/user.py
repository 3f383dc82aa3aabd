"""``user``: user accounts by name, in an OU, with chosen attributes.

    - user:
        name: zhang.wei                 # sAMAccountName and CN
        ou: HQ/Users
        given_name: 伟
        surname: 张
        display_name: 张伟
        department: Finance
        enabled: true
        password: {credential: zhang-wei-initial}   # or {generate: true}; only at creation
        must_change_password: true                  # at creation: change at next logon

The password is set only when the account is created, and never shown. Without
``password`` an account created disabled gets none. One created enabled gets a generated
password nobody is shown: AD needs one (a Windows DC refuses an enabled account without
it, 0000052D), and an account nobody can log on to is the safe default; the plan line
says so, and a ``password_reset`` ticket hands a password out (changed at first logon).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from adsuite.formats import dn as dnlib
from adsuite.resources import attributes as attrs
from adsuite.resources.accounts import shared as accounts
from adsuite.resources.base import Change, Desired, Kind, PlanContext, SecretRef
from adsuite.resources.naming import check_sam_account_name

NAME = "user"
ORDER = 30
NORMAL_ACCOUNT = 0x200
ACCOUNTDISABLE = accounts.ACCOUNTDISABLE
TABLE = (
    attrs.Attr("upn", "userPrincipalName"),
    attrs.Attr("given_name", "givenName"),
    attrs.Attr("surname", "sn"),
    attrs.Attr("display_name", "displayName"),
    attrs.Attr("description", "description"),
    attrs.Attr("mail", "mail"),
    attrs.Attr("title", "title"),
    attrs.Attr("department", "department"),
    attrs.Attr("company", "company"),
    attrs.Attr("employee_id", "employeeID"),
    attrs.Attr("phone", "telephoneNumber"),
    attrs.Attr("office", "physicalDeliveryOfficeName"),
    attrs.Attr("manager", "manager", "dn"),
)
FIELDS = [a.field for a in TABLE]


class Password(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: str | None = None
    generate: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Password:
        if bool(self.credential) == self.generate:
            raise ValueError("password needs exactly one of 'credential: NAME' or 'generate: true'")
        return self


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    _lengths = attrs.schema_lengths(TABLE)

    name: str
    ou: str
    upn: str | None = None
    given_name: str | None = None
    surname: str | None = None
    display_name: str | None = None
    description: str | None = None
    mail: str | None = None
    title: str | None = None
    department: str | None = None
    company: str | None = None
    employee_id: str | None = None
    phone: str | None = None
    office: str | None = None
    manager: str | None = None
    enabled: bool | None = True  # None: not managed (an existing account keeps its state)
    password: Password | None = None  # None: generated only if AD needs one (an enabled account)
    must_change_password: bool = False
    state: Literal["present", "absent"] = "present"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_sam_account_name(value)

    @field_validator("ou")
    @classmethod
    def _ou(cls, value: str) -> str:
        dnlib.ou_path_segments(value)
        return value


ACCOUNTS = accounts.AccountKind(
    NAME,
    "user",
    TABLE,
    extra_attributes=("userAccountControl",),
    view_extra=accounts.enabled_view,
    write_extra=accounts.enable_writes(NORMAL_ACCOUNT),
    dn_fields=("manager",),
)


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def _want(item: Desired, ctx: PlanContext) -> accounts.Want:
    spec = _spec(item)
    values: dict[str, Any] = {f: getattr(spec, f) for f in FIELDS}
    values["upn"] = spec.upn  # None: not managed; a new account gets name@realm
    values["manager"] = ctx.resolve(spec.manager, item) if spec.manager else spec.manager
    values["enabled"] = spec.enabled
    return accounts.Want(spec.name, spec.ou, spec.state == "present", values)


def references(desired: Sequence[Desired]) -> set[str]:
    return {
        s.manager for s in map(_spec, desired) if s.manager and not dnlib.looks_like_dn(s.manager)
    }


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    wants = (_want(d, ctx) for d in desired)
    names = [_spec(d).name for d in desired]  # as _want names them
    return ACCOUNTS.plan(desired, wants, ctx, create_attributes, names, _created_after)


def create_attributes(spec: Spec, realm: str) -> dict[str, Any]:
    """A new user's own attributes in its LDAP add, beside the table's (built when sent)."""
    uac = NORMAL_ACCOUNT | (ACCOUNTDISABLE if spec.enabled is False else 0)
    out: dict[str, Any] = {
        "objectClass": ["user"],
        "sAMAccountName": [spec.name],
        "userAccountControl": [str(uac)],
    }
    password = initial_password(spec)
    if password is not None:
        out["unicodePwd"] = SecretRef(password.credential, password.generate)
    if spec.must_change_password:
        out["pwdLastSet"] = ["0"]
    if spec.upn is None:
        out["userPrincipalName"] = [default_upn(spec.name, realm)]
    return out


def initial_password(spec: Spec) -> Password | None:
    """The password a new account is created with: the declared one, else a generated one
    when the account is created enabled (AD needs it), else none."""
    if spec.password is not None or spec.enabled is False:
        return spec.password
    return Password(generate=True)


def _password_note(spec: Spec) -> str | None:
    if spec.password is None:
        needed = initial_password(spec) is not None
        return "(generated, not shown: an enabled account needs one)" if needed else None
    credential = spec.password.credential
    return f"(set from credential {credential})" if credential else "(set from generated)"


def default_upn(name: str, realm: str) -> str:
    return f"{name}@{realm.lower()}"


def _created_after(spec: Spec, realm: str, after: dict[str, Any]) -> dict[str, Any]:
    """A created account's after-image: its UPN (default or declared) and where the
    password came from, never the password."""
    upn = spec.upn or default_upn(spec.name, realm)
    shaped = {"ou": after.get("ou"), "upn": upn, **after}  # ou, upn first
    note = _password_note(spec)
    if note is not None:
        shaped["password"] = note
    if spec.must_change_password:
        shaped["must_change_password"] = True
    return shaped


def identity(spec: Spec) -> str:
    return spec.name.lower()


def restore(target: str, view: Mapping[str, Any] | None, base_dn: str) -> dict[str, Any]:
    args = accounts.restore_args(target, view, base_dn, [*FIELDS, "enabled"])
    return {"enabled": None, **args} if view is not None else args


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=ACCOUNTS.task_queries,
    declares=ACCOUNTS.task_declares,
    references=references,
    plan=plan,
    identity=identity,
    restore=restore,
    table=TABLE,
    recallable=True,
)
