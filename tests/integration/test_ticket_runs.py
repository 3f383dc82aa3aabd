"""Every ticket type end to end through `adsuite ticket apply`, against the lab DC.

Each test builds two companies of its own (codes from its own top OU name, with the
OU tree and groups playbooks/group_domain.yml and the lockdown playbook would give
them, and the approver role groups and holders playbooks/approvers.yml gives every
company: <code>.hr in <CODE>-HR, <code>.gm in <CODE>-GM…) and an inventory naming
them, so tests never see each other's objects. Each
bad ticket is refused with one `file:line: message`, nothing changes in the directory
and the journal gains no apply run.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ldap3
import pytest
import yaml
from labkit import Cli, Lab

from adsuite.connectors.ldap import Directory
from adsuite.engine.session import Session
from adsuite.journal.store import Journal

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
RULES = PLAYBOOKS / "approvals.yml"
OLD_PASSWORD = "Old-Passw0rd-4b1e!"
TREE = """
vars:
  subs: [Users, Groups, Personal Devices, Disabled]
tasks:
  - ou: {path: Role Groups}  # approvers.yml's role groups (group_domain.yml declares it)
  - loop: "{{ companies }}"
    ou: {path: "{{ item.code }}", protected: false}
  - loop: "{{ companies | product(subs) | list }}"
    ou: {path: "{{ item[0].code }}/{{ item[1] }}", protected: false}
  - loop: "{{ companies }}"
    group: {name: "{{ item.code }}-Restricted", ou: "{{ item.code }}/Groups"}
  - loop: "{{ companies }}"
    group: {name: "{{ item.code }}-Finance", ou: "{{ item.code }}/Groups"}
"""


@dataclass(frozen=True)
class Companies:
    a: str  # company codes
    b: str
    inventory: Path
    journal: Path
    folder: Path

    def ou(self, path: str) -> str:
        parts = [f"OU={p}" for p in reversed(path.split("/"))]
        return ",".join([*parts, BASE])

    def person(self, role: str, company: str = "a") -> str:
        """A role holder playbooks/approvers.yml created: person('hr') -> '<code>.hr'."""
        return f"{getattr(self, company).lower()}.{role}"

    def user_dn(self, name: str, ou: str) -> str:
        return f"CN={name},{self.ou(ou)}"

    def apply(self, text: str, name: str, env: dict[str, str] | None = None) -> None:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        session = Session.from_files(path, self.inventory, self.journal)
        with session.connect() as conn:
            result = session.apply(session.plan(conn), conn)
        assert result.status == "ok", result.outcomes

    def apply_runs(self) -> list[str]:
        with Journal.open(self.journal) as journal:
            return [r.id for r in journal.runs() if r.mode == "apply"]


def make_companies(lab_env: Lab, top: str, tmp_path: Path) -> Companies:
    """Two companies of the test's own, with the OU tree, groups and approvers they need."""
    code = top.upper()
    data = yaml.safe_load(lab_env.inventory.read_text(encoding="utf-8"))
    data["companies"] = [
        {"code": f"{code}A", "name": f"甲公司 {code}A", "ip_range": "10.1.0.0/16"},
        {"code": f"{code}B", "name": f"乙公司 {code}B", "ip_range": "10.2.0.0/16"},
    ]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    made = Companies(f"{code}A", f"{code}B", inventory, lab_env.journal, tmp_path)
    made.apply(TREE, "tree.yml")
    made.apply((PLAYBOOKS / "approvers.yml").read_text(encoding="utf-8"), "approvers.yml")
    return made


def make_ticket_cli(cli: Callable[..., Cli], companies: Companies) -> Callable[..., Cli]:
    def run(*args: str, command: str = "apply") -> Cli:
        extra = ("--yes",) if command == "apply" else ()
        return cli(
            "ticket",
            command,
            *args[:1],
            "-i",
            str(companies.inventory),
            "--rules",
            str(RULES),
            *extra,
            *args[1:],
        )

    return run


@pytest.fixture()
def companies(lab_env: Lab, top: str, tmp_path: Path) -> Companies:
    return make_companies(lab_env, top, tmp_path)


