"""`adsuite serve` with the real ticket runner against the lab DC: a signed new-employee
ticket from ServiceNow changes the domain, and its outcome is read back over HTTP."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from deskclient import DeskClient, start_cli, stop_cli
from helpers import lab_inventory_text
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
SECRET = "a-webhook-secret-for-the-lab-test-0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]


def company_inventory(lab_env: Lab, code: str, folder: Path) -> Path:
    """The lab inventory with one company of this test's own (its OU tree is the test's)."""
    path = folder / "inventory.yml"
    company = (code, f"测试公司 {code}", "172.31.0.0/16")
    path.write_text(lab_inventory_text(lab_env.status, [company]), encoding="utf-8")
    return path


def company_tree(code: str) -> str:
    return f"""
name: company {code} for a ticket
domain: group
tasks:
  - {{name: role groups, ou: {{path: Role Groups}}}}  # approvers.yml's (group_domain.yml's)
  - {{name: company, ou: {{path: {code}, description: "{code}"}}}}
  - {{name: users, ou: {{path: {code}/Users, description: Users}}}}
  - {{name: groups, ou: {{path: {code}/Groups, description: Groups}}}}
  - name: restricted class
    group: {{name: {code}-Restricted, ou: {code}/Groups, scope: global, category: security}}
"""


def test_signed_servicenow_ticket_creates_the_account_and_its_outcome_is_read_back(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
    tmp_path: Path,
) -> None:
    code = top.upper()
    inventory = company_inventory(lab_env, code, tmp_path)
    tree = cli("apply", str(write_playbook(company_tree(code))), "-i", str(inventory), "--yes")
    assert tree.code == 0, tree.err
    people = cli("apply", str(REPO / "playbooks/approvers.yml"), "-i", str(inventory), "--yes")
    assert people.code == 0, people.err  # the role groups and their holders: <code>.hr…
    requester, approver = f"{code.lower()}.hr.head", f"{code.lower()}.hr"
    passwords = tmp_path / "passwords"
    env = {
        **os.environ,
        "ADSUITE_CRED_SERVICE_DESK": SECRET,
        "ADSUITE_JOURNAL": str(lab_env.journal),
    }
    args = [
        "-i",
        str(inventory),
        "--rules",
        str(REPO / "playbooks/approvals.yml"),
        "--queue",
        str(tmp_path / "queue.sqlite"),
        "--password-dir",
        str(passwords),
    ]
    account = f"{top.lower()}.new"
    ritm = f"RITM-{code}"
    body = {
        "number": ritm,
        "u_adsuite_type": "new_employee",
        "requested_for": requester,
        "u_adsuite_parameters": {"company": code, "name": account, "display_name": "新员工"},
        "approvals": [
            {
                "approver": approver,
                "role": "hr",
                "state": "approved",
                "sys_updated_on": "2026-01-05 01:30:00",
            },
        ],
    }

    server, url = start_cli(args, env)
    try:
        client = DeskClient(url, SECRET)
        accepted = client.post("/tickets/servicenow", body)
        assert accepted.status == 202, accepted.body
        ended = client.wait_for_end(accepted.body["url"])
    finally:
        code_at_exit = stop_cli(server)
    assert code_at_exit == 0

    user_dn = f"CN={account},OU=Users,OU={code},{BASE}"
    group_dn = f"CN={code}-Restricted,OU=Groups,OU={code},{BASE}"
    assert ended.body["status"] == "done", ended.body
    assert ended.body["ticket"] == ritm and ended.body["source"] == "servicenow"
    assert [(c["kind"], c["target"], c["outcome"]) for c in ended.body["changes"]] == [
        ("user", user_dn, "applied"),
        ("membership", group_dn, "applied"),
    ]

    user = directory.read(user_dn, ["displayName", "company", "memberOf", "pwdLastSet"])
    assert user is not None, "the ticket created the account"
    assert user.text("displayName") == "新员工"
    assert user.text("pwdLastSet") == "0", "must change the password at first logon"
    assert group_dn.lower() in [v.lower() for v in user.texts("memberOf")]

    with Journal.open(lab_env.journal) as journal:
        run = journal.run(ended.body["journal_run"])
    assert run.ticket == ritm and run.status == "ok"
    assert run.extra["ticket"]["approvals"][0]["name"] == approver

    files = list(passwords.iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    password = files[0].read_text(encoding="utf-8").split("password: ")[1].splitlines()[0]
    assert password not in str(ended.body), "the password never goes back to the service desk"
    assert files[0].name in ended.body["notes"][0]
