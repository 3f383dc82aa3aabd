"""The pipeline against the real lab DC: plan on an empty tree → apply → a second plan
is empty → a change made out of band with ldap3 shows as drift → apply repairs it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.engine.session import Session
from adsuite.errors import DirectoryError
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab


def apply_all(session: Session) -> None:
    with session.connect() as conn:
        result = session.apply(session.plan(conn), conn)
    assert result.status == "ok", result.outcomes


BASE = "DC=group,DC=example,DC=com"


def tree_playbook(top: str) -> str:
    return f"""
name: OU tree under {top}
vars:
  subs: [Users, Groups, 个人设备]
tasks:
  - name: top OU
    ou: {{path: {top}, description: "测试 {top}"}}
  - name: sub OUs
    loop: "{{{{ subs }}}}"
    ou:
      path: "{top}/{{{{ item }}}}"
      description: "{{{{ item }}}} 部门"
"""


def test_ou_tree_cycle_plan_apply_noop_drift_repair(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    playbook = write_playbook(tree_playbook(top))
    inv = str(lab_env.inventory)

    planned = cli("plan", str(playbook), "-i", inv)
    assert planned.code == 0, planned.err
    assert "Plan: 4 to create, 0 to update, 0 to delete" in planned.out
    assert directory.read(f"OU={top},{BASE}", ["ou"]) is None, "plan must change nothing"

    applied = cli("apply", str(playbook), "-i", inv, "--yes")
    assert applied.code == 0, applied.err
    assert "Applied 4, failed 0" in applied.out
    chinese = directory.read(f"OU=个人设备,OU={top},{BASE}", ["description"])
    assert chinese is not None and chinese.text("description") == "个人设备 部门"

    again = cli("plan", str(playbook), "-i", inv)
    assert "No changes" in again.out

    directory.modify(f"OU=Users,OU={top},{BASE}", {"description": ("replace", ["edited by hand"])})
    drift = cli("drift", str(playbook), "-i", inv)
    assert drift.code == 2
    assert (
        f'OU=Users,OU={top},{BASE}: differs: description is "edited by hand", want "Users 部门"'
        in drift.out
    )

    repaired = cli("apply", str(playbook), "-i", inv, "--yes")
    assert "Applied 1, failed 0" in repaired.out
    assert cli("drift", str(playbook), "-i", inv).code == 0


def test_protected_ou_cannot_be_deleted_until_adsuite_unprotects_it(
    lab_env: Lab, directory: Directory, top: str, write_playbook: Callable[..., Path]
) -> None:
    playbook = write_playbook(f"tasks:\n  - ou: {{path: {top}}}\n")
    session = lab_env.session(playbook)
    apply_all(session)
    with pytest.raises(DirectoryError, match="insufficient access"):
        directory.delete(f"OU={top},{BASE}")

    removal = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, state: absent, allow_delete: true}}\n", "rm.yml"
    )
    session = lab_env.session(removal)
    with session.connect() as conn:
        plan = session.plan(conn)
        assert [str(c.action) for c in plan.changes] == ["delete"]
        assert plan.changes[0].before == {
            "description": None,
            "managed_by": None,
            "protected": True,
        }
        result = session.apply(plan, conn)
    assert result.status == "ok"
    assert directory.read(f"OU={top},{BASE}", ["ou"]) is None


def test_non_empty_ou_is_never_deleted(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    setup = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, protected: false}}\n  - ou: {{path: {top}/Keep}}\n"
    )
    session = lab_env.session(setup)
    apply_all(session)
    removal = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, state: absent, allow_delete: true}}\n", "rm.yml"
    )
    result = cli("apply", str(removal), "-i", str(lab_env.inventory), "--yes")
    assert result.code == 1
    assert (
        result.err.strip()
        == f"adsuite: {removal}:2: OU OU={top},{BASE} is not empty; adsuite never deletes an OU that holds objects"
    )
    assert directory.read(f"OU={top},{BASE}", ["ou"]) is not None


def test_groups_users_and_memberships_cycle(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    playbook = write_playbook(
        f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - group: {{name: {top}-admins, ou: {top}, description: 管理员, managed_by: {top}-boss}}
  - user: {{name: {top}-boss, ou: {top}, display_name: 老板, department: IT}}
  - user: {{name: {top}-li, ou: {top}, display_name: 李娜, enabled: false}}
  - membership: {{group: {top}-admins, members: [{top}-boss, {top}-li]}}
"""
    )
    inv = str(lab_env.inventory)
    applied = cli("apply", str(playbook), "-i", inv, "--yes")
    assert applied.code == 0, applied.err + applied.out
    assert "No changes" in cli("plan", str(playbook), "-i", inv).out

    group_dn = f"CN={top}-admins,OU={top},{BASE}"
    group = directory.read(group_dn, ["member", "managedBy", "groupType"])
    assert group is not None
    assert {m.lower() for m in group.texts("member")} == {
        f"cn={top}-boss,ou={top},{BASE}".lower(),
        f"cn={top}-li,ou={top},{BASE}".lower(),
    }
    assert group.text("managedBy") == f"CN={top}-boss,OU={top},{BASE}"
    assert group.integer("groupType") == -2147483646

    directory.modify(f"CN={top}-li,OU={top},{BASE}", {"userAccountControl": ("replace", ["512"])})
    directory.modify(group_dn, {"member": ("delete", [f"CN={top}-boss,OU={top},{BASE}"])})
    drift = cli("drift", str(playbook), "-i", inv)
    assert drift.code == 2
    assert f"user CN={top}-li,OU={top},{BASE}: differs: enabled is true, want false" in drift.out
    assert f"lacks member CN={top}-boss,OU={top},{BASE}" in drift.out
    assert cli("apply", str(playbook), "-i", inv, "--yes").code == 0
    assert cli("drift", str(playbook), "-i", inv).code == 0


