"""Rollback of the access kinds on the lab DC, through the real command line: delegation
(the ACEs on an OU), privileged (the super-administrator groups, a primary group, the
built-in Administrator's delegation flag) and the elevation grants ticketed_membership
allows — and the changes adsuite never undoes, each with its reason.

Every test applies a change to existing state, rolls the run back with ``adsuite
rollback RUN --yes``, checks the before state with an independent read (ldap3, and
Samba's own descriptor parser for ACEs), rolls back again to see nothing planned, and
changes an object after a run to see it reported and left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import JSON, company_inventory, run_id_of, sid_at
from labkit import Cli, Lab
from samba_oracle import samba_unpack
from test_delegation import PWD_LAST_SET, RESET_PASSWORD, USER, edit_dacl
from test_superadmin import privileged_task

from adsuite.connectors.ldap import Directory
from adsuite.formats.sid import sid_from_bytes
from adsuite.resources.delegation import dacl

pytestmark = pytest.mark.lab

BASE = "DC=group,DC=example,DC=com"
SD = "nTSecurityDescriptor"
REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "playbooks" / "approvals.yml"
DOMAIN_ADMINS = f"CN=Domain Admins,CN=Users,{BASE}"
BACKUP_OPERATORS = f"CN=Backup Operators,CN=Builtin,{BASE}"
ADMINISTRATOR = f"CN=Administrator,CN=Users,{BASE}"
NOT_DELEGATED = 0x100000
PASSWORD = "Rb-Passw0rd-4e1c!"


def explicit_aces(directory: Directory, dn: str) -> Counter[str]:
    """The OU's explicit ACEs as Samba's own parser spells them (inherited ones left out)."""
    entry = directory.read(dn, [SD], sd_flags=dacl.DACL_ONLY)
    domain = directory.read(BASE, ["objectSid"])
    assert entry is not None and domain is not None
    text, _ = samba_unpack(entry.raw(SD)[0], sid_from_bytes(domain.raw("objectSid")[0]))
    aces = re.findall(r"\([^()]*\)", text.split("D:", 1)[1].split("S:", 1)[0])
    return Counter(a for a in aces if "ID" not in a.split(";")[1])


def members(directory: Directory, dn: str) -> set[str]:
    entry = directory.read(dn, ["member"])
    assert entry is not None, dn
    return {m.lower() for m in entry.texts("member")}


def staff(directory: Directory, dn: str, code: str) -> set[str]:
    """The members but for the approver role holders (<code>.gm, …) that approvers.yml
    puts in their company's restricted class."""
    return {m for m in members(directory, dn) if not m.startswith(f"cn={code.lower()}.")}


# --- delegation -------------------------------------------------------------------------