@pytest.fixture()
def ticket_cli(cli: Callable[..., Cli], companies: Companies) -> Callable[..., Cli]:
    return make_ticket_cli(cli, companies)


def an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_ticket(companies: Companies, name: str, text: str) -> Path:
    path = companies.folder / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def add_user(companies: Companies, name: str, groups: list[str]) -> str:
    text = f"""
tasks:
  - user: {{name: {name}, ou: {companies.a}/Users, password: {{credential: old-pw}}}}
  - loop: {groups}
    membership: {{group: "{{{{ item }}}}", members: [{name}]}}
"""
    os.environ["ADSUITE_CRED_OLD_PW"] = OLD_PASSWORD
    try:
        companies.apply(text, "user.yml")
    finally:
        del os.environ["ADSUITE_CRED_OLD_PW"]
    return companies.user_dn(name, f"{companies.a}/Users")


def bind_error(lab_env: Lab, upn: str, password: str) -> str:
    """'' when *upn* binds with *password*, else AD's reason code (data 52e, 773…)."""
    status = lab_env.status
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=str(status.ca_file),
        valid_names=[status.tls_name],
    )
    server = ldap3.Server(status.ldap_url, use_ssl=True, tls=tls)
    conn = ldap3.Connection(server, user=upn, password=password)
    if conn.bind():
        conn.unbind()
        return ""
    message = str(conn.result.get("message", ""))
    return message.split("error, ")[1].split(",")[0] if "error, " in message else message


def group_members(directory: Directory, dn: str) -> set[str]:
    entry = directory.read(dn, ["member"])
    assert entry is not None, dn
    return {m.lower() for m in entry.texts("member")}


def refused(result: Cli, expected: str, companies: Companies, runs_before: list[str]) -> None:
    assert result.code == 1, result.out + result.err
    assert result.err.strip() == f"adsuite: {expected}"
    assert "Applied" not in result.out
    assert companies.apply_runs() == runs_before, "a refused ticket must not start a run"


# --- new employee ------------------------------------------------------------------


def new_employee(companies: Companies, user: str, extra: str = "") -> str:
    return f"""
id: NE-{user}
type: new_employee
requester: {companies.person("hr.head")}
approvals:
  - {{name: {companies.person("hr")}, role: hr, time: "{an_hour_ago()}"}}
parameters:
  company: {companies.a}
  name: {user}
  display_name: 张伟
  department: Finance{extra}
"""


def test_new_employee_ticket_creates_a_restricted_account_whose_password_goes_out_of_band(
    lab_env: Lab,
    directory: Directory,
    companies: Companies,
    ticket_cli: Callable[..., Cli],
    top: str,
) -> None:
    user = f"{top}-zw"
    path = write_ticket(companies, "new.yml", new_employee(companies, user))
    checked = ticket_cli(str(path), command="check")
    assert checked.code == 0, checked.err
    assert f"Ticket NE-{user} is valid; nothing was changed." in checked.out
    dn = companies.user_dn(user, f"{companies.a}/Users")
    assert directory.read(dn, ["cn"]) is None

    password_file = companies.folder / "initial.txt"
    result = ticket_cli(str(path), "--password-out", str(password_file))
    assert result.code == 0, result.err
    assert f"+ user       {dn}" in result.out
    assert f"+ member {dn}" in result.out
    assert "Applied 2, failed 0" in result.out
    assert password_file.stat().st_mode & 0o777 == 0o600
    password = password_file.read_text(encoding="utf-8").split("password: ")[1].splitlines()[0]

    entry = directory.read(dn, ["pwdLastSet", "userAccountControl", "company", "displayName"])
    assert entry is not None
    assert entry.integer("pwdLastSet") == 0
    assert entry.integer("userAccountControl") == 512
    assert entry.text("company") == f"甲公司 {companies.a}"
    restricted = f"CN={companies.a}-Restricted,{companies.ou(f'{companies.a}/Groups')}"
    assert dn.lower() in group_members(directory, restricted)
    upn = f"{user}@group.example.com"
    assert bind_error(lab_env, upn, password) == "data 773", "must change at next logon"
    assert bind_error(lab_env, upn, password + "x") == "data 52e"

    journal_text = lab_env.journal.read_bytes().decode("latin-1")
    for text in (result.out, result.err, checked.out, journal_text):
        assert password not in text
    with Journal.open(lab_env.journal) as journal:
        run = journal.runs(limit=1)[0]
    assert run.ticket == f"NE-{user}"
    assert run.extra["ticket"]["requester"] == companies.person("hr.head")
    assert run.extra["ticket"]["approvals"][0]["name"] == companies.person("hr")
    assert run.extra["approval_rules"]["satisfied"][0]["needs"] == "hr or department_head"


