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
from adsuite.resources import protection
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Expect,
    Kind,
    LdapWrite,
    PlanContext,
    attribute_diff,
    deferred_update,
    first_error,
)

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


def view(entry: Entry, parent: Entry | None) -> dict[str, Any]:
    """Protected means both ACEs are in place: on the OU and on its parent."""
    own, above = entry.raw(SD), parent.raw(SD) if parent else ()
    protected = bool(own and above) and protection.is_protected(own[0])
    protected = protected and protection.parent_denies_child_delete(above[0])
    return {**attrs.observe(entry, TABLE), "protected": protected}


def plan(desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
    read = [*ctx.entries(all_ous(ctx)), *ctx.entries(domain_root(ctx))]
    found = {dnlib.key(e.dn): e for e in read}
    ctx.deleting |= {dnlib.key(_dn(d, ctx)) for d in desired if _spec(d).state == "absent"}
    deleting = ctx.deleting
    creating = {dnlib.key(_dn(d, ctx)) for d in desired if _spec(d).state == "present"}
    creating.add(dnlib.key(ctx.base_dn))  # the domain itself is there (whatever facts say)
    changes: list[Change] = []
    for item in desired:
        dn = _dn(item, ctx)
        entry = found.get(dnlib.key(dn))
        parent = found.get(dnlib.key(dnlib.parent(dn)))
        if _spec(item).state == "absent":
            changes += _delete(item, dn, entry, parent, ctx, deleting)
        elif entry is None:
            _require_parent(item, dn, parent is not None or dnlib.key(dnlib.parent(dn)) in creating)
            changes += _create(item, dn, ctx)
        else:
            changes += _update(item, entry, parent, ctx)
    return changes


def _require_parent(item: Desired, dn: str, exists: bool) -> None:
    """The DC would refuse the add ('parent does not exist'); refuse it while planning."""
    if not exists:
        path = "/".join(
            s.replace("/", "\\/") for s in dnlib.ou_path_segments(_spec(item).path)[:-1]
        )
        raise first_error(item, f"parent OU '{path}' does not exist and is not declared")


def _protect_writes(dn: str) -> list[LdapWrite]:
    flags = protection.DACL_ONLY
    return [
        LdapWrite("sd_edit", dn, sd_flags=flags, sd_edit=protection.protect),
        LdapWrite(
            "sd_edit", dnlib.parent(dn), sd_flags=flags, sd_edit=protection.deny_child_delete
        ),
    ]


def _dn(item: Desired, ctx: PlanContext) -> str:
    return dnlib.ou_path_to_dn(_spec(item).path, ctx.base_dn)


def _want(item: Desired, ctx: PlanContext) -> dict[str, Any]:
    spec = _spec(item)
    managed_by = ctx.resolve(spec.managed_by, item) if spec.managed_by else spec.managed_by
    return {"description": spec.description, "managed_by": managed_by, "protected": spec.protected}


def _create(item: Desired, dn: str, ctx: PlanContext) -> list[Change]:
    want = _want(item, ctx)
    later = ctx.deferred(want, ["managed_by"])
    want = {k: v for k, v in want.items() if k not in later}
    add = {
        "objectClass": ["organizationalUnit"],
        "ou": [dnlib.rdn_value(dn)],
        **attrs.add_attributes(want, TABLE),
    }
    writes = [LdapWrite("add", dn, attributes=add)]
    if want["protected"]:
        writes += _protect_writes(dn)
    after = {k: v for k, v in want.items() if v is not None}
    create = Change(
        NAME, Action.CREATE, dn, None, after, item.location, tuple(writes), Expect(False)
    )
    if not later:
        return [create]
    return [create, deferred_update(NAME, dn, later, {"managed_by": "managedBy"}, item)]


def _update(item: Desired, entry: Entry, parent: Entry | None, ctx: PlanContext) -> list[Change]:
    before, after = attribute_diff(view(entry, parent), _want(item, ctx))
    if not after:
        return []
    writes = []
    table_changes = attrs.modify(after, TABLE)
    if table_changes:
        writes.append(LdapWrite("modify", entry.dn, changes=table_changes))
    if after.get("protected"):
        writes += _protect_writes(entry.dn)
    elif "protected" in after:
        writes.append(
            LdapWrite(
                "sd_edit", entry.dn, sd_flags=protection.DACL_ONLY, sd_edit=protection.unprotect
            )
        )
    raw = attrs.raw_of(entry, TABLE, list(after))
    if "protected" in after:
        raw[SD] = entry.raw(SD)
    expect = Expect(exists=True, raw=raw, sd_flags=protection.DACL_ONLY)
    return [
        Change(
            NAME,
            Action.UPDATE,
            entry.dn,
            before,
            after,
            item.location,
            tuple(writes),
            expect,
            1 if ctx.deferred(after, ["managed_by"]) else 0,
        )
    ]


def _delete(
    item: Desired,
    dn: str,
    entry: Entry | None,
    parent: Entry | None,
    ctx: PlanContext,
    deleting: set[str],
) -> list[Change]:
    """Delete an empty OU; children this run also deletes do not count."""
    if entry is None:
        return []
    if any(dnlib.key(e.dn) not in deleting for e in ctx.entries(children(dn))):
        raise first_error(
            item, f"OU {dn} is not empty; adsuite never deletes an OU that holds objects"
        )
    before = view(entry, parent)
    writes = []
    if entry.raw(SD) and protection.is_protected(entry.raw(SD)[0]):
        writes.append(
            LdapWrite(
                "sd_edit", entry.dn, sd_flags=protection.DACL_ONLY, sd_edit=protection.unprotect
            )
        )
    writes.append(LdapWrite("delete", entry.dn))
    expect = Expect(exists=True, raw={"objectGUID": entry.raw("objectGUID")})
    return [
        Change(NAME, Action.DELETE, entry.dn, before, None, item.location, tuple(writes), expect)
    ]


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
)
