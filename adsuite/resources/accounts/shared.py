"""What groups and users share: found by sAMAccountName, placed in an OU, moved when
found elsewhere, created, updated attribute by attribute, deleted on ``state: absent``.

Facts are read in bulk: one paged search per chunk of names (an OR filter), never
one round trip per object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, cast

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query, by_names
from adsuite.resources import attributes as attrs
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Expect,
    LdapWrite,
    PlanContext,
    Recipe,
    attribute_diff,
    deferred_update,
)


class Named(Protocol):
    """What every account spec has (user, group, computer)."""

    name: str
    ou: str
    state: str


def _named(item: Desired) -> Named:
    return cast(Named, item.spec)


ACCOUNTDISABLE = 0x2  # userAccountControl
Creates = Callable[[Any, str], dict[str, Any]]  # (spec, realm) -> a new account's own attributes
Shapes = Callable[[Any, str, dict[str, Any]], dict[str, Any]]  # (spec, realm, after) -> after


def enabled_view(entry: Entry) -> dict[str, Any]:
    """``enabled`` as users and computers show it: the ACCOUNTDISABLE bit, inverted."""
    uac = entry.integer("userAccountControl") or 0
    return {"enabled": not uac & ACCOUNTDISABLE}


def enable_writes(default_uac: int) -> Callable[[Entry, Mapping[str, Any], str], list[LdapWrite]]:
    """A ``write_extra`` that flips ACCOUNTDISABLE, keeping every other bit as read."""

    def writes(entry: Entry, after: Mapping[str, Any], dn: str) -> list[LdapWrite]:
        if "enabled" not in after:
            return []
        uac = entry.integer("userAccountControl") or default_uac
        uac = uac & ~ACCOUNTDISABLE if after["enabled"] else uac | ACCOUNTDISABLE
        return [LdapWrite("modify", dn, changes={"userAccountControl": ("replace", [str(uac)])})]

    return writes


@dataclass(frozen=True)
class Want:
    name: str
    ou: str
    present: bool
    values: Mapping[str, Any]


@dataclass(frozen=True)
class AccountKind:
    name: str
    object_class: str
    table: Sequence[attrs.Attr]
    extra_attributes: Sequence[str] = ()
    view_extra: Callable[[Entry], dict[str, Any]] = field(default=lambda entry: {})
    write_extra: Callable[[Entry, Mapping[str, Any], str], list[LdapWrite]] = field(
        default=lambda entry, after, dn: []
    )
    dn_fields: Sequence[str] = ()
    cn_of: Callable[[str], str] = field(default=lambda name: name)  # computers: no '$'
    sam_of: Callable[[str], str] = field(default=lambda name: name)  # computers: name + '$'

    def task_queries(self, desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
        """The kind's ``queries`` hook: its tasks' accounts, by sAMAccountName."""
        return self.queries([self.sam_of(_named(d).name) for d in desired], ctx)

    def task_declares(self, desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
        """The kind's ``declares`` hook: the DN each present account will have."""
        present = [s for s in map(_named, desired) if s.state == "present"]
        return self.declares([(self.sam_of(s.name), s.ou) for s in present], ctx)

    def attributes(self) -> tuple[str, ...]:
        names = ["sAMAccountName", "objectGUID", *(a.ldap for a in self.table)]
        return tuple(dict.fromkeys([*names, *self.extra_attributes]))

    def queries(self, names: Sequence[str], ctx: PlanContext) -> list[Query]:
        return by_names(ctx.base_dn, names, self.attributes(), f"(objectClass={self.object_class})")

    def declares(self, pairs: Sequence[tuple[str, str]], ctx: PlanContext) -> dict[str, str]:
        return {name.lower(): _dn(self.cn_of(name), ou, ctx) for name, ou in pairs}

    def view(self, entry: Entry) -> dict[str, Any]:
        return {**attrs.observe(entry, self.table), **self.view_extra(entry)}

    def found(self, names: Sequence[str], ctx: PlanContext) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for query in self.queries(names, ctx):
            for entry in ctx.entries(query):
                sam = entry.text("sAMAccountName")
                if sam:
                    out[sam.lower()] = entry
        return out

    def plan(
        self,
        desired: Sequence[Desired],
        wants: Iterable[Want],
        ctx: PlanContext,
        create_attributes: Creates,
        names: Sequence[str] | None = None,
        shape: Shapes | None = None,
    ) -> list[Change]:
        """Given the *names* the wants carry, *wants* may be a generator: one Want and its
        values alive at a time, not 160,000 dicts of every field at once.

        A create's add is a :class:`Recipe`: ``create_attributes(spec, realm)`` and the
        table's fields of the spec, built when the add is sent or shown. ``shape(spec,
        realm, after)`` gives a create's after-image its last words (a user's UPN)."""
        if names is None:
            wants = list(wants)
            names = [w.name for w in wants]
        found = self.found(names, ctx)
        build = partial(_add, self, create_attributes, ctx.realm)  # one for all the creates
        changes: list[Change] = []
        for item, want in zip(desired, wants, strict=True):
            entry = found.get(want.name.lower())
            if not want.present:
                changes += self._delete(item, entry)
                ctx.deleting |= {dnlib.key(entry.dn)} if entry else set()
            elif entry is None:
                changes += self._create(item, want, ctx, build, shape)
            else:
                changes += self._update(item, want, entry, ctx)
        return changes

    def _create(
        self,
        item: Desired,
        want: Want,
        ctx: PlanContext,
        build: Callable[..., dict[str, Any]],
        shape: Shapes | None,
    ) -> list[Change]:
        dn = _dn(self.cn_of(want.name), want.ou, ctx)
        if ctx.names.get(want.name.lower()) == dn:
            dn = ctx.names[want.name.lower()]  # the string declares made: one copy, not two
        later = ctx.deferred(want.values, self.dn_fields)
        values = {k: v for k, v in want.values.items() if k not in later}
        dns = tuple(values.get(f) for f in self.dn_fields)
        add = Recipe(build, item.spec, dns) if any(dns) else Recipe(build, item.spec)
        after = {"ou": want.ou, **{k: v for k, v in values.items() if v is not None}}
        if shape is not None:
            after = shape(item.spec, ctx.realm, after)
        write = LdapWrite("add", dn, attributes=add)
        created = Change(
            self.name, Action.CREATE, dn, None, after, item.location, (write,), _ABSENT
        )
        if not later:
            return [created]
        ldap_names = {a.field: a.ldap for a in self.table}
        return [created, deferred_update(self.name, dn, later, ldap_names, item)]

    def _update(self, item: Desired, want: Want, entry: Entry, ctx: PlanContext) -> list[Change]:
        before, after = attribute_diff(self.view(entry), want.values)
        writes: list[LdapWrite] = []
        target_parent = dnlib.ou_path_to_dn(want.ou, ctx.base_dn)
        dn = entry.dn
        if dnlib.key(dnlib.parent(entry.dn)) != dnlib.key(target_parent):
            before["ou"], after["ou"] = dnlib.parent(entry.dn), target_parent
            writes.append(LdapWrite("move", entry.dn, new_parent=target_parent))
            dn = dnlib.join(dnlib.split(entry.dn)[:1] + dnlib.split(target_parent))
        if not after:
            return []
        modify = attrs.modify(after, self.table)
        if modify:
            writes.append(LdapWrite("modify", dn, changes=modify))
        writes += self.write_extra(entry, after, dn)
        raw = attrs.raw_of(entry, self.table, list(after))
        raw["objectGUID"] = entry.raw("objectGUID")
        extra_raw = {name: entry.raw(name) for name in self.extra_attributes}
        expect = Expect(True, raw={**raw, **extra_raw})
        phase = 1 if ctx.deferred(after, self.dn_fields) else 0
        return [
            Change(
                self.name,
                Action.UPDATE,
                entry.dn,
                before,
                after,
                item.location,
                tuple(writes),
                expect,
                phase,
            )
        ]

    def _delete(self, item: Desired, entry: Entry | None) -> list[Change]:
        if entry is None:
            return []
        expect = Expect(True, raw={"objectGUID": entry.raw("objectGUID")})
        write = LdapWrite("delete", entry.dn)
        return [
            Change(
                self.name,
                Action.DELETE,
                entry.dn,
                self.view(entry),
                None,
                item.location,
                (write,),
                expect,
            )
        ]


