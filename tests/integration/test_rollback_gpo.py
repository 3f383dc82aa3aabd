"""Rollback of GPO changes on the lab DC, checked with Samba's own tools and parsers
(``samba-tool gpo show`` / ``getlink`` / ``listall``, ``ntacl sysvolcheck``, samba.gp_parse):
an updated GPO gets its settings, status, filtering and links back at a higher version;
a created one is removed with its links; a deleted one comes back with its GUID, its
content, links and filtering. A second rollback plans nothing, and a GPO edited after
the run is left alone and reported."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fileshare import write_authfile
from helpers import JSON, run_id_of, sid_of
from labkit import Cli, Lab
from samba_gp_oracle import samba_read
from sysvol import BASE, gpc, gpt_file, samba_tool, smbclient_put

from adsuite.connectors.ldap import Directory
from adsuite.engine.session import Session
from adsuite.formats.gpt_ini import bump_version, parse_gpt_ini, serialize_gpt_ini
from adsuite.formats.registry_pol import PolEntry, RegType, serialize_registry_pol

pytestmark = pytest.mark.lab

SYSTEM = r"Software\Microsoft\Windows\CurrentVersion\Policies\System"
EXPLORER = r"Software\Microsoft\Windows\CurrentVersion\Policies\Explorer"
INSTALLER = r"Software\Policies\Microsoft\Windows\Installer"
TEMPLATE = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
AUDIT = "Machine/Microsoft/Windows NT/Audit/audit.csv"
APPLY = re.compile(r"\(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;([^)]+)\)")


def setup_playbook(top: str) -> str:
    return f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - ou: {{path: {top}/Users, protected: false}}
  - ou: {{path: {top}/Workstations, protected: false}}
  - group: {{name: {top}-A, ou: {top}}}
  - group: {{name: {top}-B, ou: {top}}}
  - gpo:
      name: {top} Policy
      status: enabled
      apply_to: [{top}-A]
      links: [{top}/Users]
      user:
        registry:
          - {{key: '{SYSTEM}', value: DisableRegistryTools, type: dword, data: 1}}
      machine:
        registry:
          - {{key: '{INSTALLER}', value: DisableUserInstalls, type: dword, data: 1}}
        security: {{event_audit: {{AuditLogonEvents: 3}}}}
        audit: {{logon: success}}
"""


def change_playbook(top: str) -> str:
    """Everything the setup declares moves: status, filtering, links, both halves."""
    return f"""
tasks:
  - gpo:
      name: {top} Policy
      status: user_disabled
      apply_to: [{top}-B]
      links: [{{target: {top}/Workstations, enforced: true}}]
      user:
        registry:
          - {{key: '{SYSTEM}', value: DisableRegistryTools, type: dword, data: 0}}
          - {{key: '{EXPLORER}', value: NoControlPanel, type: dword, data: 1}}
      machine:
        security: {{event_audit: {{AuditLogonEvents: 1, AuditSystemEvents: 3}}}}
        audit: {{logon: failure}}
"""


def shown(lab_env: Lab, guid: str) -> dict[str, str]:
    """``samba-tool gpo show``: version, flags and ACL as Samba reads the container."""
    done = samba_tool(lab_env, "gpo", "show", guid)
    assert done.returncode == 0, done.stderr
    return dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in done.stdout.splitlines())
        if value
    )


def linked(lab_env: Lab, container: str) -> str:
    """``samba-tool gpo getlink``: the GPOs linked to a container, with their options."""
    done = samba_tool(lab_env, "gpo", "getlink", container)
    assert done.returncode == 0, done.stderr
    return done.stdout


