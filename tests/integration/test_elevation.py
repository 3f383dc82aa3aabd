"""Elevation (二.1.b) end to end against the lab DC, through the real command line.

The test's own company (its code from the test's top OU name) gets the real
playbooks/group_domain.yml and playbooks/workstation_lockdown.yml. An elevation ticket
with one approval is refused and changes nothing — neither the groups nor the journal;
with both approvals the user moves from the restricted to the elevated group; the
lockdown playbook's drift check is clean; a member added out of band with ldap3 is
drift in words and apply removes it while the ticketed member stays; after a revoke
ticket the same user put back by hand is drift again.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ldap3
import pytest
import yaml
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "playbooks" / "approvals.yml"
BASE = "DC=group,DC=example,DC=com"
PASSWORD = "El-Passw0rd-7c3a!"


@dataclass(frozen=True)
class Company:
    code: str
    inventory: Path
    site: Path
    folder: Path

    def group_dn(self, kind: str) -> str:
        return f"CN={self.code}-{kind},OU=Groups,OU={self.code},{BASE}"

    def user_dn(self, name: str) -> str:
        return f"CN={name},OU=Users,OU={self.code},{BASE}"


@pytest.fixture()
def company(
    lab_env: Lab,
    top: str,
    tmp_path: Path,
    cli: Callable[..., Cli],
    repo_site: Callable[[Sequence[str]], Path],
) -> Company:
    """A company of the test's own with the real OU tree, groups, approvers (<code>.gm,
    <code>.fin.head…) and lockdown GPOs, and two users in its restricted group."""
    code = top.upper()
    data = yaml.safe_load(lab_env.inventory.read_text(encoding="utf-8"))
    data["companies"] = [{"code": code, "name": f"{code} 测试公司", "ip_range": "10.98.0.0/16"}]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    site = repo_site(("group_domain.yml", "approvers.yml", "workstation_lockdown.yml"))
    made = Company(code, inventory, site, tmp_path)
    applied = cli("apply", str(site), "-i", str(inventory), "--yes")
    assert applied.code == 0, applied.out + applied.err
    users = tmp_path / "users.yml"
    users.write_text(
        f"""
tasks:
  - loop: [{code}-zw, {code}-mal]
    user: {{name: "{{{{ item }}}}", ou: {code}/Users, password: {{credential: el-pw}}}}
  - membership: {{group: {code}-Restricted, members: [{code}-zw, {code}-mal]}}
""",
        encoding="utf-8",
    )
    added = cli(
        "apply", str(users), "-i", str(inventory), "--yes", env={"ADSUITE_CRED_EL_PW": PASSWORD}
    )
    assert added.code == 0, added.out + added.err
    return made


def an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_ticket(company: Company, name: str, kind: str, approvals: list[tuple[str, str]]) -> Path:
    lines = "".join(
        f'  - {{name: {who}, role: {role}, time: "{an_hour_ago()}"}}\n' for who, role in approvals
    )
    reason = "  reason: builds the plant's CAD plug-ins\n" if kind == "elevation" else ""
    lines = lines or "  []\n"
    path = company.folder / f"{name}.yml"
    path.write_text(
        f"""id: {name}
type: {kind}
requester: {company.code}-zw
approvals:
{lines}parameters:
  company: {company.code}
  user: {company.code}-zw
{reason}""",
        encoding="utf-8",
    )
    return path


def members(directory: Directory, dn: str) -> set[str]:
    entry = directory.read(dn, ["member"])
    assert entry is not None, dn
    return {m.lower() for m in entry.texts("member")}


def staff(directory: Directory, dn: str, code: str) -> set[str]:
    """The members but for the approver role holders (<code>.gm, …) that approvers.yml
    puts in their company's restricted class."""
    return {m for m in members(directory, dn) if not m.startswith(f"cn={code.lower()}.")}


def journal_head(lab_env: Lab) -> tuple[int, str]:
    with Journal.open(lab_env.journal) as journal:
        return journal.head()


