"""GPO links: the ``gPLink`` of each OU (or the domain) that the declared GPOs link to.

A GPO's declared ``links`` are exact for that GPO: a link to it from a container that is
not declared is removed. Links of other GPOs are kept, in their order. A new link goes
last in link order (lowest precedence), as GPMC adds it; a declared ``order`` moves the
link to that place (1 wins). All declared links of one container make one change of its
gPLink, so GPOs linked to the same OU never conflict with each other at apply time.

A rollback restores GPOs one at a time instead (:func:`plan_link_edits`): each of a
GPO's links is its own read-modify-write of the container's gPLink at apply time
(:class:`~adsuite.resources.gpo.requests.GpLinkEdit`), so the GPO's links travel with
its own change and are left alone with it when it has moved on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adsuite.formats import dn as dnlib
from adsuite.formats.gpo_ldap import Link, gpo_dn, link_options, parse_gplink, serialize_gplink
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources.base import (
    Action,
    Change,
    Desired,
    Expect,
    LdapWrite,
    PlanContext,
    first_error,
)
from adsuite.resources.directory.ou import DECLARED_PREFIX as OU_DECLARED_PREFIX
from adsuite.resources.gpo.requests import GpLinkEdit
from adsuite.resources.gpo.spec import LinkSpec, Spec

log = logging.getLogger(__name__)

ABSENT = "absent"
UNORDERED = "linked"  # a link named without its place in the order


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


def words(links: Sequence[Link], guid: str, *, order: bool = True) -> str:
    """*guid*'s link in *links* as a person reads it: ``order 2, enabled``; without
    *order*, ``linked, enabled`` (what a removal must still find, wherever other removals
    of the same run moved it)."""
    for place, link in enumerate(links, start=1):
        if link.guid == guid:
            state = "enabled" if link.enabled else "disabled"
            where = f"order {place}" if order else UNORDERED
            return f"{where}, {state}" + (", enforced" if link.enforced else "")
    return ABSENT


@dataclass(frozen=True)
class Placed:
    """One link to a GPO: the container, its place in that container's link order (1
    wins) and the link itself."""

    container: str
    order: int
    link: Link


@dataclass(frozen=True)
class LinkPlan:
    """The declared links planned: the changes (each with the GUIDs whose link it moves)
    and every link of the declared GPOs as read and as planned, by GUID."""

    changes: tuple[tuple[Change, tuple[str, ...]], ...]
    before: Mapping[str, tuple[Placed, ...]]
    after: Mapping[str, tuple[Placed, ...]]


def plan_link_lists(managed: Sequence[Managed], ctx: PlanContext) -> LinkPlan:
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
    before = {k: (e.dn, _current(e)) for k, e in found.items()}
    after = dict(before)
    for key in keys:
        entry = found.get(key)
        dn = entry.dn if entry else target_dn(next(iter(wanted[key].values()))[1], ctx)
        have = _current(entry)
        new = _new_links(have, wanted.get(key, {}), governed, ctx)
        after[key] = (dn, tuple(new))
        if [(x.guid, x.options) for x in new] != [(x.guid, x.options) for x in have]:
            change = _change(dn, entry, have, new, managed, ctx)
            moved = tuple(g.guid for g in managed if words(have, g.guid) != words(new, g.guid))
            changes.append((change, moved))
    guids = {g.guid for g in managed}
    return LinkPlan(tuple(changes), placements(before, guids), placements(after, guids))


def placements(
    lists: Mapping[str, tuple[str, Sequence[Link]]], guids: set[str]
) -> dict[str, tuple[Placed, ...]]:
    """GUID -> every link to that GPO, from container key -> (DN, links in link order)."""
    out: dict[str, list[Placed]] = {guid: [] for guid in guids}
    for dn, links in lists.values():
        for order, link in enumerate(links, start=1):
            if link.guid in out:
                out[link.guid].append(Placed(dn, order, link))
    return {guid: tuple(placed) for guid, placed in out.items()}


def _options(spec: LinkSpec) -> int:
    return link_options(enabled=spec.enabled, enforced=spec.enforced)


def _links_to(entry: Entry, guids: set[str]) -> bool:
    return any(link.guid in guids for link in _current(entry))


def _current(entry: Entry | None) -> tuple[Link, ...]:
    text = entry.text("gPLink") if entry else None
    return parse_gplink(text) if text else ()


def _new_links(
    have: Sequence[Link],
    wanted: Mapping[str, tuple[Managed, LinkSpec]],
    governed: set[str],
    ctx: PlanContext,
) -> list[Link]:
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
    return new


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


def where(dn: str, base_dn: str) -> str:
    """A container as a playbook names it: ``domain``, an OU path, or its DN."""
    if dnlib.key(dn) == dnlib.key(base_dn):
        return "domain"
    try:
        return dnlib.ou_path_from_dn(dn, base_dn)
    except ValueError:
        return dn


def edit_links(
    have: Sequence[Link], guid: str, options: int | None, order: int | None, base_dn: str
) -> list[Link]:
    """*have* with the link to *guid* as wanted (options None: no link); a new link goes
    last, *order* moves it there (1 wins); every other link keeps its place."""
    if options is None:
        return [x for x in have if x.guid != guid]
    new = list(have)
    at = next((i for i, x in enumerate(new) if x.guid == guid), None)
    link = Link(new[at].dn if at is not None else gpo_dn(guid, base_dn), options)
    if at is not None:
        new[at] = link
    else:
        new.append(link)
    if order is not None:
        new.remove(link)
        new.insert(min(order, len(new) + 1) - 1, link)
    return new


@dataclass(frozen=True)
class LinkEdits:
    """One GPO's links put exactly as wanted, container by container (for a rollback)."""

    before: dict[str, str]  # words: "link HQ/Users": "order 2, enabled"
    after: dict[str, str]
    writes: tuple[GpLinkEdit, ...]
    expect: tuple[tuple[str, str], ...]  # (container DN, the link there as read, in words)
    placed_before: tuple[Placed, ...]
    placed_after: tuple[Placed, ...]