def test_user_password_comes_from_credential_and_never_shows(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    secret = "Initial-Pw-7f3e9a!"
    playbook = write_playbook(
        f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - user: {{name: {top}-new, ou: {top}, password: {{credential: newhire}}, must_change_password: true}}
"""
    )
    env = {"ADSUITE_CRED_NEWHIRE": secret}
    result = cli("-vv", "apply", str(playbook), "-i", str(lab_env.inventory), "--yes", env=env)
    assert result.code == 0, result.err
    exported = cli("journal", "export", "--format", "json")
    for text in (
        result.out,
        result.err,
        exported.out,
        lab_env.journal.read_bytes().decode("latin-1"),
    ):
        assert secret not in text
    user = directory.read(f"CN={top}-new,OU={top},{BASE}", ["pwdLastSet", "userAccountControl"])
    assert user is not None and user.integer("pwdLastSet") == 0
    assert user.integer("userAccountControl") == 512


def test_a_user_without_password_gets_one_only_when_created_enabled(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    playbook = write_playbook(
        f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - ou: {{path: '{top}/Sales\\/EMEA', protected: false}}
  - user: {{name: {top}-off, ou: '{top}/Sales\\/EMEA', enabled: false}}
  - user: {{name: {top}-on, ou: '{top}/Sales\\/EMEA'}}
"""
    )
    planned = cli("plan", str(playbook), "-i", str(lab_env.inventory))
    assert planned.code == 0, planned.err
    assert (
        planned.out.count('password: "(generated, not shown: an enabled account needs one)"') == 1
    )
    applied = cli("apply", str(playbook), "-i", str(lab_env.inventory), "--yes")
    assert applied.code == 0, applied.err
    ou = f"OU=Sales/EMEA,OU={top},{BASE}"  # one OU whose name holds the '/'
    off = directory.read(f"CN={top}-off,{ou}", ["pwdLastSet", "userAccountControl"])
    on = directory.read(f"CN={top}-on,{ou}", ["pwdLastSet", "userAccountControl"])
    assert off is not None and on is not None
    assert (off.integer("userAccountControl"), off.integer("pwdLastSet")) == (514, 0)  # never set
    assert on.integer("userAccountControl") == 512 and (on.integer("pwdLastSet") or 0) > 0
    again = cli("plan", str(playbook), "-i", str(lab_env.inventory))
    assert again.code == 0 and "No changes" in again.out, again.out


def test_apply_stops_with_conflict_when_the_target_moved_after_the_plan(
    lab_env: Lab, directory: Directory, top: str, write_playbook: Callable[..., Path]
) -> None:
    setup = write_playbook(f"tasks:\n  - ou: {{path: {top}, description: one, protected: false}}\n")
    session = lab_env.session(setup)
    apply_all(session)
    change = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, description: two, protected: false}}\n", "two.yml"
    )
    session = lab_env.session(change)
    with session.connect() as conn:
        plan = session.plan(conn)
        directory.modify(f"OU={top},{BASE}", {"description": ("replace", ["someone else"])})
        result = session.apply(plan, conn)
    assert result.status == "conflict"
    assert result.outcomes[0].outcome == "conflict"
    entry = directory.read(f"OU={top},{BASE}", ["description"])
    assert entry is not None and entry.text("description") == "someone else"
    with Journal.open(lab_env.journal) as journal:
        recorded = journal.changes(result.run_id)
        assert [c.outcome for c in recorded] == ["conflict"]
        assert journal.run(result.run_id).status == "conflict"
        assert journal.verify().ok