def settings(lab_env: Lab, guid: str) -> dict[str, Any]:
    """What Samba's parsers read in the GPT: both Registry.pol, GptTmpl.inf, audit.csv."""
    out: dict[str, Any] = {}
    for half in ("User", "Machine"):
        path = gpt_file(lab_env, guid, f"{half}/Registry.pol")
        read = samba_read("pol", path.read_bytes()) if path.exists() else {"entries": []}
        out[half] = sorted(
            (e["key"], e["name"], e["type"], tuple(e["values"])) for e in read["entries"]
        )
    template = samba_read("inf", gpt_file(lab_env, guid, TEMPLATE).read_bytes())
    out["Event Audit"] = sorted(map(tuple, template["sections"].get("Event Audit", [])))
    rows = samba_read("csv", gpt_file(lab_env, guid, AUDIT).read_bytes())["rows"]
    out["audit"] = sorted((row[2], row[6]) for row in rows[1:])
    return out


def state(lab_env: Lab, directory: Directory, top: str) -> dict[str, Any]:
    """The GPO as Samba's tools and parsers see it, every part a rollback restores."""
    guid = gpc(directory, f"{top} Policy").guid
    show = shown(lab_env, guid)
    ini = parse_gpt_ini(gpt_file(lab_env, guid, "GPT.INI").read_bytes())
    appliers = {sid.upper() for sid in APPLY.findall(show["ACL"])}
    return {
        "guid": guid,
        "version": int(show["version"]),
        "gpt.ini version": ini.version,
        "flags": show["flags"],
        "apply": appliers,
        "Users": linked(lab_env, f"OU=Users,OU={top},{BASE}"),
        "Workstations": linked(lab_env, f"OU=Workstations,OU={top},{BASE}"),
        **settings(lab_env, guid),
    }


def halves(version: int) -> tuple[int, int]:
    return version >> 16, version & 0xFFFF


