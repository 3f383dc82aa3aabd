"""Sites and subnets against the real lab DC: the full cycle, each subnet mapped to its
site (the DC's own siteObjectBL back-link), and removal.

Sites live in the forest-wide configuration partition, so each test uses a site name
and a subnet of its own and removes them at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
SITES = f"CN=Sites,CN=Configuration,{BASE}"


@pytest.fixture()
def names(directory: Directory, top: str) -> Iterator[tuple[str, str, str]]:
    """Two site names and a /24 of this test's own; whatever is left is removed after."""
    octets = uuid.uuid4().bytes
    prefix = f"10.{octets[0]}.{octets[1]}.0/24"
    first, second = f"{top}-A", f"{top}-B"
    yield first, second, prefix
    leftovers = [f"CN={prefix},CN=Subnets,{SITES}"]
    for site in (first, second):
        leftovers += [f"CN=NTDS Site Settings,CN={site},{SITES}", f"CN=Servers,CN={site},{SITES}"]
        leftovers.append(f"CN={site},{SITES}")
    for dn in leftovers:
        if directory.read(dn, ["cn"]) is not None:
            directory.delete(dn)


def sites_playbook(first: str, second: str, prefix: str, state: str = "present") -> str:
    return f"""
tasks:
  - name: test sites
    loop: [{first}, {second}]
    site: {{name: "{{{{ item }}}}", description: "站点 {{{{ item }}}}", state: {state}}}
  - name: test subnet
    subnet: {{prefix: "{prefix}", site: {first}, description: 测试网段, state: {state}}}
"""


def test_sites_and_subnet_cycle_plan_apply_noop_drift_repair_remove(
    lab_env: Lab,
    directory: Directory,
    names: tuple[str, str, str],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    first, second, prefix = names
    site_dn, subnet_dn = f"CN={first},{SITES}", f"CN={prefix},CN=Subnets,{SITES}"
    playbook, inv = (
        str(write_playbook(sites_playbook(first, second, prefix))),
        str(lab_env.inventory),
    )

    planned = cli("plan", playbook, "-i", inv)
    assert planned.code == 0, planned.err
    assert "Plan: 3 to create, 0 to update, 0 to delete" in planned.out
    assert directory.read(site_dn, ["cn"]) is None

    applied = cli("apply", playbook, "-i", inv, "--yes")
    assert applied.code == 0, applied.err + applied.out
    assert "No changes" in cli("plan", playbook, "-i", inv).out
    for child, object_class in (
        ("NTDS Site Settings", "nTDSSiteSettings"),
        ("Servers", "serversContainer"),
    ):
        found = directory.read(f"CN={child},{site_dn}", ["objectClass"])
        assert found is not None and object_class in found.texts("objectClass")

    subnet = directory.read(subnet_dn, ["siteObject", "description"])
    assert subnet is not None and subnet.text("siteObject") == site_dn
    assert subnet.text("description") == "测试网段"
    site = directory.read(site_dn, ["siteObjectBL"])
    assert site is not None and site.texts("siteObjectBL") == [subnet_dn]

    directory.modify(subnet_dn, {"siteObject": ("replace", [f"CN={second},{SITES}"])})
    directory.delete(f"CN=NTDS Site Settings,{site_dn}")
    drift = cli("drift", playbook, "-i", inv)
    assert drift.code == 2, drift.err
    assert f"site {site_dn}: differs: ntds_site_settings is false, want true" in drift.out
    assert (
        f'subnet {subnet_dn}: differs: site is "CN={second},{SITES}", want "{site_dn}"' in drift.out
    )

    repaired = cli("apply", playbook, "-i", inv, "--yes")
    assert "Applied 2, failed 0" in repaired.out, repaired.out + repaired.err
    assert cli("drift", playbook, "-i", inv).code == 0

    removal = str(write_playbook(sites_playbook(first, second, prefix, "absent"), "rm.yml"))
    removed = cli("apply", removal, "-i", inv, "--yes")
    assert removed.code == 0, removed.err + removed.out
    assert "Plan: 0 to create, 0 to update, 3 to delete" in removed.out
    assert directory.read(site_dn, ["cn"]) is None
    assert directory.read(subnet_dn, ["cn"]) is None


def test_company_sites_playbook_maps_each_company_range_to_its_own_site(
    lab_env: Lab, directory: Directory, cli: Callable[..., Cli]
) -> None:
    """playbooks/sites.yml against the test inventory's companies (HQ and HANTONG):
    a site and subnet each, and the one spoke link HQ-HANTONG (the hub has none to itself)."""
    companies = (("HQ", "172.16.0.0/16"), ("HANTONG", "172.17.0.0/16"))
    link = f"CN=HQ-HANTONG,CN=IP,CN=Inter-Site Transports,{SITES}"  # hub and spoke
    made = [link, *(f"CN={prefix},CN=Subnets,{SITES}" for _, prefix in companies)]
    for code, _ in companies:
        made += [f"CN={c},CN={code},{SITES}" for c in ("NTDS Site Settings", "Servers")]
        made.append(f"CN={code},{SITES}")
    made = [dn for dn in made if directory.read(dn, ["cn"]) is None]  # leave others' alone
    playbook = str(Path(__file__).parents[2] / "playbooks" / "sites.yml")
    try:
        applied = cli("apply", playbook, "-i", str(lab_env.inventory), "--yes")
        assert applied.code == 0, applied.err + applied.out
        for code, prefix in companies:
            subnet = directory.read(f"CN={prefix},CN=Subnets,{SITES}", ["siteObject"])
            assert subnet is not None and subnet.text("siteObject") == f"CN={code},{SITES}"
            site = directory.read(f"CN={code},{SITES}", ["siteObjectBL"])
            assert site is not None
            assert site.texts("siteObjectBL") == [f"CN={prefix},CN=Subnets,{SITES}"]
        spoke = directory.read(link, ["siteList", "cost", "replInterval"])
        assert spoke is not None
        assert sorted(spoke.texts("siteList")) == [f"CN=HANTONG,{SITES}", f"CN=HQ,{SITES}"]
        assert (spoke.integer("cost"), spoke.integer("replInterval")) == (100, 180)
        assert "No changes" in cli("plan", playbook, "-i", str(lab_env.inventory)).out
    finally:
        for dn in made:
            if directory.read(dn, ["cn"]) is not None:
                directory.delete(dn)
