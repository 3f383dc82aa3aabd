"""Approvers checked against the lab DC: real, enabled, holding the role (#12).

The companies, their role groups and holders come from test_ticket_runs' fixture
(playbooks/approvers.yml applied to the test's own two companies). Each person is
spoiled by hand with Samba's own tool — never through adsuite — and each ticket
approved by them is refused with one line naming the clause, with nothing written
to the directory and no run in the journal; the correctly approved ticket runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from labkit import Cli, Lab
from sysvol import samba_tool
from test_ticket_runs import (
    Companies,
    an_hour_ago,
    make_companies,
    make_ticket_cli,
    refused,
    write_ticket,
)

from adsuite.connectors.ldap import Directory

pytestmark = pytest.mark.lab


@pytest.fixture()
def companies(lab_env: Lab, top: str, tmp_path: Path) -> Companies:
    return make_companies(lab_env, top, tmp_path)


@pytest.fixture()
def ticket_cli(cli: Callable[..., Cli], companies: Companies) -> Callable[..., Cli]:
    return make_ticket_cli(cli, companies)


def by_hand(lab_env: Lab, *args: str) -> None:
    sam = str(lab_env.status.state_dir / "private" / "sam.ldb")
    done = samba_tool(lab_env, *args, "-H", sam)
    assert done.returncode == 0, done.stderr


def new_employee(companies: Companies, user: str, approver: str, role: str) -> str:
    return f"""
id: NE-{user}-{approver}
type: new_employee
requester: {companies.person("hr.head")}
approvals:
  - {{name: {approver}, role: {role}, time: "{an_hour_ago()}"}}
parameters:
  company: {companies.a}
  name: {user}
  department: Finance
"""


def test_only_enabled_holders_of_the_role_approve_and_a_refusal_writes_nothing(
    lab_env: Lab,
    directory: Directory,
    companies: Companies,
    ticket_cli: Callable[..., Cli],
    top: str,
) -> None:
    a, user = companies.a, f"{top}-ap"
    hr, fin_head = companies.person("hr"), companies.person("fin.head")
    by_hand(lab_env, "user", "disable", fin_head)
    by_hand(lab_env, "group", "removemembers", f"{a}-HR", hr)
    runs = companies.apply_runs()
    out = str(companies.folder / "pw.txt")
    cases = [
        ("li.dept", "department_head", "approver li.dept does not exist in the directory (五.11)"),
        (
            fin_head,
            "department_head",
            f"approver {fin_head} is disabled; a disabled account neither asks nor approves "
            "(五.11)",
        ),
        (hr, "hr", f"approver {hr} does not hold the role hr: not a member of {a}-HR (五.11)"),
        (
            companies.person("hr", "b"),
            "hr",
            f"approver {companies.person('hr', 'b')} does not hold the role hr: not a member "
            f"of {a}-HR (五.11)",
        ),
    ]
    for number, (approver, role, message) in enumerate(cases):
        path = write_ticket(
            companies, f"t{number}.yml", new_employee(companies, user, approver, role)
        )
        refused(
            ticket_cli(str(path), "--password-out", out), f"{path}:5: {message}", companies, runs
        )
    dn = companies.user_dn(user, f"{a}/Users")
    assert directory.read(dn, ["cn"]) is None

    eng_head = companies.person("eng.head")
    good = write_ticket(
        companies, "good.yml", new_employee(companies, user, eng_head, "department_head")
    )
    result = ticket_cli(str(good), "--password-out", out)
    assert result.code == 0, result.err
    assert directory.read(dn, ["cn"]) is not None


def test_a_requester_who_is_not_in_the_directory_is_refused(
    companies: Companies,
    ticket_cli: Callable[..., Cli],
    top: str,
) -> None:
    runs = companies.apply_runs()
    text = new_employee(companies, f"{top}-rq", companies.person("hr"), "hr")
    path = write_ticket(
        companies,
        "rq.yml",
        text.replace(f"requester: {companies.person('hr.head')}", "requester: li.hr"),
    )
    refused(
        ticket_cli(str(path), command="check"),
        f"{path}:3: requester li.hr does not exist in the directory (五.11)",
        companies,
        runs,
    )