def test_bad_new_employee_tickets_change_nothing(
    directory: Directory,
    companies: Companies,
    ticket_cli: Callable[..., Cli],
    top: str,
) -> None:
    user = f"{top}-nn"
    runs = companies.apply_runs()
    out = str(companies.folder / "pw.txt")
    no_group = write_ticket(
        companies, "g.yml", new_employee(companies, user, "\n  restricted_group: NoSuch-Group")
    )
    refused(
        ticket_cli(str(no_group), "--password-out", out),
        f"{no_group}:11: restricted group 'NoSuch-Group' does not exist: "
        "playbooks/workstation_lockdown.yml declares each company's restricted group (二.1.a); "
        "apply it first, or name another with restricted_group",
        companies,
        runs,
    )
    no_manager = write_ticket(
        companies, "m.yml", new_employee(companies, user, f"\n  manager: {top}-nobody")
    )
    refused(
        ticket_cli(str(no_manager), "--password-out", out),
        f"{no_manager}:11: no user named '{top}-nobody' in the domain",
        companies,
        runs,
    )
    no_password_option = write_ticket(companies, "p.yml", new_employee(companies, user))
    refused(
        ticket_cli(str(no_password_option)),
        "a new_employee ticket sets a password: pass --password-out FILE (a new file, mode "
        "0600) or --show-password (shown once on this terminal)",
        companies,
        runs,
    )
    assert directory.read(companies.user_dn(user, f"{companies.a}/Users"), ["cn"]) is None
    assert not Path(out).exists()


# --- transfer ----------------------------------------------------------------------


def transfer(companies: Companies, user: str, confirmations: bool = True) -> str:
    confirmed = (
        "confirmations:\n  asset_return: {confirmed_by: li.assets, reference: FA-2026-0301}\n"
        if confirmations
        else ""
    )
    return f"""
id: TR-{user}
type: transfer
requester: {companies.person("hr.head")}
approvals:
  - {{name: {companies.person("hr", "b")}, role: hr, time: "{an_hour_ago()}"}}
{confirmed}parameters:
  user: {user}
  to_company: {companies.b}
"""


def test_transfer_ticket_moves_the_account_and_swaps_its_company_groups(
    directory: Directory, companies: Companies, ticket_cli: Callable[..., Cli], top: str
) -> None:
    a, b = companies.a, companies.b
    companies.apply(f"tasks:\n  - group: {{name: {top}-Shared, ou: {a}/Groups}}\n", "shared.yml")
    user = f"{top}-tr"
    old_dn = add_user(companies, user, [f"{a}-Restricted", f"{a}-Finance", f"{top}-Shared"])
    runs = companies.apply_runs()

    bad = write_ticket(companies, "bad.yml", transfer(companies, user, confirmations=False))
    refused(
        ticket_cli(str(bad)),
        f"{bad}:1: ticket type transfer needs confirmation 'asset_return': who confirmed that "
        "the old company's fixed assets were returned, and the record of it (一.1)",
        companies,
        runs,
    )
    assert directory.read(old_dn, ["cn"]) is not None

    good = write_ticket(companies, "good.yml", transfer(companies, user))
    result = ticket_cli(str(good))
    assert result.code == 0, result.err
    new_dn = companies.user_dn(user, f"{b}/Users")
    assert directory.read(old_dn, ["cn"]) is None
    entry = directory.read(new_dn, ["company", "memberOf"])
    assert entry is not None and entry.text("company") == f"乙公司 {b}"
    groups = {g.split(",")[0].removeprefix("CN=") for g in entry.texts("memberOf")}
    assert groups == {f"{b}-Restricted", f"{top}-Shared"}


