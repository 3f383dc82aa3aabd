"""``ou``: organizational units by path, with description, managedBy and protection.

    - ou:
        path: HQ/Users            # under the domain's base DN
        description: 集团总部用户
        managed_by: HQ-IT-Admins  # a group or user name, or a DN
        protected: true           # deny-delete ACE for Everyone (default true)

Removing an OU needs ``state: absent`` and ``allow_delete: true``; an OU that still
holds objects is never deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources import attributes as attrs
from adsuite.resources.base import Desired, Kind, LdapWrite, PlanContext, first_error
from adsuite.resources.directory import lifecycle as objects
from adsuite.resources.directory import protection

NAME = "ou"
ORDER = 10
TABLE = (
    attrs.Attr("description", "description"),
    attrs.Attr("managed_by", "managedBy", "dn"),
)
SD = "nTSecurityDescriptor"
DECLARED_PREFIX = "ou:"  # ctx.names key of an OU this run creates


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    _lengths = attrs.schema_lengths(TABLE)

    path: str
    description: str | None = None
    managed_by: str | None = None
    protected: bool | None = True  # None: not managed
    state: Literal["present", "absent"] = "present"
    allow_delete: bool = False

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        dnlib.ou_path_segments(value)
        return value

    @model_validator(mode="after")
    def _delete_needs_flag(self) -> Spec:
        if self.state == "absent" and not self.allow_delete:
            raise ValueError("removing an OU needs 'allow_delete: true' as well as 'state: absent'")
        return self


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def all_ous(ctx: PlanContext) -> Query:
    return Query(
        ctx.base_dn,
        "(objectClass=organizationalUnit)",
        ("ou", "description", "managedBy", SD, "objectGUID"),
        sd_flags=protection.DACL_ONLY,
    )


def domain_root(ctx: PlanContext) -> Query:
    return Query(ctx.base_dn, "(objectClass=*)", (SD,), "base", sd_flags=protection.DACL_ONLY)


def children(dn: str) -> Query:
    return Query(dn, "(objectClass=*)", (), scope="one")


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
    absent = [_dn(item, ctx) for item in desired if _spec(item).state == "absent"]
    return [all_ous(ctx), domain_root(ctx), *(children(dn) for dn in absent)]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    """OUs this run creates (``ou:<path>``, no account name has ':'), so that a GPO link
    may name an OU created in the same run."""
    found = {dnlib.key(e.dn) for e in ctx.entries(all_ous(ctx))}
    dns = {identity(s): _dn(d, ctx) for d in desired if (s := _spec(d)).state == "present"}
    return {DECLARED_PREFIX + p: dn for p, dn in dns.items() if dnlib.key(dn) not in found}


def references(desired: Sequence[Desired]) -> set[str]:
    return {
        s.managed_by
        for s in map(_spec, desired)
        if s.managed_by and not dnlib.looks_like_dn(s.managed_by)
    }


def view(entry: Entry, found: Mapping[str, Entry]) -> dict[str, Any]:
    """Protected means both ACEs are in place: on the OU and on its parent."""
    parent = found.get(dnlib.key(dnlib.parent(entry.dn)))
    own, above = entry.raw(SD), parent.raw(SD) if parent else ()
    protected = bool(own and above) and protection.is_protected(own[0])
    protected = protected and protection.parent_denies_child_delete(above[0])
    return {**attrs.observe(entry, TABLE), "protected": protected}


def _found(ctx: PlanContext) -> dict[str, Entry]:
    return objects.by_key([*ctx.entries(all_ous(ctx)), *ctx.entries(domain_root(ctx))])


def _require_parent(
    item: Desired, dn: str, want: object, found: Mapping[str, Entry], ctx: PlanContext
) -> None:
    """The DC would refuse the add ('parent does not exist'); refuse it while planning.
    The parent is there, or the domain itself, or an OU this run creates first."""
    parent = dnlib.key(dnlib.parent(dn))
    if parent in found or parent in ctx.pending or parent == dnlib.key(ctx.base_dn):
        return
    path = "/".join(s.replace("/", "\\/") for s in dnlib.ou_path_segments(_spec(item).path)[:-1])
    raise first_error(item, f"parent OU '{path}' does not exist and is not declared")


def _protect_writes(dn: str) -> list[LdapWrite]:
    flags = protection.DACL_ONLY
    return [
        LdapWrite("sd_edit", dn, sd_flags=flags, sd_edit=protection.protect),
        LdapWrite(
            "sd_edit", dnlib.parent(dn), sd_flags=flags, sd_edit=protection.deny_child_delete
        ),
    ]


def _unprotect_write(dn: str) -> LdapWrite:
    return LdapWrite("sd_edit", dn, sd_flags=protection.DACL_ONLY, sd_edit=protection.unprotect)


def _dn(item: Desired, ctx: PlanContext) -> str:
    return dnlib.ou_path_to_dn(_spec(item).path, ctx.base_dn)


def _want(item: Desired, ctx: PlanContext) -> dict[str, Any]:
    spec = _spec(item)
    managed_by = ctx.resolve(spec.managed_by, item) if spec.managed_by else spec.managed_by
    return {"description": spec.description, "managed_by": managed_by, "protected": spec.protected}


def _protection_writes(entry: Entry, after: Mapping[str, Any], found: object) -> list[LdapWrite]:
    if after.get("protected"):
        return _protect_writes(entry.dn)
    return [_unprotect_write(entry.dn)] if "protected" in after else []


def _guard(entry: Entry, after: Mapping[str, Any]) -> dict[str, tuple[bytes, ...]]:
    return {SD: entry.raw(SD)} if "protected" in after else {}


def _require_empty(item: Desired, entry: Entry, found: object, ctx: PlanContext) -> None:
    """Delete an empty OU only; children this run also deletes do not count."""
    if any(dnlib.key(e.dn) not in ctx.deleting for e in ctx.entries(children(entry.dn))):
        raise first_error(
            item, f"OU {entry.dn} is not empty; adsuite never deletes an OU that holds objects"
        )


def _unprotect_first(entry: Entry, found: object) -> list[LdapWrite]:
    protected = entry.raw(SD) and protection.is_protected(entry.raw(SD)[0])
    return [_unprotect_write(entry.dn)] if protected else []


OBJECTS = objects.ObjectKind(
    NAME,
    "organizationalUnit",
    TABLE,
    found=_found,
    dn=_dn,
    want=_want,
    present=lambda item: _spec(item).state == "present",
    view=view,
    rdn_attribute="ou",
    dn_fields=("managed_by",),
    check_create=_require_parent,
    check_delete=_require_empty,
    create_writes=lambda dn, want: _protect_writes(dn) if want["protected"] else [],
    update_writes=_protection_writes,
    delete_writes=_unprotect_first,
    guard=_guard,
    sd_flags=protection.DACL_ONLY,
)
plan = OBJECTS.plan


def identity(spec: Spec) -> str:
    return "/".join(dnlib.ou_path_segments(spec.path)).lower()


def restore(target: str, view: Mapping[str, Any] | None, base_dn: str) -> dict[str, Any]:
    """Spec arguments that declare *target* as *view* says (None: absent), for rollback."""
    path = dnlib.ou_path_from_dn(target, base_dn)
    if view is None:
        return {"path": path, "state": "absent", "allow_delete": True}
    fields = {k: v for k, v in view.items() if k in ("description", "managed_by", "protected")}
    clearable = ("description", "managed_by")
    cleared: dict[str, Any] = {k: "" for k in clearable if k in fields and fields[k] is None}
    return {"path": path, "protected": None, **fields, **cleared}


KIND = Kind(
    name=NAME,
    order=ORDER,
    spec=Spec,
    queries=queries,
    declares=declares,
    references=references,
    plan=plan,
    identity=identity,
    restore=restore,
    table=TABLE,
    recallable=True,
)
