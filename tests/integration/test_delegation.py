"""Delegation against the real lab DC: two company-like OU trees under the test's own
top OU, each with its own admin group; the full plan → apply → no-op → drift → repair
cycle, unmanaged ACEs in add and exact mode, and the proof that matters — binding as a
delegated admin, who can create accounts and reset passwords in its own company's OU
and is refused in the other's."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import sid_at
from labkit import Cli, Lab

from adsuite.connectors.credentials import Secret
from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.errors import DirectoryError
from adsuite.formats import sddl
from adsuite.formats import security_descriptor as sdlib
from adsuite.resources.delegation import dacl

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
SD = "nTSecurityDescriptor"
CREDENTIAL = "deleg-test"
USER = "bf967aba-0de6-11d0-a285-00aa003049e2"  # cross-checks only: adsuite reads them by name
GROUP = "bf967a9c-0de6-11d0-a285-00aa003049e2"
COMPUTER = "bf967a86-0de6-11d0-a285-00aa003049e2"
PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"
RESET_PASSWORD = "00299570-246d-11d0-a768-00aa006e0529"
ALL_RIGHTS = (
    "[create_delete_users, create_delete_groups, create_delete_computers,"
    " manage_users, manage_groups, manage_computers, reset_passwords]"
)


def companies_playbook(top: str, mode: str = "add") -> str:
    """Companies CA and CB under *top*, an admin group each, a helpdesk group in CA."""
    return f"""
name: two companies under {top}
vars:
  companies_here: [CA, CB]
tasks:
  - ou: {{path: {top}}}
  - loop: "{{{{ companies_here }}}}"
    ou: {{path: "{top}/{{{{ item }}}}"}}
  - loop: "{{{{ companies_here | product(['Users', 'Groups']) | list }}}}"
    ou: {{path: "{top}/{{{{ item[0] }}}}/{{{{ item[1] }}}}"}}
  - loop: "{{{{ companies_here }}}}"
    group: {{name: "{top}-{{{{ item }}}}-Adm", ou: "{top}/{{{{ item }}}}/Groups"}}
  - group: {{name: {top}-CA-Help, ou: {top}/CA/Groups}}
  - user: {{name: {top}-caadm, ou: {top}/CA/Users, password: {{credential: {CREDENTIAL}}}}}
  - user: {{name: {top}-cahelp, ou: {top}/CA/Users, password: {{credential: {CREDENTIAL}}}}}
  - loop: "{{{{ companies_here }}}}"
    user: {{name: "{top}-{{{{ item | lower }}}}staff", ou: "{top}/{{{{ item }}}}/Users"}}
  - membership: {{group: {top}-CA-Adm, members: [{top}-caadm]}}
  - membership: {{group: {top}-CA-Help, members: [{top}-cahelp]}}
  - name: each company's admins run their own OU
    loop: "{{{{ companies_here }}}}"
    delegation:
      ou: "{top}/{{{{ item }}}}"
      trustee: "{top}-{{{{ item }}}}-Adm"
      rights: {ALL_RIGHTS}
      mode: {mode}
  - delegation: {{ou: {top}/CA, trustee: {top}-CA-Help, rights: [reset_passwords], mode: {mode}}}
"""


@pytest.fixture()
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    """The delegated admins' password, handed to adsuite as a credential variable."""
    value = "Dg1!" + secrets.token_urlsafe(18)
    monkeypatch.setenv("ADSUITE_CRED_DELEG_TEST", value)
    return value


def ou_dn(top: str, path: str = "") -> str:
    parts = [p for p in path.split("/") if p]
    return ",".join([*(f"OU={p}" for p in reversed(parts)), f"OU={top}", BASE])


def explicit_sddl(directory: Directory, dn: str) -> set[str]:
    entry = directory.read(dn, [SD], sd_flags=dacl.DACL_ONLY)
    assert entry is not None
    aces = dacl.explicit_aces(entry.raw(SD)[0])
    acl = sdlib.Acl(sdlib.ACL_REVISION_DS, tuple(aces))
    text = sddl.to_sddl(sdlib.SecurityDescriptor(1, 0, None, None, acl, None))[2:]
    return {f"({a})" for a in text.strip("()").split(")(")}


