"""GPOs against the lab DC: adsuite creates, links, edits and deletes them over LDAP and
SMB, and Samba's own tools (samba-tool gpo listall / getlink, ntacl sysvolcheck) and
parsers (samba.gp_parse) read back what it wrote. A second apply moves no version; a
Registry.pol edited with smbclient is drift in words and apply restores it, bumping the
user half only; bad input is one line naming the file and line."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fileshare import write_authfile
from helpers import company_inventory, sid_of
from labkit import Cli, Lab
from samba_gp_oracle import samba_read
from sysvol import BASE, gpc, gpt_file, samba_tool, smbclient_put

from adsuite.connectors.ldap import Directory
from adsuite.engine.loader import load_playbook
from adsuite.formats import gpttmpl_inf
from adsuite.formats import security_descriptor as sdlib
from adsuite.formats.gpt_ini import parse_gpt_ini
from adsuite.formats.gpttmpl_sections import build_gpttmpl
from adsuite.formats.ldap_query import Query
from adsuite.formats.registry_pol import PolEntry, RegType, serialize_registry_pol
from adsuite.resources import registry
from adsuite.resources.gpo.filter import grants_apply
from adsuite.resources.gpo.spec import Spec as GpoSpec
from adsuite.runtime.inventory import load_inventory

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
SYSTEM = r"Software\Microsoft\Windows\CurrentVersion\Policies\System"
ADMINISTRATORS = "*S-1-5-32-544"


def versions(lab_env: Lab, directory: Directory, name: str) -> tuple[int, int]:
    """(versionNumber, GPT.INI Version) of the GPO named *name*."""
    found = gpc(directory, name)
    ini = parse_gpt_ini(gpt_file(lab_env, found.guid, "GPT.INI").read_bytes())
    return found.version & 0xFFFFFFFF, ini.version


def gpo_specs(playbook: Path, inventory: Path) -> dict[str, GpoSpec]:
    loaded = load_playbook(playbook, load_inventory(inventory), registry.specs())
    tasks = [t for play in loaded.plays for t in play.tasks if t.kind == "gpo"]
    return {t.spec.name: t.spec for t in tasks if isinstance(t.spec, GpoSpec)}


def pol_entries(lab_env: Lab, guid: str, half: str) -> set[tuple[str, str, int, tuple[str, ...]]]:
    read = samba_read("pol", gpt_file(lab_env, guid, f"{half}/Registry.pol").read_bytes())
    return {(e["key"], e["name"], e["type"], tuple(e["values"])) for e in read["entries"]}


def declared(policies: Any) -> set[tuple[str, str, int, tuple[str, ...]]]:
    entries = [p.pol_entry() for p in policies]
    return {(e.key, e.value_name, int(e.type), (str(e.data),)) for e in entries}


def test_workstation_lockdown_and_audit_playbooks_apply_and_samba_reads_back_every_setting(
    lab_env: Lab,
    directory: Directory,
    top: str,
    tmp_path: Path,
    repo_site: Callable[[Sequence[str]], Path],
    cli: Callable[..., Cli],
) -> None:
    code = top.upper()
    inventory = company_inventory(lab_env.inventory, tmp_path, code)
    imports = ["group_domain.yml", "workstation_lockdown.yml", "audit_policy.yml"]
    site = repo_site(imports)
    applied = cli("apply", str(site), "-i", str(inventory), "--yes")
    assert applied.code == 0, applied.out + applied.err
    specs = gpo_specs(site, inventory)
    names = [f"{code} Restricted workstation"]
    names += ["Domain Controllers audit policy", "File servers audit policy"]

    listed = samba_tool(lab_env, "gpo", "listall")
    assert listed.returncode == 0, listed.stderr
    for name in names:
        assert f"display name : {name}\n" in listed.stdout
    # no company-wide elevation: each elevated workstation has its own GPO (test_elevation)
    assert f"display name : {code} Elevated workstation\n" not in listed.stdout
    company = f"OU={code},{BASE}"
    expected_links = {
        f"OU=Users,{company}": [names[0]],
        f"OU=Workstations,{company}": [names[0]],
        f"OU=Servers,{company}": [names[2]],
        f"OU=Domain Controllers,{BASE}": [names[1]],
    }
    for container, linked in expected_links.items():
        shown = samba_tool(lab_env, "gpo", "getlink", container)
        assert shown.returncode == 0, shown.stderr
        for name in linked:
            assert f"Name    : {name}\n" in shown.stdout, (container, shown.stdout)

    restricted = gpc(directory, names[0])
    restricted_spec = specs[names[0]]
    assert restricted_spec.user and restricted_spec.user.registry
    assert restricted_spec.machine and restricted_spec.machine.registry
    assert pol_entries(lab_env, restricted.guid, "User") == declared(restricted_spec.user.registry)
    # the machine half holds the registry settings and the AppLocker rules (test_applocker)
    machine = restricted_spec.machine.pol_policies()
    assert machine is not None and restricted_spec.machine.applocker is not None
    assert pol_entries(lab_env, restricted.guid, "Machine") == declared(machine)

    for name in names[1:]:
        audit = gpc(directory, name)
        spec = specs[name]
        assert spec.machine and spec.machine.audit
        csv = samba_read(
            "csv",
            gpt_file(
                lab_env, audit.guid, "Machine/Microsoft/Windows NT/Audit/audit.csv"
            ).read_bytes(),
        )
        rows = {row[2]: row[6] for row in csv["rows"][1:]}
        assert len(rows) == len(spec.machine.audit)
        template = samba_read(
            "inf",
            gpt_file(
                lab_env, audit.guid, "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
            ).read_bytes(),
        )
        assert template["sections"]["Registry Values"] == [
            "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\SCENoApplyLegacyAuditPolicy=4,1"
        ]
        assert "{F3CCC681-B74C-4060-9F26-CD84525DCA2A}" in (audit.machine_extensions or "")
    assert rows == {
        "Audit File System": "3",
        "Audit Detailed File Share": "3",
        "Audit Handle Manipulation": "1",
    }

    checked = samba_tool(lab_env, "ntacl", "sysvolcheck")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    before = {name: versions(lab_env, directory, name) for name in names}
    assert all(number == file for number, file in before.values())
    again = cli("apply", str(site), "-i", str(inventory), "--yes")
    assert again.code == 0, again.out + again.err
    assert "No changes: the domain matches the playbook." in again.out
    assert {name: versions(lab_env, directory, name) for name in names} == before


def small_playbook(top: str, extra: str = "") -> str:
    return f"""
