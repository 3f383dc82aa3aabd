"""``subnet``: an IP range assigned to an AD site (三.2.b: each company's IP plan).

    - subnet:
        prefix: 172.16.0.0/16     # CN under CN=Subnets,CN=Sites,<configuration NC>
        site: HQ                  # the site's name (or its DN): siteObject
        description: 集团总部 Group headquarters
        location: Nantong         # optional

The prefix is a network in canonical form (no host bits; IPv6 compressed), which is
how AD names subnets. The site must exist or be declared by a ``site`` task of the
same run (it is then created first). ``state: absent`` deletes the subnet. ``""``
clears a site, description or location (a rollback restores an unset one so).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from ipaddress import ip_network
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources import attributes as attrs
from adsuite.resources.base import Desired, Kind, PlanContext, first_error
from adsuite.resources.directory import lifecycle as objects
from adsuite.resources.directory import site as sitelib

log = logging.getLogger(__name__)

NAME = "subnet"
ORDER = 72
TABLE = (
    attrs.Attr("site", "siteObject", "dn"),
    attrs.Attr("description", "description"),
    attrs.Attr("location", "location"),
)


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    _lengths = attrs.schema_lengths(TABLE)

    prefix: str
    site: str | None = None
    description: str | None = None
    location: str | None = None
    state: Literal["present", "absent"] = "present"

    @field_validator("prefix", mode="before")
    @classmethod
    def _prefix(cls, value: Any) -> str:
        text = str(value)
        try:
            network = ip_network(text, strict=True)
        except ValueError:
            raise ValueError(
                f"prefix {text!r} is not a network like 172.16.0.0/16 (no host bits set)"
            ) from None
        return str(network)

    @field_validator("site")
    @classmethod
    def _site(cls, value: str | None) -> str | None:
        if value and not dnlib.looks_like_dn(value):  # "" clears it
            sitelib.check_site_name(value)
        return value


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def subnets_dn(ctx: PlanContext) -> str:
    return f"CN=Subnets,{sitelib.sites_dn(ctx)}"


def all_subnets(ctx: PlanContext) -> Query:
    names = ("siteObject", "description", "location", "objectGUID")
    return Query(subnets_dn(ctx), "(objectClass=subnet)", names, "one")


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
    return [all_subnets(ctx), sitelib.all_sites(ctx)]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    return {}


def references(desired: Sequence[Desired]) -> set[str]:
    return set()


def identity(spec: Spec) -> str:
    return spec.prefix.lower()


def resolve_site(item: Desired, ctx: PlanContext) -> str | None:
    """The site's DN: it must exist, or be a site this run creates."""
    name = _spec(item).site
    if not name:
        return name
    if dnlib.looks_like_dn(name):
        return dnlib.normalize(name)
    dn = sitelib.site_dn(name, ctx)
    if dnlib.key(dn) in sitelib.found_sites(ctx):
        return dn
    if sitelib.DECLARED_PREFIX + name.lower() in ctx.names:
        return dn
    raise first_error(item, f"no site named {name!r} in the directory or the playbook")


def _found(ctx: PlanContext) -> dict[str, Entry]:
    return objects.by_key(ctx.entries(all_subnets(ctx)))


def _dn(item: Desired, ctx: PlanContext) -> str:
    return dnlib.join([("CN", _spec(item).prefix), *dnlib.split(subnets_dn(ctx))])


def _want(item: Desired, ctx: PlanContext) -> dict[str, Any]:
    spec = _spec(item)
    return {
        "site": resolve_site(item, ctx),
        "description": spec.description,
        "location": spec.location,
    }


OBJECTS = objects.ObjectKind(
    NAME,
    "subnet",
    TABLE,
    found=_found,
    dn=_dn,
    want=_want,
    present=lambda item: _spec(item).state == "present",
)
plan = OBJECTS.plan


def restore(target: str, view: Mapping[str, Any] | None, base_dn: str) -> dict[str, Any]:
    """Spec arguments that declare the subnet as a journaled *view* shows it (None:
    absent), for rollback; a site, description or location it lacked is declared ``""``."""
    prefix = dnlib.rdn_value(target)
    try:
        canonical = str(ip_network(prefix, strict=True)) == prefix
    except ValueError:
        canonical = False
    if not canonical:
        raise ValueError(f"cannot roll back: {prefix!r} is not a network as a playbook names it")
    if view is None:
        return {"prefix": prefix, "state": "absent"}
    fields = ("site", "description", "location")
    return {
        "prefix": prefix,
        **{k: "" if view[k] is None else view[k] for k in fields if k in view},
    }


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
