"""Removable storage denied for every user (二.1.a) and the file servers' computer
accounts in their company's Servers OU (五.7), as the shipped playbooks declare them,
against the lab DC. Samba's own Registry.pol parser reads the machine policy back and
samba-tool its link; ldbsearch reads the file server's account. A Deny value removed by
hand and the account moved by hand are drift; apply restores both, and ``adsuite
rollback`` of that apply puts the hand edits back."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml
from fileshare import write_authfile
from helpers import company_inventory, run_id_of
from labkit import Cli, Lab
from samba_gp_oracle import samba_read
from sysvol import BASE, gpc, gpt_file, samba_tool, smbclient_put

from adsuite.connectors.ldap import Directory
from adsuite.formats.registry_pol import (
    RegistryPol,
    parse_registry_pol,
    serialize_registry_pol,
)

pytestmark = pytest.mark.lab

STORAGE = r"Software\Policies\Microsoft\Windows\RemovableStorageDevices"
DISKS = "{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}"
CD_DVD = "{53f56308-b6bf-11d0-94f2-00a0c91efb8b}"
CLASSES = (
    DISKS,
    CD_DVD,
    "{53f56311-b6bf-11d0-94f2-00a0c91efb8b}",  # floppy
    "{53f5630b-b6bf-11d0-94f2-00a0c91efb8b}",  # tape
    "{6AC27878-A6FA-4155-BA85-F98F491D4F33}",  # WPD
    "{F33FDC04-D1AC-4E8E-9A30-19BBD4B108AE}",  # WPD
)
REG_DWORD = 4
Entry = tuple[str, str, int, tuple[str, ...]]


def pol(lab_env: Lab, guid: str, half: str) -> set[Entry]:
    read = samba_read("pol", gpt_file(lab_env, guid, f"{half}/Registry.pol").read_bytes())
    return {(e["key"], e["name"], e["type"], tuple(e["values"])) for e in read["entries"]}


def denied(*leave_out: tuple[str, str]) -> set[Entry]:
    every = {
        (f"{STORAGE}\\{guid}", f"Deny_{access}", REG_DWORD, ("1",))
        for guid in CLASSES
        for access in ("Read", "Write")
    }
    return every - {(f"{STORAGE}\\{g}", f"Deny_{a}", REG_DWORD, ("1",)) for g, a in leave_out}


def with_exception(site: Path, code: str) -> None:
    """The copied playbook with one named exception: this company's staff may read CDs."""
    path = site.parent / "workstation_lockdown.yml"
    text = path.read_text(encoding="utf-8")
    exception = (
        f"removable_storage_exceptions:\n    - {{company: {code}, class: cd_dvd, allow: read,"
        " reason: training discs, approved_by: it.head}"
    )
    changed = text.replace("removable_storage_exceptions: []", exception)
    assert changed != text
    path.write_text(changed, encoding="utf-8")


def server_inventory(lab_env: Lab, folder: Path, code: str) -> Path:
    """The test company's inventory: the share's host fs1 without a company (no account
    declared) and fs9, a file server of the company."""
    path = company_inventory(lab_env.inventory, folder, code)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["hosts"] = {
        "fs1": {"address": "127.0.0.1", "smb": {"port": 445, "credential": "lab-admin"}},
        "fs9": {"address": "127.0.0.1", "company": code, "asset": f"{code}-9"},
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def account(lab_env: Lab, name: str) -> tuple[str, str]:
    """The DN and notes of computer *name* as Samba's own ldbsearch reads sam.ldb."""
    sam = Path(lab_env.status.state_dir) / "private" / "sam.ldb"
    done = subprocess.run(
        ["ldbsearch", "-H", str(sam), "-b", BASE, f"(sAMAccountName={name}$)", "info"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (dn,) = re.findall(r"^dn: (.+)$", done.stdout, re.M)
    (info,) = re.findall(r"^info: (.+)$", done.stdout, re.M)
    return dn, info


def drop_disk_read(lab_env: Lab, auth: Path, guid: str) -> None:
    """Remove the removable disks' Deny_Read from the GPO's Registry.pol with smbclient."""
    relative = "Machine/Registry.pol"
    current = parse_registry_pol(gpt_file(lab_env, guid, relative).read_bytes())
    kept = [e for e in current if not (DISKS in e.key and e.value_name == "Deny_Read")]
    assert len(kept) == len(current) - 1
    local = auth.parent / "Registry.pol"
    local.write_bytes(serialize_registry_pol(RegistryPol(kept)))
    remote = f"{lab_env.status.realm.lower()}\\Policies\\{guid}\\Machine\\Registry.pol"
    smbclient_put(lab_env, auth, local, remote)


def test_removable_storage_and_file_servers_apply_read_back_drift_and_roll_back(
    lab_env: Lab,
    directory: Directory,
    top: str,
    tmp_path: Path,
    repo_site: Callable[[Sequence[str]], Path],
    cli: Callable[..., Cli],
) -> None:
    code = top.upper()
    inventory = str(server_inventory(lab_env, tmp_path, code))
    site_path = repo_site(["group_domain.yml", "workstation_lockdown.yml", "fileserver_audit.yml"])
    with_exception(site_path, code)
    site = str(site_path)
    applied = cli("apply", site, "-i", inventory, "--yes")
    assert applied.code == 0, applied.out + applied.err

    storage = gpc(directory, f"{code} Removable storage")
    assert pol(lab_env, storage.guid, "Machine") == denied((CD_DVD, "Read"))
    shown = samba_tool(lab_env, "gpo", "getlink", f"OU=Workstations,OU={code},{BASE}")
    assert f"Name    : {code} Removable storage\n" in shown.stdout, shown.stdout
    restricted = gpc(directory, f"{code} Restricted workstation")
    assert not any(STORAGE in key for key, *_ in pol(lab_env, restricted.guid, "User"))
    servers = f"OU=Servers,OU={code},{BASE}"
    assert account(lab_env, "FS9") == (f"CN=FS9,{servers}", f"asset: {code}-9")

    password = Path(lab_env.status.secret_file).read_text(encoding="utf-8").strip()
    auth = write_authfile(tmp_path / "admin.auth", "Administrator", password)
    drop_disk_read(lab_env, auth, storage.guid)
    moved = samba_tool(lab_env, "computer", "move", "FS9", f"OU=Workstations,OU={code},{BASE}")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    drift = cli("drift", site, "-i", inventory)
    assert drift.code == 2, drift.out + drift.err
    assert f"Machine: {DISKS}\\Deny_Read is not set, want 1" in drift.out, drift.out
    assert f'want "OU=Servers,OU={code},{BASE}"' in drift.out, drift.out

    restored = cli("apply", site, "-i", inventory, "--yes", "--format", "json")
    assert restored.code == 0, restored.out + restored.err
    assert pol(lab_env, storage.guid, "Machine") == denied((CD_DVD, "Read"))
    assert account(lab_env, "FS9")[0] == f"CN=FS9,{servers}"
    assert cli("drift", site, "-i", inventory).code == 0

    undone = cli("rollback", run_id_of(restored.out), "-i", inventory, "--yes")
    assert undone.code == 0, undone.out + undone.err
    assert pol(lab_env, storage.guid, "Machine") == denied((CD_DVD, "Read"), (DISKS, "Read"))
    assert account(lab_env, "FS9")[0] == f"CN=FS9,OU=Workstations,OU={code},{BASE}"