tasks:
  - ou: {{path: {top}, protected: false}}
  - ou: {{path: {top}/Users, protected: false}}
  - group: {{name: {top}-Restricted, ou: {top}}}
  - gpo:
      name: {top} Restricted
      apply_to: [{top}-Restricted]
      links: [{top}/Users]
      user:
        registry:
          - {{key: '{SYSTEM}', value: DisableRegistryTools, type: dword, data: 1}}
          - {{key: 'Software\\Policies\\Microsoft\\Windows\\System', value: DisableCMD, type: dword, data: 2}}
      machine:
        registry:
          - {{key: 'Software\\Policies\\Microsoft\\Windows\\Installer', value: DisableUserInstalls, type: dword, data: 1}}
{extra}"""


def test_registry_pol_edited_with_smbclient_is_drift_and_apply_restores_it_bumping_the_user_half(
    lab_env: Lab,
    directory: Directory,
    top: str,
    tmp_path: Path,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    playbook = write_playbook(small_playbook(top))
    inventory = str(lab_env.inventory)
    applied = cli("apply", str(playbook), "-i", inventory, "--yes")
    assert applied.code == 0, applied.out + applied.err
    name = f"{top} Restricted"
    found = gpc(directory, name)
    number, file = versions(lab_env, directory, name)
    assert number == file == 0x00010001

    sd_query = Query(
        found_dn := f"CN={found.guid},CN=Policies,CN=System,{BASE}",
        "(objectClass=*)",
        ("nTSecurityDescriptor",),
        "base",
        0x04,
    )
    (entry,) = list(directory.search(sd_query))
    dacl = sdlib.parse(entry.raw("nTSecurityDescriptor")[0]).dacl
    appliers = {ace.sid for ace in (dacl.aces if dacl else ()) if grants_apply(ace)}
    assert appliers == {sid_of(directory, f"{top}-Restricted")}, found_dn

    edited = tmp_path / "Registry.pol"
    edited.write_bytes(
        serialize_registry_pol(
            [
                PolEntry.set_value(SYSTEM, "DisableRegistryTools", RegType.REG_DWORD, 0),
                PolEntry.set_value(
                    r"Software\Policies\Microsoft\Windows\System",
                    "DisableCMD",
                    RegType.REG_DWORD,
                    2,
                ),
            ]
        )
    )
    password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    authfile = write_authfile(tmp_path / "admin.auth", "Administrator", password)
    remote = f"{lab_env.status.realm.lower()}\\Policies\\{found.guid}\\User\\Registry.pol"
    smbclient_put(lab_env, authfile, edited, remote)

    drift = cli("drift", str(playbook), "-i", inventory)
    assert drift.code == 2, drift.out + drift.err
    assert "User: DisableRegistryTools is 0, want 1" in drift.out

    restored = cli("apply", str(playbook), "-i", inventory, "--yes")
    assert restored.code == 0, restored.out + restored.err
    assert versions(lab_env, directory, name) == (0x00020001, 0x00020001)
    assert pol_entries(lab_env, found.guid, "User") >= {(SYSTEM, "DisableRegistryTools", 4, ("1",))}
    clean = cli("drift", str(playbook), "-i", inventory)
    assert clean.code == 0, clean.out + clean.err


BAD_INPUT = [
    pytest.param(
        "registry:\n          - {key: 'Software\\X', value: Y, type: dwrod, data: 1}",
        "unknown registry type 'dwrod'",
        id="unknown registry type",
    ),
    pytest.param("guid: '{1234-5678}'", "is not a GUID", id="malformed GUID"),
    pytest.param(
        "links: [{top}/Nowhere]",
        "no such OU in the domain or the playbook",
        id="link to a missing OU",
    ),
]


@pytest.mark.parametrize(("setting", "message"), BAD_INPUT)
def test_bad_gpo_input_is_one_line_naming_file_and_line_and_changes_nothing(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
    setting: str,
    message: str,
) -> None:
    line = setting.replace("{top}", top)
    text = f"tasks:\n  - gpo:\n      name: {top} Bad\n      {line}\n"
    text = text.replace("      registry:", "      user:\n        registry:")
    playbook = write_playbook(text)
    result = cli("apply", str(playbook), "-i", str(lab_env.inventory), "--yes")
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"adsuite: {playbook}:"), result.err
    assert message in lines[0]
    query = Query(f"CN=Policies,CN=System,{BASE}", f"(displayName={top} Bad)", ("cn",), "one")
    assert list(directory.search(query)) == []


def test_a_gpo_with_state_absent_is_unlinked_and_deleted_from_the_directory_and_sysvol(
    lab_env: Lab,
    directory: Directory,
    top: str,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    inventory = str(lab_env.inventory)
    created = cli("apply", str(write_playbook(small_playbook(top))), "-i", inventory, "--yes")
    assert created.code == 0, created.out + created.err
    guid = gpc(directory, f"{top} Restricted").guid
    folder = gpt_file(lab_env, guid, "")
    assert folder.is_dir()
    gone = f"tasks:\n  - gpo: {{name: {top} Restricted, state: absent, allow_delete: true}}\n"
    deleted = cli("apply", str(write_playbook(gone, "gone.yml")), "-i", inventory, "--yes")
    assert deleted.code == 0, deleted.out + deleted.err
    assert f"display name : {top} Restricted" not in samba_tool(lab_env, "gpo", "listall").stdout
    links = samba_tool(lab_env, "gpo", "getlink", f"OU=Users,OU={top},{BASE}")
    assert "No GPO(s) linked" in links.stdout, links.stdout
    assert not folder.exists()


DDP = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
MACHINE_EXTENSIONS = "gPCMachineExtensionNames"


@pytest.fixture()
def ddp_restored(lab_env: Lab, directory: Directory) -> Iterator[None]:
    """The Default Domain Policy's [System Access] file and extension list put back as
    they were after the test, pass or fail: later tests share the lab's domain policy."""
    template = gpt_file(lab_env, DDP, "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf")
    saved = template.read_bytes() if template.exists() else None
    dn = f"CN={DDP},CN=Policies,CN=System,{BASE}"
    entry = directory.read(dn, [MACHINE_EXTENSIONS])
    extensions = entry.text(MACHINE_EXTENSIONS) if entry is not None else None
    try:
        yield
    finally:
        if saved is None:
            template.unlink(missing_ok=True)
        else:
            template.write_bytes(saved)  # the same file: its NT ACL (an xattr) stays
        directory.modify(dn, {MACHINE_EXTENSIONS: ("replace", [extensions] if extensions else [])})


