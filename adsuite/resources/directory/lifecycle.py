"""One lifecycle for plain directory objects: a table, a DN rule, hooks for what is special.

A plain object kind (ou, site, site_link, subnet, pso) is an :class:`ObjectKind`: the
objectClass it adds, its attribute table (:mod:`adsuite.resources.attributes`), where a
task's object lives (``dn``), what the task wants (``want``), and hooks for the rest —
checks before a create or a delete, writes that go with a create, an update or a delete
(protection from accidental deletion, a site's child containers), one linked DN list
with ``mode: add | remove | exact`` (:mod:`adsuite.resources.directory.links`).
:meth:`ObjectKind.plan` then writes the lifecycle once: absent → delete, missing →
create (DN references to objects this run creates set in a phase-1 change), found →
update of the attributes that differ, each change with before, after and ``expect``.
Accounts (group, user, computer) share :mod:`adsuite.resources.accounts.shared` instead: they
are found by sAMAccountName, not by DN, and move between OUs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry
from adsuite.resources import attributes as attrs
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Expect,
    LdapWrite,
    PlanContext,
    attribute_diff,
    deferred_update,
)
from adsuite.resources.directory import links

Found = Mapping[str, Entry]  # DN key -> entry, everything the kind's bulk reads found
Writes = list[LdapWrite]


def _observe(table: Sequence[attrs.Attr]) -> Callable[[Entry, Found], dict[str, Any]]:
    return lambda entry, found: attrs.observe(entry, table)


def _no_check(
    item: Desired, dn: str, want: Mapping[str, Any], found: Found, ctx: PlanContext
) -> None:
    return None


def _guid(entry: Entry, after: Mapping[str, Any]) -> dict[str, tuple[bytes, ...]]:
    return {"objectGUID": entry.raw("objectGUID")}


@dataclass(frozen=True)
class ObjectKind:
    """A plain directory object kind, as data and hooks; :meth:`plan` is the lifecycle.

    - ``found(ctx)``: every object the kind's bulk reads returned, by DN key;
    - ``dn(item, ctx)``: the DN rule, a task's object's DN;
    - ``want(item, ctx)``: field -> desired value (None: not managed);
    - ``view(entry, found)``: the object as a playbook says it (default: the table);
    - ``implied``: values an existing object must have that a create makes anyway;
    - ``rdn_attribute``: the naming attribute an add spells out (``ou``), if any;
    - ``dn_fields``: DN-valued fields set in phase 1 when they name what the run creates;
    - ``encode(item, field, value)``: LDAP values of a field (default: the table's text);
    - ``check_create`` / ``check_delete``: raise a load-style error to refuse a task;
    - ``create_writes(dn, want)``, ``update_writes(entry, after, found)``,
      ``delete_writes(entry, found)``: writes beside the add, the modify, before the delete;
    - ``guard(entry, after)``: raw values the target must still hold (default objectGUID);
    - ``link``: one DN list attribute with add/remove/exact (PSO's msDS-PSOAppliesTo);
    - ``annotate(item, before, after, view)``: last words on a change (PSO's image).
    """

    name: str
    object_class: str
    table: Sequence[attrs.Attr]
    found: Callable[[PlanContext], Found]
    dn: Callable[[Desired, PlanContext], str]
    want: Callable[[Desired, PlanContext], dict[str, Any]]
    present: Callable[[Desired], bool]
    view: Callable[[Entry, Found], dict[str, Any]] | None = None
    implied: Mapping[str, Any] = field(default_factory=dict)
    rdn_attribute: str | None = None
    dn_fields: Sequence[str] = ()
    encode: Callable[[Desired, str, Any], list[Any]] | None = None
    check_create: Callable[[Desired, str, Mapping[str, Any], Found, PlanContext], None] = _no_check
    check_delete: Callable[[Desired, Entry, Found, PlanContext], None] | None = None
    create_writes: Callable[[str, Mapping[str, Any]], Writes] | None = None
    update_writes: Callable[[Entry, Mapping[str, Any], Found], Writes] | None = None
    delete_writes: Callable[[Entry, Found], Writes] | None = None
    guard: Callable[[Entry, Mapping[str, Any]], dict[str, tuple[bytes, ...]]] = _guid
    sd_flags: int | None = None
    link: links.LinkList | None = None
    annotate: Callable[[Desired, dict[str, Any], dict[str, Any], Any], None] | None = None

    def observe(self, entry: Entry, found: Found) -> dict[str, Any]:
        return (self.view or _observe(self.table))(entry, found)

    def plan(self, desired: Sequence[Desired], ctx: PlanContext) -> list[Change]:
        found = self.found(ctx)
        ctx.deleting |= {dnlib.key(self.dn(d, ctx)) for d in desired if not self.present(d)}
        changes: list[Change] = []
        for item in desired:
            dn = self.dn(item, ctx)
            entry = found.get(dnlib.key(dn))
            if not self.present(item):
                changes += self._delete(item, entry, found, ctx) if entry is not None else []
            elif entry is None:
                changes += self._create(item, dn, found, ctx)
            else:
                changes += self._update(item, entry, found, ctx)
        return changes

    def _values(self, item: Desired, name: str, value: Any) -> list[Any]:
        return self.encode(item, name, value) if self.encode else attrs.ldap_values(value)

    def _add_attributes(self, item: Desired, dn: str, want: Mapping[str, Any]) -> dict[str, Any]:
        ldap_of = {a.field: a.ldap for a in self.table}
        add: dict[str, Any] = {"objectClass": [self.object_class]}
        if self.rdn_attribute:
            add[self.rdn_attribute] = [dnlib.rdn_value(dn)]
        for name, value in want.items():
            if name in ldap_of and value is not None and self._values(item, name, value):
                add[ldap_of[name]] = self._values(item, name, value)
        return add

    def _create(self, item: Desired, dn: str, found: Found, ctx: PlanContext) -> list[Change]:
        want = self.want(item, ctx)
        self.check_create(item, dn, want, found, ctx)
        later = ctx.deferred(want, self.dn_fields)
        want = {k: v for k, v in want.items() if k not in later}
        add = self._add_attributes(item, dn, want)
        after = {k: v for k, v in want.items() if v not in (None, "")}
        linked = links.Linked()
        if self.link is not None:
            linked = self.link.planned(item, (), ctx)
            now = [d for d in linked.to_add if ctx.exists(d)]
            if now:
                add[self.link.ldap] = now
                after.update(self.link.words(now, True))
        writes = [LdapWrite("add", dn, attributes=add)]
        writes += self.create_writes(dn, want) if self.create_writes else []
        if self.annotate:
            self.annotate(item, {}, after, None)
        changes = [
            Change(
                self.name,
                Action.CREATE,
                dn,
                None,
                after,
                item.location,
                tuple(writes),
                Expect(False),
            )
        ]
        if later:
            ldap_of = {a.field: a.ldap for a in self.table}
            changes.append(deferred_update(self.name, dn, later, ldap_of, item))
        if self.link is not None:
            changes += self.link.later(self.name, dn, linked.to_add, item, ctx)
        return changes

    def _update(self, item: Desired, entry: Entry, found: Found, ctx: PlanContext) -> list[Change]:
        current = self.observe(entry, found)
        before, after = attribute_diff(current, {**self.want(item, ctx), **self.implied})
        linked = self.link.planned(item, current[self.link.field], ctx) if self.link else None
        if not after and not (linked and linked.changes):
            return []
        ldap_of = {a.field: a.ldap for a in self.table}
        changes = {
            ldap_of[f]: ("replace", self._values(item, f, v))
            for f, v in after.items()
            if f in ldap_of
        }
        writes = [LdapWrite("modify", entry.dn, changes=changes)] if changes else []
        writes += self.update_writes(entry, after, found) if self.update_writes else []
        raw = {**attrs.raw_of(entry, self.table, list(after)), **self.guard(entry, after)}
        phase = 1 if ctx.deferred(after, self.dn_fields) else 0
        expect = Expect(True, raw=raw, sd_flags=self.sd_flags)
        if self.link is not None and linked is not None:
            writes += self.link.writes(entry.dn, linked)
            before.update(self.link.before(linked))
            after.update(self.link.after(linked))
            expect = self.link.expect(expect, linked)
            phase = max(phase, 1 if any(not ctx.exists(d) for d in linked.to_add) else 0)
        if self.annotate:
            self.annotate(item, before, after, current)
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

    def _delete(self, item: Desired, entry: Entry, found: Found, ctx: PlanContext) -> list[Change]:
        if self.check_delete:
            self.check_delete(item, entry, found, ctx)
        writes = [
            *(self.delete_writes(entry, found) if self.delete_writes else []),
            LdapWrite("delete", entry.dn),
        ]
        expect = Expect(True, raw={"objectGUID": entry.raw("objectGUID")})
        before = self.observe(entry, found)
        return [
            Change(
                self.name,
                Action.DELETE,
                entry.dn,
                before,
                None,
                item.location,
                tuple(writes),
                expect,
            )
        ]


def by_key(entries: Sequence[Entry]) -> dict[str, Entry]:
    """Entries by DN key, the shape ``found`` returns."""
    return {dnlib.key(e.dn): e for e in entries}