def plan_link_edits(
    guid: str, links: Sequence[LinkSpec], item: Desired, ctx: PlanContext
) -> LinkEdits:
    """The edits that make *guid*'s links exactly *links*, each its own read-modify-write,
    so GPOs restored one by one never trip over each other's links on one container."""
    found = {dnlib.key(e.dn): e for e in ctx.entries(containers(ctx))}
    wanted: dict[str, tuple[str, LinkSpec]] = {}
    for link in links:
        dn = target_dn(link, ctx)
        _check_target(link, dn, found, item, ctx)
        wanted[dnlib.key(dn)] = (dn, link)
    linked = [k for k, e in found.items() if _links_to(e, {guid})]
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    writes, expect, lists_before, lists_after = [], [], {}, {}
    for key in dict.fromkeys([*linked, *wanted]):
        entry = found.get(key)
        dn = entry.dn if entry else wanted[key][0]
        have = _current(entry)
        spec = wanted[key][1] if key in wanted else None
        options = _options(spec) if spec is not None else None
        order = spec.order if spec is not None else None
        new = edit_links(have, guid, options, order, ctx.base_dn)
        lists_before[key], lists_after[key] = (dn, have), (dn, tuple(new))
        was, will = words(have, guid), words(new, guid)
        if was == will:
            continue
        label = f"link {where(dn, ctx.base_dn)}"
        before[label], after[label] = was, will
        writes.append(GpLinkEdit(dn, ctx.base_dn, guid, options, order))
        # a link this edit removes is checked without its order: removing another GPO's
        # link on the same container earlier in the run moves it up, and that is no conflict
        expect.append((dn, was if will != ABSENT else words(have, guid, order=False)))
    return LinkEdits(
        before,
        after,
        tuple(writes),
        tuple(expect),
        placements(lists_before, {guid})[guid],
        placements(lists_after, {guid})[guid],
    )