def test_delegation_rollback_takes_back_grants_puts_back_revokes_and_leaves_other_aces(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv, ou = str(lab_env.inventory), f"OU={top},{BASE}"
    setup = write_playbook(
        f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - loop: [adm, oth]
    group: {{name: "{top}-{{{{ item }}}}", ou: {top}}}
  - delegation: {{ou: {top}, trustee: {top}-oth, rights: [reset_passwords]}}
""",
        "setup.yml",
    )
    assert cli("apply", str(setup), "-i", inv, "--yes").code == 0
    other = sid_at(directory, f"CN={top}-oth,{ou}")
    edit_dacl(directory, ou, [f"(OD;;WP;{PWD_LAST_SET};;{other})"], [])  # by hand: a deny
    before = explicit_aces(directory, ou)

    change = write_playbook(
        f"""
tasks:
  - group: {{name: {top}-new, ou: {top}}}
  - delegation: {{ou: {top}, trustee: {top}-adm, rights: [create_delete_users, manage_users], mode: exact}}
  - delegation: {{ou: {top}, trustee: {top}-new, rights: [reset_passwords]}}
""",
        "change.yml",
    )
    applied = cli("apply", str(change), "-i", inv, "--yes", "--format", "json")
    assert applied.code == 0, applied.out + applied.err
    run_id = run_id_of(applied.out)
    assert explicit_aces(directory, ou) != before
    unrelated = f"(A;;RC;;;{other})"
    edit_dacl(directory, ou, [unrelated], [])  # after the run, an ACE adsuite never touched

    undone = cli("rollback", run_id, "-i", inv, "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert f"""{top}-adm 'create and delete users': "granted" → "missing\"""" in undone.out
    assert f"""{top}-new 'reset passwords': "granted" → "missing\"""" in undone.out
    assert '"removed (exact mode)" → "present"' in undone.out
    assert f"- group      CN={top}-new,{ou}" in undone.out
    assert explicit_aces(directory, ou) == before + Counter([unrelated])
    assert directory.read(f"CN={top}-new,{ou}", ["cn"]) is None

    again = cli("rollback", run_id, "-i", inv, "--yes")
    assert again.code == 0, again.out + again.err
    assert "No changes" in again.out


def test_delegation_changed_since_the_run_is_reported_and_left_alone(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv, ou = str(lab_env.inventory), f"OU={top},{BASE}"
    setup = write_playbook(
        f"tasks:\n  - ou: {{path: {top}, protected: false}}\n"
        f"  - group: {{name: {top}-adm, ou: {top}}}\n",
        "setup.yml",
    )
    assert cli("apply", str(setup), "-i", inv, "--yes").code == 0
    grant = write_playbook(
        f"tasks:\n  - delegation: {{ou: {top}, trustee: {top}-adm, rights: [reset_passwords]}}\n",
        "grant.yml",
    )
    applied = cli("apply", str(grant), "-i", inv, "--yes", "--format", "json")
    assert applied.code == 0, applied.out + applied.err
    admins = sid_at(directory, f"CN={top}-adm,{ou}")
    edit_dacl(directory, ou, [], [f"(OA;CIIO;CR;{RESET_PASSWORD};{USER};{admins})"])
    kept = explicit_aces(directory, ou)

    undone = cli("rollback", run_id_of(applied.out), "-i", inv, "--yes")
    assert undone.code == 1, undone.out + undone.err
    assert f"LEFT ALONE: {ou} changed since run" in undone.err
    assert explicit_aces(directory, ou) == kept  # the other ACE of the grant is still there


# --- privileged -------------------------------------------------------------------------


@pytest.fixture()
def holders(directory: Directory, top: str) -> Iterator[dict[str, str]]:
    """Accounts of the test's own that hold super-administrator rights nobody declared:
    pa and pc in Domain Admins (pa in Backup Operators too), pb by its primary group; the
    built-in Administrator not marked "sensitive". Afterwards the accounts are deleted
    (so out of every group) and the Administrator's flags are as they were."""
    directory.add(f"OU={top},{BASE}", {"objectClass": ["organizationalUnit"]})
    dns = {name: f"CN={top}-{name},OU={top},{BASE}" for name in ("pa", "pb", "pc")}
    admin = directory.read(ADMINISTRATOR, ["userAccountControl"])
    assert admin is not None
    uac = admin.integer("userAccountControl") or 0
    try:
        for name, dn in dns.items():
            directory.add(dn, {"objectClass": ["user"], "sAMAccountName": [f"{top}-{name}"]})
        directory.modify(DOMAIN_ADMINS, {"member": ("add", list(dns.values()))})
        directory.modify(BACKUP_OPERATORS, {"member": ("add", [dns["pa"]])})
        directory.modify(dns["pb"], {"primaryGroupID": ("replace", ["512"])})
        directory.modify(
            ADMINISTRATOR, {"userAccountControl": ("replace", [str(uac & ~NOT_DELEGATED)])}
        )
        yield dns
    finally:
        directory.modify(ADMINISTRATOR, {"userAccountControl": ("replace", [str(uac)])})
        for dn in dns.values():
            if directory.read(dn, ["cn"]) is not None:
                directory.delete(dn)


def primary_group(directory: Directory, dn: str) -> int | None:
    entry = directory.read(dn, ["primaryGroupID"])
    assert entry is not None
    return entry.integer("primaryGroupID")


def test_privileged_rollback_puts_back_what_the_allow_list_took_and_says_so_plainly(
    lab_env: Lab,
    directory: Directory,
    holders: dict[str, str],
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv, (pa, pb, pc) = str(lab_env.inventory), holders.values()
    before = members(directory, DOMAIN_ADMINS), members(directory, BACKUP_OPERATORS)
    allow_list = write_playbook("tasks:\n" + privileged_task())
    applied = cli("apply", str(allow_list), "-i", inv, "--yes", "--format", "json")
    assert applied.code == 0, applied.out + applied.err
    assert members(directory, DOMAIN_ADMINS) == {ADMINISTRATOR.lower()}
    assert primary_group(directory, pb) == 513

    undone = cli("rollback", run_id_of(applied.out), "-i", inv, "--yes")
    assert undone.code == 0, undone.out + undone.err
    back = "puts back super-administrator rights: drift unless the privileged task declares it"
    assert f"+ member {pa} ({back}, 五.6)" in undone.out
    assert "primary group: Domain Users → Domain Admins (puts back super-administrator " in (
        undone.out
    )
    assert "the built-in Administrator may be delegated again, which 五.6 forbids" in undone.out
    assert (members(directory, DOMAIN_ADMINS), members(directory, BACKUP_OPERATORS)) == before
    assert primary_group(directory, pb) == 512
    admin = directory.read(ADMINISTRATOR, ["userAccountControl"])
    assert admin is not None and not (admin.integer("userAccountControl") or 0) & NOT_DELEGATED

    drift = cli("drift", str(allow_list), "-i", inv)
    assert drift.code == 2, "what the rollback put back is drift against the allow-list"
    assert f"has unwanted member {pc}" in drift.out
    again = cli("rollback", run_id_of(applied.out), "-i", inv, "--yes")
    assert again.code == 0 and "No changes" in again.out, again.out + again.err

    # the allow-list again; then someone puts pc back by hand: Domain Admins moved on
    reapplied = cli("apply", str(allow_list), "-i", inv, "--yes", "--format", "json")
    assert reapplied.code == 0, reapplied.out + reapplied.err
    directory.modify(DOMAIN_ADMINS, {"member": ("add", [pc])})
    left = cli("rollback", run_id_of(reapplied.out), "-i", inv, "--yes")
    assert left.code == 1, left.out + left.err
    assert f"LEFT ALONE: {DOMAIN_ADMINS} changed since run" in left.err
    assert members(directory, DOMAIN_ADMINS) == {ADMINISTRATOR.lower(), pc.lower()}
    assert pa.lower() in members(directory, BACKUP_OPERATORS), "the rest was rolled back"


# --- elevation grants (ticketed_membership) and what is never undone -----------------------


def ticket(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.yml"
    path.write_text(body, encoding="utf-8")
    return path


def elevation(folder: Path, code: str, number: int) -> Path:
    when = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ticket(
        folder,
        f"EL-{code}-{number}",
        f"""id: EL-{code}-{number}
type: elevation
requester: {code}-zw
approvals:
  - {{name: {code.lower()}.fin.head, role: department_head, time: "{when}"}}
  - {{name: {code.lower()}.gm, role: general_manager, time: "{when}"}}
parameters:
  {{company: {code}, user: {code}-zw, workstation: {code}-PC1, reason: builds the CAD plug-ins}}
""",
    )


def test_rolling_back_an_elevation_ends_its_grant_and_what_cannot_be_undone_says_why(
    lab_env: Lab,
    directory: Directory,
    top: str,
    tmp_path: Path,
    cli: Callable[..., Cli],
) -> None:
    code = top.upper()
    inventory = str(
        company_inventory(
            lab_env.inventory, tmp_path, code, ip_range="10.97.0.0/16", name="inventory.yml"
        )
    )
    groups, users = f"OU=Groups,OU={code},{BASE}", f"OU=Users,OU={code},{BASE}"
    elevated, restricted = f"CN={code}-Elevated,{groups}", f"CN={code}-Restricted,{groups}"
    zw, mal = f"CN={code}-zw,{users}", f"CN={code}-mal,{users}"
    setup = ticket(
        tmp_path,
        "setup",
        f"""tasks:
  - ou: {{path: Role Groups}}
  - ou: {{path: {code}, protected: false}}
  - loop: [Users, Groups, Workstations]
    ou: {{path: "{code}/{{{{ item }}}}", protected: false}}
  - loop: [Elevated, Restricted]
    group: {{name: "{code}-{{{{ item }}}}", ou: {code}/Groups}}
  - computer: {{name: {code}-PC1, ou: {code}/Workstations}}
  - group: {{name: {code}-LA-{code}-PC1, ou: {code}/Groups, scope: domain_local}}
  - loop: [zw, mal]
    user: {{name: "{code}-{{{{ item }}}}", ou: {code}/Users, enabled: true, password: {{credential: rb-pw}}}}
  - membership: {{group: {code}-Restricted, members: [{code}-zw, {code}-mal]}}
""",
    )
    made = cli("apply", str(setup), "-i", inventory, "--yes", env={"ADSUITE_CRED_RB_PW": PASSWORD})
    assert made.code == 0, made.out + made.err
    approvers = cli("apply", str(REPO / "playbooks" / "approvers.yml"), "-i", inventory, "--yes")
    assert approvers.code == 0, approvers.out + approvers.err  # <code>.gm, <code>.fin.head…
    lockdown = ticket(
        tmp_path,
        "lockdown",
        f"tasks:\n  - ticketed_membership: {{group: {code}-Elevated, ticket_type: elevation, "
        "clause: 二.1.b}\n",
    )

    def carry_out(path: Path, *extra: str) -> Cli:
        args = ("ticket", "apply", str(path), "-i", inventory, "--rules", str(RULES), *JSON)
        return cli(*args, *extra)

    def drift() -> Cli:
        return cli("drift", str(lockdown), "-i", inventory)

    first = elevation(tmp_path, code, 1)
    granted = carry_out(first)
    assert granted.code == 0, granted.out + granted.err
    assert members(directory, elevated) == {zw.lower()}
    assert drift().code == 0

    undone = cli("rollback", run_id_of(granted.out), "-i", inventory, "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert members(directory, elevated) == set()
    assert staff(directory, restricted, code) == {zw.lower(), mal.lower()}
    clean = drift()
    assert clean.code == 0 and "WARN" not in clean.out, "a rolled-back grant is no grant at all"
    again = cli("rollback", run_id_of(granted.out), "-i", inventory, "--yes")
    assert again.code == 0 and "No changes" in again.out, again.out + again.err
    reused = carry_out(first)
    assert reused.code == 1 and "was already carried out" in reused.err, reused.err

    directory.modify(elevated, {"member": ("add", [zw])})  # back by hand: not approved now
    found = drift()
    assert found.code == 2, found.out + found.err
    assert f"{code}-Elevated has {code}-zw without an approved elevation ticket" in found.out
    removed = cli("apply", str(lockdown), "-i", inventory, "--yes", "--format", "json")
    assert removed.code == 0, removed.out + removed.err
    kept_out = cli("rollback", run_id_of(removed.out), "-i", inventory, "--yes")
    assert kept_out.code == 1, kept_out.out + kept_out.err
    assert (
        f"NOT ROLLED BACK: ticketed_membership {elevated}: cannot be undone: it took out "
        "members no approved ticket allowed" in kept_out.err
    )
    assert members(directory, elevated) == set()

    renewed = carry_out(elevation(tmp_path, code, 2))
    assert renewed.code == 0, renewed.out + renewed.err
    assert members(directory, elevated) == {zw.lower()} and drift().code == 0

    reset = ticket(
        tmp_path,
        "reset",
        f"""id: PR-{code}
type: password_reset
requester: {code}-mal
confirmations:
  written_request: OA-2026-1127-009
  identity_verification: {{method: in person with a staff card, verified_by: {code.lower()}.it.head}}
parameters: {{user: {code}-mal}}
""",
    )
    done = carry_out(reset, "--password-out", str(tmp_path / "new-password.txt"))
    assert done.code == 0, done.out + done.err
    not_undone = cli("rollback", run_id_of(done.out), "-i", inventory, "--yes")
    assert not_undone.code == 1, not_undone.out + not_undone.err
    assert (
        f"NOT ROLLED BACK: password_reset {mal}: cannot be undone: the old password is not "
        "known to adsuite and must never be" in not_undone.err
    )
    assert "No changes" in not_undone.out
