"""``site``: AD sites in the configuration partition, one per company (三.2.b).

    - site:
        name: HQ                  # CN under CN=Sites,CN=Configuration,<forest root>
        description: 集团总部 Group headquarters
        location: Nantong         # optional

A site is created as ``samba-tool sites create`` and Windows make it: the ``site``
object, its ``CN=NTDS Site Settings`` (nTDSSiteSettings) child and its ``CN=Servers``
container (serversContainer); a site missing either child is drift, and apply adds
it. Site names are DNS labels (letters, digits, hyphens), since they appear in DNS
service records (``_ldap._tcp.HQ._sites.<domain>``). ``state: absent`` deletes the
site and its two children, never a site that still holds a server. A description or
location of ``""`` clears it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from adsuite.formats import dn as dnlib
from adsuite.formats.ldap_query import Entry, Query
from adsuite.resources import attributes as attrs
from adsuite.resources.base import Desired, Kind, LdapWrite, PlanContext, first_error
from adsuite.resources.directory import lifecycle as objects

log = logging.getLogger(__name__)

NAME = "site"
ORDER = 70
TABLE = (attrs.Attr("description", "description"), attrs.Attr("location", "location"))
CHILDREN = {  # field -> (RDN value, objectClass), as samba.sites.create_site makes them
    "ntds_site_settings": ("NTDS Site Settings", "nTDSSiteSettings"),
    "servers_container": ("Servers", "serversContainer"),
}
DECLARED_PREFIX = "site:"  # ctx.names key of a site this run declares (':' is no account name)
_DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    _lengths = attrs.schema_lengths(TABLE)

    name: str
    description: str | None = None
    location: str | None = None
    state: Literal["present", "absent"] = "present"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_site_name(value)


def check_site_name(value: str) -> str:
    """Raise ValueError unless *value* is a usable site name."""
    if not _DNS_LABEL.match(value):
        raise ValueError(
            f"site name {value!r} must be a DNS label: letters, digits and '-', "
            "at most 63 characters (like HQ)"
        )
    return value


def _spec(item: Desired) -> Spec:
    assert isinstance(item.spec, Spec)
    return item.spec


def configuration_dn(ctx: PlanContext) -> str:
    """The configuration NC. It hangs under the forest root domain; the group has one
    forest whose root domain is the inventory's domain (三.2.b), so its base DN is the
    forest root. A child domain would need the forest root's DN here instead."""
    return f"CN=Configuration,{ctx.base_dn}"


def sites_dn(ctx: PlanContext) -> str:
    return f"CN=Sites,{configuration_dn(ctx)}"


def site_dn(name: str, ctx: PlanContext) -> str:
    return dnlib.join([("CN", name), *dnlib.split(sites_dn(ctx))])


def all_sites(ctx: PlanContext) -> Query:
    """Sites, their children and any servers, in one subtree search."""
    classes = "(objectClass=site)(objectClass=nTDSSiteSettings)"
    classes += "(objectClass=serversContainer)(objectClass=server)"
    names = ("objectClass", "description", "location", "objectGUID")
    return Query(sites_dn(ctx), f"(|{classes})", names)


def link_lists(ctx: PlanContext) -> Query:
    """The site lists of every IP site link: a site a link still names is not deleted."""
    base = f"CN=IP,CN=Inter-Site Transports,{sites_dn(ctx)}"
    return Query(base, "(objectClass=siteLink)", ("siteList",), "one")


def queries(desired: Sequence[Desired], ctx: PlanContext) -> list[Query]:
    return [all_sites(ctx), link_lists(ctx)]


def declares(desired: Sequence[Desired], ctx: PlanContext) -> dict[str, str]:
    """Sites this run creates, so a subnet may name a site created in the same run."""
    found = found_sites(ctx)
    dns = {s.name: site_dn(s.name, ctx) for s in map(_spec, desired) if s.state == "present"}
    return {
        DECLARED_PREFIX + name.lower(): dn for name, dn in dns.items() if dnlib.key(dn) not in found
    }