# --- leaver ------------------------------------------------------------------------


def test_leaver_ticket_disables_moves_and_records_the_groups_it_removes(
    lab_env: Lab,
    directory: Directory,
    companies: Companies,
    ticket_cli: Callable[..., Cli],
    top: str,
) -> None:
    a = companies.a
    user = f"{top}-lv"
    dn = add_user(companies, user, [f"{a}-Restricted", f"{a}-Finance"])
    runs = companies.apply_runs()
    text = f"""
id: LV-{user}
type: leaver
requester: {companies.person("hr")}
approvals:
  - {{name: {companies.person("fin.head")}, role: department_head, time: "{an_hour_ago()}"}}
parameters:
  user: {user}
"""
    unknown = write_ticket(companies, "unknown.yml", text.replace(f"user: {user}", "user: nobody"))
    refused(
        ticket_cli(str(unknown)),
        f"{unknown}:7: no user named 'nobody' in the domain",
        companies,
        runs,
    )

    result = ticket_cli(str(write_ticket(companies, "leaver.yml", text)))
    assert result.code == 0, result.err
    groups_dn = companies.ou(f"{a}/Groups")
    assert f"~ membership CN={a}-Finance,{groups_dn}\n      - member {dn}" in result.out
    assert f"~ membership CN={a}-Restricted,{groups_dn}\n      - member {dn}" in result.out
    disabled = companies.user_dn(user, f"{a}/Disabled")
    entry = directory.read(disabled, ["userAccountControl", "memberOf"])
    assert entry is not None
    assert entry.integer("userAccountControl") == 514
    assert entry.texts("memberOf") == []

    with Journal.open(lab_env.journal) as journal:
        run = journal.runs(limit=1)[0]
        changes = journal.changes(run.id)
    removed = {c.target: c.before for c in changes if c.resource == "membership"}
    assert removed == {
        f"CN={a}-Finance,{groups_dn}": {"removed": [dn]},
        f"CN={a}-Restricted,{groups_dn}": {"removed": [dn]},
    }
    assert [g["name"] for g in run.extra["record"]["member_of"]] == [
        f"{a}-Finance",
        f"{a}-Restricted",
    ]


# --- password reset ----------------------------------------------------------------


def reset(user: str, verifier_name: str, verified: bool = True, method: str = "") -> str:
    verifier = f',\n    "verified_by": "{verifier_name}"' if verified else ""
    return f"""{{
  "id": "PR-{user}",
  "type": "password_reset",
  "requester": "{user}",
  "confirmations": {{
    "written_request": "OA-2026-1127-003",
    "identity_verification": {{
      "method": "{method or "in person with a staff card"}"{verifier}
    }}
  }},
  "parameters": {{"user": "{user}"}}
}}
"""


