"""Elevation (二.1.b) end to end against the lab DC, through the real command line.

The test's own company (its code from the test's top OU name) gets the real
playbooks/group_domain.yml and playbooks/workstation_lockdown.yml, with two workstations
(<code>-PC1, <code>-PC2) declared in its ``elevated_workstations``. Samba's own parser
(samba.gp_parse.gp_inf) and ldbsearch on the DC's database read back that each
workstation's GPO puts that workstation's <code>-LA-<computer> group, and no other, in
Administrators, filtered to that computer alone. An elevation ticket with one approval
is refused and changes nothing — neither the groups nor the journal; with both
approvals the user moves from the restricted group to the elevated class and to PC1's
group only; the lockdown playbook's drift check is clean; the user added out of band
with ldap3 to PC2's group (administrator elsewhere) is drift naming user and machine,
and apply removes it while the ticketed membership stays; `adsuite rollback` of the
ticket run ends the grant; a revoke ticket takes the user out of every workstation group.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ldap3
import pytest
import yaml
from helpers import run_id_of, sid_of
from labkit import Cli, Lab
from samba_gp_oracle import samba_read
from sysvol import gpc, gpt_file, samba_tool

from adsuite.connectors.ldap import Directory
from adsuite.formats import ldif
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.ldap_query import Query
from adsuite.journal.store import Journal
from adsuite.resources.gpo.filter import grants_apply

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "playbooks" / "approvals.yml"
BASE = "DC=group,DC=example,DC=com"
PASSWORD = "El-Passw0rd-7c3a!"
ADMINISTRATORS = "*S-1-5-32-544"
INF = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"


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

    def workstation(self, number: int) -> str:
        return f"{self.code}-PC{number}"

    def local_group(self, number: int) -> str:
        """The group of local administrators of workstation *number* alone."""
        return f"{self.code}-LA-{self.workstation(number)}"


@pytest.fixture()
def company(
    lab_env: Lab,
    top: str,
    tmp_path: Path,
    cli: Callable[..., Cli],
    repo_site: Callable[[Sequence[str]], Path],
) -> Company:
    """A company of the test's own with the real OU tree, groups, approvers (<code>.gm,
    <code>.fin.head…) and lockdown GPOs, two users in its restricted group, and two
    workstations declared elevated in the copied workstation_lockdown.yml."""
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
  - loop: [{code}-PC1, {code}-PC2]   # joined workstations: they exist before they are declared
    computer: {{name: "{{{{ item }}}}", ou: {code}/Workstations}}
""",
        encoding="utf-8",
    )
    added = cli(
        "apply", str(users), "-i", str(inventory), "--yes", env={"ADSUITE_CRED_EL_PW": PASSWORD}
    )
    assert added.code == 0, added.out + added.err
    lockdown = site.parent / "workstation_lockdown.yml"
    text = lockdown.read_text(encoding="utf-8")
    declared = (
        f"[{{company: {code}, computer: {code}-PC1}}, {{company: {code}, computer: {code}-PC2}}]"
    )
    assert "  elevated_workstations: []\n" in text
    lockdown.write_text(
        text.replace("  elevated_workstations: []\n", f"  elevated_workstations: {declared}\n"),
        encoding="utf-8",
    )
    elevated = cli("apply", str(site), "-i", str(inventory), "--yes")
    assert elevated.code == 0, elevated.out + elevated.err
    return made