def test_group_over_1500_members_is_read_in_full(
    lab_env: Lab, directory: Directory, top: str, write_playbook: Callable[..., Path]
) -> None:
    directory.add(f"OU={top},{BASE}", {"objectClass": ["organizationalUnit"]})
    members = [f"CN=m{i:04d},OU={top},{BASE}" for i in range(1600)]
    for dn in members:
        directory.add(dn, {"objectClass": ["contact"]})
    directory.add(
        f"CN=big,OU={top},{BASE}", {"objectClass": ["group"], "sAMAccountName": [f"{top}-big"]}
    )
    for start in range(0, len(members), 500):
        directory.modify(
            f"CN=big,OU={top},{BASE}", {"member": ("add", members[start : start + 500])}
        )
    listed = "\n".join(f'      - "{dn}"' for dn in members)
    playbook = write_playbook(
        f"tasks:\n  - membership:\n      group: {top}-big\n      mode: exact\n      members:\n{listed}\n"
    )
    session = lab_env.session(playbook)
    with session.connect() as conn:
        plan = session.plan(conn)
    assert plan.empty, [c.summary() for c in plan.changes][:1]


def test_drift_compare_tells_new_persisting_and_fixed_findings_with_stable_ids(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    playbook = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, description: declared, protected: false}}\n"
    )
    inv = str(lab_env.inventory)
    assert cli("apply", str(playbook), "-i", inv, "--yes").code == 0
    # the first check of a playbook has nothing to compare with: it says so, and is a check
    before = cli("drift", str(playbook), "-i", inv, "--compare", "last")
    assert before.code == 0, before.err
    assert "no earlier drift check of this playbook in the journal: every finding is new" in (
        before.err)  # fmt: skip

    directory.modify(f"OU={top},{BASE}", {"description": ("replace", ["edited"])})
    first = cli("drift", str(playbook), "-i", inv, "--compare", "last", "--format", "json")
    assert first.code == 2, first.err
    report = json.loads(first.out)
    (finding,) = report["findings"]
    assert report["compare"]["new"] == [finding["id"]]

    directory.modify(f"OU={top},{BASE}", {"description": ("replace", ["edited again"])})
    second = cli("drift", str(playbook), "-i", inv, "--compare", "last")
    assert second.code == 0, "drift that was already reported is not new"
    assert f"STILL [{finding['id']}]" in second.out

    assert cli("apply", str(playbook), "-i", inv, "--yes").code == 0
    third = cli("drift", str(playbook), "-i", inv, "--compare", "last")
    assert third.code == 0
    assert f"FIXED [{finding['id']}]" in third.out
    assert "0 new, 0 still there, 1 fixed" in third.out