@pytest.mark.usefixtures("ddp_restored")
def test_default_domain_policy_takes_the_password_policy_and_a_disagreement_is_drift(
    lab_env: Lab,
    directory: Directory,
    tmp_path: Path,
    write_playbook: Callable[..., Path],
    cli: Callable[..., Cli],
) -> None:
    playbook = write_playbook(
        "vars:\n  password: {min_length: 9, history: 6, max_age: 150, lockout_duration: never}\n"
        "tasks:\n  - default_domain_policy: '{{ password }}'\n"
    )
    inventory = str(lab_env.inventory)
    applied = cli("apply", str(playbook), "-i", inventory, "--yes")
    assert applied.code == 0, applied.out + applied.err
    ddp = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
    relative = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
    access = dict(
        samba_read("inf", gpt_file(lab_env, ddp, relative).read_bytes())["sections"][
            "System Access"
        ]
    )
    wanted = {"MinimumPasswordLength": "9", "PasswordHistorySize": "6"}
    wanted |= {"MaximumPasswordAge": "150", "LockoutDuration": "-1"}
    assert {k: access[k] for k in wanted} == wanted
    extensions = gpc(directory, "Default Domain Policy").machine_extensions or ""
    assert "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}" in extensions
    assert cli("drift", str(playbook), "-i", inventory).code == 0

    edited = tmp_path / "GptTmpl.inf"
    edited.write_bytes(
        gpttmpl_inf.serialize_gpttmpl(build_gpttmpl(system_access={"MinimumPasswordLength": 7}))
    )
    password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    authfile = write_authfile(tmp_path / "admin.auth", "Administrator", password)
    remote = f"{lab_env.status.realm.lower()}\\Policies\\{ddp}\\{relative.replace('/', chr(92))}"
    smbclient_put(lab_env, authfile, edited, remote)
    drift = cli("drift", str(playbook), "-i", inventory)
    assert drift.code == 2, drift.out + drift.err
    assert "Machine: MinimumPasswordLength is 7, want 9" in drift.out
    assert cli("apply", str(playbook), "-i", inventory, "--yes").code == 0
    assert cli("drift", str(playbook), "-i", inventory).code == 0
