"""Lists of DNs on an object, and the one vocabulary for changing them: ``mode``.

``add`` and ``remove`` touch only the names a task gives; ``exact`` also removes every
other value. A kind picks its default (membership ``add``: a group's members are
others' business too; a PSO's own ``applies_to`` ``exact``). Plans name each DN in
words — ``applies to CN=...: false → true`` — one line per value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from adsuite.formats import dn as dnlib
from adsuite.resources.base import Action, Change, Desired, Expect, LdapWrite, PlanContext

Mode = Literal["add", "remove", "exact"]


def old_names(renames: Mapping[str, str]) -> Callable[[Any], Any]:
    """A ``model_validator(mode="before")`` body accepting a key's old name (still in
    documentation users followed) as its new one; both at once is an error."""

    def rename(data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for old, new in renames.items():
            if old in data and new in data:
                raise ValueError(f"'{old}' is the old name of '{new}': give only '{new}'")
            if old in data:
                data = {(new if k == old else k): v for k, v in data.items()}
        return data

    return rename


@dataclass(frozen=True)
class Linked:
    """What a task changes in a list: DNs to add and DNs to remove."""

    to_add: list[str] = field(default_factory=list)
    to_remove: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.to_add or self.to_remove)


@dataclass(frozen=True)
class LinkList:
    """A multi-valued DN attribute a task manages with ``mode`` (e.g. msDS-PSOAppliesTo)."""

    field: str  # the view's field holding the current DNs, sorted
    ldap: str
    words_prefix: str  # "applies to "
    names: Callable[[Desired], Sequence[str]]  # the names or DNs a task gives
    mode: Callable[[Desired], str]

    def planned(self, item: Desired, current: Sequence[str], ctx: PlanContext) -> Linked:
        """(to add, to remove) for the list, by the task's mode."""
        now = {dnlib.key(dn) for dn in current}
        named = {dnlib.key(dn): dn for dn in (ctx.resolve(n, item) for n in self.names(item))}
        mode = self.mode(item)
        if mode == "remove":
            return Linked([], sorted(dn for dn in current if dnlib.key(dn) in named))
        to_add = sorted(dn for key, dn in named.items() if key not in now)
        if mode == "add":
            return Linked(to_add, [])
        return Linked(to_add, sorted(dn for dn in current if dnlib.key(dn) not in named))

    def words(self, dns: Sequence[str], value: bool) -> dict[str, bool]:
        return {f"{self.words_prefix}{dn}": value for dn in dns}

    def before(self, linked: Linked) -> dict[str, bool]:
        return {**self.words(linked.to_add, False), **self.words(linked.to_remove, True)}

    def after(self, linked: Linked) -> dict[str, bool]:
        return {**self.words(linked.to_add, True), **self.words(linked.to_remove, False)}

    def writes(self, dn: str, linked: Linked) -> list[LdapWrite]:
        out = []
        if linked.to_add:
            out.append(LdapWrite("modify", dn, changes={self.ldap: ("add", linked.to_add)}))
        if linked.to_remove:
            out.append(LdapWrite("modify", dn, changes={self.ldap: ("delete", linked.to_remove)}))
        return out

    def expect(self, expect: Expect, linked: Linked) -> Expect:
        """*expect*, plus: the DNs to remove are still there, those to add still missing."""
        return dataclasses.replace(
            expect,
            has_dns={self.ldap: tuple(linked.to_remove)},
            lacks_dns={self.ldap: tuple(linked.to_add)},
        )

    def later(
        self, kind: str, dn: str, dns: Sequence[str], item: Desired, ctx: PlanContext
    ) -> list[Change]:
        """A phase-1 change adding the DNs of objects this run creates, once they exist."""
        later = [d for d in dns if not ctx.exists(d)]
        if not later:
            return []
        add = LdapWrite("modify", dn, changes={self.ldap: ("add", later)})
        expect = Expect(True, lacks_dns={self.ldap: tuple(later)})
        before, after = self.words(later, False), self.words(later, True)
        return [Change(kind, Action.UPDATE, dn, before, after, item.location, (add,), expect, 1)]