def test_rollback_of_a_gpo_update_restores_settings_status_filtering_and_links_at_higher_versions(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    setup = write_playbook(setup_playbook(top), "setup.yml")
    assert cli("apply", str(setup), "-i", inv, "--yes").code == 0
    before = state(lab_env, directory, top)
    assert before["apply"] == {sid_of(directory, f"{top}-A")}
    assert f"Name    : {top} Policy" in before["Users"]
    applied = cli(
        "apply", str(write_playbook(change_playbook(top), "change.yml")), "-i", inv, *JSON
    )
    assert applied.code == 0, applied.out + applied.err
    changed = state(lab_env, directory, top)
    assert (
        changed["flags"] == "GPO_FLAG_USER_DISABLE"
        and "GPLINK_OPT_ENFORCE" in changed["Workstations"]
    )

    undone = cli("rollback", run_id_of(applied.out), "-i", inv, "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert f'~ gpo        "{top} Policy"' in undone.out  # the GPO and its links: one change
    assert f"link {top}/Workstations: order 1, enabled, enforced → absent" in undone.out
    restored = state(lab_env, directory, top)
    unversioned = ("version", "gpt.ini version")
    assert {k: v for k, v in restored.items() if k not in unversioned} == {
        k: v for k, v in before.items() if k not in unversioned
    }
    assert restored["version"] == restored["gpt.ini version"]
    new_user, new_machine = halves(restored["version"])
    old_user, old_machine = halves(changed["version"])
    assert new_user > old_user and new_machine > old_machine  # clients see both halves move
    checked = samba_tool(lab_env, "ntacl", "sysvolcheck")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert cli("drift", str(setup), "-i", inv).code == 0

    again = cli("rollback", run_id_of(applied.out), "-i", inv, "--yes")
    assert again.code == 0, again.out + again.err
    assert "No changes" in again.out
    assert state(lab_env, directory, top) == restored


def test_rollback_removes_a_gpo_the_run_created_and_recreates_one_it_deleted_with_its_guid(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    setup = setup_playbook(top)
    ous = setup.split("  - gpo:")[0]
    assert cli("apply", str(write_playbook(ous, "ous.yml")), "-i", inv, "--yes").code == 0
    created = cli("apply", str(write_playbook(setup, "setup.yml")), "-i", inv, *JSON)
    assert created.code == 0, created.out + created.err
    guid = gpc(directory, f"{top} Policy").guid

    undone = cli("rollback", run_id_of(created.out), "-i", inv, "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert f"display name : {top} Policy\n" not in samba_tool(lab_env, "gpo", "listall").stdout
    assert "No GPO(s) linked" in linked(lab_env, f"OU=Users,OU={top},{BASE}")
    assert not gpt_file(lab_env, guid, "").exists()
    assert "No changes" in cli("rollback", run_id_of(created.out), "-i", inv, "--yes").out

    again = cli("apply", str(write_playbook(setup, "setup.yml")), "-i", inv, "--yes")
    assert again.code == 0, again.out + again.err
    before = state(lab_env, directory, top)
    gone = f"tasks:\n  - gpo: {{name: {top} Policy, state: absent, allow_delete: true}}\n"
    deleted = cli("apply", str(write_playbook(gone, "gone.yml")), "-i", inv, *JSON)
    assert deleted.code == 0, deleted.out + deleted.err

    back = cli("rollback", run_id_of(deleted.out), "-i", inv, "--yes")
    assert back.code == 0, back.out + back.err
    assert f"GUID: {before['guid']} (the same as before)" in back.out
    restored = state(lab_env, directory, top)
    assert restored["guid"] == before["guid"]
    unversioned = ("version", "gpt.ini version")
    assert {k: v for k, v in restored.items() if k not in unversioned} == {
        k: v for k, v in before.items() if k not in unversioned
    }
    assert restored["version"] == restored["gpt.ini version"]
    assert all(
        n > o for n, o in zip(halves(restored["version"]), halves(before["version"]), strict=True)
    )
    checked = samba_tool(lab_env, "ntacl", "sysvolcheck")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert cli("drift", str(write_playbook(setup, "setup.yml")), "-i", inv).code == 0
    assert "No changes" in cli("rollback", run_id_of(deleted.out), "-i", inv, "--yes").out


def edit_registry_with_smbclient(
    lab_env: Lab, directory: Directory, guid: str, folder: Path
) -> None:
    """An administrator replaces the user half's Registry.pol by hand (no version bump)."""
    local = folder / "Registry.pol"
    local.write_bytes(
        serialize_registry_pol(
            [PolEntry.set_value(SYSTEM, "DisableRegistryTools", RegType.REG_DWORD, 5)]
        )
    )
    smbclient_put(
        lab_env,
        authfile(lab_env, folder),
        local,
        rf"{realm(lab_env)}\Policies\{guid}\User\Registry.pol",
    )


def edit_machine_half_as_an_editor(
    lab_env: Lab, directory: Directory, guid: str, folder: Path
) -> None:
    """A part the run never touched, edited as the Group Policy editor does: a machine
    setting written, then the machine half's version raised in GPT.INI and the directory."""
    local = folder / "Registry.pol"
    entry = PolEntry.set_value(INSTALLER, "DisableUserInstalls", RegType.REG_DWORD, 0)
    local.write_bytes(serialize_registry_pol([entry]))
    remote = rf"{realm(lab_env)}\Policies\{guid}"
    smbclient_put(lab_env, authfile(lab_env, folder), local, rf"{remote}\Machine\Registry.pol")
    ini = parse_gpt_ini(gpt_file(lab_env, guid, "GPT.INI").read_bytes())
    version = bump_version(ini.version, machine=True)
    local = folder / "GPT.INI"
    local.write_bytes(serialize_gpt_ini(ini.with_version(version)))
    smbclient_put(lab_env, authfile(lab_env, folder), local, rf"{remote}\GPT.INI")
    dn = f"CN={guid},CN=Policies,CN=System,{BASE}"
    directory.modify(dn, {"versionNumber": ("replace", [str(version)])})


def authfile(lab_env: Lab, folder: Path) -> Path:
    password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    return write_authfile(folder / "admin.auth", "Administrator", password)


def realm(lab_env: Lab) -> str:
    return lab_env.status.realm.lower()


def test_rolling_back_two_gpos_linked_on_one_ou_removes_both_links_without_a_conflict(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    """Removing the first link moves the second up one place; that is the rollback's own
    doing, not someone else's edit, so the second GPO goes too."""
    inv = str(lab_env.inventory)
    ous = f"tasks:\n  - ou: {{path: {top}, protected: false}}\n"
    assert cli("apply", str(write_playbook(ous, "ous.yml")), "-i", inv, "--yes").code == 0
    gpos = "tasks:\n" + "".join(
        f"  - gpo: {{name: {top} G{n}, status: enabled, links: [{top}]}}\n" for n in (1, 2, 3)
    )
    created = cli("apply", str(write_playbook(gpos, "gpos.yml")), "-i", inv, *JSON)
    assert created.code == 0, created.out + created.err
    assert linked(lab_env, f"OU={top},{BASE}").count(f"{top} G") == 3

    undone = cli("rollback", run_id_of(created.out), "-i", inv, "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert "CONFLICT" not in undone.out + undone.err
    listed = samba_tool(lab_env, "gpo", "listall").stdout
    assert [n for n in (1, 2, 3) if f"display name : {top} G{n}\n" in listed] == []
    assert "No GPO(s) linked" in linked(lab_env, f"OU={top},{BASE}")


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(edit_registry_with_smbclient, id="a setting the run changed, by hand"),
        pytest.param(edit_machine_half_as_an_editor, id="another setting, version bumped"),
    ],
)
def test_a_gpo_edited_after_the_run_is_reported_as_moved_on_and_left_alone_links_included(
    lab_env: Lab,
    directory: Directory,
    top: str,
    tmp_path: Path,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
    edit: Callable[[Lab, Directory, str, Path], None],
) -> None:
    inv = str(lab_env.inventory)
    assert (
        cli("apply", str(write_playbook(setup_playbook(top), "setup.yml")), "-i", inv, "--yes").code
        == 0
    )
    change = write_playbook(
        change_playbook(top).split("      machine:")[0], "change.yml"
    )  # the user half, status, filtering and links; the machine half stays
    applied = cli("apply", str(change), "-i", inv, *JSON)
    assert applied.code == 0, applied.out + applied.err
    guid = gpc(directory, f"{top} Policy").guid
    edit(lab_env, directory, guid, tmp_path)
    edited = state(lab_env, directory, top)

    undone = cli("rollback", run_id_of(applied.out), "-i", inv, "--yes")
    assert undone.code == 1, undone.out + undone.err
    assert f'LEFT ALONE: "{top} Policy" changed since run {run_id_of(applied.out)}' in undone.err
    assert "No changes" in undone.out
    assert state(lab_env, directory, top) == edited
    assert "GPLINK_OPT_ENFORCE" in edited["Workstations"]  # its links were left alone too


def test_a_link_changed_between_the_rollbacks_plan_and_its_apply_is_a_conflict_nothing_written(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inv = str(lab_env.inventory)
    assert (
        cli("apply", str(write_playbook(setup_playbook(top), "setup.yml")), "-i", inv, "--yes").code
        == 0
    )
    only_links = f"tasks:\n  - gpo: {{name: {top} Policy, links: [{top}/Workstations]}}\n"
    applied = cli("apply", str(write_playbook(only_links, "links.yml")), "-i", inv, *JSON)
    assert applied.code == 0, applied.out + applied.err
    session = Session.for_inventory(lab_env.inventory, journal_path=lab_env.journal)
    with session.connect() as conn:
        undo = session.rollback_plan(run_id_of(applied.out), conn)
        (change,) = undo.plan.changes
        assert change.target == f'"{top} Policy"'
        users = f"OU=Users,OU={top},{BASE}"
        guid = gpc(directory, f"{top} Policy").guid
        link = f"[LDAP://cn={guid},cn=policies,cn=system,{BASE};2]"  # someone links it, enforced
        directory.modify(users, {"gPLink": ("replace", [link])})
        result = session.apply(undo.plan, conn, mode="rollback")
    (outcome,) = result.outcomes
    assert outcome.outcome == "conflict", outcome
    assert f"its link on {users} changed since the plan" in (outcome.error or "")
    assert f"Name    : {top} Policy" in linked(lab_env, f"OU=Workstations,OU={top},{BASE}")
    assert "GPLINK_OPT_ENFORCE" in linked(lab_env, users)  # their link, as they left it
