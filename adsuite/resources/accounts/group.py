"""``group``: security and distribution groups by name, in an OU.

    - group:
        name: HQ-IT-Admins          # sAMAccountName and CN
        ou: HQ/Groups
        scope: global               # global | domain_local | universal
        category: security          # security | distribution
        description: 集团总部 IT 管理员
        managed_by: HQ-IT-Head

A group found under another OU is moved. ``state: absent`` deletes the group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry
from adsuite.resources import attributes as attrs
from adsuite.resources.accounts import shared as accounts
from adsuite.resources.base import Change, Desired, Kind, LdapWrite, PlanContext
from adsuite.resources.naming import check_sam_account_name

NAME = "group"
ORDER = 20
SCOPES = {"global": 0x2, "domain_local": 0x4, "universal": 0x8}
SECURITY = 0x80000000
TABLE = (
    attrs.Attr("description", "description"),
    attrs.Attr("managed_by", "managedBy", "dn"),
)


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    _lengths = attrs.schema_lengths(TABLE)

    name: str
    ou: str
    scope: Literal["global", "domain_local", "universal"] | None = "global"  # None: unmanaged
    category: Literal["security", "distribution"] | None = "security"
    description: str | None = None
    managed_by: str | None = None
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


def group_type(scope: str, category: str) -> int:
    """groupType as AD stores it: a signed 32-bit integer."""
    value = SCOPES[scope] | (SECURITY if category == "security" else 0)
    return value - (1 << 32) if value & SECURITY else value


def scope_and_category(entry: Entry) -> dict[str, Any]:
    """groupType in words, as the playbook says it."""
    value = (entry.integer("groupType") or 0) & 0xFFFFFFFF
    scope = next((name for name, bit in SCOPES.items() if value & bit), "builtin")
    return {"scope": scope, "category": "security" if value & SECURITY else "distribution"}


def group_type_writes(entry: Entry, after: Mapping[str, Any], dn: str) -> list[LdapWrite]:
    if "scope" not in after and "category" not in after:
        return []
    current = scope_and_category(entry)
    scope, category = (
        after.get("scope", current["scope"]),
        after.get("category", current["category"]),
    )
    value = str(group_type(scope, category))
    return [LdapWrite("modify", dn, changes={"groupType": ("replace", [value])})]


ACCOUNTS = accounts.AccountKind(
    NAME,
    "group",
    TABLE,
    extra_attributes=("groupType",),
    view_extra=scope_and_category,
    write_extra=group_type_writes,
    dn_fields=("managed_by",),
)


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def _want(item: Desired, ctx: PlanContext) -> accounts.Want:
    spec = _spec(item)
    values: dict[str, Any] = {
        "scope": spec.scope,
        "category": spec.category,
        "description": spec.description,
        "managed_by": ctx.resolve(spec.managed_by, item) if spec.managed_by else spec.managed_by,
    }
    return accounts.Want(spec.name, spec.ou, spec.state == "present", values)


def references(desired: Sequence[Desired]) -> set[str]:
    return {
        s.managed_by
        for s in map(_spec, desired)
        if s.managed_by and not dnlib.looks_like_dn(s.managed_by)
    }


def create_attributes(spec: Spec, realm: str) -> dict[str, Any]:
    """A new group's own attributes in its LDAP add, beside the table's (built when sent)."""
    value = group_type(spec.scope or "global", spec.category or "security")
    return {"objectClass": ["group"], "sAMAccountName": [spec.name], "groupType": [str(value)]}


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    wants = (_want(d, ctx) for d in desired)
    names = [_spec(d).name for d in desired]  # as _want names them
    return ACCOUNTS.plan(desired, wants, ctx, create_attributes, names)


def identity(spec: Spec) -> str:
    return spec.name.lower()


def restore(target: str, view: Mapping[str, Any] | None, base_dn: str) -> dict[str, Any]:
    fields = ("scope", "category", "description", "managed_by")
    args = accounts.restore_args(target, view, base_dn, fields)
    return {"scope": None, "category": None, **args} if view is not None else args


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