def references(desired: Sequence[Desired]) -> set[str]:
    return set()


def identity(spec: Spec) -> str:
    return spec.name.lower()


def found_sites(ctx: PlanContext) -> dict[str, Entry]:
    """Every object the site query found, by DN key."""
    return {dnlib.key(e.dn): e for e in ctx.entries(all_sites(ctx))}


def _child_dn(dn: str, rdn: str) -> str:
    return dnlib.join([("CN", rdn), *dnlib.split(dn)])


def view(entry: Entry, found: Mapping[str, Entry]) -> dict[str, Any]:
    children = {
        field: dnlib.key(_child_dn(entry.dn, rdn)) in found for field, (rdn, _) in CHILDREN.items()
    }
    return {**attrs.observe(entry, TABLE), **children}


def _child_adds(dn: str, fields: Sequence[str]) -> list[LdapWrite]:
    return [
        LdapWrite(
            "add", _child_dn(dn, CHILDREN[f][0]), attributes={"objectClass": [CHILDREN[f][1]]}
        )
        for f in fields
    ]


def _want(item: Desired, ctx: PlanContext) -> dict[str, Any]:
    return {"description": _spec(item).description, "location": _spec(item).location}


def _check_delete(
    item: Desired, entry: Entry, found: Mapping[str, Entry], ctx: PlanContext
) -> None:
    # a link this run does not delete would keep naming a site that is gone (Samba drops
    # the value from siteList and the link joins nothing): the link goes first, or stays
    dn = entry.dn
    naming = [
        e.dn
        for e in ctx.entries(link_lists(ctx))
        if dnlib.key(dn) in {dnlib.key(v) for v in e.texts("siteList")}
        and dnlib.key(e.dn) not in ctx.deleting
    ]
    if naming:
        raise first_error(
            item,
            f"site {dn} is still named by site link {naming[0]}; remove it from that link first",
        )
    servers = [
        e.dn
        for key, e in found.items()
        if key.endswith("," + dnlib.key(dn)) and b"server" in e.raw("objectClass")
    ]
    if servers:
        raise first_error(item, f"site {dn} still holds servers ({servers[0]}); move them first")


def _child_deletes(entry: Entry, found: Mapping[str, Entry]) -> list[LdapWrite]:
    children = [_child_dn(entry.dn, rdn) for rdn, _ in CHILDREN.values()]
    return [LdapWrite("delete", c) for c in children if dnlib.key(c) in found]


OBJECTS = objects.ObjectKind(
    NAME,
    "site",
    TABLE,
    found=found_sites,
    dn=lambda item, ctx: site_dn(_spec(item).name, ctx),
    want=_want,
    present=lambda item: _spec(item).state == "present",
    view=view,
    implied=dict.fromkeys(CHILDREN, True),
    check_delete=_check_delete,
    create_writes=lambda dn, want: _child_adds(dn, list(CHILDREN)),
    update_writes=lambda entry, after, found: _child_adds(
        entry.dn, [f for f in CHILDREN if f in after]
    ),
    delete_writes=_child_deletes,
)
plan = OBJECTS.plan


def restore(target: str, view: Mapping[str, Any] | None, base_dn: str) -> dict[str, Any]:
    """Spec arguments that declare the site as a journaled *view* shows it (None:
    absent), for rollback. A cleared description or location is declared ``""``.

    The NTDS Site Settings and Servers children are not part of it: a site needs
    them, so a rollback never takes away the ones a run added to repair a site.
    """
    try:
        name = check_site_name(dnlib.rdn_value(target))
    except ValueError as error:
        raise ValueError(f"cannot roll back: {error}") from None
    if view is None:
        return {"name": name, "state": "absent"}
    values = {
        k: "" if view[k] is None else view[k] for k in ("description", "location") if k in view
    }
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
