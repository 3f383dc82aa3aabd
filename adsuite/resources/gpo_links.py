"""GPO links: the ``gPLink`` of each OU (or the domain) that the declared GPOs link to.

A GPO's declared ``links`` are exact for that GPO: a link to it from a container that is
not declared is removed. Links of other GPOs are kept, in their order. A new link goes
last in link order (lowest precedence), as GPMC adds it; a declared ``order`` moves the
link to that place (1 wins). All declared links of one container make one change of its
gPLink, so GPOs linked to the same OU never conflict with each other at apply time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adsuite.connectors.ldap import Entry, Query
from adsuite.formats import dn as dnlib
from adsuite.formats.gpo_ldap import Link, gpo_dn, link_options, parse_gplink, serialize_gplink
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Expect,
    LdapWrite,
    PlanContext,
    first_error,
)
from adsuite.resources.gpo_spec import LinkSpec, Spec
from adsuite.resources.ou import DECLARED_PREFIX as OU_DECLARED_PREFIX

log = logging.getLogger(__name__)

ABSENT = "absent"


@dataclass(frozen=True)
class Managed:
    """A declared GPO as the link planner needs it."""

    item: Desired
    guid: str
    links: Sequence[LinkSpec] | None  # None: links not managed
    deleting: bool = False

    @property
    def name(self) -> str:
        spec = self.item.spec
        assert isinstance(spec, Spec)
        return spec.name


def containers(ctx: PlanContext) -> Query:
    """Every OU and the domain object, with their links: one search."""
    return Query(
        ctx.base_dn,
        "(|(objectClass=organizationalUnit)(objectClass=domainDNS))",
        ("gPLink",),
    )


def target_dn(link: LinkSpec, ctx: PlanContext) -> str:
    if link.target.lower() == "domain":
        return ctx.base_dn
    if dnlib.looks_like_dn(link.target):
        return dnlib.normalize(link.target)
    return dnlib.ou_path_to_dn(link.target, ctx.base_dn)


def _check_target(
    link: LinkSpec, dn: str, found: Mapping[str, Entry], item: Desired, ctx: PlanContext
) -> None:
    if dnlib.key(dn) in found:
        return
    path = (
        None if dnlib.looks_like_dn(link.target) else "/".join(dnlib.ou_path_segments(link.target))
    )
    if path is not None and OU_DECLARED_PREFIX + path.lower() in ctx.names:
        return
    raise first_error(
        item, f"link target {link.target!r} ({dn}): no such OU in the domain or the playbook"
    )


def words(links: Sequence[Link], guid: str) -> str:
    for order, link in enumerate(links, start=1):
        if link.guid == guid:
            state = "enabled" if link.enabled else "disabled"
            return f"order {order}, {state}" + (", enforced" if link.enforced else "")
    return ABSENT


def plan_links(managed: Sequence[Managed], ctx: PlanContext) -> list[Change]:
    found = {dnlib.key(e.dn): e for e in ctx.entries(containers(ctx))}
    wanted: dict[str, dict[str, tuple[Managed, LinkSpec]]] = {}
    for gpo in managed:
        for link in gpo.links or ():
            dn = target_dn(link, ctx)
            _check_target(link, dn, found, gpo.item, ctx)
            wanted.setdefault(dnlib.key(dn), {})[gpo.guid] = (gpo, link)
    governed = {g.guid for g in managed if g.links is not None or g.deleting}
    keys = dict.fromkeys([*wanted, *(k for k, e in found.items() if _links_to(e, governed))])
    changes = []
    for key in keys:
        entry = found.get(key)
        dn = entry.dn if entry else target_dn(next(iter(wanted[key].values()))[1], ctx)
        change = _plan_container(dn, entry, wanted.get(key, {}), governed, managed, ctx)
        if change is not None:
            changes.append(change)
    return changes


def _options(spec: LinkSpec) -> int:
    return link_options(enabled=spec.enabled, enforced=spec.enforced)


def _links_to(entry: Entry, guids: set[str]) -> bool:
    return any(link.guid in guids for link in _current(entry))


def _current(entry: Entry | None) -> tuple[Link, ...]:
    text = entry.text("gPLink") if entry else None
    return parse_gplink(text) if text else ()


def _plan_container(
    dn: str,
    entry: Entry | None,
    wanted: Mapping[str, tuple[Managed, LinkSpec]],
    governed: set[str],
    managed: Sequence[Managed],
    ctx: PlanContext,
) -> Change | None:
    have = _current(entry)
    new: list[Link] = []
    for link in have:
        guid = link.guid or ""
        if guid in wanted:
            new.append(Link(link.dn, _options(wanted[guid][1])))
        elif guid not in governed:
            new.append(link)
    present = {link.guid for link in new}
    for guid, (_, spec) in wanted.items():
        if guid not in present:
            new.append(Link(gpo_dn(guid, ctx.base_dn), _options(spec)))
    for guid, (_, spec) in sorted(wanted.items(), key=lambda pair: pair[1][1].order or 0):
        if spec.order is not None:
            link = next(x for x in new if x.guid == guid)
            new.remove(link)
            new.insert(min(spec.order, len(new) + 1) - 1, link)
    if [(x.guid, x.options) for x in new] == [(x.guid, x.options) for x in have]:
        return None
    return _change(dn, entry, have, new, managed, ctx)


def _change(
    dn: str,
    entry: Entry | None,
    have: Sequence[Link],
    new: Sequence[Link],
    managed: Sequence[Managed],
    ctx: PlanContext,
) -> Change:
    before, after = {}, {}
    for gpo in managed:
        was, will = words(have, gpo.guid), words(new, gpo.guid)
        if was != will:
            before[f"link {gpo.name}"], after[f"link {gpo.name}"] = was, will
    value = serialize_gplink(new)
    write = LdapWrite("modify", dn, changes={"gPLink": ("replace", [value] if value else [])})
    expect = Expect(True if entry else None, raw={"gPLink": entry.raw("gPLink") if entry else ()})
    source = next((g.item.location for g in managed if f"link {g.name}" in after), None)
    return Change("gpo", Action.UPDATE, dn, before, after, source, (write,), expect, 1)