def edit_dacl(directory: Directory, dn: str, add: list[str], remove: list[str]) -> None:
    """An out-of-band edit, as an administrator with ldap3 would make it."""
    entry = directory.read(dn, [SD], sd_flags=dacl.DACL_ONLY)
    assert entry is not None

    def aces(texts: list[str]) -> list[sdlib.Ace]:
        acl = sddl.from_sddl("D:" + "".join(texts)).dacl
        return list(acl.aces) if acl else []

    edited = dacl.edit(entry.raw(SD)[0], aces(add), aces(remove))
    directory.modify(dn, {SD: ("replace", [edited])}, sd_flags=dacl.DACL_ONLY)


def wizard_aces(sid: str) -> set[str]:
    """What the Delegation of Control Wizard writes for the seven rights (delegwiz.inf)."""
    creates = {f"(OA;CI;CCDC;{cls};;{sid})" for cls in (USER, GROUP, COMPUTER)}
    manages = {
        f"(OA;CIIO;CCDCLCSWRPWPDTLOCRSDRCWDWO;;{cls};{sid})" for cls in (USER, GROUP, COMPUTER)
    }
    return creates | manages | reset_aces(sid)


def reset_aces(sid: str) -> set[str]:
    return {
        f"(OA;CIIO;CR;{RESET_PASSWORD};{USER};{sid})",
        f"(OA;CIIO;RPWP;{PWD_LAST_SET};{USER};{sid})",
    }