_ABSENT = Expect(False)  # frozen: every create shares one, not 3 empty dicts each


def _add(
    kind: AccountKind, create: Creates, realm: str, spec: Any, dns: tuple[str | None, ...] = ()
) -> dict[str, Any]:
    """A new account's LDAP add: the kind's own attributes, then the table's fields of the
    spec, its DN fields as resolved at plan time (None: set later, or not given)."""
    values = {a.field: getattr(spec, a.field) for a in kind.table}
    values.update(zip(kind.dn_fields, dns or (None,) * len(kind.dn_fields), strict=True))
    return {**create(spec, realm), **attrs.add_attributes(values, kind.table)}


def _dn(name: str, ou: str, ctx: PlanContext) -> str:
    return dnlib.child("CN", name, dnlib.ou_path_to_dn(ou, ctx.base_dn))


def restore_args(
    target: str, view: Mapping[str, Any] | None, base_dn: str, fields: Sequence[str]
) -> dict[str, Any]:
    """Spec arguments for a group or user as a journaled *view* shows it (None: absent).

    The account is named by its CN, which is its name when adsuite created it.
    """
    name = dnlib.rdn_value(target)
    location = (view or {}).get("ou") or dnlib.parent(target)
    ou = location if not dnlib.looks_like_dn(location) else dnlib.ou_path_from_dn(location, base_dn)
    if view is None:
        return {"name": name, "ou": ou, "state": "absent"}
    values = {k: ("" if v is None else v) for k, v in view.items() if k in fields}
    return {"name": name, "ou": ou, **values}
