"""One failed change does not skip the independent changes after it (issue #15, 7).

The lab DC refuses a group at apply time: its sAMAccountName is already a user's (the
plan cannot know; the DC's samldb says so). The changes after it that do not depend on
it apply; the group's membership and another group's managedBy naming it are skipped,
each with the reason naming the failed change, in the journal and on stderr.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab
BASE = "DC=group,DC=example,DC=com"


@pytest.fixture()
def taken_name(directory: Directory, top: str) -> Iterator[str]:
    """A user's sAMAccountName, which a group of the playbook then asks for too."""
    name = f"{top}-clash"
    dn = f"CN={name},CN=Users,{BASE}"
    directory.add(dn, {"objectClass": ["user"], "sAMAccountName": [name]})
    yield name
    directory.delete(dn)


def playbook(top: str, clash: str) -> str:
    return f"""name: one refusal among independent changes
tasks:
  - name: top
    ou: {{path: {top}, description: test}}
  - name: refused by the DC
    group: {{name: {clash}, ou: {top}}}
  - name: managed by the refused group
    group: {{name: {top}-mgd, ou: {top}, managed_by: {clash}}}
  - name: independent group
    group: {{name: {top}-ok, ou: {top}}}
  - name: members of the refused group
    membership: {{group: {clash}, members: [Administrator]}}
  - name: members of the independent group
    membership: {{group: {top}-ok, members: [Administrator]}}
"""


def test_a_refused_change_skips_only_what_depends_on_it(
    lab_env: Lab,
    cli: Callable[..., Cli],
    directory: Directory,
    write_playbook: Callable[..., Path],
    top: str,
    taken_name: str,
) -> None:
    ou = f"OU={top},{BASE}"
    refused, managed, ok = (f"CN={n},{ou}" for n in (taken_name, f"{top}-mgd", f"{top}-ok"))
    done = cli(
        "apply",
        str(write_playbook(playbook(top, taken_name))),
        "-i",
        str(lab_env.inventory),
        "--yes",
    )

    assert done.code == 1, done.err
    reason = f"depends on the failed change 2 (group {refused})"
    # a lease a killed DC left behind (test_dc_loss.py) is taken over with a warning line
    lease = "WARNING adsuite.runtime.lease: "
    assert [line for line in done.err.splitlines() if not line.startswith(lease)] == [
        f"FAILED: group {refused}: create {refused}: entry already exists "
        f"(00002071: samldb: samAccountName '{taken_name}' already in use!)",
        f"SKIPPED: membership {refused}: {reason}",
        f"SKIPPED: group {managed}: {reason}",
    ]
    assert "Applied 4, failed 1, conflict 0, skipped 2." in done.out
    found = re.search(r"Journal run (\S+)\.", done.out)
    assert found is not None, done.out

    with Journal.open(lab_env.journal) as journal:
        changes = journal.changes(found.group(1))
    assert [
        (c.resource, c.target, c.outcome, c.error) for c in changes if c.outcome != "applied"
    ] == [
        ("group", refused, "failed", changes[1].error),
        ("membership", refused, "skipped", reason),
        ("group", managed, "skipped", reason),
    ]
    assert [(c.resource, c.target) for c in changes if c.outcome == "applied"] == [
        ("ou", ou),
        ("group", managed),  # created; only its managedBy (phase 1) names the refused group
        ("group", ok),
        ("membership", ok),
    ]
    admin = f"CN=Administrator,CN=Users,{BASE}"
    ok_entry, managed_entry = directory.read(ok, ["member"]), directory.read(managed, ["managedBy"])
    assert ok_entry is not None and ok_entry.texts("member") == [admin]
    assert managed_entry is not None and managed_entry.texts("managedBy") == []
    assert directory.read(refused, ["cn"]) is None