def test_password_reset_ticket_needs_the_written_request_and_identity_check(
    lab_env: Lab,
    directory: Directory,
    companies: Companies,
    ticket_cli: Callable[..., Cli],
    top: str,
) -> None:
    user = f"{top}-pr"
    dn = add_user(companies, user, [])
    upn = f"{user}@group.example.com"
    assert bind_error(lab_env, upn, OLD_PASSWORD) == ""
    runs = companies.apply_runs()
    out = companies.folder / "reset.txt"

    it_head = companies.person("it.head")
    by_phone = write_ticket(companies, "phone.json", reset(user, it_head, method="phone call"))
    refused(
        ticket_cli(str(by_phone), "--password-out", str(out)),
        f"{by_phone}:8: confirmation 'identity_verification': method 'phone call' is not "
        "accepted (五.9: a password is reset only on a written request and a verified "
        "identity; a phone call is never enough; the user changes it at next logon (五.11)); "
        "accepted: in person with an ID card; in person with a staff card; video call "
        "showing the ID card; written confirmation by the manager",
        companies,
        runs,
    )
    bad = write_ticket(companies, "bad.json", reset(user, it_head, verified=False))
    refused(
        ticket_cli(str(bad), "--password-out", str(out)),
        f"{bad}:7: confirmation 'identity_verification' needs 'verified_by': how, and by "
        "whom, the requester's identity was verified (五.9)",
        companies,
        runs,
    )
    assert bind_error(lab_env, upn, OLD_PASSWORD) == "", "the password must be unchanged"

    good = write_ticket(companies, "good.json", reset(user, it_head))
    result = ticket_cli(str(good), "--password-out", str(out))
    assert result.code == 0, result.err
    assert '"(current, never shown)" → "(new, set from credential ticket-generated)"' in (
        result.out
    )
    password = out.read_text(encoding="utf-8").split("password: ")[1].splitlines()[0]
    assert password not in result.out + result.err
    assert password not in lab_env.journal.read_bytes().decode("latin-1")
    assert bind_error(lab_env, upn, OLD_PASSWORD) == "data 52e"
    assert bind_error(lab_env, upn, password) == "data 773", "must change at next logon"
    entry = directory.read(dn, ["pwdLastSet"])
    assert entry is not None and entry.integer("pwdLastSet") == 0


# --- personal device ---------------------------------------------------------------


def device(companies: Companies, owner: str, name: str, role: str = "top_manager") -> str:
    approver, checker = companies.person("gm", "b"), companies.person("it.head", "b")
    return f"""
id: PD-{name}
type: personal_device
requester: {owner}
approvals:
  - {{name: {approver}, role: {role}, time: "{an_hour_ago()}"}}
confirmations:
  it_security_check: {{checked_by: {checker}, reference: SEC-2026-017}}
parameters:
  company: {companies.b}
  name: {name}
  asset: {companies.b}-PD-7
  owner: {owner}
"""


def test_personal_device_ticket_creates_a_recorded_computer_account(
    directory: Directory, companies: Companies, ticket_cli: Callable[..., Cli], top: str
) -> None:
    owner = f"{top}-pd"
    owner_dn = add_user(companies, owner, [])
    name = f"P{top[1:8]}".upper()
    runs = companies.apply_runs()
    wrong_role = write_ticket(companies, "gm.yml", device(companies, owner, name, "hr"))
    refused(
        ticket_cli(str(wrong_role)),
        f"{wrong_role}:5: approval by {companies.person('gm', 'b')} as hr does not count for ticket type "
        "personal_device, which needs top_manager (一.3)",
        companies,
        runs,
    )
    unknown = write_ticket(
        companies, "co.yml", device(companies, owner, name).replace(f": {companies.b}\n", ": X\n")
    )
    refused(
        ticket_cli(str(unknown)),
        f"{unknown}:9: unknown company 'X' (known: {companies.a}, {companies.b})",
        companies,
        runs,
    )
    dn = f"CN={name},{companies.ou(f'{companies.b}/Personal Devices')}"
    assert directory.read(dn, ["cn"]) is None

    good = write_ticket(companies, "device.yml", device(companies, owner, name))
    result = ticket_cli(str(good))
    assert result.code == 0, result.err
    entry = directory.read(
        dn, ["sAMAccountName", "userAccountControl", "description", "info", "managedBy"]
    )
    assert entry is not None
    assert entry.text("sAMAccountName") == f"{name}$"
    assert entry.integer("userAccountControl") == 4096
    assert entry.text("description") == (
        f"个人设备 Personal device, asset {companies.b}-PD-7, ticket PD-{name}"
    )
    info = entry.text("info") or ""
    assert f"asset: {companies.b}-PD-7\nticket: PD-{name}\nowner: {owner}\n" in info
    checker = companies.person("it.head", "b")
    assert f"it security check: checked_by {checker}, reference SEC-2026-017" in info
    assert entry.text("managedBy") == owner_dn

    again = ticket_cli(str(good))
    assert again.code == 1
    assert again.err.startswith(f"adsuite: {good}:1: ticket PD-{name} was already carried out")
