"""What a site link writes (siteList as DNs, cost and replInterval as numbers), what
its spec refuses, how rollback declares it back, and how the restore drill compares
its site list."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adsuite.formats.ldap_query import Entry, Query
from adsuite.journal.records import ChangeRecord
from adsuite.recovery import expected
from adsuite.resources.base import Desired, LdapWrite, PlanContext
from adsuite.resources.directory import site, site_link
from adsuite.source import Location

BASE = "DC=group,DC=example,DC=com"
SITES = f"CN=Sites,CN=Configuration,{BASE}"
LINK = f"CN=HQ-HANTONG,CN=IP,CN=Inter-Site Transports,{SITES}"


def context(entries: list[Entry]) -> PlanContext:
    ctx = PlanContext(BASE, "GROUP.EXAMPLE.COM", {})
    queries: list[Query] = [site.all_sites(ctx), site_link.all_links(ctx)]
    ctx.facts = {q: [e for e in entries if e.dn.endswith(q.base)] for q in queries}
    ctx.names = {}
    return ctx


def entry(dn: str, **attributes: Any) -> Entry:
    values = {
        k.lower(): tuple(str(x).encode() for x in (v if isinstance(v, list) else [v]))
        for k, v in attributes.items()
    }
    return Entry(dn, values)


def test_a_new_link_writes_the_sites_as_the_directory_spells_them() -> None:
    sites = [entry(f"CN={n},{SITES}", objectClass=["top", "site"]) for n in ("HQ", "HANTONG")]
    spec = site_link.Spec(name="HQ-HANTONG", sites=["hq", "hantong"], cost=100, interval=180)
    (change,) = site_link.plan([Desired(spec, Location("t.yml", 1), "t")], context(sites))
    (write,) = change.writes
    assert isinstance(write, LdapWrite) and write.dn == LINK
    assert write.attributes == {
        "objectClass": ["siteLink"],
        "siteList": [f"CN=HQ,{SITES}", f"CN=HANTONG,{SITES}"],
        "cost": ["100"],
        "replInterval": ["180"],
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"interval": 20}, "must be a multiple of 15 minutes"),
        ({"interval": 0}, "greater than or equal to 15"),
        ({"cost": 0}, "greater than or equal to 1"),
        ({"sites": ["HQ", "hq"]}, "at least two different sites"),
        ({"sites": ["HQ", "HQ Site"]}, "must be a DNS label"),
        ({"name": "HQ,HANTONG"}, "site link name 'HQ,HANTONG' must be letters"),
    ],
)
def test_the_spec_refuses(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        site_link.Spec.model_validate({"name": "HQ-HANTONG", **fields})


def test_rollback_declares_the_link_back_as_its_view_showed_it() -> None:
    view = {"sites": [f"CN=HQ,{SITES}"], "cost": 5, "interval": None, "description": None}
    back = site_link.restore(LINK, view, BASE)
    assert back == {"name": "HQ-HANTONG", "sites": [f"CN=HQ,{SITES}"], "cost": 5, "description": ""}
    assert site_link.restore(LINK, None, BASE) == {"name": "HQ-HANTONG", "state": "absent"}


def test_the_restore_drill_compares_a_site_list_as_a_set_of_dns() -> None:
    after = {"sites": [f"CN=HQ,{SITES}", f"CN=HANTONG,{SITES}"], "cost": 100}
    created = ChangeRecord(
        "run", 1, "site_link", LINK, "create", None, after, "applied", None, "t", "t", 1
    )
    (obj,) = expected.managed_objects([created])
    same = entry(LINK, siteList=[f"cn=hantong,{SITES}", f"CN=HQ,{SITES}"], cost=100)
    assert expected.problems([obj], [same]) == []
    other = entry(LINK, siteList=[f"CN=HQ,{SITES}"], cost=100)
    (problem,) = expected.problems([obj], [other])
    assert problem.startswith(f"site_link {LINK}: sites is [")
