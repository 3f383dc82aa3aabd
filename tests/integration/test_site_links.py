"""Site links against the real lab DC, read back by ldbsearch on the DC's own database
(an oracle independent of adsuite's LDAP reads) and edited by hand with ldbmodify:
apply, drift naming the edit, repair, and rollback of the creating run.

Links and sites live in the forest-wide configuration partition, so each test uses
names of its own and removes whatever is left at the end.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import run_id_of
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
SITES = f"CN=Sites,CN=Configuration,{BASE}"
LINKS = f"CN=IP,CN=Inter-Site Transports,{SITES}"


def ldb(lab: Lab, tool: str, *args: str, stdin: str | None = None) -> str:
    sam = str(lab.status.state_dir / "private" / "sam.ldb")
    done = subprocess.run(
        [tool, "-H", sam, *args], input=stdin, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def link_as_ldb_sees_it(lab: Lab, dn: str) -> dict[str, list[str]] | None:
    """siteList, cost and replInterval of the link at *dn* (None: no such object)."""
    rdn, _, parent = dn.partition(",")
    wanted = ("siteList", "cost", "replInterval")
    out = ldb(
        lab, "ldbsearch", "-s", "one", "-b", parent, f"(&(objectClass=siteLink)({rdn}))", *wanted
    )
    if f"dn: {dn}".lower() not in out.lower():
        return None
    values: dict[str, list[str]] = {}
    for line in out.splitlines():
        name, _, value = line.partition(": ")
        if name in ("siteList", "cost", "replInterval"):
            values.setdefault(name, []).append(value)
    return values


@pytest.fixture()
def names(directory: Directory, top: str) -> Iterator[tuple[str, str, str]]:
    """Two site names and a link name of this test's own; leftovers are removed after."""
    first, second, link = f"{top}-A", f"{top}-B", f"{top}-L"
    yield first, second, link
    leftovers = [f"CN={link},{LINKS}"]
    for site in (first, second):
        leftovers += [f"CN=NTDS Site Settings,CN={site},{SITES}", f"CN=Servers,CN={site},{SITES}"]
        leftovers.append(f"CN={site},{SITES}")
    for dn in leftovers:
        if directory.read(dn, ["cn"]) is not None:
            directory.delete(dn)


def test_site_link_apply_ldbsearch_hand_edit_drift_repair_and_rollback(
    lab_env: Lab,
    names: tuple[str, str, str],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    first, second, link = names
    dn = f"CN={link},{LINKS}"
    playbook = write_playbook(f"""
tasks:
  - site: {{name: {first}}}
  - site: {{name: {second}}}
  - site_link: {{name: {link}, sites: [{first}, {second}], cost: 100, interval: 180}}
""")
    inv = str(lab_env.inventory)
    applied = cli("apply", str(playbook), "-i", inv, "--yes", "--format", "json")
    assert applied.code == 0, applied.err + applied.out
    created = run_id_of(applied.out)
    seen = link_as_ldb_sees_it(lab_env, dn)
    assert seen is not None
    assert sorted(seen["siteList"]) == sorted(f"CN={s},{SITES}" for s in (first, second))
    assert (seen["cost"], seen["replInterval"]) == (["100"], ["180"])
    assert "No changes" in cli("plan", str(playbook), "-i", inv).out

    edit = f"dn: {dn}\nchangetype: modify\nreplace: cost\ncost: 5\n"
    ldb(lab_env, "ldbmodify", stdin=edit + f"-\nreplace: siteList\nsiteList: CN={first},{SITES}\n")
    drift = cli("drift", str(playbook), "-i", inv)
    assert drift.code == 2, drift.err + drift.out
    assert f"site_link {dn}: differs: " in drift.out
    assert "cost is 5, want 100" in drift.out

    repaired = cli("apply", str(playbook), "-i", inv, "--yes")
    assert "Applied 1, failed 0" in repaired.out, repaired.out + repaired.err
    seen = link_as_ldb_sees_it(lab_env, dn)
    assert seen is not None and seen["cost"] == ["100"] and len(seen["siteList"]) == 2
    assert cli("drift", str(playbook), "-i", inv).code == 0

    undone = cli("rollback", created, "-i", inv, "--yes")
    assert undone.code == 0, undone.err + undone.out
    assert link_as_ldb_sees_it(lab_env, dn) is None
    for site in (first, second):  # the run created them too: rollback removes them
        found = ldb(lab_env, "ldbsearch", "-b", SITES, f"(&(objectClass=site)(cn={site}))", "cn")
        assert f"dn: CN={site},{SITES}" not in found and "returned 0 records" in found
