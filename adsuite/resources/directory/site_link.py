"""``site_link``: IP site links between AD sites, as replication topology data (三.2.b).

    - site_link:
        name: HQ-HANTONG          # CN under CN=IP,CN=Inter-Site Transports,CN=Sites,...
        sites: [HQ, HANTONG]      # site names (or DNs): siteList, at least two
        cost: 100                 # cost, 1..99999 (lower is preferred)
        interval: 180             # replInterval in minutes, 15..10080, a multiple of 15
        description: 韩通船舶 ↔ 集团总部

A link's sites must exist or be declared by a ``site`` task of the same run (the
sites are then created first). The site list is a set: its order is not drift. A
field left out is not managed; a description of ``""`` clears it. ``state: absent``
deletes the link. ``sites`` is required to create a link (siteList is mandatory).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources import attributes as attrs
from adsuite.resources.base import Desired, Kind, PlanContext, first_error
from adsuite.resources.directory import lifecycle as objects
from adsuite.resources.directory import site as sitelib

log = logging.getLogger(__name__)

NAME = "site_link"
ORDER = 71  # after site (70): a link names sites the same run may create
TABLE = (
    attrs.Attr("sites", "siteList", "list"),
    attrs.Attr("cost", "cost", "int"),
    attrs.Attr("interval", "replInterval", "int"),
    attrs.Attr("description", "description"),
)
_LINK_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    _lengths = attrs.schema_lengths(TABLE)

    name: str
    sites: list[str] | None = None
    cost: int | None = Field(default=None, ge=1, le=99999)
    interval: int | None = Field(default=None, ge=15, le=10080)
    description: str | None = None
    state: Literal["present", "absent"] = "present"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_link_name(value)

    @field_validator("sites")
    @classmethod
    def _sites(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        for site in value:
            if not dnlib.looks_like_dn(site):
                sitelib.check_site_name(site)
        if len({dnlib.key(s) if dnlib.looks_like_dn(s) else s.lower() for s in value}) < 2:
            raise ValueError("a site link joins at least two different sites")
        return value

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: int | None) -> int | None:
        if value is not None and value % 15:
            raise ValueError(f"interval {value} must be a multiple of 15 minutes")
        return value


def check_link_name(value: str) -> str:
    """Raise ValueError unless *value* is a usable site link name."""
    if not _LINK_NAME.match(value):
        raise ValueError(
            f"site link name {value!r} must be letters, digits, '-', '_' or '.', "
            "at most 64 characters (like HQ-HANTONG)"
        )
    return value


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def links_dn(ctx: PlanContext) -> str:
    return f"CN=IP,CN=Inter-Site Transports,{sitelib.sites_dn(ctx)}"


def link_dn(name: str, ctx: PlanContext) -> str:
    return dnlib.join([("CN", name), *dnlib.split(links_dn(ctx))])


def all_links(ctx: PlanContext) -> Query:
    names = ("siteList", "cost", "replInterval", "description", "objectGUID")
    return Query(links_dn(ctx), "(objectClass=siteLink)", names, "one")


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
    return [all_links(ctx), sitelib.all_sites(ctx)]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return set()


def identity(spec: Spec) -> str:
    return spec.name.lower()


def resolve_sites(item: Desired, ctx: PlanContext) -> list[str] | None:
    """The sites' DNs, as the directory spells them: each must exist or be declared."""
    names = _spec(item).sites
    if names is None:
        return None
    found = sitelib.found_sites(ctx)
    dns = []
    for name in names:
        dn = dnlib.normalize(name) if dnlib.looks_like_dn(name) else sitelib.site_dn(name, ctx)
        entry = found.get(dnlib.key(dn))
        declared = sitelib.DECLARED_PREFIX + name.lower() in ctx.names
        if entry is None and not declared:
            raise first_error(item, f"no site named {name!r} in the directory or the playbook")
        dns.append(dnlib.normalize(entry.dn) if entry is not None else dn)
    return dns


def view(entry: Entry, found: Mapping[str, Entry] | None = None) -> dict[str, Any]:
    seen = attrs.observe(entry, TABLE)
    return {**seen, "sites": sorted(dnlib.normalize(s) for s in seen["sites"])}


def _want(item: Desired, ctx: PlanContext) -> dict[str, Any]:
    spec = _spec(item)
    sites = resolve_sites(item, ctx)
    return {
        "sites": sites,
        "cost": spec.cost,
        "interval": spec.interval,
        "description": spec.description,
    }


def _check_create(
    item: Desired, dn: str, want: Mapping[str, Any], found: object, ctx: PlanContext
) -> None:
    if not want["sites"]:
        raise first_error(item, f"site link {_spec(item).name!r} needs its sites to be created")


OBJECTS = objects.ObjectKind(
    NAME,
    "siteLink",
    TABLE,
    found=lambda ctx: objects.by_key(ctx.entries(all_links(ctx))),
    dn=lambda item, ctx: link_dn(_spec(item).name, ctx),
    want=_want,
    present=lambda item: _spec(item).state == "present",
    view=view,
    check_create=_check_create,
)
plan = OBJECTS.plan  # an absent link is in ctx.deleting: the site kind may then delete its sites


def restore(target: str, view: Mapping[str, Any] | None, base_dn: str) -> dict[str, Any]:
    """Spec arguments that declare the link as a journaled *view* shows it (None:
    absent), for rollback. A description it lacked is declared ``""``; a cost or
    interval it lacked stays unmanaged (the attribute has no "cleared" value to declare)."""
    try:
        name = check_link_name(dnlib.rdn_value(target))
    except ValueError as error:
        raise ValueError(f"cannot roll back: {error}") from None
    if view is None:
        return {"name": name, "state": "absent"}
    values: dict[str, Any] = {k: view[k] for k in ("sites", "cost", "interval") if view.get(k)}
    if "description" in view:
        values["description"] = view["description"] or ""
    return {"name": name, **values}


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