def an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_ticket(company: Company, name: str, kind: str, approvals: list[tuple[str, str]]) -> Path:
    lines = "".join(
        f'  - {{name: {who}, role: {role}, time: "{an_hour_ago()}"}}\n' for who, role in approvals
    )
    reason = "  reason: builds the plant's CAD plug-ins\n" if kind == "elevation" else ""
    workstation = f"  workstation: {company.workstation(1)}\n" if kind == "elevation" else ""
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
{reason}{workstation}""",
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


def ldb_group(lab_env: Lab, dn: str) -> tuple[int, set[str]]:
    """(groupType, lowered member DNs) of the group at *dn*, read by ldbsearch from the
    DC's own database, not through adsuite."""
    sam = lab_env.status.state_dir / "private" / "sam.ldb"
    command = ["ldbsearch", "-H", str(sam), "-s", "base", "-b", dn, "groupType", "member"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    (entry,) = ldif.parse(done.stdout)
    return entry.integer("groupType") or 0, {m.lower() for m in entry.texts("member")}


def who_applies(directory: Directory, guid: str) -> set[str]:
    """The SIDs the GPO's ACL grants "Apply Group Policy" (its security filtering)."""
    query = Query(
        f"CN={guid},CN=Policies,CN=System,{BASE}",
        "(objectClass=*)",
        ("nTSecurityDescriptor",),
        "base",
        0x04,
    )
    (entry,) = list(directory.search(query))
    dacl = sdlib.parse(entry.raw("nTSecurityDescriptor")[0]).dacl
    return {ace.sid for ace in (dacl.aces if dacl else ()) if grants_apply(ace)}


DOMAIN_LOCAL_SECURITY = -2147483644  # 0x80000004 as AD stores it (signed)


def test_each_elevated_workstation_has_its_own_gpo_and_group_read_back_by_samba(
    lab_env: Lab, directory: Directory, company: Company
) -> None:
    code = company.code
    listed = samba_tool(lab_env, "gpo", "listall")
    assert listed.returncode == 0, listed.stderr
    assert f"display name : {code} Elevated workstation\n" not in listed.stdout
    links = samba_tool(lab_env, "gpo", "getlink", f"OU=Workstations,OU={code},{BASE}")
    assert links.returncode == 0, links.stderr
    for number in (1, 2):
        name = f"{code} Local administrators {company.workstation(number)}"
        assert f"Name    : {name}\n" in links.stdout, links.stdout
        gpo = gpc(directory, name)
        inf = samba_read("inf", gpt_file(lab_env, gpo.guid, INF).read_bytes())
        local_sid = sid_of(directory, company.local_group(number))
        assert inf["sections"]["Group Membership"] == [
            [[f"*{local_sid}", "Memberof"], [ADMINISTRATORS]]
        ]
        assert who_applies(directory, gpo.guid) == {
            sid_of(directory, f"{company.workstation(number)}$")
        }
        group_type, group_members = ldb_group(
            lab_env, company.group_dn(f"LA-{company.workstation(number)}")
        )
        assert (group_type, group_members) == (DOMAIN_LOCAL_SECURITY, set())


def test_elevation_grants_one_workstation_and_drift_names_a_user_admin_anywhere_else(
    lab_env: Lab, directory: Directory, company: Company, cli: Callable[..., Cli]
) -> None:
    code, inventory = company.code, str(company.inventory)
    dept_head, gm = f"{code.lower()}.fin.head", f"{code.lower()}.gm"
    elevated, restricted = company.group_dn("Elevated"), company.group_dn("Restricted")
    pc1, pc2 = company.group_dn(f"LA-{code}-PC1"), company.group_dn(f"LA-{code}-PC2")
    zw, mal = company.user_dn(f"{code}-zw"), company.user_dn(f"{code}-mal")

    def ticket(path: Path) -> Cli:
        args = ("ticket", "apply", str(path), "-i", inventory, "--rules", str(RULES), "--yes")
        return cli(*args, "--format", "json")

    def drift() -> Cli:
        return cli("drift", str(company.site), "-i", inventory)

    def admins_of(dn: str) -> set[str]:
        return ldb_group(lab_env, dn)[1]

    one = write_ticket(company, f"EL-{code}-1", "elevation", [(dept_head, "department_head")])
    head = journal_head(lab_env)
    refused = cli("ticket", "apply", str(one), "-i", inventory, "--rules", str(RULES), "--yes")
    assert refused.code == 1, refused.out + refused.err
    assert refused.err.strip() == (
        f"adsuite: {one}:4: ticket type elevation needs an approval by general_manager "
        "(二.1.b: local administrator rights: the user applies, their department head agrees "
        "and the company's general manager approves); no other approver has that role"
    )
    assert members(directory, elevated) == set() and admins_of(pc1) == set()
    assert staff(directory, restricted, code) == {zw.lower(), mal.lower()}
    assert journal_head(lab_env) == head, "a refused ticket must not touch the journal"

    approvals = [(dept_head, "department_head"), (gm, "general_manager")]
    granted = ticket(write_ticket(company, f"EL-{code}-2", "elevation", approvals))
    assert granted.code == 0, granted.out + granted.err
    assert admins_of(pc1) == {zw.lower()} and admins_of(pc2) == set()
    assert members(directory, elevated) == {zw.lower()}
    assert staff(directory, restricted, code) == {mal.lower()}
    clean = drift()
    assert clean.code == 0, clean.out + clean.err

    add_out_of_band(lab_env, pc2, zw)  # administrator of a machine the ticket did not name
    found = drift()
    assert found.code == 2, found.out + found.err
    words = f"{code}-LA-{code}-PC2 has {code}-zw without an approved elevation ticket (二.1.b)"
    assert f"ticketed_membership {pc2}: differs: {words}  (declared at" in found.out
    assert f"ticketed_membership {pc1}" not in found.out

    repaired = cli("apply", str(company.site), "-i", inventory, "--yes")
    assert repaired.code == 0, repaired.out + repaired.err
    assert f"- member {zw} ({code}-zw: no approved elevation ticket (二.1.b))" in repaired.out
    assert "Plan: 0 to create, 1 to update, 0 to delete." in repaired.out
    assert admins_of(pc2) == set() and admins_of(pc1) == {zw.lower()}

    undone = cli("rollback", run_id_of(granted.out), "-i", inventory, "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert admins_of(pc1) == set() and members(directory, elevated) == set()
    assert staff(directory, restricted, code) == {zw.lower(), mal.lower()}
    assert drift().code == 0, "a rolled-back grant leaves nothing to report"

    again = ticket(write_ticket(company, f"EL-{code}-3", "elevation", approvals))
    assert again.code == 0, again.out + again.err
    assert admins_of(pc1) == {zw.lower()}
    revoke = write_ticket(company, f"EL-{code}-4", "elevation_revoke", [(gm, "general_manager")])
    revoked = ticket(revoke)
    assert revoked.code == 0, revoked.out + revoked.err
    assert admins_of(pc1) == set() and members(directory, elevated) == set()
    assert staff(directory, restricted, code) == {zw.lower(), mal.lower()}

    add_out_of_band(lab_env, pc1, zw)
    after_revoke = drift()
    assert after_revoke.code == 2, after_revoke.out + after_revoke.err
    assert f"{code}-LA-{code}-PC1 has {code}-zw without an approved elevation ticket" in (
        after_revoke.out
    )