def add_out_of_band(lab_env: Lab, group: str, member: str) -> None:
    """A change made outside adsuite: plain ldap3, as an administrator's script would."""
    status = lab_env.status
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED, ca_certs_file=str(status.ca_file), valid_names=[status.tls_name]
    )
    server = ldap3.Server(status.ldap_url, use_ssl=True, tls=tls)
    password = Path(status.secret_file).read_text(encoding="utf-8").strip()
    conn = ldap3.Connection(server, user=status.admin_username, password=password)
    assert conn.bind(), conn.result
    try:
        assert conn.modify(group, {"member": [(ldap3.MODIFY_ADD, [member])]}), conn.result
    finally:
        conn.unbind()


def test_elevation_needs_both_approvals_and_drift_lists_every_member_without_a_ticket(
    lab_env: Lab, directory: Directory, company: Company, cli: Callable[..., Cli]
) -> None:
    code, inventory = company.code, str(company.inventory)
    dept_head, gm = f"{code.lower()}.fin.head", f"{code.lower()}.gm"
    elevated, restricted = company.group_dn("Elevated"), company.group_dn("Restricted")
    zw, mal = company.user_dn(f"{code}-zw"), company.user_dn(f"{code}-mal")

    def ticket(path: Path) -> Cli:
        return cli("ticket", "apply", str(path), "-i", inventory, "--rules", str(RULES), "--yes")

    def drift() -> Cli:
        return cli("drift", str(company.site), "-i", inventory)

    one = write_ticket(company, f"EL-{code}-1", "elevation", [(dept_head, "department_head")])
    head = journal_head(lab_env)
    refused = ticket(one)
    assert refused.code == 1, refused.out + refused.err
    assert refused.err.strip() == (
        f"adsuite: {one}:4: ticket type elevation needs an approval by general_manager "
        "(二.1.b: local administrator rights: the user applies, their department head agrees "
        "and the company's general manager approves); no other approver has that role"
    )
    assert members(directory, elevated) == set()
    assert staff(directory, restricted, code) == {zw.lower(), mal.lower()}
    assert journal_head(lab_env) == head, "a refused ticket must not touch the journal"

    both = write_ticket(
        company,
        f"EL-{code}-2",
        "elevation",
        [(dept_head, "department_head"), (gm, "general_manager")],
    )
    granted = ticket(both)
    assert granted.code == 0, granted.out + granted.err
    assert members(directory, elevated) == {zw.lower()}
    assert staff(directory, restricted, code) == {mal.lower()}
    clean = drift()
    assert clean.code == 0, clean.out + clean.err

    add_out_of_band(lab_env, elevated, mal)
    found = drift()
    assert found.code == 2, found.out + found.err
    words = f"{code}-Elevated has {code}-mal without an approved elevation ticket (二.1.b)"
    assert f"ticketed_membership {elevated}: differs: {words}  (declared at" in found.out
    assert f"{code}-zw" not in found.out

    repaired = cli("apply", str(company.site), "-i", inventory, "--yes")
    assert repaired.code == 0, repaired.out + repaired.err
    assert f"- member {mal} ({code}-mal: no approved elevation ticket (二.1.b))" in repaired.out
    assert "Plan: 0 to create, 1 to update, 0 to delete." in repaired.out
    assert members(directory, elevated) == {zw.lower()}

    revoke = write_ticket(company, f"EL-{code}-3", "elevation_revoke", [(gm, "general_manager")])
    revoked = ticket(revoke)
    assert revoked.code == 0, revoked.out + revoked.err
    assert members(directory, elevated) == set()
    assert staff(directory, restricted, code) == {zw.lower(), mal.lower()}

    add_out_of_band(lab_env, elevated, zw)
    after_revoke = drift()
    assert after_revoke.code == 2, after_revoke.out + after_revoke.err
    assert f"{code}-Elevated has {code}-zw without an approved elevation ticket" in after_revoke.out
