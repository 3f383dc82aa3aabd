"""``computer``: computer accounts by name, in an OU, with description, notes and owner.

    - computer:
        name: PD-HQ-0042            # the computer name; sAMAccountName is PD-HQ-0042$
        ou: HQ/Personal Devices
        description: 个人设备 asset HQ-PD-0042
        info: "asset: HQ-PD-0042"   # the Notes field (LDAP info)
        managed_by: zhang.wei       # the owner: a user or group name, or a DN
        enabled: true

A computer is found by its sAMAccountName (the name and ``$``) and moved when found
under another OU. It is created as a workstation trust account without a password;
joining the machine to the domain sets one. ``state: absent`` deletes it.

A domain controller's own account (SERVER_TRUST_ACCOUNT) is never managed: it must stay
in ``OU=Domain Controllers``, so declaring it is refused at plan time with one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from adsuite.errors import InputError
from adsuite.formats import dn as dnlib
from adsuite.resources import attributes as attrs
from adsuite.resources.accounts import shared as accounts
from adsuite.resources.base import Change, Desired, Kind, PlanContext
from adsuite.resources.naming import check_sam_account_name

NAME = "computer"
ORDER = 33  # after users: a computer's owner may be a user the same run creates
WORKSTATION_TRUST_ACCOUNT = 0x1000
SERVER_TRUST_ACCOUNT = 0x2000  # a domain controller's account
ACCOUNTDISABLE = accounts.ACCOUNTDISABLE
MAX_NAME = 15  # NetBIOS computer names
TABLE = (
    attrs.Attr("description", "description"),
    attrs.Attr("info", "info"),
    attrs.Attr("managed_by", "managedBy", "dn"),
)
FIELDS = [a.field for a in TABLE]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    _lengths = attrs.schema_lengths(TABLE)

    name: str
    ou: str
    description: str | None = None
    info: str | None = None
    managed_by: str | None = None
    enabled: bool | None = True  # None: not managed
    state: Literal["present", "absent"] = "present"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_computer_name(value)

    @field_validator("ou")
    @classmethod
    def _ou(cls, value: str) -> str:
        dnlib.ou_path_segments(value)
        return value


def check_computer_name(value: str) -> str:
    """Raise ValueError unless *value* is a usable computer (NetBIOS) name, without ``$``."""
    if value.endswith("$"):
        raise ValueError(f"bad computer name {value!r}: give it without the trailing '$'")
    check_sam_account_name(value)
    if len(value) > MAX_NAME:
        raise ValueError(f"bad computer name {value!r}: over {MAX_NAME} characters")
    if " " in value or "." in value:
        raise ValueError(f"bad computer name {value!r}: spaces and dots are not allowed")
    if value.isdigit():
        raise ValueError(f"bad computer name {value!r}: must not be only digits")
    return value


def sam_account_name(name: str) -> str:
    return f"{name}$"


ACCOUNTS = accounts.AccountKind(
    NAME,
    "computer",
    TABLE,
    extra_attributes=("userAccountControl",),
    view_extra=accounts.enabled_view,
    write_extra=accounts.enable_writes(WORKSTATION_TRUST_ACCOUNT),
    dn_fields=("managed_by",),
    cn_of=lambda sam: sam.removesuffix("$"),
    sam_of=sam_account_name,
)


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def _want(item: Desired, ctx: PlanContext) -> accounts.Want:
    spec = _spec(item)
    values: dict[str, Any] = {f: getattr(spec, f) for f in FIELDS}
    values["managed_by"] = ctx.resolve(spec.managed_by, item) if spec.managed_by else None
    values["enabled"] = spec.enabled
    return accounts.Want(sam_account_name(spec.name), spec.ou, spec.state == "present", values)


def references(desired: Sequence[Desired]) -> set[str]:
    return {
        s.managed_by
        for s in map(_spec, desired)
        if s.managed_by and not dnlib.looks_like_dn(s.managed_by)
    }


def create_attributes(spec: Spec, realm: str) -> dict[str, Any]:
    """A new computer's own attributes in its LDAP add, beside the table's (built when sent)."""
    disabled = ACCOUNTDISABLE if spec.enabled is False else 0
    return {
        "objectClass": ["computer"],
        "sAMAccountName": [sam_account_name(spec.name).upper()],
        "userAccountControl": [str(WORKSTATION_TRUST_ACCOUNT | disabled)],
    }


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    _refuse_domain_controllers(desired, ctx)
    return ACCOUNTS.plan(desired, [_want(d, ctx) for d in desired], ctx, create_attributes)


def _refuse_domain_controllers(desired: Sequence[Desired], ctx: PlanContext) -> None:
    found = ACCOUNTS.found([sam_account_name(_spec(d).name) for d in desired], ctx)
    for item in desired:
        entry = found.get(sam_account_name(_spec(item).name).lower())
        flags = entry.integer("userAccountControl") if entry else None
        if flags and flags & SERVER_TRUST_ACCOUNT:
            raise InputError(
                f"computer {_spec(item).name} is a domain controller's account: it stays in "
                "Domain Controllers and adsuite does not manage it (give the server its own name)",
                file=item.location.file,
                line=item.location.line,
            )


def identity(spec: Spec) -> str:
    return spec.name.lower()


def restore(target: str, view: Mapping[str, Any] | None, base_dn: str) -> dict[str, Any]:
    """Spec arguments that declare *target* as a journaled *view* shows it (for rollback)."""
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