def test_delegation_cycle_plan_apply_noop_drift_repair_and_exact_mode(
    lab_env: Lab,
    directory: Directory,
    top: str,
    password: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    playbook, inv = write_playbook(companies_playbook(top)), str(lab_env.inventory)
    planned = cli("plan", str(playbook), "-i", inv)
    assert planned.code == 0, planned.err
    assert f"~ delegation OU=CA,OU={top},{BASE}" in planned.out
    assert f"""{top}-CA-Help 'reset passwords': "missing" → "granted\"""" in planned.out

    applied = cli("apply", str(playbook), "-i", inv, "--yes")
    assert applied.code == 0, applied.out + applied.err
    ca, admins = ou_dn(top, "CA"), sid_at(directory, f"CN={top}-CA-Adm,{ou_dn(top, 'CA/Groups')}")
    helpdesk = sid_at(directory, f"CN={top}-CA-Help,{ou_dn(top, 'CA/Groups')}")
    assert wizard_aces(admins) | reset_aces(helpdesk) <= explicit_sddl(directory, ca)
    assert "No changes" in cli("plan", str(playbook), "-i", inv).out

    creates_users = f"(OA;CI;CCDC;{USER};;{admins})"
    edit_dacl(directory, ca, [], [creates_users])
    drift = cli("drift", str(playbook), "-i", inv)
    assert drift.code == 2, drift.out + drift.err
    (line,) = [x for x in drift.out.splitlines() if f"delegation {ca}" in x]
    assert f"{top}-CA-Adm 'create and delete users'" in line and '"missing"' in line
    assert "Applied 1, failed 0" in cli("apply", str(playbook), "-i", inv, "--yes").out
    assert creates_users in explicit_sddl(directory, ca)
    assert cli("drift", str(playbook), "-i", inv).code == 0

    unmanaged_ace_is_left_alone_in_add_mode_and_removed_in_exact_mode(
        directory, top, write_playbook, cli, inv
    )


def unmanaged_ace_is_left_alone_in_add_mode_and_removed_in_exact_mode(
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
    inv: str,
) -> None:
    ca = ou_dn(top, "CA")
    other = sid_at(directory, f"CN={top}-CB-Adm,{ou_dn(top, 'CB/Groups')}")
    intruder = f"(A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{other})"
    edit_dacl(directory, ca, [intruder], [])
    add_mode = write_playbook(companies_playbook(top), "add.yml")
    assert cli("drift", str(add_mode), "-i", inv).code == 0, "add mode leaves it alone"

    exact = write_playbook(companies_playbook(top, "exact"), "exact.yml")
    before = explicit_sddl(directory, ca)
    drift = cli("drift", str(exact), "-i", inv)
    assert drift.code == 2, drift.out + drift.err
    words = f"unmanaged ACE: GROUP\\{top}-CB-Adm 'full control on this object and descendants'"
    assert words in drift.out
    assert "Applied 1, failed 0" in cli("apply", str(exact), "-i", inv, "--yes").out
    assert explicit_sddl(directory, ca) == before - {intruder}, "only the intruder went"
    assert cli("drift", str(exact), "-i", inv).code == 0


def bind_as(lab_env: Lab, username: str, password: str) -> Directory:
    status = lab_env.status
    endpoint = Endpoint(status.ldap_url, str(status.ca_file), status.tls_name, username)
    return Directory.connect(endpoint, Secret(password))


def new_password() -> list[bytes]:
    return [('"' + "Rs1!" + secrets.token_urlsafe(18) + '"').encode("utf-16-le")]


def test_delegated_admin_manages_its_own_company_ou_and_is_refused_in_another(
    lab_env: Lab, directory: Directory, top: str, password: str, write_playbook: Callable[..., Path]
) -> None:
    session = lab_env.session(write_playbook(companies_playbook(top)))
    with session.connect() as conn:
        result = session.apply(session.plan(conn), conn)
    assert result.status == "ok", result.outcomes
    realm = lab_env.status.realm.lower()
    own_users, other_users = ou_dn(top, "CA/Users"), ou_dn(top, "CB/Users")
    name = f"n{uuid.uuid4().hex[:10]}"

    with bind_as(lab_env, f"{top}-caadm@{realm}", password) as admin:
        admin.add(f"CN={name},{own_users}", {"objectClass": ["user"], "sAMAccountName": name})
        admin.modify(f"CN={name},{own_users}", {"unicodePwd": ("replace", new_password())})
        admin.modify(f"CN={top}-castaff,{own_users}", {"unicodePwd": ("replace", new_password())})
        admin.delete(f"CN={name},{own_users}")
        with pytest.raises(DirectoryError, match="insufficient access rights"):
            admin.add(f"CN={name},{other_users}", {"objectClass": ["user"], "sAMAccountName": name})
        with pytest.raises(DirectoryError, match="insufficient access rights"):
            admin.modify(
                f"CN={top}-cbstaff,{other_users}", {"unicodePwd": ("replace", new_password())}
            )
    assert directory.read(f"CN={name},{other_users}", ["cn"]) is None

    with bind_as(lab_env, f"{top}-cahelp@{realm}", password) as helpdesk:
        helpdesk.modify(
            f"CN={top}-castaff,{own_users}", {"unicodePwd": ("replace", new_password())}
        )
        helpdesk.modify(f"CN={top}-castaff,{own_users}", {"pwdLastSet": ("replace", ["0"])})
        with pytest.raises(DirectoryError, match="insufficient access rights"):
            helpdesk.add(
                f"CN={name},{own_users}", {"objectClass": ["user"], "sAMAccountName": name}
            )


def test_group_domain_playbook_delegates_each_company_its_own_ou_only(
    lab_env: Lab, directory: Directory
) -> None:
    """The shipped playbook: every company's IT admins on their own OU, a second run is empty."""
    session = lab_env.session(Path(__file__).parents[2] / "playbooks" / "group_domain.yml")
    with session.connect() as conn:
        result = session.apply(session.plan(conn), conn)
        assert result.status == "ok", result.outcomes
        assert session.plan(conn).empty
    hq_admins = sid_at(directory, f"CN=HQ-IT-Admins,OU=Role Groups,{BASE}")
    assert wizard_aces(hq_admins) <= explicit_sddl(directory, f"OU=HQ,{BASE}")
    hantong = explicit_sddl(directory, f"OU=HANTONG,{BASE}")
    assert not any(hq_admins in ace for ace in hantong), "HQ's admins have no say in HANTONG"
